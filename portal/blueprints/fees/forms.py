"""Fee forms: shape only; amounts are parsed by portal.core.money and rules by the services."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.core.places import Occupancy, UnitKind

from .models import BASIS_LABELS, COUNTER_METHODS


def method_choices():
    return [SelectChoice(m.value, m.label) for m in COUNTER_METHODS]


class PaymentForm(FlaskForm):
    """A payment at the counter. The hidden key makes a double submit one payment."""

    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20)])
    method = SelectField(_l("Method"), choices=method_choices())
    payer_name = StringField(_l("Paid by"), validators=[Optional(), Length(max=100)])
    reference = StringField(
        _l("Reference (card slip, transfer number)"), validators=[Optional(), Length(max=100)]
    )
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Take the payment"))


class PrepayForm(FlaskForm):
    """Pay the next twelve months in advance (the last ones free)."""

    method = SelectField(_l("Method"), choices=method_choices())
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Take the year's payment"))


class ReasonForm(FlaskForm):
    """Why a payment is reversed or a bill withdrawn."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Confirm"))


class RunForm(FlaskForm):
    period = StringField(
        _l("Month to bill (YYYY-MM)"), validators=[DataRequired(), Length(min=7, max=7)]
    )
    submit = SubmitField(_l("Start the billing run"))


class ItemForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(
        lazy_pgettext("fee item", "Name"), validators=[DataRequired(), Length(max=100)]
    )
    basis = SelectField(
        _l("Charged"), choices=[SelectChoice(b.value, label) for b, label in BASIS_LABELS.items()]
    )
    unit_kind = SelectField(
        _l("Units billed (recurring items)"),
        choices=[SelectChoice("", _l("All kinds"))]
        + [SelectChoice(k.value, k.label) for k in UnitKind],
    )
    rate = StringField(_l("Rate (yuan)"), validators=[DataRequired(), Length(max=20)])
    effective_on = DateField(_l("Effective from"), validators=[DataRequired()])
    submit = SubmitField(_l("Add the item"))


class RateForm(FlaskForm):
    rate = StringField(_l("Rate (yuan)"), validators=[DataRequired(), Length(max=20)])
    effective_on = DateField(_l("Effective from"), validators=[DataRequired()])
    occupancy = SelectField(
        _l("For occupancy category"),
        choices=[SelectChoice("", _l("All categories"))]
        + [SelectChoice(o.value, o.label) for o in Occupancy],
    )
    submit = SubmitField(_l("Add the rate"))


class PayOnlineForm(FlaskForm):
    """A resident pays what a unit owes (or part of it) through the payment provider."""

    unit_id = HiddenField(validators=[DataRequired()])
    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("Pay online"))


class SandboxForm(FlaskForm):
    """The sandbox provider's page: what the payer does."""

    succeed = SubmitField(_l("Pay"))
    fail = SubmitField(_l("Payment fails"))
    timeout = SubmitField(_l("Leave without paying (time out)"))
