"""The service report's repairs figures: known outcomes counted by hand, scope, the API."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.blueprints.repairs.models import Category
from portal.blueprints.repairs.services import act, submit_repair
from portal.blueprints.reports.service import repairs_figures
from portal.core import clock
from portal.extensions import db
from tests.factories import make_company, make_estate, make_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/reports/service"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
EN = {"Accept-Language": "en"}


def local(*args):
    return datetime(*args, tzinfo=SHANGHAI)


class Desk:
    """Registers repairs and takes workflow actions with the clock frozen at given times."""

    def __init__(self, world):
        self.world = world

    def report(self, when, category="plumbing_electrical", *, other_estate=False):
        clock.freeze(when)
        w = self.world
        repair = submit_repair(
            w.other_frontdesk if other_estate else w.frontdesk,
            category=category,
            location="unit",
            description="测试报修",
            unit_id=(w.other_unit if other_estate else w.unit).id,
        )
        db.session.commit()
        return repair

    def step(self, repair, when, action, **data):
        clock.freeze(when)
        w = self.world
        actor = w.technician if action in ("start", "complete") else w.frontdesk
        if action == "assign":
            data = {"technician_id": w.technician.id}
        act(repair, action, actor=actor, data=data)
        db.session.commit()

    def complete(self, repair, when):
        """Assign, start and complete at `when`."""
        for action in ("assign", "start"):
            self.step(repair, when, action)
        self.step(repair, when, "complete", note="修好了")

    def reopen(self, repair, when):
        self.step(repair, when, "reopen", reason="还是坏的")


@pytest.fixture
def desk(world):
    return Desk(world)


@pytest.fixture
def november(desk):
    """Repairs of November 2026 (estate time) with outcomes known by hand.

    Plumbing (24 h limit), 4 in the period:
      p1 completed 6 h after report → on time;
      p2 completed exactly at its due time → on time;
      p3 completed late, then reopened, completed again in time for the NEW due time,
         confirmed, reopened again → completed, late, reopened (once);
      p4 assigned and started, never completed.
    Civil, 1 in the period (reported 07:00 on 1 Nov estate time = 31 Oct UTC), open.
    Outside: plumbing at 23:59 on 31 Oct and at 07:00 on 1 Dec (= 30 Nov UTC), completed
    on time; plumbing in the other estate of the company, completed on time.
    """
    p1 = desk.report(local(2026, 11, 10, 9))
    desk.complete(p1, local(2026, 11, 10, 15))
    desk.step(p1, local(2026, 11, 10, 16), "confirm", rating=5)

    p2 = desk.report(local(2026, 11, 11, 9))
    desk.complete(p2, local(2026, 11, 12, 9))  # due at 09:00 on the 12th: just in time

    p3 = desk.report(local(2026, 11, 12, 9))
    desk.complete(p3, local(2026, 11, 14, 9))  # due on the 13th: a day late
    desk.reopen(p3, local(2026, 11, 15, 9))  # new due time: 09:00 on the 16th
    desk.complete(p3, local(2026, 11, 15, 12))
    desk.step(p3, local(2026, 11, 15, 13), "confirm", rating=3)
    desk.reopen(p3, local(2026, 11, 20, 9))

    p4 = desk.report(local(2026, 11, 30, 23, 59))
    desk.step(p4, local(2026, 12, 1, 8), "assign")
    desk.step(p4, local(2026, 12, 1, 8), "start")

    desk.report(local(2026, 11, 1, 7), "civil")

    for when in (local(2026, 10, 31, 23, 59), local(2026, 12, 1, 7)):
        outside = desk.report(when)
        desk.complete(outside, when)
    # Another day: ticket numbers are counted per estate but unique across estates.
    other = desk.report(local(2026, 11, 9, 9), other_estate=True)
    tech = make_staff("technician", desk.world.other)
    clock.freeze(local(2026, 11, 9, 10))
    act(other, "assign", actor=desk.world.other_frontdesk, data={"technician_id": tech.id})
    act(other, "start", actor=tech)
    act(other, "complete", actor=tech, data={"note": "ok"})
    db.session.commit()
    clock.freeze(local(2026, 12, 2, 12))
    return {"p1": p1, "p2": p2, "p3": p3, "p4": p4}


PLUMBING = {
    "category": "plumbing_electrical",
    "label": "Plumbing & electrical",
    "received": 4,
    "completed": 3,
    "handling_rate": 0.75,
    "completed_on_time": 2,
    "timeliness_rate": 0.6667,
    "reopened": 1,
    "rework_rate": 0.3333,
}
CIVIL = {
    "category": "civil",
    "label": "Civil works (walls, doors, windows, glass)",
    "received": 1,
    "completed": 0,
    "handling_rate": 0.0,
    "completed_on_time": 0,
    "timeliness_rate": None,
    "reopened": 0,
    "rework_rate": None,
}
TOTALS = {
    "received": 5,
    "completed": 3,
    "handling_rate": 0.6,
    "completed_on_time": 2,
    "timeliness_rate": 0.6667,
    "reopened": 1,
    "rework_rate": 0.3333,
}


def empty(category):
    return {
        "category": category.value,
        "received": 0,
        "completed": 0,
        "handling_rate": None,
        "completed_on_time": 0,
        "timeliness_rate": None,
        "reopened": 0,
        "rework_rate": None,
    }


def test_repairs_figures_counted_by_hand(client, world, api_token, november):
    p3 = november["p3"]
    assert p3.reopened_count == 2 and p3.completed_at is None and p3.status == "reopened"
    response = client.get(URL, query_string=NOVEMBER, headers={**api_token("manager"), **EN})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert sorted(body) == ["complaints", "repairs"]
    repairs = body["repairs"]
    assert repairs["totals"] == TOTALS
    rows = repairs["by_category"]
    assert [r["category"] for r in rows] == [c.value for c in Category]
    assert rows[0] == PLUMBING and rows[1] == CIVIL
    for row, category in zip(rows[2:], list(Category)[2:], strict=True):
        assert {k: v for k, v in row.items() if k != "label"} == empty(category)
        assert row["label"] == str(category.label) and row["label"]
    assert rows[3]["label"] == "Elevator"


def test_labels_follow_the_language(client, world, api_token, november):
    rows = client.get(URL, query_string=NOVEMBER, headers=api_token("supervisor")).get_json()
    assert rows["repairs"]["by_category"][0]["label"] == "水电"


def test_one_day_and_the_time_zone_edges(client, world, api_token, november):
    """A day is an estate-time day: 1 Nov 07:00 in Shanghai is still 31 Oct in UTC."""
    manager = api_token("manager")
    first = client.get(
        URL, query_string={"from": "2026-11-01", "to": "2026-11-01"}, headers=manager
    )
    totals = first.get_json()["repairs"]["totals"]
    assert totals["received"] == 1 and totals["completed"] == 0
    last = client.get(URL, query_string={"from": "2026-11-30", "to": "2026-11-30"}, headers=manager)
    assert last.get_json()["repairs"]["totals"]["received"] == 1  # p4 at 23:59
    october = client.get(
        URL, query_string={"from": "2026-10-31", "to": "2026-10-31"}, headers=manager
    ).get_json()["repairs"]["totals"]
    assert october["received"] == 1 and october["completed_on_time"] == 1
    assert october["timeliness_rate"] == 1.0


def test_a_reopened_repair_is_judged_by_the_due_time_of_its_first_completion(world, desk):
    """Elevator: 4 h. Reopening moves due_at; the first completion keeps its own due time,
    to the second."""
    in_time = desk.report(local(2026, 11, 10, 9), "elevator")
    desk.complete(in_time, local(2026, 11, 10, 13))  # exactly at the due time
    late = desk.report(local(2026, 11, 10, 9), "elevator")
    desk.complete(late, local(2026, 11, 10, 13, 0, 1))  # one second late
    for repair in (in_time, late):
        desk.reopen(repair, local(2026, 11, 11, 9))
        desk.complete(repair, local(2026, 11, 11, 10))
    assert late.due_at > late.completed_at  # the second completion is in time
    clock.freeze(local(2026, 11, 12, 9))
    figures = repairs_figures(world.manager, world.estate, date(2026, 11, 10), date(2026, 11, 10))
    elevator = figures["by_category"][3]
    assert elevator["category"] == "elevator"
    assert (elevator["completed"], elevator["completed_on_time"], elevator["reopened"]) == (2, 1, 2)
    assert (elevator["timeliness_rate"], elevator["rework_rate"]) == (0.5, 1.0)


def test_company_wide_acts_for_one_estate_or_names_one(client, world, api_token, november):
    admin = api_token("admin")
    # Without estate=, the estate they act for: by default the company's first.
    first = client.get(URL, query_string=NOVEMBER, headers=admin).get_json()["repairs"]
    assert first["totals"] == TOTALS
    ours = client.get(URL, query_string={**NOVEMBER, "estate": world.estate.id}, headers=admin)
    assert ours.get_json()["repairs"]["totals"] == TOTALS
    theirs = client.get(URL, query_string={**NOVEMBER, "estate": world.other.id}, headers=admin)
    assert theirs.get_json()["repairs"]["totals"]["received"] == 1
    other_desk = client.get(URL, query_string=NOVEMBER, headers=api_token("frontdesk_other"))
    assert other_desk.get_json()["repairs"]["totals"]["received"] == 1


def test_estate_outside_the_callers_reach_is_404(client, world, api_token):
    foreign = make_estate(make_company(name="别家物业"))
    db.session.commit()
    admin = api_token("admin")
    for estate_id in (foreign.id, 999999):
        response = client.get(URL, query_string={**NOVEMBER, "estate": estate_id}, headers=admin)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    manager = api_token("manager")
    own = client.get(URL, query_string={**NOVEMBER, "estate": world.estate.id}, headers=manager)
    assert own.status_code == 200  # staff of one estate may name their own, no other
    other = client.get(URL, query_string={**NOVEMBER, "estate": world.other.id}, headers=manager)
    assert other.status_code == 404


def test_roles(client, world, api_token):
    assert client.get(URL, query_string=NOVEMBER).status_code == 401
    for username in ("resident", "technician"):
        response = client.get(URL, query_string=NOVEMBER, headers=api_token(username))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    for username in ("frontdesk", "supervisor", "manager", "admin"):
        response = client.get(URL, query_string=NOVEMBER, headers=api_token(username))
        assert response.status_code == 200
        assert response.get_json()["repairs"]["totals"]["handling_rate"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({"to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-11-30"}, "from"),
        ({**NOVEMBER, "estate": "abc"}, "estate"),
        ({**NOVEMBER, "zone": "1"}, "zone"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
    ],
)
def test_bad_periods_answer_400_naming_the_field(client, world, api_token, query, field):
    response = client.get(URL, query_string=query, headers={**api_token("admin"), **EN})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert field in error["fields"] and error["message"]


def test_a_leap_year_is_not_too_long(client, world, api_token):
    response = client.get(
        URL, query_string={"from": "2024-01-01", "to": "2024-12-31"}, headers=api_token("admin")
    )
    assert response.status_code == 200


def test_openapi_names_the_parameters(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/reports/service"]["get"]
    params = {p["name"]: p["required"] for p in op["parameters"]}
    assert params == {"from": True, "to": True, "estate": False}
    assert {"200", "400", "401", "403", "404"} <= set(op["responses"])


def test_query_count_does_not_grow_with_data(client, world, api_token, desk, count_queries):
    headers = api_token("admin")

    def call():
        with count_queries() as counter:
            response = client.get(URL, query_string=NOVEMBER, headers=headers)
        assert response.status_code == 200
        return counter.count, response.get_json()["repairs"]["totals"]

    desk.report(local(2026, 11, 5, 9))
    before, totals = call()
    assert totals["received"] == 1
    categories = list(Category)
    for n in range(30):
        repair = desk.report(local(2026, 11, 6 + n % 20, 9), categories[n % len(categories)])
        if n % 3 == 0:
            desk.complete(repair, local(2026, 11, 6 + n % 20, 10))
        if n % 6 == 0:
            desk.reopen(repair, local(2026, 11, 6 + n % 20, 11))
    after, totals = call()
    assert totals["received"] == 31 and totals["completed"] == 10 and totals["reopened"] == 5
    assert totals["completed_on_time"] == 10  # within the hour, reopened ones included
    assert after == before


def test_complaint_figures(client, world, api_token):
    """Three complaints and an inquiry: one closed after a visit, one replied to late."""
    from datetime import UTC, datetime, timedelta

    from portal.blueprints.complaints.services import act, register_complaint
    from portal.core import clock

    start = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    clock.freeze(start)
    quick = register_complaint(world.resident, category="cleaning_greening", content="垃圾未清")
    late = register_complaint(world.resident, category="cleaning_greening", content="绿化带枯死")
    register_complaint(world.resident2, category="fees", content="收费不明")
    register_complaint(world.resident2, kind="inquiry", category="fees", content="怎么交费")
    act(quick, "assess", actor=world.frontdesk, data={"valid": True, "department": "保洁"})
    act(quick, "propose", actor=world.frontdesk, data={"plan": "当天清运"})
    act(quick, "approve", actor=world.supervisor)
    act(quick, "resolve", actor=world.frontdesk, data={"result": "已清运"})
    act(quick, "return-visit", actor=world.frontdesk, data={"result": "satisfied", "note": "好"})
    act(quick, "close", actor=world.frontdesk)
    clock.freeze(start + timedelta(hours=50))
    act(
        late,
        "progress-reply",
        actor=world.frontdesk,
        data={"message": "联系园林公司", "next_reply_at": (start + timedelta(days=4)).isoformat()},
    )
    db.session.commit()
    body = client.get(
        "/api/v1/reports/service?from=2026-11-01&to=2026-11-30", headers=api_token("manager")
    ).get_json()["complaints"]
    assert body["totals"] == {
        "received": 3,
        "closed": 1,
        "handling_rate": 0.3333,
        "replied_on_time": 1,
        "return_visits": 1,
    }
    cleaning = next(c for c in body["by_category"] if c["category"] == "cleaning_greening")
    assert (cleaning["received"], cleaning["closed"], cleaning["replied_on_time"]) == (2, 1, 1)
    assert len(body["by_category"]) == 7
