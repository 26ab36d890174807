"""Move-in and move-out services: the only code that creates or changes a move.

A hand-over and a move-out's completion each change many records (people, occupancy,
cards, readings, keys, bills, notices); they run inside the one workflow action, in the
request's one transaction, so a refusal anywhere stores nothing.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, select, union_all

from portal.blueprints.custody import services as custody
from portal.blueprints.fees import ledger
from portal.blueprints.moves.effects import current_residencies
from portal.blueprints.moves.models import (
    MOVE_IN_OPEN,
    MOVE_OUT_OPEN,
    MoveIn,
    MoveOut,
)
from portal.blueprints.moves.workflow import MOVE_IN, MOVE_OUT
from portal.core import clock, idempotency, workflow
from portal.core.access import visible
from portal.core.errors import Conflict, ServiceError
from portal.core.money import yuan
from portal.core.people import Relation
from portal.core.places import Estate, Occupancy, Unit
from portal.core.residents import (
    check_date,
    estate_people_with,
    normalize_phone,
)
from portal.core.workflow import InvalidInput
from portal.extensions import db

MAX_PEOPLE = 10


# ---- registering -------------------------------------------------------------------------


def _unit_of(actor, unit_id) -> Unit:
    unit = None
    if isinstance(unit_id, int) and not isinstance(unit_id, bool):
        unit = db.session.scalar(select(Unit).where(Unit.id == unit_id, visible(Unit, actor)))
    if unit is None:
        raise ServiceError(
            _l("No such unit in your estate."), fields={"unit_id": "unknown"}, status=404
        )
    return unit


def _occupancy(value, default: Occupancy) -> str:
    try:
        return Occupancy(value or default).value
    except ValueError:
        raise InvalidInput(
            _l("Choose one of the options offered."),
            fields={"occupancy": str(_l("Choose one of the options offered."))},
        ) from None


def _day(value, field: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        message = _l("Enter a date.")
        raise InvalidInput(message, fields={field: str(message)})
    try:
        return check_date(value, field)
    except ServiceError as exc:
        raise InvalidInput(exc.message, fields={field: str(exc.message)}) from None


def _refuse_second(model, unit: Unit, open_states, message) -> None:
    open_one = db.session.scalar(
        select(model.number).where(model.unit_id == unit.id, model.status.in_(open_states))
    )
    if open_one:
        raise Conflict(message(open_one), fields={"unit_id": "open"})


def clean_people(people, estate_id: int) -> list[dict]:
    """The people of a move-in: each with a name, a phone and a relation; no phone twice,
    and no phone another person of the estate holds (409 before anything is stored)."""
    people = list(people or [])
    if not people:
        message = _l("Name at least one person moving in.")
        raise InvalidInput(message, fields={"people": str(message)})
    if len(people) > MAX_PEOPLE:
        message = _l("At most %(n)d people.", n=MAX_PEOPLE)
        raise InvalidInput(message, fields={"people": str(message)})
    clean = []
    for n, person in enumerate(people):
        clean.append(_person(n, person if isinstance(person, dict) else {}, clean, estate_id))
    return clean


def _person(n: int, person: dict, earlier: list[dict], estate_id: int) -> dict:
    """One person of a move-in, checked (field names `people.N.…`)."""
    name = " ".join(str(person.get("name") or "").split())
    if not name or len(name) > 100:
        message = _l("Give each person's name (at most 100 characters).")
        raise InvalidInput(message, fields={f"people.{n}.name": str(message)})
    try:
        phone = normalize_phone(person.get("phone"))
    except ServiceError as exc:
        raise InvalidInput(exc.message, fields={f"people.{n}.phone": str(exc.message)}) from None
    try:
        relation = Relation(person.get("relation")).value
    except ValueError:
        message = _l("Choose one of the options offered.")
        raise InvalidInput(message, fields={f"people.{n}.relation": str(message)}) from None
    if any(p["phone"] == phone for p in earlier):
        message = _l("The same phone number is given twice.")
        raise InvalidInput(message, fields={f"people.{n}.phone": str(message)})
    holders = db.session.scalars(estate_people_with(phone, [estate_id]).limit(5)).all()
    if holders and all(h.name != name for h in holders):
        raise Conflict(
            _l(
                "The phone number of %(person)s belongs to %(name)s in this estate; a"
                " phone number is one person's.",
                person=name,
                name=holders[0].name,
            ),
            fields={f"people.{n}.phone": "taken"},
        )
    return {"name": name, "phone": phone, "relation": relation}


def register_move_in(actor, *, unit_id, on, people, occupancy=None, idempotency_key=None) -> MoveIn:
    """The desk registers a household's move-in for a unit of its estate (RZ…). With a
    one-time key, the same request again returns the first move-in (`replayed`)."""
    unit = _unit_of(actor, unit_id)
    on = _day(on, "on")
    occupancy = _occupancy(occupancy, Occupancy.occupied_unrenovated)
    clean = clean_people(people, unit.estate_id)
    move = MoveIn(
        estate_id=unit.estate_id, unit_id=unit.id, move_on=on, occupancy=occupancy, people=clean
    )

    def make():
        _refuse_second(
            MoveIn,
            unit,
            MOVE_IN_OPEN,
            lambda n: _l("This unit has a move-in in progress (%(n)s).", n=n),
        )
        data = {"on": on.isoformat(), "occupancy": occupancy, "people": len(clean)}
        return workflow.open_ticket(MOVE_IN, move, actor=actor, data=data)

    fingerprint = idempotency.digest(unit_id=unit.id, on=on, occupancy=occupancy, people=clean)
    return idempotency.create_once(
        MoveIn, move, idempotency.scoped(actor, idempotency_key), fingerprint, make
    )


def register_move_out(actor, *, unit_id, on, occupancy=None, idempotency_key=None) -> MoveOut:
    """The desk registers a household's move-out (QC…); the unit must have residents. With
    a one-time key, the same request again returns the first move-out (`replayed`)."""
    unit = _unit_of(actor, unit_id)
    on = _day(on, "on")
    occupancy = _occupancy(occupancy, Occupancy.vacant)
    move = MoveOut(estate_id=unit.estate_id, unit_id=unit.id, move_on=on, occupancy=occupancy)

    def make():
        _refuse_second(
            MoveOut,
            unit,
            MOVE_OUT_OPEN,
            lambda n: _l("This unit has a move-out in progress (%(n)s).", n=n),
        )
        if not current_residencies(unit.id, on):
            raise Conflict(
                _l("Nobody lives in this unit on that day: there is nobody to move out."),
                fields={"unit_id": "no_residents"},
            )
        data = {"on": on.isoformat(), "occupancy": occupancy}
        return workflow.open_ticket(MOVE_OUT, move, actor=actor, data=data)

    fingerprint = idempotency.digest(unit_id=unit.id, on=on, occupancy=occupancy)
    return idempotency.create_once(
        MoveOut, move, idempotency.scoped(actor, idempotency_key), fingerprint, make
    )


def act(move, action, *, actor, data=None):
    """Take a workflow action on a move-in or a move-out."""
    return workflow.apply(move, action, actor=actor, data=data)


# ---- move-out ----------------------------------------------------------------------------


def clearance(move: MoveOut) -> dict:
    """The move-out's checklist as it stands: what the unit owes, its live cards, its
    meters' last readings, the keys the centre keeps and the goods passes of the move."""
    from portal.blueprints.passes.models import Pass

    balance = ledger.balance(move.unit_id)
    passes = db.session.scalars(
        select(Pass)
        .where(Pass.source_kind == "move_out", Pass.source_id == move.id)
        .order_by(Pass.id)
    ).all()
    return {
        "owed_fen": balance.owed_fen,
        "owed": yuan(balance.owed_fen),
        "cards": custody.live_cards(move.unit_id),
        "passes": passes,
        "residents": current_residencies(move.unit_id, move.move_on),
    }


