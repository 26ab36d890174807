"""What a move's steps do (the effects its workflow transitions run): the inspection opens
repairs; the hand-over makes the people residents, changes the occupancy, issues cards,
records the first readings, hands over kept keys, bills the one-off fees and welcomes the
newcomers; a move-out's completion checks the clearance checklist, then closes it all and
bills the utilities the estate passes through (utilities.py).

They run inside the one workflow action, in the request's one transaction, so a refusal
anywhere stores nothing.
"""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import KeySet, KeyStatus
from portal.blueprints.fees import ledger
from portal.blueprints.moves import utilities
from portal.blueprints.moves.models import DOCUMENT_LABELS, Document, MoveIn, MoveOut
from portal.blueprints.moves.rules import move_in_fee_codes, required_documents
from portal.blueprints.passes import services as passes
from portal.blueprints.repairs.services import submit_repair
from portal.core import clock, settings
from portal.core.errors import Conflict, ServiceError
from portal.core.money import yuan
from portal.core.people import Residency, User, current_residency_clause
from portal.core.places import Estate, Unit
from portal.core.residents import add_resident as add_residency
from portal.core.residents import change_occupancy
from portal.core.residents import end_residency as end_one_residency
from portal.core.workflow import InvalidInput
from portal.extensions import db
from portal.notify.outbox import tell


def check_documents(move: MoveIn, data, actor) -> None:
    """The documents seen; every one the people's relations need must be there (400)."""
    missing = [code for code in required_documents(move) if code not in data["documents"]]
    if missing:
        message = _l(
            "Missing: %(documents)s.",
            documents=", ".join(str(DOCUMENT_LABELS[Document(c)]) for c in missing),
        )
        raise InvalidInput(message, fields={"documents": str(message)})
    move.documents = list(dict.fromkeys(data["documents"]))


def inspect_unit(move: MoveIn, data, actor) -> None:
    """The hand-over inspection (验房): each defect opens a repair on the unit."""
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


def _make_residents(move: MoveIn, unit: Unit, actor) -> list[int]:
    """Each person of the move-in a resident of the unit from its day; their user ids."""
    newcomers = []
    for n, person in enumerate(move.people or []):
        try:
            residency = add_residency(
                unit,
                name=person["name"],
                phone=person["phone"],
                relation=person["relation"],
                start_on=move.move_on,
                actor=actor,
            )
        except ServiceError as exc:
            raise type(exc)(
                _l("%(name)s: %(message)s", name=person["name"], message=exc.message),
                fields={f"people.{n}": next(iter(exc.fields.values()), "invalid")},
                status=exc.status,
            ) from None
        newcomers.append(residency.user_id)
    return newcomers


def hand_over(move: MoveIn, data, actor) -> None:
    """The hand-over: the people become residents and the occupancy changes from the day,
    cards are issued, the meters' first readings recorded, kept keys handed over and the
    one-off move-in fees billed; the welcome notice follows (`welcome`)."""
    _not_before_the_day(move)
    unit = db.session.get(Unit, move.unit_id)
    on = move.move_on
    newcomers = _make_residents(move, unit, actor)
    _occupancy_from_the_day(move, unit, actor)
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
    _hand_over_kept_keys(move, unit, actor)
    data["bills"] = bill_move_in_fees(move, unit, actor)
    move.handover = {k: data[k] for k in ("keys", "cards", "readings", "bills")}
    move.completed_at = clock.now()
    move.newcomer_ids = newcomers


def _occupancy_from_the_day(move, unit: Unit, actor) -> None:
    """The unit's occupancy becomes the move's from its day (unless it is that already)."""
    if unit.occupancy == move.occupancy:
        return
    try:
        change_occupancy(unit, move.occupancy, move.move_on, actor=actor)
    except ServiceError as exc:
        raise type(exc)(exc.message, fields={"on": str(exc.message)}, status=exc.status) from None


def _hand_over_kept_keys(move: MoveIn, unit: Unit, actor) -> None:
    """The keys the centre kept for the unit go to the owner moving in (else the first)."""
    receiver = next((p for p in move.people if p["relation"] == "owner"), move.people[0])
    for keyset in db.session.scalars(
        select(KeySet)
        .where(KeySet.unit_id == unit.id, KeySet.status == KeyStatus.held)
        .order_by(KeySet.id)
    ):
        custody.hand_over_keys(keyset, name=receiver["name"], phone=receiver["phone"], actor=actor)


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
    stmt = (
        select(Residency)
        .where(Residency.unit_id == unit_id, current_residency_clause(on))
        .options(joinedload(Residency.user).lazyload(User.staff_roles))
    )
    if open_ended:
        stmt = stmt.where(Residency.end_on.is_(None))
    return list(db.session.scalars(stmt.order_by(Residency.id)))


def _check_clearance(unit: Unit, data, on: date, utility_lines=()) -> list[str]:
    """The cards handed back (each a live card of the unit, else 400); 409 naming every
    unmet item: what the unit owes, cards neither back nor lost, readings, keys, and what
    keeps a billed meter from its bill (its fee item, rate, earlier or final reading)."""
    live = {c.number for c in custody.live_cards(unit.id)}
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
    stuck = [line for line in utility_lines if line.problems]
    if stuck:
        unmet["utilities"] = {line.meter: line.problems for line in stuck}
        words += [w for line in stuck for w in line.words(on)]
    if unmet:
        raise Conflict(_l("Not cleared yet: %(items)s.", items="; ".join(words)), fields=unmet)
    return returned


def complete_move_out(move: MoveOut, data, actor) -> None:
    """Close a move-out: 409 naming each unmet item of the checklist (arrears, cards not
    returned nor lost, no final reading, keys not back, a billed meter that cannot be
    billed); else the residencies end on the day, the occupancy changes, the cards are
    returned, the final readings recorded and the use of each billed meter billed, due
    today (the household pays it at the counter)."""
    _not_before_the_day(move)
    unit = db.session.get(Unit, move.unit_id)
    on = move.move_on
    # Priced before anything changes: the last earlier readings, the unit's occupancy.
    lines = utilities.plan(unit, on, data["readings"], need_final=bool(data["readings"]))
    returned = _check_clearance(unit, data, on, lines)
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
    today = clock.local_today(_estate(move).timezone)
    data["utilities"] = utilities.bill_lines(unit, move, lines, due_on=today, actor=actor)
    ended = []
    for residency in current_residencies(unit.id, on, open_ended=True):
        end_one_residency(residency, on, actor=actor)
        ended.append(residency.id)
    _occupancy_from_the_day(move, unit, actor)
    # The household's passes end with its stay; the move-out's own goods pass still lets
    # the furniture out.
    data["passes_revoked"] = passes.revoke_unit_passes(
        unit.id,
        actor=actor,
        reason=str(_l("The household has moved out.")),
        keep=("move_out", move.id),
    )
    data["ended"] = ended
    move.clearance = {
        "readings": data["readings"],
        "cards_returned": returned,
        "keys_returned": data["keys_returned"],
        "ended": ended,
        **({"utilities": data["utilities"]} if data["utilities"] else {}),
    }
    move.completed_at = clock.now()
