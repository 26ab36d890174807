"""Edges of the gate found in review: a number names a pass of the estate the checker acts
for, the check answers without the pass's code or the people's phones, days beyond the
calendar's reach are refused, a let unit's goods wait for the owner, a zone butler's log
keeps to their zones, and a check of nothing is logged for the estate acted for."""

from sqlalchemy import select

from portal.blueprints.passes.models import Pass, PassCheck
from portal.blueprints.passes.services import check_pass
from portal.core.people import Relation
from portal.extensions import db
from tests.passes.conftest import window


def test_a_company_wide_checker_uses_up_the_pass_of_the_estate_they_act_for(world, issue):
    other = issue(kind="goods", unit=world.other_unit, actor=world.other_frontdesk)
    mine = issue(kind="goods", unit=world.unit2, actor=world.frontdesk)
    assert other.number == mine.number  # numbers are gap-free per estate
    db.session.commit()
    result, found = check_pass(mine.number, actor=world.admin)
    assert result.value == "valid" and found.id == mine.id
    db.session.refresh(other)
    assert other.status == "active"


def test_the_check_answers_without_code_phones_or_whole_id_numbers(client, world, issue, guard):
    from portal.blueprints.passes.services import issue_pass

    pass_ = issue_pass(
        kind="visitor",
        unit=world.unit2,
        actor=world.frontdesk,
        people=[{"name": "王五", "phone": "13900000001", "id_number": "110101199001011234"}],
        **window(),
    )
    db.session.commit()
    token = client.post(
        "/api/v1/auth/token", json={"username": "guard", "password": "portal-demo"}
    ).get_json()["token"]
    response = client.post(
        "/api/v1/passes/check",
        json={"code": pass_.number},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert pass_.code not in text and "13900000001" not in text
    assert "110101199001011234" not in text
    assert response.get_json()["pass"]["people"] == [{"name": "王五", "id_number_tail": "1234"}]


def test_days_beyond_the_calendar_are_refused_not_a_crash(client, world, login_as, api_token):
    headers = api_token("frontdesk")
    for day in ("0001-01-01", "9999-12-31"):
        answer = client.get(f"/api/v1/passes?day={day}", headers=headers)
        assert answer.status_code == 400, (day, answer.status_code)
    login_as("frontdesk")
    for path in ("/passes/?day=9999-12-31", "/passes/checks?day=0001-01-01"):
        assert client.get(path).status_code == 400, path


def test_goods_leaving_a_let_unit_wait_for_the_owner(world, issue, tenant):
    from tests.factories import make_resident

    family = make_resident(
        world.unit2, relation=Relation.family, name="租客家属", phone="13800000019"
    )
    asked = issue(kind="goods", unit=world.unit2, actor=family)
    assert asked.status == "pending"
    # An owner-occupied unit's family carry their goods out on their own pass.
    own = issue(kind="goods", unit=world.unit, actor=world.family)
    assert own.status == "active"


def test_a_zone_butler_s_log_keeps_to_their_zones(world, issue, guard):
    from portal.core import clock
    from tests.factories import make_unit, make_zone_butler

    far = make_unit(world.estate, zone="B区", building="5栋", number="1单元501")
    inside = issue(kind="visitor", unit=world.unit2)
    outside = issue(kind="visitor", unit=far)
    for pass_ in (inside, outside):
        check_pass(pass_.number, actor=guard)
    db.session.commit()
    butler = make_zone_butler(world)
    from portal.blueprints.passes.gate import checks_for

    seen = db.session.scalars(checks_for(butler, day=clock.local_today())).all()
    assert {c.pass_id for c in seen} == {inside.id}


def test_a_check_of_nothing_is_logged_for_the_estate_acted_for(world):
    result, found = check_pass("FX209901010001", actor=world.admin)
    assert result.value == "unknown" and found is None
    logged = db.session.scalar(select(PassCheck).order_by(PassCheck.id.desc()).limit(1))
    assert logged.estate_id == world.estate.id
    assert db.session.scalar(select(Pass.id).limit(1)) is None


def test_a_checker_s_checks_are_limited_page_and_api_together(
    app, client, world, guard, login_as, monkeypatch
):
    from portal.extensions import limiter

    monkeypatch.setitem(app.config, "PASS_CHECK_RATE_LIMIT", "3 per minute")
    limiter.reset()
    login_as("guard")
    for n in range(2):
        page = client.post("/passes/check", data={"code": f"FX20261123{n:04d}"})
        assert page.status_code == 200
    token = client.post(
        "/api/v1/auth/token", json={"username": "guard", "password": "portal-demo"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            "/api/v1/passes/check", json={"code": "FX202611230009"}, headers=headers
        ).status_code
        == 404
    )
    refused = client.post("/api/v1/passes/check", json={"code": "FX202611230010"}, headers=headers)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert client.post("/passes/check", data={"code": "FX202611230011"}).status_code == 429
    limiter.reset()
