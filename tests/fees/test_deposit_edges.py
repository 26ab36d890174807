"""Edges of deposits found in review: the month's fees received leave a deposit out (its
deductions count once, on the refund day); a paid deposit is not withdrawn into the credit;
nothing paid in, nothing to refund; a deduction kept at a refund is not withdrawn."""

import pytest
from sqlalchemy import select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill
from portal.blueprints.fees.refunds import deposit_figures, refund_deposit
from portal.core import clock
from portal.core.errors import Conflict
from portal.extensions import db
from tests.fees.helpers import standard_items
from tests.fees.test_deposits import KEY, bill_deposit, pay_deposit


def test_the_month_s_fees_received_leave_the_deposit_out(world):
    from portal.blueprints.home.work import month_figures
    from portal.blueprints.reports.fees import fee_figures

    standard_items(world)
    today = clock.local_today()
    deposit = bill_deposit(world, due_on=today)
    pay_deposit(world, deposit)  # held, not income
    refund_deposit(
        world.unit,
        KEY,
        deductions=[{"reason": "损坏", "amount_fen": 300_00}],
        method="cash",
        actor=world.frontdesk,
    )
    report = fee_figures(world.estate.id, today.replace(day=1), today)["totals"]
    assert month_figures(world.manager)["received_fen"] == 300_00 == report["received"]


def test_a_paid_deposit_is_not_withdrawn_into_the_credit(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    with pytest.raises(Conflict):
        ledger.reverse_bill(deposit, reason="误开", actor=world.manager)
    assert deposit_figures(world.unit.id, KEY)["held"] > 0
    assert ledger.balance(world.unit.id).credit_fen == 0


def test_nothing_paid_in_nothing_to_refund(world):
    deposit = bill_deposit(world)
    with pytest.raises(Conflict):
        refund_deposit(world.unit, KEY, deductions=[], method="cash", actor=world.frontdesk)
    pay_deposit(world, deposit)  # still payable: no refund settled it
    assert deposit_figures(world.unit.id, KEY)["held"] > 0


def test_a_deduction_kept_at_a_refund_is_not_withdrawn(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    refund_deposit(
        world.unit,
        KEY,
        deductions=[{"reason": "损坏", "amount_fen": 300_00}],
        method="cash",
        actor=world.frontdesk,
    )
    kept = db.session.scalars(select(Bill).where(Bill.source == "deposit")).one()
    with pytest.raises(Conflict):
        ledger.reverse_bill(kept, reason="x", actor=world.manager)
    assert ledger.balance(world.unit.id).credit_fen == 0
