"""The fee-collection report and the arrears list: figures counted by hand, the API, pages."""

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.blueprints.fees import ledger
from portal.blueprints.reports.arrears import arrears
from portal.blueprints.reports.fees import fee_figures
from portal.core import clock
from portal.core.errors import ServiceError
from portal.core.places import Occupancy, Zone
from portal.extensions import db
from tests.factories import make_company, make_estate, make_unit
from tests.fees.helpers import standard_items

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/reports/fees"
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
EN = {"Accept-Language": "en"}


def at(*day):
    """Freeze the clock at noon, estate time, on a day."""
    clock.freeze(datetime(*day, 12, tzinfo=SHANGHAI))


class Till:
    """Issues bills and takes payments on given days."""

    def __init__(self, world):
        self.world = world
        self.items = standard_items(world)
        self.n = 0

    def bill(self, unit, fen, due_on, *, discount=0, occupancy=None):
        self.n += 1
        return ledger.issue_bill(
            unit,
            self.items["debris"],
            amount_fen=fen,
            discount_fen=discount,
            due_on=due_on,
            occupancy=occupancy,
            source="manual",
            source_key=f"report-{self.n}",
            actor=self.world.frontdesk,
        )

    def pay(self, unit, fen, day):
        at(*day)
        payment, _ = ledger.record_payment(
            unit, fen, "cash", actor=self.world.frontdesk, source="counter", paid_on=date(*day)
        )
        return payment


@pytest.fixture
def october(world):
    """Bills due in October 2026 with outcomes known by hand (fen).

    A区 U1 (occupied_renovated): b1 10000 (discount 2000) due 10-05, b2 5000 due 10-20;
        pays 15000 on 10-03 → both paid.
    A区 U2 (occupied_renovated): 6000 due 09-25 (outside), b3 8000 due 10-10, b4 3000
        due 10-25; pays 14000 on 10-12 (the September bill, then b3); b4 is withdrawn on
        10-20 → paid.
    B区 U3 (vacant): b5 20000 due 10-15; 1000 paid on 10-05 and reversed on 10-08; 5000
        paid on 10-20; 15000 paid on 11-02 (after the period) → not paid by 10-31.
    B区 U4 (renovating): b6 4000 due 10-31, 7000 due 11-05 (outside); pays 4000 on
        10-31, the last day → paid.
    The other estate: 9000 due 10-10, paid.
    October: receivable 47000, received 32000, arrears 15000, discounts 2000,
    4 households billed, 3 paid.
    """
    w = world
    till = Till(w)
    u4 = make_unit(
        w.estate, zone="B区", building="3栋", number="1单元1202", occupancy=Occupancy.renovating
    )
    at(2026, 9, 20)
    till.bill(w.unit, 10000, date(2026, 10, 5), discount=2000)
    till.bill(w.unit, 5000, date(2026, 10, 20))
    till.bill(w.unit2, 6000, date(2026, 9, 25))
    till.bill(w.unit2, 8000, date(2026, 10, 10))
    b4 = till.bill(w.unit2, 3000, date(2026, 10, 25))
    till.bill(w.vacant, 20000, date(2026, 10, 15))
    till.bill(u4, 4000, date(2026, 10, 31))
    till.bill(u4, 7000, date(2026, 11, 5))
    till.bill(w.other_unit, 9000, date(2026, 10, 10))
    till.pay(w.unit, 15000, (2026, 10, 3))
    mistake = till.pay(w.vacant, 1000, (2026, 10, 5))
    at(2026, 10, 8)
    ledger.reverse_payment(mistake, reason="收错户", actor=w.frontdesk)
    till.pay(w.unit2, 14000, (2026, 10, 12))
    at(2026, 10, 20)
    ledger.reverse_bill(b4, reason="重复开单", actor=w.manager)
    till.pay(w.vacant, 5000, (2026, 10, 20))
    till.pay(u4, 4000, (2026, 10, 31))
    till.pay(w.vacant, 15000, (2026, 11, 2))
    till.pay(w.other_unit, 9000, (2026, 10, 11))
    db.session.commit()
    at(2026, 11, 10)
    return {"u4": u4, "till": till}


def figures(billed, paid, receivable, received, discounts):
    return {
        "billed_households": billed,
        "paid_households": paid,
        "collection_rate": None if not billed else round(paid / billed, 4),
        "receivable": receivable,
        "received": received,
        "arrears": receivable - received,
        "discounts": discounts,
    }


