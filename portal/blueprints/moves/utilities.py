"""Utilities passed through (水电气代收): the final bill a move-out's completion issues.

An estate that passes utilities through names the meters in the setting
`moves.utilities_billed` (none by default: then nothing here runs). Each such meter needs a
one-off fee item of the estate with the meter's code (`water`, `electricity`, `gas`) whose
rate in force on the move's day is the price of one unit (m³, kWh) in fen. At completion:

    use    = final reading − the meter's last reading on or before the move's day
             (the household's first reading, a routine one, or the figure the meter stood at
             when the previous household left: where this household's use began to count)
    amount = use × price, rounded half up to the fen

in integers throughout (readings are hundredths; core/money.share rounds price × hundredths / 100),
billed once per move and meter (source key `move_out:{id}:{meter}`), due on the day it is
billed. The checklist asked for nothing owed before; this bill is the one thing the household
still owes when it leaves, collected at the counter.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import METER_LABELS, Meter, MeterReading
from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import FeeItem
from portal.blueprints.fees.rules import Rates
from portal.blueprints.moves.models import MoveOut
from portal.blueprints.moves.rules import utilities_billed
from portal.core.errors import ServiceError
from portal.core.money import MAX_FEN, share
from portal.core.places import Unit
from portal.core.workflow import InvalidInput
from portal.extensions import db

METER_UNITS = {
    Meter.water: _l("m³"),
    Meter.electricity: _l("kWh"),
    Meter.gas: _l("m³"),
}
# What stops a meter from being billed, in the order they are named.
NO_ITEM, NO_RATE, NO_EARLIER, NO_FINAL = (
    "no_fee_item",
    "no_rate",
    "no_earlier_reading",
    "no_final_reading",
)


def charge_fen(use: Decimal, price_fen: int) -> int:
    """use × price in fen, rounded half up (四舍五入) — exact, since a reading has two
    decimals: 12.35 m³ at 410 fen is 1235 × 410 / 100 = 5063.5 → 5064 fen."""
    return share(price_fen, int(use * 100), 100)  # the hundredths a reading is kept in


@dataclass
class UtilityLine:
    """One billed meter at a move-out: its fee item and price, where its use starts (the
    last earlier reading) and ends (the final reading), and what keeps it from a bill."""

    meter: str
    item: FeeItem | None = None
    price_fen: int | None = None
    start: MeterReading | None = None
    final: Decimal | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def label(self):
        return METER_LABELS[Meter(self.meter)]

    @property
    def use(self) -> Decimal | None:
        """What the household used; None while either figure is missing (or the final one
        is lower, which the readings refuse)."""
        if self.start is None or self.final is None or self.final < self.start.value:
            return None
        return self.final - self.start.value

    @property
    def amount_fen(self) -> int | None:
        if self.use is None or self.price_fen is None:
            return None
        return charge_fen(self.use, self.price_fen)

    def words(self, on: date) -> list[str]:
        """Each problem of the meter, as the desk reads it."""
        said = {
            NO_ITEM: _l(
                "%(meter)s: the estate has no one-off fee item with the code %(code)s to bill it",
                meter=self.label,
                code=self.meter,
            ),
            NO_RATE: _l(
                "%(meter)s: the fee item %(item)s has no rate on %(day)s",
                meter=self.label,
                item=self.item.name if self.item is not None else self.meter,
                day=on.isoformat(),
            ),
            NO_EARLIER: _l(
                "%(meter)s: no earlier reading to bill the use from (record one on the unit's"
                " page)",
                meter=self.label,
            ),
            NO_FINAL: _l("%(meter)s: no final reading (its use is billed)", meter=self.label),
        }
        return [str(said[p]) for p in self.problems]

    def as_json(self, bill_id: int | None = None) -> dict:
        """What the move keeps of the line (its clearance, the event's data, the API)."""
        return {
            "meter": self.meter,
            "item": self.item.code if self.item is not None else None,
            "price_fen": self.price_fen,
            "from": str(self.start.value) if self.start is not None else None,
            "from_on": self.start.read_on.isoformat() if self.start is not None else None,
            "to": str(self.final) if self.final is not None else None,
            "use": str(self.use) if self.use is not None else None,
            "amount_fen": self.amount_fen,
            "bill_id": bill_id,
        }


def _typed(readings) -> dict[str, Decimal]:
    """meter → the figure typed for it ([{meter, value}]); what is blank or not a figure is
    left out (the readings' own check names it)."""
    found = {}
    for entry in readings or []:
        meter, value = entry.get("meter"), entry.get("value")
        if meter not in Meter.__members__ or value in (None, ""):
            continue
        try:
            found[meter] = custody.reading_value(value)
        except ServiceError:
            continue
    return found


def plan(unit: Unit, on: date, readings, *, need_final: bool = False) -> list[UtilityLine]:
    """The billed meters of the unit's estate, each with its item, price on `on` (for the
    unit's occupancy), last earlier reading and the final figure in `readings`, and what is
    missing to bill it (a final reading only with `need_final`). Three statements at most;
    none when the estate bills no meter."""
    meters = utilities_billed(unit.estate_id)
    if not meters:
        return []
    items = {
        i.code: i
        for i in db.session.scalars(
            select(FeeItem).where(FeeItem.estate_id == unit.estate_id, FeeItem.code.in_(meters))
        )
        if i.active and not i.basis_enum.recurring and i.unit_kind in (None, unit.kind)
    }
    rates = Rates([i.id for i in items.values()], on)
    last = custody.last_readings(unit.id, meters, before=on)
    finals = _typed(readings)
    lines = []
    for meter in meters:
        line = UtilityLine(meter, item=items.get(meter), start=last.get(meter))
        line.final = finals.get(meter)
        if line.item is None:
            line.problems.append(NO_ITEM)
        else:
            line.price_fen = rates.rate(line.item.id, unit.occupancy)
            if line.price_fen is None:
                line.problems.append(NO_RATE)
        if line.start is None:
            line.problems.append(NO_EARLIER)
        if need_final and line.final is None:
            line.problems.append(NO_FINAL)
        lines.append(line)
    return lines


def bill_lines(unit: Unit, move: MoveOut, lines, *, due_on: date, actor) -> list[dict]:
    """Bill each meter's use once (nothing for none used or a free price); what was billed,
    per meter. The lines have no problems left (the checklist refused them before)."""
    done = []
    for line in lines:
        amount = line.amount_fen
        if amount is not None and amount >= MAX_FEN:
            message = _l("The amount is too large.")
            raise InvalidInput(message, fields={f"readings.{line.meter}": str(message)})
        bill = None
        if amount:
            bill = ledger.issue_bill(
                unit,
                line.item,
                amount_fen=amount,
                due_on=due_on,
                source="move_out",
                source_key=f"move_out:{move.id}:{line.meter}",
                actor=actor,
                period_start=line.start.read_on,
                period_end=move.move_on,
                note=f"{move.number} {line.start.value}→{line.final}",
            )
        done.append(line.as_json(bill.id if bill is not None else None))
    return done


def preview(move: MoveOut, typed=()) -> dict | None:
    """For the move-out's page: each billed meter with its price, where its use starts and,
    from the readings typed, what will be billed — or, once completed, what was. None when
    the estate bills no meter."""
    if not move.is_open:
        stored = (move.clearance or {}).get("utilities") or []
        rows = [{**r, "problems": []} for r in stored]
    else:
        unit = db.session.get(Unit, move.unit_id)
        lines = plan(unit, move.move_on, typed)
        rows = [{**line.as_json(), "problems": line.words(move.move_on)} for line in lines]
    if not rows:
        return None
    for row in rows:
        row["label"] = METER_LABELS[Meter(row["meter"])]
        row["per"] = METER_UNITS[Meter(row["meter"])]
    amounts = [r["amount_fen"] for r in rows if r["amount_fen"] is not None]
    return {"rows": rows, "total_fen": sum(amounts) if amounts else None}
