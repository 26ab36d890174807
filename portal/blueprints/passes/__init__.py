"""Passes (出入证 / 物品放行条 / 访客): issued for a unit, printed with a QR code, checked at
the gate (contracts §8, DESIGN §9)."""

from flask_babel import lazy_gettext as _l

# The audit codes of this line and their labels (core/audit.ACTION_LABELS lists them).
AUDIT_LABELS = {
    "pass.issue": _l("Issued a pass"),
    "pass.approve": _l("Approved a pass"),
    "pass.revoke": _l("Revoked a pass"),
    "pass.extend": _l("Extended a pass"),
}


def init_app(app):
    """Register the pass pages under /passes (the API's routes come with the API package:
    portal/blueprints/api/__init__.py imports portal.blueprints.api.passes)."""
    from portal.core import audit

    from .views import bp

    for code, label in AUDIT_LABELS.items():
        audit.ACTION_LABELS.setdefault(code, label)
    if "passes" not in app.blueprints:
        app.register_blueprint(bp, url_prefix="/passes")
