"""The staff bar and each role's home in a real browser.

The bar is one line at 1024, 1366 and 1920 px for the manager (the most entries) and the
front desk, in both languages: no label breaks (首/页), the bar is as tall as one line,
and its groups open as menus. On a phone it collapses behind the toggler.

Screenshots: test-output/screenshots/menu-<width>.png (the manager, in Chinese),
menu-<role>-<locale>-<width>.png, and home-<role>.png for each role's home.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_sign_in import sign_in

pytestmark = pytest.mark.browser

WIDTHS = [1024, 1366, 1920]
# A line of the bar: a link's text line plus its padding (Bootstrap's nav-link is ~40 px)
# and the bar's own padding; two lines of text would be at least 24 px more.
ONE_LINE_BAR = 72
ONE_LINE_LINK = 44

MEASURE = """() => {
  const bar = document.querySelector('nav.navbar');
  const items = [...bar.querySelectorAll('.navbar-nav > .nav-item > .nav-link, .navbar-brand')]
    .filter(el => el.offsetParent !== null);
  return {
    bar: bar.getBoundingClientRect().height,
    tops: items.map(el => el.getBoundingClientRect()).map(r => Math.round(r.top + r.height / 2)),
    links: items.map(el => [el.textContent.trim(), el.getBoundingClientRect().height]),
    wide: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


def desk(open_tab, name, locale, width):
    tab = open_tab(name, locale, "desktop")
    tab.page.set_viewport_size({"width": width, "height": 900})
    return tab


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("user", ["manager", "frontdesk", "admin"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_staff_bar_is_one_line(open_tab, user, locale, width):
    tab = desk(open_tab, f"menu-{user}-{locale}-{width}", locale, width)
    page = tab.page
    sign_in(tab, user)
    expect(page.locator("button.navbar-toggler")).to_be_hidden()  # the full bar, no toggler
    found = page.evaluate(MEASURE)
    too_tall = [(text, h) for text, h in found["links"] if h > ONE_LINE_LINK]
    assert not too_tall, f"{tab.name}: links taller than one line: {too_tall}"
    assert found["bar"] <= ONE_LINE_BAR, f"{tab.name}: the bar is {found['bar']} px tall"
    # Every entry sits on the same line (their middles within a few px of each other).
    assert max(found["tops"]) - min(found["tops"]) <= 6, (tab.name, found["links"])
    assert found["wide"] <= 0, f"{tab.name}: the page scrolls sideways by {found['wide']} px"

    # The groups are menus: the fees group opens and lists only pages this role may open.
    fees = page.get_by_test_id("menu-fees")
    expect(fees).to_be_visible()
    fees.click()
    expect(page.locator(".dropdown-menu.show")).to_be_visible()
    admin = page.get_by_test_id("menu-admin")  # the manager imports; the desk administers nothing
    expect(admin).to_have_count(0 if user == "frontdesk" else 1)
    if user == "manager" and locale == "zh":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"menu-{width}.png"))
    tab.shot("open")
    tab.assert_clean()


def test_the_bar_collapses_to_the_toggler_on_a_phone(open_tab):
    tab = open_tab("menu-manager-zh-phone", "zh", "phone")
    page = tab.page
    sign_in(tab, "manager")
    expect(page.get_by_test_id("menu")).to_be_hidden()
    tab.open_menu()
    expect(page.get_by_test_id("menu")).to_be_visible()
    page.get_by_test_id("menu-reports").tap()
    expect(page.locator("#nav .dropdown-menu.show")).to_be_visible()
    tab.no_horizontal_scroll()
    tab.shot("open")
    tab.assert_clean()


HOMES = {  # role -> (viewport, what its home must show)
    "resident": ("phone", "my-requests"),
    "frontdesk": ("desktop", "desk-today"),
    "technician": ("phone", "my-orders"),
    "supervisor": ("desktop", "oversight"),
    "manager": ("desktop", "month"),
}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_s_home_shows_its_work(open_tab, role):
    viewport, section = HOMES[role]
    tab = open_tab(f"home-{role}-zh-{viewport}", "zh", viewport)
    page = tab.page
    sign_in(tab, role)
    expect(page.get_by_test_id(section)).to_be_visible()
    if role == "resident":
        card = page.get_by_test_id("my-requests")
        expect(card.get_by_test_id("report-repair")).to_be_visible()
        expect(card.get_by_test_id("file-complaint")).to_be_visible()
    if role == "frontdesk":  # a payment starts from the unit search
        page.get_by_test_id("action-payment").click()
        expect(page.locator("main input[name=q]")).to_be_focused()
    if role in ("frontdesk", "supervisor", "manager"):
        visits = page.get_by_test_id("visits")
        count = visits.locator("[data-count]").inner_text().strip()
        visits.click()  # the tile and the page agree
        expect(page).to_have_url(tab.path_is("/repairs/visits"))
        listed = page.get_by_test_id("visit-queue").locator("a.list-group-item")
        assert int(count) >= listed.count()  # a long queue is paged
        if int(count) <= 30:
            expect(listed).to_have_count(int(count))
        page.go_back()
    if tab.phone:
        tab.no_horizontal_scroll()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"home-{role}.png"), full_page=True)
    tab.assert_clean()
