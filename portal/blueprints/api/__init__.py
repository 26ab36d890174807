"""JSON API v1 (contracts §5): token auth, one error format, paging, OpenAPI."""

from flask import Blueprint, current_app, g, request

from portal.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)


@bp.before_request
def protect_cookie_writes():
    """Bearer calls need no CSRF token; a browser session writing to the API does."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.headers.get(
        "Authorization", ""
    ).startswith("Bearer "):
        from flask_login import current_user

        if (
            current_user.is_authenticated
            and not g.get("api_token_auth")
            and current_app.config.get("WTF_CSRF_ENABLED", True)
        ):
            csrf.protect()


from portal.blueprints.api import (  # noqa: E402,F401 - routes
    complaints,
    fee_reports,
    fees,
    notices,
    repairs,
    reports,
    views,
)
