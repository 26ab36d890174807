"""A bill not yet due is to pay (待缴, neutral); only past its due date, by the portal clock,
is it arrears (欠费, in red): on the resident's bills and on the counter's account page."""

import re
from datetime import UTC, date, datetime

import pytest

from portal.core import clock
from portal.extensions import db
from tests.fees.helpers import bill

ZH = {"Accept-Language": "zh-CN"}
DUE = date(2026, 11, 30)
BEFORE = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 on the due date, estate time
AFTER = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 the next day, estate time


@pytest.fixture
def due_bill(world):
    """A 50.00 yuan bill of the resident's unit, due on 30 November 2026."""
    found = bill(world, world.unit, 5000, key="due-label", due_on=DUE)
    db.session.commit()
    return found


def owed_tile(html: str) -> str:
    return re.search(r'<div class="fs-4[^"]*" data-testid="owed">', html).group(0)


def test_the_residents_bill_is_to_pay_until_its_due_date(client, world, login_as, due_bill):
    login_as("resident")
    clock.freeze(BEFORE)
    html = client.get("/fees/mine", headers=ZH).get_data(as_text=True)
    line = html.split(f'data-testid="account-{world.unit.id}"')[1]
    assert "待缴 50.00" in line and 'data-owed="to-pay"' in line
    assert "欠费" not in line and "text-danger" not in owed_tile(line)
    assert 'data-testid="arrears"' not in line

    clock.freeze(AFTER)
    html = client.get("/fees/mine", headers=ZH).get_data(as_text=True)
    line = html.split(f'data-testid="account-{world.unit.id}"')[1]
    assert "欠费 50.00" in line and 'data-owed="arrears"' in line
    assert "text-danger" in owed_tile(line) and "待缴 50.00" not in line


def test_the_counter_shows_the_same_words(client, world, login_as, due_bill):
    login_as("frontdesk")
    clock.freeze(BEFORE)
    html = client.get(f"/fees/units/{world.unit.id}", headers=ZH).get_data(as_text=True)
    row = html.split(f'data-bill="{due_bill.id}"')[1].split("</tr>")[0]
    assert "待缴" in row and "欠费" not in row and "text-bg-danger" not in row
    assert "text-danger" not in owed_tile(html) and 'data-testid="to-pay"' in html
    assert "<th>缴费期限</th>" in html and "时限" not in html  # the bill's due date, in words

    clock.freeze(AFTER)
    html = client.get(f"/fees/units/{world.unit.id}", headers=ZH).get_data(as_text=True)
    row = html.split(f'data-bill="{due_bill.id}"')[1].split("</tr>")[0]
    assert "欠费" in row and "text-bg-danger" in row and "待缴" not in row
    assert "text-danger" in owed_tile(html) and 'data-testid="arrears"' in html


def test_the_resident_home_says_the_same(client, world, login_as, due_bill):
    login_as("resident")
    clock.freeze(BEFORE)
    card = client.get("/", headers=ZH).get_data(as_text=True).split('data-testid="my-bills"')[1]
    assert "待缴 50.00" in card and "欠费" not in card and 'data-testid="home-arrears"' not in card
    clock.freeze(AFTER)
    card = client.get("/", headers=ZH).get_data(as_text=True).split('data-testid="my-bills"')[1]
    assert 'data-testid="home-arrears">欠费 50.00' in card and "待缴" not in card
