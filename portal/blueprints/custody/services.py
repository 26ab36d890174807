"""Cards, meter readings and keys in custody: the only code that creates or changes them.

The move-in and move-out line (blueprints/moves) calls these at a hand-over and at a
move-out's completion; the desk calls them from the unit page and the key register. Every
change is audited on the unit. Bad input is a 400 naming the field (`InvalidInput`), an
action the record's state does not allow a 409 (`Conflict`); nothing is stored either way.
"""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, select
from sqlalchemy.exc import IntegrityError

from portal.blueprints.custody.models import (
    Card,
    CardKind,
    CardStatus,
    KeyAction,
    KeyMovement,
    KeySet,
    KeyStatus,
    Meter,
    MeterReading,
    ReadingPurpose,
)
from portal.core import audit, clock
from portal.core.access import visible
from portal.core.errors import Conflict
from portal.core.places import Estate, Unit
from portal.core.residents import check_date, normalize_phone
from portal.core.workflow import InvalidInput
from portal.extensions import db

CARD_NUMBER_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
MAX_CARDS = 20  # cards in one issue or return
MAX_KEYS = 99  # keys in one set
# The largest reading a meter shows (ten digits before the point is more than any has).
MAX_READING = Decimal("9999999999.99")
MAX_LOAN = timedelta(days=366)
# A fee item an estate may create to charge for a replacement card (补卡费).
CARD_FEE_ITEM = "card_replacement"
PHOTO_PURPOSE = "meter"


# --- Small checks ------------------------------------------------------------------------


def _get(obj, name, default=None):
    """A field of a dict or of an object (a pydantic model the workflow hands on)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _day(on, field: str, *, future: bool = True) -> date:
    if isinstance(on, datetime) or not isinstance(on, date):
        raise InvalidInput(_l("Enter a date."), fields={field: str(_l("Enter a date."))})
    try:
        return check_date(on, field, future=future)
    except Exception as exc:  # a ServiceError: keep its message, say the field in words
        message = getattr(exc, "message", str(exc))
        raise InvalidInput(message, fields={field: str(message)}) from None


def _text(raw, field: str, *, limit: int, required: bool = True) -> str | None:
    text = " ".join(str(raw or "").split())
    if "\x00" in text:
        message = _l("The request holds a character that cannot be stored (such as a NUL byte).")
        raise InvalidInput(message, fields={field: str(message)})
    if not text:
        if required:
            message = _l("This field is required.")
            raise InvalidInput(message, fields={field: str(message)})
        return None
    if len(text) > limit:
        message = _l("At most %(n)d characters.", n=limit)
        raise InvalidInput(message, fields={field: str(message)})
    return text


def card_number(raw) -> str | None:
    """A card number as stored (upper case, no spaces), or None when it is no card number."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    number = re.sub(r"\s", "", str(raw)).upper()
    return number if CARD_NUMBER_RE.match(number) else None


def _bad_cards(message, numbers) -> InvalidInput:
    return InvalidInput(message, fields={"cards": [str(n) for n in numbers]})


def _lock_unit_cards(unit_id: int) -> None:
    """Hold the unit's row while its cards change, so two desks never cross."""
    db.session.execute(select(Unit.id).where(Unit.id == unit_id).with_for_update())


# --- Cards -------------------------------------------------------------------------------


