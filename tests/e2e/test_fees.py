"""Fees in a real browser: the front desk takes a cash payment at the counter for the second
demo resident's unit and prints the receipt (收据); the demo resident pays a bill online
through the payment sandbox on a phone, once failing and once paying it all.

The demo estate bills its last three months and leaves the two demo residents owing them.
The live server's database is shared by the whole session, so every case reads what its
unit owes before it pays and asserts the difference; a unit that an earlier case paid up is
made to owe again first, by a manager reversing its latest payment (红冲) on the account page.
What is shown in the wrong language is collected and asserted at the end of a case, after the
journey and its screenshots. Screenshots: test-output/screenshots/fee-<who>-<locale>-*.png.
"""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LOCALES, SCREENSHOTS
from tests.e2e.test_sign_in import Language, sign_in, text_of
from tests.e2e.tickets import phone_fits

pytestmark = pytest.mark.browser

RESIDENT_UNIT = "A区 1栋 1单元101"  # the demo resident's only unit
DESK_UNIT = "A区 1栋 2单元101"  # resident2's: the counter case leaves the resident's alone
ESTATE = "翠湖花园"
CASH_FEN = 5_000  # the counter takes part of what is owed: 50.00 yuan
PAYER = "李女士"
RECEIPT_NUMBER = re.compile(r"SJ\d{4,}\d{8}\d{4}")  # prefix, estate, local day, counter
AMOUNT = re.compile(r"-?\d+\.\d{2}")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(locator) -> int:
    """An amount the page shows as 1234.50, in fen."""
    text = text_of(locator)
    assert AMOUNT.fullmatch(text), f"not an amount: {text!r}"
    whole, cents = text.lstrip("-").split(".")
    return (-1 if text.startswith("-") else 1) * (int(whole) * 100 + int(cents))


def flash_matches(tab, msgid: str, **values) -> str:
    """The success alert reads as the catalogue's message with `values` filled in."""
    alert = tab.page.get_by_role("alert").filter(has_text=values.get("number", ""))
    expect(alert).to_have_count(1)
    got = text_of(alert)
    pattern = re.escape(tab.t(msgid))
    for name, value in values.items():
        pattern = pattern.replace(re.escape(f"%({name})s"), re.escape(value))
    assert re.fullmatch(pattern, got), f"{tab.name}: alert {got!r}, expected {pattern!r}"
    return got


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF as poppler's pdftotext reads it (what a search of the file finds)."""
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return done.stdout.decode("utf-8")


def fetch_receipt(tab, href: str, number: str, amount_fen: int, unit: str, problems: list):
    """The receipt link serves a PDF of that receipt, for that unit and amount."""
    assert href == f"/fees/receipts/{number}.pdf", href
    response = tab.page.request.get(tab.base_url + href)  # with the context's cookies
    assert response.ok, f"{href}: HTTP {response.status}"
    assert response.headers["content-type"].startswith("application/pdf"), response.headers
    pdf = response.body()
    assert pdf.startswith(b"%PDF"), pdf[:20]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{tab.name}-receipt.pdf").write_bytes(pdf)  # to look at, beside the PNGs
    text = pdf_text(pdf)
    flat = re.sub(r"\s+", "", text)
    assert number in text, f"{href}: the receipt number is not printed:\n{text}"
    assert yuan(amount_fen) in text, f"{href}: the amount {yuan(amount_fen)} is missing:\n{text}"
    assert unit.replace(" ", "") in flat, f"{href}: the unit {unit} is missing:\n{text}"
    assert ESTATE in text, f"{href}: the estate is missing:\n{text}"
    if "收据" not in text:  # a receipt is always printed in Chinese, whatever the page's language
        problems.append(f"receipt {number}: the PDF does not say 收据: {text.split()[:6]}")
    return text


# --- Setting up: a unit that owes ------------------------------------------------------