def test_october_counted_by_hand(world, october):
    report = fee_figures(world.estate.id, date(2026, 10, 1), date(2026, 10, 31))
    assert set(report) == {"totals", "by_occupancy", "by_zone"}
    assert report["totals"] == figures(4, 3, 47000, 32000, 2000)
    assert report["totals"]["collection_rate"] == 0.75
    rows = {r["occupancy"]: r for r in report["by_occupancy"]}
    assert [r["occupancy"] for r in report["by_occupancy"]] == [o.value for o in Occupancy]
    assert rows["occupied_renovated"] == {
        "occupancy": "occupied_renovated",
        "label": str(Occupancy.occupied_renovated.label),
        **figures(2, 2, 23000, 23000, 2000),
    }
    assert rows["vacant"]["label"] and rows["vacant"] | {"label": ""} == {
        "occupancy": "vacant",
        "label": "",
        **figures(1, 0, 20000, 5000, 0),
    }
    assert {k: rows["renovating"][k] for k in ("billed_households", "paid_households")} == {
        "billed_households": 1,
        "paid_households": 1,
    }
    assert rows["not_handed_over"] == {
        "occupancy": "not_handed_over",
        "label": str(Occupancy.not_handed_over.label),
        **figures(0, 0, 0, 0, 0),
    }
    assert report["by_zone"] == [
        {"zone": "A区", **figures(2, 2, 23000, 23000, 2000)},
        {"zone": "B区", **figures(2, 1, 24000, 9000, 0)},
    ]


def test_groups_add_up_to_the_totals(world, october):
    report = fee_figures(world.estate.id, date(2026, 10, 1), date(2026, 10, 31))
    for key in ("by_occupancy", "by_zone"):
        for name in (
            "billed_households",
            "paid_households",
            "receivable",
            "received",
            "arrears",
            "discounts",
        ):
            assert sum(r[name] for r in report[key]) == report["totals"][name], (key, name)


def test_payments_after_the_period_do_not_count(world, october):
    """The 15000 paid on 2 Nov counts only once the period reaches it; so does the 4000
    paid on the period's last day, not a day before."""
    estate = world.estate.id
    to_october = fee_figures(estate, date(2026, 10, 1), date(2026, 10, 31))
    assert to_october["totals"]["received"] == 32000
    to_november = fee_figures(estate, date(2026, 10, 1), date(2026, 11, 30))
    # + the 7000 due on 5 Nov (unpaid); U3 now paid, U4 not.
    assert to_november["totals"] == figures(4, 3, 54000, 47000, 2000)
    day_before = fee_figures(estate, date(2026, 10, 1), date(2026, 10, 30))
    assert day_before["totals"] == figures(3, 2, 43000, 28000, 2000)


def test_a_withdrawn_bill_is_left_out(world, october):
    """b4 (3000, due 25 Oct) is withdrawn: not receivable, and U2 counts as paid."""
    report = fee_figures(world.estate.id, date(2026, 10, 25), date(2026, 10, 25))
    assert report["totals"] == figures(0, 0, 0, 0, 0)
    assert report["totals"]["collection_rate"] is None
    a = fee_figures(world.estate.id, date(2026, 10, 10), date(2026, 10, 31))["by_zone"][0]
    assert a == {"zone": "A区", **figures(2, 2, 13000, 13000, 0)}


def test_one_zone_and_the_category_a_bill_was_charged_under(world, october):
    a = Zone.query.filter_by(estate_id=world.estate.id, name="A区").one()
    report = fee_figures(world.estate.id, date(2026, 10, 1), date(2026, 10, 31), a.id)
    assert report["totals"] == figures(2, 2, 23000, 23000, 2000)
    assert report["by_zone"] == [{"zone": "A区", **figures(2, 2, 23000, 23000, 2000)}]
    other_zone = Zone.query.filter_by(estate_id=world.other.id).first()
    with pytest.raises(ServiceError) as caught:
        fee_figures(world.estate.id, date(2026, 10, 1), date(2026, 10, 31), other_zone.id)
    assert caught.value.status == 404
    # U1's category changes: a new bill is charged under the new one.
    october["till"].bill(world.unit, 1000, date(2026, 10, 28), occupancy="renovated_vacant")
    report = fee_figures(world.estate.id, date(2026, 10, 1), date(2026, 10, 31), a.id)
    rows = {r["occupancy"]: r for r in report["by_occupancy"]}
    assert rows["renovated_vacant"] == rows["renovated_vacant"] | figures(1, 0, 1000, 0, 0)
    assert rows["occupied_renovated"]["paid_households"] == 2  # its bills there are paid
    assert report["totals"] == figures(2, 1, 24000, 23000, 2000)


