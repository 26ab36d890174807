"""API: staff keep a unit's people and occupancy (contracts §7); bad input is a clear
400/404/409 with nothing stored, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.blueprints.api import schemas as s
from portal.core.audit import AuditEntry
from portal.core.people import Relation, Residency, User
from portal.core.places import Occupancy, UnitOccupancy
from portal.extensions import db
from tests.factories import make_resident, make_staff, make_unit


def counts():
    """What a refused call must leave as it was."""
    return tuple(
        db.session.scalar(select(func.count(model.id)))
        for model in (User, Residency, UnitOccupancy, AuditEntry)
    )


def test_add_a_resident_then_end_the_residency(client, world, api_token):
    headers = api_token("frontdesk")
    url = f"/api/v1/units/{world.unit2.id}/residents"
    body = {"name": "王租户", "phone": "139 0000 1111", "relation": "tenant", "from": "2026-11-01"}
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    residency = db.session.get(Residency, created["residency_id"])
    assert (residency.unit_id, residency.relation, residency.start_on) == (
        world.unit2.id,
        "tenant",
        date(2026, 11, 1),
    )
    assert created["phone"] == "13900001111" and residency.user.phone == "13900001111"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "residency.add"))
    assert entry.estate_id == world.estate.id and entry.actor_id == world.frontdesk.id
    assert entry.after["phone"] == "13900001111"
    # The unit shows the new resident; the list keeps every residency.
    unit = client.get(f"/api/v1/units/{world.unit2.id}", headers=headers).get_json()
    assert "王租户" in [r["name"] for r in unit["residents"]]

    end = f"{url}/{created['residency_id']}/end"
    too_early = client.post(end, json={"on": "2026-10-31"}, headers=headers)
    assert too_early.status_code == 400
    assert "on" in too_early.get_json()["error"]["fields"]
    ended = client.post(end, json={"on": "2026-11-20"}, headers=headers)
    assert ended.status_code == 200
    assert ended.get_json()["end_on"] == "2026-11-20"
    again = client.post(end, json={"on": "2026-11-21"}, headers=headers)
    assert again.status_code == 409 and "on" in again.get_json()["error"]["fields"]
    history = client.get(f"/api/v1/units/{world.unit2.id}/residencies", headers=headers)
    history = history.get_json()
    assert history["total"] == 2  # 林邻居 and the ended tenancy, kept with its dates
    kept = next(r for r in history["items"] if r["residency_id"] == created["residency_id"])
    assert (kept["start_on"], kept["end_on"]) == ("2026-11-01", "2026-11-20")
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "residency.end")
        )
        == 1
    )


def test_the_same_person_in_a_second_unit_is_one_account(client, world, api_token):
    headers = api_token("frontdesk")
    body = {"name": "林邻居", "phone": "13800000003", "relation": "owner"}
    response = client.post(f"/api/v1/units/{world.vacant.id}/residents", json=body, headers=headers)
    assert response.status_code == 201
    assert response.get_json()["person_id"] == world.resident2.id
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13800000003")) == 1
    me = client.get("/api/v1/me", headers=api_token("resident2")).get_json()
    assert {u["id"] for u in me["units"]} == {world.unit2.id, world.vacant.id}
    # Added again to a unit they already hold: 409, nothing stored.
    before = counts()
    twice = client.post(f"/api/v1/units/{world.vacant.id}/residents", json=body, headers=headers)
    assert twice.status_code == 409 and "phone" in twice.get_json()["error"]["fields"]
    assert counts() == before


def test_another_persons_phone_is_refused(client, world, api_token):
    headers = api_token("supervisor")
    before = counts()
    response = client.post(
        f"/api/v1/units/{world.vacant.id}/residents",
        json={"name": "冒名者", "phone": "13800000003", "relation": "tenant"},
        headers=headers,
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert "phone" in error["fields"] and "林邻居" in error["message"]
    assert counts() == before
    # The same phone in another estate is another person's business: allowed there.
    other = client.post(
        f"/api/v1/units/{world.other_unit.id}/residents",
        json={"name": "冒名者", "phone": "13800000003", "relation": "tenant"},
        headers=api_token("frontdesk_other"),
    )
    assert other.status_code == 201


def test_correct_a_phone(client, world, api_token):
    headers = api_token("manager")
    url = f"/api/v1/people/{world.family.id}"
    response = client.patch(url, json={"phone": "13700000009"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"id": world.family.id, "name": "陈家属", "phone": "13700000009"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.phone"))
    assert (entry.before, entry.after) == ({"phone": "13800000002"}, {"phone": "13700000009"})
    assert entry.estate_id == world.estate.id
    before = counts()
    taken = client.patch(url, json={"phone": "13800000003"}, headers=headers)
    assert taken.status_code == 409 and "phone" in taken.get_json()["error"]["fields"]
    bad = client.patch(url, json={"phone": "call me"}, headers=headers)
    assert bad.status_code == 400 and "phone" in bad.get_json()["error"]["fields"]
    assert counts() == before
    assert db.session.get(User, world.family.id).phone == "13700000009"


def test_change_the_occupancy_from_a_date(client, world, api_token):
    headers = api_token("frontdesk")
    url = f"/api/v1/units/{world.unit.id}/occupancy"
    response = client.post(url, json={"occupancy": "vacant", "from": "2026-11-16"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["occupancy"], response.get_json()["occupancy_since"]) == (
        "vacant",
        "2026-11-16",
    )
    # The same change again answers the same and stores nothing more.
    before = counts()
    again = client.post(url, json={"occupancy": "vacant", "from": "2026-11-16"}, headers=headers)
    assert again.status_code == 200 and counts() == before
    history = client.get(f"{url}-history", headers=headers).get_json()
    assert [(h["occupancy"], h["from"]) for h in history["items"]] == [
        ("vacant", "2026-11-16"),
        ("occupied_renovated", "2024-01-01"),
    ]
    for body, status, field in (
        ({"occupancy": "renovating", "from": "2026-11-10"}, 400, "from"),  # before the last
        ({"occupancy": "renovating", "from": "2026-11-24"}, 400, "from"),  # tomorrow
        ({"occupancy": "vacant", "from": "2026-11-20"}, 409, "occupancy"),  # already vacant
        ({"occupancy": "empty", "from": "2026-11-20"}, 400, "occupancy"),
        ({"occupancy": "renovating", "from": "16/11/2026"}, 400, "from"),
        ({"occupancy": "renovating"}, 400, "from"),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
        assert field in response.get_json()["error"]["fields"], body
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "13900000001", "relation": "owner"}, "name"),
        ({"name": "某人", "relation": "owner"}, "phone"),
        ({"name": "某人", "phone": "12", "relation": "owner"}, "phone"),
        ({"name": "某人", "phone": "13900000001", "relation": "landlord"}, "relation"),
        (
            {"name": "某人", "phone": "13900000001", "relation": "owner", "from": "1900-01-01"},
            "from",
        ),
        (
            {"name": "某人", "phone": "13900000001", "relation": "owner", "from": "2031-01-01"},
            "from",
        ),
        ({"name": "   ", "phone": "13900000001", "relation": "owner"}, "name"),
        ({"name": "某人", "phone": "13900000001", "relation": "owner", "admin": True}, "admin"),
    ],
)
def test_bad_resident_input(client, world, api_token, body, field):
    before = counts()
    response = client.post(
        f"/api/v1/units/{world.unit.id}/residents", json=body, headers=api_token("frontdesk")
    )
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert counts() == before


def test_forged_ids_answer_404(client, world, api_token):
    headers = api_token("frontdesk")
    body = {"name": "某人", "phone": "13900000001", "relation": "owner"}
    theirs = make_resident(world.other_unit, name="外人", phone="13900000099")
    other_residency = db.session.scalar(select(Residency).where(Residency.user_id == theirs.id))
    neighbour = db.session.scalar(select(Residency).where(Residency.user_id == world.resident2.id))
    db.session.commit()
    before = counts()
    calls = [
        ("post", f"/api/v1/units/{world.other_unit.id}/residents", body),
        ("post", f"/api/v1/units/{2**31}/residents", body),
        ("post", f"/api/v1/units/{2**31 - 1}/residents", body),
        (
            "post",
            f"/api/v1/units/{world.unit.id}/residents/{neighbour.id}/end",
            {"on": "2026-11-23"},
        ),
        (
            "post",
            f"/api/v1/units/{world.other_unit.id}/residents/{other_residency.id}/end",
            {"on": "2026-11-23"},
        ),
        ("post", f"/api/v1/units/{world.unit.id}/residents/{2**31}/end", {"on": "2026-11-23"}),
        (
            "post",
            f"/api/v1/units/{world.other_unit.id}/occupancy",
            {"occupancy": "vacant", "from": "2026-11-20"},
        ),
        ("get", f"/api/v1/units/{world.other_unit.id}/residencies", None),
        ("get", f"/api/v1/units/{world.other_unit.id}/occupancy-history", None),
        ("patch", f"/api/v1/people/{theirs.id}", {"phone": "13900000098"}),
        ("patch", f"/api/v1/people/{world.frontdesk.id}", {"phone": "13900000098"}),
        ("patch", f"/api/v1/people/{2**31}", {"phone": "13900000098"}),
        ("patch", "/api/v1/people/99999999999999999999", {"phone": "13900000098"}),
    ]
    for method, url, payload in calls:
        response = getattr(client, method)(url, json=payload, headers=headers)
        assert response.status_code == 404, (url, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found"
    assert counts() == before


def test_a_nul_byte_is_a_clear_400(client, world, api_token):
    before = counts()
    response = client.post(
        f"/api/v1/units/{world.unit.id}/residents",
        json={"name": "某\x00人", "phone": "13900000001", "relation": "owner"},
        headers=api_token("frontdesk"),
    )
    assert response.status_code == 400
    assert counts() == before


def test_roles(client, world, api_token):
    body = {"name": "某人", "phone": "13900000001", "relation": "owner"}
    url = f"/api/v1/units/{world.unit.id}/residents"
    for login in ("resident", "technician"):
        response = client.post(url, json=body, headers=api_token(login))
        assert response.status_code == 403, login
    butler = make_staff("zone_butler", world.estate, username="butler_a")
    butler.staff_role.zone_id = world.unit.building.zone_id  # A区, where the unit is
    db.session.commit()
    response = client.post(url, json=body, headers=api_token(butler.username))
    assert response.status_code == 201
    admin = client.post(
        f"/api/v1/units/{world.unit.id}/occupancy",
        json={"occupancy": "renovating", "from": "2026-11-23"},
        headers=api_token("admin"),
    )
    assert admin.status_code == 200


def test_the_documented_values_are_the_models(client):
    assert set(s.RelationCode.__args__) == {r.value for r in Relation}
    assert set(s.OccupancyCode.__args__) == {o.value for o in Occupancy}
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    created = paths["/api/v1/units/{unit_id}/residents"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(created)
    assert "409" in paths["/api/v1/people/{person_id}"]["patch"]["responses"]
    assert "/api/v1/units/{unit_id}/residents/{residency_id}/end" in paths
    assert "/api/v1/units/{unit_id}/occupancy" in paths


def test_a_second_unit_of_a_staff_made_person_counts_for_the_estate_only(world):
    """Nothing of another estate decides who a phone belongs to here."""
    unit = make_unit(world.other, zone="一区", building="9栋", number="902")
    make_resident(unit, name="他人", phone="13600000001", relation=Relation.owner)
    from portal.core import residents

    residency = residents.add_resident(
        world.unit2, name="本人", phone="13600000001", relation="family", actor=world.frontdesk
    )
    assert residency.user.name == "本人"
