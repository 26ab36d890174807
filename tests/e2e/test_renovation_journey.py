"""Renovation in a real browser (issue 16's proof). An owner applies on a phone with two
workers and a drawing; the engineer (technician) reviews; the supervisor approves: the
page shows the deposit billed, two worker passes, the permit (a PDF) and the neighbours
told. The guard, on a phone, checks a worker pass inside the window (有效) and, the clock
moved to the day after the end, again (refused). The engineer records a patrol violation
and closes it as rectified, passes the hidden works; the desk takes the deposit at the
counter; the completion acceptance passes with one deduction and the refund slip prints.

The live server's database is shared by the whole session: the fixture picks, outside A区,
an owner-occupied residence that the other journeys leave alone (not the demo residents',
no move-out, no renovation), and gives its owner a login. The live server shares this
process's clock, so the test moves it for the expired check and puts it back.
Screenshots: test-output/screenshots/reno-<who>-zh-<viewport>-*.png.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import exists, select

from portal.core import clock
from portal.demo import DEMO_PASSWORD, ESTATE
from tests.conftest import FROZEN_AT
from tests.e2e.test_fees import fen_of, yuan
from tests.e2e.test_moves_journey import alert_says, pgettext_of
from tests.e2e.test_resident_activation import live_app
from tests.e2e.test_sign_in import sign_in, text_of
from tests.e2e.tickets import phone_fits

pytestmark = pytest.mark.browser

OWNER_LOGIN = "reno-owner"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# A one-page PDF: what the form checks a drawing by is its content (%PDF- … %%EOF).
DRAWING = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
DEPOSIT_DEDUCTION = "50.00"


def id_number(first17: str) -> str:
    """An 18-character ID number with its check character (GB 11643)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


WORKERS = [
    ("王建国", id_number("11010519800307123"), "13911110001"),
    ("李志强", id_number("32010619850615234"), "13911110002"),
]


@dataclass
class Home:
    unit_id: int
    label: str  # as the owner's unit select shows it
    starts_on: str
    ends_on: str


@pytest.fixture
def home(live_server) -> Home:
    """An owner-occupied residence outside A区 nobody else's journey touches; its owner
    gets the login reno-owner with the demo password."""
    from portal.blueprints.moves.models import MoveIn, MoveOut
    from portal.blueprints.renovation.models import Renovation
    from portal.core import accounts
    from portal.core.people import Relation, Residency, User
    from portal.core.places import Building, Estate, Occupancy, Unit, Zone
    from portal.core.units import labels_for
    from portal.extensions import db

    app = live_app()
    with app.app_context():
        estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
        owner = db.session.scalar(select(User).where(User.username == OWNER_LOGIN))
        if owner is None:
            demo_units = (
                select(Residency.unit_id)
                .join(User)
                .where(User.username.in_(["resident", "resident2"]))
            )
            row = db.session.execute(
                select(Unit, User)
                .join(Building, Building.id == Unit.building_id)
                .join(Zone, Zone.id == Building.zone_id)
                .join(Residency, Residency.unit_id == Unit.id)
                .join(User, User.id == Residency.user_id)
                .where(
                    Unit.estate_id == estate.id,
                    Unit.kind == "residence",
                    Zone.name != "A区",
                    Unit.occupancy.not_in([Occupancy.renovating, Occupancy.not_handed_over]),
                    Unit.id.not_in(demo_units),
                    Residency.relation == Relation.owner,
                    Residency.end_on.is_(None),
                    User.username.is_(None),
                    ~exists().where(MoveOut.unit_id == Unit.id),
                    ~exists().where(MoveIn.unit_id == Unit.id),
                    ~exists().where(Renovation.unit_id == Unit.id),
                )
                .order_by(Unit.id.desc())
                .limit(1)
            ).one()
            unit, owner = row
            owner.username = OWNER_LOGIN
            owner.password_hash = accounts.hash_password(DEMO_PASSWORD)
            db.session.commit()
            unit_id = unit.id
        else:
            unit_id = db.session.scalar(
                select(Residency.unit_id).where(
                    Residency.user_id == owner.id, Residency.relation == Relation.owner
                )
            )
        today = clock.local_today(estate.timezone)
        return Home(
            unit_id=unit_id,
            label=labels_for([unit_id])[unit_id],
            starts_on=today.isoformat(),
            ends_on=(today + timedelta(days=2)).isoformat(),
        )