def issue_goods_pass(move: MoveOut, *, items, day: date | None = None, actor):
    """A goods release pass (物品放行条) for the furniture leaving with the move-out, valid
    through the move's day (or another day), linked to the ticket."""
    from portal.blueprints.passes.services import issue_pass

    if not move.is_open:
        raise Conflict(_l("This move-out is closed."), fields={"status": move.status})
    day = day or move.move_on
    tz = ZoneInfo(db.session.get(Estate, move.estate_id).timezone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    return issue_pass(
        kind="goods",
        unit=db.session.get(Unit, move.unit_id),
        valid_from=max(start, clock.now()) if day == clock.local_today(str(tz)) else start,
        valid_until=start + timedelta(days=1),
        actor=actor,
        items=items,
        source_kind="move_out",
        source_id=move.id,
    )


def store_meter_photos(move, photos: dict, *, actor) -> None:
    """Keep each checked photo with the reading of its meter that the move recorded."""
    if not photos:
        return
    from portal.blueprints.custody.models import MeterReading
    from portal.core import uploads

    readings = db.session.scalars(
        select(MeterReading).where(
            MeterReading.source_kind == move.__workflow__,
            MeterReading.source_id == move.id,
            MeterReading.meter.in_(list(photos)),
        )
    ).all()
    for reading in readings:
        uploads.store(
            photos[reading.meter], entity=reading, purpose=custody.PHOTO_PURPOSE, actor=actor
        )


# ---- lists -------------------------------------------------------------------------------


def moves_for(actor, *, kind=None, status=None, unit_id=None):
    """A SELECT of the moves (both kinds) an actor may see, newest first: rows of (kind,
    id, number, status, unit_id, move_on, created_at)."""
    parts = []
    for code, model in (("in", MoveIn), ("out", MoveOut)):
        if kind and kind != code:
            continue
        stmt = select(
            literal(code).label("kind"),
            model.id,
            model.number,
            model.status,
            model.unit_id,
            model.move_on,
            model.created_at,
        ).where(visible(model, actor))
        if status:
            stmt = stmt.where(model.status == status)
        if unit_id:
            stmt = stmt.where(model.unit_id == unit_id)
        parts.append(stmt)
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(both).order_by(both.c.created_at.desc(), both.c.id.desc())


def list_of(model, actor, *, status=None, unit_id=None):
    """A SELECT of one kind's moves an actor may see, newest first."""
    stmt = select(model).where(visible(model, actor)).order_by(model.id.desc())
    if status:
        stmt = stmt.where(model.status == status)
    if unit_id:
        stmt = stmt.where(model.unit_id == unit_id)
    return stmt
