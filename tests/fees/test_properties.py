"""Property: for any sequence of bills, payments, reversals and withdrawals — deposits paid by
name and refunded less deductions among them — every balance equals charges minus
allocations, nothing goes below zero, credit never sits beside an open fee bill, and every
deposit adds up: held + refunded + deducted = paid in, none of them negative."""

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import (
    DEPOSIT_CODES,
    Allocation,
    Bill,
    BillReversal,
    DepositRefund,
    FeeItem,
    Payment,
)
from portal.blueprints.fees.rules import item_by_code
from portal.core.errors import Conflict, ServiceError
from portal.extensions import db
from tests.fees.helpers import standard_items

amounts = st.integers(min_value=1, max_value=500_00)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("bill"), amounts),
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("reverse_payment"), st.integers(0, 30)),
        st.tuples(st.just("withdraw_bill"), st.integers(0, 30)),
        st.tuples(st.just("deposit"), amounts),
        st.tuples(st.just("pay_deposit"), st.tuples(st.integers(0, 30), amounts)),
        st.tuples(st.just("refund"), st.tuples(st.integers(0, 30), st.integers(0, 100))),
    ),
    min_size=1,
    max_size=25,
)


def check_invariants(unit_id):
    bills = db.session.scalars(select(Bill).where(Bill.unit_id == unit_id)).all()
    deposit_items = set(
        db.session.scalars(select(FeeItem.id).where(FeeItem.code.in_(DEPOSIT_CODES)))
    )
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
    fees = [b for b in bills if b.fee_item_id not in deposit_items]
    charges = sum(b.amount_fen for b in fees if b.id not in withdrawn)
    allocated = sum(paid.values())
    on_fees = sum(paid.get(b.id, 0) for b in fees)
    received = sum(p.amount_fen for p in payments)
    balance = ledger.balance(unit_id)
    assert balance.owed_fen == charges - on_fees >= 0
    assert balance.credit_fen == received - allocated >= 0
    # Credit pays every open fee bill; only a deposit may wait beside it.
    assert balance.owed_fen == 0 or balance.credit_fen == 0
    # Every deposit: held + refunded + deducted = paid in, nothing negative; a settled
    # deposit holds nothing.
    refunds = {
        r.source_key: r
        for r in db.session.scalars(select(DepositRefund).where(DepositRefund.unit_id == unit_id))
    }
    for b in bills:
        if b.fee_item_id not in deposit_items:
            continue
        f = ledger.deposit_figures(unit_id, b.source_key)
        assert f["paid"] == paid.get(b.id, 0)
        assert f["held"] + f["refunded"] + f["deducted"] == f["paid"]
        assert min(f.values()) >= 0
        refund = refunds.get(b.source_key)
        if refund is not None:
            assert f["held"] == 0
            assert refund.deducted_fen == sum(d.amount_fen for d in refund.deductions)
    # What the centre holds for the unit is what its deposits were paid, less what went back
    # or was kept.
    assert ledger.held_fen(unit_id) == sum(
        paid.get(b.id, 0) for b in bills if b.fee_item_id in deposit_items
    ) - sum(r.paid_fen for r in refunds.values())


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
    deposit_item = item_by_code(world.estate.id, "renovation_deposit")
    try:
        bills, payments, deposits = [], [], []
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
            elif action == "withdraw_bill" and bills + deposits:
                every = bills + deposits
                with contextlib.suppress(Conflict):
                    ledger.reverse_bill(every[value % len(every)], reason="x", actor=world.manager)
            elif action == "deposit":
                deposits.append(
                    ledger.issue_bill(
                        unit,
                        deposit_item,
                        amount_fen=value,
                        due_on=world.unit.occupancy_since,
                        source="renovation",
                        source_key=f"renovation:{n}:deposit",
                    )
                )
            elif action == "pay_deposit" and deposits:
                which, fen = value
                deposit = deposits[which % len(deposits)]
                figures = ledger.deposit_figures(unit.id, deposit.source_key)
                asked = figures["billed"] - figures["paid"]
                with contextlib.suppress(ServiceError):  # withdrawn or paid: 400
                    payments.append(
                        ledger.record_payment(
                            unit,
                            min(fen, asked) if asked > 0 else fen,
                            "cash",
                            actor=world.frontdesk,
                            source="counter",
                            bill_ids=[deposit.id],
                        )[0]
                    )
            elif action == "refund" and deposits:
                which, percent = value
                deposit = deposits[which % len(deposits)]
                paid_in = ledger.deposit_figures(unit.id, deposit.source_key)["paid"]
                kept = paid_in * percent // 100
                deductions = [{"reason": "损坏", "amount_fen": kept}] if kept else []
                with contextlib.suppress(Conflict):  # refunded already
                    ledger.refund_deposit(
                        unit,
                        deposit.source_key,
                        deductions=deductions,
                        method="cash",
                        actor=world.frontdesk,
                    )
            check_invariants(unit.id)
    finally:
        savepoint.rollback()
