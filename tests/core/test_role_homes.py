"""Each role's home shows its work: the desk's day, a technician's orders by due time, a
supervisor's overdue and approvals, a manager's month; the resident's latest repairs and
complaints. Counts link to the lists they count, and the return-visit tile agrees with the
return-visit page."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.blueprints.complaints.services import act as act_on_complaint
from portal.blueprints.complaints.services import register_complaint
from portal.blueprints.repairs.services import act, submit_repair
from portal.core import clock
from portal.extensions import db

EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def home(client):
    response = client.get("/", headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def tile(page, testid):
    """(count shown, href or None) of a home tile."""
    found = re.search(rf'<(a|div) [^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no tile {testid}"
    href = re.search(r'href="([^"]*)"', found.group(0).split(">")[0])
    count = re.search(r"data-count>([^<]*)<", found.group(2)).group(1).strip()
    return count, href.group(1).replace("&amp;", "&") if href else None


def repair(world, description="灯不亮"):
    return submit_repair(world.resident, category="civil", location="unit", description=description)


def dispatched(world, description):
    r = repair(world, description)
    act(r, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    return r


def completed(world, description):
    r = dispatched(world, description)
    act(r, "start", actor=world.technician)
    act(r, "complete", actor=world.technician, data={"note": "修好"})
    return r


def planned(world, content):
    c = register_complaint(world.resident, category="service_attitude", content=content)
    act_on_complaint(c, "assess", actor=world.frontdesk, data={"valid": True, "department": "客服"})
    act_on_complaint(c, "investigate", actor=world.frontdesk, data={"cause": "新员工"})
    act_on_complaint(c, "propose", actor=world.frontdesk, data={"plan": "道歉并培训"})
    return c


def test_the_resident_sees_repairs_and_complaints_with_both_buttons(client, world, login_as):
    r = repair(world, "水管漏水")
    c = register_complaint(world.resident, category="cleaning_greening", content="楼道脏")
    db.session.commit()
    login_as("resident")
    page = home(client)
    card = page.split('data-testid="my-requests"')[1].split("</section>")[0]
    assert f'href="/repairs/{r.id}"' in card and f'href="/complaints/{c.id}"' in card
    assert r.number in card and c.number in card
    assert "Submitted" in card and "Registered" in card  # each with its state
    assert 'data-testid="report-repair"' in card and 'data-testid="file-complaint"' in card
    assert 'href="/complaints/new"' in card
    assert "hotline for now" not in page


def test_the_resident_card_without_requests_offers_both_ways(client, world, login_as):
    login_as("resident")
    card = home(client).split('data-testid="my-requests"')[1].split("</section>")[0]
    assert "only" not in card and "hotline for now" not in card
    assert 'href="/repairs/new"' in card and 'href="/complaints/new"' in card


def test_the_desk_sees_what_waits_today_with_links_to_the_lists(client, world, login_as):
    repair(world, "新报修")
    overdue = repair(world, "早就该修")
    overdue.due_at = clock.now() - timedelta(hours=1)
    completed(world, "等回访")
    register_complaint(world.resident, category="fees", content="收费不清")  # reply due in 48 h
    late = register_complaint(world.resident, category="fees", content="早该回复")
    late.due_at = clock.now() + timedelta(hours=3)  # before midnight in Shanghai
    db.session.commit()
    login_as("frontdesk")
    page = home(client)
    assert "Units, handover and occupancy" not in page  # work, not estate statistics
    assert tile(page, "to-dispatch") == ("2", "/repairs/?status=submitted")
    assert tile(page, "reopened") == ("0", "/repairs/?status=reopened")
    assert tile(page, "replies-due") == ("1", "/complaints/?due=today")
    assert tile(page, "repairs-overdue") == ("1", "/repairs/?due=overdue")
    assert tile(page, "complaints-overdue") == ("0", "/complaints/?due=overdue")
    actions = {"action-repair": "/repairs/new", "action-complaint": "/complaints/new"}
    for action, href in actions.items():
        assert re.search(rf'href="{href}"[^>]*data-testid="{action}"', page)
    assert 'data-testid="action-payment"' in page and 'action="/units/"' in page


def test_the_return_visit_tile_agrees_with_the_return_visit_page(client, world, login_as):
    for n in range(3):
        completed(world, f"回访{n}")
    db.session.commit()
    login_as("frontdesk")
    count, href = tile(home(client), "visits")
    assert href == "/repairs/visits"
    listed = client.get(href, headers=EN).get_data(as_text=True)
    rows = listed.split('data-testid="visit-queue"')[1].count("list-group-item-action")
    assert count == str(rows) == "3"


def test_the_technician_sees_their_orders_by_due_time(client, world, login_as):
    later = dispatched(world, "后到期")
    sooner = dispatched(world, "先到期")
    sooner.due_at = clock.now() + timedelta(hours=1)
    later.due_at = clock.now() + timedelta(hours=5)
    repair(world, "未派工")  # not theirs
    db.session.commit()
    login_as("technician")
    page = home(client)
    orders = page.split('data-testid="my-orders"')[1]
    assert orders.index(sooner.number) < orders.index(later.number)
    assert "未派工" not in page
    assert tile(page, "orders-open") == ("2", "/repairs/")
    assert tile(page, "orders-overdue") == ("0", "/repairs/?due=overdue")


def test_the_supervisor_sees_the_overdue_and_the_approvals(client, world, login_as):
    c = planned(world, "保安态度差")
    late = repair(world, "超时")
    late.due_at = clock.now() - timedelta(minutes=5)
    db.session.commit()
    login_as("supervisor")
    page = home(client)
    assert tile(page, "approvals") == ("1", "/complaints/?status=plan_proposed")
    assert tile(page, "repairs-overdue") == ("1", "/repairs/?due=overdue")
    assert f'href="/complaints/{c.id}"' in page.split('data-testid="plans"')[1]


def test_the_manager_sees_the_month(client, world, login_as):
    completed(world, "本月完成")
    repair(world, "本月报修")
    register_complaint(world.resident, category="fees", content="本月投诉")
    db.session.commit()
    login_as("manager")
    page = home(client)
    period = "from=2026-11-01&to=2026-11-23"
    assert tile(page, "repairs-received") == ("2", f"/reports/repairs?{period}")
    assert tile(page, "repairs-completed") == ("1", f"/reports/repairs?{period}")
    assert tile(page, "complaints-received") == ("1", f"/reports/complaints?{period}")
    assert tile(page, "fees-received")[1] == f"/reports/fees?{period}"
    assert 'data-testid="estate-summary"' in page  # the manager keeps the estate's rates


def test_a_tile_links_only_where_its_reader_may_go(client, world, login_as):
    login_as("technician")
    page = home(client)
    assert "/reports/" not in page.split("<main")[1]
