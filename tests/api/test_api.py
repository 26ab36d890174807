"""JSON API v1: tokens, errors, paging, me, units, staff, OpenAPI."""

import re
from datetime import timedelta

from openapi_spec_validator import validate
from sqlalchemy import select

from portal.core import clock
from portal.core.tokens import ApiToken
from portal.extensions import db


def test_token_is_issued_stored_hashed_and_revocable(client, world):
    response = client.post(
        "/api/v1/auth/token", json={"username": "frontdesk", "password": "portal-demo"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {
        "id": world.frontdesk.id,
        "name": world.frontdesk.name,
        "role": "frontdesk",
    }
    assert "+00:00" in body["expires_at"] or body["expires_at"].endswith("Z")
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored) == 1
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).get_json() == {"revoked": True}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_by_phone_number(client, world):
    response = client.post(
        "/api/v1/auth/token", json={"username": "13800000003", "password": "portal-demo"}
    )
    assert response.get_json()["user"]["id"] == world.resident2.id


def test_expired_token_is_refused(client, api_token):
    headers = api_token("resident")
    clock.freeze(clock.now() + timedelta(days=31))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_bad_credentials_and_bad_bodies(client, world):
    wrong = client.post("/api/v1/auth/token", json={"username": "resident", "password": "x"})
    assert wrong.status_code == 401
    assert set(wrong.get_json()["error"]) == {"code", "message", "fields"}
    missing = client.post("/api/v1/auth/token", json={"username": "resident"})
    assert missing.status_code == 400
    assert "password" in missing.get_json()["error"]["fields"]
    extra = client.post(
        "/api/v1/auth/token", json={"username": "a", "password": "b", "admin": True}
    )
    assert "admin" in extra.get_json()["error"]["fields"]
    not_json = client.post(
        "/api/v1/auth/token", data="username=a", content_type="application/x-www-form-urlencoded"
    )
    assert not_json.status_code == 400


def test_garbage_tokens_are_401_not_500(client, world):
    for token in ("", "x", "a" * 5000, "\u0000bad"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_me_for_a_resident_lists_current_units(client, world, api_token):
    body = client.get("/api/v1/me", headers=api_token("resident")).get_json()
    assert body["role"] == "resident"
    assert body["estate"] == {"id": world.estate.id, "name": "测试花园"}
    assert [u["id"] for u in body["units"]] == [world.unit.id]
    unit = body["units"][0]
    assert unit["label"] == "A区 1栋 1单元101" and unit["area_m2"] == "89.50"
    assert unit["occupancy"] == "occupied_renovated"


def test_me_for_company_wide_admin(client, api_token):
    body = client.get("/api/v1/me", headers=api_token("admin")).get_json()
    assert body["role"] == "admin" and body["estate"] is None and body["units"] == []


def test_unit_search_by_room_name_and_phone(client, world, api_token):
    headers = api_token("frontdesk")

    def ids(**params):
        response = client.get("/api/v1/units", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        return {u["id"] for u in response.get_json()["items"]}

    assert ids(q="1201") == {world.vacant.id}
    assert ids(q="陈业主") == {world.unit.id}
    assert ids(q="13800000003") == {world.unit2.id}
    assert ids(q="1栋 2单元") == {world.unit2.id}
    assert ids(q="%") == set()  # LIKE wildcards are literal
    assert ids() == {world.unit.id, world.unit2.id, world.vacant.id}  # not the other estate
    zone_b = world.vacant.building.zone_id
    assert ids(zone=zone_b) == {world.vacant.id}
    assert ids(building=world.unit.building_id) == {world.unit.id, world.unit2.id}


def test_list_shape_and_paging(client, world, api_token):
    headers = api_token("frontdesk")
    body = client.get("/api/v1/units?per_page=2&page=2", headers=headers).get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"], len(body["items"])) == (2, 2, 3, 1)
    too_many = client.get("/api/v1/units?per_page=1000", headers=headers)
    assert too_many.status_code == 400 and "per_page" in too_many.get_json()["error"]["fields"]
    bad = client.get("/api/v1/units?zone=abc", headers=headers)
    assert bad.status_code == 400 and "zone" in bad.get_json()["error"]["fields"]


def test_unit_detail_with_residents_and_404_for_others(client, world, api_token):
    staff = client.get(f"/api/v1/units/{world.unit.id}", headers=api_token("frontdesk"))
    residents = staff.get_json()["residents"]
    assert {r["name"] for r in residents} == {"陈业主", "陈家属"}
    assert all(r["phone"] for r in residents)
    own = client.get(f"/api/v1/units/{world.unit.id}", headers=api_token("resident")).get_json()
    assert all(r["phone"] is None for r in own["residents"])  # residents see names only
    for url, who in (
        (f"/api/v1/units/{world.unit2.id}", "resident"),
        (f"/api/v1/units/{world.unit.id}", "frontdesk_other"),
        ("/api/v1/units/999999", "frontdesk"),
    ):
        response = client.get(url, headers=api_token(who))
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_staff_by_role(client, world, api_token):
    body = client.get("/api/v1/staff?role=technician", headers=api_token("supervisor")).get_json()
    assert [s["id"] for s in body["items"]] == [world.technician.id]
    all_staff = client.get("/api/v1/staff", headers=api_token("frontdesk")).get_json()
    assert world.other_frontdesk.id not in {s["id"] for s in all_staff["items"]}
    company = client.get("/api/v1/staff?per_page=100", headers=api_token("admin")).get_json()
    assert world.other_frontdesk.id in {s["id"] for s in company["items"]}
    bad = client.get("/api/v1/staff?role=wizard", headers=api_token("frontdesk"))
    assert bad.status_code == 400 and "role" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/staff", headers=api_token("resident")).status_code == 403


def test_unknown_api_path_and_method_answer_json(client, world):
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    assert client.put("/api/v1/me").status_code == 405


def test_openapi_document_is_valid_and_covers_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    units = doc["paths"]["/api/v1/units"]["get"]
    assert {p["name"] for p in units["parameters"]} >= {"zone", "building", "q", "page", "per_page"}


def test_cookie_session_writes_to_the_api_need_csrf(client, login_as, csrf_on):
    login_as_csrf = client.get("/auth/login").get_data(as_text=True)
    assert "csrf_token" in login_as_csrf
    # Signed in by cookie, a DELETE without a CSRF token is refused.
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_as_csrf).group(1)
    client.post(
        "/auth/login", data={"login": "resident", "password": "portal-demo", "csrf_token": token}
    )
    assert client.delete("/api/v1/auth/token").status_code == 400
