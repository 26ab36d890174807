"""Renovation forms: shape only; the services check the rest. The application carries rows
(workers) and checkboxes (scope), which a form drawn from a schema cannot express."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.idempotency import KEY_MAX
from portal.core.inputs import coerce_id

from .models import SCOPE_LABELS


class Checkboxes(SelectMultipleField):
    """A list of choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WorkerRow(Form):
    name = StringField(lazy_pgettext("person", "Name"), validators=[Optional(), Length(max=100)])
    id_number = StringField(
        _l("ID number"), validators=[Optional(), Length(max=30)], render_kw={"maxlength": 18}
    )
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=32)], render_kw={"inputmode": "tel"}
    )


class ApplicationForm(FlaskForm):
    """Apply for a renovation: unit, contractor, foreman, window, scope, workers, drawings,
    the working hours and the liability statement."""

    idempotency_key = HiddenField(validators=[Optional(), Length(max=KEY_MAX)])
    unit = SelectField(_l("Unit"), coerce=coerce_id, validate_choice=False, validators=[Optional()])
    place = StringField(
        _l("Room (e.g. 1-1-101)"),
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": "1-1-101"},
    )
    contractor = StringField(_l("Contractor (company)"), validators=[Optional(), Length(max=200)])
    contractor_licence = StringField(
        _l("Contractor's licence number"), validators=[Optional(), Length(max=100)]
    )
    foreman = StringField(_l("Foreman"), validators=[Optional(), Length(max=100)])
    foreman_phone = StringField(
        _l("Foreman's phone"),
        validators=[Optional(), Length(max=32)],
        render_kw={"inputmode": "tel"},
    )
    starts_on = DateField(_l("Works start on"), validators=[Optional()])
    ends_on = DateField(_l("Works end on"), validators=[Optional()])
    scope = Checkboxes(
        _l("Scope of the works"),
        choices=[SelectChoice(s.value, label) for s, label in SCOPE_LABELS.items()],
        validate_choice=False,
    )
    workers = FieldList(FormField(WorkerRow), min_entries=4, max_entries=20)
    drawings = MultipleFileField(
        _l("Drawings (PDF or pictures)"),
        render_kw={"accept": "application/pdf,image/*", "multiple": True},
    )
    hours_accepted = BooleanField(_l("I commit to the working hours"))
    statement_signed = BooleanField(_l("I have read and sign the liability statement"))
    submit = SubmitField(_l("Apply"))
