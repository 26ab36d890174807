"""The moves figures of the annual summary (GET /api/v1/reports/moves): completed move-ins
and move-outs per month of their day, cards issued, keys in custody — counted by hand from
records made through the services at known moments; another estate's never counted."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.blueprints.custody import services as custody
from portal.blueprints.moves import services as moves
from portal.core import clock
from portal.core.places import Occupancy
from portal.extensions import db
from tests.factories import make_company, make_estate, make_staff, make_unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/reports/moves"
AUTUMN = {"from": "2026-09-01", "to": "2026-11-30"}
EN = {"Accept-Language": "en"}
DOCUMENTS = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]


def at(year, month, day, hour=10):
    """Freeze the portal clock at a local time in the estates' zone."""
    clock.freeze(datetime(year, month, day, hour, tzinfo=SHANGHAI))


def moved_in(desk, unit, day: date, phone: str, *, cards=(), done=True):
    """A move-in of `unit` on `day`, registered that morning and, when `done`, handed over
    that day with these cards."""
    at(day.year, day.month, day.day)
    move = moves.register_move_in(
        desk,
        unit_id=unit.id,
        on=day,
        people=[{"name": f"新住户{phone[-4:]}", "phone": phone, "relation": "owner"}],
    )
    if done:
        moves.act(move, "check-documents", actor=desk, data={"documents": DOCUMENTS})
        moves.act(move, "inspect", actor=desk, data={"result": "ok"})
        moves.act(
            move,
            "hand-over",
            actor=desk,
            data={
                "keys": {"count": 2},
                "cards": [{"number": n, "kind": k} for n, k in cards],
                "readings": [{"meter": "water", "value": "1.00"}],
            },
        )
    db.session.commit()
    return move


def moved_out(desk, unit, day: date, *, done=True):
    at(day.year, day.month, day.day)
    move = moves.register_move_out(desk, unit_id=unit.id, on=day)
    if done:
        body = {
            "readings": [{"meter": "water", "value": "20.00"}],
            "cards_returned": [],
            "keys_returned": True,
        }
        moves.act(move, "complete", actor=desk, data=body)
    db.session.commit()
    return move


def fresh_unit(estate, number):
    return make_unit(
        estate, zone="C区", building="8栋", number=number, occupancy=Occupancy.not_handed_over
    )


@pytest.fixture
def autumn(world):
    """Made at known moments (estate time):
    - 31 Aug: a move-in handed over (before the period);
    - 10 Sep: a move-in handed over with an access and a parking card;
    - 5 Oct: a move-in handed over with an access card; 15 Oct: resident2's household
      moves out (completed);
    - 20 Oct: a move-in registered only; 18 Nov: a move-out of resident's unit registered
      only (neither counted: not completed);
    - the other estate: a move-in handed over on 12 Oct with an access card, a move-out
      completed the same day, a key set lent and overdue;
    - keys: world.vacant's set held since 1 Nov; another unit's lent on 20 Nov, due back
      the 21st (overdue at the frozen 23 Nov); a third set handed over at its move-in.
    Nothing in December (the month shows in no period here)."""
    w = world
    desk, other_desk = w.frontdesk, w.other_frontdesk
    august, september, october, pending = (fresh_unit(w.estate, f"{n}01") for n in (1, 2, 3, 4))
    other_in = fresh_unit(w.other, "501")
    other_out = fresh_unit(w.other, "502")
    db.session.commit()
    at(2026, 9, 1)
    custody.take_keys(october, count=3, label="入户门", actor=desk)  # handed over on 5 Oct
    db.session.commit()
    moved_in(desk, august, date(2026, 8, 31), "13700000001")
    moved_in(desk, september, date(2026, 9, 10), "13700000002",
             cards=[("MJ10", "access"), ("CW10", "parking")])  # fmt: skip
    moved_in(desk, october, date(2026, 10, 5), "13700000003", cards=[("MJ11", "access")])
    moved_out(desk, w.unit2, date(2026, 10, 15))
    moved_in(desk, pending, date(2026, 10, 20), "13700000004", done=False)
    moved_in(other_desk, other_in, date(2026, 10, 12), "13700000005",
             cards=[("MJ10", "access")])  # fmt: skip
    moved_in(other_desk, other_out, date(2026, 10, 1), "13700000006")
    moved_out(other_desk, other_out, date(2026, 10, 12))
    at(2026, 11, 1)
    custody.take_keys(w.vacant, count=2, label="入户门", actor=desk)
    lent = custody.take_keys(august, count=1, label="信报箱", actor=desk)
    other_keys = custody.take_keys(other_in, count=1, label="车库", actor=other_desk)
    db.session.commit()
    at(2026, 11, 20)
    for keys, by in ((lent, desk), (other_keys, other_desk)):
        custody.lend_keys(
            keys,
            name="装修师傅",
            phone="13700009999",
            reason="装修",
            due_back_at=date(2026, 11, 21),
            actor=by,
        )
    db.session.commit()
    moved_out(desk, w.unit, date(2026, 11, 18), done=False)
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("UTC")))  # tests/conftest
    return w


