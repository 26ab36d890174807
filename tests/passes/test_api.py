"""The passes API (contracts §8): shapes, statuses, who may do what, and bad input."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.passes.models import Pass, PassCheck
from portal.core import clock
from portal.extensions import db


def when(hours=0):
    return (clock.now() + timedelta(hours=hours)).isoformat()


def goods_body(unit_id, **overrides):
    return {
        "kind": "goods",
        "unit_id": unit_id,
        "valid_from": when(0),
        "valid_until": when(6),
        "items": [{"name": "沙发", "quantity": 1}, {"name": "冰箱", "quantity": 1}],
        "plate": "沪A 12345",
        **overrides,
    }


def visitor_body(unit_id, **overrides):
    return {
        "kind": "visitor",
        "unit_id": unit_id,
        "valid_from": when(0),
        "valid_until": when(6),
        "people": [{"name": "王五", "phone": "139 0000 0001"}],
        **overrides,
    }


@pytest.fixture
def api(client, api_token):
    """api(method, path, username, json=None) → response."""

    def call(method, path, username, json=None):
        return client.open("/api/v1" + path, method=method, json=json, headers=api_token(username))

    return call


def test_the_desk_issues_a_pass_with_the_contract_s_shape(api, world):
    response = api("POST", "/passes", "frontdesk", goods_body(world.unit2.id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {"id", "code", "kind", "status", "valid_from", "valid_until"} <= set(body)
    assert body["kind"] == "goods" and body["status"] == "active"
    assert body["plate"] == "沪A12345" and body["number"].startswith("FX")
    assert body["valid_from"].endswith(("Z", "+00:00"))
    assert body["items"] == [{"name": "沙发", "quantity": 1}, {"name": "冰箱", "quantity": 1}]
    got = api("GET", f"/passes/{body['id']}", "frontdesk").get_json()
    assert got == body
    assert api("GET", f"/passes/{body['id']}", "resident2").status_code == 200
    assert api("GET", f"/passes/{body['id']}", "resident").status_code == 404
    assert api("GET", f"/passes/{body['id']}", "frontdesk_other").status_code == 404


def test_a_tenant_asks_the_owner_approves_the_neighbour_cannot(api, world, tenant):
    asked = api("POST", "/passes", "tenant", goods_body(world.unit2.id)).get_json()
    assert asked["status"] == "pending"
    assert api("POST", f"/passes/{asked['id']}/approve", "tenant").status_code == 403
    assert api("POST", f"/passes/{asked['id']}/approve", "resident").status_code == 404
    approved = api("POST", f"/passes/{asked['id']}/approve", "resident2")
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"
    again = api("POST", f"/passes/{asked['id']}/approve", "resident2")
    assert again.status_code == 409


def test_a_resident_asks_for_no_pass_of_another_unit(api, world):
    response = api("POST", "/passes", "resident", goods_body(world.unit2.id))
    assert response.status_code == 404
    response = api("POST", "/passes", "resident", visitor_body(world.unit.id, kind="worker"))
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(Pass.id))) == 1 - 1


def test_the_gate_checks_once_then_used_unknown_and_another_estate(api, world, guard, other_guard):
    made = api("POST", "/passes", "frontdesk", goods_body(world.unit2.id)).get_json()
    first = api("POST", "/passes/check", "guard", {"code": made["code"]})
    assert first.status_code == 200
    body = first.get_json()
    assert body["valid"] is True and body["pass"]["id"] == made["id"]
    assert body["pass"]["status"] == "used"
    second = api("POST", "/passes/check", "guard", {"code": made["number"]})
    assert second.status_code == 409
    refused = second.get_json()
    assert refused["error"]["fields"] == {"code": "used"} and refused["valid"] is False
    assert refused["pass"]["number"] == made["number"]
    unknown = api("POST", "/passes/check", "guard", {"code": "no-such-code-000"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    elsewhere = api("POST", "/passes/check", "guard_other", {"code": made["code"]})
    assert elsewhere.status_code == 404
    assert db.session.scalar(select(func.count(PassCheck.id))) == 4


def test_check_answers_409_early_late_pending_and_revoked(api, world, guard, tenant):
    early = api(
        "POST", "/passes", "frontdesk", visitor_body(world.unit2.id, valid_from=when(2))
    ).get_json()
    pending = api("POST", "/passes", "tenant", goods_body(world.unit2.id)).get_json()
    revoked = api("POST", "/passes", "frontdesk", visitor_body(world.unit2.id)).get_json()
    response = api("POST", f"/passes/{revoked['id']}/revoke", "frontdesk", {"reason": "取消"})
    assert response.status_code == 200 and response.get_json()["status"] == "revoked"
    for made, result in ((early, "outside_window"), (pending, "pending"), (revoked, "revoked")):
        response = api("POST", "/passes/check", "guard", {"code": made["code"]})
        assert response.status_code == 409
        assert response.get_json()["error"]["fields"] == {"code": result}
    clock.freeze(clock.now() + timedelta(hours=9))  # after every window
    late = api("POST", "/passes/check", "frontdesk", {"code": early["number"]})
    assert late.status_code == 409 and late.get_json()["result"] == "outside_window"


def test_roles(api, world, guard):
    assert api("POST", "/passes", "guard", visitor_body(world.unit2.id)).status_code == 403
    assert api("GET", "/passes", "guard").status_code == 403
    assert api("POST", "/passes", "technician", visitor_body(world.unit2.id)).status_code == 403
    assert api("POST", "/passes/check", "technician", {"code": "x" * 16}).status_code == 403
    assert api("POST", "/passes/check", "resident", {"code": "x" * 16}).status_code == 403


def test_the_list_and_its_filters(api, world):
    api("POST", "/passes", "frontdesk", goods_body(world.unit2.id))
    api("POST", "/passes", "frontdesk", visitor_body(world.unit2.id))
    api("POST", "/passes", "frontdesk", visitor_body(world.unit.id))
    listed = api("GET", "/passes", "frontdesk").get_json()
    assert listed["total"] == 3 and listed["page"] == 1 and len(listed["items"]) == 3
    assert api("GET", "/passes?kind=visitor", "frontdesk").get_json()["total"] == 2
    assert api("GET", "/passes?status=used", "frontdesk").get_json()["total"] == 0
    today = clock.local_today().isoformat()
    assert api("GET", f"/passes?day={today}", "frontdesk").get_json()["total"] == 3
    assert api("GET", "/passes?day=2020-01-01", "frontdesk").get_json()["total"] == 0
    mine = api("GET", "/passes", "resident2").get_json()
    assert mine["total"] == 2 and {p["unit_id"] for p in mine["items"]} == {world.unit2.id}
    assert api("GET", "/passes", "frontdesk_other").get_json()["total"] == 0
    assert api("GET", "/passes?kind=parcel", "frontdesk").status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "parcel"}, "kind"),
        ({"unit_id": 2**31}, "unit_id"),
        ({"unit_id": -1}, "unit_id"),
        ({"valid_until": "yesterday"}, "valid_until"),
        ({"items": [{"name": "床", "quantity": 0}]}, "items.quantity"),
        ({"items": [{"name": "床", "quantity": 1, "price": 3}]}, "items.price"),
        ({"surprise": 1}, "surprise"),
        ({"plate": "x" * 40}, "plate"),
    ],
)
def test_bad_bodies_answer_400_naming_the_field(api, world, body, field):
    response = api("POST", "/passes", "frontdesk", {**goods_body(world.unit2.id), **body})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_window_rules_answer_400(api, world):
    reversed_ = goods_body(world.unit2.id, valid_from=when(5), valid_until=when(1))
    response = api("POST", "/passes", "frontdesk", reversed_)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"valid_until": "before_start"}
    too_long = goods_body(world.unit2.id, valid_until=when(24 * 5))
    assert api("POST", "/passes", "frontdesk", too_long).get_json()["error"]["fields"] == {
        "valid_until": "too_long"
    }
    naive = goods_body(world.unit2.id, valid_from="2026-11-23T12:00:00")
    assert api("POST", "/passes", "frontdesk", naive).status_code == 400
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_nul_bytes_and_huge_ids(api, world, guard):
    response = api("POST", "/passes/check", "guard", {"code": "abc\x00def12345678"})
    assert response.status_code == 400
    response = api(
        "POST", "/passes", "frontdesk", goods_body(world.unit2.id, items=[{"name": "a\x00"}])
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(PassCheck.id))) == 0
    for path in ("/passes/2147483648", "/passes/99999999999999999999", "/passes/0"):
        assert api("GET", path, "frontdesk").status_code == 404
        assert api("GET", path + ".pdf", "frontdesk").status_code == 404
    assert api("POST", "/passes/2147483648/approve", "frontdesk").status_code == 404
    assert api("POST", "/passes/check", "guard", {"code": ""}).status_code == 400
    assert api("POST", "/passes/check", "guard", {}).status_code == 400


def test_revoke_needs_a_reason_and_a_live_pass(api, world):
    made = api("POST", "/passes", "frontdesk", visitor_body(world.unit2.id)).get_json()
    assert api("POST", f"/passes/{made['id']}/revoke", "frontdesk", {}).status_code == 400
    assert api("POST", f"/passes/{made['id']}/revoke", "resident", {"reason": "x"}).status_code == (
        404
    )
    assert api(
        "POST", f"/passes/{made['id']}/revoke", "resident2", {"reason": "不来了"}
    ).status_code == (200)
    again = api("POST", f"/passes/{made['id']}/revoke", "frontdesk", {"reason": "x"})
    assert again.status_code == 409


def test_the_openapi_document_lists_the_pass_calls(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/passes", "/api/v1/passes/check", "/api/v1/passes/{pass_id}.pdf"} <= set(paths)
    assert set(paths["/api/v1/passes/check"]["post"]["responses"]) >= {"200", "404", "409"}
