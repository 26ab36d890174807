"""Fee pages: the counter, receipts, corrections, runs, items, the cash report, and the
resident's bills with online payment through the sandbox provider."""

import re
import subprocess
from datetime import date, timedelta

from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill, OnlineOrder, Payment
from portal.core import clock
from portal.extensions import db
from tests.conftest import FROZEN_AT
from tests.fees.helpers import bill, pay, standard_items


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_front_desk_takes_a_cash_payment_and_prints_the_receipt(client, world, login_as):
    b1 = bill(world, world.unit2, 22375, key="m1")
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert page.status_code == 200 and "223.75" in page.text
    form = {"amount": "300.00", "method": "cash", "payer_name": "林邻居", "idempotency_key": "k1"}
    form["confirm"] = "y"  # more than is owed: the clerk confirms it
    response = client.post(f"/fees/units/{world.unit2.id}/pay", data=form)
    assert response.status_code == 303
    # A double click (the same form again) is one payment.
    again = client.post(f"/fees/units/{world.unit2.id}/pay", data=form)
    assert again.status_code == 303
    payments = db.session.scalars(select(Payment).where(Payment.unit_id == world.unit2.id)).all()
    assert len(payments) == 1
    payment = payments[0]
    assert ledger.paid_on_bills([b1.id]) == {b1.id: 22375}
    assert ledger.balance(world.unit2.id).credit_fen == 7625
    receipt = client.get(f"/fees/receipts/{payment.receipt_number}.pdf")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF")
    text = pdf_text(receipt.data)
    assert "收据" in text and payment.receipt_number in text
    assert "叁佰元整" in text and "223.75" in text and "76.25" in text


def test_bad_amounts_store_nothing(client, world, login_as):
    bill(world, world.unit2, 1000, key="m1")
    db.session.commit()
    login_as("frontdesk")
    for amount in ("-5", "0", "1.234", "abc", ""):
        response = client.post(
            f"/fees/units/{world.unit2.id}/pay",
            data={"amount": amount, "method": "cash", "idempotency_key": f"k-{amount}"},
        )
        assert response.status_code == 400, amount
    response = client.post(
        f"/fees/units/{world.unit2.id}/pay",
        data={"amount": "10", "method": "bitcoin", "idempotency_key": "k-m"},
    )
    assert response.status_code == 400
    assert count(Payment) == 0


def test_supervisor_reverses_a_payment_and_manager_withdraws_a_bill(client, world, login_as):
    b1 = bill(world, world.unit2, 5000, key="m1")
    payment = pay(world, world.unit2, 5000)
    db.session.commit()
    login_as("frontdesk")
    assert (
        client.post(f"/fees/payments/{payment.id}/reverse", data={"reason": "x"}).status_code == 403
    )
    login_as("supervisor")
    assert (
        client.post(f"/fees/payments/{payment.id}/reverse", data={"reason": ""}).status_code == 303
    )
    assert count(Payment) == 1
    assert (
        client.post(f"/fees/payments/{payment.id}/reverse", data={"reason": "收错户"}).status_code
        == 303
    )
    assert ledger.balance(world.unit2.id).owed_fen == 5000
    login_as("manager")
    assert (
        client.post(f"/fees/bills/{b1.id}/withdraw", data={"reason": "重复开单"}).status_code == 303
    )
    assert ledger.balance(world.unit2.id).owed_fen == 0
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert 'data-status="withdrawn"' in page.text


def test_manager_runs_billing_and_sees_the_summary(client, world, login_as):
    standard_items(world)
    db.session.commit()
    login_as("manager")
    assert client.post("/fees/runs", data={"period": "2026-13"}).status_code == 400
    response = client.post("/fees/runs", data={"period": "2026-12"})
    assert response.status_code == 303
    summary = client.get(response.headers["Location"])
    assert summary.status_code == 200 and 'data-testid="run-summary"' in summary.text
    assert db.session.scalar(select(func.count(Bill.id)).where(Bill.unit_id == world.unit.id)) == 1
    rerun = client.post("/fees/runs", data={"period": "2026-12"})
    page = client.get(rerun.headers["Location"])
    assert 'data-testid="run-bills">0<' in page.text


def test_items_page_adds_items_and_rates_for_managers_only(client, world, login_as):
    login_as("manager")
    page = client.get("/fees/items")
    assert "物业管理费（住宅）" in page.text  # the standard items come with the estate
    item = standard_items(world)["property_residence"]
    response = client.post(
        f"/fees/items/{item.id}/rates",
        data={"rate": "2.80", "effective_on": "2027-01-01", "occupancy": ""},
    )
    assert response.status_code == 303
    db.session.refresh(item)
    assert [r.rate_fen for r in item.rates][:1] == [280]
    login_as("frontdesk")
    assert client.get("/fees/items").status_code == 200
    assert client.post("/fees/items", data={"code": "x", "name": "x"}).status_code == 403


