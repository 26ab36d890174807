"""Sign-in, sign-out and password change."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth.forms import LoginForm, LogoutForm, PasswordForm
from portal.core import accounts
from portal.core.errors import ServiceError
from portal.extensions import db
from portal.security import safe_next, sign_in_limits, wait_message

bp = Blueprint("auth", __name__)


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
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("The username or password is wrong."))
    return render_template("auth/login.html", form=form), 401 if request.method == "POST" else 200


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
