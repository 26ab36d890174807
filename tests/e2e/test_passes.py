"""Passes in a real browser (issue 15): a resident asks for a goods release pass on a phone
and sees its QR code; the guard signs in on a phone, types the pass's code and reads VALID in
large words, then types its number and reads ALREADY USED; the check page offers the camera
only where the browser reads QR codes.

Screenshots: test-output/screenshots/pass-<who>-<locale>-phone-*.png.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.test_sign_in import sign_in

pytestmark = pytest.mark.browser

NUMBER = re.compile(r"FX\d{12}")


def ask_for_goods_pass(tab, item: str) -> tuple[str, str]:
    """The resident asks for a goods release pass for their unit; (number, code)."""
    page = tab.page
    tab.goto("/passes/new")
    form = page.get_by_test_id("pass-form")
    expect(form.locator("input[name=kind][value=goods]")).to_be_checked()
    expect(form.locator("input[name=kind][value=worker]")).to_have_count(0)
    form.locator("textarea[name=items]").fill(f"{item} 1\n纸箱 3")
    tab.no_horizontal_scroll()
    tab.shot("form")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/passes/\d+$"))
    number = page.get_by_test_id("pass-number").inner_text().strip()
    assert NUMBER.fullmatch(number), number
    expect(page.get_by_test_id("pass-qr").locator("img")).to_be_visible()
    expect(page.get_by_test_id("pass-items")).to_contain_text(item)
    code = page.get_by_test_id("pass-code").inner_text().strip()
    tab.no_horizontal_scroll()
    tab.shot("pass")
    return number, code


def check(tab, typed: str):
    page = tab.page
    field = page.get_by_test_id("check-form").locator("input[name=code]")
    expect(field).to_be_visible()
    field.fill(typed)
    page.get_by_test_id("check-submit").click()
    page.wait_for_load_state("load")
    return page.get_by_test_id("check-result")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_guard_checks_a_resident_s_goods_pass_on_a_phone(open_tab, locale):
    item = f"沙发-{uuid.uuid4().hex[:6]}"
    resident = open_tab(f"pass-resident-{locale}-phone", locale, "phone")
    sign_in(resident, "resident")
    number, code = ask_for_goods_pass(resident, item)
    resident.assert_clean()

    guard = open_tab(f"pass-guard-{locale}-phone", locale, "phone")
    sign_in(guard, "guard")
    page = guard.page
    page.get_by_test_id("action-check").click()
    expect(page).to_have_url(guard.path_is("/passes/check"))
    expect(page.locator("input[name=code]")).to_be_focused()
    # Headless Chromium reads no QR codes: the scan button stays hidden, typing works.
    has_detector = page.evaluate("'BarcodeDetector' in window")
    expect(page.get_by_test_id("scan-button")).to_be_visible() if has_detector else expect(
        page.get_by_test_id("scan-button")
    ).to_be_hidden()

    result = check(guard, code)
    expect(result).to_have_attribute("data-result", "valid")
    big = result.locator(".display-1")
    expect(big).to_have_text(guard.t("Valid") if locale == "en" else "有效")
    assert float(big.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 40
    expect(page.get_by_test_id("check-pass")).to_contain_text(item)
    expect(page.get_by_test_id("check-pass")).to_contain_text("1单元101")
    guard.no_horizontal_scroll()
    guard.shot("valid")

    result = check(guard, number.lower())
    expect(result).to_have_attribute("data-result", "used")
    expect(result.locator(".display-1")).to_have_text(
        "Already used" if locale == "en" else "已使用"
    )
    expect(page.get_by_test_id("my-checks")).to_contain_text(number)
    guard.shot("used")

    result = check(guard, "FX209912310001")
    expect(result).to_have_attribute("data-result", "unknown")
    expect(result.locator(".display-1")).to_have_text(
        "No such pass" if locale == "en" else "无此通行证"
    )
    guard.shot("unknown")
    guard.assert_clean()
