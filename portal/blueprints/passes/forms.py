"""Pass forms: shape only (required, lengths, choices); the rules live in services.py.

Items and people are typed one a line, as people write them on a paper slip: "沙发 2",
"王五 13800000000 110101199001011234"; `parse_items`/`parse_people` turn the lines into
what issue_pass takes, and the service checks them.
"""

import re

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from portal.core.inputs import coerce_id

from .models import KIND_LABELS, Kind

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
# "沙发 2", "沙发×2", "沙发 x 2", "沙发*2", or just "沙发" (one).
ITEM_LINE = re.compile(r"^(?P<name>.+?)\s*(?:[xX×*]\s*)?(?P<quantity>\d{1,6})?$")


class PassForm(FlaskForm):
    """Ask for (a resident) or issue (the desk) a pass for a unit."""

    kind = RadioField(
        _l("Kind of pass"),
        choices=[SelectChoice(k.value, KIND_LABELS[k]) for k in Kind],
        default=Kind.goods.value,
        validators=[InputRequired(_l("Choose the kind of pass."))],
    )
    unit = SelectField(_l("Unit"), coerce=coerce_id, validate_choice=False)
    room = StringField(
        lazy_pgettext("pass", "Room"),
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": "1-1-101"},
    )
    valid_from = DateTimeLocalField(
        lazy_pgettext("pass", "Valid from"),
        format=DATETIME_FORMAT,
        validators=[InputRequired(_l("Enter a date and time."))],
    )
    valid_until = DateTimeLocalField(
        _l("Valid until"),
        format=DATETIME_FORMAT,
        validators=[InputRequired(_l("Enter a date and time."))],
    )
    items = TextAreaField(
        _l("Goods leaving (one a line, with the number: 沙发 2)"),
        validators=[Optional(), Length(max=3000)],
        render_kw={"rows": 4},
    )
    people = TextAreaField(
        _l("People (one a line: name, phone, ID number)"),
        validators=[Optional(), Length(max=3000)],
        render_kw={"rows": 3},
    )
    plate = StringField(
        lazy_pgettext("pass", "Vehicle plate"), validators=[Optional(), Length(max=20)]
    )
    submit = SubmitField(_l("Ask for the pass"))


class ApproveForm(FlaskForm):
    """Approve a tenant's goods pass (a button with its CSRF token)."""

    submit = SubmitField(lazy_pgettext("pass", "Approve"))


class RevokeForm(FlaskForm):
    """Revoke a pass, saying why."""

    reason = StringField(
        lazy_pgettext("pass", "Reason"),
        validators=[InputRequired(_l("Say why the pass is revoked.")), Length(max=200)],
    )
    submit = SubmitField(lazy_pgettext("pass", "Revoke the pass"))


class CheckForm(FlaskForm):
    """The gate: a typed or scanned code or pass number."""

    code = StringField(
        lazy_pgettext("pass", "Code or pass number"),
        validators=[InputRequired(_l("Type the pass's number or code, or scan its QR code."))],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "autofocus": True,
            "enterkeyhint": "go",
        },
    )
    submit = SubmitField(lazy_pgettext("pass", "Check"))


def parse_items(text: str) -> list[dict]:
    """Lines of goods → [{name, quantity}] (a line without a number is one)."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        match = ITEM_LINE.match(line)
        name = (match.group("name") if match else line).strip(" ,，、:：")
        quantity = match.group("quantity") if match else None
        items.append({"name": name or line, "quantity": int(quantity) if quantity else 1})
    return items


def parse_people(text: str) -> list[dict]:
    """Lines of people → [{name, phone?, id_number?}]: the first word is the name, a word
    of 5–20 digits (with an optional +) the phone, a longer one or one with letters the ID."""
    people = []
    for line in (text or "").splitlines():
        words = [w for w in re.split(r"[\s,，、;；]+", line.strip()) if w]
        if not words:
            continue
        person = {"name": words[0]}
        for word in words[1:]:
            if re.fullmatch(r"\+?\d{5,13}", word) and "phone" not in person:
                person["phone"] = word
            elif "id_number" not in person:
                person["id_number"] = word
            else:
                person["name"] += " " + word
        people.append(person)
    return people
