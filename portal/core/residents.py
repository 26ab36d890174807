"""Staff keep a unit's people and occupancy: add a resident, end a residency, correct a
phone number, change the occupancy category from a date (contracts §7).

Every change is audited and history is kept: an ended residency keeps its row with its
last day, a phone correction keeps the old number in the audit entry, an occupancy change
is a new row of the unit's history. A phone number belongs to one person per estate: the
same name and phone added to a second unit is the same person (one account sees both
units); the phone of somebody else in the estate is refused.
"""

import re
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import audit, clock
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.people import Relation, Residency, User
from portal.core.places import Occupancy, Unit, UnitOccupancy
from portal.core.units import set_occupancy
from portal.extensions import db

PHONE_RE = re.compile(r"^\+?[0-9]{5,20}$")
# Dates staff give: not before this, and not further ahead than a year.
EARLIEST = date(1950, 1, 1)
AHEAD = timedelta(days=366)


def normalize_phone(raw, field: str = "phone") -> str:
    """A phone number as stored: without spaces and dashes, digits with an optional +."""
    phone = re.sub(r"[\s\-]", "", str(raw or ""))
    if not PHONE_RE.match(phone):
        raise ServiceError(
            _l("Enter a phone number (digits, 5 to 20 of them)."), fields={field: "format"}
        )
    return phone


def check_date(value: date, field: str, *, future: bool = True) -> date:
    """A date within reason: from 1950, at most a year ahead (or not after today)."""
    today = clock.local_today()
    if value < EARLIEST:
        raise ServiceError(_l("This date is too far in the past."), fields={field: "range"})
    if not future and value > today:
        raise ServiceError(
            _l("This change can be dated today at the latest; record it on the day."),
            fields={field: "future"},
        )
    if value > today + AHEAD:
        raise ServiceError(_l("This date is more than a year ahead."), fields={field: "range"})
    return value


