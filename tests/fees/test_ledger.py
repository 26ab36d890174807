"""The ledger: allocation oldest-first, credit, reversals, idempotency keys, receipts."""

from datetime import UTC, date, datetime

import pytest
from werkzeug.exceptions import NotFound

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Allocation
from portal.core.errors import Conflict, ServiceError
from portal.core.money import chinese_upper, parse_yuan, yuan
from portal.extensions import db
from tests.fees.helpers import bill, pay


def test_money_parsing_and_formatting():
    assert parse_yuan("1234.50") == 123450
    assert parse_yuan("0.01") == 1
    assert yuan(123450) == "1234.50" and yuan(-5) == "-0.05"
    for bad in ("-1", "0", "1.234", "abc", "NaN", "Infinity", "", "1e400", "99999999999999"):
        with pytest.raises(ServiceError):
            parse_yuan(bad)
    assert chinese_upper(123450) == "壹仟贰佰叁拾肆元伍角整"
    assert chinese_upper(1000500) == "壹万零伍元整"
    assert chinese_upper(30) == "叁角整"
    assert chinese_upper(100000000) == "壹佰万元整"
    assert chinese_upper(10000000005) == "壹亿元零伍分"


def test_payment_pays_oldest_bills_first_and_keeps_the_rest_as_credit(world):
    new = bill(world, world.unit, 20000, key="b2", due_on=date(2026, 11, 15))
    old = bill(world, world.unit, 10000, key="b1", due_on=date(2026, 10, 15))
    payment = pay(world, world.unit, 25000)
    allocations = {a.bill_id: a.amount_fen for a in payment.allocations}
    assert allocations == {old.id: 10000, new.id: 15000}
    assert ledger.balance(world.unit.id).owed_fen == 5000
    pay(world, world.unit, 8000)
    b = ledger.balance(world.unit.id)
    assert (b.owed_fen, b.credit_fen) == (0, 3000)
    # The next bill is paid from the credit at once.
    later = bill(world, world.unit, 2000, key="b3")
    assert ledger.paid_on_bills([later.id]) == {later.id: 2000}
    assert ledger.balance(world.unit.id).credit_fen == 1000


def test_reversing_a_payment_reopens_its_bills_and_cannot_be_reversed_again(world):
    b1 = bill(world, world.unit, 10000, key="b1")
    payment = pay(world, world.unit, 10000)
    reversal = ledger.reverse_payment(payment, reason="收错户", actor=world.frontdesk)
    assert reversal.amount_fen == -10000 and reversal.receipt_number != payment.receipt_number
    assert ledger.paid_on_bills([b1.id]) == {b1.id: 0}
    assert ledger.balance(world.unit.id).owed_fen == 10000
    with pytest.raises(Conflict):
        ledger.reverse_payment(payment, reason="again", actor=world.frontdesk)
    with pytest.raises(Conflict):
        ledger.reverse_payment(reversal, reason="reversal of a reversal", actor=world.frontdesk)
    # No row was edited: the original allocation is still there, undone by a negative one.
    rows = db.session.query(Allocation).filter_by(bill_id=b1.id).order_by(Allocation.id).all()
    assert [a.amount_fen for a in rows] == [10000, -10000]


def test_withdrawing_a_bill_turns_what_was_paid_into_credit_for_the_next(world):
    b1 = bill(world, world.unit, 10000, key="b1", due_on=date(2026, 9, 15))
    b2 = bill(world, world.unit, 6000, key="b2", due_on=date(2026, 10, 15))
    pay(world, world.unit, 10000)
    assert ledger.paid_on_bills([b1.id, b2.id]) == {b1.id: 10000}
    ledger.reverse_bill(b1, reason="面积录错", actor=world.manager)
    assert ledger.paid_on_bills([b1.id, b2.id]) == {b1.id: 0, b2.id: 6000}
    b = ledger.balance(world.unit.id)
    assert (b.owed_fen, b.credit_fen) == (0, 4000)
    with pytest.raises(Conflict):
        ledger.reverse_bill(b1, reason="again", actor=world.manager)


