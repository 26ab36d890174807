"""What a renovation's steps do (the effects its workflow transitions run). The approval
bills the deposit and the debris fee once each, issues a worker pass per worker for the
approved window, sets the unit under renovation from the start day (at once when that day
has come, else on the day: `start_due_renovations`), and tells the households on the same
floor and the floors directly above and below in the same building. All inside the one
workflow action, in the request's one transaction: a refusal anywhere stores nothing."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.rules import Rates, item_by_code
from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.people import Residency, User, current_residency_clause
from portal.core.places import Estate, Occupancy, Unit
from portal.core.residents import change_occupancy
from portal.extensions import db
from portal.notify.outbox import tell

from .models import Renovation
from .rules import NOISY_HOURS, WORKING_HOURS

# The fee items the approval bills (fees/rules.py STANDARD_ITEMS), by the key part of
# their source_key.
FEES = (("deposit", "renovation_deposit"), ("debris", "debris"))
_ROOM = re.compile(r"(\d+)\D*$")


def _estate(renovation) -> Estate:
    return db.session.get(Estate, renovation.estate_id)


def source_key(renovation, part: str) -> str:
    return f"renovation:{renovation.id}:{part}"


def window(renovation, tz: str) -> tuple[datetime, datetime]:
    """The approved window in the estate's time: the start of the first day to the end of
    the last."""
    zone = ZoneInfo(tz)
    start = datetime.combine(renovation.starts_on, time(0), tzinfo=zone)
    end = datetime.combine(renovation.ends_on + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def review(renovation: Renovation, data, actor) -> None:
    """The engineering review: notes and the changes required (kept on the record)."""
    renovation.review = {
        "notes": data["notes"],
        "required_changes": data.get("required_changes") or [],
        "by": actor.id,
        "at": clock.now().isoformat(),
    }


def send_back(renovation: Renovation, data, actor) -> None:
    renovation.returned_reason = data["reason"]


def reject(renovation: Renovation, data, actor) -> None:
    renovation.rejected_reason = data["reason"]


def approve(renovation: Renovation, data, actor) -> None:
    """Bill, issue the passes, set the occupancy (or schedule it), tell the neighbours."""
    unit = db.session.get(Unit, renovation.unit_id)
    estate = _estate(renovation)
    bills = bill_fees(renovation, unit, actor)
    passes = issue_worker_passes(renovation, unit, estate, actor)
    occupancy = start_renovating(renovation, unit, estate, actor)
    told = tell_neighbours(renovation, unit, estate)
    renovation.approved_at = clock.now()
    renovation.approved_by_id = actor.id
    renovation.approval = {
        "bills": bills,
        "passes": passes,
        "occupancy": occupancy,
        "neighbours": told,
    }
    data.update(renovation.approval)


def bill_fees(renovation: Renovation, unit: Unit, actor) -> dict:
    """The deposit and the debris fee at the estate's rates, each once per renovation (its
    source_key), due on the day of approval."""
    today = clock.local_today(_estate(renovation).timezone)
    items = {part: item_by_code(renovation.estate_id, code) for part, code in FEES}
    items = {p: i for p, i in items.items() if i is not None and i.active}
    rates = Rates([i.id for i in items.values()], today)
    billed = {}
    for part, item in items.items():
        amount = rates.rate(item.id, unit.occupancy)
        if not amount:
            continue
        bill = ledger.issue_bill(
            unit,
            item,
            amount_fen=amount,
            due_on=today,
            source="renovation",
            source_key=source_key(renovation, part),
            actor=actor,
            note=renovation.number,
        )
        if bill is not None:
            billed[part] = bill.id
    return billed


def issue_worker_passes(
    renovation: Renovation, unit: Unit, estate: Estate, actor, *, from_now=False
) -> list[int]:
    """A worker pass (出入证) per worker, valid only in the approved window (with
    `from_now`, the rest of it: works resumed)."""
    from portal.blueprints.passes.services import issue_pass

    start, end = window(renovation, estate.timezone)
    if from_now:
        start = max(start, clock.now())
    issued = []
    for n, worker in enumerate(renovation.workers or []):
        try:
            pass_ = issue_pass(
                kind="worker",
                unit=unit,
                valid_from=start,
                valid_until=end,
                actor=actor,
                people=[worker],
                source_kind="renovation",
                source_id=renovation.id,
            )
        except ServiceError as exc:
            raise type(exc)(
                _l("%(name)s: %(message)s", name=worker["name"], message=exc.message),
                fields={f"workers.{n}": next(iter(exc.fields.values()), "invalid")},
                status=exc.status,
            ) from None
        issued.append(pass_.id)
    return issued


def start_renovating(renovation: Renovation, unit: Unit, estate: Estate, actor) -> str:
    """The unit is under renovation from the start day: at once when that day has come;
    otherwise the day's sweep does it (`start_due_renovations`). What happened: "set",
    "already" or "scheduled"."""
    if clock.local_today(estate.timezone) < renovation.starts_on:
        renovation.occupancy_due_on = renovation.starts_on
        return "scheduled"
    return _set_renovating(renovation, unit, actor)


def _set_renovating(renovation: Renovation, unit: Unit, actor) -> str:
    renovation.occupancy_due_on = None
    if unit.occupancy == Occupancy.renovating:
        return "already"
    on = max(renovation.starts_on, unit.occupancy_since)
    try:
        change_occupancy(unit, Occupancy.renovating, on, actor=actor)
    except ServiceError as exc:
        fields = {"starts_on": str(exc.message)}
        raise type(exc)(exc.message, fields=fields, status=exc.status) from None
    return "set"


def start_due_renovations(today: date | None = None) -> int:
    """The day's sweep: units of approved renovations whose start day has come become
    `renovating` from that day (idempotent: a renovation is taken once). How many."""
    from .models import RenovationState

    due = db.session.scalars(
        select(Renovation)
        .where(
            Renovation.status == RenovationState.approved,
            Renovation.occupancy_due_on.is_not(None),
            Renovation.occupancy_due_on <= (today or clock.local_today() + timedelta(days=1)),
        )
        .order_by(Renovation.id)
        .limit(500)
    ).all()
    taken = 0
    for renovation in due:
        estate = _estate(renovation)
        if clock.local_today(estate.timezone) < renovation.occupancy_due_on:
            continue
        unit = db.session.get(Unit, renovation.unit_id)
        try:
            with db.session.begin_nested():
                _set_renovating(renovation, unit, None)
        except ServiceError:
            renovation.occupancy_due_on = None  # the unit changed since: leave it be
        taken += 1
    db.session.commit()
    return taken


# ---- the neighbours ------------------------------------------------------------------------


def floor_of(number: str) -> int | None:
    """The floor of a room number: its last run of digits without the last two (1单元1201
    → 12, 302 → 3); None for a number that names no floor (a villa, a shop)."""
    found = _ROOM.search(number or "")
    if not found or len(found.group(1)) < 3:
        return None
    return int(found.group(1)[:-2])


def neighbour_units(unit: Unit) -> list[int]:
    """The other units of the building on the same floor and the floors directly above
    and below (one query; the floor is read from the room number)."""
    floor = floor_of(unit.number)
    if floor is None:
        return []
    rows = db.session.execute(
        select(Unit.id, Unit.number).where(Unit.building_id == unit.building_id, Unit.id != unit.id)
    ).all()
    near = {floor - 1, floor, floor + 1}
    return [uid for uid, number in rows if floor_of(number) in near]


def neighbours(unit: Unit) -> list[tuple[User, int]]:
    """The current residents of those units, once each: (person, their unit)."""
    unit_ids = neighbour_units(unit)
    if not unit_ids:
        return []
    rows = db.session.execute(
        select(User, Residency.unit_id)
        .join(Residency, Residency.user_id == User.id)
        .where(Residency.unit_id.in_(unit_ids), current_residency_clause())
        .order_by(Residency.unit_id, User.id)
    ).all()
    seen, people = set(), []
    for user, unit_id in rows:
        if user.id not in seen:
            seen.add(user.id)
            people.append((user, unit_id))
    return people


def tell_neighbours(renovation: Renovation, unit: Unit, estate: Estate) -> int:
    """A notice to the households near the works (the window and the noisy hours); how
    many people were told (none when nobody lives on those floors)."""
    people = neighbours(unit)
    working = settings.get(WORKING_HOURS.key, estate.id)
    noisy = settings.get(NOISY_HOURS.key, estate.id)
    place = f"{unit.building.name} {unit.number}"
    for person, unit_id in people:
        tell(
            person,
            kind="renovation_neighbours",
            estate=estate,
            unit_id=unit_id,
            channels=("app", "sms"),
            render=lambda: (
                _l("Renovation works near your home: %(place)s", place=place),
                _l(
                    "Renovation works at %(place)s from %(start)s to %(end)s. Works only"
                    " %(hours)s; noisy work only %(noisy)s. We apologise for the disturbance;"
                    " please call the service centre about any problem.",
                    place=place,
                    start=renovation.starts_on.isoformat(),
                    end=renovation.ends_on.isoformat(),
                    hours=working,
                    noisy=noisy,
                ),
            ),
        )
    return len(people)


def tell_applicant(renovation: Renovation, data, actor) -> None:
    """The owner hears the outcome of a step someone else took on their application."""
    if renovation.applicant_id is None or renovation.applicant_id == actor.id:
        return
    applicant = db.session.get(User, renovation.applicant_id)
    messages = {
        "approved": (
            _l("Renovation %(n)s approved", n=renovation.number),
            _l("Pay the deposit and the debris fee; the workers' passes are ready."),
        ),
        "returned": (
            _l("Renovation %(n)s sent back to amend", n=renovation.number),
            _l("Reason: %(reason)s", reason=renovation.returned_reason or ""),
        ),
        "rejected": (
            _l("Renovation %(n)s rejected", n=renovation.number),
            _l("Reason: %(reason)s", reason=renovation.rejected_reason or ""),
        ),
    }
    if applicant is None or renovation.status not in messages:
        return
    subject, body = messages[renovation.status]
    tell(
        applicant,
        kind="renovation_decision",
        estate=_estate(renovation),
        unit_id=renovation.unit_id,
        render=lambda: (subject, body),
    )