def test_bad_periods_are_refused(world):
    for start, end in (
        (date(2026, 10, 2), date(2026, 10, 1)),
        (date(2026, 1, 1), date(2027, 1, 2)),
    ):
        with pytest.raises(ServiceError) as caught:
            fee_figures(world.estate.id, start, end)
        assert caught.value.status == 400


# The API ---------------------------------------------------------------------------------


def test_api_shape_and_money_strings(client, world, api_token, october):
    response = client.get(URL, query_string=OCTOBER, headers={**api_token("manager"), **EN})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totals"] == {
        "billed_households": 4,
        "paid_households": 3,
        "collection_rate": 0.75,
        "receivable": "470.00",
        "received": "320.00",
        "arrears": "150.00",
        "discounts": "20.00",
    }
    assert body["by_occupancy"][0]["label"] == "Renovated, occupied"
    assert body["by_occupancy"][0]["receivable"] == "230.00"
    assert [z["zone"] for z in body["by_zone"]] == ["A区", "B区"]
    assert body["by_zone"][1]["collection_rate"] == 0.5
    b = Zone.query.filter_by(estate_id=world.estate.id, name="B区").one()
    one = client.get(URL, query_string={**OCTOBER, "zone": b.id}, headers=api_token("frontdesk"))
    assert one.get_json()["totals"]["arrears"] == "150.00"


def test_api_refusals(client, world, api_token, october):
    manager = api_token("manager")
    for bad in (
        {},
        {"from": "2026-10-01"},
        {"from": "2026-13-01", "to": "2026-10-31"},
        {"from": "2026-10-31", "to": "2026-10-01"},
        {"from": "2026-01-01", "to": "2027-01-02"},
        {**OCTOBER, "zone": "A"},
    ):
        response = client.get(URL, query_string=bad, headers=manager)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["fields"], bad
    other_zone = Zone.query.filter_by(estate_id=world.other.id).first()
    foreign = client.get(URL, query_string={**OCTOBER, "zone": other_zone.id}, headers=manager)
    assert foreign.status_code == 404
    # Staff of one estate may name their own estate, no other (core/access.acting_estate).
    named = client.get(URL, query_string={**OCTOBER, "estate": world.estate.id}, headers=manager)
    assert named.status_code == 200
    theirs = client.get(URL, query_string={**OCTOBER, "estate": world.other.id}, headers=manager)
    assert theirs.status_code == 404
    assert client.get(URL, query_string=OCTOBER).status_code == 401
    for username in ("resident", "technician"):
        assert client.get(URL, query_string=OCTOBER, headers=api_token(username)).status_code == 403


def test_api_company_wide_names_the_estate(client, world, api_token, october):
    admin = api_token("admin")
    # Without estate=, a company-wide caller gets the estate they act for: by default
    # their company's first.
    first = client.get(URL, query_string=OCTOBER, headers=admin)
    assert first.get_json()["totals"]["receivable"] == "470.00"
    ours = client.get(URL, query_string={**OCTOBER, "estate": world.estate.id}, headers=admin)
    assert ours.get_json()["totals"]["receivable"] == "470.00"
    theirs = client.get(URL, query_string={**OCTOBER, "estate": world.other.id}, headers=admin)
    assert theirs.get_json()["totals"]["received"] == "90.00"
    foreign = make_estate(make_company(name="别家物业"))
    db.session.commit()
    assert (
        client.get(URL, query_string={**OCTOBER, "estate": foreign.id}, headers=admin).status_code
        == 404
    )
    other_desk = client.get(URL, query_string=OCTOBER, headers=api_token("frontdesk_other"))
    assert other_desk.get_json()["totals"]["billed_households"] == 1


# Arrears ---------------------------------------------------------------------------------

ON = date(2026, 12, 31)


