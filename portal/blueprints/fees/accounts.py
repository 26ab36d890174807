"""A unit's account: what it owes, its credit, its bills (with where each stands) and its
payments — what the counter, the resident's page and the unit card show."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.core import clock
from portal.core.people import current_unit_ids_query
from portal.core.places import Building, Unit
from portal.extensions import db

from . import ledger
from .models import Bill, OnlineOrder, Payment

RESIDENT_UNITS_SHOWN = 5


def account(unit: Unit, *, bills_limit=24, payments_limit=20) -> dict:
    """Everything the account page shows for one unit, in a fixed number of queries."""
    bills = db.session.scalars(
        select(Bill)
        .where(Bill.unit_id == unit.id)
        .options(joinedload(Bill.item), joinedload(Bill.reversal))
        .order_by(Bill.due_on.desc(), Bill.id.desc())
        .limit(bills_limit)
    ).all()
    states = ledger.bill_states(bills)
    rows = [{"bill": b, **states[b.id]._asdict()} for b in bills]
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.unit_id == unit.id)
        .order_by(Payment.id.desc())
        .limit(payments_limit)
    ).all()
    return {
        "balance": ledger.balance(unit.id),
        "bills": rows,
        "open_bills": [r for r in rows if r["status"] == ledger.OPEN],
        "payments": payments,
        "reversed_ids": reversed_ids([p.id for p in payments]),
        "today": clock.local_today(),
    }


def reversed_ids(payment_ids) -> set[int]:
    """Which of these payments have been reversed."""
    if not payment_ids:
        return set()
    return set(
        db.session.scalars(select(Payment.reverses_id).where(Payment.reverses_id.in_(payment_ids)))
    )


def resident_units(user) -> list[Unit]:
    """The units a resident currently holds, with their place loaded."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.id.in_(current_unit_ids_query(user.id).order_by(None)))
            .options(joinedload(Unit.building).joinedload(Building.zone))
            .order_by(Unit.id)
        )
    )


def resident_accounts(user) -> list[dict]:
    """The accounts of a resident's units (the first few), each with its unit."""
    return [
        {"unit": unit, **account(unit, bills_limit=12, payments_limit=6)}
        for unit in resident_units(user)[:RESIDENT_UNITS_SHOWN]
    ]


def recent_orders(user, limit=5) -> list[OnlineOrder]:
    """A resident's latest online payments."""
    return list(
        db.session.scalars(
            select(OnlineOrder)
            .where(OnlineOrder.user_id == user.id)
            .order_by(OnlineOrder.id.desc())
            .limit(limit)
        )
    )
