"""Deposits on the desk's pages: held on the unit's account, taken at the counter only when
named, the refund slip printed by the desk of the estate, and refunds as money out in the
daily cash report."""

import subprocess

from sqlalchemy import select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Payment
from portal.blueprints.fees.refunds import deposit_figures, refund_deposit
from portal.blueprints.reports.cash import cash_figures
from portal.core import clock
from portal.extensions import db
from tests.fees.helpers import bill
from tests.fees.test_deposits import KEY, bill_deposit, pay_deposit


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def refunded(world, unit=None, key=KEY, deduction=300_00, method="cash"):
    unit = unit or world.unit2
    deposit = bill_deposit(world, unit=unit, key=key)
    pay_deposit(world, deposit, unit=unit)
    return refund_deposit(
        unit,
        key,
        deductions=[{"reason": "公共区域墙面损坏", "amount_fen": deduction}] if deduction else [],
        method=method,
        actor=world.frontdesk,
    )


def test_the_account_shows_what_deposits_hold(client, world, login_as):
    deposit = bill_deposit(world, unit=world.unit2)
    pay_deposit(world, deposit, unit=world.unit2, fen=1500_00)
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert page.status_code == 200
    assert 'data-testid="deposits"' in page.text
    assert 'data-testid="deposits-held">1500.00<' in page.text
    assert "500.00" in page.text and 'data-testid="deposit-payment-form"' in page.text


def test_a_counter_payment_without_the_deposit_named_does_not_pay_it(client, world, login_as):
    deposit = bill_deposit(world, unit=world.unit2)
    db.session.commit()
    login_as("frontdesk")
    form = {"amount": "2000.00", "method": "cash", "idempotency_key": "k1", "confirm": "y"}
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 303
    assert deposit_figures(world.unit2.id, KEY)["paid"] == 0
    assert ledger.balance(world.unit2.id).credit_fen == 2000_00
    # Named by the deposit's own form, it is paid and held.
    form = {"amount": "2000.00", "method": "card", "idempotency_key": "k2", "bill_id": deposit.id}
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 303
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 303
    assert deposit_figures(world.unit2.id, KEY)["held"] == 2000_00
    assert len(db.session.scalars(select(Payment)).all()) == 2
    # Another unit's bill, or no id at all, is refused and nothing is stored.
    other = bill(world, world.unit, 100_00, key="fee-x")
    db.session.commit()
    for bad in (other.id, "x", 2**31):
        form = {"amount": "1.00", "method": "cash", "idempotency_key": f"k-{bad}", "bill_id": bad}
        assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 400
    assert len(db.session.scalars(select(Payment)).all()) == 2


def test_the_refund_slip_prints_for_the_desk_of_the_estate(client, world, login_as):
    refund = refunded(world)
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert f"/fees/refunds/{refund.id}.pdf" in page.text
    assert 'data-testid="deposits-held">0.00<' in page.text
    response = client.get(f"/fees/refunds/{refund.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    assert refund.number in text and "公共区域墙面损坏" in text
    assert "300.00" in text and "1700.00" in text and "壹仟柒佰元整" in text
    login_as("frontdesk_other")
    assert client.get(f"/fees/refunds/{refund.id}.pdf").status_code == 404
    login_as("resident2")
    assert client.get(f"/fees/refunds/{refund.id}.pdf").status_code == 403
    login_as("frontdesk")
    assert client.get(f"/fees/refunds/{2**31}.pdf").status_code == 404


def test_the_cash_report_shows_a_refund_as_money_out(client, world, login_as):
    refund = refunded(world, method="wechat")
    db.session.commit()
    day = clock.local_today(world.estate.timezone)
    figures = cash_figures(world.estate.id, day)
    # In: the deposit paid in cash. Out: the refund by WeChat. The deduction moved no money.
    assert figures["total"] == 2000_00 and figures["count"] == 1
    assert figures["refunds_total"] == 1700_00 and figures["net_total"] == 300_00
    (cashier,) = figures["refund_cashiers"]
    assert cashier["name"] == world.frontdesk.name
    assert [(m["count"], m["total"]) for m in cashier["methods"]] == [(1, 1700_00)]
    assert [r.number for r in figures["refunds"]] == [refund.number]
    login_as("frontdesk")
    page = client.get(f"/reports/cash?day={day.isoformat()}")
    assert page.status_code == 200
    assert 'data-testid="cash-out-total">1700.00<' in page.text
    assert 'data-testid="cash-net-total">300.00<' in page.text
    assert refund.number in page.text
    pdf = client.get(f"/reports/cash.pdf?day={day.isoformat()}")
    assert pdf.status_code == 200 and refund.number in pdf_text(pdf.data)


def test_the_account_page_reads_deposits_in_a_fixed_number_of_statements(
    client, world, login_as, count_queries
):
    def statements():
        with count_queries() as counter:
            assert client.get(f"/fees/units/{world.unit2.id}").status_code == 200
        return counter.count

    refunded(world, key="renovation:1:deposit")
    db.session.commit()
    login_as("frontdesk")
    one = statements()
    for n in range(2, 6):
        refunded(world, key=f"renovation:{n}:deposit", deduction=n * 100)
    bill_deposit(world, unit=world.unit2, key="renovation:9:deposit")
    db.session.commit()
    assert statements() == one


def test_the_deductions_receipt_and_the_fee_items_page(client, world, login_as):
    refund = refunded(world)
    db.session.commit()
    kept = db.session.get(Payment, refund.deduction_payment_id)
    login_as("supervisor")
    receipt = client.get(f"/fees/receipts/{kept.receipt_number}.pdf")
    assert receipt.status_code == 200
    text = pdf_text(receipt.data)
    assert "押金扣款" in text and "押金抵扣" in text and "300.00" in text
    page = client.get(f"/fees/units/{world.unit2.id}")
    # The deductions' receipt is listed, but it is no payment to reverse.
    assert kept.receipt_number in page.text
    assert f"/fees/payments/{kept.id}/reverse" not in page.text
    login_as("manager")
    assert client.get("/fees/items").status_code == 200
