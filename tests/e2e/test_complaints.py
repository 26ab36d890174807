"""Complaints in a real browser (issue 5): the resident files one on a phone, the front desk
assesses it, investigates and proposes a plan, the supervisor approves it, the front desk
records the resolution, the resident accepts it on the phone, and the front desk makes a
satisfied return visit and closes the complaint.

The live server's database is shared by the whole session, so every run files a complaint
with its own content and finds it again by that. What is shown in the wrong language is
collected along the way and asserted at the end, after the journey and its screenshots.
Screenshots: test-output/screenshots/complaint-<who>-<locale>-<viewport>-*.png.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LOCALES
from tests.e2e.test_sign_in import Language, sign_in, text_of
from tests.e2e.tickets import action, actions_offered, phone_fits, timeline_entries

pytestmark = pytest.mark.browser

RESIDENT_UNIT = "A区 1栋 1单元101"
CATEGORY = "cleaning_greening"
CATEGORY_LABEL = "Cleaning & greening"
# The complaint's in-progress label (its own msgid: zh 处理中, not the repairs' 维修中).
IN_PROGRESS = "Being handled"
NUMBER = re.compile(r"TS\d{8}\d{4}")  # prefix, local day, counter
# The workflow's own identifiers and data, which a page should put into words (lower case,
# so that English labels such as "Closed" or "Satisfied" do not count).
RAW_WORKFLOW_WORDS = re.compile(
    r"\b(registered|accepted|plan_proposed|in_progress|resolved|closed|assess|investigate"
    r"|propose|approve|send-back|resolve|respond|return-visit|return_visit|close|hand-over"
    r"|progress-reply|cleaning_greening|satisfied|neutral|dissatisfied|True|False|None)\b"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"  # an ISO timestamp
)
# Every step of the journey, as the timeline should name it (msgids of ACTION_LABELS).
JOURNEY = [
    "Registered",
    "Assessed",
    "Investigated",
    "Plan proposed",
    "Plan approved",
    "Resolved",
    "Resident's response",
    "Return visit",
    "Closed",
]

TEXTS = {
    "zh": {
        "content": "3栋门口的垃圾桶两天没人清理",
        "department": "保洁部",
        "cause": "保洁员请假，无人顶班",
        "responsible": "保洁主管 陈师傅",
        "plan": "当天清运垃圾，并安排顶班保洁员",
        "result": "垃圾已清运，顶班保洁员已到岗",
        "note": "业主对处理结果满意",
    },
    "en": {
        "content": "Bins at block 3 left for 2 days",
        "department": "Cleaning team",
        "cause": "The cleaner was off and nobody stood in",
        "responsible": "Cleaning lead Chen",
        "plan": "Empty the bins today and send a stand-in cleaner",
        "result": "Bins emptied; a stand-in cleaner is on duty",
        "note": "The owner is happy with the outcome",
    },
}


def complaint_path(tab) -> str:
    path = tab.page.url[len(tab.base_url) :]
    assert re.fullmatch(r"/complaints/\d+", path), tab.page.url
    return path


def state_is(tab, msgid: str):
    expect(tab.page.get_by_test_id("complaint-state")).to_have_text(tab.t(msgid))


DONE = {  # the message each action answers with (portal/blueprints/complaints/views.py)
    "Assessed": "Assessment recorded.",
    "Investigated": "Investigation recorded.",
    "Plan proposed": "Plan proposed; waiting for the supervisor's approval.",
    "Plan approved": "Plan approved.",
    "Resolved": "Resolution recorded; the resident is told.",
    "Resident's response": "Thank you for your answer.",
    "Return visit": "Return visit recorded.",
    "Closed": "Complaint closed.",
}


def saved(tab, action_msgid: str):
    """An action went through: back on the complaint page with its own message."""
    expect(tab.page.get_by_role("alert")).to_have_text(tab.t(DONE[action_msgid]))


def check_timeline(tab, language: Language, steps: int, where: str):
    """One entry per step taken, each named in words in the language of the page."""
    timeline = tab.page.get_by_test_id("timeline")
    expect(timeline).to_be_visible()
    language.says(timeline.get_by_role("heading"), "Timeline", f"{where}: timeline heading")
    entries = timeline_entries(tab.page)
    expect(entries).to_have_count(steps)
    for i, entry in enumerate(entries.all()):
        text = text_of(entry)
        raw = RAW_WORKFLOW_WORDS.search(text)
        if raw:
            language.problems.append(
                f"{where}: timeline entry {i + 1} shows the identifier {raw.group(0)!r} "
                f"instead of words: {text!r}"
            )
        name = text_of(entry.locator("strong"))
        if name != tab.t(JOURNEY[i]):
            language.problems.append(
                f"{where}: timeline entry {i + 1} is {name!r}, expected {tab.t(JOURNEY[i])!r}"
            )


def list_item(page, content: str):
    return page.get_by_test_id("complaint-list").get_by_role("link").filter(has_text=content)


def file_complaint(tab, language: Language, content: str) -> str:
    """Resident on a phone: menu → complaints & suggestions → new → submit. Returns the path."""
    page = tab.page
    sign_in(tab, "resident")
    tab.open_menu()
    nav = page.locator("#nav").get_by_role(
        "link", name=tab.t("Complaints & suggestions"), exact=True
    )
    expect(nav).to_be_visible()
    nav.click()
    expect(page).to_have_url(tab.path_is("/complaints/"))
    language.lang("complaints page")
    language.says(
        page.get_by_role("heading", level=1), "My complaints and suggestions", "list heading"
    )
    start = page.get_by_test_id("new-complaint")
    language.says(start, "Complain or suggest", "new complaint button")
    phone_fits(tab)
    tab.shot("complaints")
    start.click()

    expect(page).to_have_url(tab.path_is("/complaints/new"))
    language.says(page.get_by_role("heading", level=1), "Complain or suggest", "form heading")
    form = page.locator("main form")
    kind = form.locator("select[name=kind]")
    expect(kind).to_have_value("complaint")  # the default: a complaint
    expect(kind.locator("option:checked")).to_have_text(tab.t("A complaint"))
    expect(form.locator("select[name=unit]")).to_have_count(0)  # one unit: not asked
    category = form.locator("select[name=category]")
    category.select_option(CATEGORY)
    expect(category.locator("option:checked")).to_have_text(tab.t(CATEGORY_LABEL))
    language.says(
        form.locator(f"label[for={category.get_attribute('id')}]"), "About", "category label"
    )
    form.locator("textarea[name=content]").fill(content)
    submit = form.locator("[type=submit]")
    language.says(submit, "Submit", "submit button")
    phone_fits(tab)
    tab.shot("new")
    submit.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/complaints/\d+$"))
    path = complaint_path(tab)
    registered = text_of(page.get_by_role("alert"))
    number = NUMBER.search(registered)
    assert number, registered
    want = tab.t("%(n)s registered. We will reply within 48 hours.").replace(
        "%(n)s", number.group(0)
    )
    assert registered == want, registered
    state_is(tab, "Registered")
    expect(page.get_by_role("heading", level=1)).to_have_text(tab.t(CATEGORY_LABEL))
    meta = page.locator("main p.text-muted").first
    expect(meta).to_contain_text(number.group(0))
    expect(meta).to_contain_text(RESIDENT_UNIT)
    due_before = tab.t("reply due %(when)s").partition("%(when)s")[0].strip()
    expect(meta).to_contain_text(due_before)
    expect(page.locator("main .card .pre-line")).to_have_text(content)
    # Nothing for the resident to do until the complaint is resolved.
    assert actions_offered(page) == [], actions_offered(page)
    check_timeline(tab, language, 1, "filed complaint")
    phone_fits(tab)
    tab.shot("filed")

    # The list shows it, registered.
    tab.goto("/complaints/")
    item = list_item(page, content)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Registered"))
    phone_fits(tab)
    return path


def assess_and_propose(tab, language: Language, content: str, path: str, texts: dict):
    """Front desk on a desktop: complaints list → the complaint → valid → investigate → plan."""
    page = tab.page
    sign_in(tab, "frontdesk")
    nav = page.locator("#nav").get_by_role("link", name=tab.t("Complaints"), exact=True)
    expect(nav).to_be_visible()
    nav.click()
    expect(page).to_have_url(tab.path_is("/complaints/"))
    language.says(
        page.get_by_role("heading", level=1),
        "Complaints, inquiries and suggestions",
        "desk list heading",
    )
    item = list_item(page, content)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Registered"))
    expect(item).to_contain_text(RESIDENT_UNIT)
    tab.shot("complaints")
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Registered")
    offered = actions_offered(page)
    assert offered.count("assess") == 2, offered  # valid, or not valid with a reply
    assert "answer" not in offered, offered  # complaints are assessed, not answered
    valid = action(page, "assess").filter(has=page.locator("input[name=department]"))
    expect(valid).to_have_count(1)
    language.says(valid.locator("label[for=department]"), "Responsible department", "dept label")
    valid.locator("input[name=department]").fill(texts["department"])
    button = valid.locator("[type=submit]")
    language.says(button, "Accept: valid", "assess button")
    tab.shot("assess")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Assessed")
    state_is(tab, "Accepted")
    expect(page.locator("main .card").first).to_contain_text(texts["department"])

    form = action(page, "investigate")
    form.locator("textarea[name=cause]").fill(texts["cause"])
    form.locator("input[name=responsible]").fill(texts["responsible"])
    language.says(form.locator("[type=submit]"), "Record the investigation", "investigate button")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Investigated")
    state_is(tab, "Accepted")

    form = action(page, "propose")
    form.locator("textarea[name=plan]").fill(texts["plan"])
    button = form.locator("[type=submit]")
    language.says(button, "Propose a plan", "propose button")
    tab.shot("propose")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Plan proposed")
    state_is(tab, "Plan awaiting approval")
    # Approving the plan is the supervisor's.
    offered = actions_offered(page)
    assert "approve" not in offered and "send-back" not in offered, offered
    expect(action(page, "approve")).to_have_count(0)
    check_timeline(tab, language, 4, "proposed plan")
    tab.shot("proposed")


def approve(tab, language: Language, content: str, path: str, texts: dict):
    """Supervisor on a desktop: complaints list → the complaint → approve the plan."""
    page = tab.page
    sign_in(tab, "supervisor")
    nav = page.locator("#nav").get_by_role("link", name=tab.t("Complaints"), exact=True)
    expect(nav).to_be_visible()
    nav.click()
    expect(page).to_have_url(tab.path_is("/complaints/"))
    item = list_item(page, content)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Plan awaiting approval"))
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Plan awaiting approval")
    expect(page.get_by_test_id("actions")).to_contain_text(texts["plan"])  # what is approved
    offered = actions_offered(page)
    assert "approve" in offered and "send-back" in offered, offered
    button = action(page, "approve").locator("[type=submit]")
    language.says(button, "Approve the plan", "approve button")
    tab.shot("approve")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Plan approved")
    state_is(tab, IN_PROGRESS)
    check_timeline(tab, language, 5, "approved plan")
    tab.shot("approved")


def resolve(tab, language: Language, path: str, texts: dict):
    """Front desk again: record the resolution; closing waits for the return visit."""
    page = tab.page
    tab.goto(path)
    state_is(tab, IN_PROGRESS)
    form = action(page, "resolve")
    form.locator("textarea[name=result]").fill(texts["result"])
    button = form.locator("[type=submit]")
    language.says(button, "Record the resolution", "resolve button")
    tab.shot("resolve")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Resolved")
    state_is(tab, "Resolved, awaiting return visit")
    expect(page.locator("main .card").first).to_contain_text(texts["result"])
    due_before = tab.t("reply due %(when)s").partition("%(when)s")[0].strip()
    expect(page.locator("main p.text-muted").first).not_to_contain_text(due_before)
    offered = actions_offered(page)
    assert "return-visit" in offered and "respond" not in offered, offered
    refusal = tab.t("Make the return visit before closing the complaint.")
    if "close" in offered:
        action(page, "close").locator("[type=submit]").click()
    else:
        # Not offered; and a close posted anyway (the form, forged in the page) is refused.
        page.evaluate(
            """([url, token]) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = url;
                const input = document.createElement('input');
                input.type = 'hidden';
                input.name = 'csrf_token';
                input.value = token;
                form.appendChild(input);
                document.body.appendChild(form);
                form.submit();
            }""",
            [
                f"{path}/act/close",
                action(page, "return-visit")
                .locator("input[name=csrf_token]")
                .get_attribute("value"),
            ],
        )
    expect(page.get_by_role("alert")).to_contain_text(refusal)
    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Resolved, awaiting return visit")
    check_timeline(tab, language, 6, "resolved complaint")
    tab.shot("close-refused")


def accept(tab, language: Language, content: str, path: str, texts: dict):
    """Resident on the phone again: the resolved complaint → accept the resolution."""
    page = tab.page
    tab.open_menu()
    page.locator("#nav").get_by_role(
        "link", name=tab.t("Complaints & suggestions"), exact=True
    ).click()
    expect(page).to_have_url(tab.path_is("/complaints/"))
    item = list_item(page, content)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(tab.t("Resolved, awaiting return visit"))
    phone_fits(tab)
    tab.shot("complaints-resolved")
    item.click()

    expect(page).to_have_url(tab.path_is(path))
    state_is(tab, "Resolved, awaiting return visit")
    card = page.locator("main .card").first
    expect(card).to_contain_text(texts["result"])
    language.says(
        card.locator("strong").filter(has_text=tab.t("Resolution:")), "Resolution:", "resolution"
    )
    assert actions_offered(page) == ["respond", "respond"], actions_offered(page)
    form = action(page, "respond").filter(
        has=page.get_by_role("button", name=tab.t("I accept the resolution"), exact=True)
    )
    expect(form).to_have_count(1)
    expect(form.locator("input[name=accepted]")).to_have_value("true")
    form.scroll_into_view_if_needed()
    phone_fits(tab)
    tab.shot("respond")
    form.locator("[type=submit]").click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Resident's response")
    state_is(tab, "Resolved, awaiting return visit")  # closing is the front desk's, after a visit
    check_timeline(tab, language, 7, "accepted resolution")
    phone_fits(tab)
    tab.shot("accepted")


def visit_and_close(tab, language: Language, path: str, texts: dict):
    """Front desk: a satisfied return visit, then close."""
    page = tab.page
    tab.goto(path)
    state_is(tab, "Resolved, awaiting return visit")
    form = action(page, "return-visit")
    language.says(form.locator("legend"), "Return visit", "visit legend")
    expect(form.locator("input[name=result]")).to_have_count(3)
    expect(form.locator("input[name=result]:checked")).to_have_count(0)  # nothing preset
    satisfied = re.compile(rf"^\s*{re.escape(tab.t('Satisfied'))}\s*$")
    form.locator("label").filter(has_text=satisfied).click()  # by its label, as a person would
    expect(form.locator("input[name=result][value=satisfied]")).to_be_checked()
    form.locator("input[name=note]").fill(texts["note"])
    button = form.locator("[type=submit]")
    language.says(button, "Record the return visit", "visit button")
    tab.shot("return-visit")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Return visit")
    state_is(tab, "Resolved, awaiting return visit")
    close = action(page, "close")
    expect(close).to_have_count(1)
    button = close.locator("[type=submit]")
    language.says(button, "Close the complaint", "close button")
    button.click()

    expect(page).to_have_url(tab.path_is(path))
    saved(tab, "Closed")
    state_is(tab, "Closed")
    expect(page.get_by_test_id("actions")).to_have_count(0)  # the loop is closed
    check_timeline(tab, language, len(JOURNEY), "closed complaint")
    timeline = page.get_by_test_id("timeline")
    for text in (texts["department"], texts["plan"], texts["result"], texts["note"]):
        expect(timeline).to_contain_text(text)
    expect(timeline_entries(page).nth(7)).to_contain_text(tab.t("Satisfied"))
    tab.shot("closed")


@pytest.mark.parametrize("locale", list(LOCALES))
def test_complaint_is_filed_handled_visited_and_closed(open_tab, locale):
    texts = dict(TEXTS[locale])
    suffix = uuid.uuid4().hex[:8]
    content = f"{texts['content']} {suffix}"

    # 1. The resident files it on a phone.
    resident = open_tab(f"complaint-resident-{locale}-phone", locale, "phone")
    resident_language = Language(resident)
    path = file_complaint(resident, resident_language, content)
    resident.assert_clean()

    # 2. The front desk assesses it as valid, investigates and proposes a plan.
    desk = open_tab(f"complaint-frontdesk-{locale}-desktop", locale, "desktop")
    desk_language = Language(desk)
    assess_and_propose(desk, desk_language, content, path, texts)
    desk.assert_clean()

    # 3. The supervisor approves the plan.
    supervisor = open_tab(f"complaint-supervisor-{locale}-desktop", locale, "desktop")
    supervisor_language = Language(supervisor)
    approve(supervisor, supervisor_language, content, path, texts)
    supervisor.assert_clean()

    # 4. The front desk records the resolution; closing is refused before a return visit.
    resolve(desk, desk_language, path, texts)
    desk.assert_clean()

    # 5. The resident accepts the resolution on the phone.
    accept(resident, resident_language, content, path, texts)
    resident.assert_clean()

    # 6. The front desk makes a satisfied return visit and closes it.
    visit_and_close(desk, desk_language, path, texts)
    desk.assert_clean()

    # The resident sees it closed.
    resident.goto("/complaints/")
    expect(list_item(resident.page, content).locator(".badge")).to_have_text(resident.t("Closed"))
    phone_fits(resident)
    resident.shot("complaints-closed")
    resident.assert_clean()

    problems = [
        f"{language.tab.name}: {p}"
        for language in (resident_language, desk_language, supervisor_language)
        for p in language.problems
    ]
    assert not problems, "wrong language or missing text:\n" + "\n".join(problems)
