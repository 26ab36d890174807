"""A late occupancy change re-prices the months billing runs already billed (issue 14).

Staff may record a change of a unit's category with a date in a month a run has billed
(the unit turned vacant on 16 November; the desk hears of it in December). Each run bill
of a recurring item whose period ends on or after that date is priced again from the
unit's occupancy history, exactly as the run prices it; when the amount differs, the bill
is withdrawn (what was paid on it becomes credit again), a new bill is issued for the same
period, and the unit's credit pays its open bills again. All of it happens in the
transaction of the occupancy change; the same change again finds nothing to do.
"""

from datetime import date

from sqlalchemy import func, select

from portal.core import settings
from portal.core.units import OCCUPANCY_CHANGED
from portal.extensions import db

from .billing import occupancy_history
from .ledger import allocate, issue_bill, not_reversed, reverse_bill
from .models import Basis, Bill, FeeItem
from .pricing import price_unit_month
from .rules import VACANT_PAY_PERCENT, Rates, vacant_occupancies

RECURRING = [b.value for b in Basis if b.recurring]


def billed_months(unit_id: int, effective_on: date) -> list[Bill]:
    """The unit's live run bills of recurring items whose period ends on or after the date."""
    return db.session.scalars(
        select(Bill)
        .join(FeeItem, FeeItem.id == Bill.fee_item_id)
        .where(
            Bill.unit_id == unit_id,
            Bill.source == "run",
            Bill.run_id.is_not(None),
            Bill.period_start.is_not(None),
            Bill.period_end >= effective_on,
            FeeItem.basis.in_(RECURRING),
            not_reversed(),
        )
        .order_by(Bill.period_start, Bill.id)
    ).all()


def reprice(unit, effective_on: date, actor) -> list[Bill]:
    """Price the unit's run bills from `effective_on` on again; returns the new bills."""
    bills = billed_months(unit.id, effective_on)
    if not bills:
        return []
    pay_percent = settings.get(VACANT_PAY_PERCENT.key, unit.estate_id)
    vacant = vacant_occupancies(unit.estate_id)
    history = occupancy_history([unit.id], max(b.period_end for b in bills))
    changed, issued = False, []
    for bill in bills:
        item = db.session.get(FeeItem, bill.fee_item_id)
        entries = [e for e in history.get(unit.id, []) if e[1] <= bill.period_end]
        charge = price_unit_month(
            item,
            unit,
            entries,
            Rates([item.id], bill.period_start),
            pay_percent,
            vacant,
            bill.period_start,
            bill.period_end,
        )
        if charge is not None and (
            charge["amount_fen"] + charge["discount_fen"],
            charge["amount_fen"],
        ) == (bill.gross_fen, bill.amount_fen):
            continue
        changed = True
        reason = f"入住状态自 {effective_on.isoformat()} 起变更，按新状态重新计费"
        reverse_bill(bill, reason=reason, actor=actor)
        if charge is not None:
            issued.append(_reissue(unit, item, bill, charge, actor))
    if changed:
        allocate(unit.id)
    return issued


def _reissue(unit, item, old: Bill, charge: dict, actor) -> Bill:
    """The bill for the old bill's period at the new price, under a key of its own (a unit
    has one bill per key; the withdrawn bill keeps the run's key, so a second run of the
    month still finds the month billed). The withdrawal is audited (bill.reverse, with its
    reason); the new bill names its maker and the bill it replaces."""
    base = old.source_key.partition("#")[0]
    earlier = db.session.scalar(
        select(func.count(Bill.id)).where(
            Bill.unit_id == unit.id, Bill.source_key.startswith(base + "#", autoescape=True)
        )
    )
    return issue_bill(
        unit,
        item,
        **charge,
        period_start=old.period_start,
        period_end=old.period_end,
        due_on=old.due_on,
        source="run",
        source_key=f"{base}#{earlier + 1}",
        run_id=old.run_id,
        note=f"重新计费，替代账单 {old.id}",
        actor=actor,
        allocate_now=False,
    )


def reprice_after_occupancy_change(unit, effective_on: date, actor) -> None:
    """The OCCUPANCY_CHANGED hook. A withdrawal names who made it: a change recorded by no
    one (a script's) re-prices nothing."""
    if actor is not None:
        reprice(unit, effective_on, actor)


if reprice_after_occupancy_change not in OCCUPANCY_CHANGED:
    OCCUPANCY_CHANGED.append(reprice_after_occupancy_change)
