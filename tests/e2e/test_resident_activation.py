"""A resident imported without a password gets in on a phone (390×844), by the SMS code a real
local gateway receives: activation, both of their units, a repair; then a forgotten password
is reset and the earlier session is gone (contracts §7).

The portal's SMS channel posts to this test's own HTTP server (tests/conftest.py SmsGateway);
the live server's application is the one its serving thread holds (tests/e2e/conftest.py).
Screenshots: test-output/screenshots/activation-zh-phone-*.png.
"""

import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.demo import ESTATE
from tests.conftest import SmsGateway
from tests.e2e.tickets import phone_fits

pytestmark = pytest.mark.browser

PHONE = "13766660001"
NAME = "任新民"
FIRST_PASSWORD = "bamboo-grove-2026"
NEW_PASSWORD = "lotus-pond-3141"
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def live_app():
    """The Flask application the e2e live server serves (its thread runs serve_forever)."""
    for thread in threading.enumerate():
        if thread.name == "e2e-live-server":
            return thread._target.__self__.app
    raise AssertionError("the e2e live server is not running")


@pytest.fixture
def gateway(live_server):
    """The live portal's SMS channel posts to a gateway of this test's own."""
    app = live_app()
    sms = SmsGateway()
    before = app.config.get("SMS_GATEWAY_URL")
    app.config["SMS_GATEWAY_URL"] = sms.url
    try:
        yield sms
    finally:
        app.config["SMS_GATEWAY_URL"] = before
        sms.close()


@pytest.fixture
def imported_resident(live_server):
    """A flat and a parking space of the demo estate, imported for one new person without a
    password (the residents import, as a real installation loads them). Their labels."""
    from portal.core.imports import run_import
    from portal.core.places import Building, Estate, Unit, Zone
    from portal.extensions import db

    app = live_app()
    with app.app_context():
        estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
        rows = []
        for kind in ("residence", "parking"):
            unit, building, zone = db.session.execute(
                select(Unit, Building.name, Zone.name)
                .join(Building, Building.id == Unit.building_id)
                .join(Zone, Zone.id == Building.zone_id)
                .where(Unit.estate_id == estate.id, Unit.kind == kind)
                .order_by(Unit.id.desc())
                .limit(1)
            ).one()
            rows.append((zone, building, unit.number))
        csv = "zone,building,unit,name,phone,relation\n" + "".join(
            f"{z},{b},{n},{NAME},{PHONE},owner\n" for z, b, n in rows
        )
        report = run_import("residents", "r.csv", csv.encode(), estate_name=ESTATE)
        assert report.ok, report.errors
        db.session.commit()
    return [f"{z} {b} {n}" for z, b, n in rows]


def expected_refusals(tab, *refusals: tuple[int, str]):
    """Drop the browser's notes of the refusals the journey provokes on purpose (a common
    password, the old password), so that anything else it reports still fails the test."""

    def expected(error: str) -> bool:
        return any(
            f"status of {status} " in error and f"({tab.base_url}{path}" in error
            for status, path in refusals
        )

    tab.errors[:] = [e for e in tab.errors if not expected(e)]


def code_from(gateway, count: int) -> str:
    """The code in the count-th SMS the gateway received for the phone."""
    expect_count = [m for m in gateway.received if m["to"] == PHONE]
    assert len(expect_count) == count, gateway.received
    return CODE.search(expect_count[-1]["text"]).group()


def ask_for_code(tab, flow: str):
    page = tab.page
    form = page.locator("main form")
    expect(form.locator("input[name=phone]")).to_have_attribute("type", "tel")
    form.locator("input[name=phone]").fill(PHONE)
    phone_fits(tab)
    tab.shot(f"{flow}-phone")
    form.locator("input[name=submit]").click()
    expect(page).to_have_url(tab.path_is(f"/auth/{flow}/code"))
    expect(page.get_by_test_id("code-sent-to")).to_contain_text(PHONE)


