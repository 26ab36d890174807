"""Sign-in, sign-out and password change."""

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth.forms import LoginForm, LogoutForm, PasswordForm
from portal.core import accounts, staff_accounts
from portal.core.errors import ServiceError
from portal.extensions import db
from portal.security import safe_next, sign_in_limits, wait_message

bp = Blueprint("auth", __name__)
# Set at sign-in when an administrator set the password: the person chooses their own first.
CHANGE_DUE = "temporary_credentials"
# What such a person may still open: the password page, sign-out, the language switch.
OPEN_WHILE_CHANGING = frozenset(
    {"auth.password", "auth.logout", "home.set_language", "home.healthz", "static"}
    | {"bootstrap.static", "home.favicon"}
)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits("login", counts=lambda response: response.status_code != 302)
def login():
    """Sign in by username or phone number."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None:
            from portal.security import start_session

            start_session(user)
            login_user(user)
            if staff_accounts.must_change_password(user):
                session[CHANGE_DUE] = True
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("The username or password is wrong."))
    return render_template("auth/login.html", form=form), 401 if request.method == "POST" else 200


@bp.before_app_request
def require_own_password():
    """After an administrator's reset, every page leads to the password page until the
    person has chosen their own password (changing it starts a new session without the mark)."""
    if not session.get(CHANGE_DUE) or request.endpoint in OPEN_WHILE_CHANGING:
        return None
    if g.get("api_token_auth") or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        session.pop(CHANGE_DUE, None)
        return None
    flash(_("Choose your own password to go on: an administrator set a temporary one."), "warning")
    return redirect(url_for("auth.password"))


@bp.errorhandler(429)
def too_many_attempts(exc):
    """Too many failed sign-ins: say so on the sign-in page, with how long to wait."""
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
