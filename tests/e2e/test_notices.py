"""Notices in a real browser: the front desk sends one to the demo resident's unit, prints
it for the building, the resident reads and confirms it on a phone, and the front desk sees
the confirmation.

The live server's database is shared by the whole session, so every run sends a notice with
its own title. Screenshots: test-output/screenshots/notice-<who>-<locale>-<viewport>-*.png.
"""

import re
import uuid
import zlib

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LOCALES
from tests.e2e.test_sign_in import sign_in, text_of

pytestmark = pytest.mark.browser

RESIDENT_UNIT = "A区 1栋 1单元101"
BUILDING = "A区 1栋"
WHEN = re.compile(r"\d{2}-\d{2} \d{2}:\d{2}")  # the receipts table's MM-dd HH:mm
CONFIRMED_COLUMN = 3  # Unit, Delivered, Read, Confirmed


def number_in(text: str, n: int) -> bool:
    return re.search(rf"(?<!\d){n}(?!\d)", text or "") is not None


def pdf_has_text(pdf: bytes) -> bool:
    """Whether a PDF embeds a font, i.e. prints some text (a blank page embeds none)."""
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    return any(b"/FontFile" in s for s in [pdf, *streams])


def receipt_row(page):
    rows = page.get_by_test_id("receipts").locator("tbody tr").filter(has_text=RESIDENT_UNIT)
    expect(rows).to_have_count(1)
    return rows


def totals(page) -> list[str]:
    return [
        t.strip() for t in page.get_by_test_id("receipt-totals").locator(".stat").all_inner_texts()
    ]