def test_cash_report_per_cashier_and_method(client, world, login_as):
    bill(world, world.unit, 5000, key="m1")
    pay(world, world.unit, 3000, method="cash")
    p2 = pay(world, world.unit2, 2000, method="wechat")
    ledger.reverse_payment(p2, reason="退款", actor=world.supervisor)
    db.session.commit()
    login_as("frontdesk")
    page = client.get("/reports/cash")
    assert page.status_code == 200
    assert 'data-testid="cash-total">30.00<' in page.text
    pdf = client.get("/reports/cash.pdf")
    assert pdf.data.startswith(b"%PDF")
    assert client.get("/reports/cash?day=notaday").status_code == 400


def test_resident_pays_online_through_the_sandbox(client, world, login_as):
    b1 = bill(world, world.unit, 22375, key="m1")
    db.session.commit()
    login_as("resident")
    mine = client.get("/fees/mine")
    assert mine.status_code == 200 and "223.75" in mine.text
    # Another unit's bill: 404, nothing stored.
    assert (
        client.post("/fees/pay", data={"unit_id": world.unit2.id, "amount": "1.00"}).status_code
        == 404
    )
    assert (
        client.post("/fees/pay", data={"unit_id": world.unit.id, "amount": "500.00"}).status_code
        == 303
    )
    assert count(OnlineOrder) == 0  # more than owed: refused with a message
    for forged in ("²", "9" * 25, str(2**31)):  # no unit id: a message, never a 500
        answer = client.post("/fees/pay", data={"unit_id": forged, "amount": "1.00"})
        assert answer.status_code in (303, 404)
    response = client.post("/fees/pay", data={"unit_id": world.unit.id, "amount": "223.75"})
    assert response.status_code == 303 and "/fees/sandbox/" in response.headers["Location"]
    checkout = response.headers["Location"]
    assert client.get(checkout).status_code == 200
    back = client.post(checkout, data={"succeed": "1"})
    assert back.status_code == 303 and "sign=" in back.headers["Location"]
    order_page = client.get(back.headers["Location"])
    assert order_page.status_code == 303
    result = client.get(order_page.headers["Location"])
    assert 'data-status="succeeded"' in result.text
    assert ledger.paid_on_bills([b1.id]) == {b1.id: 22375}
    # The provider repeating its answer records nothing twice.
    client.get(back.headers["Location"])
    assert count(Payment) == 1
    receipt = db.session.scalar(select(Payment.receipt_number))
    assert client.get(f"/fees/receipts/{receipt}.pdf").status_code == 200
    login_as("resident2")
    assert client.get(f"/fees/receipts/{receipt}.pdf").status_code == 404


def test_failed_and_abandoned_online_payments_leave_the_bill_open(client, world, login_as):
    bill(world, world.unit, 10000, key="m1")
    db.session.commit()
    login_as("resident")
    checkout = client.post(
        "/fees/pay", data={"unit_id": world.unit.id, "amount": "100.00"}
    ).headers["Location"]
    back = client.post(checkout, data={"fail": "1"})
    client.get(back.headers["Location"])
    assert db.session.scalar(select(OnlineOrder.status)) == "failed"
    checkout = client.post(
        "/fees/pay", data={"unit_id": world.unit.id, "amount": "100.00"}
    ).headers["Location"]
    back = client.post(checkout, data={"timeout": "1"})
    assert "/fees/orders/" in back.headers["Location"]
    assert 'data-status="pending"' in client.get(back.headers["Location"]).text
    assert count(Payment) == 0
    assert ledger.balance(world.unit.id).owed_fen == 10000


def test_forged_signature_changes_nothing(client, world, login_as):
    bill(world, world.unit, 10000, key="m1")
    db.session.commit()
    login_as("resident")
    checkout = client.post(
        "/fees/pay", data={"unit_id": world.unit.id, "amount": "100.00"}
    ).headers["Location"]
    order_no = checkout.rsplit("/", 1)[1]
    forged = client.get(
        f"/fees/pay/return/sandbox?order_no={order_no}&status=SUCCESS&amount=100.00&trade_no=X&sign=00"
    )
    assert forged.status_code == 303
    assert count(Payment) == 0
    assert db.session.scalar(select(OnlineOrder.status)) == "pending"


def test_advance_year_gives_the_free_months(client, world, login_as):
    standard_items(world, effective_on=date(2024, 1, 1))
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert f"fees/units/{world.unit2.id}/prepay" in page.text
    response = client.post(
        f"/fees/units/{world.unit2.id}/prepay", data={"method": "card", "idempotency_key": "y1"}
    )
    assert response.status_code == 303
    bills = db.session.scalars(
        select(Bill).where(Bill.unit_id == world.unit2.id).order_by(Bill.period_start)
    ).all()
    assert len(bills) == 12
    assert [b.discount_rule for b in bills[-2:]] == ["prepay_year", "prepay_year"]
    assert all(b.amount_fen == 0 and b.discount_fen == 22375 for b in bills[-2:])
    payment = db.session.scalar(select(Payment).where(Payment.unit_id == world.unit2.id))
    assert payment.amount_fen == 10 * 22375
    b = ledger.balance(world.unit2.id)
    assert (b.owed_fen, b.credit_fen) == (0, 0)
    # Paid up for a year: the offer is closed now.
    again = client.post(
        f"/fees/units/{world.unit2.id}/prepay", data={"method": "card", "idempotency_key": "y2"}
    )
    assert again.status_code == 303
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def payment_count(unit) -> int:
    return db.session.scalar(select(func.count(Payment.id)).where(Payment.unit_id == unit.id))


