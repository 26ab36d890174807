"""Deposits (押金) in the ledger: money held for the unit, not income. Paid only when a
payment names the deposit bill; refunded once, less itemised deductions that become income;
each refund numbered gap-free per estate; the refund slip printed."""

import subprocess
from datetime import date

import pytest
from sqlalchemy import select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill, DepositRefund, Payment
from portal.blueprints.fees.refunds import deposit_figures, refund_deposit, refund_slip_pdf
from portal.blueprints.fees.rules import item_by_code
from portal.blueprints.reports.fees import fee_figures
from portal.core.audit import AuditEntry
from portal.core.errors import Conflict, ServiceError
from portal.extensions import db
from tests.fees.helpers import bill, pay

KEY = "renovation:1:deposit"


def bill_deposit(world, unit=None, fen=2000_00, key=KEY, due_on=date(2026, 11, 20)):
    unit = unit or world.unit
    return ledger.issue_bill(
        unit,
        item_by_code(world.estate.id, "renovation_deposit"),
        amount_fen=fen,
        due_on=due_on,
        source="renovation",
        source_key=key,
        actor=world.supervisor,
    )


def pay_deposit(world, deposit, fen=None, unit=None, method="cash"):
    payment, _ = ledger.record_payment(
        unit or world.unit,
        fen or deposit.amount_fen,
        method,
        actor=world.frontdesk,
        source="counter",
        bill_ids=[deposit.id],
    )
    return payment


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_a_deposit_is_paid_only_by_a_payment_that_names_it(world):
    deposit = bill_deposit(world)
    fee = bill(world, world.unit, 300_00, key="fee-1")
    payment = pay(world, world.unit, 5000_00)  # no bill_ids: the fee, then credit
    assert payment.result["allocations"] == [{"bill_id": fee.id, "amount_fen": 300_00}]
    assert deposit_figures(world.unit.id, KEY) == {
        "billed": 2000_00,
        "paid": 0,
        "deducted": 0,
        "refunded": 0,
        "held": 0,
    }
    assert ledger.balance(world.unit.id).credit_fen == 4700_00
    # A later bill spends credit; the deposit is still not paid by it.
    bill(world, world.unit, 100_00, key="fee-2")
    assert deposit_figures(world.unit.id, KEY)["paid"] == 0
    named = pay_deposit(world, deposit)
    assert named.result == {
        "allocations": [{"bill_id": deposit.id, "amount_fen": 2000_00}],
        "credit_fen": 4600_00,
    }
    assert deposit_figures(world.unit.id, KEY)["held"] == 2000_00


def test_an_unpaid_deposit_is_not_owed_as_fees_nor_arrears(world):
    bill_deposit(world, due_on=date(2026, 10, 1))
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (0, 0)
    assert ledger.held_fen(world.unit.id) == 0
    (entry,) = ledger.deposits_of([world.unit.id])[world.unit.id]
    assert (entry.to_pay, entry.held) == (2000_00, 0)


def test_named_bills_must_be_the_units_live_bills(world):
    other = bill_deposit(world, unit=world.unit2, key="renovation:2:deposit")
    with pytest.raises(ServiceError) as exc:
        pay_deposit(world, other, unit=world.unit)
    assert exc.value.fields == {"bill_ids": "unknown"}
    deposit = bill_deposit(world)
    with pytest.raises(ServiceError) as exc:
        ledger.record_payment(
            world.unit,
            100,
            "cash",
            actor=world.frontdesk,
            source="counter",
            bill_ids=[deposit.id, deposit.id],
        )
    assert exc.value.fields == {"bill_ids": "repeated"}


def test_the_deposit_method_is_never_taken_at_the_counter(world):
    with pytest.raises(ServiceError) as exc:
        ledger.record_payment(world.unit, 100, "deposit", actor=world.frontdesk, source="api")
    assert exc.value.fields == {"method": "unknown"}


