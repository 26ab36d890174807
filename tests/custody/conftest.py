"""The custody pages on the test app: until the portal registers the blueprint itself
(portal/__init__.py calls custody.init_app), these tests register it on an app of their own;
the API's routes are imported before any app takes the API blueprint."""

import pytest

import portal.blueprints.api.custody  # noqa: F401 - the card routes, before bp is registered
from portal.extensions import db
from tests.conftest import make_test_app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    from portal.blueprints import custody

    app = make_test_app(database_url)
    if "custody" not in app.blueprints:
        custody.init_app(app)
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