def open_account(tab, unit: str) -> str:
    """Staff: find the unit from the home page, open it, then its account; returns its path."""
    page = tab.page
    search = page.locator("main form[role=search]")
    search.locator("input[name=q]").fill(unit)
    search.locator("[type=submit]").click()
    expect(page).to_have_url(tab.path_is("/units/"))
    link = page.get_by_test_id("unit-results").get_by_role("link", name=unit, exact=True)
    expect(link).to_have_count(1)
    link.click()
    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/units/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(unit)
    unit_id = page.url.rsplit("/", 1)[1]
    button = page.get_by_test_id("unit-account")
    expect(button).to_have_text(tab.t("Account & payments"))
    tab.shot("unit")
    button.click()
    path = f"/fees/units/{unit_id}"
    expect(page).to_have_url(tab.path_is(path))
    expect(page.get_by_test_id("owed")).to_be_visible()
    return path


def make_it_owe(open_tab, locale: str, unit: str, at_least_fen: int):
    """A manager reverses the unit's latest payments (红冲) until it owes `at_least_fen`.

    Nothing is done while the unit still owes that much (the demo leaves it owing three
    months); an earlier case of the session may have paid it up.
    """
    tab = open_tab(f"fee-setup-{locale}-desktop", locale, "desktop")
    page = tab.page
    sign_in(tab, "manager")
    open_account(tab, unit)
    for _ in range(5):
        owed = fen_of(page.get_by_test_id("owed"))
        if owed >= at_least_fen:
            break
        reversible = page.get_by_test_id("payments").locator("li").filter(has=page.locator("form"))
        assert reversible.count(), f"{unit} owes {yuan(owed)} and has no payment to reverse"
        entry = reversible.first
        number = text_of(entry.get_by_role("link").first)
        entry.locator("summary").click()
        entry.locator("input[name=reason]").fill("e2e: reopen the bills for the payment journey")
        entry.locator("form button").click()
        expect(page.get_by_role("alert").filter(has_text=number)).to_be_visible()
    owed = fen_of(page.get_by_test_id("owed"))
    assert owed >= at_least_fen, f"{unit} still owes only {yuan(owed)} after reversals"
    tab.assert_clean()
    page.context.close()


# --- 1. The counter: cash, the receipt ----------------------------------------------------


@pytest.mark.parametrize("locale", list(LOCALES))
def test_front_desk_takes_cash_and_prints_the_receipt(open_tab, locale):
    # Each language pays its own amount: the same amount on the same unit within minutes
    # would (rightly) ask the clerk to confirm it first.
    cash = CASH_FEN + 100 * list(LOCALES).index(locale)
    make_it_owe(open_tab, locale, DESK_UNIT, cash + 1)
    tab = open_tab(f"fee-frontdesk-{locale}-desktop", locale, "desktop")
    page = tab.page
    language = Language(tab)
    problems = []

    sign_in(tab, "frontdesk")
    path = open_account(tab, DESK_UNIT)
    language.lang("account page")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(DESK_UNIT)
    if not text_of(heading).startswith(tab.t("Account") + " · "):
        language.problems.append(f"account heading: shows {text_of(heading)!r}")
    owed_before = fen_of(page.get_by_test_id("owed"))
    credit_before = fen_of(page.get_by_test_id("credit"))
    assert owed_before > cash, owed_before
    open_bills = page.get_by_test_id("bills").locator("tbody tr[data-status=open]")
    bills_owed = sum(fen_of(row.get_by_test_id("bill-owed")) for row in open_bills.all())
    assert bills_owed == owed_before, (
        f"the open bills add up to {yuan(bills_owed)}, the account says {yuan(owed_before)}"
    )

    form = page.get_by_test_id("payment-form")
    expect(form).to_be_visible()
    amount = form.locator("input[name=amount]")
    expect(amount).to_have_value(yuan(owed_before))  # offered: everything owed
    language.says(form.locator("label[for=amount]"), "Amount (yuan)", "amount label")
    amount.fill(yuan(cash))
    method = form.locator("select[name=method]")
    method.select_option("cash")
    expect(method.locator("option:checked")).to_have_text(tab.t("Cash"))
    form.locator("input[name=payer_name]").fill(PAYER)
    submit = form.locator("[type=submit]")
    language.says(submit, "Take the payment", "take payment button")
    tab.shot("take")
    submit.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url + path) + r"\?receipt=SJ\d+$"))
    number = page.url.rsplit("=", 1)[1]
    assert RECEIPT_NUMBER.fullmatch(number), number
    flash_matches(
        tab,
        "Payment of %(amount)s yuan taken: receipt %(number)s.",
        amount=yuan(cash),
        number=number,
    )
    ready = page.get_by_test_id("receipt-ready")
    expect(ready).to_be_visible()
    expect(ready).to_contain_text(number)
    owed_after = fen_of(page.get_by_test_id("owed"))
    assert owed_after == owed_before - cash, (
        f"owed {yuan(owed_before)} - paid {yuan(cash)} should leave "
        f"{yuan(owed_before - cash)}, the page says {yuan(owed_after)}"
    )
    assert fen_of(page.get_by_test_id("credit")) == credit_before
    entry = page.get_by_test_id("payments").locator("li").filter(has_text=number)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(yuan(cash))
    expect(entry).to_contain_text(tab.t("Cash"))
    # The next payment starts from what is left.
    expect(page.get_by_test_id("payment-form").locator("input[name=amount]")).to_have_value(
        yuan(owed_after)
    )
    tab.shot("paid")

    link = ready.get_by_test_id("print-receipt")
    language.says(link, "Print the receipt", "print receipt link")
    text = fetch_receipt(tab, link.get_attribute("href"), number, cash, DESK_UNIT, problems)
    assert PAYER in text, f"the receipt does not name who paid:\n{text}"
    assert "王丽" in text, f"the receipt does not name the cashier:\n{text}"

    # Coming back to the account later shows the same.
    tab.goto(path)
    assert fen_of(page.get_by_test_id("owed")) == owed_after
    tab.assert_clean()
    problems += language.problems
    assert not problems, f"{tab.name}: wrong language or missing text:\n" + "\n".join(problems)