def issue_cards(unit, cards, on, *, actor, source_kind=None, source_id=None) -> list[Card]:
    """Issue access and parking cards to a unit from `on`. `cards` is [{number, kind}]. A
    number live in the estate (on this unit or another) → 409 naming every such number."""
    on = _day(on, "on")
    cards = list(cards or [])
    if len(cards) > MAX_CARDS:
        raise _bad_cards(_l("At most %(n)d cards at a time.", n=MAX_CARDS), [])
    wanted: list[tuple[str, CardKind]] = []
    bad = []
    for entry in cards:
        number = card_number(_get(entry, "number"))
        try:
            kind = CardKind(_get(entry, "kind") or CardKind.access)
        except ValueError:
            kind = None
        if number is None or kind is None:
            bad.append(str(_get(entry, "number") or "")[:40])
            continue
        wanted.append((number, kind))
    if bad:
        raise _bad_cards(
            _l(
                "A card number is letters, digits and dashes (at most 40), and its kind is"
                " an access or a parking card: %(numbers)s",
                numbers=", ".join(bad) or "-",
            ),
            bad,
        )
    numbers = [n for n, _ in wanted]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        raise _bad_cards(
            _l("The same card number is given twice: %(numbers)s", numbers=", ".join(twice)),
            twice,
        )
    if not wanted:
        return []
    _lock_unit_cards(unit.id)
    _refuse_live(unit.estate_id, numbers)
    made = [
        Card(
            estate_id=unit.estate_id,
            unit_id=unit.id,
            number=number,
            kind=kind.value,
            status=CardStatus.issued.value,
            issued_on=on,
            source_kind=_text(source_kind, "source_kind", limit=30, required=False),
            source_id=source_id,
            issued_by_id=actor.id if actor is not None else None,
            created_at=clock.now(),
        )
        for number, kind in wanted
    ]
    try:
        with db.session.begin_nested():
            db.session.add_all(made)
            db.session.flush()
    except IntegrityError:
        # Another desk issued one of these numbers between our check and our insert.
        _refuse_live(unit.estate_id, numbers)
        raise
    audit.record(
        "card.issue",
        unit,
        actor=actor,
        after={"cards": [{"number": c.number, "kind": c.kind} for c in made], "on": on},
    )
    return made


def _refuse_live(estate_id: int, numbers) -> None:
    taken = sorted(
        db.session.scalars(
            select(Card.number).where(
                Card.estate_id == estate_id,
                Card.status == CardStatus.issued,
                Card.number.in_(list(numbers)),
            )
        )
    )
    if taken:
        raise Conflict(
            _l(
                "These card numbers are already issued in this estate: %(numbers)s",
                numbers=", ".join(taken),
            ),
            fields={"cards": taken},
        )


def return_cards(unit, numbers, on, *, actor) -> list[Card]:
    """Cards handed back at the desk (or at a move-out) on `on`; every number must be a
    card issued to this unit and live, else 400 naming the others."""
    on = _day(on, "on")
    raw = list(numbers or [])
    if len(raw) > MAX_CARDS * 5:
        raise _bad_cards(_l("At most %(n)d cards at a time.", n=MAX_CARDS * 5), [])
    wanted = []
    for value in raw:
        number = card_number(value)
        if number is None:
            raise _bad_cards(
                _l("%(number)s is not a card issued to this unit.", number=str(value)[:40]),
                [str(value)[:40]],
            )
        if number not in wanted:
            wanted.append(number)
    if not wanted:
        return []
    _lock_unit_cards(unit.id)
    live = {
        c.number: c
        for c in db.session.scalars(
            select(Card).where(
                Card.unit_id == unit.id,
                Card.status == CardStatus.issued,
                Card.number.in_(wanted),
            )
        )
    }
    missing = [n for n in wanted if n not in live]
    if missing:
        raise _bad_cards(
            _l(
                "Not cards issued to this unit (or already returned or lost): %(numbers)s",
                numbers=", ".join(missing),
            ),
            missing,
        )
    early = [n for n in wanted if live[n].issued_on > on]
    if early:
        message = _l("A card cannot be returned before the day it was issued.")
        raise InvalidInput(message, fields={"on": str(message)})
    for number in wanted:
        card = live[number]
        card.status = CardStatus.returned.value
        card.returned_on = on
    db.session.flush()
    audit.record("card.return", unit, actor=actor, after={"cards": wanted, "on": on})
    return [live[n] for n in wanted]


def _locked_card(card: Card) -> Card:
    """Hold the card's row until the transaction ends, and read its state afresh."""
    db.session.execute(select(Card.id).where(Card.id == card.id).with_for_update())
    db.session.expire(card, ["status", "returned_on", "lost_on", "replaced_by_id"])
    return card


