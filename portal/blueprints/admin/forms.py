"""Admin forms: shape only."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.core.inputs import coerce_id
from portal.core.people import ROLE_LABELS, STAFF_ROLES, Role


def role_choices():
    """A placeholder first (no role is preselected), then the staff roles in their order."""
    return [SelectChoice("", _l("Choose a role…"))] + [
        SelectChoice(r.value, ROLE_LABELS[r]) for r in Role if r in STAFF_ROLES
    ]


def role_field():
    return SelectField(
        _l("Role"),
        choices=role_choices(),
        validators=[DataRequired(message=_l("Choose a role."))],
    )


class ImportForm(FlaskForm):
    """Upload a units, residents, bills or payments file."""

    kind = SelectField(
        _l("What the file holds"),
        choices=[
            SelectChoice("units", _l("Units")),
            SelectChoice("residents", _l("Residents")),
            SelectChoice("bills", _l("Bills")),
            SelectChoice("payments", _l("Payments")),
            SelectChoice("fee_items", _l("Fee items")),
        ],
    )
    file = FileField(_l("File (.csv in UTF-8 or .xlsx)"), validators=[FileRequired()])
    check = SubmitField(_l("Check only"))
    submit = SubmitField(_l("Check and import"))


class StaffForm(FlaskForm):
    """A new staff account."""

    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, dots, dashes, underscores.")),
        ],
    )
    name = StringField(
        lazy_pgettext("person", "Name"), validators=[DataRequired(), Length(max=100)]
    )
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=32)])
    role = role_field()
    estate = SelectField(_l("Estate"), coerce=coerce_id)
    password = PasswordField(
        _l("Initial password"), validators=[DataRequired(), Length(min=8, max=256)]
    )
    submit = SubmitField(_l("Create account"))


class RoleForm(FlaskForm):
    """Another role (and estate) for a staff member."""

    role = role_field()
    estate = SelectField(_l("Estate"), coerce=coerce_id)
    change = SubmitField(_l("Change role"))


class ResetPasswordForm(FlaskForm):
    """A temporary password an administrator sets (or has generated) for a staff member."""

    password = StringField(
        _l("Temporary password"),
        validators=[Optional(), Length(min=8, max=256)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    reset = SubmitField(_l("Reset password"))


class DeactivateForm(FlaskForm):
    """Close a staff account (a POST with its CSRF token)."""

    deactivate = SubmitField(_l("Deactivate account"))


class SecondFactorResetForm(FlaskForm):
    """Remove a staff member's lost second factor (a POST with its CSRF token)."""

    remove_second_factor = SubmitField(_l("Remove their two-step sign-in"))


class ReactivateForm(FlaskForm):
    """Open a closed staff account again."""

    reactivate = SubmitField(_l("Reactivate account"))


class SettingForm(FlaskForm):
    """One setting's new value."""

    value = StringField(_l("Value"), validators=[Length(max=200)])
    submit = SubmitField(_l("Save"))


class RetryForm(FlaskForm):
    """Retry a failed delivery."""

    submit = SubmitField(_l("Retry"))
