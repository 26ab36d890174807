"""The renovation figures of the annual summary (GET /api/v1/reports/renovations):
registered in the period, in progress and overdue now, violations per contractor, the
deposits held, refunded and deducted — counted by hand from renovations walked through the
services at known moments; another estate's never counted."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.blueprints.fees import ledger
from portal.blueprints.renovation import services as renovations
from portal.core import clock, workflow
from portal.core.places import Occupancy, Unit
from portal.extensions import db
from tests.factories import make_company, make_estate, make_staff, make_unit
from tests.renovation.helpers import WORKERS

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/reports/renovations"
AUTUMN = {"from": "2026-09-01", "to": "2026-11-30"}
EN = {"Accept-Language": "en"}


def at(year, month, day, hour=10):
    clock.freeze(datetime(year, month, day, hour, tzinfo=SHANGHAI))


def submitted(desk, unit, contractor, starts_on, ends_on):
    renovation = renovations.submit_renovation(
        desk,
        unit_id=unit.id,
        contractor=contractor,
        foreman="王工长",
        foreman_phone="13700000010",
        starts_on=starts_on,
        ends_on=ends_on,
        scope=["walls"],
        workers=WORKERS[:1],
    )
    db.session.commit()
    return renovation


def step(renovation, action, actor, data=None):
    workflow.apply(renovation, action, actor=actor, data=data)
    db.session.commit()


def approved(w, unit, contractor, starts_on, ends_on, *, pay=True):
    renovation = submitted(w.frontdesk, unit, contractor, starts_on, ends_on)
    step(renovation, "review", w.technician, {"notes": "图纸齐全"})
    step(renovation, "approve", w.supervisor)
    deposit = (renovation.approval or {}).get("bills", {}).get("deposit")
    if pay and deposit:
        ledger.record_payment(
            db.session.get(Unit, unit.id),
            2000_00,
            "cash",
            actor=w.frontdesk,
            source="counter",
            bill_ids=[deposit],
        )
        db.session.commit()
    return renovation


def violation(renovation, actor, rectify_by):
    data = {"result": "violation", "note": "施工超时", "violation_type": "hours"}
    step(renovation, "inspect", actor, {**data, "rectify_by": rectify_by})


def fresh_unit(estate, number):
    return make_unit(
        estate, zone="C区", building="9栋", number=number, occupancy=Occupancy.occupied_renovated
    )


@pytest.fixture
def autumn(world):
    """Made at known moments (estate time):
    - 20 Aug: C registered only (before the period);
    - 1 Sep: A (好家装饰) approved for 3 Sep–15 Oct, its deposit paid; a violation on
      10 Sep rectified on the 12th, another on 20 Sep; hidden works and the acceptance on
      1 Oct with a 300.00 deduction (1700.00 refunded);
    - 5 Oct: B (美居装修) approved for 7 Oct–5 Nov, its deposit paid (held), a violation
      on 20 Oct: overdue at the frozen 23 Nov;
    - 10 Nov: D (美居装修) approved for 12 Nov–31 Dec, nothing paid, suspended on the 15th;
    - 20 Nov: E registered only;
    - the other estate: a renovation registered on 10 Oct by its desk."""
    w = world
    tech = w.technician
    c_unit, d_unit, e_unit = (fresh_unit(w.estate, f"{n}01") for n in (1, 2, 3))
    other_unit = make_unit(w.other, zone="C区", building="9栋", number="501")
    db.session.commit()
    at(2026, 8, 20)
    submitted(w.frontdesk, c_unit, "好家装饰", date(2026, 8, 25), date(2026, 9, 20))
    at(2026, 9, 1)
    a = approved(w, w.unit, "好家装饰", date(2026, 9, 3), date(2026, 10, 15))
    at(2026, 9, 10)
    violation(a, tech, date(2026, 9, 15))
    at(2026, 9, 12)
    step(a, "rectify", tech, {"note": "已整改"})
    at(2026, 9, 20)
    violation(a, tech, date(2026, 9, 25))
    at(2026, 10, 1)
    step(a, "hidden-works", tech, {"passed": True, "note": "闭水试验合格"})
    deduction = [{"reason": "楼道墙面损坏", "amount": "300.00"}]
    step(a, "accept", tech, {"passed": True, "note": "验收合格", "deductions": deduction})
    at(2026, 10, 5)
    b = approved(w, w.unit2, "美居装修", date(2026, 10, 7), date(2026, 11, 5))
    at(2026, 10, 10)
    submitted(w.other_frontdesk, other_unit, "好家装饰", date(2026, 10, 12), date(2026, 11, 1))
    at(2026, 10, 20)
    violation(b, tech, date(2026, 10, 25))
    at(2026, 11, 10)
    d = approved(w, d_unit, "美居装修", date(2026, 11, 12), date(2026, 12, 31), pay=False)
    at(2026, 11, 15)
    step(d, "suspend", tech, {"reason": "噪音投诉"})
    at(2026, 11, 20)
    submitted(w.frontdesk, e_unit, "安居装饰", date(2026, 11, 25), date(2026, 12, 20))
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("UTC")))  # tests/conftest
    return w


AUTUMN_FIGURES = {
    "registered": 4,
    "in_progress": 2,
    "overdue": 1,
    "violations_by_contractor": [
        {"contractor": "好家装饰", "violations": 2},
        {"contractor": "美居装修", "violations": 1},
    ],
    "deposits": {"held": "2000.00", "refunded": "1700.00", "deducted": "300.00"},
}
NOTHING = {
    "registered": 0,
    "in_progress": 0,
    "overdue": 0,
    "violations_by_contractor": [],
    "deposits": {"held": "0.00", "refunded": "0.00", "deducted": "0.00"},
}


def test_the_figures_counted_by_hand(client, world, api_token, autumn):
    response = client.get(URL, query_string=AUTUMN, headers=api_token("frontdesk"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"estate": world.estate.id, **AUTUMN, **AUTUMN_FIGURES}


def test_the_period_counts_what_happened_in_it(client, world, api_token, autumn):
    """Registered, violations and settled deposits by their day; in progress, overdue and
    held as they are now."""
    october = {"from": "2026-10-02", "to": "2026-10-31"}
    body = client.get(URL, query_string=october, headers=api_token("manager")).get_json()
    assert body == {
        "estate": world.estate.id,
        **october,
        "registered": 1,
        "in_progress": 2,
        "overdue": 1,
        "violations_by_contractor": [{"contractor": "美居装修", "violations": 1}],
        "deposits": {"held": "2000.00", "refunded": "0.00", "deducted": "0.00"},
    }


def test_another_estate_is_its_own(client, world, api_token, autumn):
    theirs = client.get(URL, query_string=AUTUMN, headers=api_token("frontdesk_other"))
    expected = {"estate": world.other.id, **AUTUMN, **NOTHING, "registered": 1}
    assert theirs.get_json() == expected
    admin = api_token("admin")
    named = client.get(URL, query_string={**AUTUMN, "estate": world.other.id}, headers=admin)
    assert named.get_json() == expected
    ours = client.get(URL, query_string={**AUTUMN, "estate": world.estate.id}, headers=admin)
    assert ours.get_json() == {"estate": world.estate.id, **AUTUMN, **AUTUMN_FIGURES}


def test_an_estate_outside_the_callers_reach_is_404(client, world, api_token):
    foreign = make_estate(make_company(name="别家物业"))
    db.session.commit()
    admin = api_token("admin")
    for estate_id in (foreign.id, 999999):
        response = client.get(URL, query_string={**AUTUMN, "estate": estate_id}, headers=admin)
        assert response.status_code == 404
    desk = api_token("frontdesk")
    other = client.get(URL, query_string={**AUTUMN, "estate": world.other.id}, headers=desk)
    assert other.status_code == 404


def test_who_reads_it(client, world, api_token):
    make_staff("guard", world.estate, username="guard")
    db.session.commit()
    assert client.get(URL, query_string=AUTUMN).status_code == 401
    for username in ("resident", "resident2", "technician", "guard"):
        response = client.get(URL, query_string=AUTUMN, headers=api_token(username))
        assert response.status_code == 403, username
    for username in ("frontdesk", "supervisor", "manager", "admin"):
        response = client.get(URL, query_string=AUTUMN, headers=api_token(username))
        assert response.status_code == 200, username
        assert response.get_json()["registered"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({"to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01", "to": "30/11/2026"}, "to"),
        ({"from": "2026-11-01\x00", "to": "2026-11-30"}, "query"),
        ({**AUTUMN, "estate": "abc"}, "estate"),
        ({**AUTUMN, "estate": str(2**31)}, "estate"),
        ({**AUTUMN, "zone": "1"}, "zone"),
    ],
)
def test_bad_periods_answer_400_naming_the_field(client, world, api_token, query, field):
    response = client.get(URL, query_string=query, headers={**api_token("admin"), **EN})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert field in error["fields"] and error["message"]


def test_the_far_years_answer_without_a_500(client, world, api_token):
    admin = api_token("admin")
    for query in (
        {"from": "2024-01-01", "to": "2024-12-31"},
        {"from": "0001-01-01", "to": "0001-01-31"},
        {"from": "9999-12-01", "to": "9999-12-31"},
    ):
        response = client.get(URL, query_string=query, headers=admin)
        assert response.status_code in (200, 400), response.get_json()


def test_openapi_names_the_parameters(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/reports/renovations"]["get"]
    params = {p["name"]: p["required"] for p in op["parameters"]}
    assert params == {"from": True, "to": True, "estate": False}
    assert {"200", "400", "401", "403", "404"} <= set(op["responses"])


def test_statements_do_not_grow_with_the_renovations(client, world, api_token, count_queries):
    headers = api_token("manager")

    def call():
        with count_queries() as counter:
            response = client.get(URL, query_string=AUTUMN, headers=headers)
        assert response.status_code == 200
        return counter.count, response.get_json()

    before, none = call()
    for n in range(4):
        unit = fresh_unit(world.estate, f"8{n:02d}")
        db.session.commit()
        at(2026, 9, 1 + n)
        r = approved(world, unit, f"装饰{n}", date(2026, 9, 10), date(2026, 10, 10), pay=False)
        at(2026, 9, 12)
        violation(r, world.technician, date(2026, 9, 20))
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("UTC")))
    after, four = call()
    assert (none["registered"], four["registered"], four["overdue"]) == (0, 4, 4)
    assert len(four["violations_by_contractor"]) == 4
    assert after == before
