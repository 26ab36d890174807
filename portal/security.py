"""Sessions and headers: revocable sign-ins, idle and absolute timeouts, security headers,
the sign-in limits (per address and per account), and which proxies are believed."""

import functools
import logging
import math
import re
import time
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, logout_user
from sqlalchemy import bindparam
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.core.people import User, actor_query, load_actor
from portal.extensions import limiter, login_manager

SEEN_AT_STEP = 60  # seconds between updates of the session's last-seen time
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@functools.cache
def _actor_by_id():
    return actor_query(User.id == bindparam("user_id"), figures=True)


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
    user = load_actor(_actor_by_id(), user_id=user_id)
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
    if now - seen_at >= SEEN_AT_STEP:  # a minute's precision spares a new cookie per page
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


# --- Sign-in limits -------------------------------------------------------------------------

PHONE_LIKE = re.compile(r"[\d\s()+-]+")


def account_key(login) -> str:
    """The account a sign-in names, as the per-account limit counts it: a phone number's
    digits, else the username in lower case (so "Frontdesk" and "frontdesk" count together)."""
    login = login.strip() if isinstance(login, str) else ""
    if PHONE_LIKE.fullmatch(login) and any(c.isdigit() for c in login):
        return "phone:" + re.sub(r"\D", "", login)
    return "user:" + (login.lower() or "-")


def _submitted(field: str):
    """A field of the posted form or JSON body."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body.get(field) if isinstance(body, dict) else None
    return request.form.get(field)


def sign_in_limits(field: str | None, *, counts, account=None):
    """Limit failed sign-ins per client address and per account (the login the request names
    in `field`, form or JSON, or the key `account()` gives), as the settings LOGIN_RATE_LIMIT
    and LOGIN_ACCOUNT_RATE_LIMIT say. `counts(response)` tells a failed attempt, the only kind
    that counts. Every view so decorated — the sign-in form, its second step, the token
    endpoint, the SMS-code endpoints — shares the two budgets, so moving between them gains
    nothing.
    """

    def failed(response) -> bool:
        return request.method == "POST" and counts(response)

    per_address = limiter.shared_limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"],
        scope="sign-in-address",
        methods=["POST"],
        deduct_when=failed,
    )
    per_account = limiter.shared_limit(
        lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
        scope="sign-in-account",
        key_func=account or (lambda: account_key(_submitted(field))),
        methods=["POST"],
        deduct_when=failed,
    )
    return lambda view: per_address(per_account(view))


def pass_check_limit(view):
    """Limit the checks of passes a checker makes (the page and the API share one budget),
    as the setting PASS_CHECK_RATE_LIMIT says: pass numbers are sequential, and a gate that
    types one after another could walk through the day's passes."""
    return limiter.shared_limit(
        lambda: current_app.config["PASS_CHECK_RATE_LIMIT"],
        scope="pass-check",
        key_func=lambda: f"checker:{current_user.get_id()}",
        methods=["POST"],
    )(view)


def retry_after_seconds() -> int:
    """Seconds until every limit this request ran into lets it through again."""
    # reset_at is rounded up to the next whole second, as the Retry-After header has it.
    resets = [limit.reset_at - 1 for limit in limiter.current_limits if limit.breached]
    return max(1, math.ceil(max(resets) - time.time())) if resets else 60


def wait_message() -> str:
    """Tell a caller who ran into a limit how long to wait, in whole minutes."""
    minutes = math.ceil(retry_after_seconds() / 60)
    return ngettext(
        "Too many failed attempts. Please wait %(num)d minute and try again.",
        "Too many failed attempts. Please wait %(num)d minutes and try again.",
        minutes,
    )


def _log_limiter() -> None:
    """The limiter's switch to memory while Redis is away (and back) reaches the log."""
    from flask.logging import default_handler, has_level_handler

    if not has_level_handler(limiter.logger):
        limiter.logger.addHandler(default_handler)
    if limiter.logger.level == logging.NOTSET:
        limiter.logger.setLevel(logging.INFO)


def trust_proxies(app) -> None:
    """Believe X-Forwarded-For/-Proto/-Host from PROXY_COUNT reverse proxies, none by default:
    without a proxy anyone could name any address and escape the per-address limit."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def init_app(app):
    trust_proxies(app)
    _log_limiter()
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
