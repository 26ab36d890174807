"""Moves in a real browser (issue 15's proof). The desk registers a household's move-in for
a flat not handed over yet, checks the documents, records the inspection and hands over the
keys, an access card and a parking card with the first meter readings; the unit page lists
the two cards. The new owner activates the account on a phone with the SMS code, asks for a
goods release pass and sees its number and QR code; the guard, on a phone, checks the pass's
number once (VALID) and again (ALREADY USED). Then a move-out of a household that owes:
completing it is refused with the arrears named, the desk takes the payment at the counter
(with the confirm step of a payment over what is owed), and the move-out completes: the
card back, the final readings, the keys; the unit is vacant (handed over, not occupied).

The live server's database is shared by the whole session: the fixture picks, outside A区,
a flat nobody ever lived in and an owing household that no other journey uses. The SMS
channel posts to this test's own gateway (tests/e2e/test_resident_activation.py).
Screenshots: test-output/screenshots/move-<who>-zh-<viewport>-*.png.
"""

import gettext
import re
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import exists, select

from portal.core import clock
from portal.demo import ESTATE
from tests.e2e.test_fees import fen_of, yuan
from tests.e2e.test_resident_activation import (  # noqa: F401 - gateway is a fixture
    CODE,
    expected_refusals,
    gateway,
    live_app,
)
from tests.e2e.test_sign_in import sign_in, text_of
from tests.e2e.tickets import phone_fits

pytestmark = pytest.mark.browser

OWNER = "方晓燕"
OWNER_PHONE = "13766660015"
OWNER_PASSWORD = "maple-harbour-2026"
FIRST_READINGS = {"water": "12.50", "electricity": "305.20", "gas": "8.00"}
FINAL_READINGS = {"water": "1520.30", "electricity": "23011.70", "gas": "905.40"}
PASS_NUMBER = re.compile(r"FX\d{12}")


@dataclass
class Households:
    today: str  # the estate's day, as the date fields take it
    flat: str  # the flat, not handed over yet, the new owner moves into
    leaving: str  # the flat of a household that owes and moves out
    leaving_cards: list[str]  # the cards that household holds


@pytest.fixture
def households(live_server) -> Households:
    """A residence not handed over yet (nobody ever lived in it), and an owner-occupied
    residence that owes (the demo residents' and other journeys' units left alone), with an
    access card of years ago."""
    from portal.blueprints.custody import services as custody
    from portal.blueprints.fees import ledger
    from portal.blueprints.moves.models import MoveIn, MoveOut
    from portal.core.people import Relation, Residency, User
    from portal.core.places import Building, Estate, Occupancy, Unit, Zone
    from portal.extensions import db

    app = live_app()
    with app.app_context():
        estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
        assert db.session.scalar(select(User.id).where(User.phone == OWNER_PHONE)) is None
        place = (  # outside A区, where the other journeys work
            select(Unit, Building.name, Zone.name)
            .join(Building, Building.id == Unit.building_id)
            .join(Zone, Zone.id == Building.zone_id)
            .where(Unit.estate_id == estate.id, Unit.kind == "residence", Zone.name != "A区")
        )
        lived_in = exists().where(Residency.unit_id == Unit.id)
        moving_in = exists().where(MoveIn.unit_id == Unit.id)  # the demo's move-ins
        flat, building, zone = db.session.execute(
            place.where(Unit.occupancy == Occupancy.not_handed_over, ~lived_in, ~moving_in)
            .order_by(Unit.id)
            .limit(1)
        ).one()
        demo_units = (
            select(Residency.unit_id).join(User).where(User.username.in_(["resident", "resident2"]))
        )
        owners = db.session.execute(
            place.where(
                Unit.id.not_in(demo_units),
                exists().where(
                    Residency.unit_id == Unit.id,
                    Residency.relation == Relation.owner,
                    Residency.end_on.is_(None),
                ),
                ~exists().where(MoveOut.unit_id == Unit.id),
            )
            .order_by(Unit.id)
            .limit(200)
        ).all()
        owed = ledger.balances([u.id for u, _b, _z in owners])
        leaving, l_building, l_zone = next(row for row in owners if owed[row[0].id].owed_fen > 0)
        desk = db.session.scalar(select(User).where(User.username == "frontdesk"))
        if not custody.live_cards(leaving.id):
            custody.issue_cards(
                leaving,
                [{"number": f"MJ-{leaving.id}-2021", "kind": "access"}],
                leaving.occupancy_since,
                actor=desk,
            )
        cards = [c.number for c in custody.live_cards(leaving.id)]
        db.session.commit()
        today = clock.local_today(estate.timezone).isoformat()
        return Households(
            today=today,
            flat=f"{zone} {building} {flat.number}",
            leaving=f"{l_zone} {l_building} {leaving.number}",
            leaving_cards=cards,
        )


