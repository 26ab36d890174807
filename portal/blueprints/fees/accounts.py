"""A unit's account: what it owes, its credit, its bills (with where each stands) and its
payments — what the counter, the resident's page and the unit card show."""

import functools

from sqlalchemy import Integer, bindparam, exists, func, select
from sqlalchemy.orm import aliased, joinedload

from portal.core import clock
from portal.core.places import Building, Unit
from portal.extensions import db

from . import ledger
from .models import Bill, OnlineOrder, Payment

RESIDENT_UNITS_SHOWN = 5


def account(unit: Unit, *, bills_limit=24, payments_limit=20) -> dict:
    """Everything the account page shows for one unit, in a fixed number of queries."""
    return accounts_of([unit], bills_limit=bills_limit, payments_limit=payments_limit)[0]


def accounts_of(units, *, bills_limit: int, payments_limit: int, balances=None) -> list[dict]:
    """The accounts of some units (each with its latest bills and payments), in three
    statements whatever the number of units, bills and payments (two when the caller
    read the `balances` with the units). The statements are built once per process."""
    ids = [unit.id for unit in units]
    bills, states = [], {}
    for bill, paid in db.session.execute(_bills_statement(), {"units": ids, "n": bills_limit}):
        bills.append(bill)
        states[bill.id] = ledger.bill_state(bill.amount_fen, paid, bill.reversal is not None)
    payments = db.session.execute(_payments_statement(), {"units": ids, "n": payments_limit}).all()
    if balances is None:
        balances = ledger.balances(ids)
    today = clock.local_today()
    result = []
    for unit in units:
        rows = [{"bill": b, **states[b.id]._asdict()} for b in bills if b.unit_id == unit.id]
        mine = [(p, undone) for p, undone in payments if p.unit_id == unit.id]
        result.append(
            {
                "balance": balances[unit.id],
                "bills": rows,
                "open_bills": [r for r in rows if r["status"] == ledger.OPEN],
                "payments": [p for p, _undone in mine],
                "reversed_ids": {p.id for p, undone in mine if undone},
                "today": today,
            }
        )
    return result


def _latest(model, *order):
    """The ids of the latest `n` rows of `model` per unit of `units` (bind parameters)."""
    rank = func.row_number().over(partition_by=model.unit_id, order_by=order)
    ranked = (
        select(model.id, rank.label("rank"))
        .where(model.unit_id.in_(bindparam("units", expanding=True)))
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank <= bindparam("n", type_=Integer)).subquery()


@functools.cache
def _bills_statement():
    """The latest bills of some units, each with what is paid on it."""
    latest = _latest(Bill, Bill.due_on.desc(), Bill.id.desc())
    return (
        select(Bill, ledger.paid_fen())
        .join(latest, latest.c.id == Bill.id)
        .options(joinedload(Bill.item), joinedload(Bill.reversal))
        .order_by(Bill.due_on.desc(), Bill.id.desc())
    )


@functools.cache
def _payments_statement():
    """The latest payments of some units, each with whether it was reversed."""
    undo = aliased(Payment)
    latest = _latest(Payment, Payment.id.desc())
    return (
        select(Payment, exists().where(undo.reverses_id == Payment.id))
        .join(latest, latest.c.id == Payment.id)
        .order_by(Payment.id.desc())
    )


def resident_accounts(user) -> list[dict]:
    """The accounts of a resident's units (the first few), each with its unit."""
    rows = db.session.execute(
        _resident_units_statement(),
        {"units": user.current_unit_ids, "n": RESIDENT_UNITS_SHOWN},
    ).all()
    units = [unit for unit, _owed, _credit in rows]
    balances = {unit.id: ledger.Balance(int(owed), int(credit)) for unit, owed, credit in rows}
    accounts = accounts_of(units, bills_limit=12, payments_limit=6, balances=balances)
    return [{"unit": unit, **entry} for unit, entry in zip(units, accounts, strict=True)]


@functools.cache
def _resident_units_statement():
    """Some units with their place and balances (the signed-in resident's current ones)."""
    return (
        select(Unit, *ledger.balance_columns())
        .where(Unit.id.in_(bindparam("units", expanding=True)))
        .options(joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Unit.id)
        .limit(bindparam("n", type_=Integer))
    )


def recent_orders(user, limit=5) -> list[OnlineOrder]:
    """A resident's latest online payments."""
    return list(db.session.scalars(_orders_statement(), {"user": user.id, "n": limit}))


@functools.cache
def _orders_statement():
    return (
        select(OnlineOrder)
        .where(OnlineOrder.user_id == bindparam("user"))
        .order_by(OnlineOrder.id.desc())
        .limit(bindparam("n", type_=Integer))
    )
