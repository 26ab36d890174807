"""The demo's money: the last three months billed, each on its first morning, and the
households' payments since, spread over the days, the counter's cashiers and the residents'
own online payments, with some households behind.

A day's takings stay within PAYMENTS_A_DAY receipts (that many per thousand billed units in a
bigger estate, e.g. bench/scale.py's), so the daily cash report of any day is a page or two,
as at a real counter.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from portal.blueprints.fees import billing, ledger, online
from portal.blueprints.fees.models import Bill, BillingRun
from portal.blueprints.fees.rules import NOT_BILLED
from portal.core.people import Relation, Residency, User, current_residency_clause
from portal.core.places import Unit
from portal.extensions import db

PAYMENTS_A_DAY = 25
COUNTER_METHODS = {"cash": 30, "wechat": 30, "alipay": 25, "card": 10, "transfer": 5}
ONLINE_SHARE = 0.1  # of the payments, made by the resident in the app
# How households pay: half a year ahead at the counter (the months after are paid from the
# credit by each billing run) / each month after its bill / late, all at once in the last
# weeks / the first month and then no more (behind) / not in these months (in arrears).
HABITS = {"ahead": 48, "monthly": 2, "caught_up": 8, "behind": 5, "arrears": 37}
MONTHS_AHEAD = 5  # paid beyond what is owed, by a household that pays ahead
PAY_WITHIN_DAYS = 25  # a monthly payer pays within this many days of the bill


@dataclass
class Accounts:
    """What each unit owes as the timeline goes, and its latest monthly bill: every payment
    here pays all that is owed, so what a unit owes is what was billed since it last paid
    (a household that paid ahead pays nothing more in these months)."""

    owing: Counter = field(default_factory=Counter)
    month: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)  # unit id → Unit, read once


def first_days(today: date, months: int = 3) -> list[date]:
    """The first days of the last `months` months, oldest first (this month last)."""
    firsts, first = [], today.replace(day=1)
    for _ in range(months):
        firsts.insert(0, first)
        first = (first - timedelta(days=1)).replace(day=1)
    return firsts


def schedule_fees(timeline, rng, estate, *, manager, cashiers, skip_units) -> None:
    """Put the billing runs and the payments on the timeline. `cashiers` is (the front desk,
    the supervisor who covers lunchtimes and weekends)."""
    billed_at, accounts = [], Accounts()
    for first in first_days(timeline.today()):
        moment = min(timeline.local(first, 8), timeline.now - timedelta(minutes=1))
        timeline.at(moment, _bill, estate.id, first.strftime("%Y-%m"), manager.id, accounts)
        billed_at.append(moment)
    payers = _payers(estate.id)
    per_day: Counter = Counter()
    limit = PAYMENTS_A_DAY * max(1, len(payers) // 1000)
    for unit_id in sorted(payers):
        if unit_id in skip_units:
            continue
        habit = rng.choices(list(HABITS), weights=list(HABITS.values()))[0]
        for start, end, ahead in _windows(habit, billed_at, timeline.now):
            online = not ahead and rng.random() < ONLINE_SHARE
            until = min(end, timeline.now)
            moment = _pick_moment(timeline, rng, (start, until), (per_day, limit), online)
            if moment is None:
                continue
            if online:
                timeline.at(moment, _pay_online, unit_id, payers[unit_id], accounts)
            else:
                method = rng.choices(list(COUNTER_METHODS), list(COUNTER_METHODS.values()))[0]
                cashier = _cashier_at(timeline, moment, cashiers)
                timeline.at(moment, _pay_at_counter, unit_id, method, cashier.id, accounts, ahead)


def _windows(habit, billed_at, now):
    """(from, until, months paid ahead) of each payment a household of this habit makes."""
    first, within = billed_at[0], timedelta(days=PAY_WITHIN_DAYS)
    return {
        "ahead": [(first, first + 2 * within, MONTHS_AHEAD)],
        "monthly": [(billed, billed + within, 0) for billed in billed_at],
        "caught_up": [(now - within, now, 0)],
        "behind": [(first, first + within, 0)],
        "arrears": [],
    }[habit]


def _payers(estate_id: int) -> dict[int, int]:
    """Billed units → the person who pays online for them (the owner, else the first
    resident)."""
    rows = db.session.execute(
        select(Residency.unit_id, Residency.user_id, Residency.relation)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            Unit.estate_id == estate_id,
            Unit.occupancy.not_in([o.value for o in NOT_BILLED]),
            current_residency_clause(),
        )
        .order_by(Residency.unit_id, Residency.id)
    ).all()
    payers: dict[int, int] = {}
    for unit_id, user_id, relation in rows:
        if unit_id not in payers or relation == Relation.owner:
            payers[unit_id] = user_id
    return payers


def _pick_moment(timeline, rng, between, room, online: bool):
    """A moment `between` (start, end] on a day that still has `room` (the payments of each
    day so far, the most a day takes): the counter's hours for the counter, any waking hour
    for a payment in the app. None when none fits."""
    (start, end), (per_day, limit) = between, room
    days = (end.astimezone(timeline.tz).date() - start.astimezone(timeline.tz).date()).days
    first = start.astimezone(timeline.tz).date()
    for _attempt in range(12):
        day = first + timedelta(days=rng.randint(0, max(days, 0)))
        hours = rng.uniform(7, 23) if online else rng.uniform(8.5, 17.5)
        moment = timeline.local(day, hours)
        if start < moment <= end and per_day[day] < limit:
            per_day[day] += 1
            return moment
    return None


def _cashier_at(timeline, moment, cashiers):
    """The front desk on weekdays; the supervisor covers lunchtimes and weekends."""
    desk, cover = cashiers
    local = moment.astimezone(timeline.tz)
    if local.weekday() >= 5 or 12 <= local.hour + local.minute / 60 < 13.5:
        return cover
    return desk


def _bill(estate_id: int, period: str, manager_id: int, accounts: Accounts):
    """The month's billing run; what it billed is added to what each unit owes."""
    run = BillingRun(estate_id=estate_id, period=period, created_by_id=manager_id)
    db.session.add(run)
    db.session.flush()
    billing.bill_month(run)
    billed = db.session.execute(
        select(Bill.unit_id, func.sum(Bill.amount_fen))
        .where(Bill.run_id == run.id)
        .group_by(Bill.unit_id)
    ).all()
    accounts.owing.update(dict(billed))
    accounts.month.update(dict(billed))
    if not accounts.units:
        units = db.session.scalars(select(Unit).where(Unit.estate_id == estate_id)).all()
        accounts.units.update((unit.id, unit) for unit in units)


def _pay_at_counter(unit_id, method, cashier_id, accounts: Accounts, months_ahead: int):
    """The household pays all it owes at the counter, and maybe months ahead."""
    amount = accounts.owing.pop(unit_id, 0) + months_ahead * accounts.month.get(unit_id, 0)
    if amount > 0:
        ledger.record_payment(
            accounts.units[unit_id],
            amount,
            method,
            actor=db.session.get(User, cashier_id),
            source="counter",
        )


def _pay_online(unit_id: int, payer_id: int, accounts: Accounts):
    """The resident pays all the unit owes in the app, through the payment sandbox."""
    amount = accounts.owing.pop(unit_id, 0)
    if amount > 0:
        order = online.create_order(db.session.get(User, payer_id), accounts.units[unit_id], amount)
        answer = online.provider("sandbox").answer(order, succeeded=True)
        signature = answer.pop("sign")
        online.handle_notification("sandbox", answer, signature)