def counter_form(page_text: str, **values) -> dict:
    """The payment form's hidden key as the page issued it, with the clerk's values."""
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page_text)
    assert key, "the payment form carries a key"
    return {"method": "cash", "idempotency_key": key.group(1), **values}


def test_the_same_form_again_shows_the_first_receipt(client, world, login_as):
    bill(world, world.unit2, 10000, key="m1")
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert page.headers["Cache-Control"] == "no-store"
    form = counter_form(page.text, amount="60.00")
    first = client.post(f"/fees/units/{world.unit2.id}/pay", data=form)
    assert first.status_code == 303
    number = db.session.scalar(select(Payment.receipt_number))
    assert first.headers["Location"].endswith(f"receipt={number}")
    again = client.post(f"/fees/units/{world.unit2.id}/pay", data=form, follow_redirects=True)
    assert payment_count(world.unit2) == 1
    assert f"receipt={number}" in again.request.full_path
    assert number in again.text
    # The spent key with another amount records nothing and hands out a new key.
    other = client.post(f"/fees/units/{world.unit2.id}/pay", data={**form, "amount": "10.00"})
    assert other.status_code == 409 and number in other.text
    assert payment_count(world.unit2) == 1
    assert form["idempotency_key"] not in other.text
    assert 'value="10.00"' in other.text


def test_back_then_submit_again_asks_before_a_second_payment(client, world, login_as):
    bill(world, world.unit2, 30000, key="m1")
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    assert 'name="confirm"' not in page.text  # nothing to confirm on a plain payment
    taken = client.post(
        f"/fees/units/{world.unit2.id}/pay", data=counter_form(page.text, amount="40.00")
    )
    assert taken.status_code == 303
    number = db.session.scalar(select(Payment.receipt_number))
    # Back: the page comes from the server again, with a new key; the clerk submits 40.00 again.
    back = client.get(f"/fees/units/{world.unit2.id}")
    form = counter_form(back.text, amount="40.00")
    asked = client.post(f"/fees/units/{world.unit2.id}/pay", data=form)
    assert asked.status_code == 200
    assert 'name="confirm"' in asked.text and number in asked.text
    assert payment_count(world.unit2) == 1
    confirmed = client.post(f"/fees/units/{world.unit2.id}/pay", data={**form, "confirm": "y"})
    assert confirmed.status_code == 303
    assert payment_count(world.unit2) == 2
    # Past the window the same amount is an ordinary payment.
    clock.freeze(FROZEN_AT + timedelta(minutes=11))
    later = client.get(f"/fees/units/{world.unit2.id}")
    form = counter_form(later.text, amount="20.00")
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 303
    form = counter_form(client.get(f"/fees/units/{world.unit2.id}").text, amount="20.00")
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 200
    clock.freeze(FROZEN_AT + timedelta(minutes=22))
    assert client.post(f"/fees/units/{world.unit2.id}/pay", data=form).status_code == 303
    assert payment_count(world.unit2) == 4


def test_a_payment_over_what_is_owed_needs_a_confirmation(client, world, login_as):
    bill(world, world.unit2, 10000, key="m1")
    db.session.commit()
    login_as("frontdesk")
    page = client.get(f"/fees/units/{world.unit2.id}")
    form = counter_form(page.text, amount="150.00")
    asked = client.post(f"/fees/units/{world.unit2.id}/pay", data=form)
    assert asked.status_code == 200
    assert 'name="confirm"' in asked.text and "100.00" in asked.text and "50.00" in asked.text
    assert form["idempotency_key"] in asked.text  # the same form, confirmed, is one payment
    assert payment_count(world.unit2) == 0
    confirmed = client.post(f"/fees/units/{world.unit2.id}/pay", data={**form, "confirm": "y"})
    assert confirmed.status_code == 303
    assert ledger.balance(world.unit2.id).credit_fen == 5000
    again = client.post(f"/fees/units/{world.unit2.id}/pay", data={**form, "confirm": "y"})
    assert again.status_code == 303 and payment_count(world.unit2) == 1
    # Nothing owed now: any amount is asked about.
    more = counter_form(client.get(f"/fees/units/{world.unit2.id}").text, amount="10.00")
    asked = client.post(f"/fees/units/{world.unit2.id}/pay", data=more)
    assert asked.status_code == 200 and "无欠费" in asked.text
    assert payment_count(world.unit2) == 1
