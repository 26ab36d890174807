"""GET /api/v1/units/{id}/cards (contracts §8) and reporting a card lost."""

from datetime import date

import pytest

from portal.blueprints.custody import services
from portal.extensions import db

TODAY = date(2026, 11, 23)


@pytest.fixture
def cards(world):
    made = services.issue_cards(
        world.unit,
        [{"number": "A1", "kind": "access"}, {"number": "P1", "kind": "parking"}],
        date(2026, 11, 1),
        actor=world.frontdesk,
    )
    services.return_cards(world.unit, ["A1"], TODAY, actor=world.frontdesk)
    db.session.commit()
    return made


def test_a_units_cards_exactly_as_the_contract_says(client, api_token, world, cards):
    for who in ("resident", "frontdesk", "manager", "admin"):
        r = client.get(f"/api/v1/units/{world.unit.id}/cards", headers=api_token(who))
        assert r.status_code == 200, who
        assert r.get_json() == {
            "items": [
                {"number": "P1", "kind": "parking", "status": "issued", "issued_on": "2026-11-01"},
                {"number": "A1", "kind": "access", "status": "returned", "issued_on": "2026-11-01"},
            ]
        }


@pytest.mark.parametrize(
    "who, status",
    [("resident2", 404), ("frontdesk_other", 404), ("guard", 403)],
)
def test_others_do_not_see_the_cards(client, api_token, world, cards, who, status):
    if who == "guard":
        from tests.factories import make_staff

        make_staff("guard", world.estate, username="guard")
        db.session.commit()
    r = client.get(f"/api/v1/units/{world.unit.id}/cards", headers=api_token(who))
    assert r.status_code == status
    assert "A1" not in r.text


def test_bad_ids_are_404(client, api_token, world):
    headers = api_token("frontdesk")
    assert client.get(f"/api/v1/units/{2**31}/cards", headers=headers).status_code == 404
    assert client.get("/api/v1/units/0/cards", headers=headers).status_code == 404
    assert client.get("/api/v1/units/1/cards").status_code == 401


def test_a_resident_reports_their_card_lost(client, api_token, world, cards):
    headers = api_token("resident")
    url = f"/api/v1/units/{world.unit.id}/cards/p1/lost"
    r = client.post(url, json={}, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {
        "number": "P1",
        "kind": "parking",
        "status": "lost",
        "issued_on": "2026-11-01",
    }
    again = client.post(url, json={}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["fields"] == {"cards": ["P1"]}
    assert (
        client.post(
            f"/api/v1/units/{world.unit.id}/cards/ZZ/lost", json={}, headers=headers
        ).status_code
        == 404
    )
    other = api_token("resident2")
    assert client.post(url, json={}, headers=other).status_code == 404


@pytest.mark.parametrize(
    "body, status",
    [
        ({"on": "soon"}, 400),
        ({"on": "2026-12-01"}, 400),  # after today
        ({"extra": 1}, 400),
        ({"on": "2026-11-23\x00"}, 400),
    ],
)
def test_bad_lost_reports_are_400(client, api_token, world, cards, body, status):
    r = client.post(
        f"/api/v1/units/{world.unit.id}/cards/P1/lost", json=body, headers=api_token("frontdesk")
    )
    assert r.status_code == status
    assert services.find_card(world.unit.id, "P1").status == "issued"


def test_a_nul_byte_in_the_number_is_refused(client, api_token, world, cards):
    r = client.post(
        f"/api/v1/units/{world.unit.id}/cards/P1%00/lost", json={}, headers=api_token("frontdesk")
    )
    assert r.status_code in (400, 404)


def test_the_matrix_call_with_a_form_body_is_a_clear_answer(client, api_token, world, cards):
    headers = api_token("frontdesk")
    url = f"/api/v1/units/{world.unit.id}/cards/P1/lost"
    assert client.post(url, data={"on": "x"}, headers=headers).status_code == 400
    assert (
        client.post(url, data="[1]", content_type="application/json", headers=headers).status_code
        == 400
    )
    assert client.post(url, headers=headers).status_code == 200


def test_the_openapi_document_names_the_card_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/units/{unit_id}/cards" in paths
    assert "post" in paths["/api/v1/units/{unit_id}/cards/{number}/lost"]
