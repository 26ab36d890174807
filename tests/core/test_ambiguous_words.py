"""One English word, two meanings, one Chinese translation: the words below mean different
things on different screens (a rate's start date or a complainant; money received or
tickets received), so they always carry a context (`pgettext`) naming the meaning, and each
context has its own Chinese."""

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.core.test_translations import KEYWORDS, PO, ROOT

# English msgids known to mean different things in the portal: never used without a context.
AMBIGUOUS = {
    "From",  # a rate's effective date, a report period's start, a complainant
    "To",  # a report period's end, a message's recipient, a colleague taking over
    "Name",  # a fee item's name (名称), a person's name (姓名)
    "Received",  # money received (实收), tickets received (受理)
    "Due",  # a bill's due date (缴费期限), a work order's deadline (时限)
    "What was done",  # a complaint's resolution (处理结果), a repair's work (维修内容)
    "Register",  # the complaint register (投诉登记表), to register one (登记)
    "Registered",  # when it was registered (登记时间), the state (已登记)
    "Open",  # an unpaid bill, a ticket being handled
    "Close",  # close a ticket (结案), close a panel
}


# The right Chinese of each meaning.
EXPECTED = {
    ("fee rate", "From"): "生效日期",
    ("report period", "From"): "开始日期",
    ("report period", "To"): "结束日期",
    ("delivery", "To"): "收件人",
    ("fee item", "Name"): "名称",
    ("money", "Received"): "实收",
    ("tickets", "Received"): "受理",
    ("bill", "Due"): "缴费期限",
    ("repair", "Due"): "时限",
    ("complaint register", "Register"): "投诉登记表",
    ("registration time", "Registered"): "登记时间",
}


def uses():
    """(file, line, msgid, context) of every message of the sources and templates."""
    found = []
    for folder, method in (("portal", "python"), ("templates", "jinja2.ext:babel_extract")):
        pattern = "**.py" if method == "python" else "**.html"
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / folder, [(pattern, method)], keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.append((f"{folder}/{filename}", lineno, msgid, context))
    return found


def catalogue():
    with PO.open("rb") as handle:
        return {(m.context, m.id): m.string for m in read_po(handle) if m.id}


def test_ambiguous_words_always_carry_a_context():
    bare = [
        f"{path}:{line}: {msgid!r}"
        for path, line, msgid, context in uses()
        if msgid in AMBIGUOUS and context is None
    ]
    assert not bare, "give these a context with pgettext(…):\n" + "\n".join(bare)


@pytest.mark.parametrize(("key", "chinese"), sorted(EXPECTED.items()))
def test_each_meaning_has_its_chinese(key, chinese):
    assert catalogue().get(key) == chinese


ZH = {"Accept-Language": "zh-CN"}


def test_the_screens_say_what_they_mean(client, world, login_as):
    """The fee rates' start date, the new fee item's name, the report periods, the fee
    chart's legend and the ticket figures each in their own Chinese."""
    from datetime import date

    from tests.fees.helpers import bill

    bill(world, world.unit, 5000, key="words", due_on=date(2026, 11, 10))
    from portal.extensions import db

    db.session.commit()
    login_as("manager")
    items = client.get("/fees/items", headers=ZH).get_data(as_text=True)
    assert "<th>生效日期</th>" in items and "投诉人" not in items
    assert '<label class="form-label" for="name">名称' in items and "姓名" not in items
    fees = client.get("/reports/fees?from=2026-11-01&to=2026-11-30", headers=ZH)
    chart = fees.get_data(as_text=True).split('data-testid="chart-by-zone"')[1]
    assert ">实收</text>" in chart and "受理" not in chart
    for report in ("complaints", "repairs"):
        page = client.get(f"/reports/{report}", headers=ZH).get_data(as_text=True)
        assert 'for="from">开始日期</label>' in page and 'for="to">结束日期</label>' in page
        assert "投诉人" not in page and "收件人" not in page
        assert ">受理</th>" in page
