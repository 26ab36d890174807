"""The statements of every page of the page benchmark (bench/pages.py): pinned, and the same
whether the estate has a handful of records or many times more.

A budget that rises is a decision to write down here, not an accident: each page's number
is the statements it needs today (the signed-in person is one of them, with the bell's
count read in the same statement).
"""

from datetime import date

import pytest

from portal.blueprints.repairs.services import submit_repair
from portal.core.places import Occupancy
from portal.extensions import db
from tests.factories import make_resident, make_unit
from tests.fees.helpers import bill, pay

# page → (who, statements): the signed-in person (with roles, units, estate and the bell's
# count) is one, settings another where the page shows one. "/?staff…" is the home of a
# staff role (each role's home shows its own work).
PAGES = {
    "/": ("resident", 5),
    "/fees/mine": ("resident", 5),
    "/repairs/": ("resident", 3),
    "/?staff": ("manager", 4),  # the month's figures, the estates' rates
    "/?staff-desk": ("frontdesk", 3),  # the day's queue in one statement
    "/?staff-orders": ("technician", 4),  # the orders, where they are
    "/?staff-oversight": ("supervisor", 4),  # the figures, the plans to approve
    "/units/?q=101": ("frontdesk", 4),
    "/units/{unit}": ("frontdesk", 7),
    "/repairs/?staff": ("frontdesk", 3),
    "/repairs/?staff-board": ("supervisor", 5),  # the list, its units, the board in two
    "/reports/fees?from=2026-10-01&to=2026-11-30": ("manager", 3),
}
API = {
    "/api/v1/repairs": ("resident", 2),
    "/api/v1/repairs?staff": ("frontdesk", 2),
    "/api/v1/units?q=1": ("frontdesk", 3),
}


def grow(world, n=12):
    """More of everything the pages list or sum: homes with residents, bills, payments and
    repairs, in the resident's unit and around it."""
    for i in range(n):
        unit = make_unit(
            world.estate,
            zone="C区",
            building=f"{i % 3 + 1}栋",
            number=f"{i + 1}01",
            occupancy=list(Occupancy)[i % 8],
        )
        person = make_resident(unit)
        bill(world, unit, 10_000 + i, key=f"grow-{i}")
        submit_repair(person, category="other", location="unit", description=f"第{i}个")
    for i in range(n):
        bill(world, world.unit, 5_000, key=f"mine-{i}", due_on=date(2026, 11, 15))
        pay(world, world.unit, 2_500)
        submit_repair(world.resident, category="civil", location="unit", description=f"家{i}")
    db.session.commit()


def _path(template, world):
    return template.split("?staff")[0].format(unit=world.unit.id)


def test_each_hot_page_keeps_its_statement_budget(client, world, login_as, count_queries):
    def measure():
        counts = {}
        for template, (who, _budget) in PAGES.items():
            login_as(who)
            path = _path(template, world)
            client.get(path)  # warm: the first view of a page may fill per-process caches
            with count_queries() as counter:
                response = client.get(path)
            assert response.status_code == 200, (template, response.status_code)
            counts[template] = counter.count
        return counts

    bill(world, world.unit, 8_000, key="first", due_on=date(2026, 11, 15))
    submit_repair(world.resident, category="civil", location="unit", description="灯")
    db.session.commit()
    few = measure()
    grow(world)
    many = measure()
    assert many == few, "a page's statements grew with the data"
    over = {p: (n, PAGES[p][1]) for p, n in few.items() if n > PAGES[p][1]}
    assert not over, f"statements over budget (counted, budget): {over}"


@pytest.mark.parametrize("template", list(API))
def test_api_lists_keep_their_statement_budget(client, world, api_token, count_queries, template):
    who, budget = API[template]
    headers = api_token(who)
    path = _path(template, world)

    def measure():
        with count_queries() as counter:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_json()
        return counter.count

    submit_repair(world.resident, category="civil", location="unit", description="灯")
    db.session.commit()
    few = measure()
    grow(world)
    assert measure() == few <= budget