def report_lost(card: Card, on, *, actor) -> Card:
    """A card its holder has lost: no longer live (the gate should block it); 409 unless
    it is issued."""
    on = _day(on, "on", future=False)
    card = _locked_card(card)
    if card.status != CardStatus.issued:
        raise Conflict(
            _l("Card %(number)s is not issued (it is %(status)s).", **_card_words(card)),
            fields={"cards": [card.number]},
        )
    if on < card.issued_on:
        message = _l("A card cannot be lost before the day it was issued.")
        raise InvalidInput(message, fields={"on": str(message)})
    card.status = CardStatus.lost.value
    card.lost_on = on
    db.session.flush()
    audit.record(
        "card.lost", card.unit, actor=actor, after={"card": card.number, "kind": card.kind}
    )
    return card


def replace_card(card: Card, new_number, on, *, actor, charge=False) -> Card:
    """A new card of the same kind for a lost one (a live card is reported lost first).
    With `charge`, the unit is billed the estate's card replacement fee, when the estate
    has that fee item (`card_replacement`) with a rate; otherwise nothing is billed."""
    on = _day(on, "on", future=False)
    card = _locked_card(card)
    if card.status == CardStatus.returned or card.replaced_by_id is not None:
        raise Conflict(
            _l(
                "Card %(number)s cannot be replaced: it was returned or replaced.",
                number=card.number,
            ),
            fields={"cards": [card.number]},
        )
    if card.status == CardStatus.issued:
        card = report_lost(card, on, actor=actor)
    unit = card.unit
    (new,) = issue_cards(
        unit,
        [{"number": new_number, "kind": card.kind}],
        on,
        actor=actor,
        source_kind="replacement",
        source_id=card.id,
    )
    card.replaced_by_id = new.id
    db.session.flush()
    new.bill = _bill_replacement(unit, new, on, actor=actor) if charge else None
    audit.record(
        "card.replace",
        unit,
        actor=actor,
        after={
            "card": card.number,
            "new_card": new.number,
            "billed_fen": new.bill.amount_fen if new.bill is not None else None,
        },
    )
    return new


def _bill_replacement(unit, card: Card, on: date, *, actor):
    """The replacement fee as a one-off bill (once per new card), or None without a fee."""
    from portal.blueprints.fees import ledger
    from portal.blueprints.fees.rules import Rates, item_by_code

    item = item_by_code(unit.estate_id, CARD_FEE_ITEM)
    if item is None or not item.active:
        return None
    rate = Rates([item.id], on).rate(item.id, unit.occupancy)
    if not rate:
        return None
    return ledger.issue_bill(
        unit,
        item,
        amount_fen=rate,
        due_on=on,
        source="card",
        source_key=f"card:{card.id}",
        actor=actor,
        note=str(_l("Replacement card %(number)s", number=card.number)),
    )


def _card_words(card: Card) -> dict:
    return {"number": card.number, "status": str(card.status_enum.label)}


def live_cards(unit_id: int) -> list[Card]:
    """The unit's cards that are issued now, by number."""
    return list(
        db.session.scalars(
            select(Card)
            .where(Card.unit_id == unit_id, Card.status == CardStatus.issued)
            .order_by(Card.kind, Card.number)
        )
    )


def cards_of(unit_id: int) -> list[Card]:
    """Every card the unit was ever issued: the live ones first, then the newest."""
    live_first = Card.status != CardStatus.issued  # False sorts first
    return list(
        db.session.scalars(
            select(Card)
            .where(Card.unit_id == unit_id)
            .order_by(live_first, Card.issued_on.desc(), Card.id.desc())
        )
    )


def find_card(unit_id: int, number) -> Card | None:
    """The unit's card with this number: the live one, else the latest."""
    number = card_number(number)
    if number is None:
        return None
    return db.session.scalar(
        select(Card)
        .where(Card.unit_id == unit_id, Card.number == number)
        .order_by(Card.status != CardStatus.issued, Card.id.desc())
        .limit(1)
    )


