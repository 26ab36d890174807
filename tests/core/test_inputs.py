"""No input answers 500: ids beyond a database column, NUL bytes and broken characters,
foreign signatures, overlong addresses and wrong methods get a 400/404/405/414 in the usual
shape (the probe's reproducers, contracts §5)."""

import re

import pytest

from portal.core.access import MAX_ID

TOO_BIG = MAX_ID + 1
ENGLISH = {"Accept-Language": "en"}


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


def int_rules(app):
    """Every route with an `<int:...>` part, filled with a number one past any id."""
    for rule in app.url_map.iter_rules():
        if "<int:" in rule.rule and "GET" in rule.methods:
            yield re.sub(r"<int:\w+>", str(TOO_BIG), re.sub(r"<(?:\w+:)?\w+>", "x", rule.rule))


def test_ids_past_a_database_column_in_any_path_are_404(app, client, login_as, api_token):
    assert error_of(client.get(f"/api/v1/repairs/{TOO_BIG}", headers=api_token("admin")), 404)
    assert client.get("/api/v1/repairs/" + "9" * 500).status_code == 404
    login_as("admin")
    for path in int_rules(app):
        assert client.get(path).status_code == 404, path


def test_ids_past_a_database_column_in_queries(client, login_as, api_token):
    staff = api_token("admin")
    error = error_of(client.get(f"/api/v1/units?zone={TOO_BIG}", headers=staff), 400)
    assert "zone" in error["fields"]
    error = error_of(client.get(f"/api/v1/arrears?estate={TOO_BIG}", headers=staff), 400)
    assert "estate" in error["fields"]
    login_as("admin")  # the pages ignore what is no id
    query = f"zone={TOO_BIG}&building={TOO_BIG}&unit={TOO_BIG}&estate={TOO_BIG}"
    for path in ("/units/", "/repairs/new", "/complaints/new", "/reports/arrears", "/fees/calls"):
        assert client.get(f"{path}?{query}").status_code == 200, path
    assert client.get(f"/notices/new?unit={TOO_BIG}").status_code == 200


def test_ids_past_a_database_column_in_bodies(client, world, api_token):
    staff = api_token("frontdesk")
    bodies = {
        "/api/v1/repairs": {
            "category": "civil",
            "location": "unit",
            "description": "x",
            "unit_id": TOO_BIG,
            "reporter_id": TOO_BIG,
        },
        "/api/v1/complaints": {"category": "fees", "content": "x", "repair_id": TOO_BIG},
        "/api/v1/payments": {
            "unit_id": TOO_BIG,
            "amount": "1",
            "method": "cash",
            "idempotency_key": "k",
        },
        "/api/v1/notices": {"title": "t", "body": "b", "unit_ids": [TOO_BIG], "channels": ["app"]},
    }
    for path, body in bodies.items():
        error = error_of(client.post(path, headers=staff, json=body), 400)
        assert any(name.endswith("_id") or name.endswith("_ids") for name in error["fields"])


def test_ids_past_a_database_column_in_action_bodies(client, world, api_token):
    staff = api_token("supervisor")
    repair = {"category": "civil", "location": "common", "description": "灯坏了"}
    repair_id = client.post("/api/v1/repairs", headers=staff, json=repair).get_json()["id"]
    response = client.post(
        f"/api/v1/repairs/{repair_id}/assign", headers=staff, json={"technician_id": TOO_BIG}
    )
    assert "technician_id" in error_of(response, 400)["fields"]
    complaint = {"category": "fees", "content": "收费不清", "unit_id": world.unit.id}
    complaint_id = client.post("/api/v1/complaints", headers=staff, json=complaint).get_json()["id"]
    response = client.post(
        f"/api/v1/complaints/{complaint_id}/hand-over",
        headers=staff,
        json={"to_user_id": TOO_BIG, "reason": "转交"},
    )
    assert "to_user_id" in error_of(response, 400)["fields"]


def test_page_numbers_past_any_page_are_400(client, login_as):
    login_as("admin")
    for path in ("/units/", "/repairs/", "/complaints/", "/admin/audit", "/reports/arrears"):
        assert client.get(f"{path}?page=99999999999999999999").status_code == 400, path


@pytest.mark.parametrize(
    "method, path, kwargs, part",
    [
        ("get", "/api/v1/units?q=a%00b", {}, "query"),
        ("get", "/api/v1/receipts/SJ%00.pdf", {}, "path"),
        (
            "post",
            "/api/v1/repairs",
            {"json": {"category": "civil", "location": "common", "description": "a\x00b"}},
            "body",
        ),
        (
            "post",
            "/api/v1/repairs",
            {
                "data": '{"category": "civil", "location": "common", "description": "\\ud800"}',
                "content_type": "application/json",
            },
            "body",
        ),
    ],
)
def test_nul_bytes_and_broken_characters_are_400_in_the_api(
    client, api_token, method, path, kwargs, part
):
    response = getattr(client, method)(path, headers=api_token("frontdesk"), **kwargs)
    assert error_of(response, 400)["fields"] == {part: "unstorable_character"}


def test_nul_bytes_in_pages_and_forms_are_400_with_a_message(client, login_as):
    login_as("frontdesk")
    english = {"Accept-Language": "en"}
    page = client.get("/units/?q=a%00b", headers=english)
    assert page.status_code == 400 and "cannot be stored" in page.get_data(as_text=True)
    form = {"category": "civil", "location": "common", "description": "墙\x00裂了"}
    page = client.post("/repairs/new", data=form, headers=english)
    assert page.status_code == 400 and "cannot be stored" in page.get_data(as_text=True)


def test_a_foreign_signature_on_the_payment_callback_is_400(client):
    body = {"order_no": "X1", "status": "SUCCESS", "amount": "1.00", "sign": "签名" * 10}
    error = error_of(client.post("/api/v1/payments/callback/sandbox", json=body), 400)
    assert error["code"] == "bad_request"


def test_wrong_method_is_405_in_the_usual_shape_with_allow(client, world):
    response = client.put("/api/v1/me")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_an_overlong_address_is_414_in_the_usual_shape(client, api_token):
    response = client.get("/api/v1/units?q=" + "a" * 5000, headers=api_token("frontdesk"))
    assert error_of(response, 414)["code"] == "uri_too_long"


def test_ids_past_a_database_column_in_forms_are_refused(client, world, login_as):
    login_as("frontdesk")
    forms = {
        "/repairs/new": {"category": "civil", "location": "unit", "description": "x"},
        "/complaints/new": {"category": "fees", "content": "x", "kind": "complaint"},
    }
    for path, form in forms.items():
        for field in ("unit", "reporter"):
            page = client.post(path, data={**form, field: str(TOO_BIG)}, headers=ENGLISH)
            assert page.status_code == 400, (path, field)
    form = {"title": "t", "body": "b", "channels": ["app"], "zones": [str(TOO_BIG)]}
    assert client.post("/notices/new", data=form).status_code == 400