@pytest.fixture
def aged(world):
    """U1 (A区) owes bills of every age on 31 Dec 2026; a payment of 1500 paid the oldest
    (1000, 200 days) and 500 of the next (2000, 181 days). U3 (B区) paid 3000 ahead on
    1 Nov and was billed 10000 due 26 Dec on 29 Dec; a withdrawn bill is left out."""
    w = world
    till = Till(w)
    at(2026, 6, 1)
    ages = [(200, 1000), (181, 2000), (180, 4000), (91, 800), (90, 300), (31, 50)]
    ages += [(30, 5), (0, 7), (-1, 11)]
    for days, fen in ages:
        till.bill(w.unit, fen, ON - timedelta(days=days))
    till.pay(w.unit, 1500, (2026, 12, 21))
    withdrawn = till.bill(w.vacant, 5000, ON - timedelta(days=100))
    ledger.reverse_bill(withdrawn, reason="错开", actor=w.manager)
    till.pay(w.vacant, 3000, (2026, 11, 1))
    at(2026, 12, 29)
    till.bill(w.vacant, 10000, ON - timedelta(days=5))
    till.bill(w.other_unit, 9900, ON - timedelta(days=5))
    db.session.commit()
    at(2026, 12, 31)
    return w


U1_BUCKETS = {
    "owed": 6673,
    "not_due": 11,
    "days_0_30": 12,
    "days_31_90": 350,
    "days_91_180": 4800,
    "over_180": 1500,
}


def test_arrears_buckets(world, aged):
    found = arrears(world.estate.id, ON)
    assert found["total"] == 2
    first, second = found["items"]
    assert first["unit_id"] == world.unit.id and first["unit"] == "A区 1栋 1单元101"
    assert {k: first[k] for k in U1_BUCKETS} == U1_BUCKETS
    assert first["oldest_due"] == ON - timedelta(days=181) and first["credit"] == 0
    assert (second["unit_id"], second["owed"], second["days_0_30"]) == (world.vacant.id, 7000, 7000)
    assert (second["zone"], second["building"], second["credit"]) == ("B区", "3栋", 0)
    assert found["totals"] == {**U1_BUCKETS, "owed": 13673, "days_0_30": 7012}
    # As of 28 Dec the 10000 bill had not yet taken the 3000 paid ahead: that was credit.
    before = arrears(world.estate.id, date(2026, 12, 28))["items"][1]
    assert (before["owed"], before["credit"]) == (10000, 3000)


def test_arrears_filters_and_pages(world, aged):
    b = Zone.query.filter_by(estate_id=world.estate.id, name="B区").one()
    only_b = arrears(world.estate.id, ON, zone_id=b.id)
    assert [i["unit_id"] for i in only_b["items"]] == [world.vacant.id]
    assert only_b["totals"]["owed"] == 7000 and only_b["total"] == 1
    building = arrears(world.estate.id, ON, building_id=world.unit.building_id)
    assert [i["unit_id"] for i in building["items"]] == [world.unit.id]
    second_page = arrears(world.estate.id, ON, limit=1, offset=1)
    assert [i["unit_id"] for i in second_page["items"]] == [world.vacant.id]
    assert second_page["total"] == 2 and second_page["totals"]["owed"] == 13673


