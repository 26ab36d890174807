"""Paying a full year in advance (domain.md §6): when a unit's billed months run out within
the window, paying the next twelve months at once makes the last ones free. Each free
month is a bill whose whole value is the recorded discount, so the reports show it."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import clock, settings
from portal.core.errors import Conflict
from portal.extensions import db

from . import ledger
from .billing import _source_key
from .models import Bill, FeeItem
from .pricing import month_charge
from .rules import (
    NOT_BILLED,
    PREPAY_FREE_MONTHS,
    PREPAY_WINDOW_MONTHS,
    VACANT_PAY_PERCENT,
    Rates,
    vacant_occupancies,
)

MONTHS = 12


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Month:
    item: FeeItem
    start: date
    end: date
    gross_fen: int
    amount_fen: int
    discount_fen: int
    rule: str | None
    note: str | None


@dataclass
class Offer:
    first_month: date
    months: list[Month]
    free_months: int

    @property
    def total_fen(self) -> int:
        return sum(m.amount_fen for m in self.months)

    @property
    def discount_fen(self) -> int:
        return sum(m.discount_fen for m in self.months)


def offer(unit, today: date | None = None) -> Offer | None:
    """The advance-payment offer for a unit, or None when it does not apply now."""
    today = today or clock.local_today()
    free = settings.get(PREPAY_FREE_MONTHS.key, unit.estate_id)
    window = settings.get(PREPAY_WINDOW_MONTHS.key, unit.estate_id)
    if not free or unit.occupancy in NOT_BILLED:
        return None
    items = db.session.scalars(
        select(FeeItem).where(
            FeeItem.estate_id == unit.estate_id,
            FeeItem.active.is_(True),
            FeeItem.basis.in_(["per_m2_month", "fixed_month"]),
            (FeeItem.unit_kind == unit.kind) | FeeItem.unit_kind.is_(None),
        )
    ).all()
    if not items or ledger.balance(unit.id).owed_fen > 0:
        return None
    last_end = db.session.scalar(
        select(func.max(Bill.period_end)).where(
            Bill.unit_id == unit.id,
            Bill.fee_item_id.in_([i.id for i in items]),
            ledger.not_reversed(),
        )
    )
    this_month = today.replace(day=1)
    if last_end is None or last_end < this_month:
        first = this_month
    else:
        if last_end > add_months(today, window):
            return None  # paid up beyond the window: the offer opens later
        first = last_end + timedelta(days=1)
    rates = Rates([i.id for i in items], first)
    pay_percent = settings.get(VACANT_PAY_PERCENT.key, unit.estate_id)
    vacant = vacant_occupancies(unit.estate_id)
    area = int(unit.area_m2 * 100)
    months = []
    for n in range(MONTHS):
        start = add_months(first, n)
        end = add_months(start, 1) - timedelta(days=1)
        days = (end - start).days + 1
        for item in items:
            # The same charge a billing run makes for a whole month in this category.
            gross, amount, _vacant_days = month_charge(
                item,
                area,
                lambda occupancy, item=item: rates.rate(item.id, occupancy),
                pay_percent,
                vacant,
                [(unit.occupancy, days)],
                days,
            )
            if gross <= 0:
                continue
            rule = note = None
            if n >= MONTHS - free:
                amount, rule, note = 0, "prepay_year", f"预交一年赠送 {free} 个月"
            elif amount < gross:
                rule, note = "vacant", f"未入住按 {pay_percent}% 收取"
            months.append(Month(item, start, end, gross, amount, gross - amount, rule, note))
    if not months or all(m.amount_fen == 0 for m in months):
        return None
    return Offer(first_month=first, months=months, free_months=free)


def take(unit, *, method: str, actor, idempotency_key: str | None = None, payer_name=None):
    """Bill the offer's twelve months and take their payment in one transaction."""
    ledger.lock_unit(unit.id)
    current = offer(unit)
    if current is None:
        raise Conflict(_l("The advance-payment offer does not apply to this unit now."))
    for month in current.months:
        ledger.issue_bill(
            unit,
            month.item,
            amount_fen=month.amount_fen,
            discount_fen=month.discount_fen,
            discount_rule=month.rule,
            discount_note=month.note,
            period_start=month.start,
            period_end=month.end,
            due_on=month.start,
            source="prepay",
            source_key=_source_key(month.start.strftime("%Y-%m"), month.item),
            actor=actor,
            allocate_now=False,
        )
    payment, _ = ledger.record_payment(
        unit,
        current.total_fen,
        method,
        actor=actor,
        source="counter",
        idempotency_key=idempotency_key,
        payer_name=payer_name,
        reference=_l("Advance payment for a year").__str__()[:100],
    )
    return current, payment
