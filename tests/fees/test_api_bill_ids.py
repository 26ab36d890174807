from sqlalchemy import select

from portal.blueprints.fees.models import Payment
from portal.blueprints.fees.refunds import deposit_figures
from portal.extensions import db
from tests.fees.test_deposits import KEY, bill_deposit


def test_api_pays_a_deposit_only_when_named(client, world, api_token):
    deposit = bill_deposit(world, unit=world.unit2)
    db.session.commit()
    h = api_token("frontdesk")
    body = {
        "unit_id": world.unit2.id,
        "amount": "2000.00",
        "method": "cash",
        "idempotency_key": "a",
    }
    r = client.post("/api/v1/payments", json=body, headers=h)
    assert r.status_code == 201 and r.get_json()["allocations"] == []
    assert deposit_figures(world.unit2.id, KEY)["paid"] == 0
    body = {**body, "idempotency_key": "b", "bill_ids": [deposit.id]}
    r = client.post("/api/v1/payments", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["allocations"] == [{"bill_id": deposit.id, "amount": "2000.00"}]
    assert client.post("/api/v1/payments", json=body, headers=h).status_code == 200
    assert (
        client.post(
            "/api/v1/payments", json={**body, "bill_ids": [deposit.id, 5]}, headers=h
        ).status_code
        == 409
    )
    for bad in ([], [0], [2**31], ["x"], [deposit.id + 999]):
        r = client.post(
            "/api/v1/payments",
            json={**body, "idempotency_key": f"c{bad}", "bill_ids": bad},
            headers=h,
        )
        assert r.status_code == 400, (bad, r.get_json())
    r = client.post(
        "/api/v1/payments", json={**body, "idempotency_key": "d", "amount": "1.00"}, headers=h
    )
    assert r.status_code == 400 and "amount" in r.get_json()["error"]["fields"]
    assert len(db.session.scalars(select(Payment)).all()) == 2
    assert deposit_figures(world.unit2.id, KEY)["held"] == 2000_00