def test_idempotency_key_returns_the_first_payment_and_refuses_other_values(world):
    bill(world, world.unit, 10000, key="b1")
    first, created = ledger.record_payment(
        world.unit, 5000, "wechat", actor=world.frontdesk, source="api", idempotency_key="k-1"
    )
    again, created_again = ledger.record_payment(
        world.unit, 5000, "wechat", actor=world.frontdesk, source="api", idempotency_key="k-1"
    )
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict):
        ledger.record_payment(
            world.unit, 5001, "wechat", actor=world.frontdesk, source="api", idempotency_key="k-1"
        )
    with pytest.raises(Conflict):
        ledger.record_payment(
            world.unit2, 5000, "wechat", actor=world.frontdesk, source="api", idempotency_key="k-1"
        )


def test_receipt_numbers_are_gap_free_per_estate(world):
    numbers = [pay(world, world.unit, 100).receipt_number for _ in range(3)]
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
    other = pay(world, world.other_unit, 100)
    assert other.receipt_number.endswith("0001")


def test_a_cause_is_billed_once(world):
    assert bill(world, world.unit, 100, key="same") is not None
    assert bill(world, world.unit, 100, key="same") is None


def test_receipt_numbers_carry_the_estate(world):
    """Two estates taking their first payment of the day give different numbers."""
    from portal.core import clock

    clock.freeze(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # the conftest unfreezes it
    mine, theirs = pay(world, world.unit, 100), pay(world, world.other_unit, 555)
    assert mine.receipt_number == f"SJ{world.estate.id:04d}202612020001"
    assert theirs.receipt_number == f"SJ{world.other.id:04d}202612020001"


def test_a_company_wide_user_reaches_every_estates_receipt_by_its_number(world, app):
    """The number names the receipt: no need to switch estates first."""
    from portal.blueprints.fees.receipts import receipt_or_404

    mine, theirs = pay(world, world.unit, 100), pay(world, world.other_unit, 555)
    with app.test_request_context():
        assert receipt_or_404(mine.receipt_number, world.admin).id == mine.id
        assert receipt_or_404(theirs.receipt_number, world.admin).id == theirs.id
        assert receipt_or_404(mine.receipt_number, world.frontdesk).id == mine.id
        with pytest.raises(NotFound):
            receipt_or_404(theirs.receipt_number, world.frontdesk)


def test_an_old_number_two_estates_share_is_read_as_the_acting_estates(world, app):
    """Numbers given before they carried the estate repeat; the header's estate decides."""
    from portal.blueprints.fees.receipts import receipt_or_404
    from portal.core import access

    mine, theirs = pay(world, world.unit, 100), pay(world, world.other_unit, 555)
    mine.receipt_number = theirs.receipt_number = "SJ202612020002"
    db.session.flush()
    with app.test_request_context():
        assert receipt_or_404("SJ202612020002", world.admin).id == mine.id
        access.choose_estate(world.admin, world.other.id)
        assert receipt_or_404("SJ202612020002", world.admin).id == theirs.id
        assert receipt_or_404("SJ202612020002", world.frontdesk).id == mine.id


def test_an_idempotency_key_is_unique_per_estate(world):
    """Estate 2's order-1 is its own payment, not a conflict with estate 1's."""
    first, created = ledger.record_payment(
        world.unit, 5000, "wechat", actor=world.frontdesk, source="api", idempotency_key="order-1"
    )
    other, other_created = ledger.record_payment(
        world.other_unit,
        7000,
        "cash",
        actor=world.other_frontdesk,
        source="api",
        idempotency_key="order-1",
    )
    assert created and other_created and other.id != first.id
    again, created_again = ledger.record_payment(
        world.other_unit,
        7000,
        "cash",
        actor=world.other_frontdesk,
        source="api",
        idempotency_key="order-1",
    )
    assert not created_again and again.id == other.id