# --- helpers ---------------------------------------------------------------------------


def pgettext_of(tab, context: str, msgid: str) -> str:
    """A msgid with a context as the page shows it in the tab's language."""
    if tab.locale != "zh" or tab.catalogue.mo is None:
        return msgid
    with tab.catalogue.mo.open("rb") as fh:
        return gettext.GNUTranslations(fh).pgettext(context, msgid)


def open_unit(tab, label: str) -> str:
    """Staff: find a unit from the home page's search and open it; returns its path."""
    page = tab.page
    tab.goto("/")
    search = page.locator("main form[role=search]")
    search.locator("input[name=q]").fill(label)
    search.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/units/"))
    link = page.get_by_test_id("unit-results").get_by_role("link", name=label, exact=True)
    expect(link).to_have_count(1)
    link.click()
    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/units/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(label)
    return page.url[len(tab.base_url) :]


def alert_says(tab, text: str):
    expect(tab.page.get_by_role("alert").filter(has_text=text)).to_have_count(1)


def state_is(tab, msgid: str):
    expect(tab.page.get_by_test_id("move-state")).to_have_text(tab.t(msgid))


def action(page, name: str):
    return page.get_by_test_id("actions").locator(f"form[data-action='{name}']")


def fill_readings(form, readings: dict):
    """The reading rows (one per meter, water, electricity, gas, the meter a hidden field)."""
    for n in range(3):
        meter = form.locator(f"input[name='readings-{n}-meter']").input_value()
        form.locator(f"input[name='readings-{n}-value']").fill(readings[meter])


def sms_code(sms, timeout: float = 10) -> str:
    """The code of the latest SMS to the new owner that carries one (the welcome notice
    of the hand-over carries none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with_code = [m for m in sms.received if m["to"] == OWNER_PHONE and CODE.search(m["text"])]
        if with_code:
            return CODE.search(with_code[-1]["text"]).group()
        time.sleep(0.1)
    raise AssertionError(f"no code reached {OWNER_PHONE}: {sms.received}")


# --- the journey -------------------------------------------------------------------------


def register_move_in(desk, h: Households) -> str:
    """From the unit page: the day and the new owner; returns the move-in's number."""
    page = desk.page
    open_unit(desk, h.flat)
    page.get_by_test_id("move-in-for-unit").click()
    expect(page).to_have_url(re.compile(re.escape(desk.base_url) + r"/moves/in/new\?unit=\d+$"))
    form = page.get_by_test_id("move-in-form")
    expect(form.locator("select[name=unit] option:checked")).to_have_text(h.flat)
    form.locator("input[name=on]").fill(h.today)
    first = form.get_by_test_id("person-row").first
    first.locator("input[name='people-0-name']").fill(OWNER)
    first.locator("input[name='people-0-phone']").fill(OWNER_PHONE)
    first.locator("select[name='people-0-relation']").select_option("owner")
    desk.shot("move-in-form")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(desk.base_url) + r"/moves/in/\d+$"))
    number = text_of(page.locator("main p.text-muted").first).split(" · ")[0]
    assert re.fullmatch(r"RZ\d+", number), number
    alert_says(desk, desk.t("Move %(n)s registered.") % {"n": number})
    state_is(desk, "Registered, documents to check")
    expect(page.get_by_test_id("people")).to_contain_text(OWNER)
    expect(page.get_by_test_id("people")).to_contain_text(OWNER_PHONE)
    return number


