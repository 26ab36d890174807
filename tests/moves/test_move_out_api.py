"""The move-out through the API (contracts §8): the clearance checklist the completion
enforces (409 naming each unmet item), then residencies, occupancy and cards close."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import Card, MeterReading
from portal.blueprints.moves.models import MoveOut
from portal.core.people import Residency
from portal.core.places import Unit
from portal.extensions import db
from tests.fees.helpers import bill, pay
from tests.moves.helpers import ON

READINGS = [{"meter": "water", "value": "50.00"}, {"meter": "electricity", "value": "900.50"}]


def new_move_out(client, headers, unit_id, **extra):
    response = client.post(
        "/api/v1/move-outs", json={"unit_id": unit_id, "on": ON, **extra}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def complete(client, headers, move_id, body, status):
    response = client.post(f"/api/v1/move-outs/{move_id}/complete", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_the_checklist_refuses_then_the_move_out_completes(client, world, api_token):
    """Arrears and a card still out: 409 naming both, nothing changes. Paid at the counter,
    one card back and one reported lost: completed — the residencies end on the day, the
    unit is vacant from the day, the card is returned and the final readings recorded."""
    desk = api_token("frontdesk")
    unit = world.unit
    custody.issue_cards(
        unit,
        [{"number": "MJ1", "kind": "access"}, {"number": "MJ2", "kind": "access"}],
        date(2025, 1, 1),
        actor=world.frontdesk,
    )
    custody.record_readings(
        unit, [{"meter": "water", "value": "10"}], date(2025, 1, 1), actor=None, purpose="first"
    )
    bill(world, unit, 30000, key="moveout-test")
    db.session.commit()

    move = new_move_out(client, desk, unit.id)
    assert move["number"].startswith("QC") and move["status"] == "submitted"
    assert move["occupancy"] == "vacant"
    assert move["checklist"] == {"arrears": "300.00", "cards": ["MJ1", "MJ2"], "goods_passes": []}

    body = {"readings": READINGS, "cards_returned": ["MJ1"], "keys_returned": True}
    refused = complete(client, desk, move["id"], body, 409)
    assert refused["error"]["fields"] == {"arrears": "300.00", "cards": ["MJ2"]}
    nothing = complete(client, desk, move["id"], {"cards_returned": []}, 409)
    assert set(nothing["error"]["fields"]) == {"arrears", "cards", "readings", "keys"}
    assert db.session.get(MoveOut, move["id"]).status == "submitted"
    assert db.session.scalar(select(Card.status).where(Card.number == "MJ1")) == "issued"

    pay(world, unit, 30000)
    custody.report_lost(
        db.session.scalar(select(Card).where(Card.number == "MJ2")), date(2026, 11, 20), actor=None
    )
    db.session.commit()
    done = complete(client, desk, move["id"], body, 200)
    assert done["status"] == "completed"
    assert done["clearance"]["cards_returned"] == ["MJ1"]
    residencies = db.session.scalars(select(Residency).where(Residency.unit_id == unit.id)).all()
    assert residencies and all(r.end_on == date(2026, 11, 23) for r in residencies)
    unit = db.session.get(Unit, unit.id)
    assert unit.occupancy == "vacant" and unit.occupancy_since == date(2026, 11, 23)
    assert sorted(db.session.execute(select(Card.number, Card.status)).all()) == [
        ("MJ1", "returned"),
        ("MJ2", "lost"),
    ]
    finals = db.session.execute(
        select(MeterReading.meter, MeterReading.value).where(MeterReading.purpose == "final")
    ).all()
    assert sorted(finals) == [("electricity", Decimal("900.50")), ("water", Decimal("50.00"))]
    assert complete(client, desk, move["id"], body, 409)["error"]["fields"]["allowed"] == []


def test_a_move_out_needs_residents_and_one_at_a_time(client, world, api_token):
    desk = api_token("frontdesk")
    response = client.post(
        "/api/v1/move-outs", json={"unit_id": world.vacant.id, "on": ON}, headers=desk
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"] == {"unit_id": "no_residents"}
    new_move_out(client, desk, world.unit.id, occupancy="renovated_vacant")
    again = client.post(
        "/api/v1/move-outs", json={"unit_id": world.unit.id, "on": ON}, headers=desk
    )
    assert again.status_code == 409
    assert not db.session.scalars(select(MoveOut).where(MoveOut.unit_id == world.vacant.id)).all()


def test_move_out_input_scope_and_state(client, world, api_token):
    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)
    for body, field in (
        ({"readings": [{"meter": "water", "value": "x"}]}, "readings.value"),
        (
            {"cards_returned": ["NOPE"], "readings": READINGS, "keys_returned": True},
            "cards_returned",
        ),
        ({"keys_returned": "maybe"}, "keys_returned"),
    ):
        refused = complete(client, desk, move["id"], body, 400)
        assert field in refused["error"]["fields"], refused
    for body in ({"unit_id": 2**31, "on": ON}, {"unit_id": world.unit.id, "on": "x\x00"}, {}):
        assert client.post("/api/v1/move-outs", json=body, headers=desk).status_code == 400
    other = api_token("frontdesk_other")
    assert client.get(f"/api/v1/move-outs/{move['id']}", headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/move-outs/{move['id']}/cancel", json={}, headers=other).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/move-outs/{move['id']}", headers=api_token("resident")).status_code
        == 403
    )
    got = client.get(f"/api/v1/move-outs/{move['id']}", headers=desk).get_json()
    assert [e["action"] for e in got["events"]] == ["submit"]
    assert client.get("/api/v1/move-outs?status=submitted", headers=desk).get_json()["total"] == 1
    assert (
        client.post(
            f"/api/v1/move-outs/{move['id']}/cancel", json={"reason": "不搬了"}, headers=desk
        ).get_json()["status"]
        == "cancelled"
    )
    refused = complete(client, desk, move["id"], {"readings": READINGS}, 409)
    assert refused["error"]["fields"]["allowed"] == []
