"""Passes (出入证 / 物品放行条 / 访客): issued for a unit, printed with a QR code, checked at
the gate (contracts §8, DESIGN §9)."""


def init_app(app):
    """Register the pass pages under /passes (the API's routes come with the API package:
    portal/blueprints/api/__init__.py imports portal.blueprints.api.passes)."""
    from .views import bp

    app.register_blueprint(bp, url_prefix="/passes")