# --- Meter readings ------------------------------------------------------------------------


def reading_value(raw, field: str = "value") -> Decimal:
    """A meter's figure: a number from 0, with at most two decimals."""
    message = _l("Enter the meter's figure: a number from 0, at most two decimals.")
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(message, fields={field: str(message)})
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(message, fields={field: str(message)}) from None
    if not value.is_finite() or value < 0 or value > MAX_READING:
        raise InvalidInput(message, fields={field: str(message)})
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(message, fields={field: str(message)})
    return value.quantize(Decimal("0.01"))


def record_readings(
    unit, readings, on, *, actor, purpose, source_kind=None, source_id=None
) -> list[MeterReading]:
    """Readings of the unit's meters on `on`: [{meter, value, photo?}] (a photo is an
    uploaded image). A final or routine reading lower than the meter's last one before it
    is refused (400) — a meter does not run backwards; a first reading starts afresh (a
    new meter at a hand-over)."""
    from portal.core import uploads

    on = _day(on, "on")
    try:
        purpose = ReadingPurpose(purpose)
    except ValueError:
        message = _l("Choose one of the options offered.")
        raise InvalidInput(message, fields={"purpose": str(message)}) from None
    readings = list(readings or [])
    parsed: list[tuple[Meter, Decimal, object]] = []
    for entry in readings:
        try:
            meter = Meter(_get(entry, "meter"))
        except ValueError:
            message = _l("A meter is water, electricity or gas.")
            raise InvalidInput(message, fields={"readings": str(message)}) from None
        if any(m == meter for m, _, _ in parsed):
            message = _l("The %(meter)s meter is given twice.", meter=meter.label)
            raise InvalidInput(message, fields={f"readings.{meter.value}": str(message)})
        value = reading_value(_get(entry, "value"), f"readings.{meter.value}")
        parsed.append((meter, value, _get(entry, "photo")))
    if not parsed:
        return []
    photos = {}
    for meter, _, photo in parsed:
        if photo is not None and getattr(photo, "filename", ""):
            photos[meter] = uploads.check_images([photo], limit=1, field=f"photo.{meter.value}")
    if purpose != ReadingPurpose.first:
        last = last_readings(unit.id, [m for m, _, _ in parsed], before=on)
        for meter, value, _ in parsed:
            previous = last.get(meter.value)
            if previous is not None and value < previous.value:
                message = _l(
                    "The %(meter)s meter read %(last)s on %(day)s; a later reading cannot be"
                    " lower.",
                    meter=meter.label,
                    last=previous.value,
                    day=previous.read_on.isoformat(),
                )
                raise InvalidInput(message, fields={f"readings.{meter.value}": str(message)})
    made = [
        MeterReading(
            estate_id=unit.estate_id,
            unit_id=unit.id,
            meter=meter.value,
            value=value,
            read_on=on,
            purpose=purpose.value,
            source_kind=_text(source_kind, "source_kind", limit=30, required=False),
            source_id=source_id,
            recorded_by_id=actor.id if actor is not None else None,
            created_at=clock.now(),
        )
        for meter, value, _ in parsed
    ]
    db.session.add_all(made)
    db.session.flush()
    for reading in made:
        if Meter(reading.meter) in photos:
            uploads.store(
                photos[Meter(reading.meter)], entity=reading, purpose=PHOTO_PURPOSE, actor=actor
            )
    audit.record(
        "meter.read",
        unit,
        actor=actor,
        after={
            "purpose": purpose.value,
            "on": on,
            "readings": {r.meter: str(r.value) for r in made},
        },
    )
    return made


