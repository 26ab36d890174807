"""Collecting money: the counter's payment with its confirm step, and arrears collection
(催缴). Shape only; the services check the values again."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.fees.contacts import CONTACT_OUTCOMES, OUTCOME_LABELS
from portal.blueprints.fees.forms import PaymentForm


class CounterPaymentForm(PaymentForm):
    """A payment at the counter. A payment over what is owed, or the same amount again soon,
    is taken only once the clerk ticks `confirm` (the view shows it only then)."""

    confirm = BooleanField(_l("I have checked: take this payment"))
    # A deposit bill the payment pays (and nothing else): a deposit is paid only when named.
    bill_id = HiddenField(validators=[Optional(), Length(max=12)])
    # Declared again so the button comes after the confirm box.
    submit = SubmitField(_l("Take the payment"))


class ContactForm(FlaskForm):
    """Record a call or a door visit about a household's arrears."""

    channel = RadioField(
        _l("Call or door visit"),
        choices=[SelectChoice("call", _l("Phone call")), SelectChoice("visit", _l("Door visit"))],
        invalid_choice_message=_l("Choose a call or a door visit."),
    )
    outcome = SelectField(
        _l("Outcome"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(code, OUTCOME_LABELS[code]) for code in CONTACT_OUTCOMES],
        validators=[InputRequired(_l("Choose what came of it."))],
        invalid_choice_message=_l("Choose what came of it."),
    )
    note = TextAreaField(
        _l("Note (what was said, a promised date)"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Save to the collection record"))


class SlipsForm(FlaskForm):
    """Print payment notice slips for a zone or a building."""

    place = SelectField(
        _l("Zone or building"), validators=[InputRequired(_l("Choose a zone or a building."))]
    )
    submit = SubmitField(_l("Make the PDF"))
