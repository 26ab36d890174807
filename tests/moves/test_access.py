"""Who reaches each moves route, with a move-in and a move-out of resident2's unit: the rows
this line adds to tests/core/test_access_matrix.py, checked here on their own."""

import pytest

from portal.extensions import db
from tests.factories import make_staff, make_zone_butler

LOGINS = (
    "anon",
    "resident",
    "resident2",
    "frontdesk",
    "technician",
    "supervisor",
    "manager",
    "admin",
    "frontdesk_other",
    "zone_butler",
    "guard",
)


def row(anon, resident, staff, *, other=None, guard=403):
    """Expected status per login: the desk (frontdesk, supervisor, manager, admin, the zone
    butler of resident2's zone) gets `staff`, the technician 403 like residents."""
    return (
        anon,
        resident,
        resident,
        staff,
        resident,
        staff,
        staff,
        staff,
        staff if other is None else other,
        staff,
        guard,
    )


EXPECT = {
    ("GET", "/moves/"): row(302, 403, 200),
    ("GET", "/moves/in/new"): row(302, 403, 200),
    ("POST", "/moves/in/new"): row(302, 403, 400),
    ("GET", "/moves/out/new"): row(302, 403, 200),
    ("POST", "/moves/out/new"): row(302, 403, 400),
    ("GET", "/moves/in/{move_in}"): row(302, 403, 200, other=404),
    ("GET", "/moves/out/{move_out}"): row(302, 403, 200, other=404),
    ("POST", "/moves/in/{move_in}/act/start"): row(302, 403, 303, other=404),
    ("POST", "/moves/out/{move_out}/act/start"): row(302, 403, 303, other=404),
    ("POST", "/moves/out/{move_out}/goods-pass"): row(302, 403, 400, other=404),
    ("POST", "/api/v1/move-ins"): row(401, 403, 400),
    ("GET", "/api/v1/move-ins"): row(401, 403, 200),
    ("GET", "/api/v1/move-ins/{move_in}"): row(401, 403, 200, other=404),
    ("POST", "/api/v1/move-ins/{move_in}/start"): row(401, 403, 409, other=404),
    ("POST", "/api/v1/move-outs"): row(401, 403, 400),
    ("GET", "/api/v1/move-outs"): row(401, 403, 200),
    ("GET", "/api/v1/move-outs/{move_out}"): row(401, 403, 200, other=404),
    ("POST", "/api/v1/move-outs/{move_out}/start"): row(401, 403, 409, other=404),
}


def resident2_moves(client, api_token, world):
    desk = api_token("frontdesk")
    move_in = client.post(
        "/api/v1/move-ins",
        json={
            "unit_id": world.unit2.id,
            "on": "2026-11-23",
            "people": [{"name": "林家人", "phone": "13900004444", "relation": "family"}],
        },
        headers=desk,
    ).get_json()["id"]
    move_out = client.post(
        "/api/v1/move-outs", json={"unit_id": world.unit2.id, "on": "2026-11-23"}, headers=desk
    ).get_json()["id"]
    return {"move_in": move_in, "move_out": move_out}


@pytest.mark.parametrize("login", LOGINS)
def test_each_route_answers_each_login_as_declared(client, world, login_as, api_token, login):
    ids = resident2_moves(client, api_token, world)
    make_zone_butler(world)
    make_staff("guard", world.estate, username="guard")
    db.session.commit()
    if login != "anon":
        login_as(login)
    wrong = []
    for (method, path), expected in EXPECT.items():
        url = path.format(**ids)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        want = expected[LOGINS.index(login)]
        if response.status_code != want:
            wrong.append(f"{method} {url}: {response.status_code}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_a_zone_butler_reaches_no_move_of_another_zone(client, world, login_as, api_token):
    desk = api_token("frontdesk")
    move_in = client.post(
        "/api/v1/move-ins",
        json={
            "unit_id": world.vacant.id,
            "on": "2026-11-23",
            "people": [{"name": "乙", "phone": "13900005555", "relation": "owner"}],
        },
        headers=desk,
    ).get_json()["id"]
    make_zone_butler(world)
    login_as("zone_butler")
    for method, url in (
        ("GET", f"/moves/in/{move_in}"),
        ("POST", f"/moves/in/{move_in}/act/start"),
        ("GET", f"/api/v1/move-ins/{move_in}"),
        ("POST", f"/api/v1/move-ins/{move_in}/start"),
    ):
        assert client.open(url, method=method, data={}).status_code == 404, url
    response = client.post(
        "/api/v1/move-ins",
        json={
            "unit_id": world.vacant.id,
            "on": "2026-11-23",
            "people": [{"name": "丙", "phone": "13900005556", "relation": "owner"}],
        },
    )
    assert response.status_code == 404
