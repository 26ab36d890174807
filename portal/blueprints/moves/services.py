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
from portal.blueprints.custody.models import KeySet, KeyStatus
from portal.blueprints.fees import ledger
from portal.blueprints.moves.models import (
    MOVE_IN_OPEN,
    MOVE_OUT_OPEN,
    MoveIn,
    MoveOut,
)
from portal.blueprints.moves.workflow import (
    MOVE_IN,
    MOVE_OUT,
    move_in_fee_codes,
    required_documents,
)
from portal.core import clock, settings, workflow
from portal.core.access import visible
from portal.core.errors import Conflict, ServiceError
from portal.core.money import yuan
from portal.core.people import Relation, Residency, User, current_residency_clause
from portal.core.places import Estate, Occupancy, Unit
from portal.core.residents import add_resident as add_residency
from portal.core.residents import (
    change_occupancy,
    check_date,
    estate_people_with,
    normalize_phone,
)
from portal.core.residents import end_residency as end_one_residency
from portal.core.workflow import InvalidInput
from portal.extensions import db
from portal.notify.outbox import tell

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
        person = person if isinstance(person, dict) else {}
        name = " ".join(str(person.get("name") or "").split())
        if not name or len(name) > 100:
            message = _l("Give each person's name (at most 100 characters).")
            raise InvalidInput(message, fields={f"people.{n}.name": str(message)})
        try:
            phone = normalize_phone(person.get("phone"))
        except ServiceError as exc:
            raise InvalidInput(
                exc.message, fields={f"people.{n}.phone": str(exc.message)}
            ) from None
        try:
            relation = Relation(person.get("relation")).value
        except ValueError:
            message = _l("Choose one of the options offered.")
            raise InvalidInput(message, fields={f"people.{n}.relation": str(message)}) from None
        if any(p["phone"] == phone for p in clean):
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
        clean.append({"name": name, "phone": phone, "relation": relation})
    return clean


def register_move_in(actor, *, unit_id, on, people, occupancy=None) -> MoveIn:
    """The desk registers a household's move-in for a unit of its estate (RZ…)."""
    unit = _unit_of(actor, unit_id)
    on = _day(on, "on")
    occupancy = _occupancy(occupancy, Occupancy.occupied_unrenovated)
    clean = clean_people(people, unit.estate_id)
    _refuse_second(
        MoveIn,
        unit,
        MOVE_IN_OPEN,
        lambda n: _l("This unit has a move-in in progress (%(n)s).", n=n),
    )
    move = MoveIn(
        estate_id=unit.estate_id, unit_id=unit.id, move_on=on, occupancy=occupancy, people=clean
    )
    return workflow.open_ticket(
        MOVE_IN,
        move,
        actor=actor,
        data={"on": on.isoformat(), "occupancy": occupancy, "people": len(clean)},
    )


def register_move_out(actor, *, unit_id, on, occupancy=None) -> MoveOut:
    """The desk registers a household's move-out (QC…); the unit must have residents."""
    unit = _unit_of(actor, unit_id)
    on = _day(on, "on")
    occupancy = _occupancy(occupancy, Occupancy.vacant)
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
    move = MoveOut(estate_id=unit.estate_id, unit_id=unit.id, move_on=on, occupancy=occupancy)
    return workflow.open_ticket(
        MOVE_OUT, move, actor=actor, data={"on": on.isoformat(), "occupancy": occupancy}
    )


def act(move, action, *, actor, data=None):
    """Take a workflow action on a move-in or a move-out."""
    return workflow.apply(move, action, actor=actor, data=data)


# ---- move-in effects ---------------------------------------------------------------------


def check_documents(move: MoveIn, data, actor) -> None:
    """The documents seen; every one the people's relations need must be there (400)."""
    missing = [code for code in required_documents(move) if code not in data["documents"]]
    if missing:
        from portal.blueprints.moves.models import DOCUMENT_LABELS, Document

        message = _l(
            "Missing: %(documents)s.",
            documents=", ".join(str(DOCUMENT_LABELS[Document(c)]) for c in missing),
        )
        raise InvalidInput(message, fields={"documents": str(message)})
    move.documents = list(dict.fromkeys(data["documents"]))


