"""Sign-in (with its second step for staff who turned it on), sign-out, password change and
two-step sign-in."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth.forms import (
    LoginForm,
    LogoutForm,
    PasswordForm,
    SecondFactorOffForm,
    SecondFactorSetupForm,
    SecondFactorSignInForm,
)
from portal.core import accounts, clock, staff_accounts
from portal.core import second_factor as two_step
from portal.core.access import STAFF, roles_required
from portal.core.errors import ServiceError
from portal.core.people import User
from portal.extensions import db
from portal.security import account_key, safe_next, sign_in_limits, wait_message

bp = Blueprint("auth", __name__)
# Set at sign-in when an administrator set the password: the person chooses their own first.
CHANGE_DUE = "temporary_credentials"
# What such a person may still open: the password page, sign-out, the language switch.
OPEN_WHILE_CHANGING = frozenset(
    {"auth.password", "auth.logout", "home.set_language", "home.healthz", "static"}
    | {"bootstrap.static", "home.favicon"}
)
# A password accepted for an account with two-step sign-in: who, which session version, since
# when, how many wrong codes; nobody is signed in until the code is right.
PENDING = "second_step"
PENDING_SECONDS = 5 * 60
PENDING_TRIES = 5
# Set at sign-in when an administrator requires two-step sign-in of the person's role and it
# is not on: every page leads to its setup until it is.
SETUP_DUE = "second_factor_due"
OPEN_WHILE_SETTING_UP = OPEN_WHILE_CHANGING | {"auth.second_factor"}
WRONG_CODE = "second_factor_wrong"  # g: this request's code was wrong (the limits count it)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits("login", counts=lambda response: response.status_code != 302)
def login():
    """Sign in by username or phone number."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None and two_step.is_enabled(user):
            session[PENDING] = {
                "user": user.id,
                "version": user.session_version,
                "at": int(clock.now().timestamp()),
                "tries": 0,
                "account": account_key(form.login.data),
                "next": request.args.get("next"),
            }
            db.session.commit()
            return redirect(url_for("auth.second_factor_check"))
        if user is not None:
            return _sign_in(user, request.args.get("next"))
        form.password.errors.append(_("The username or password is wrong."))
    return render_template("auth/login.html", form=form), 401 if request.method == "POST" else 200


def _sign_in(user: User, target: str | None):
    """Start the session of a user who passed every step, and go on to `target`."""
    from portal.security import start_session

    start_session(user)  # also drops a pending second step
    login_user(user)
    if staff_accounts.must_change_password(user):
        session[CHANGE_DUE] = True
    if two_step.is_required(user) and not two_step.is_enabled(user):
        session[SETUP_DUE] = True
    db.session.commit()
    return redirect(safe_next(target))


def _pending_account() -> str:
    """The account a pending second step counts against (the login typed at the first)."""
    pending = session.get(PENDING)
    return (pending.get("account") if isinstance(pending, dict) else None) or "user:-"


def _pending_user() -> User | None:
    """The user of a pending second step still valid: not expired, same session version."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    user = None
    if clock.now().timestamp() - pending.get("at", 0) <= PENDING_SECONDS:
        user = db.session.get(User, pending.get("user"))
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        session.pop(PENDING, None)
        flash(_("Please sign in again: the sign-in was not finished in time."), "warning")
        return None
    return user


@bp.route("/second-factor/check", methods=["GET", "POST"])
@sign_in_limits(None, counts=lambda response: g.get(WRONG_CODE, False), account=_pending_account)
def second_factor_check():
    """The second step of a sign-in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = SecondFactorSignInForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/second_factor_check.html", form=form, user=user
        ), 400 if form.errors else 200
    used = two_step.verify(user, form.code.data)
    if used is not None:
        if used == "recovery":
            left = len(two_step.factor_of(user).recovery_hashes)
            flash(
                ngettext(
                    "You signed in with a recovery code; %(num)d is left.",
                    "You signed in with a recovery code; %(num)d are left.",
                    left,
                ),
                "warning",
            )
        pending = session[PENDING]
        user.last_login_at = clock.now()
        return _sign_in(user, pending.get("next"))
    db.session.rollback()
    return _wrong_second_step(form, user)


def _wrong_second_step(form, user):
    """A wrong code at sign-in: it counts against the sign-in limits, and the fifth ends the
    pending sign-in."""
    g.setdefault(WRONG_CODE, True)
    pending = dict(session[PENDING], tries=session[PENDING].get("tries", 0) + 1)
    if pending["tries"] >= PENDING_TRIES:
        session.pop(PENDING, None)
        flash(_("Too many wrong codes. Please sign in again."), "danger")
        return redirect(url_for("auth.login"))
    session[PENDING] = pending
    form.code.errors.append(
        ngettext(
            "That code is wrong or has expired. %(num)d try is left.",
            "That code is wrong or has expired. %(num)d tries are left.",
            PENDING_TRIES - pending["tries"],
        )
    )
    return render_template("auth/second_factor_check.html", form=form, user=user), 401


