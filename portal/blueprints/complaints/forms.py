"""Complaint forms: shape only; the workflow's schemas check each action's input."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.complaints.models import CATEGORY_LABELS
from portal.blueprints.repairs.forms import SOURCE_CHOICES
from portal.core.idempotency import KEY_MAX
from portal.core.inputs import coerce_id


class ComplaintForm(FlaskForm):
    """Register a complaint, an inquiry or a suggestion."""

    kind = SelectField(
        _l("This is"),
        choices=[
            SelectChoice("complaint", _l("A complaint")),
            SelectChoice("inquiry", _l("An inquiry")),
            SelectChoice("suggestion", _l("A suggestion")),
        ],
    )
    category = SelectField(
        _l("About"), choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()]
    )
    unit = SelectField(_l("Unit"), coerce=coerce_id, validate_choice=False, validators=[Optional()])
    reporter = SelectField(
        lazy_pgettext("complaint", "From"),
        coerce=coerce_id,
        validate_choice=False,
        validators=[Optional()],
    )
    channel = SelectField(
        _l("How it reached us"),
        choices=SOURCE_CHOICES,
        validate_choice=False,
        validators=[Optional()],
    )
    repair = SelectField(
        _l("About a repair (optional)"),
        coerce=coerce_id,
        validate_choice=False,
        validators=[Optional()],
    )
    content = TextAreaField(
        _l("What happened"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 5}
    )
    photos = MultipleFileField(
        _l("Photos (up to 6, 10 MB each)"), render_kw={"accept": "image/*", "multiple": True}
    )
    # One key per form shown: a second submit of the form shows the first record.
    idempotency_key = HiddenField(validators=[Optional(), Length(max=KEY_MAX)])
    submit = SubmitField(_l("Submit"))