def inspect_unit(move: MoveIn, data, actor) -> None:
    """The hand-over inspection (验房): each defect opens a repair on the unit."""
    from portal.blueprints.repairs.services import submit_repair

    repair_ids = []
    for defect in data["defects"]:
        repair = submit_repair(
            actor,
            category="civil",
            location="unit",
            description=f"{defect} ({move.number})",
            unit_id=move.unit_id,
            channel="patrol",
        )
        repair_ids.append(repair.id)
    data["repair_ids"] = repair_ids
    move.inspection_result = data["result"]
    move.defects = data["defects"]
    move.repair_ids = repair_ids


def _not_before_the_day(move) -> None:
    if move.move_on > clock.local_today(_estate(move).timezone):
        raise Conflict(
            _l(
                "This can be recorded from the day itself (%(date)s) on.",
                date=move.move_on.isoformat(),
            ),
            fields={"on": "future"},
        )


def _estate(move) -> Estate:
    return db.session.get(Estate, move.estate_id)


def hand_over(move: MoveIn, data, actor) -> None:
    """The hand-over: the people become residents and the occupancy changes from the day,
    cards are issued, the meters' first readings recorded, kept keys handed over and the
    one-off move-in fees billed; the welcome notice follows (`welcome`)."""
    _not_before_the_day(move)
    unit = db.session.get(Unit, move.unit_id)
    on = move.move_on
    newcomers = []
    for n, person in enumerate(move.people or []):
        try:
            residency = add_residency(
                unit,
                name=person["name"],
                phone=person["phone"],
                relation=person["relation"],
                start_on=on,
                actor=actor,
            )
        except ServiceError as exc:
            raise type(exc)(
                _l("%(name)s: %(message)s", name=person["name"], message=exc.message),
                fields={f"people.{n}": next(iter(exc.fields.values()), "invalid")},
                status=exc.status,
            ) from None
        newcomers.append(residency.user_id)
    if unit.occupancy != move.occupancy:
        try:
            change_occupancy(unit, move.occupancy, on, actor=actor)
        except ServiceError as exc:
            raise type(exc)(
                exc.message, fields={"on": str(exc.message)}, status=exc.status
            ) from None
    custody.issue_cards(
        unit, data["cards"], on, actor=actor, source_kind="move_in", source_id=move.id
    )
    custody.record_readings(
        unit,
        data["readings"],
        on,
        actor=actor,
        purpose="first",
        source_kind="move_in",
        source_id=move.id,
    )
    receiver = next((p for p in move.people if p["relation"] == "owner"), move.people[0])
    for keyset in db.session.scalars(
        select(KeySet)
        .where(KeySet.unit_id == unit.id, KeySet.status == KeyStatus.held)
        .order_by(KeySet.id)
    ):
        custody.hand_over_keys(keyset, name=receiver["name"], phone=receiver["phone"], actor=actor)
    data["bills"] = bill_move_in_fees(move, unit, actor)
    move.handover = {k: data[k] for k in ("keys", "cards", "readings", "bills")}
    move.completed_at = clock.now()
    move.newcomer_ids = newcomers


def bill_move_in_fees(move: MoveIn, unit: Unit, actor) -> list[int]:
    """The one-off fees of a move-in the estate charges (the setting names the items):
    each billed once per move-in (its source key), due on the hand-over day."""
    codes = move_in_fee_codes(move.estate_id)
    if not codes:
        return []
    from portal.blueprints.fees.models import Basis, FeeItem
    from portal.blueprints.fees.rules import Rates

    bills = []
    items = db.session.scalars(
        select(FeeItem).where(
            FeeItem.estate_id == move.estate_id,
            FeeItem.code.in_(codes),
            FeeItem.basis == Basis.one_off,
            FeeItem.active,
        )
    ).all()
    items = [i for i in items if i.unit_kind in (None, unit.kind)]
    rates = Rates([i.id for i in items], move.move_on)
    for item in sorted(items, key=lambda i: codes.index(i.code)):
        rate = rates.rate(item.id, move.occupancy)
        if not rate:
            continue
        bill = ledger.issue_bill(
            unit,
            item,
            amount_fen=rate,
            due_on=move.move_on,
            source="move_in",
            source_key=f"move_in:{move.id}:{item.code}",
            actor=actor,
            note=move.number,
        )
        if bill is not None:
            bills.append(bill.id)
    return bills


