"""What a month of a recurring fee item costs a unit — once in Python, once in SQL.

A billing run prices units whose category held the whole month with one INSERT … SELECT
(`month_charge_sql`) and units whose category changed day by day (`month_charge`). Both
follow the same rules, which a property test proves equal:
- per m² items: area (hundredths of m²) × rate (fen per m²), rounded half up to the fen;
  fixed items: the rate;
- a stretch of d days of a D-day month costs that × d / D, rounded half up, with days
  counted from the first stretch so that stretches add up to what the whole time costs at
  one price: days a to b cost round(M × b / D) − round(M × (a − 1) / D) (a unit
  that turns vacant on the 16th of a 30-day month pays exactly one month gross, half of it
  at the vacant share, never a fen more from rounding each half up);
- vacant categories pay `pay_percent` % of it, rounded half up; the rest is the discount;
- categories in NOT_BILLED and categories without a rate (or rate 0) cost nothing.
"""

from datetime import date, timedelta

from sqlalchemy import BigInteger, String, case, literal, type_coerce

from portal.core.money import share
from portal.core.places import Unit

from .rules import NOT_BILLED


def segments(history, start: date, end: date):
    """(occupancy, days) for each stretch of [start, end] from a unit's history
    (entries oldest first); days before the first entry are not billed."""
    result = []
    for index, (occupancy, since) in enumerate(history):
        until = history[index + 1][1] - timedelta(days=1) if index + 1 < len(history) else end
        first, last = max(since, start), min(until, end)
        if first <= last:
            result.append((occupancy, (last - first).days + 1))
    return result


def month_charge(item, area_hundredths, rate_of, pay_percent, vacant, parts, days_in_month):
    """(gross, amount, vacant days) for a unit billed day by day over its stretches."""
    gross = amount = vacant_days = 0
    elapsed = 0  # days of the stretches before this one
    for occupancy, days in parts:
        before, elapsed = elapsed, elapsed + days
        if occupancy in NOT_BILLED:
            continue
        rate = rate_of(occupancy)
        if not rate:
            continue
        monthly = area_hundredths * rate if item.basis == "per_m2_month" else rate * 100
        part = share(monthly, elapsed, 100 * days_in_month) - share(
            monthly, before, 100 * days_in_month
        )
        gross += part
        if occupancy in vacant:
            amount += share(part, pay_percent, 100)
            vacant_days += days
        else:
            amount += part
    return gross, amount, vacant_days


def month_charge_sql(item, priced: dict[str, int], pay_percent: int, vacant):
    """SQL over Unit for a whole month in the unit's current category: (gross, amount,
    discount rule, discount note). `priced` maps each billed category to its rate (> 0)."""
    rate = case(
        {occupancy: literal(fen, BigInteger) for occupancy, fen in priced.items()},
        value=Unit.occupancy,
    )
    if item.basis == "per_m2_month":
        # area is stored in hundredths of m²: round(area × rate) to the fen, half up.
        gross = (type_coerce(Unit.area_m2, BigInteger) * rate + 50) // 100
    else:
        gross = rate
    discounted = [o for o in priced if o in vacant] if pay_percent != 100 else []
    if not discounted:
        return gross, gross, literal(None, String), literal(None, String)
    is_vacant = Unit.occupancy.in_(discounted)
    amount = case((is_vacant, (gross * literal(pay_percent, BigInteger) + 50) // 100), else_=gross)
    rule = case((is_vacant, literal("vacant")), else_=literal(None, String))
    note = case((is_vacant, literal(f"未入住按 {pay_percent}% 收取")), else_=literal(None, String))
    return gross, amount, rule, note


def price_unit_month(item, unit, history, rates, pay_percent, vacant, start, end):
    """What a unit's month of a recurring item costs day by day over its occupancy history,
    as issue_bill's amount, discount and occupancy arguments; None when it costs nothing.
    Billing runs and re-pricing after a late occupancy change both price with it."""
    days_in_month = (end - start).days + 1
    parts = segments(history, start, end)
    gross, amount, vacant_days = month_charge(
        item,
        int(unit.area_m2 * 100),
        lambda occupancy: rates.rate(item.id, occupancy),
        pay_percent,
        vacant,
        parts,
        days_in_month,
    )
    if gross <= 0:
        return None
    days = sum(d for o, d in parts if o not in NOT_BILLED)
    notes = []
    if days < days_in_month:
        notes.append(f"按 {days}/{days_in_month} 天计")
    if vacant_days:
        notes.append(f"未入住 {vacant_days} 天按 {pay_percent}% 收取")
    return {
        "amount_fen": amount,
        "discount_fen": gross - amount,
        "discount_rule": "vacant" if gross > amount else None,
        "discount_note": "；".join(notes) or None,
        "occupancy": parts[-1][0] if parts else unit.occupancy,
    }