def test_deposits_are_outside_the_fee_reports_receivable_and_received(world):
    bill(world, world.unit, 300_00, key="fee-1", due_on=date(2026, 11, 15))
    pay(world, world.unit, 300_00)
    deposit = bill_deposit(world, unit=world.unit2, key="renovation:2:deposit")
    pay_deposit(world, deposit, unit=world.unit2)
    db.session.commit()
    totals = fee_figures(world.estate.id, date(2026, 11, 1), date(2026, 11, 30))["totals"]
    assert (totals["receivable"], totals["received"], totals["arrears"]) == (300_00, 300_00, 0)
    assert (totals["billed_households"], totals["paid_households"]) == (1, 1)


def test_a_refund_pays_back_the_deposit_less_deductions_which_become_income(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    refund = refund_deposit(
        world.unit,
        KEY,
        deductions=[
            {"reason": "公共走廊墙面损坏", "amount_fen": 300_00},
            {"reason": "装修垃圾未清运", "amount_fen": 150_50},
        ],
        method="transfer",
        actor=world.frontdesk,
    )
    db.session.commit()
    assert refund.number.startswith("TK") and refund.refunded_fen == 1549_50
    assert deposit_figures(world.unit.id, KEY) == {
        "billed": 2000_00,
        "paid": 2000_00,
        "deducted": 450_50,
        "refunded": 1549_50,
        "held": 0,
    }
    # The deductions are fee bills of today, paid from the deposit: income of the day.
    kept = db.session.get(Payment, refund.deduction_payment_id)
    assert (kept.method, kept.amount_fen, kept.reference) == ("deposit", 450_50, refund.number)
    assert [d.bill_id for d in refund.deductions] == [
        a["bill_id"] for a in kept.result["allocations"]
    ]
    totals = fee_figures(world.estate.id, date(2026, 11, 1), date(2026, 11, 30))["totals"]
    assert (totals["receivable"], totals["received"]) == (450_50, 450_50)
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (0, 0)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deposit.refund"))
    assert entry.after["number"] == refund.number


def test_a_deposit_is_refunded_once(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    refund_deposit(world.unit, KEY, deductions=[], method="cash", actor=world.frontdesk)
    with pytest.raises(Conflict):
        refund_deposit(world.unit, KEY, deductions=[], method="cash", actor=world.frontdesk)
    assert len(db.session.scalars(select(DepositRefund)).all()) == 1


def test_deductions_larger_than_the_paid_deposit_are_refused(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit, fen=1000_00)  # half paid
    with pytest.raises(ServiceError) as exc:
        refund_deposit(
            world.unit,
            KEY,
            deductions=[{"reason": "损坏", "amount_fen": 1000_01}],
            method="cash",
            actor=world.frontdesk,
        )
    assert exc.value.status == 400 and "deductions" in exc.value.fields
    assert db.session.scalars(select(DepositRefund)).all() == []


@pytest.mark.parametrize(
    "deductions",
    [
        [{"reason": "", "amount_fen": 100}],
        [{"reason": "x\x00", "amount_fen": 100}],
        [{"reason": "x", "amount_fen": 0}],
        [{"reason": "x", "amount_fen": "100"}],
        [{"reason": "x", "amount_fen": 100, "evidence_file_id": 2**31}],
        ["x"],
    ],
)
def test_bad_deductions_answer_400_naming_deductions(world, deductions):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    with pytest.raises(ServiceError) as exc:
        refund_deposit(world.unit, KEY, deductions=deductions, method="cash", actor=world.frontdesk)
    assert exc.value.status == 400 and "deductions" in exc.value.fields


def test_no_deposit_bill_answers_404_and_a_method_is_needed(world):
    with pytest.raises(ServiceError) as exc:
        refund_deposit(world.unit, KEY, deductions=[], method="cash", actor=world.frontdesk)
    assert exc.value.status == 404
    bill_deposit(world)
    with pytest.raises(ServiceError) as exc:
        refund_deposit(world.unit, KEY, deductions=[], method="deposit", actor=world.frontdesk)
    assert exc.value.fields == {"method": "unknown"}


def test_refund_numbers_are_gap_free_per_estate(world):
    numbers = []
    for n, unit in enumerate([world.unit, world.unit2, world.vacant]):
        deposit = bill_deposit(world, unit=unit, key=f"renovation:{n}:deposit")
        pay_deposit(world, deposit, unit=unit)
        numbers.append(
            refund_deposit(
                unit, f"renovation:{n}:deposit", deductions=[], method="cash", actor=world.frontdesk
            ).number
        )
    assert [int(n[-4:]) for n in numbers] == [1, 2, 3]
    assert len({n[:-4] for n in numbers}) == 1
    # A refused refund gives no number away.
    deposit = bill_deposit(world, unit=world.unit, key="renovation:9:deposit")
    with pytest.raises(ServiceError):
        refund_deposit(
            world.unit,
            "renovation:9:deposit",
            deductions=[{"reason": "x", "amount_fen": 1}],
            method="cash",
            actor=world.frontdesk,
        )
    db.session.rollback()


def test_a_settled_deposits_payment_or_bill_cannot_be_undone(world):
    deposit = bill_deposit(world)
    payment = pay_deposit(world, deposit)
    refund = refund_deposit(
        world.unit,
        KEY,
        deductions=[{"reason": "损坏", "amount_fen": 100_00}],
        method="cash",
        actor=world.frontdesk,
    )
    with pytest.raises(Conflict):
        ledger.reverse_payment(payment, reason="x", actor=world.supervisor)
    with pytest.raises(Conflict):
        ledger.reverse_bill(deposit, reason="x", actor=world.manager)
    with pytest.raises(Conflict):
        ledger.reverse_payment(
            db.session.get(Payment, refund.deduction_payment_id), reason="x", actor=world.manager
        )


def test_the_refund_slip_is_a_real_pdf(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit)
    refund = refund_deposit(
        world.unit,
        KEY,
        deductions=[{"reason": "公共走廊墙面损坏", "amount_fen": 300_00}],
        method="wechat",
        actor=world.frontdesk,
    )
    text = pdf_text(refund_slip_pdf(refund))
    assert refund.number in text
    assert "公共走廊墙面损坏" in text and "300.00" in text
    assert "1,700.00" in text or "1700.00" in text
    assert "2,000.00" in text or "2000.00" in text
    assert db.session.scalar(select(Bill).where(Bill.id == deposit.id)) is not None


def test_a_named_payment_pays_no_more_than_the_named_bills_ask(world):
    deposit = bill_deposit(world)
    with pytest.raises(ServiceError) as exc:
        pay_deposit(world, deposit, fen=2000_01)
    assert exc.value.fields == {"amount": "more_than_named"}
    pay_deposit(world, deposit, fen=500_00)
    with pytest.raises(ServiceError):
        pay_deposit(world, deposit, fen=1500_01)
    pay_deposit(world, deposit, fen=1500_00)
    assert deposit_figures(world.unit.id, KEY)["held"] == 2000_00
    assert ledger.balance(world.unit.id).credit_fen == 0


def test_a_refunded_deposit_takes_no_more_payments(world):
    deposit = bill_deposit(world)
    pay_deposit(world, deposit, fen=500_00)
    refund_deposit(world.unit, KEY, deductions=[], method="cash", actor=world.frontdesk)
    with pytest.raises(Conflict):
        pay_deposit(world, deposit, fen=100_00)
    assert deposit_figures(world.unit.id, KEY) == {
        "billed": 2000_00,
        "paid": 500_00,
        "deducted": 0,
        "refunded": 500_00,
        "held": 0,
    }
    (entry,) = ledger.deposits_of([world.unit.id])[world.unit.id]
    assert entry.to_pay == 0  # settled: what was never paid is no longer asked for