AUTUMN_FIGURES = {
    "months": [
        {"month": "2026-09", "move_ins": 1, "move_outs": 0},
        {"month": "2026-10", "move_ins": 1, "move_outs": 1},
        {"month": "2026-11", "move_ins": 0, "move_outs": 0},
    ],
    "move_ins": 2,
    "move_outs": 1,
    "cards_issued": {"access": 2, "parking": 1},
    "keys": {"in_custody": 2, "lent": 1, "overdue": 1},
}


def test_the_figures_counted_by_hand(client, world, api_token, autumn):
    response = client.get(URL, query_string=AUTUMN, headers=api_token("frontdesk"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body == {"estate": world.estate.id, **AUTUMN, **AUTUMN_FIGURES}


def test_a_month_without_moves_is_listed_with_zeros(client, world, api_token, autumn):
    """Every month the period touches is listed, in order, those without moves as zeros;
    a move counts in the month of its day, and only when its day is in the period."""
    query = {"from": "2026-08-31", "to": "2026-10-04"}
    body = client.get(URL, query_string=query, headers=api_token("manager")).get_json()
    assert body["months"] == [
        {"month": "2026-08", "move_ins": 1, "move_outs": 0},
        {"month": "2026-09", "move_ins": 1, "move_outs": 0},
        {"month": "2026-10", "move_ins": 0, "move_outs": 0},  # 5 Oct is after the 4th
    ]
    assert (body["move_ins"], body["move_outs"]) == (2, 0)
    december = {"from": "2026-12-01", "to": "2026-12-31"}
    body = client.get(URL, query_string=december, headers=api_token("manager")).get_json()
    assert body["months"] == [{"month": "2026-12", "move_ins": 0, "move_outs": 0}]
    assert body["cards_issued"] == {"access": 0, "parking": 0}
    assert body["keys"] == AUTUMN_FIGURES["keys"]  # keys are counted as they are now


def test_another_estate_is_its_own(client, world, api_token, autumn):
    other = {
        "months": [
            {"month": "2026-09", "move_ins": 0, "move_outs": 0},
            {"month": "2026-10", "move_ins": 2, "move_outs": 1},
            {"month": "2026-11", "move_ins": 0, "move_outs": 0},
        ],
        "move_ins": 2,
        "move_outs": 1,
        "cards_issued": {"access": 1, "parking": 0},
        "keys": {"in_custody": 1, "lent": 1, "overdue": 1},
    }
    theirs = client.get(URL, query_string=AUTUMN, headers=api_token("frontdesk_other"))
    assert theirs.get_json() == {"estate": world.other.id, **AUTUMN, **other}
    admin = api_token("admin")
    named = client.get(URL, query_string={**AUTUMN, "estate": world.other.id}, headers=admin)
    assert named.get_json() == {"estate": world.other.id, **AUTUMN, **other}
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
    from tests.factories import make_zone_butler

    make_staff("guard", world.estate, username="guard")
    make_staff("inspector", world.estate, username="inspector")
    make_zone_butler(world)
    db.session.commit()
    assert client.get(URL, query_string=AUTUMN).status_code == 401
    for username in ("resident", "resident2", "technician", "guard"):
        response = client.get(URL, query_string=AUTUMN, headers=api_token(username))
        assert response.status_code == 403, username
        assert response.get_json()["error"]["code"] == "forbidden"
    readers = ("frontdesk", "supervisor", "manager", "admin", "zone_butler", "inspector")
    for username in readers:
        response = client.get(URL, query_string=AUTUMN, headers=api_token(username))
        assert response.status_code == 200, username
        assert response.get_json()["move_ins"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({"to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01", "to": "30/11/2026"}, "to"),
        ({"from": "2026-11-01\x00", "to": "2026-11-30"}, "query"),  # refused before parsing
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


def test_a_leap_year_and_the_far_years(client, world, api_token):
    admin = api_token("admin")
    for query in (
        {"from": "2024-01-01", "to": "2024-12-31"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-31"},
    ):
        response = client.get(URL, query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
    leap = client.get(URL, query_string={"from": "2024-01-01", "to": "2024-12-31"}, headers=admin)
    assert len(leap.get_json()["months"]) == 12


def test_openapi_names_the_parameters(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/reports/moves"]["get"]
    params = {p["name"]: p["required"] for p in op["parameters"]}
    assert params == {"from": True, "to": True, "estate": False}
    assert {"200", "400", "401", "403", "404"} <= set(op["responses"])


def test_statements_do_not_grow_with_the_moves(client, world, api_token, count_queries):
    headers = api_token("manager")

    def call():
        with count_queries() as counter:
            response = client.get(URL, query_string=AUTUMN, headers=headers)
        assert response.status_code == 200
        return counter.count, response.get_json()["move_ins"]

    before, none = call()
    desk = world.frontdesk
    for n in range(6):
        unit = fresh_unit(world.estate, f"9{n:02d}")
        db.session.commit()
        moved_in(desk, unit, date(2026, 9, 1) + timedelta(days=12 * n), f"1370000010{n}")
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("UTC")))
    after, six = call()
    assert (none, six) == (0, 6)
    assert after == before
