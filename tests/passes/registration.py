"""Until portal/blueprints/__init__.py calls passes.init_app and the API package imports its
passes module, the tests of passes wire them in themselves: the API module is imported
before any app registers the API blueprint, and every app made afterwards gets the pages.
Once the portal does both, this changes nothing (init_app registers once)."""

import portal.blueprints as blueprints
import portal.blueprints.api.passes  # noqa: F401 - its routes join the API blueprint
from portal.blueprints import passes


def ensure_registered():
    register = blueprints.register_blueprints
    if getattr(register, "with_passes", False):
        return

    def register_with_passes(app):
        register(app)
        passes.init_app(app)

    register_with_passes.with_passes = True
    blueprints.register_blueprints = register_with_passes


ensure_registered()