# --- 2. Online: the resident pays through the sandbox -------------------------------------


def my_bills(tab, language: Language) -> tuple:
    """The resident's home → My bills; returns (the unit's account section, owed fen)."""
    page = tab.page
    tab.goto("/")
    bills = page.get_by_test_id("my-bills")
    expect(bills).to_be_visible()
    expect(bills).to_contain_text(RESIDENT_UNIT)
    button = bills.get_by_test_id("to-my-bills")
    language.says(button, "See and pay my bills", "my bills button")
    button.click()
    expect(page).to_have_url(tab.path_is("/fees/mine"))
    language.says(page.get_by_role("heading", level=1), "My bills", "my bills heading")
    section = page.locator("main section[data-testid^=account-]").filter(has_text=RESIDENT_UNIT)
    expect(section).to_have_count(1)
    return section, fen_of(section.get_by_test_id("owed"))


def start_paying(tab, language: Language, section, owed: int):
    """Submit the pay form with the whole amount owed; the sandbox shows the order."""
    page = tab.page
    form = section.get_by_test_id("pay-form")
    expect(form).to_be_visible()
    amount = form.locator("input[name=amount]")
    expect(amount).to_have_value(yuan(owed))
    expect(amount).to_have_attribute("inputmode", "decimal")  # the number pad on a phone
    button = form.get_by_role("button")
    language.says(button, "Pay online", "pay online button")
    phone_fits(tab)
    button.click()

    expect(page).to_have_url(re.compile(re.escape(tab.base_url) + r"/fees/sandbox/PO\w+$"))
    order_no = page.url.rsplit("/", 1)[1]
    sandbox = page.get_by_test_id("sandbox")
    expect(sandbox).to_be_visible()
    expect(sandbox).to_contain_text(RESIDENT_UNIT)
    expect(sandbox).to_contain_text(f"¥ {yuan(owed)}")
    for msgid in ("Pay", "Payment fails", "Leave without paying (time out)"):
        expect(sandbox.get_by_role("button", name=tab.t(msgid), exact=True)).to_be_visible()
    phone_fits(tab)
    return sandbox, order_no


