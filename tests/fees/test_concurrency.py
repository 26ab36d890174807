"""Two identical payment requests at the same moment make one payment (PostgreSQL)."""

import threading

import pytest
from sqlalchemy import func, select

from portal.blueprints.fees.models import Payment
from portal.extensions import db
from tests.conftest import make_test_app, postgres_database
from tests.factories import make_world
from tests.fees.helpers import bill


@pytest.fixture(scope="module")
def pg_app():
    from flask_migrate import upgrade

    with postgres_database() as url:
        app = make_test_app(url)
        with app.app_context():
            upgrade()
            world = make_world()
            bill(world, world.unit2, 10000, key="m1")
            db.session.commit()
            ids = {"unit": world.unit2.id}
        yield app, ids
        with app.app_context():
            db.engine.dispose()


def token(client):
    response = client.post(
        "/api/v1/auth/token", json={"username": "frontdesk", "password": "portal-demo"}
    )
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.mark.parametrize("attempt", range(3))
def test_same_idempotency_key_at_the_same_moment_is_one_payment(pg_app, attempt):
    app, ids = pg_app
    headers = token(app.test_client())
    body = {
        "unit_id": ids["unit"],
        "amount": "60.00",
        "method": "cash",
        "idempotency_key": f"race-{attempt}",
    }
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/payments", json=body, headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(code for code, _ in answers)
    assert codes == [200, 200, 200, 201], answers
    assert len({a["receipt_number"] for _, a in answers}) == 1
    assert len({str(a) for _, a in answers}) == 1  # the same body every time
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Payment.id)).where(Payment.idempotency_key == f"api:race-{attempt}")
        )
    assert count == 1