def welcome(move: MoveIn, data, actor) -> None:
    """A welcome notice to each person who moved in (in-app for when they activate, and
    SMS now), in their language."""
    estate = _estate(move)
    hotline = settings.get(settings.HOTLINE.key, move.estate_id)
    people = db.session.scalars(
        select(User).where(User.id.in_(getattr(move, "newcomer_ids", []) or []))
    ).all()
    for person in people:
        tell(
            person,
            kind="move_in_welcome",
            estate=estate,
            unit_id=move.unit_id,
            channels=("app", "sms"),
            render=lambda: (
                _l("Welcome to %(estate)s", estate=estate.name),
                _l(
                    "Your home has been handed over. Activate your account with this phone"
                    " number to pay fees, report repairs and read notices. Service hotline:"
                    " %(hotline)s.",
                    hotline=hotline,
                ),
            ),
        )


# ---- move-out ----------------------------------------------------------------------------


def current_residencies(unit_id: int, on: date, *, open_ended=False) -> list[Residency]:
    """The unit's residencies that hold on `on` (with `open_ended`: those with no last day
    yet, which a move-out ends)."""
    stmt = select(Residency).where(Residency.unit_id == unit_id, current_residency_clause(on))
    if open_ended:
        stmt = stmt.where(Residency.end_on.is_(None))
    return list(db.session.scalars(stmt.order_by(Residency.id)))


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


def complete_move_out(move: MoveOut, data, actor) -> None:
    """Close a move-out: 409 naming each unmet item of the checklist (arrears, cards not
    returned nor lost, no final reading, keys not back); else the residencies end on the
    day, the occupancy changes, the cards are returned and the final readings recorded."""
    _not_before_the_day(move)
    unit = db.session.get(Unit, move.unit_id)
    live = {c.number: c for c in custody.live_cards(unit.id)}
    returned = []
    for raw in data["cards_returned"]:
        number = custody.card_number(raw)
        if number is None or number not in live:
            message = _l("%(number)s is not a live card of this unit.", number=str(raw)[:40])
            raise InvalidInput(message, fields={"cards_returned": str(message)})
        returned.append(number)
    unmet, words = {}, []
    owed = ledger.balance(unit.id).owed_fen
    if owed > 0:
        unmet["arrears"] = yuan(owed)
        words.append(str(_l("the unit owes %(amount)s yuan", amount=yuan(owed))))
    kept = sorted(n for n in live if n not in returned)
    if kept:
        unmet["cards"] = kept
        words.append(str(_l("cards not returned: %(numbers)s", numbers=", ".join(kept))))
    if not data["readings"]:
        unmet["readings"] = "missing"
        words.append(str(_l("no final meter reading")))
    if not data["keys_returned"]:
        unmet["keys"] = "not_returned"
        words.append(str(_l("keys not returned")))
    if unmet:
        raise Conflict(_l("Not cleared yet: %(items)s.", items="; ".join(words)), fields=unmet)
    on = move.move_on
    custody.return_cards(unit, returned, on, actor=actor)
    custody.record_readings(
        unit,
        data["readings"],
        on,
        actor=actor,
        purpose="final",
        source_kind="move_out",
        source_id=move.id,
    )
    ended = []
    for residency in current_residencies(unit.id, on, open_ended=True):
        end_one_residency(residency, on, actor=actor)
        ended.append(residency.id)
    if unit.occupancy != move.occupancy:
        try:
            change_occupancy(unit, move.occupancy, on, actor=actor)
        except ServiceError as exc:
            raise type(exc)(
                exc.message, fields={"on": str(exc.message)}, status=exc.status
            ) from None
    data["ended"] = ended
    move.clearance = {
        "readings": data["readings"],
        "cards_returned": returned,
        "keys_returned": data["keys_returned"],
        "ended": ended,
    }
    move.completed_at = clock.now()


def issue_goods_pass(move: MoveOut, *, items, day: date | None = None, actor):
    """A goods release pass (物品放行条) for the furniture leaving with the move-out, valid
    through the move's day (or another day), linked to the ticket."""
    from portal.blueprints.passes.services import issue_pass

    if not move.is_open:
        raise Conflict(_l("This move-out is closed."), fields={"status": move.status})
    day = day or move.move_on
    tz = ZoneInfo(_estate(move).timezone)
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