@bp.before_app_request
def require_own_password():
    """After an administrator's reset, every page leads to the password page until the
    person has chosen their own password (changing it starts a new session without the mark)."""
    if not session.get(CHANGE_DUE) or request.endpoint in OPEN_WHILE_CHANGING:
        return None
    if not current_user.is_authenticated:
        session.pop(CHANGE_DUE, None)
        return None
    if g.get("api_token_auth"):
        return None  # a bearer token (none is issued for a temporary password)
    if request.path.startswith("/api/"):
        abort(403)  # the browser's session reaches no data through the API either
    flash(_("Choose your own password to go on: an administrator set a temporary one."), "warning")
    return redirect(url_for("auth.password"))


@bp.before_app_request
def require_second_factor():
    """When an administrator requires two-step sign-in of a manager or administrator who has
    not turned it on, every page leads to its setup until it is on (after a temporary
    password has been replaced)."""
    if not session.get(SETUP_DUE) or request.endpoint in OPEN_WHILE_SETTING_UP:
        return None
    if session.get(CHANGE_DUE):
        return None
    if not current_user.is_authenticated:
        session.pop(SETUP_DUE, None)
        return None
    if g.get("api_token_auth"):
        return None  # a bearer token (none is issued until it is on)
    if request.path.startswith("/api/"):
        abort(403)  # the browser's session reaches no data through the API either
    flash(_("Turn on two-step sign-in to go on: an administrator requires it."), "warning")
    return redirect(url_for("auth.second_factor"))


@bp.errorhandler(429)
def too_many_attempts(exc):
    """Too many failed sign-ins or codes: say so, with how long to wait."""
    if request.endpoint == "auth.second_factor_off" and current_user.is_authenticated:
        return _enabled_page(
            current_user, SecondFactorOffForm(), blocked=wait_message(), status=429
        )
    session.pop(PENDING, None)  # a pending second step ends with the sign-in's budget
    return render_template("auth/login.html", form=LoginForm(), blocked=wait_message()), 429


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out here and revoke the session on the server."""
    form = LogoutForm()
    if form.validate_on_submit():
        accounts.revoke_sessions(current_user)
        db.session.commit()
        logout_user()
        flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; every other session and API token is revoked."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except ServiceError as exc:
            db.session.rollback()
            field = next(iter(exc.fields), "new_password")
            getattr(form, field if field != "password" else "new_password").errors.append(
                str(exc.message)
            )
        else:
            db.session.commit()
            from portal.security import start_session

            user = current_user._get_current_object()
            start_session(user)
            login_user(user)  # this device stays signed in with the new version
            flash(
                _("Your password has been changed. Other devices have been signed out."), "success"
            )
            return redirect(url_for("home.index"))
    return render_template(
        "auth/password.html", form=form, min_length=accounts.MIN_PASSWORD
    ), 400 if form.errors else 200


# --- Two-step sign-in -----------------------------------------------------------------------


@bp.route("/second-factor", methods=["GET", "POST"])
@roles_required(STAFF)
def second_factor():
    """Two-step sign-in: set it up with an authenticator app, or see that it is on."""
    user = current_user._get_current_object()
    if two_step.is_enabled(user):
        if request.method == "POST":
            return redirect(url_for("auth.second_factor"))
        return _enabled_page(user, SecondFactorOffForm())
    factor = two_step.begin_setup(user)
    db.session.commit()  # the secret stays the same until it is confirmed
    form = SecondFactorSetupForm()
    if form.validate_on_submit():
        try:
            codes = two_step.confirm_setup(user, form.code.data, actor=user)
        except ServiceError as exc:
            db.session.rollback()
            form.code.errors.append(str(exc.message))
        else:
            db.session.commit()
            session.pop(SETUP_DUE, None)
            flash(_("Two-step sign-in is on."), "success")
            return render_template("auth/second_factor_codes.html", codes=codes)
    uri = two_step.provisioning_uri(factor, user)
    return render_template(
        "auth/second_factor_setup.html",
        form=form,
        uri=uri,
        secret=factor.secret,
        qr=two_step.qr_svg(uri, _("QR code for the authenticator app")),
        required=two_step.is_required(user),
    ), 400 if form.errors else 200


def _signed_in_account() -> str:
    """The account a signed-in person's codes count against."""
    if current_user.is_authenticated and current_user.username:
        return account_key(current_user.username)
    return "user:-"


@bp.route("/second-factor/off", methods=["POST"])
@roles_required(STAFF)
@sign_in_limits(None, counts=lambda response: g.get(WRONG_CODE, False), account=_signed_in_account)
def second_factor_off():
    """Turn two-step sign-in off with a current code from the app (or a recovery code)."""
    user = current_user._get_current_object()
    if not two_step.is_enabled(user):
        return redirect(url_for("auth.second_factor"))
    form = SecondFactorOffForm()
    if form.validate_on_submit():
        try:
            two_step.disable(user, form.code.data, actor=user)
        except ServiceError as exc:
            db.session.rollback()
            g.setdefault(WRONG_CODE, exc.fields.get("code") == "wrong")
            form.code.errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Two-step sign-in is off."), "success")
            if two_step.is_required(user):
                session[SETUP_DUE] = True
            return redirect(url_for("auth.second_factor"))
    return _enabled_page(user, form, status=400)


def _enabled_page(user, off_form, *, blocked=None, status=200):
    """The page of two-step sign-in that is on: since when, recovery codes left, turn off."""
    factor = two_step.factor_of(user)
    return render_template(
        "auth/second_factor.html",
        factor=factor,
        left=len(factor.recovery_hashes or []),
        form=off_form,
        blocked=blocked,
        required=two_step.is_required(user),
    ), status