def order_is(tab, order_no: str, status: str, owed: int):
    page = tab.page
    expect(page).to_have_url(tab.path_is(f"/fees/orders/{order_no}"))
    order = page.get_by_test_id("order")
    expect(order).to_have_attribute("data-status", status)
    expect(order).to_contain_text(order_no)
    expect(order).to_contain_text(RESIDENT_UNIT)
    expect(order.locator("p.fs-3")).to_contain_text(yuan(owed))
    return order


@pytest.mark.parametrize("locale", list(LOCALES))
def test_resident_pays_online_through_the_sandbox(open_tab, locale):
    make_it_owe(open_tab, locale, RESIDENT_UNIT, 1)
    tab = open_tab(f"fee-resident-{locale}-phone", locale, "phone")
    page = tab.page
    language = Language(tab)
    problems = []
    sign_in(tab, "resident")
    home_bills = page.get_by_test_id("my-bills")
    expect(home_bills).to_be_visible()
    phone_fits(tab)
    tab.shot("home")

    # The failure path first: the payment app says no; the bill is still owed.
    section, owed = my_bills(tab, language)
    language.lang("my bills page")
    assert owed > 0, owed
    open_bills = section.locator("li[data-status=open]")
    expect(open_bills.first).to_be_visible()
    open_count = open_bills.count()
    phone_fits(tab)
    tab.shot("bills")
    sandbox, failed_no = start_paying(tab, language, section, owed)
    tab.shot("sandbox-fail")
    sandbox.get_by_role("button", name=tab.t("Payment fails"), exact=True).click()
    order = order_is(tab, failed_no, "failed", owed)
    expect(order.get_by_test_id("order-receipt")).to_have_count(0)
    language.says(
        order.locator(".alert"),
        "The payment did not go through. Nothing was charged; you can try again.",
        "failed payment message",
    )
    phone_fits(tab)
    tab.shot("failed")
    section, owed_after_failure = my_bills(tab, language)
    assert owed_after_failure == owed, (
        f"a failed payment changed what is owed: {yuan(owed)} → {yuan(owed_after_failure)}"
    )
    expect(section.locator("li[data-status=open]")).to_have_count(open_count)
    expect(section.get_by_test_id("pay-form")).to_be_visible()
    failed_order = page.locator("main li").filter(
        has=page.locator(f"a[href$='/fees/orders/{failed_no}']")
    )
    expect(failed_order).to_have_count(1)
    expect(failed_order).to_contain_text(tab.t("Failed"))

    # Then the payment goes through: the receipt, and nothing is owed any more.
    sandbox, paid_no = start_paying(tab, language, section, owed)
    assert paid_no != failed_no
    tab.shot("sandbox-pay")
    sandbox.get_by_role("button", name=tab.t("Pay"), exact=True).click()
    order = order_is(tab, paid_no, "succeeded", owed)
    language.says(order.locator(".alert"), "Paid. Thank you!", "paid message")
    receipt = order.get_by_test_id("order-receipt")
    expect(receipt).to_be_visible()
    number = RECEIPT_NUMBER.search(text_of(receipt))
    assert number, text_of(receipt)
    number = number.group(0)
    phone_fits(tab)
    tab.shot("paid")
    fetch_receipt(tab, receipt.get_attribute("href"), number, owed, RESIDENT_UNIT, problems)

    section, owed_now = my_bills(tab, language)
    assert owed_now == 0, f"paid {yuan(owed)} online, still owes {yuan(owed_now)}"
    expect(section.get_by_test_id("owed")).to_have_text("0.00")
    expect(section.get_by_test_id("pay-form")).to_have_count(0)
    language.says(
        section.locator("p.text-success"), "Nothing is owed. Thank you!", "paid up message"
    )
    expect(section.locator("li[data-status=open]")).to_have_count(0)
    receipts = section.get_by_test_id("receipts").locator("li").filter(has_text=number)
    expect(receipts).to_have_count(1)
    expect(receipts).to_contain_text(yuan(owed))
    phone_fits(tab)
    tab.shot("bills-paid")

    # The home page agrees.
    tab.goto("/")
    expect(home_bills).to_contain_text(tab.t("Paid up"))
    tab.assert_clean()
    problems += language.problems
    assert not problems, f"{tab.name}: wrong language or missing text:\n" + "\n".join(problems)