def _latest_per_meter(unit_ids, *, before: date | None = None, meters=None):
    ranked = select(
        MeterReading.id,
        func.row_number()
        .over(
            partition_by=(MeterReading.unit_id, MeterReading.meter),
            order_by=(MeterReading.read_on.desc(), MeterReading.id.desc()),
        )
        .label("rank"),
    ).where(MeterReading.unit_id.in_(list(unit_ids)))
    if before is not None:
        ranked = ranked.where(MeterReading.read_on <= before)
    if meters:
        ranked = ranked.where(MeterReading.meter.in_([Meter(m).value for m in meters]))
    ranked = ranked.subquery()
    return select(MeterReading).where(
        MeterReading.id.in_(select(ranked.c.id).where(ranked.c.rank == 1))
    )


def last_readings(unit_id: int, meters=None, *, before: date | None = None) -> dict:
    """The latest reading of each of the unit's meters (on or before `before`), by meter."""
    rows = db.session.scalars(_latest_per_meter([unit_id], before=before, meters=meters))
    return {r.meter: r for r in rows}


def readings_of(unit_id: int, limit: int = 50) -> list[MeterReading]:
    """The unit's readings, newest first."""
    return list(
        db.session.scalars(
            select(MeterReading)
            .where(MeterReading.unit_id == unit_id)
            .order_by(MeterReading.read_on.desc(), MeterReading.id.desc())
            .limit(limit)
        )
    )


# --- Keys in custody -----------------------------------------------------------------------


def take_keys(unit, *, count, label, actor, on=None, note=None, name=None, phone=None) -> KeySet:
    """The centre takes a set of the unit's keys into custody (a custody slip records who
    left them: `name`, `phone`)."""
    if isinstance(count, bool):
        count = None
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= MAX_KEYS:
        message = _l("Enter how many keys: from 1 to %(n)d.", n=MAX_KEYS)
        raise InvalidInput(message, fields={"count": str(message)})
    label = _text(label, "label", limit=100)
    note = _text(note, "note", limit=500, required=False)
    name = _text(name, "name", limit=100, required=False)
    if phone:
        try:
            phone = normalize_phone(phone)
        except Exception as exc:
            raise InvalidInput(exc.message, fields={"phone": str(exc.message)}) from None
    on = _day(on or clock.local_today(), "on", future=False)
    keyset = KeySet(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        label=label,
        count=count,
        status=KeyStatus.held.value,
        held_since=on,
        note=note,
        left_by_name=name,
        left_by_phone=phone or None,
        created_by_id=actor.id if actor is not None else None,
        created_at=clock.now(),
    )
    db.session.add(keyset)
    db.session.flush()
    _move(keyset, KeyAction.taken_in, actor, person_name=name, person_phone=phone or None)
    audit.record(
        "keys.take",
        unit,
        actor=actor,
        after={"key_set": keyset.id, "label": label, "count": count, "left_by": name},
    )
    return keyset


def _move(keyset: KeySet, action: KeyAction, actor, **values) -> KeyMovement:
    movement = KeyMovement(
        key_set_id=keyset.id,
        action=action.value,
        at=clock.now(),
        actor_id=actor.id if actor is not None else None,
        **values,
    )
    db.session.add(movement)
    db.session.flush()
    return movement


def _locked_keys(keyset: KeySet, *allowed: KeyStatus) -> KeySet:
    db.session.execute(select(KeySet.id).where(KeySet.id == keyset.id).with_for_update())
    db.session.expire(keyset, ["status", "lent_to", "due_back_at"])
    if keyset.status not in allowed:
        raise Conflict(
            _l(
                "These keys are %(status)s; that cannot be done now.",
                status=keyset.status_enum.label,
            ),
            fields={"status": keyset.status},
        )
    return keyset


def _due_back(value, estate_id: int) -> datetime:
    """When lent keys are due back: a datetime with its offset, or a day (its evening in
    the estate's time zone); after now and within a year."""
    message = _l("Say when the keys are due back: after now and within a year.")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(message, fields={"due_back_at": str(message)})
        moment = value
    elif isinstance(value, date):
        zone = db.session.scalar(select(Estate.timezone).where(Estate.id == estate_id))
        moment = datetime.combine(value, time(18, 0), ZoneInfo(zone or "Asia/Shanghai"))
    else:
        raise InvalidInput(message, fields={"due_back_at": str(message)})
    now = clock.now()
    if not now < moment <= now + MAX_LOAN:
        raise InvalidInput(message, fields={"due_back_at": str(message)})
    return moment