def take_the_move_in_through(desk, h: Households) -> tuple[str, str]:
    """Documents, inspection, hand-over; returns the two card numbers issued."""
    page = desk.page

    # The documents an owner brings: the page marks the required ones.
    form = action(page, "check-documents")
    required = form.locator(".form-check").filter(has=page.locator(".badge"))
    assert required.count() >= 4, f"{required.count()} documents marked required"
    for row in required.all():
        row.locator("input[type=checkbox]").check()
    desk.shot("move-in-documents")
    form.locator("[type=submit]").click()
    alert_says(desk, desk.t("Documents checked."))
    state_is(desk, "Documents checked, to inspect")
    expect(page.get_by_test_id("checklist").locator("li").filter(has_text="○")).to_have_count(0)

    # The inspection: no defects.
    form = action(page, "inspect")
    form.locator("input[name=result][value=ok]").check()
    form.locator("[type=submit]").click()
    alert_says(desk, desk.t("Inspection recorded."))
    state_is(desk, "Inspected, to hand over")
    expect(page.get_by_test_id("checklist")).to_contain_text(desk.t("No defects"))

    # The hand-over: two keys, an access card and a parking card, the first readings.
    cards = (f"MJ-{h.today[2:4]}{OWNER_PHONE[-4:]}", f"CW-{h.today[2:4]}{OWNER_PHONE[-4:]}")
    form = action(page, "hand-over")
    form.locator("input[name=keys_count]").fill("2")
    form.locator("input[name=keys_label]").fill("入户门 2把")
    rows = form.get_by_test_id("card-row")
    for n, (number, kind) in enumerate(zip(cards, ("access", "parking"), strict=True)):
        rows.nth(n).locator(f"input[name='cards-{n}-number']").fill(number)
        rows.nth(n).locator(f"select[name='cards-{n}-kind']").select_option(kind)
    fill_readings(form, FIRST_READINGS)
    desk.shot("move-in-handover-form")
    form.locator("[type=submit]").click()
    alert_says(desk, desk.t("Handed over: the people are residents of the unit now."))
    state_is(desk, "Handed over")
    expect(page.get_by_test_id("actions")).to_have_count(0)
    handover = page.get_by_test_id("handover")
    expect(handover).to_contain_text(desk.t("Keys: %(n)s") % {"n": 2})
    for number in cards:
        expect(handover).to_contain_text(number)
    for value in FIRST_READINGS.values():
        expect(handover).to_contain_text(value)
    desk.shot("move-in-handed-over")
    return cards


def unit_lists_the_cards(desk, cards):
    page = desk.page
    page.locator("main").get_by_role("link", name=desk.t("the unit"), exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(desk.base_url) + r"/units/\d+$"))
    expect(page.get_by_test_id("unit-residents")).to_contain_text(OWNER)
    listed = page.get_by_test_id("unit-cards").locator("li[data-card]")
    expect(listed).to_have_count(2)
    for number, kind in zip(cards, ("Access card", "Parking card"), strict=True):
        card = listed.filter(has=page.locator(f"strong:text-is('{number}')"))
        expect(card).to_have_attribute("data-status", "issued")
        expect(card).to_contain_text(desk.t(kind))
        expect(card).to_contain_text(desk.t("Issued"))
    readings = page.get_by_test_id("unit-readings")
    for meter, value in FIRST_READINGS.items():
        expect(readings.locator(f"li[data-meter={meter}]")).to_contain_text(value)
    desk.shot("unit-cards")


def activate(tab, sms, flat: str):
    """The new owner activates the account with the SMS code, on a phone."""
    page = tab.page
    tab.goto("/auth/login")
    page.get_by_test_id("activate-link").click()
    expect(page).to_have_url(tab.path_is("/auth/activate"))
    form = page.locator("main form")
    form.locator("input[name=phone]").fill(OWNER_PHONE)
    phone_fits(tab)
    form.locator("input[name=submit]").click()
    expect(page).to_have_url(tab.path_is("/auth/activate/code"))
    expect(page.get_by_test_id("code-sent-to")).to_contain_text(OWNER_PHONE)
    form = page.locator("main form")
    form.locator("input[name=code]").fill(sms_code(sms))
    form.locator("input[name=password]").fill(OWNER_PASSWORD)
    form.locator("input[name=confirm]").fill(OWNER_PASSWORD)
    tab.shot("activate-code")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/"))
    expect(page.locator("body")).to_contain_text(tab.t("Your account is active. Welcome!"))
    expect(page.get_by_test_id("my-units")).to_contain_text(flat)
    phone_fits(tab)
    tab.shot("home")


