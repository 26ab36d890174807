"""What a pass may hold: its window (the longest per kind is a setting), its goods, people
and plate. Each check raises ServiceError naming the field at fault."""

import re
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.people import Relation, Residency, current_residency_clause
from portal.core.residents import normalize_phone
from portal.extensions import db

from .models import Kind

MAX_ITEMS = 30
MAX_PEOPLE = 20
MAX_NAME = 100
MAX_QUANTITY = 9999
MAX_ID_NUMBER = 30
MAX_PLATE = 16
MAX_REASON = 200
MAX_TYPED = 40  # what a check keeps of the typed text
# How far ahead a pass may start.
MAX_AHEAD = timedelta(days=366)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
NUMBER_RE = re.compile(r"^[A-Za-z]{2}\d{12}$")
PLATE_RE = re.compile(r"^[0-9A-Z\u4e00-\u9fff·-]{2,16}$")
ID_NUMBER_RE = re.compile(r"^[0-9A-Za-z]{4,30}$")

MAX_DAYS = {
    Kind.goods: settings.declare(
        "passes.goods_max_days",
        _l("Longest window of a goods release pass (days)"),
        int,
        3,
        minimum=1,
        maximum=31,
    ),
    Kind.visitor: settings.declare(
        "passes.visitor_max_days",
        _l("Longest window of a visitor pass (days)"),
        int,
        7,
        minimum=1,
        maximum=366,
    ),
    Kind.worker: settings.declare(
        "passes.worker_max_days",
        _l("Longest window of a worker pass (days)"),
        int,
        180,
        minimum=1,
        maximum=731,
    ),
}
# What residents may ask for; worker passes come with a renovation, from the desk.
RESIDENT_KINDS = frozenset({Kind.goods, Kind.visitor})


def invalid(message, field: str, code: str = "invalid"):
    return ServiceError(message, fields={field: code})


def relation_of(actor, unit_id: int) -> Relation | None:
    """How the actor holds the unit today (None: they hold it not)."""
    relation = db.session.scalar(
        select(Residency.relation)
        .where(
            Residency.user_id == actor.id,
            Residency.unit_id == unit_id,
            current_residency_clause(),
        )
        .order_by(Residency.relation == Relation.tenant.value)  # owner/family first
        .limit(1)
    )
    return Relation(relation) if relation else None


def unit_is_let(unit_id: int) -> bool:
    """Whether a tenant holds the unit today."""
    return (
        db.session.scalar(
            select(Residency.id)
            .where(
                Residency.unit_id == unit_id,
                Residency.relation == Relation.tenant.value,
                current_residency_clause(),
            )
            .limit(1)
        )
        is not None
    )


def check_kind(kind) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise invalid(_l("Choose one of the options offered."), "kind", "unknown") from None


def check_window(kind: Kind, valid_from, valid_until, estate_id: int) -> tuple[datetime, datetime]:
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise invalid(_l("Enter a date and time."), name, "required")
    if valid_until <= valid_from:
        raise invalid(_l("The pass must end after it starts."), "valid_until", "before_start")
    if valid_until <= clock.now():
        raise invalid(_l("This window has already ended."), "valid_until", "past")
    if valid_from > clock.now() + MAX_AHEAD:
        raise invalid(_l("A pass can start at most a year ahead."), "valid_from", "range")
    days = settings.get(MAX_DAYS[kind].key, estate_id)
    if valid_until - valid_from > timedelta(days=days):
        raise invalid(
            _l("This pass may last at most %(n)d days.", n=days), "valid_until", "too_long"
        )
    return valid_from, valid_until


def clean_text(value, field: str, limit: int, *, required=True) -> str | None:
    text = " ".join(str(value or "").split())
    if not text:
        if required:
            raise invalid(_l("This field is required."), field, "required")
        return None
    if len(text) > limit:
        raise invalid(_l("At most %(n)d characters.", n=limit), field, "length")
    return text


def clean_items(kind: Kind, items) -> list[dict]:
    items = list(items or [])
    if kind == Kind.goods and not items:
        raise invalid(_l("List what leaves the estate."), "items", "required")
    if len(items) > MAX_ITEMS:
        raise invalid(_l("At most %(n)d lines.", n=MAX_ITEMS), "items", "too_many")
    clean = []
    for item in items:
        item = item if isinstance(item, dict) else {}
        name = clean_text(item.get("name"), "items", MAX_NAME)
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            raise invalid(_l("Enter a whole number."), "items", "quantity")
        quantity = str(quantity).strip()
        if not (quantity.isascii() and quantity.isdecimal()) or len(quantity) > 4:
            raise invalid(_l("Enter a whole number."), "items", "quantity")
        if not 1 <= int(quantity) <= MAX_QUANTITY:
            raise invalid(_l("Must be at least %(n)s.", n=1), "items", "quantity")
        clean.append({"name": name, "quantity": int(quantity)})
    return clean


def clean_people(kind: Kind, people) -> list[dict]:
    people = list(people or [])
    if kind in (Kind.visitor, Kind.worker) and not people:
        raise invalid(_l("Name at least one person."), "people", "required")
    if len(people) > MAX_PEOPLE:
        raise invalid(_l("At most %(n)d people.", n=MAX_PEOPLE), "people", "too_many")
    clean = []
    for person in people:
        person = person if isinstance(person, dict) else {}
        entry = {"name": clean_text(person.get("name"), "people", MAX_NAME)}
        id_number = clean_text(person.get("id_number"), "people", MAX_ID_NUMBER, required=False)
        if id_number:
            if not ID_NUMBER_RE.match(id_number):
                raise invalid(_l("An ID number has letters and digits only."), "people", "id")
            entry["id_number"] = id_number.upper()
        if str(person.get("phone") or "").strip():
            entry["phone"] = normalize_phone(person["phone"], "people")
        clean.append(entry)
    return clean


def clean_plate(plate) -> str | None:
    plate = re.sub(r"[\s]", "", str(plate or "")).upper()
    if not plate:
        return None
    if not PLATE_RE.match(plate):
        raise invalid(_l("Enter a plate number such as 沪A12345."), "plate", "format")
    return plate