def lend_keys(keyset: KeySet, *, name, phone, reason, due_back_at, actor, user_id=None):
    """Lend held keys to somebody (a decorator, an agent, a relative) for a reason, due
    back at a time; 409 unless the keys are in the centre's hands."""
    name = _text(name, "name", limit=100)
    try:
        phone = normalize_phone(phone)
    except Exception as exc:
        raise InvalidInput(exc.message, fields={"phone": str(exc.message)}) from None
    reason = _text(reason, "reason", limit=500)
    due = _due_back(due_back_at, keyset.estate_id)
    keyset = _locked_keys(keyset, KeyStatus.held)
    keyset.status = KeyStatus.lent.value
    keyset.lent_to = name
    keyset.due_back_at = due
    movement = _move(
        keyset,
        KeyAction.lent,
        actor,
        person_name=name,
        person_phone=phone,
        person_user_id=user_id,
        reason=reason,
        due_back_at=due,
    )
    audit.record(
        "keys.lend",
        keyset.unit,
        actor=actor,
        after={"key_set": keyset.id, "to": name, "phone": phone, "reason": reason, "due": due},
    )
    return movement


def take_back_keys(keyset: KeySet, *, actor) -> KeyMovement:
    """Lent keys brought back to the centre; 409 unless they are lent."""
    keyset = _locked_keys(keyset, KeyStatus.lent)
    now = clock.now()
    loan = db.session.scalar(
        select(KeyMovement)
        .where(
            KeyMovement.key_set_id == keyset.id,
            KeyMovement.action == KeyAction.lent,
            KeyMovement.back_at.is_(None),
        )
        .order_by(KeyMovement.id.desc())
        .limit(1)
    )
    if loan is not None:
        loan.back_at = now
    late = keyset.due_back_at is not None and keyset.due_back_at < now
    movement = _move(
        keyset,
        KeyAction.returned,
        actor,
        person_name=loan.person_name if loan else keyset.lent_to,
        person_phone=loan.person_phone if loan else None,
    )
    keyset.status = KeyStatus.held.value
    keyset.lent_to = None
    keyset.due_back_at = None
    db.session.flush()
    audit.record(
        "keys.return", keyset.unit, actor=actor, after={"key_set": keyset.id, "late": late}
    )
    return movement


def hand_over_keys(keyset: KeySet, *, name, actor, phone=None, user_id=None) -> KeyMovement:
    """The keys given to the owner (at a move-in's hand-over): custody ends; 409 unless
    the keys are in the centre's hands."""
    name = _text(name, "name", limit=100)
    if phone:
        try:
            phone = normalize_phone(phone)
        except Exception as exc:
            raise InvalidInput(exc.message, fields={"phone": str(exc.message)}) from None
    keyset = _locked_keys(keyset, KeyStatus.held)
    keyset.status = KeyStatus.handed_over.value
    movement = _move(
        keyset,
        KeyAction.handed_over,
        actor,
        person_name=name,
        person_phone=phone or None,
        person_user_id=user_id,
    )
    audit.record(
        "keys.hand_over", keyset.unit, actor=actor, after={"key_set": keyset.id, "to": name}
    )
    return movement


def held_key_sets(unit_id: int) -> list[KeySet]:
    """The unit's key sets still in custody (held or lent)."""
    return list(
        db.session.scalars(
            select(KeySet)
            .where(KeySet.unit_id == unit_id, KeySet.status != KeyStatus.handed_over)
            .order_by(KeySet.id)
        )
    )


def key_sets_of(unit_id: int) -> list[KeySet]:
    """Every key set of the unit, those in custody first, the newest first."""
    return list(
        db.session.scalars(
            select(KeySet)
            .where(KeySet.unit_id == unit_id)
            .order_by(KeySet.status == KeyStatus.handed_over, KeySet.id.desc())
        )
    )