# --- helpers ---------------------------------------------------------------------------


def state_is(tab, msgid: str):
    expect(tab.page.get_by_test_id("renovation-state")).to_have_text(tab.t(msgid))


def action(page, name: str):
    return page.get_by_test_id("actions").locator(f"form[data-action='{name}']")


def opened(page, name: str):
    """The action's form, its <details> opened when it sits in one."""
    form = action(page, name)
    inner = page.locator(f"form[data-action='{name}']")
    details = page.get_by_test_id("actions").locator("details").filter(has=inner)
    if details.count():
        summary = details.locator("summary")
        summary.scroll_into_view_if_needed()
        summary.click()
        expect(details).to_have_attribute("open", "")
    expect(form).to_be_visible()
    return form


def choose(form, name: str, value: str):
    """A choice field, drawn as a select or as radio buttons."""
    field = form.locator(f"[name='{name}']")
    if field.first.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        form.locator(f"input[name='{name}'][value='{value}']").check()


def fetch_pdf(tab, href: str) -> bytes:
    """The link's target fetched with the tab's cookies: a PDF."""
    response = tab.page.request.get(tab.base_url + href if href.startswith("/") else href)
    assert response.status == 200, f"{href}: HTTP {response.status}"
    assert response.headers["content-type"].startswith("application/pdf"), response.headers
    body = response.body()
    assert body.startswith(b"%PDF-"), body[:20]
    return body


def apply(owner, h: Home) -> str:
    """The owner applies on a phone: two workers and a drawing; the renovation's path."""
    page = owner.page
    owner.goto("/renovations/new")
    form = page.get_by_test_id("renovation-form")
    unit = form.locator("select[name=unit]")
    unit.select_option(str(h.unit_id))
    form.locator("input[name=contractor]").fill("上海美居装饰工程有限公司")
    form.locator("input[name=contractor_licence]").fill("91310000MA1K000001")
    form.locator("input[name=foreman]").fill("陈师傅")
    form.locator("input[name=foreman_phone]").fill("13811112222")
    form.locator("input[name=starts_on]").fill(h.starts_on)
    form.locator("input[name=ends_on]").fill(h.ends_on)
    form.locator("input[name=scope]").first.check()
    rows = form.get_by_test_id("worker-row")
    for n, (name, number, phone) in enumerate(WORKERS):
        rows.nth(n).locator(f"input[name='workers-{n}-name']").fill(name)
        rows.nth(n).locator(f"input[name='workers-{n}-id_number']").fill(number)
        rows.nth(n).locator(f"input[name='workers-{n}-phone']").fill(phone)
    form.locator("input[name=drawings]").set_input_files(
        files=[{"name": "平面图.pdf", "mimeType": "application/pdf", "buffer": DRAWING}]
    )
    form.locator("input[name=hours_accepted]").check()
    form.locator("input[name=statement_signed]").check()
    phone_fits(owner)
    owner.shot("form")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(owner.base_url) + r"/renovations/\d+$"))
    number = text_of(page.locator("main p.text-muted").first).split(" · ")[0]
    assert re.fullmatch(r"ZX\d+", number), number
    alert_says(owner, owner.t("Renovation %(n)s submitted.") % {"n": number})
    state_is(owner, "Submitted, awaiting the engineering review")
    workers = page.get_by_test_id("workers")
    for name, id_no, _phone in WORKERS:
        expect(workers).to_contain_text(name)
        expect(workers).to_contain_text(id_no[-4:])
        expect(workers).not_to_contain_text(id_no)  # the ID number is not shown in full
    expect(page.locator("main").get_by_role("link", name="平面图.pdf")).to_have_count(1)
    phone_fits(owner)
    owner.shot("submitted")
    return page.url[len(owner.base_url) :]


