"""The staff bar's menus: every page a person may open appears once, in its group; no page
they are refused, and no empty group."""

import re

import pytest

from portal.blueprints.home.navigation import GROUPS, STAFF_NAV, NavGroup, menu_for
from portal.core.access import may_open

ROLES = ["frontdesk", "technician", "supervisor", "manager", "admin", "resident"]


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_holds_exactly_the_pages_its_reader_may_open(app, world, role):
    user = getattr(world, role)
    views = app.view_functions
    with app.test_request_context():
        menu = menu_for(user)
    groups = [item for item in menu if isinstance(item, NavGroup)]
    shown = [e for item in menu for e in (item.entries if isinstance(item, NavGroup) else [item])]
    assert all(may_open(user, views[e.endpoint]) for e in shown)
    assert all(group.entries for group in groups)  # a group with nothing to open is left out
    assert all(e.group == g.key for g in groups for e in g.entries)
    assert len({e.endpoint for e in shown}) == len(shown)
    if user.is_staff:
        allowed = {e.endpoint for e in STAFF_NAV if may_open(user, views[e.endpoint])}
        assert {e.endpoint for e in shown} == allowed


def test_every_group_is_declared_and_used():
    used = {e.group for e in STAFF_NAV if e.group}
    assert used == set(GROUPS)


def dropdowns(page):
    return re.findall(r'data-testid="menu-([a-z]+)"', page)


def test_the_bar_shows_each_role_its_menus(client, world, login_as):
    login_as("frontdesk")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert dropdowns(page) == ["desk", "fees", "reports"]
    assert "dropdown-item" in page and "Billing runs" not in page
    login_as("technician")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # The engineers review renovations: the desk's menu holds that page alone for them.
    assert dropdowns(page) == ["desk"]
    desk_menu = page.split('data-testid="menu-desk"')[1].split("</ul>")[0]
    assert "Renovations" in desk_menu and "Passes" not in desk_menu
    login_as("admin")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert dropdowns(page) == ["desk", "fees", "reports", "admin"]
    assert "Staff accounts" in page.split('data-testid="menu-admin"')[1]


def test_staff_find_two_step_sign_in_under_their_name(client, world, login_as):
    login_as("frontdesk")
    assert 'data-testid="menu-second-factor"' in client.get("/").get_data(as_text=True)
    login_as("resident")
    assert 'data-testid="menu-second-factor"' not in client.get("/").get_data(as_text=True)


def test_the_bar_follows_the_page_and_the_language(client, world, login_as):
    # The bar is rendered once per role, language and page: each keeps its own.
    login_as("frontdesk")
    english = {"Accept-Language": "en"}
    units = client.get("/units/", headers=english).get_data(as_text=True)
    assert '<a class="nav-link active" href="/units/">Units & residents</a>' in units
    home = client.get("/", headers=english).get_data(as_text=True)
    assert '<a class="nav-link" href="/units/">Units & residents</a>' in home
    assert '<a class="nav-link active" href="/">Home</a>' in home
    chinese = client.get("/units/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<a class="nav-link active" href="/units/">房屋与住户</a>' in chinese
    login_as("resident")
    mine = client.get("/units/", headers=english)  # not a resident's page: no staff bar
    assert "Units & residents" not in client.get("/", headers=english).get_data(as_text=True)
    assert mine.status_code in (302, 403)