def test_arrears_api(client, world, api_token, aged):
    response = client.get("/api/v1/arrears?per_page=1", headers=api_token("supervisor"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 1, 2)
    (item,) = body["items"]
    assert item["owed"] == "66.73" and item["over_180"] == "15.00" and item["credit"] == "0.00"
    assert body["totals"]["owed"] == "136.73"
    other_zone = Zone.query.filter_by(estate_id=world.other.id).first()
    foreign = client.get(f"/api/v1/arrears?zone={other_zone.id}", headers=api_token("manager"))
    assert foreign.status_code == 404
    assert client.get("/api/v1/arrears", headers=api_token("technician")).status_code == 403


# Pages -----------------------------------------------------------------------------------


def test_report_page_xlsx_and_pdf(client, world, login_as, october):
    from openpyxl import load_workbook

    login_as("supervisor")
    page = client.get("/reports/fees", query_string=OCTOBER, headers=EN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "470.00" in html and "75.0%" in html and "<svg" in html
    assert 'data-testid="chart-by-zone"' in html and "<script" not in html.split("<svg")[1]
    xlsx = client.get("/reports/fees.xlsx", query_string=OCTOBER, headers=EN)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    total = next(r for r in rows if r[0] == "All households")
    assert total[1:4] == [4, 3, 0.75] and float(total[4]) == 470.0 and float(total[6]) == 150.0
    zone_b = next(r for r in rows if r[0] == "B区")
    assert float(zone_b[5]) == 90.0
    pdf = client.get("/reports/fees.pdf", query_string=OCTOBER)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_report_page_refusals_and_defaults(client, world, login_as, october):
    login_as("frontdesk")
    assert client.get("/reports/fees").status_code == 200  # this month by default
    assert client.get("/reports/fees?from=2026-10-99").status_code == 400
    assert client.get("/reports/fees?from=2026-10-31&to=2026-10-01").status_code == 400
    assert client.get("/reports/fees?from=2025-01-01&to=2026-10-01").status_code == 400
    other_zone = Zone.query.filter_by(estate_id=world.other.id).first()
    assert client.get(f"/reports/fees?zone={other_zone.id}").status_code == 404
    for username in ("resident", "technician"):
        login_as(username)
        for path in ROUTES:
            assert client.get(path).status_code == 403, (username, path)
    login_as("admin")
    mine = client.get("/reports/fees", query_string={**OCTOBER, "estate": world.estate.id})
    assert "470.00" in mine.get_data(as_text=True)
    assert client.get("/reports/fees?estate=999999").status_code == 404


def test_report_page_queries_do_not_grow_with_bills(client, world, login_as, count_queries):
    login_as("manager")
    till = Till(world)
    at(2026, 9, 20)
    till.bill(world.unit, 1000, date(2026, 10, 5))
    db.session.commit()

    def measure(path):
        with count_queries() as counter:
            assert client.get(path, query_string=OCTOBER).status_code == 200
        return counter.count

    before = {p: measure(p) for p in ("/reports/fees", "/reports/arrears")}
    for n in range(25):
        unit = make_unit(world.estate, zone=f"Z{n % 3}区", building=f"{n % 4}栋", number=f"{n}01")
        till.bill(unit, 1000 + n, date(2026, 10, 1 + n))
        till.bill(unit, 500, date(2026, 9, 1 + n))
        if n % 2:
            till.pay(unit, 700, (2026, 10, 2))
    db.session.commit()
    after = {p: measure(p) for p in ("/reports/fees", "/reports/arrears")}
    assert after == before
    assert before["/reports/fees"] <= 6


def test_arrears_page(client, world, login_as, aged):
    login_as("frontdesk")
    page = client.get("/reports/arrears", headers=EN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/units/{world.unit.id}"' in html and "66.73" in html and "136.73" in html
    b = Zone.query.filter_by(estate_id=world.estate.id, name="B区").one()
    only_b = client.get(f"/reports/arrears?zone={b.id}").get_data(as_text=True)
    assert f'href="/units/{world.vacant.id}"' in only_b
    assert f'href="/units/{world.unit.id}"' not in only_b
    other_zone = Zone.query.filter_by(estate_id=world.other.id).first()
    assert client.get(f"/reports/arrears?zone={other_zone.id}").status_code == 404
    assert client.get("/reports/arrears?page=-3&zone=x").status_code == 200


ROUTES = ("/reports/fees", "/reports/fees.xlsx", "/reports/fees.pdf", "/reports/arrears")
NO_QUERY = {
    "resident": (403, 403, 403),
    "technician": (403, 403, 403),
    "frontdesk": (200, 400, 200),
    "supervisor": (200, 400, 200),
    "manager": (200, 400, 200),
    "admin": (200, 400, 200),  # company-wide: the estate they act for
    "frontdesk_other": (200, 400, 200),
}


@pytest.mark.parametrize("username", sorted(NO_QUERY))
def test_who_may_see_the_pages_and_the_api(client, world, login_as, username):
    """Called with no query at all, as tests/core/test_access_matrix.py calls them."""
    page, report_api, arrears_api = NO_QUERY[username]
    login_as(username)
    for path in ROUTES:
        assert client.get(path).status_code == page, path
    assert client.get(URL).status_code == report_api
    assert client.get("/api/v1/arrears").status_code == arrears_api


def test_anonymous_callers_sign_in(client, world):
    for path in ROUTES:
        assert client.get(path).status_code == 302
    assert client.get(URL).status_code == 401
    assert client.get("/api/v1/arrears").status_code == 401
