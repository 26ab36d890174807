"""Sign-in and password forms: shape only."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Username or phone number, and password."""

    login = StringField(
        _l("Username or phone number"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Sign in"))


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=8, max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class LogoutForm(FlaskForm):
    """Sign-out is a POST so that a link elsewhere cannot sign anyone out."""

    submit = SubmitField(_l("Sign out"))


def _code_field(label, *, digits_only):
    """A code field: a six-digit code, or (not digits only) also a recovery code."""
    kw = {"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
    if digits_only:
        kw["inputmode"] = "numeric"
    return StringField(label, validators=[DataRequired(), Length(max=32)], render_kw=kw)


class SecondFactorSetupForm(FlaskForm):
    """Confirm the new secret with a current code from the app."""

    code = _code_field(_l("Six-digit code from the app"), digits_only=True)
    submit = SubmitField(_l("Turn on two-step sign-in"))


class SecondFactorSignInForm(FlaskForm):
    """The second step of a sign-in: the app's code or a recovery code."""

    code = _code_field(_l("Code from the app, or a recovery code"), digits_only=False)
    submit = SubmitField(_l("Continue"))


class SecondFactorOffForm(FlaskForm):
    """Turn two-step sign-in off: a current code proves the phone is at hand."""

    code = _code_field(_l("Code from the app, or a recovery code"), digits_only=False)
    submit = SubmitField(_l("Turn off two-step sign-in"))
