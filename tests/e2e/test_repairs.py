"""Repairs in a real browser (issue 4): the resident reports one with a photo on a phone, the
front desk dispatches it to the technician and prints the work order, the technician starts
and completes it on a phone, and the resident confirms and rates it.

The live server's database is shared by the whole session, so every run reports a repair
with its own description and finds it again by that. What is shown in the wrong language is
collected along the way and asserted at the end, after the journey and its screenshots.
Screenshots: test-output/screenshots/repair-<who>-<locale>-<viewport>-*.png.
"""

import io
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LOCALES, SCREENSHOTS
from tests.e2e.test_notices import pdf_has_text
from tests.e2e.test_sign_in import Language, sign_in, text_of
from tests.e2e.tickets import action, actions_offered, phone_fits, timeline_entries

pytestmark = pytest.mark.browser

RESIDENT_UNIT = "A区 1栋 1单元101"
TECHNICIAN = "李建国"
DESK_NAME = "王丽"
CATEGORY = "plumbing_electrical"
CATEGORY_LABEL = "Plumbing & electrical"
RATING = 4
CHARGE = "50.00"
NUMBER = re.compile(r"BX\d{8}\d{4}")  # prefix, local day, counter
# The workflow's own identifiers and data, which a page should put into words.
RAW_WORKFLOW_WORDS = re.compile(
    r"\b(submit|assign|start|complete|confirm|in_progress|assigned|plumbing_electrical)\b"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"  # an ISO timestamp
)