def review(engineer, path: str):
    page = engineer.page
    engineer.goto(path)
    form = action(page, "review")
    form.locator("[name=notes]").fill("图纸齐全，未涉及承重墙，同意施工。")
    form.locator("[name=required_changes]").fill("卫生间闭水试验48小时")
    form.locator("[type=submit]").click()
    alert_says(engineer, engineer.t("Review recorded."))
    state_is(engineer, "Reviewed, awaiting approval")
    expect(page.get_by_test_id("review")).to_contain_text("闭水试验")


def approve(supervisor, path: str) -> list[str]:
    """Approve; the deposit billed, two passes, the permit PDF, the neighbours told."""
    page = supervisor.page
    supervisor.goto(path)
    action(page, "approve").locator("[type=submit]").click()
    alert_says(
        supervisor, supervisor.t("Approved: the fees are billed and the workers' passes issued.")
    )
    state_is(supervisor, "Approved")
    approval = page.get_by_test_id("approval")
    billed = re.search(r"(\d+\.\d{2})", text_of(approval))
    assert billed and float(billed.group(1)) > 0, f"no deposit billed: {text_of(approval)!r}"
    passes = page.get_by_test_id("passes").locator("li")
    expect(passes).to_have_count(2)
    numbers = [text_of(li.locator("a")) for li in passes.all()]
    for name, *_ in WORKERS:
        expect(page.get_by_test_id("passes")).to_contain_text(name)
    neighbours = text_of(page.get_by_test_id("neighbours"))
    told = re.search(r"\d+", neighbours)
    assert told and int(told.group(0)) > 0, f"no neighbour told: {neighbours!r}"
    expect(page.get_by_test_id("neighbours")).to_have_text(
        supervisor.t("%(n)d neighbours on the floors around were told.") % {"n": int(told.group(0))}
    )
    permit = page.get_by_test_id("permit")
    expect(permit).to_be_visible()
    fetch_pdf(supervisor, permit.get_attribute("href"))
    supervisor.shot("approved")
    return numbers


def guard_check(guard, number: str) -> object:
    page = guard.page
    guard.goto("/passes/check")
    page.get_by_test_id("check-form").locator("input[name=code]").fill(number)
    page.get_by_test_id("check-submit").click()
    page.wait_for_load_state("load")
    answer = page.get_by_test_id("check-result")
    expect(answer).to_contain_text(number)
    guard.no_horizontal_scroll()
    return answer