def enter_code(tab, flow: str, code: str, password: str):
    page = tab.page
    form = page.locator("main form")
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=password]").fill(password)
    form.locator("input[name=confirm]").fill(password)
    phone_fits(tab)
    tab.shot(f"{flow}-code")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/"))


def test_a_resident_activates_reports_a_repair_and_resets_the_password(
    open_tab, gateway, imported_resident
):
    tab = open_tab("activation-zh-phone", "zh", "phone")
    page = tab.page

    # Activation, from the sign-in page, with the code the gateway received.
    tab.goto("/auth/login")
    page.get_by_test_id("activate-link").click()
    expect(page).to_have_url(tab.path_is("/auth/activate"))
    expect(page.get_by_role("heading", level=1)).to_have_text(tab.t("Activate your account"))
    ask_for_code(tab, "activate")
    wrong = page.locator("main form")
    wrong.locator("input[name=code]").fill(
        "000000" if code_from(gateway, 1) != "000000" else "1" * 6
    )
    wrong.locator("input[name=password]").fill("12345678")
    wrong.locator("input[name=confirm]").fill("12345678")
    wrong.locator("[type=submit]").click()
    expect(page.locator("[data-field=password]")).to_have_text(
        tab.t("This password is one of the most common ones: choose another.")
    )
    enter_code(tab, "activate", code_from(gateway, 1), FIRST_PASSWORD)
    expect(page.locator("body")).to_contain_text(tab.t("Your account is active. Welcome!"))

    # Both units on the home page and on my bills.
    units = page.get_by_test_id("my-units")
    for label in imported_resident:
        expect(units).to_contain_text(label)
    phone_fits(tab)
    tab.shot("home")
    tab.goto("/fees/mine")
    for label in imported_resident:
        expect(page.locator("main")).to_contain_text(label)
    tab.shot("fees")

    # A repair for the flat.
    tab.goto("/")
    page.get_by_test_id("report-repair").click()
    expect(page).to_have_url(tab.path_is("/repairs/new"))
    form = page.locator("main form")
    form.locator("select[name=category]").select_option("plumbing_electrical")
    unit_choice = form.locator("select[name=unit]")
    expect(unit_choice.locator("option")).to_have_count(2)  # both units offered
    unit_choice.select_option(index=0)
    form.locator("textarea[name=description]").fill("厨房水龙头漏水")
    phone_fits(tab)
    tab.shot("repair")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/repairs/\d+$"))
    expect(page.locator("main .card .pre-line")).to_have_text("厨房水龙头漏水")
    tab.shot("repair-submitted")
    expected_refusals(tab, (400, "/auth/activate/code"))
    tab.assert_clean()

    # The password forgotten: reset it from another phone; this session ends.
    other = open_tab("activation-zh-phone-reset", "zh", "phone")
    other.goto("/auth/login")
    other.page.get_by_test_id("reset-link").click()
    expect(other.page).to_have_url(other.path_is("/auth/reset"))
    expect(other.page.get_by_role("heading", level=1)).to_have_text(other.t("Reset your password"))
    ask_for_code(other, "reset")
    enter_code(other, "reset", code_from(gateway, 2), NEW_PASSWORD)
    expect(other.page.get_by_test_id("my-units")).to_contain_text(imported_resident[0])
    other.shot("reset-home")
    other.assert_clean()

    tab.goto("/")
    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/auth/login"))
    form = page.locator("main form")
    form.locator("input[name=login]").fill(PHONE)
    form.locator("input[name=password]").fill(FIRST_PASSWORD)
    form.locator("[type=submit]").click()
    expect(page.locator("main form input[name=login]")).to_be_visible()  # the old one fails
    form.locator("input[name=password]").fill(NEW_PASSWORD)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/"))
    tab.shot("signed-in-again")
    expected_refusals(tab, (401, "/auth/login"))
    tab.assert_clean()
    assert [m["to"] for m in gateway.received] == [PHONE, PHONE]