def send_notice_to_the_unit(tab, title: str, body: str) -> int:
    """Front desk: search the unit, open it, compose the notice; returns the notice id."""
    page = tab.page
    sign_in(tab, "frontdesk")
    search = page.locator("main form[role=search]")
    search.locator("input[name=q]").fill("1单元101")
    search.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/units/"))
    assert "q=1%E5%8D%95%E5%85%83101" in page.url or "q=1单元101" in page.url, page.url
    unit_link = page.get_by_test_id("unit-results").get_by_role(
        "link", name=RESIDENT_UNIT, exact=True
    )
    expect(unit_link).to_have_count(1)
    tab.shot("search")
    unit_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(RESIDENT_UNIT)

    notify = page.get_by_test_id("notify-unit")
    expect(notify).to_be_visible()
    expect(notify).to_have_text(tab.t("Send a notice to this unit"))
    tab.shot("unit")
    notify.click()
    expect(page).to_have_url(tab.path_is("/notices/new"))
    assert re.search(r"[?&]unit=\d+", page.url), page.url

    form = page.locator("main form")
    expect(form.locator("input[name=units]")).to_have_value(re.compile(r"^\d+$"))
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=body]").fill(body)
    app_channel = form.locator("input[name=channels][value=app]")
    print_channel = form.locator("input[name=channels][value=print]")
    expect(app_channel).to_be_checked()  # the default channel
    print_channel.check()
    ack = form.locator("input[name=requires_ack]")
    ack.check()
    expect(form.locator(f"label[for={ack.get_attribute('id')}]")).to_have_text(
        tab.t("Ask households to confirm they have read it")
    )
    expect(print_channel).to_be_checked()
    expect(form.locator("input[name=urgent]")).not_to_be_checked()
    tab.shot("compose")
    form.locator("[type=submit][name=submit]").click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/notices/\d+$"))
    notice_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("alert")).to_have_text(
        tab.t("The notice is on its way to %(n)d households.") % {"n": 1}
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    return notice_id


def make_the_printed_notice(tab) -> None:
    """Front desk: the print form makes the building's PDF (in-process: ready at once)."""
    page = tab.page
    jobs = page.locator("[data-testid^='job-']")
    expect(jobs).to_have_count(0)
    form = page.locator("main form[action$='/print']")
    form.locator("select[name=building]").select_option(label=BUILDING)
    button = form.locator("[type=submit]")
    expect(button).to_have_value(tab.t("Make the PDF"))
    button.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/notices/\d+$"))
    expect(page.get_by_role("alert")).to_have_text(
        tab.t("The PDF job has started; it is listed below.")
    )
    expect(jobs).to_have_count(1)
    job = jobs.first
    assert re.fullmatch(r"job-\d+", job.get_attribute("data-testid"))
    expect(job).to_have_attribute("data-job-status", "finished")
    expect(job.locator("[data-job-state]")).to_have_text(tab.t("Ready"))
    expect(job.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    link = job.locator("[data-job-result]")
    expect(link).to_be_visible()
    expect(link).to_have_text(tab.t("Download the PDF"))
    href = link.get_attribute("href")
    assert re.fullmatch(r"/jobs/\d+/result", href), href
    tab.shot("printed")

    response = page.request.get(tab.base_url + href)
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF")
    assert pdf_has_text(response.body()), "the building's PDF is a blank page"
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    with open(download.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"


def read_and_confirm(tab, title: str, body: str) -> None:
    """Resident on a phone: the bell, the home page's notices, the message, the button."""
    page = tab.page
    sign_in(tab, "resident")
    expect(page.locator("html")).to_have_attribute("lang", LOCALES[tab.locale][2])

    bell = page.get_by_test_id("bell")
    count = page.get_by_test_id("unread-count")
    expect(bell).to_be_visible()  # beside the menu button, even on the phone
    expect(count).to_be_visible()
    unread = int(count.inner_text())
    assert unread >= 1
    assert number_in(bell.get_attribute("aria-label"), unread), bell.get_attribute("aria-label")
    tab.no_horizontal_scroll()
    tab.shot("bell")

    notices = page.get_by_test_id("my-notices")
    expect(notices.get_by_role("heading")).to_have_text(tab.t("Notices"))
    item = notices.get_by_role("link").filter(has_text=title)
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile(r"(^|\s)fw-semibold(\s|$)"))  # unread
    expect(item.locator(".badge")).to_have_text(tab.t("Please confirm"))
    item.scroll_into_view_if_needed()
    tab.shot("home")
    item.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/notices/inbox/\d+$"))
    message_path = page.url[len(tab.base_url) :]
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("main article .pre-line")).to_have_text(body)
    # Opening the message read it: the bell counts one fewer.
    if unread > 1:
        expect(count).to_have_text(str(unread - 1))
    else:
        expect(count).to_have_count(0)
    assert number_in(bell.get_attribute("aria-label"), unread - 1), bell.get_attribute("aria-label")
    confirm = page.locator("main form").get_by_role(
        "button", name=tab.t("I have read this notice"), exact=True
    )
    expect(confirm).to_be_visible()
    expect(page.get_by_test_id("acknowledged")).to_have_count(0)
    tab.no_horizontal_scroll()
    tab.shot("message")
    confirm.click()

    expect(page).to_have_url(tab.path_is(message_path))
    expect(page.get_by_role("alert")).to_have_text(
        tab.t("Thank you, your confirmation has been recorded.")
    )
    done = page.get_by_test_id("acknowledged")
    expect(done).to_be_visible()
    before, _, after = tab.t("You confirmed this notice on %(when)s.").partition("%(when)s")
    assert text_of(done).startswith("✓ " + before.strip()), text_of(done)
    assert text_of(done).endswith(after.strip()), text_of(done)
    expect(page.locator("main form").get_by_role("button")).to_have_count(0)
    tab.no_horizontal_scroll()
    tab.shot("confirmed")

    # Back home: the notice is read and no longer asks for a confirmation.
    tab.goto("/")
    item = page.get_by_test_id("my-notices").get_by_role("link").filter(has_text=title)
    expect(item).to_have_count(1)
    expect(item).not_to_have_class(re.compile(r"(^|\s)fw-semibold(\s|$)"))
    expect(item.locator(".badge")).to_have_count(0)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_notice_to_one_unit_is_printed_read_and_confirmed(open_tab, locale):
    title = f"{'停水通知' if locale == 'zh' else 'Water cut'} {uuid.uuid4().hex[:8]}"
    body = (
        "明天 9:00–12:00 A区 1栋 停水检修，请提前储水。"
        if locale == "zh"
        else "Tomorrow 9:00–12:00 the water is off in A区 1栋 for repairs."
    )

    # 1. The front desk sends the notice to the resident's unit.
    desk = open_tab(f"notice-frontdesk-{locale}-desktop", locale, "desktop")
    page = desk.page
    notice_id = send_notice_to_the_unit(desk, title, body)
    expect(page.get_by_test_id("receipt-totals")).to_be_visible()
    assert totals(page)[0] == "1"  # one household
    calls = page.get_by_test_id("call-list")
    expect(calls.get_by_role("heading")).to_have_text(
        desk.t("Call list: households that have not confirmed")
    )
    entry = calls.locator("li").filter(has_text=RESIDENT_UNIT)
    expect(entry).to_have_count(1)
    expect(entry.locator("a[href^='tel:']").first).to_be_visible()
    expect(receipt_row(page).locator("td").nth(CONFIRMED_COLUMN)).to_have_text("—")
    desk.shot("sent")

    # 2. …and makes the printed notice for the building.
    make_the_printed_notice(desk)
    expect(receipt_row(page).locator("td").nth(1)).to_contain_text("✓")
    desk.assert_clean()

    # 3. The resident reads and confirms it on a phone.
    resident = open_tab(f"notice-resident-{locale}-phone", locale, "phone")
    read_and_confirm(resident, title, body)
    resident.assert_clean()

    # 4. The front desk sees the confirmation.
    page.reload()
    expect(page).to_have_url(desk.path_is(f"/notices/{notice_id}"))
    calls = page.get_by_test_id("call-list")
    expect(calls.locator("li")).to_have_count(1)
    expect(calls.locator("li")).to_have_text(desk.t("Every household has confirmed."))
    expect(calls).not_to_contain_text(RESIDENT_UNIT)
    row = receipt_row(page)
    expect(row.locator("td").nth(2)).to_have_text(WHEN)  # read
    expect(row.locator("td").nth(CONFIRMED_COLUMN)).to_have_text(WHEN)
    assert totals(page) == ["1", "1", "1", "1"]  # households, delivered, read, confirmed
    desk.shot("confirmed")
    desk.assert_clean()
