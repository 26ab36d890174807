"""API v1 fees (contracts §5): bills, billing runs, payments with idempotency keys,
online payment and the provider's signed notification, receipts."""

from sqlalchemy import func, select

from portal.blueprints.fees import online
from portal.blueprints.fees.models import OnlineOrder, Payment
from portal.extensions import db
from tests.fees.helpers import bill, pay, standard_items


def count_payments():
    return db.session.scalar(select(func.count(Payment.id)))


def test_payment_201_then_200_with_the_same_body_then_409(client, world, api_token):
    old = bill(world, world.unit2, 10000, key="m1")
    new = bill(world, world.unit2, 20000, key="m2", due_on=old.due_on.replace(day=28))
    db.session.commit()
    headers = api_token("frontdesk")
    body = {
        "unit_id": world.unit2.id,
        "amount": "250.00",
        "method": "wechat",
        "idempotency_key": "abc",
    }
    first = client.post("/api/v1/payments", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    data = first.get_json()
    assert data["allocations"] == [
        {"bill_id": old.id, "amount": "100.00"},
        {"bill_id": new.id, "amount": "150.00"},
    ]
    assert data["credit"] == "0.00" and data["receipt_number"].startswith("SJ")
    again = client.post("/api/v1/payments", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json() == data
    other = client.post("/api/v1/payments", json=body | {"amount": "250.01"}, headers=headers)
    assert other.status_code == 409
    assert count_payments() == 1
    pdf = client.get(data["receipt_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_payments_are_refused_and_store_nothing(client, world, api_token):
    headers = api_token("frontdesk")
    base = {"unit_id": world.unit2.id, "amount": "10.00", "method": "cash", "idempotency_key": "k"}
    cases = [
        ({"amount": "-1.00"}, 400),
        ({"amount": "0"}, 400),
        ({"amount": "1.005"}, 400),
        ({"amount": "ten"}, 400),
        ({"method": "bitcoin"}, 400),
        ({"unit_id": 999999}, 404),
        ({"unit_id": world.other_unit.id}, 404),
        ({"idempotency_key": ""}, 400),
    ]
    for change, status in cases:
        response = client.post("/api/v1/payments", json=base | change, headers=headers)
        assert response.status_code == status, (change, response.get_json())
        assert "error" in response.get_json()
    assert count_payments() == 0


def test_residents_see_their_bills_and_pay_online_only(client, world, api_token):
    b1 = bill(world, world.unit, 5000, key="m1")
    bill(world, world.unit2, 7000, key="m1")
    pay(world, world.unit, 2000)
    db.session.commit()
    headers = api_token("resident")
    listing = client.get("/api/v1/bills", headers=headers).get_json()
    assert [b["id"] for b in listing["items"]] == [b1.id]
    assert listing["items"][0]["status"] == "open" and listing["items"][0]["amount"] == "50.00"
    assert (listing["items"][0]["paid"], listing["items"][0]["owed"]) == ("20.00", "30.00")
    assert client.get("/api/v1/bills?status=paid", headers=headers).get_json()["total"] == 0
    assert client.get(f"/api/v1/bills?unit_id={world.unit2.id}", headers=headers).status_code == 404
    body = {"unit_id": world.unit.id, "amount": "30.00", "method": "cash", "idempotency_key": "r1"}
    assert client.post("/api/v1/payments", json=body, headers=headers).status_code == 403
    body["unit_id"] = world.unit2.id
    assert client.post("/api/v1/payments", json=body, headers=headers).status_code == 404
    started = client.post(
        "/api/v1/payments/online",
        json={"unit_id": world.unit.id, "amount": "30.00"},
        headers=headers,
    )
    assert started.status_code == 201
    order_no = started.get_json()["order_no"]
    assert started.get_json()["checkout_url"].endswith(order_no)
    notice = {"order_no": order_no, "status": "SUCCESS", "amount": "30.00", "trade_no": "T1"}
    with client.application.test_request_context():
        signature = online.PROVIDERS["sandbox"].sign(notice)
    bad = client.post("/api/v1/payments/callback/sandbox", json=notice | {"sign": "forged"})
    assert bad.status_code == 400 and count_payments() == 1
    wrong_amount = notice | {"amount": "31.00"}
    with client.application.test_request_context():
        wrong_sig = online.PROVIDERS["sandbox"].sign(wrong_amount)
    assert (
        client.post(
            "/api/v1/payments/callback/sandbox", json=wrong_amount | {"sign": wrong_sig}
        ).status_code
        == 400
    )
    for _ in range(2):
        ok = client.post("/api/v1/payments/callback/sandbox", json=notice | {"sign": signature})
        assert ok.status_code == 200 and ok.get_json()["status"] == "succeeded"
    assert count_payments() == 2
    assert client.get("/api/v1/bills?status=open", headers=headers).get_json()["total"] == 0
    assert db.session.scalar(select(OnlineOrder.status)) == "succeeded"


def test_billing_run_answers_202_with_a_job(client, world, api_token):
    standard_items(world)
    db.session.commit()
    headers = api_token("manager")
    response = client.post("/api/v1/billing-runs", json={"period": "2026-12"}, headers=headers)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()["job"]
    status = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).get_json()
    assert status["status"] == "finished" and status["result_url"]
    assert (
        client.post("/api/v1/billing-runs", json={"period": "12-2026"}, headers=headers).status_code
        == 400
    )
    frontdesk = api_token("frontdesk")
    assert (
        client.post(
            "/api/v1/billing-runs", json={"period": "2026-12"}, headers=frontdesk
        ).status_code
        == 403
    )
    listing = client.get("/api/v1/bills?status=open", headers=headers).get_json()
    assert listing["total"] == 3  # unit, unit2, the vacant unit


def test_reversal_through_the_api(client, world, api_token):
    bill(world, world.unit2, 5000, key="m1")
    payment = pay(world, world.unit2, 5000)
    db.session.commit()
    headers = api_token("supervisor")
    response = client.post(
        f"/api/v1/payments/{payment.id}/reverse", json={"reason": "收错"}, headers=headers
    )
    assert response.status_code == 201 and response.get_json()["amount"] == "-50.00"
    again = client.post(
        f"/api/v1/payments/{payment.id}/reverse", json={"reason": "收错"}, headers=headers
    )
    assert again.status_code == 409
    reversal_id = response.get_json()["id"]
    twice = client.post(
        f"/api/v1/payments/{reversal_id}/reverse", json={"reason": "x"}, headers=headers
    )
    assert twice.status_code == 409


def test_unanswered_orders_expire_and_a_late_success_still_counts(client, world, api_token):
    from datetime import timedelta

    from portal.core import clock

    bill(world, world.unit, 5000, key="m1")
    db.session.commit()
    headers = api_token("resident")
    started = client.post(
        "/api/v1/payments/online",
        json={"unit_id": world.unit.id, "amount": "50.00"},
        headers=headers,
    )
    order_no = started.get_json()["order_no"]
    clock.freeze(clock.now() + timedelta(minutes=10))
    assert online.expire_orders() == 0
    clock.freeze(clock.now() + timedelta(minutes=10))
    assert online.expire_orders() == 1
    assert db.session.scalar(select(OnlineOrder.status)) == "expired"
    notice = {"order_no": order_no, "status": "SUCCESS", "amount": "50.00", "trade_no": "late"}
    with client.application.test_request_context():
        notice["sign"] = online.PROVIDERS["sandbox"].sign(notice)
    late = client.post("/api/v1/payments/callback/sandbox", json=notice)
    assert late.status_code == 200 and late.get_json()["status"] == "succeeded"
    assert count_payments() == 1


def test_two_estates_may_use_the_same_idempotency_key(client, world, api_token):
    """Estate 2's order-1 is not estate 1's: both are taken (201), each with its receipt."""
    body = {"amount": "10.00", "method": "cash", "idempotency_key": "order-1"}
    first = client.post(
        "/api/v1/payments", json=body | {"unit_id": world.unit.id}, headers=api_token("frontdesk")
    )
    second = client.post(
        "/api/v1/payments",
        json=body | {"unit_id": world.other_unit.id},
        headers=api_token("frontdesk_other"),
    )
    assert (first.status_code, second.status_code) == (201, 201), second.get_json()
    numbers = {first.get_json()["receipt_number"], second.get_json()["receipt_number"]}
    assert len(numbers) == 2 and count_payments() == 2
    admin = api_token("admin")
    for number in numbers:
        pdf = client.get(f"/api/v1/receipts/{number}.pdf", headers=admin)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
