"""Move forms: shape only; the workflow's schemas and the services check the rest.

A hand-over and a move-out's completion carry rows (cards, meter readings), which a form
drawn from a schema cannot express: these actions have small forms of their own, posted to
the same action route as every other action.
"""

import re

from flask import request
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
from portal.core import uploads
from portal.core.idempotency import KEY_MAX
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
    # One key per form shown: the same form sent again shows the move it made.
    idempotency_key = HiddenField(validators=[Optional(), Length(max=KEY_MAX)])
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


# ---- what a page posted, as the services read it ------------------------------------------


def _rows(prefix: str, fields: tuple, limit: int) -> list[dict]:
    """The filled rows of a repeated group of the form (`cards-0-number` …)."""
    rows = []
    for n in range(limit):
        row = {f: (request.form.get(f"{prefix}-{n}-{f}") or "").strip() for f in fields}
        if row[fields[-1 if prefix == "readings" else 0]]:
            rows.append(row)
    return rows


def action_input(action: str) -> dict:
    """What the page posted for an action, shaped as the action's schema reads it."""
    form = request.form
    if action == "check-documents":
        return {"documents": form.getlist("documents")}
    if action == "inspect":
        defects = [line.strip() for line in (form.get("defects") or "").splitlines()]
        return {"result": form.get("result") or None, "defects": [d for d in defects if d]}
    if action == "hand-over":
        count = (form.get("keys_count") or "").strip() or "0"
        label = (form.get("keys_label") or "").strip() or None
        return {
            "keys": {
                "count": int(count) if count.isdecimal() and len(count) < 6 else count,
                "label": label,
            },
            "cards": _rows("cards", ("number", "kind"), 20),
            "readings": _rows("readings", ("meter", "value"), 3),
        }
    if action == "complete":
        return {
            "readings": _rows("readings", ("meter", "value"), 3),
            "cards_returned": form.getlist("cards_returned"),
            "keys_returned": "keys_returned" in form,
        }
    return {k: v for k, v in form.items() if k not in ("csrf_token", "submit") and v}


def meter_photos() -> dict:
    """The photos of the meters sent with their readings, checked (by meter)."""
    photos = {}
    for n in range(3):
        meter = request.form.get(f"readings-{n}-meter")
        upload = request.files.get(f"readings-{n}-photo")
        if meter and upload is not None and upload.filename:
            photos[meter] = uploads.check_images([upload], limit=1, field="readings")
    return photos


ITEM_LINE = re.compile(r"^(?P<name>.*?)[\s×xX*]*(?P<quantity>\d{1,4})$")


def goods_lines(text: str) -> list[dict]:
    """ "沙发 2" per line → [{name, quantity}] (a line without a number is one piece)."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        found = ITEM_LINE.match(line)
        if found and found.group("name").strip():
            items.append(
                {"name": found.group("name").strip(), "quantity": int(found.group("quantity"))}
            )
        else:
            items.append({"name": line, "quantity": 1})
    return items
