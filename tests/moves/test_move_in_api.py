"""The move-in through the API (contracts §8): documents, inspection, hand-over and all that
a hand-over changes, in one transaction."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import Card, KeySet, MeterReading
from portal.blueprints.moves.models import MoveIn
from portal.blueprints.repairs.models import Repair
from portal.core.people import Residency, User
from portal.core.places import Unit, UnitOccupancy
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.moves.helpers import (
    HAND_OVER,
    ON,
    OWNER_DOCUMENTS,
    PEOPLE,
    move_in_at,
    new_move_in,
    take,
)


def residents_of(unit_id):
    return db.session.execute(
        select(User.name, Residency.relation, Residency.start_on)
        .join(Residency, Residency.user_id == User.id)
        .where(Residency.unit_id == unit_id)
        .order_by(User.name)
    ).all()


def test_the_whole_move_in(client, world, api_token):
    """Registered, documents checked, inspected with defects (each a repair on the unit),
    handed over: the people are residents from the day, the occupancy changes from the day,
    the cards are issued, the first readings recorded, the kept keys handed over and a
    welcome notice queued to each newcomer."""
    desk = api_token("frontdesk")
    unit_id = world.vacant.id
    custody.take_keys(
        db.session.get(Unit, unit_id), count=2, label="开发商钥匙", actor=world.frontdesk
    )
    db.session.commit()

    move = new_move_in(client, desk, unit_id)
    assert move["number"].startswith("RZ") and move["status"] == "submitted"
    assert move["unit_id"] == unit_id and move["on"] == ON
    assert move["occupancy"] == "occupied_unrenovated"
    assert move["required_documents"] == OWNER_DOCUMENTS
    assert {"id", "number", "status", "created_at", "updated_at", "events"} <= set(move)
    assert move["due_at"] is not None

    move = take(client, desk, move["id"], "check-documents", {"documents": OWNER_DOCUMENTS})
    assert move["status"] == "documents_checked"
    move = take(
        client,
        desk,
        move["id"],
        "inspect",
        {"result": "defects", "defects": ["墙面开裂", "窗户漏风"]},
    )
    assert move["status"] == "inspected"
    repairs = db.session.scalars(select(Repair).where(Repair.unit_id == unit_id)).all()
    assert sorted(r.description for r in repairs) == sorted(
        f"{d} ({move['number']})" for d in ("墙面开裂", "窗户漏风")
    )
    assert sorted(move["inspection"]["repair_ids"]) == sorted(r.id for r in repairs)

    move = take(client, desk, move["id"], "hand-over", HAND_OVER)
    assert move["status"] == "completed"
    assert [e["action"] for e in move["events"]] == [
        "submit",
        "check-documents",
        "inspect",
        "hand-over",
    ]
    assert residents_of(unit_id) == [
        ("王小妹", "family", date(2026, 11, 23)),
        ("王新业主", "owner", date(2026, 11, 23)),
    ]
    unit = db.session.get(Unit, unit_id)
    assert unit.occupancy == "occupied_unrenovated" and unit.occupancy_since == date(2026, 11, 23)
    assert db.session.scalar(
        select(UnitOccupancy.effective_on)
        .where(UnitOccupancy.unit_id == unit_id)
        .order_by(UnitOccupancy.id.desc())
        .limit(1)
    ) == date(2026, 11, 23)
    cards = db.session.scalars(select(Card).where(Card.unit_id == unit_id)).all()
    assert sorted((c.number, c.kind, c.status, c.source_kind) for c in cards) == [
        ("CW2001", "parking", "issued", "move_in"),
        ("MJ1001", "access", "issued", "move_in"),
    ]
    readings = db.session.scalars(select(MeterReading).where(MeterReading.unit_id == unit_id)).all()
    assert sorted((r.meter, r.value, r.purpose) for r in readings) == [
        ("electricity", Decimal("356.00"), "first"),
        ("gas", Decimal("8.75"), "first"),
        ("water", Decimal("12.30"), "first"),
    ]
    keyset = db.session.scalar(select(KeySet).where(KeySet.unit_id == unit_id))
    assert keyset.status == "handed_over"
    welcome = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "move_in_welcome")
    ).all()
    newcomers = {
        u.id
        for u in db.session.scalars(
            select(User).where(User.phone.in_([p["phone"] for p in PEOPLE]))
        )
    }
    assert {(m.recipient_id, m.channel) for m in welcome} == {
        (uid, channel) for uid in newcomers for channel in ("app", "sms")
    }
    assert all(m.unit_id == unit_id and m.locale == "zh_CN" for m in welcome)
    # The newcomers can activate their accounts: a code goes out to their phone.
    assert (
        client.post(
            "/api/v1/auth/codes", json={"phone": "13900001111", "purpose": "activate"}
        ).status_code
        == 202
    )
    assert db.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.kind == "account_code_activate", OutboxMessage.address == "13900001111"
        )
    )


def test_a_tenant_needs_the_lease_and_missing_documents_are_refused(client, world, api_token):
    desk = api_token("frontdesk")
    tenant = [{"name": "租客李", "phone": "13900002222", "relation": "tenant"}]
    move = new_move_in(client, desk, world.vacant.id, people=tenant)
    assert move["required_documents"] == ["id_card", "lease"]
    refused = take(client, desk, move["id"], "check-documents", {"documents": ["id_card"]}, 400)
    assert "documents" in refused["error"]["fields"]
    assert db.session.get(MoveIn, move["id"]).status == "submitted"
    unknown = take(client, desk, move["id"], "check-documents", {"documents": ["passport"]}, 400)
    assert "documents" in unknown["error"]["fields"]
    done = take(client, desk, move["id"], "check-documents", {"documents": ["id_card", "lease"]})
    assert done["status"] == "documents_checked" and done["documents"] == ["id_card", "lease"]


def test_a_live_card_number_at_hand_over_stores_nothing(client, world, api_token):
    """MJ1001 is live on the neighbour's unit: 409 naming it, and not one of the hand-over's
    changes is kept (residents, occupancy, cards, readings, notices)."""
    desk = api_token("frontdesk")
    custody.issue_cards(
        world.unit2,
        [{"number": "MJ1001", "kind": "access"}],
        date(2026, 1, 1),
        actor=world.frontdesk,
    )
    db.session.commit()
    move = move_in_at(client, desk, world.vacant.id, "inspected")
    refused = take(client, desk, move["id"], "hand-over", HAND_OVER, 409)
    assert refused["error"]["fields"]["cards"] == ["MJ1001"]
    assert db.session.get(MoveIn, move["id"]).status == "inspected"
    assert residents_of(world.vacant.id) == []
    assert db.session.get(Unit, world.vacant.id).occupancy == "vacant"
    assert not db.session.scalars(select(Card).where(Card.unit_id == world.vacant.id)).all()
    assert not db.session.scalars(
        select(MeterReading).where(MeterReading.unit_id == world.vacant.id)
    ).all()
    assert not db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "move_in_welcome")
    ).all()
    twice = dict(HAND_OVER, cards=[{"number": "A1", "kind": "access"}] * 2)
    assert "cards" in take(client, desk, move["id"], "hand-over", twice, 400)["error"]["fields"]


def test_actions_in_the_wrong_state_answer_409(client, world, api_token):
    desk = api_token("frontdesk")
    move = new_move_in(client, desk, world.vacant.id)
    for action, body in (("hand-over", HAND_OVER), ("inspect", {"result": "ok"})):
        refused = take(client, desk, move["id"], action, body, 409)
        assert refused["error"]["fields"]["allowed"] == ["check-documents", "cancel"]
    take(client, desk, move["id"], "no-such-action", {}, 409)
    take(client, desk, move["id"], "cancel", {"reason": "业主改期"})
    take(client, desk, move["id"], "check-documents", {"documents": OWNER_DOCUMENTS}, 409)
    take(client, desk, move["id"], "cancel", {"reason": "again"}, 409)


def test_a_second_open_move_in_of_a_unit_is_refused(client, world, api_token):
    desk = api_token("frontdesk")
    new_move_in(client, desk, world.vacant.id)
    response = client.post(
        "/api/v1/move-ins",
        json={"unit_id": world.vacant.id, "on": ON, "people": PEOPLE},
        headers=desk,
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"] == {"unit_id": "open"}


def test_a_hand_over_before_its_day_is_refused(client, world, api_token):
    desk = api_token("frontdesk")
    move = move_in_at(client, desk, world.vacant.id, "inspected", on="2026-12-01")
    refused = take(client, desk, move["id"], "hand-over", HAND_OVER, 409)
    assert refused["error"]["fields"] == {"on": "future"}


def test_another_estate_residents_and_other_roles(client, world, api_token):
    desk = api_token("frontdesk")
    move = new_move_in(client, desk, world.vacant.id)
    other = api_token("frontdesk_other")
    assert client.get(f"/api/v1/move-ins/{move['id']}", headers=other).status_code == 404
    assert (
        client.post(
            f"/api/v1/move-ins/{move['id']}/cancel", json={"reason": "x"}, headers=other
        ).status_code
        == 404
    )
    assert client.get("/api/v1/move-ins", headers=other).get_json()["total"] == 0
    stranger = client.post(
        "/api/v1/move-ins",
        json={"unit_id": world.other_unit.id, "on": ON, "people": PEOPLE},
        headers=desk,
    )
    assert stranger.status_code == 404
    for login in ("resident", "resident2", "technician"):
        token = api_token(login)
        assert client.get(f"/api/v1/move-ins/{move['id']}", headers=token).status_code == 403
        assert client.get("/api/v1/move-ins", headers=token).status_code == 403
    assert client.get("/api/v1/move-ins").status_code == 401
    listed = client.get("/api/v1/move-ins?status=submitted", headers=desk).get_json()
    assert [m["id"] for m in listed["items"]] == [move["id"]]


def test_bad_input_is_refused_and_nothing_is_stored(client, world, api_token):
    desk = api_token("frontdesk")
    cases = [
        ({"unit_id": 2**31, "on": ON, "people": PEOPLE}, "unit_id"),
        ({"unit_id": world.vacant.id, "on": ON, "people": []}, "people"),
        ({"unit_id": world.vacant.id, "on": "2026-13-40", "people": PEOPLE}, "on"),
        ({"unit_id": world.vacant.id, "on": "1900-01-01", "people": PEOPLE}, "on"),
        ({"unit_id": world.vacant.id, "on": ON, "people": PEOPLE, "occupancy": "x"}, "occupancy"),
        (
            {"unit_id": world.vacant.id, "on": ON, "people": [dict(PEOPLE[0], phone="12ab")]},
            "people.0.phone",
        ),
        (
            {"unit_id": world.vacant.id, "on": ON, "people": [dict(PEOPLE[0], relation="boss")]},
            "people.relation",
        ),
        ({"unit_id": world.vacant.id, "on": ON, "people": PEOPLE * 2}, "people.2.phone"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/move-ins", json=body, headers=desk)
        assert response.status_code == 400, (body, response.get_json())
        assert field in response.get_json()["error"]["fields"], (field, response.get_json())
    nul = {"unit_id": world.vacant.id, "on": ON, "people": [dict(PEOPLE[0], name="王\x00")]}
    assert client.post("/api/v1/move-ins", json=nul, headers=desk).status_code == 400
    # The phone of somebody else in the estate: 409, named.
    taken = {"unit_id": world.vacant.id, "on": ON, "people": [dict(PEOPLE[0], phone="13800000003")]}
    response = client.post("/api/v1/move-ins", json=taken, headers=desk)
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"] == {"people.0.phone": "taken"}
    assert client.get(f"/api/v1/move-ins/{2**31}", headers=desk).status_code == 404
    assert client.post(f"/api/v1/move-ins/{2**31}/cancel", json={}, headers=desk).status_code == 404
    assert not db.session.scalars(select(MoveIn)).all()
    move = move_in_at(client, desk, world.vacant.id, "inspected")
    for body, field in (
        ({"cards": [], "readings": []}, "keys"),
        (dict(HAND_OVER, readings=[{"meter": "water", "value": "-1"}]), "readings.value"),
        (dict(HAND_OVER, readings=[{"meter": "heat", "value": "1"}]), "readings.meter"),
        (dict(HAND_OVER, cards=[{"number": "MJ 1", "kind": "lift"}]), "cards.kind"),
        (dict(HAND_OVER, extra=1), "extra"),
    ):
        refused = take(client, desk, move["id"], "hand-over", body, 400)
        assert field in refused["error"]["fields"], (field, refused)
    assert db.session.get(MoveIn, move["id"]).status == "inspected"


def test_a_create_with_a_one_time_key_is_made_once(client, world, api_token):
    """The same key again answers with the first move (a retry on a slow network); the
    same key with other values is a conflict; a move-out keeps the same rule."""
    desk = api_token("frontdesk")
    body = {"unit_id": world.vacant.id, "on": ON, "people": PEOPLE, "idempotency_key": "k-1"}
    first = client.post("/api/v1/move-ins", json=body, headers=desk)
    again = client.post("/api/v1/move-ins", json=body, headers=desk)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/api/v1/move-ins", json={**body, "on": "2026-11-24"}, headers=desk)
    assert other.status_code == 409
    assert other.get_json()["error"]["fields"] == {"idempotency_key": "reused"}
    assert len(db.session.scalars(select(MoveIn)).all()) == 1
    out = {"unit_id": world.unit.id, "on": ON, "idempotency_key": "k-2"}
    ids = {client.post("/api/v1/move-outs", json=out, headers=desk).get_json()["id"] for _ in "ab"}
    assert len(ids) == 1