def ask_for_goods_pass(tab, flat: str) -> str:
    """From the menu, My passes → Ask for a pass: a goods pass for the new home; its number."""
    page = tab.page
    tab.open_menu()
    page.get_by_test_id("menu").get_by_role("link", name=tab.t("My passes")).click()
    expect(page).to_have_url(tab.path_is("/passes/"))
    page.get_by_test_id("new-pass").click()
    expect(page).to_have_url(tab.path_is("/passes/new"))
    form = page.get_by_test_id("pass-form")
    expect(form.locator("input[name=kind][value=goods]")).to_be_checked()
    form.locator("textarea[name=items]").fill("旧床垫 1\n纸箱 6")
    phone_fits(tab)
    tab.shot("pass-form")
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/passes/\d+$"))
    number = text_of(page.get_by_test_id("pass-number"))
    assert PASS_NUMBER.fullmatch(number), number
    expect(page.get_by_test_id("pass-status")).to_have_text(pgettext_of(tab, "pass", "Active"))
    qr = page.get_by_test_id("pass-qr").locator("img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code is not drawn"
    expect(page.get_by_test_id("pass-items")).to_contain_text("旧床垫")
    expect(page.locator("main dl")).to_contain_text(flat.split(" ", 1)[1])
    phone_fits(tab)
    tab.shot("pass")
    return number


def guard_checks(guard, number: str, flat: str):
    page = guard.page
    page.get_by_test_id("action-check").click()
    expect(page).to_have_url(guard.path_is("/passes/check"))
    for result, msgid, zh in (("valid", "Valid", "有效"), ("used", "Already used", "已使用")):
        field = page.get_by_test_id("check-form").locator("input[name=code]")
        field.fill(number)
        page.get_by_test_id("check-submit").click()
        page.wait_for_load_state("load")
        answer = page.get_by_test_id("check-result")
        expect(answer).to_have_attribute("data-result", result)
        big = answer.locator(".display-1")
        expect(big).to_have_text(pgettext_of(guard, "pass", msgid))
        expect(big).to_have_text(zh)  # what the gate reads, in large words
        assert float(big.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 40
        expect(answer).to_contain_text(number)
        expect(page.get_by_test_id("check-pass")).to_contain_text(flat.split(" ", 1)[1])
        guard.no_horizontal_scroll()
        guard.shot(result)
    expect(page.get_by_test_id("my-checks").locator("li").filter(has_text=number)).to_have_count(2)


def register_move_out(desk, h: Households) -> str:
    page = desk.page
    open_unit(desk, h.leaving)
    page.get_by_test_id("move-out-for-unit").click()
    form = page.get_by_test_id("move-out-form")
    expect(form.locator("select[name=unit] option:checked")).to_have_text(h.leaving)
    expect(form.locator("select[name=occupancy]")).to_have_value("vacant")
    form.locator("input[name=on]").fill(h.today)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(desk.base_url) + r"/moves/out/\d+$"))
    state_is(desk, "Registered, clearance open")
    clearance = page.get_by_test_id("clearance")
    for card in h.leaving_cards:
        expect(clearance.get_by_test_id("clearance-cards")).to_contain_text(card)
    return page.url[len(desk.base_url) :]


def complete(desk, h: Households):
    form = action(desk.page, "complete")
    fill_readings(form, FINAL_READINGS)
    for card in h.leaving_cards:
        form.locator(f"input[name=cards_returned][value='{card}']").check()
    form.locator("input[name=keys_returned]").check()
    form.locator("[type=submit]").click()