def overdue_keys(actor, estate_id: int | None = None):
    """SELECT of the key sets the actor may see that are lent past their due time, the
    longest overdue first (`estate_id` narrows it to the estate they act for)."""
    stmt = select(KeySet).where(
        KeySet.status == KeyStatus.lent,
        KeySet.due_back_at < clock.now(),
        visible(KeySet, actor) if actor.is_staff else false(),
    )
    if estate_id is not None:
        stmt = stmt.where(KeySet.estate_id == estate_id)
    return stmt.order_by(KeySet.due_back_at, KeySet.id)


def overdue_keys_count(actor, estate_id: int | None = None) -> int:
    """How many key sets are overdue (the desk home's figure)."""
    inner = overdue_keys(actor, estate_id).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(inner)) or 0


def overdue_keys_count_sql(actor, estate_id: int | None = None):
    """The same count as a scalar subquery, for a page that reads all its figures in one
    statement (the desk home's `desk_day`)."""
    inner = overdue_keys(actor, estate_id).order_by(None).subquery()
    return select(func.count()).select_from(inner).scalar_subquery()


def register(actor, estate_id: int | None = None, *, status: str | None = None):
    """SELECT of the key sets in custody the actor may see (held and lent; `status` picks
    one, `handed_over` the finished ones), the overdue first, then by unit."""
    stmt = select(KeySet).where(visible(KeySet, actor) if actor.is_staff else false())
    if estate_id is not None:
        stmt = stmt.where(KeySet.estate_id == estate_id)
    if status in {s.value for s in KeyStatus}:
        stmt = stmt.where(KeySet.status == status)
    else:
        stmt = stmt.where(KeySet.status != KeyStatus.handed_over)
    return stmt.order_by(KeySet.due_back_at.is_(None), KeySet.due_back_at, KeySet.id.desc())


# --- Figures for the reports ---------------------------------------------------------------


def figures(estate_id: int, start: date, end: date) -> dict:
    """The custody figures of an estate for a period (the annual summary's `cards.issued`):
    cards issued in [start, end] (replacements included), by kind; key sets in custody now,
    and how many of them are lent and overdue. One statement."""
    now = clock.now()
    issued = (
        select(func.count(Card.id))
        .where(Card.estate_id == estate_id, Card.issued_on >= start, Card.issued_on <= end)
        .scalar_subquery()
    )

    def issued_of(kind):
        return (
            select(func.count(Card.id))
            .where(
                Card.estate_id == estate_id,
                Card.kind == kind,
                Card.issued_on >= start,
                Card.issued_on <= end,
            )
            .scalar_subquery()
        )

    def key_sets(*where):
        return (
            select(func.count(KeySet.id))
            .where(KeySet.estate_id == estate_id, *where)
            .scalar_subquery()
        )

    row = db.session.execute(
        select(
            issued.label("issued"),
            issued_of(CardKind.access).label("access"),
            issued_of(CardKind.parking).label("parking"),
            key_sets(KeySet.status != KeyStatus.handed_over).label("in_custody"),
            key_sets(KeySet.status == KeyStatus.lent).label("lent"),
            key_sets(KeySet.status == KeyStatus.lent, KeySet.due_back_at < now).label("overdue"),
        )
    ).one()
    return {
        "cards": {"issued": row.issued, "access": row.access, "parking": row.parking},
        "keys": {"in_custody": row.in_custody, "lent": row.lent, "overdue": row.overdue},
    }


# --- The unit page's panel -------------------------------------------------------------------


def unit_panel(unit_id: int) -> dict:
    """What the unit page shows of cards, meters and keys, in three statements whatever the
    history: every card (live first), the latest reading of each meter, the key sets in
    custody."""
    cards = cards_of(unit_id)
    latest = last_readings(unit_id)
    readings = [latest[m.value] for m in Meter if m.value in latest]
    return {
        "cards": cards,
        "live_cards": [c for c in cards if c.is_live],
        "readings": readings,
        "key_sets": held_key_sets(unit_id),
    }
