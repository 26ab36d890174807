"""Sign in, switch language and sign out in a real browser, on a phone and on a desktop.

Each case screenshots every state to test-output/screenshots/<user>-<locale>-<viewport>-*.png.
The forms are driven by their field names, so that a missing translation fails the language
assertions it concerns (listed together at the end of a case) rather than every later step.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD, ESTATE
from tests.e2e.conftest import LOCALES, VIEWPORTS

pytestmark = pytest.mark.browser

USERS = ["resident", "manager"]
RESIDENT_UNIT = "A区 1栋 1单元101"
RESIDENT_SECTIONS = ["my-units", "my-requests", "my-bills", "my-notices"]
MANAGER_NAME = "孙志强"
CJK = re.compile(r"[\u4e00-\u9fff]")


def text_of(locator) -> str:
    return locator.evaluate("el => (el.value || el.textContent).replace(/\\s+/g, ' ').trim()")


def sign_in(tab, username: str):
    """Fill the sign-in form and submit it; the home page is shown afterwards."""
    page = tab.page
    if not tab.page.url.startswith(tab.base_url + "/auth/login"):
        tab.goto("/auth/login")
    form = page.locator("main form")
    form.locator("input[name=login]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    tab.shot("login")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/"))
    page.wait_for_load_state("load")


def sign_out_button(page):
    return page.locator("nav form[action$='/auth/logout'] [type=submit]")


class Language:
    """Collects what is shown in the wrong language, to be asserted at the end of a case."""

    def __init__(self, tab):
        self.tab = tab
        self.problems = []

    def lang(self, where: str):
        want = LOCALES[self.tab.locale][2]
        got = self.tab.html_lang()
        if got != want:
            self.problems.append(f"{where}: <html lang={got!r}>, expected {want!r}")

    def says(self, locator, msgid: str, where: str, attribute: str | None = None):
        want = self.tab.t(msgid)
        got = locator.get_attribute(attribute) if attribute else text_of(locator)
        if got != want:
            self.problems.append(f"{where}: shows {got!r}, the catalogue says {want!r}")

    def check(self):
        assert not self.problems, f"{self.tab.name}: wrong language:\n" + "\n".join(self.problems)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize("user", USERS)
def test_sign_in_shows_the_home_for_the_role(open_tab, catalogue, user, locale, viewport):
    tab = open_tab(f"{user}-{locale}-{viewport}", locale, viewport)
    page = tab.page
    language = Language(tab)

    tab.goto("/auth/login")
    expect(page.locator("main form input[name=login]")).to_be_visible()
    language.lang("sign-in page")
    button = page.locator("main form [type=submit]")
    language.says(button, "Sign in", "sign-in button")
    language.says(page.locator("main label[for=login]"), "Username or phone number", "login label")
    language.says(page.locator("main label[for=password]"), "Password", "password label")
    if locale == "en":
        assert text_of(button) == "Sign in"
    elif catalogue.translated("Sign in") and (  # the zh catalogue has it: zh and en differ
        text_of(button) == "Sign in" or not CJK.search(text_of(button))
    ):
        language.problems.append(
            f"sign-in button: shows {text_of(button)!r} in zh although the compiled "
            f"catalogue translates it as {catalogue.text('Sign in', 'zh')!r}"
        )

    sign_in(tab, user)
    language.lang("home page")

    if user == "resident":
        units = page.get_by_test_id("my-units")
        expect(units).to_be_visible()
        expect(units.get_by_role("link").filter(has_text=RESIDENT_UNIT)).to_be_visible()
        language.says(units.get_by_role("heading"), "My units", "my-units heading")
        for section in RESIDENT_SECTIONS:
            expect(page.get_by_test_id(section)).to_be_visible()
        expect(page.get_by_test_id("estate-summary")).to_have_count(0)
    else:
        expect(page.get_by_test_id("whoami")).to_contain_text(MANAGER_NAME)
        summary = page.get_by_test_id("estate-summary")
        expect(summary).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_contain_text(ESTATE)
        tiles = summary.locator(f'[data-estate="{ESTATE}"]')
        expect(tiles).to_be_visible()
        stats = [t.strip() for t in tiles.locator(".stat").all_inner_texts()]
        units, handed_over, occupied = (int(x) for x in stats[:3])
        handover_rate, occupancy_rate = stats[3:]
        assert units > 1000 and occupied <= handed_over <= units
        assert re.fullmatch(r"\d{1,3}\.\d%", handover_rate), handover_rate
        assert handover_rate == f"{handed_over / units * 100:.1f}%"  # agrees with the tiles
        assert occupancy_rate == f"{occupied / handed_over * 100:.1f}%"
        expect(page.get_by_test_id("my-units")).to_have_count(0)

    if tab.phone:
        tab.no_horizontal_scroll()
    tab.shot("home")
    tab.assert_clean()
    language.check()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("where", ["login", "home"])
def test_language_switch_in_the_navbar(open_tab, where, viewport):
    """zh → English → 中文 from the navbar, staying on the same page."""
    tab = open_tab(
        f"{'resident' if where == 'home' else 'anonymous'}-zh-{viewport}", "zh", viewport
    )
    page = tab.page
    html = page.locator("html")
    if where == "home":
        sign_in(tab, "resident")
        path, marker = "/", page.get_by_test_id("my-units").get_by_text(RESIDENT_UNIT)
    else:
        tab.goto("/auth/login")
        path, marker = "/auth/login", page.locator("main form input[name=login]")
    expect(html).to_have_attribute("lang", "zh-CN")

    tab.open_menu()
    english = page.get_by_role("link", name="English", exact=True)
    expect(english).to_have_attribute("lang", "en")
    english.click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(tab.path_is(path))
    expect(marker).to_be_visible()
    if where == "login":
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    tab.shot(f"{where}-switched-en")

    tab.open_menu()
    chinese = page.get_by_role("link", name="中文", exact=True)
    expect(chinese).to_have_attribute("lang", "zh-CN")
    chinese.click()
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(tab.path_is(path))
    expect(marker).to_be_visible()
    tab.shot(f"{where}-switched-zh")
    tab.assert_clean()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize("user", USERS)
def test_sign_out_returns_to_sign_in(open_tab, user, locale, viewport):
    tab = open_tab(f"{user}-{locale}-{viewport}", locale, viewport)
    page = tab.page
    language = Language(tab)
    sign_in(tab, user)
    home_marker = page.get_by_test_id("my-units" if user == "resident" else "estate-summary")
    expect(home_marker).to_be_visible()

    button = sign_out_button(page)
    if tab.phone:  # collapsed behind the toggler until the menu is opened
        expect(button).to_be_hidden()
        language.says(
            page.locator("button.navbar-toggler"), "Menu", "menu toggler", attribute="aria-label"
        )
    tab.open_menu()
    expect(button).to_be_visible()
    language.says(button, "Sign out", "sign-out button")
    if tab.phone:
        tab.shot("menu-open")
    button.click()

    expect(page).to_have_url(tab.path_is("/auth/login"))
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    language.says(alert, "You have signed out.", "signed-out message")
    expect(page.locator("main form input[name=login]")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_have_count(0)
    expect(sign_out_button(page)).to_have_count(0)
    tab.shot("signed-out")

    # The browser's Back button must not show the signed-in home again…
    page.go_back()
    expect(page).to_have_url(tab.path_is("/auth/login"))
    expect(home_marker).to_have_count(0)
    # …and neither must typing the address of the home page.
    tab.goto("/")
    expect(page).to_have_url(tab.path_is("/auth/login"))
    assert re.search(r"[?&]next=(/|%2F)(&|$)", page.url), page.url
    expect(home_marker).to_have_count(0)
    expect(page.locator("main form input[name=password]")).to_be_visible()
    tab.shot("after-sign-out-home")
    tab.assert_clean()
    language.check()
