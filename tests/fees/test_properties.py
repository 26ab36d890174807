"""Property: for any sequence of bills, payments, reversals and withdrawals, every balance
equals charges minus allocations, nothing goes below zero, and credit never sits beside an
open bill."""

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Allocation, Bill, BillReversal, Payment
from portal.core.errors import Conflict
from portal.extensions import db
from tests.fees.helpers import standard_items

amounts = st.integers(min_value=1, max_value=500_00)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("bill"), amounts),
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("reverse_payment"), st.integers(0, 30)),
        st.tuples(st.just("withdraw_bill"), st.integers(0, 30)),
    ),
    min_size=1,
    max_size=25,
)


def check_invariants(unit_id):
    bills = db.session.scalars(select(Bill).where(Bill.unit_id == unit_id)).all()
    withdrawn = set(db.session.scalars(select(BillReversal.bill_id)))
    paid = ledger.paid_on_bills([b.id for b in bills])
    for b in bills:
        on_bill = paid.get(b.id, 0)
        if b.id in withdrawn:
            assert on_bill == 0
        else:
            assert 0 <= on_bill <= b.amount_fen
    payments = db.session.scalars(select(Payment).where(Payment.unit_id == unit_id)).all()
    reversed_ids = {p.reverses_id for p in payments if p.reverses_id}
    for p in payments:
        used = db.session.scalar(
            select(func.coalesce(func.sum(Allocation.amount_fen), 0)).where(
                Allocation.payment_id == p.id
            )
        )
        if p.reverses_id or p.id in reversed_ids:
            assert used == 0
        else:
            assert 0 <= used <= p.amount_fen
    charges = sum(b.amount_fen for b in bills if b.id not in withdrawn)
    allocated = sum(paid.values())
    received = sum(p.amount_fen for p in payments)
    balance = ledger.balance(unit_id)
    assert balance.owed_fen == charges - allocated >= 0
    assert balance.credit_fen == received - allocated >= 0
    assert balance.owed_fen == 0 or balance.credit_fen == 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
def test_balances_always_add_up(world, script):
    standard_items(world)
    unit = world.unit
    savepoint = db.session.begin_nested()
    try:
        bills, payments = [], []
        for n, (action, value) in enumerate(script):
            if action == "bill":
                bills.append(
                    ledger.issue_bill(
                        unit,
                        standard_items(world)["debris"],
                        amount_fen=value,
                        due_on=world.unit.occupancy_since,
                        source="manual",
                        source_key=f"p{n}",
                    )
                )
            elif action == "pay":
                payments.append(
                    ledger.record_payment(
                        unit, value, "cash", actor=world.frontdesk, source="counter"
                    )[0]
                )
            elif action == "reverse_payment" and payments:
                with contextlib.suppress(Conflict):
                    ledger.reverse_payment(
                        payments[value % len(payments)], reason="x", actor=world.supervisor
                    )
            elif action == "withdraw_bill" and bills:
                with contextlib.suppress(Conflict):
                    ledger.reverse_bill(bills[value % len(bills)], reason="x", actor=world.manager)
            check_invariants(unit.id)
    finally:
        savepoint.rollback()