def test_renovation_from_application_to_refund(open_tab, home):
    h = home
    owner = open_tab("reno-owner-zh-phone", "zh", "phone")
    sign_in(owner, OWNER_LOGIN)
    path = apply(owner, h)
    owner.assert_clean()

    engineer = open_tab("reno-engineer-zh-phone", "zh", "phone")
    sign_in(engineer, "technician")
    review(engineer, path)

    supervisor = open_tab("reno-supervisor-zh-desktop", "zh", "desktop")
    sign_in(supervisor, "supervisor")
    passes = approve(supervisor, path)
    supervisor.assert_clean()

    # The guard, on a phone: inside the window the pass is valid.
    guard = open_tab("reno-guard-zh-phone", "zh", "phone")
    sign_in(guard, "guard")
    answer = guard_check(guard, passes[0])
    expect(answer).to_have_attribute("data-result", "valid")
    big = answer.locator(".display-1")
    expect(big).to_have_text(pgettext_of(guard, "pass", "Valid"))
    expect(big).to_have_text("有效")
    guard.shot("valid")

    # The day after the end: refused (the live server shares this process's clock).
    clock.freeze(FROZEN_AT + timedelta(days=3))
    try:
        answer = guard_check(guard, passes[1])
        expect(answer).not_to_have_attribute("data-result", "valid")
        expect(answer).to_have_attribute("data-result", "outside_window")
        expect(answer.locator(".display-1")).not_to_have_text("有效")
        guard.shot("after-the-end")
    finally:
        clock.freeze(FROZEN_AT)
    guard.assert_clean()

    # A patrol finds a violation; it is rectified; the hidden works pass.
    page = engineer.page
    engineer.goto(path)
    form = opened(page, "inspect")
    choose(form, "result", "violation")
    form.locator("[name=note]").fill("楼道内堆放建筑垃圾")
    choose(form, "violation_type", "debris")
    form.locator("[name=rectify_by]").fill(h.ends_on)
    engineer.shot("inspect-form")
    form.locator("[type=submit]").click()
    alert_says(engineer, engineer.t("Inspection recorded."))
    expect(page.get_by_test_id("open-violations")).to_be_visible()
    expect(page.get_by_test_id("inspections")).to_contain_text("建筑垃圾")

    form = opened(page, "rectify")
    form.locator("[name=note]").fill("垃圾已清运，楼道已清扫")
    form.locator("[type=submit]").click()
    alert_says(engineer, engineer.t("The violation is closed."))
    expect(page.get_by_test_id("open-violations")).to_have_count(0)
    expect(page.get_by_test_id("inspections")).to_contain_text("已清运")

    form = opened(page, "hidden-works")
    form.locator("[name=passed]").check()
    form.locator("[name=note]").fill("水电管线验收合格，闭水试验无渗漏")
    form.locator("[type=submit]").click()
    alert_says(engineer, engineer.t("Hidden-works acceptance recorded."))
    expect(page.get_by_test_id("hidden-works")).to_contain_text(engineer.t("Passed"))
    phone_fits(engineer)
    engineer.shot("hidden-works")
    engineer.assert_clean()

    # The deposit paid at the counter, on the unit's account page.
    desk = open_tab("reno-desk-zh-desktop", "zh", "desktop")
    sign_in(desk, "frontdesk")
    desk.goto(f"/fees/units/{h.unit_id}")
    form = desk.page.get_by_test_id("deposit-payment-form")
    expect(form).to_have_count(1)
    deposit = form.locator("input[name=amount]").input_value()
    assert float(deposit) > 0, deposit
    form.locator("select[name=method]").select_option("cash")
    form.locator("button").click()
    expect(desk.page.get_by_test_id("deposits-held")).to_have_text(deposit)
    assert fen_of(desk.page.get_by_test_id("deposits-held")) == round(float(deposit) * 100)
    desk.shot("deposit-paid")
    desk.assert_clean()

    # Completion acceptance with one deduction; the refund slip prints.
    engineer.goto(path)
    form = opened(page, "accept")
    form.locator("[name=passed]").check()
    form.locator("[name=note]").fill("墙面有一处磕碰，扣除修补费")
    choose(form, "refund_method", "cash")
    form.locator("input[name=deduction_reason]").first.fill("公共墙面修补")
    form.locator("input[name=deduction_amount]").first.fill(DEPOSIT_DEDUCTION)
    form.locator("[type=submit]").click()
    alert_says(engineer, engineer.t("Completion acceptance recorded."))
    state_is(engineer, "Works accepted, deposit settled")
    expect(page.get_by_test_id("acceptances")).to_contain_text("公共墙面修补")
    refund = page.get_by_test_id("refund")
    refunded = round(float(deposit) * 100) - round(float(DEPOSIT_DEDUCTION) * 100)
    expect(refund).to_contain_text(yuan(refunded))
    expect(refund).to_contain_text(DEPOSIT_DEDUCTION)
    phone_fits(engineer)
    engineer.shot("accepted")
    engineer.assert_clean()

    # The desk prints the refund slip (the route is the desk's: DESK only).
    desk.goto(path)
    refund = desk.page.get_by_test_id("refund")
    expect(refund).to_contain_text(yuan(refunded))
    slip = refund.get_by_role("link")
    expect(slip).to_have_count(1)
    fetch_pdf(desk, slip.get_attribute("href"))
    desk.shot("refund")
    desk.assert_clean()

    # The owner, on the phone, sees the works accepted and the refund (no slip link).
    owner.goto(path)
    state_is(owner, "Works accepted, deposit settled")
    expect(owner.page.get_by_test_id("refund")).to_contain_text(yuan(refunded))
    expect(owner.page.get_by_test_id("refund").get_by_role("link")).to_have_count(0)
    phone_fits(owner)
    owner.shot("accepted")
    owner.assert_clean()