def png_photo(name: str) -> dict:
    """A real PNG (a tap under a drip) for set_input_files."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (225, 236, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((130, 20, 190, 60), fill=(120, 130, 140))  # the tap
    draw.rectangle((150, 60, 170, 110), fill=(120, 130, 140))
    draw.ellipse((150, 130, 170, 160), fill=(40, 110, 200))  # the drip
    draw.rectangle((40, 200, 280, 230), fill=(250, 250, 250), outline=(90, 90, 90))  # the sink
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def repair_path(tab) -> str:
    path = tab.page.url[len(tab.base_url) :]
    assert re.fullmatch(r"/repairs/\d+", path), tab.page.url
    return path


def state_is(tab, msgid: str):
    expect(tab.page.get_by_test_id("repair-state")).to_have_text(tab.t(msgid))


def done(tab, msgid: str):
    """An action went through: back on the repair page with its success message."""
    expect(tab.page.get_by_role("alert")).to_have_text(tab.t(msgid))


def check_timeline(tab, language: Language, entries: int, where: str):
    """One entry per step taken, and in the language of the page."""
    timeline = tab.page.get_by_test_id("timeline")
    expect(timeline).to_be_visible()
    language.says(timeline.get_by_role("heading"), "Timeline", f"{where}: timeline heading")
    expect(timeline_entries(tab.page)).to_have_count(entries)
    latest = text_of(timeline_entries(tab.page).last)
    if RAW_WORKFLOW_WORDS.search(latest):
        language.problems.append(
            f"{where}: the timeline shows workflow identifiers instead of words: {latest!r}"
        )


def photos_load(tab, count: int):
    """Every thumbnail is a real image the browser has decoded, served as an image."""
    page = tab.page
    images = page.get_by_test_id("photos").locator("img")
    expect(images).to_have_count(count)
    for image in images.all():
        expect(image).to_be_visible()
        width = image.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
        assert width > 0, f"{tab.name}: photo {image.get_attribute('src')} does not load"
        response = page.request.get(tab.base_url + image.get_attribute("src"))
        assert response.ok, response.status
        assert response.headers["content-type"].startswith("image/png")


def report(tab, language: Language, description: str) -> str:
    """Resident on a phone: home → my repairs → report, with a photo. Returns the path."""
    page = tab.page
    sign_in(tab, "resident")
    requests = page.get_by_test_id("my-requests")
    expect(requests).to_be_visible()
    tab.shot("home")
    # The home page leads to the report form, and "My repairs" lists them.
    start = requests.get_by_test_id("report-repair")
    language.says(start, "Report a repair", "home report button")
    tab.goto("/repairs/")
    expect(page).to_have_url(tab.path_is("/repairs/"))
    language.lang("repairs page")
    language.says(page.get_by_role("heading", level=1), "My repairs", "repairs heading")
    expect(page.get_by_test_id("new-repair")).to_be_visible()
    phone_fits(tab)
    tab.shot("repairs")
    tab.goto("/")
    start.click()

    expect(page).to_have_url(tab.path_is("/repairs/new"))
    form = page.locator("main form")
    language.says(page.get_by_role("heading", level=1), "Report a repair", "report heading")
    category = form.locator("select[name=category]")
    category.select_option(CATEGORY)
    expect(category.locator("option:checked")).to_have_text(tab.t(CATEGORY_LABEL))
    expect(form.locator("input[name=location][value=unit]")).to_be_checked()  # the default
    # One unit: the form takes it without asking.
    expect(form.locator("select[name=unit]")).to_have_count(0)
    form.locator("textarea[name=description]").fill(description)
    form.locator("input[name=preferred_time]").fill("18:00–20:00")
    form.locator("input[name=photos]").set_input_files(png_photo("leaking-tap.png"))
    assert form.locator("input[name=photos]").evaluate("el => el.files.length") == 1
    submit = form.locator("[type=submit]")
    language.says(submit, "Submit", "report submit button")
    phone_fits(tab)
    tab.shot("report")
    submit.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/repairs/\d+$"))
    path = repair_path(tab)
    received = text_of(page.get_by_role("alert"))
    before, _, after = tab.t("Repair %(n)s received.").partition("%(n)s")
    assert received.startswith(before.strip()) and received.endswith(after.strip()), received
    number = NUMBER.search(received)
    assert number, received
    state_is(tab, "Submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text(tab.t(CATEGORY_LABEL))
    expect(page.locator("main")).to_contain_text(number.group(0))
    expect(page.locator("main")).to_contain_text(RESIDENT_UNIT)
    expect(page.locator("main .card .pre-line")).to_have_text(description)
    photos_load(tab, 1)
    expect(page.get_by_test_id("photos").locator("img")).to_have_attribute("alt", "leaking-tap.png")
    check_timeline(tab, language, 1, "reported repair")
    # Before dispatch the resident may only cancel; nothing to confirm yet.
    assert actions_offered(page) == ["cancel"], actions_offered(page)
    expect(page.get_by_role("link", name=tab.t("Print the work order"))).to_have_count(0)
    phone_fits(tab)
    tab.shot("submitted")
    return path


def dispatch(tab, language: Language, description: str, path: str):
    """Front desk on a desktop: the repairs list → the repair → dispatch → work order PDF."""
    page = tab.page
    sign_in(tab, "frontdesk")
    nav = page.locator("#nav").get_by_role("link", name=tab.t("Repairs"), exact=True)
    expect(nav).to_be_visible()
    nav.click()
    expect(page).to_have_url(tab.path_is("/repairs/"))
    language.says(page.get_by_role("heading", level=1), "Repairs", "desk repairs heading")
    language.says(page.get_by_test_id("new-repair"), "Register a repair", "register button")
    item = page.get_by_test_id("repair-list").get_by_role("link").filter(has_text=description)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Submitted"))
    expect(item).to_contain_text(RESIDENT_UNIT)
    tab.shot("repairs")
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Submitted")
    photos_load(tab, 1)  # staff see the resident's photo too
    form = action(page, "assign")
    expect(form).to_be_visible()
    select = form.locator("select[name=technician_id]")
    language.says(
        form.locator(f"label[for={select.get_attribute('id')}]"),
        "Technician (open orders)",
        "technician label",
    )
    technicians = select.locator("option")
    expect(technicians).to_have_count(1)  # the demo estate has one technician
    expect(technicians).to_have_text(re.compile(rf"^{TECHNICIAN} \(\d+\)$"))
    select.select_option(technicians.first.get_attribute("value"))
    button = form.locator("[type=submit]")
    language.says(button, "Dispatch", "dispatch button")
    tab.shot("dispatch")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    done(tab, "Dispatched.")
    state_is(tab, "Dispatched")
    check_timeline(tab, language, 2, "dispatched repair")
    expect(timeline_entries(page).last).to_contain_text(DESK_NAME)  # who dispatched
    # Dispatched: the desk may reassign; start and complete are the technician's.
    offered = actions_offered(page)
    assert "reassign" in offered and "assign" not in offered, offered
    assert "start" not in offered and "complete" not in offered, offered

    work_order = page.get_by_role("link", name=tab.t("Print the work order"), exact=True)
    expect(work_order).to_be_visible()
    href = work_order.get_attribute("href")
    assert href == f"{path}/work-order.pdf", href
    response = page.request.get(tab.base_url + href)
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/pdf")
    pdf = response.body()
    assert pdf.startswith(b"%PDF"), pdf[:20]
    assert pdf_has_text(pdf), "the work order is a blank page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{tab.name}-work-order.pdf").write_bytes(pdf)  # to look at, beside the PNGs
    tab.shot("dispatched")


def work(tab, language: Language, description: str, path: str, note: str):
    """Technician on a phone: my work orders → the order → start → complete."""
    page = tab.page
    sign_in(tab, "technician")
    tab.open_menu()
    nav = page.locator("#nav").get_by_role("link", name=tab.t("Repairs"), exact=True)
    expect(nav).to_be_visible()
    nav.click()
    expect(page).to_have_url(tab.path_is("/repairs/"))
    language.says(page.get_by_role("heading", level=1), "My work orders", "work orders heading")
    expect(page.get_by_test_id("new-repair")).to_have_count(0)
    item = page.get_by_test_id("repair-list").get_by_role("link").filter(has_text=description)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Dispatched"))
    expect(item).to_contain_text(RESIDENT_UNIT)
    due_before = tab.t("due %(when)s").partition("%(when)s")[0].strip()
    if due_before not in text_of(item):
        language.problems.append(
            f"work orders: the order shows no due time ({due_before!r}…): {text_of(item)!r}"
        )
    phone_fits(tab)
    tab.shot("orders")
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Dispatched")
    photos_load(tab, 1)
    assert actions_offered(page) == ["start"], actions_offered(page)
    start = action(page, "start").locator("[type=submit]")
    language.says(start, "Start work", "start button")
    phone_fits(tab)
    tab.shot("order")
    start.click()

    expect(page).to_have_url(tab.path_is(path))
    done(tab, "Work started.")
    state_is(tab, "In progress")
    assert actions_offered(page) == ["complete"], actions_offered(page)
    form = action(page, "complete")
    form.locator("textarea[name=note]").fill(note)
    form.locator("input[name=materials]").fill("阀芯 ×1")
    charge = form.locator("input[name=charge]")
    expect(charge).to_have_attribute("inputmode", "decimal")  # the number pad on a phone
    charge.fill(CHARGE)
    button = form.locator("[type=submit]")
    language.says(button, "Mark as completed", "complete button")
    form.scroll_into_view_if_needed()
    phone_fits(tab)
    tab.shot("complete")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    done(tab, "Completed; the resident is asked to confirm.")
    state_is(tab, "Completed, awaiting confirmation")
    card = page.locator("main .card").first
    expect(card).to_contain_text(note)
    expect(card).to_contain_text("阀芯 ×1")
    expect(card).to_contain_text(f"¥{CHARGE}")
    language.says(
        card.locator("strong").filter(has_text=tab.t("Work done:")), "Work done:", "work done"
    )
    expect(page.get_by_test_id("actions").locator("form[data-action]")).to_have_count(0)
    check_timeline(tab, language, 4, "completed repair")
    phone_fits(tab)
    tab.shot("completed")

    # Done orders leave the list of open work orders.
    tab.goto("/repairs/")
    item = page.get_by_test_id("repair-list").get_by_role("link").filter(has_text=description)
    expect(item).to_have_count(0)
    phone_fits(tab)


def rate(tab, language: Language, description: str, path: str, comment: str):
    """Resident on the phone again: the completed repair → 4 stars and a comment."""
    page = tab.page
    tab.goto("/repairs/")
    item = page.get_by_test_id("repair-list").get_by_role("link").filter(has_text=description)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Completed, awaiting confirmation"))
    phone_fits(tab)
    tab.shot("repairs-completed")
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Completed, awaiting confirmation")
    expect(page.locator("main .card").first).to_contain_text(f"¥{CHARGE}")
    offered = actions_offered(page)
    assert offered[:2] == ["confirm", "reopen"], offered
    form = action(page, "confirm")
    language.says(form.locator("legend"), "How was the repair?", "rating question")
    expect(form.locator("input[name=rating]")).to_have_count(5)
    expect(form.locator("input[name=rating]:checked")).to_have_count(0)  # no preset rating
    form.locator(f"label[for=rating{RATING}]").click()  # the stars are the labels
    expect(form.locator(f"input[name=rating][value='{RATING}']")).to_be_checked()
    form.locator("input[name=comment]").fill(comment)
    button = form.locator("[type=submit]")
    language.says(button, "Confirm and rate", "confirm button")
    form.scroll_into_view_if_needed()
    phone_fits(tab)
    tab.shot("rate")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    done(tab, "Thank you for your rating!")
    state_is(tab, "Closed")
    rating = page.locator("main .card").first.locator("p").filter(has_text=tab.t("Rating:"))
    expect(rating).to_have_count(1)
    expect(rating).to_contain_text("★" * RATING + "☆" * (5 - RATING))
    expect(rating).to_contain_text(comment)
    # Closed: no more confirming; the resident can still say it is not fixed.
    assert actions_offered(page) == ["reopen"], actions_offered(page)
    check_timeline(tab, language, 5, "closed repair")
    phone_fits(tab)
    tab.shot("rated")

    tab.goto("/repairs/")
    item = page.get_by_test_id("repair-list").get_by_role("link").filter(has_text=description)
    expect(item.locator(".badge")).to_have_text(tab.t("Closed"))
    phone_fits(tab)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_repair_is_reported_dispatched_completed_and_rated(open_tab, locale):
    suffix = uuid.uuid4().hex[:8]
    zh = locale == "zh"
    description = f"{'厨房水龙头一直滴水' if zh else 'The kitchen tap keeps dripping'} {suffix}"
    note = "更换水龙头阀芯，已试水无渗漏" if zh else "Replaced the tap cartridge; no more drips"
    comment = "师傅很准时，谢谢" if zh else "On time, thank you"

    # 1. The resident reports it on a phone, with a photo.
    resident = open_tab(f"repair-resident-{locale}-phone", locale, "phone")
    resident_language = Language(resident)
    path = report(resident, resident_language, description)
    resident.assert_clean()

    # 2. The front desk dispatches it to the technician and prints the work order.
    desk = open_tab(f"repair-frontdesk-{locale}-desktop", locale, "desktop")
    desk_language = Language(desk)
    dispatch(desk, desk_language, description, path)
    desk.assert_clean()

    # 3. The technician starts and completes it on a phone.
    technician = open_tab(f"repair-technician-{locale}-phone", locale, "phone")
    technician_language = Language(technician)
    work(technician, technician_language, description, path, note)
    technician.assert_clean()

    # 4. The resident confirms and rates it.
    rate(resident, resident_language, description, path, comment)
    resident.assert_clean()

    # What was shown in the wrong language (or not shown), after the whole journey.
    problems = [
        f"{language.tab.name}: {p}"
        for language in (resident_language, desk_language, technician_language)
        for p in language.problems
    ]
    assert not problems, "wrong language or missing text:\n" + "\n".join(problems)
