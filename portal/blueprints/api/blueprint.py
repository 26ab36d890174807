"""The API blueprint object, shared by the resource modules of this package; bearer calls
need no CSRF token, a browser session writing to the API does."""

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
