"""The repair and complaint lists take the due filters the homes link to (?due=overdue,
?due=today for complaint replies): each home tile's count is the number of rows of the
list it opens, for every role that has the tile (a zone butler's in their zones)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.blueprints.complaints.services import complaints_for, register_complaint
from portal.blueprints.repairs.services import act, repairs_for, submit_repair
from portal.core import clock
from portal.extensions import db
from tests.factories import make_zone_butler

EN = {"Accept-Language": "en"}
# Noon in Shanghai: today ends in 12 hours (16:00 UTC).
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(NOW)


def hours(n):
    return NOW + timedelta(hours=n)


@pytest.fixture
def due_world(world):
    """Repairs and complaints around now, in A区 (the world's households) and in B区."""

    def repair(description, due, unit=None):
        if unit is None:
            r = submit_repair(
                world.resident, category="civil", location="unit", description=description
            )
        else:
            r = submit_repair(
                world.frontdesk, category="civil", location="unit", description=description,
                unit_id=unit.id,
            )  # fmt: skip
        r.due_at = due
        return r

    def complaint(content, due, unit=None):
        c = register_complaint(
            world.frontdesk if unit else world.resident,
            category="fees",
            content=content,
            unit_id=unit.id if unit else None,
        )
        c.due_at = due
        return c

    repair("还没到期", hours(2))
    repair("已超时", hours(-1))
    assigned = repair("派工后超时", hours(-0.5))
    act(assigned, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    assigned.due_at = hours(-0.5)
    done = repair("超时但已完成", hours(-5))
    done.status = "completed"
    repair("B区超时", hours(-2), unit=world.vacant)

    complaint("两天内回复", hours(48))
    complaint("今天回复", hours(3))
    complaint("已超时", hours(-1))
    closed = complaint("超时但已关闭", hours(-1))
    closed.status = "closed"
    complaint("明天凌晨回复", hours(13))  # 01:00 tomorrow in Shanghai
    complaint("B区超时", hours(-1), unit=world.vacant)
    db.session.commit()
    return world


def home(client):
    response = client.get("/", headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def tile(page, testid):
    """(count shown, href) of a home tile."""
    found = re.search(rf'<(a|div) [^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no tile {testid}"
    href = re.search(r'href="([^"]*)"', found.group(0).split(">")[0]).group(1)
    count = re.search(r"data-count>([^<]*)<", found.group(2)).group(1).strip()
    return int(count), href.replace("&amp;", "&")


def rows(client, href):
    response = client.get(href, headers=EN)
    assert response.status_code == 200
    listed = re.split(r'data-testid="(?:repair|complaint)-list"', response.get_data(as_text=True))
    return listed[1].count("list-group-item-action")


@pytest.mark.parametrize(
    "login, tiles",
    [
        ("frontdesk", {"repairs-overdue": 3, "complaints-overdue": 2, "replies-due": 3}),
        ("zone_butler", {"repairs-overdue": 2, "complaints-overdue": 1, "replies-due": 2}),
        ("supervisor", {"repairs-overdue": 3, "complaints-overdue": 2}),
        ("manager", {"repairs-overdue": 3, "complaints-overdue": 2}),
        ("technician", {"orders-overdue": 1}),
    ],
)
def test_each_tile_counts_the_rows_of_the_list_it_opens(client, due_world, login_as, login, tiles):
    make_zone_butler(due_world)  # of A区
    login_as(login)
    page = home(client)
    for testid, want in tiles.items():
        count, href = tile(page, testid)
        assert "due=" in href
        assert count == rows(client, href) == want, testid


def test_the_filters_select_open_tickets_by_due_time(due_world):
    def descriptions(stmt):
        return sorted(t.description for t in db.session.scalars(stmt))

    def contents(stmt):
        return sorted(t.content for t in db.session.scalars(stmt))

    fd = due_world.frontdesk
    assert descriptions(repairs_for(fd, due="overdue")) == ["B区超时", "已超时", "派工后超时"]
    assert contents(complaints_for(fd, due="overdue")) == ["B区超时", "已超时"]
    assert contents(complaints_for(fd, due="today")) == ["B区超时", "今天回复", "已超时"]
    assert len(db.session.scalars(repairs_for(fd, due="soon")).all()) == 5  # no such filter


def test_the_list_keeps_the_filter_and_ignores_an_unknown_one(client, due_world, login_as):
    login_as("frontdesk")
    page = client.get("/repairs/?due=overdue", headers=EN).get_data(as_text=True)
    assert re.search(r'<option value="overdue" selected>', page)
    page = client.get("/complaints/?due=today", headers=EN).get_data(as_text=True)
    assert re.search(r'<option value="today" selected>', page)
    for href, everything in (("/repairs/?due=later", 5), ("/complaints/?due=yesterday", 6)):
        assert rows(client, href) == everything
    # The pager carries the filter to the next page.
    for n in range(30):
        late = submit_repair(
            due_world.resident, category="civil", location="unit", description=f"旧{n}"
        )
        late.due_at = hours(-3)
    db.session.commit()
    page = client.get("/repairs/?due=overdue", headers=EN).get_data(as_text=True)
    links = re.findall(r'href="([^"]*page=2[^"]*)"', page)
    assert links and all("due=overdue" in link for link in links)
    assert rows(client, links[0].replace("&amp;", "&")) == 33 - 30