def estate_people_with(phone: str, estate_ids):
    """SELECT of the people holding `phone` with a residency (past or present) in a unit of
    one of the estates, oldest first."""
    in_estate = (
        select(Residency.user_id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(Unit.estate_id.in_(estate_ids))
    )
    return select(User).where(User.phone == phone, User.id.in_(in_estate)).order_by(User.id)


def _phone_taken(holder: User) -> Conflict:
    message = _l(
        "This phone number belongs to %(name)s in this estate; a phone number is one person's.",
        name=holder.name,
    )
    return Conflict(message, fields={"phone": "taken"})


def add_resident(unit: Unit, *, name, phone, relation, start_on=None, actor) -> Residency:
    """A person becomes an owner, tenant or family member of a unit from a date (today by
    default). The same name and phone in the estate is the same person; somebody else's
    phone is refused (409)."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ServiceError(_l("This field is required."), fields={"name": "required"})
    if len(name) > 100:
        raise ServiceError(_l("At most %(n)d characters.", n=100), fields={"name": "length"})
    phone = normalize_phone(phone)
    try:
        relation = Relation(relation)
    except ValueError:
        raise ServiceError(
            _l("Choose one of the options offered."), fields={"relation": "unknown"}
        ) from None
    start_on = check_date(start_on or clock.local_today(), "from")
    holders = db.session.scalars(estate_people_with(phone, [unit.estate_id])).all()
    person = next((p for p in holders if p.name == name), None)
    if person is None and holders:
        raise _phone_taken(holders[0])
    if person is None:
        person = User(name=name, phone=phone)
        db.session.add(person)
        db.session.flush()
    else:
        _refuse_overlap(unit, person, start_on)
    residency = Residency(unit_id=unit.id, user_id=person.id, relation=relation, start_on=start_on)
    db.session.add(residency)
    db.session.flush()
    # Audited on the unit, which the audit page names and links to.
    audit.record(
        "residency.add",
        unit,
        actor=actor,
        after={
            "person": person.name,
            "phone": person.phone,
            "relation": relation.value,
            "start_on": start_on,
        },
    )
    return residency


def _refuse_overlap(unit: Unit, person: User, start_on: date) -> None:
    """A person holds a unit once at a time: no second residency that overlaps one of
    theirs in the same unit."""
    clash = db.session.scalar(
        select(Residency)
        .where(
            Residency.unit_id == unit.id,
            Residency.user_id == person.id,
            (Residency.end_on.is_(None)) | (Residency.end_on >= start_on),
        )
        .order_by(Residency.start_on)
        .limit(1)
    )
    if clash is not None:
        raise Conflict(
            _l(
                "%(name)s is already registered in this unit from %(date)s; end that "
                "residency first.",
                name=person.name,
                date=clash.start_on.isoformat(),
            ),
            fields={"phone": "already_resident"},
        )


def end_residency(residency: Residency, on: date, *, actor) -> Residency:
    """A residency ends: `on` is its last day. The row stays, with its dates."""
    if residency.end_on is not None:
        raise Conflict(
            _l("This residency already ended on %(date)s.", date=residency.end_on.isoformat()),
            fields={"on": "ended"},
        )
    check_date(on, "on")
    if on < residency.start_on:
        raise ServiceError(
            _l(
                "A residency cannot end before it starts (%(date)s).",
                date=residency.start_on.isoformat(),
            ),
            fields={"on": "before_start"},
        )
    residency.end_on = on
    db.session.flush()
    audit.record(
        "residency.end",
        residency.unit,
        actor=actor,
        before={"end_on": None},
        after={"person": residency.user.name, "end_on": on},
    )
    return residency


def person_estates(person: User) -> list[int]:
    """The estates where a person holds or held a unit."""
    return list(
        db.session.scalars(
            select(Unit.estate_id)
            .join(Residency, Residency.unit_id == Unit.id)
            .where(Residency.user_id == person.id)
            .distinct()
        )
    )


def correct_phone(person: User, phone, *, actor, estate_id: int) -> bool:
    """Correct a person's phone number; the old one stays in the audit entry. A number
    another person of their estates holds is refused (409). The phone is the resident's
    login (and where a reset code goes), so only staff who see every estate where the
    person holds or held a unit may change it (403), never a staff member's, and it ends
    the person's sessions and tokens. False when nothing changed."""
    from portal.core.access import estates_for
    from portal.core.accounts import revoke_sessions

    phone = normalize_phone(phone)
    if phone == person.phone:
        return False
    reach = {e.id for e in estates_for(actor)}
    if person.staff_roles or not set(person_estates(person)) <= reach:
        raise NotAllowed(
            _l(
                "Only staff who see every estate where this person lives or lived may "
                "correct their phone."
            ),
            fields={"phone": "elsewhere"},
        )
    others = db.session.scalars(
        estate_people_with(phone, person_estates(person)).where(User.id != person.id)
    ).first()
    if others is not None:
        raise _phone_taken(others)
    before = person.phone
    person.phone = phone
    revoke_sessions(person)
    db.session.flush()
    audit.record(
        "person.phone",
        person,
        actor=actor,
        estate_id=estate_id,
        before={"phone": before},
        after={"phone": phone},
    )
    return True


def change_occupancy(unit: Unit, occupancy, effective_on: date, *, actor) -> bool:
    """The unit's occupancy category from a date on (billing follows it day by day).

    The date is today at the latest and not before the unit's last change; the same
    category from the same date again changes nothing (False); the category the unit is
    already in, from another date, is refused (409).
    """
    try:
        occupancy = Occupancy(occupancy)
    except ValueError:
        raise ServiceError(
            _l("Choose one of the options offered."), fields={"occupancy": "unknown"}
        ) from None
    check_date(effective_on, "from", future=False)
    last = db.session.scalar(
        select(func.max(UnitOccupancy.effective_on)).where(UnitOccupancy.unit_id == unit.id)
    )
    last = max(d for d in (last, unit.occupancy_since) if d is not None)
    if effective_on < last:
        raise ServiceError(
            _l(
                "The occupancy last changed on %(date)s; a change cannot be dated before it.",
                date=last.isoformat(),
            ),
            fields={"from": "before_last"},
        )
    if unit.occupancy == occupancy:
        if effective_on == unit.occupancy_since:
            return False
        raise Conflict(
            _l(
                "The unit is already in this category (since %(date)s).",
                date=unit.occupancy_since.isoformat(),
            ),
            fields={"occupancy": "unchanged"},
        )
    return set_occupancy(unit, occupancy, effective_on, actor=actor)
