"""Move forms: shape only; the workflow's schemas and the services check the rest.

A hand-over and a move-out's completion carry rows (cards, meter readings), which a form
drawn from a schema cannot express: these actions have small forms of their own, posted to
the same action route as every other action.
"""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FileField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.blueprints.custody.models import CARD_KIND_LABELS, METER_LABELS
from portal.blueprints.moves.models import DOCUMENT_LABELS
from portal.core.inputs import coerce_id
from portal.core.people import RELATION_LABELS
from portal.core.places import OCCUPANCY_LABELS, Occupancy

OCCUPANCY_CHOICES = [SelectChoice(o.value, label) for o, label in OCCUPANCY_LABELS.items()]


class Checkboxes(SelectMultipleField):
    """A list of choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PersonRow(Form):
    name = StringField(lazy_pgettext("person", "Name"), validators=[Optional(), Length(max=100)])
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=32)], render_kw={"inputmode": "tel"}
    )
    relation = SelectField(
        _l("Relation"),
        choices=[SelectChoice(r.value, label) for r, label in RELATION_LABELS.items()],
        validate_choice=False,
    )


class PlaceMixin:
    unit = SelectField(_l("Unit"), coerce=coerce_id, validate_choice=False, validators=[Optional()])
    place = StringField(
        _l("Room (e.g. 1-1-101)"),
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": "1-1-101"},
    )


class MoveInForm(PlaceMixin, FlaskForm):
    """Register a move-in: the unit, the day, the occupancy and the people."""

    on = DateField(lazy_pgettext("move", "Moving in on"), validators=[DataRequired()])
    occupancy = SelectField(
        _l("Occupancy from that day"),
        choices=OCCUPANCY_CHOICES,
        default=Occupancy.occupied_unrenovated.value,
        validate_choice=False,
    )
    people = FieldList(FormField(PersonRow), min_entries=3, max_entries=10)
    submit = SubmitField(lazy_pgettext("register a ticket", "Register"))


class MoveOutForm(PlaceMixin, FlaskForm):
    """Register a move-out: the unit, the day and the occupancy after it."""

    on = DateField(lazy_pgettext("move", "Moving out on"), validators=[DataRequired()])
    occupancy = SelectField(
        _l("Occupancy from that day"),
        choices=OCCUPANCY_CHOICES,
        default=Occupancy.vacant.value,
        validate_choice=False,
    )
    submit = SubmitField(lazy_pgettext("register a ticket", "Register"))


class DocumentsForm(FlaskForm):
    documents = Checkboxes(
        _l("Documents seen"),
        choices=[SelectChoice(d.value, label) for d, label in DOCUMENT_LABELS.items()],
        validate_choice=False,
    )


class InspectForm(FlaskForm):
    result = RadioField(
        _l("Inspection result"),
        choices=[
            SelectChoice("ok", _l("No defects")),
            SelectChoice("defects", _l("Defects found")),
        ],
        validate_choice=False,
    )
    defects = TextAreaField(
        _l("Defects, one per line (each opens a repair)"),
        validators=[Optional(), Length(max=8000)],
        render_kw={"rows": 3},
    )


class CardRow(Form):
    number = StringField(_l("Card number"), validators=[Optional(), Length(max=40)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k.value, label) for k, label in CARD_KIND_LABELS.items()],
        validate_choice=False,
    )


class ReadingRow(Form):
    meter = HiddenField()
    value = StringField(
        _l("Reading"), validators=[Optional(), Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    photo = FileField(_l("Photo of the meter (optional)"), render_kw={"accept": "image/*"})


def meter_rows(form_list) -> None:
    """One reading row per meter, water, electricity and gas, each labelled by its meter."""
    for row, (meter, label) in zip(form_list, METER_LABELS.items(), strict=False):
        row.meter.data = meter.value
        row.value.label.text = label


class HandOverForm(FlaskForm):
    keys_count = IntegerField(
        _l("Keys handed over"), validators=[Optional(), NumberRange(min=0, max=100)], default=0
    )
    keys_label = StringField(_l("Key set (label)"), validators=[Optional(), Length(max=100)])
    cards = FieldList(FormField(CardRow), min_entries=4, max_entries=20)
    readings = FieldList(FormField(ReadingRow), min_entries=3, max_entries=3)


class CompleteForm(FlaskForm):
    readings = FieldList(FormField(ReadingRow), min_entries=3, max_entries=3)
    cards_returned = Checkboxes(_l("Cards handed back"), choices=[], validate_choice=False)
    keys_returned = BooleanField(_l("Keys returned"))


class GoodsPassForm(FlaskForm):
    items = TextAreaField(
        _l("What leaves, one line each (e.g. 沙发 2)"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 3},
    )
    day = DateField(_l("Leaves on"), validators=[Optional()])
