"""Sessions and headers: revocable sign-ins, idle and absolute timeouts, security headers."""

import time
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.core.people import User
from portal.extensions import db, login_manager

STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@login_manager.user_loader
def load_user(session_key: str):
    """Load the user a session names, unless the session was revoked since.

    A request that carries a bearer token is judged by the token alone.
    """
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    try:
        user_id, version = (int(part) for part in session_key.split(":"))
    except ValueError:
        return None
    user = db.session.scalar(
        select(User).where(User.id == user_id).options(selectinload(User.staff_roles))
    )
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req):
    """API callers sign in with `Authorization: Bearer TOKEN` instead of a cookie."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from portal.core.tokens import user_for_token

    user = user_for_token(header[len("Bearer ") :].strip())
    if user is not None:
        g.api_token_auth = True
    return user


def start_session(user: User) -> None:
    """Mark the new sign-in's start for the idle and absolute limits."""
    session.clear()
    session.permanent = True
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now


def enforce_timeouts():
    """End a session that was idle too long or has reached its absolute lifetime."""
    if request.endpoint in STATIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated or g.get("api_token_auth"):
        return None
    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - seen_at > idle or now - login_at > absolute:
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            return None  # the API answers 401 for an anonymous caller
        flash(_l("Your session has expired. Please sign in again."), "warning")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen_at"] = now
    return None


def add_security_headers(response):
    """Security headers on every response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("PRODUCTION"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Pages of a signed-in user are private; static files are public and need no user
    # lookup (which would cost a query per file).
    if request.endpoint not in STATIC_ENDPOINTS and current_user.is_authenticated:
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(enforce_timeouts)
    app.after_request(add_security_headers)


def safe_next(target: str | None) -> str:
    """A same-site path to go on to after sign-in, never another host."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("home.index")
