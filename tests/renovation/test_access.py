"""Who reaches each renovation route, with an approved renovation of resident2's unit: the
rows this line adds to tests/core/test_access_matrix.py, checked here on their own."""

import pytest

from portal.extensions import db
from tests.factories import make_staff, make_zone_butler
from tests.renovation.helpers import apply, approved

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


def row(anon, resident, resident2, staff, *, technician=None, other=None, guard=403):
    """Expected status per login: staff of the estate (and the butler of resident2's zone)
    get `staff`, the technician the same unless said, the gate guard 403 (no renovation
    route names them)."""
    return (
        anon,
        resident,
        resident2,
        staff,
        staff if technician is None else technician,
        staff,
        staff,
        staff,
        staff if other is None else other,
        staff,
        guard,
    )


EXPECT = {
    ("GET", "/renovations/"): row(302, 200, 200, 200),
    ("GET", "/renovations/new"): row(302, 200, 200, 200, technician=403),
    ("POST", "/renovations/new"): row(302, 400, 400, 400, technician=403),
    ("GET", "/renovations/{r}"): row(302, 404, 200, 200, other=404),
    ("POST", "/renovations/{r}/act/start"): row(302, 404, 303, 303, other=404),
    ("GET", "/renovations/{r}/permit.pdf"): row(302, 404, 200, 200, other=404),
    ("POST", "/api/v1/renovations"): row(401, 400, 400, 400, technician=403),
    ("GET", "/api/v1/renovations"): row(401, 200, 200, 200),
    ("GET", "/api/v1/renovations/{r}"): row(401, 404, 200, 200, other=404),
    ("POST", "/api/v1/renovations/{r}/start"): row(401, 404, 409, 409, other=404),
}


@pytest.mark.parametrize("login", LOGINS)
def test_each_route_answers_each_login_as_declared(client, world, login_as, api_token, login):
    renovation = approved(client, api_token, world.unit2.id)["id"]
    make_zone_butler(world)
    make_staff("guard", world.estate, username="guard")
    db.session.commit()
    client.post("/auth/logout")
    if login != "anon":
        login_as(login)
    wrong = []
    for (method, path), expected in EXPECT.items():
        url = path.format(r=renovation)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        want = expected[LOGINS.index(login)]
        if response.status_code != want:
            wrong.append(f"{method} {url}: {response.status_code}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_a_zone_butler_reaches_no_renovation_of_another_zone(client, world, login_as, api_token):
    from tests.factories import make_resident

    make_resident(world.vacant, phone="13900005557")
    db.session.commit()
    renovation = apply(client, api_token("frontdesk"), world.vacant.id)["id"]
    make_zone_butler(world)
    login_as("zone_butler")
    for method, url in (
        ("GET", f"/renovations/{renovation}"),
        ("POST", f"/renovations/{renovation}/act/cancel"),
        ("GET", f"/api/v1/renovations/{renovation}"),
        ("POST", f"/api/v1/renovations/{renovation}/cancel"),
    ):
        assert client.open(url, method=method, data={}).status_code == 404, url
    listing = client.get("/api/v1/renovations").get_json()
    assert listing["total"] == 0
