"""Repair forms: shape only; the workflow's schemas check each action's input."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.repairs.models import CATEGORY_LABELS
from portal.core.idempotency import KEY_MAX
from portal.core.inputs import coerce_id
from portal.core.intake import SOURCE_LABELS, Source

# What staff register for: a caller, a walk-in or a patrol finding (not online).
SOURCE_CHOICES = [
    SelectChoice(source.value, label)
    for source, label in SOURCE_LABELS.items()
    if source != Source.online
]


class RepairForm(FlaskForm):
    """Report a repair (residents) or register one (staff)."""

    category = SelectField(
        _l("What needs repair"),
        choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
    )
    location = RadioField(
        _l("Where"),
        default="unit",
        choices=[
            SelectChoice("unit", _l("In the unit")),
            SelectChoice("common", _l("Common area")),
        ],
    )
    unit = SelectField(_l("Unit"), coerce=coerce_id, validate_choice=False, validators=[Optional()])
    reporter = SelectField(
        _l("Reported by"), coerce=coerce_id, validate_choice=False, validators=[Optional()]
    )
    channel = SelectField(
        _l("How it reached us"),
        choices=SOURCE_CHOICES,
        validate_choice=False,
        validators=[Optional()],
    )
    description = TextAreaField(
        _l("What is wrong"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 4}
    )
    urgent = BooleanField(_l("Urgent (water leak, no power, someone trapped)"))
    preferred_time = StringField(
        _l("When suits you (optional)"),
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": _l("e.g. weekdays after 18:00")},
    )
    photos = MultipleFileField(
        _l("Photos (up to 6, 10 MB each)"), render_kw={"accept": "image/*", "multiple": True}
    )
    # One key per form shown: a second submit of the form shows the first record.
    idempotency_key = HiddenField(validators=[Optional(), Length(max=KEY_MAX)])
    submit = SubmitField(_l("Submit"))