def pay_at_the_counter(desk, owed_fen: int, path: str):
    """The 收款 link → the unit's account; a round sum over what is owed, confirmed."""
    page = desk.page
    page.get_by_test_id("take-payment").click()
    expect(page).to_have_url(re.compile(re.escape(desk.base_url) + r"/fees/units/\d+$"))
    assert fen_of(page.get_by_test_id("owed")) == owed_fen
    form = page.get_by_test_id("payment-form")
    expect(form.locator("input[name=amount]")).to_have_value(yuan(owed_fen))
    paid = (owed_fen // 10_000 + 1) * 10_000  # the household hands over whole hundreds
    form.locator("input[name=amount]").fill(yuan(paid))
    form.locator("select[name=method]").select_option("cash")
    form.locator("input[name=payer_name]").fill("业主本人")
    form.locator("[type=submit]").click()

    # Nothing taken yet: more than is owed asks the clerk to confirm.
    form = page.get_by_test_id("payment-form")
    confirm = form.locator("input[name=confirm]")
    expect(confirm).to_be_visible()
    reason = desk.t(
        "This is more than the unit owes (%(owed)s yuan): %(credit)s yuan will become credit."
    ) % {"owed": yuan(owed_fen), "credit": yuan(paid - owed_fen)}
    expect(form).to_contain_text(reason)
    assert fen_of(page.get_by_test_id("owed")) == owed_fen
    expect(form.locator("input[name=amount]")).to_have_value(yuan(paid))
    desk.shot("counter-confirm")
    confirm.check()
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/fees/units/\d+\?receipt=SJ\d+$"))
    number = page.url.rsplit("=", 1)[1]
    alert_says(
        desk,
        desk.t("Payment of %(amount)s yuan taken: receipt %(number)s.")
        % {"amount": yuan(paid), "number": number},
    )
    expect(page.get_by_test_id("owed")).to_have_text("0.00")
    expect(page.get_by_test_id("credit")).to_have_text(yuan(paid - owed_fen))
    desk.shot("counter-paid")
    desk.goto(path)


def test_move_in_pass_at_the_gate_and_move_out_after_paying(
    open_tab,
    gateway,  # noqa: F811 - the fixture imported above
    households,
):
    h = households
    desk = open_tab("move-desk-zh-desktop", "zh", "desktop")
    sign_in(desk, "frontdesk")

    # Move-in: registered, documents, inspection, hand-over with two cards.
    register_move_in(desk, h)
    cards = take_the_move_in_through(desk, h)
    unit_lists_the_cards(desk, cards)
    desk.assert_clean()

    # The new owner activates on a phone and asks for a goods pass.
    owner = open_tab("move-owner-zh-phone", "zh", "phone")
    activate(owner, gateway, h.flat)
    number = ask_for_goods_pass(owner, h.flat)
    owner.assert_clean()
    welcome = [m for m in gateway.received if m["to"] == OWNER_PHONE and not CODE.search(m["text"])]
    assert welcome and ESTATE in welcome[0]["text"], f"no welcome SMS: {gateway.received}"

    # The guard checks it twice on a phone.
    guard = open_tab("move-guard-zh-phone", "zh", "phone")
    sign_in(guard, "guard")
    guard_checks(guard, number, h.flat)
    guard.assert_clean()

    # Move-out: refused while the unit owes, paid at the counter, then completed.
    page = desk.page
    move_out = register_move_out(desk, h)
    fees = page.get_by_test_id("clearance-fees")
    text = text_of(fees)
    owed = re.search(r"¥\s*(\d+\.\d{2})", text)
    assert owed, f"the clearance does not show what is owed: {text!r}"
    owed_fen = round(float(owed.group(1)) * 100)
    assert owed_fen > 0
    expect(fees.get_by_test_id("take-payment")).to_have_text(desk.t("Take a payment"))
    desk.shot("move-out-owes")

    complete(desk, h)
    # The page again, as the refused form's answer (409), its fields as typed.
    expect(page).to_have_url(desk.path_is(move_out + "/act/complete"))
    refusal = desk.t("the unit owes %(amount)s yuan") % {"amount": yuan(owed_fen)}
    alert = page.get_by_role("alert").filter(has_text=refusal)
    expect(alert).to_have_count(1)
    for card in h.leaving_cards:  # the cards, the readings and the keys were given
        expect(alert).not_to_contain_text(card)
    state_is(desk, "Registered, clearance open")
    form = action(page, "complete")
    expect(form.locator("input[name='readings-0-value']")).not_to_have_value("")  # as typed
    expect(form.locator("input[name=keys_returned]")).to_be_checked()
    desk.shot("move-out-refused")
    expected_refusals(desk, (409, move_out + "/act/complete"))

    pay_at_the_counter(desk, owed_fen, move_out)
    expect(page.get_by_test_id("clearance-fees")).to_contain_text(desk.t("Nothing owed."))
    complete(desk, h)
    expect(page).to_have_url(desk.path_is(move_out))
    alert_says(desk, desk.t("Moved out: the residencies have ended."))
    state_is(desk, "Moved out")
    expect(page.get_by_test_id("actions")).to_have_count(0)
    expect(page.get_by_test_id("clearance-cards")).to_contain_text(desk.t("No card out."))
    desk.shot("move-out-completed")

    page.locator("main").get_by_role("link", name=desk.t("the unit"), exact=True).click()
    expect(page.locator("main dl").first).to_contain_text(desk.t("Handed over, not occupied"))
    for number in h.leaving_cards:
        card = page.get_by_test_id("unit-cards").locator(f"li[data-card='{number}']")
        expect(card).to_have_attribute("data-status", "returned")
    for meter, value in FINAL_READINGS.items():
        expect(
            page.get_by_test_id("unit-readings").locator(f"li[data-meter={meter}]")
        ).to_contain_text(value)
    residents = page.get_by_test_id("unit-residents").locator("li[data-residency]")
    expect(residents.filter(has_text=f"– {h.today}").first).to_be_visible()
    expect(residents.filter(has_text=f"– {desk.t('now')}")).to_have_count(0)  # all ended
    desk.shot("unit-vacant")
    desk.assert_clean()
