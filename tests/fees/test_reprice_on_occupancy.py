"""A late occupancy change re-prices the months billing runs already billed (issue 14
point 4): the run's bill is withdrawn and billed again at the new price, what was paid on
it becomes credit and pays the new bill, once, in the change's transaction."""

from datetime import date

from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Allocation, Bill, BillReversal
from portal.core import residents
from portal.core.audit import AuditEntry
from portal.extensions import db
from tests.factories import make_unit
from tests.fees.helpers import pay, standard_items
from tests.fees.test_billing import bills_of, run_month

NOVEMBER = date(2026, 11, 1)


def withdrawn(bill):
    return db.session.scalar(select(BillReversal.id).where(BillReversal.bill_id == bill.id))


def paid(bill):
    return db.session.scalar(
        select(func.coalesce(func.sum(Allocation.amount_fen), 0)).where(
            Allocation.bill_id == bill.id
        )
    )


def live(unit):
    return [b for b in bills_of(unit, NOVEMBER) if not withdrawn(b)]


def billed_november(world, **unit):
    """A 100 m² unit (occupied unless told) billed for November by a run on 23 November
    (the frozen clock's day)."""
    items = standard_items(world)  # 2.50 per m² a month; vacant units pay 50 %
    home = make_unit(world.estate, number="5单元501", area="100.00", **unit)
    run_month(world, "2026-11")
    return home, items


def counts():
    return tuple(db.session.scalar(select(func.count(model.id))) for model in (Bill, BillReversal))


def test_turning_vacant_after_the_run_re_prices_the_month(world):
    unit, _ = billed_november(world)
    (old,) = bills_of(unit, NOVEMBER)
    assert old.amount_fen == 25000
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    first, new = bills_of(unit, NOVEMBER)
    assert first.id == old.id and withdrawn(first)
    # The same as a run after the change bills (tests/fees/test_dated_occupancy.py).
    assert (new.gross_fen, new.amount_fen, new.discount_fen) == (25000, 18750, 6250)
    assert new.discount_note == "未入住 15 天按 50% 收取" and new.occupancy == "vacant"
    assert (new.period_start, new.period_end, new.due_on) == (
        old.period_start,
        old.period_end,
        old.due_on,
    )
    assert new.source == "run" and new.run_id == old.run_id
    assert ledger.balance(unit.id).owed_fen == 18750
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_id == world.frontdesk.id)
    ).all()
    assert {"unit.occupancy", "bill.reverse"} <= set(actions)
    assert new.created_by_id == world.frontdesk.id and str(old.id) in new.note
    # A second run of November bills the unit nothing more.
    run_month(world, "2026-11")
    assert len(live(unit)) == 1


def test_a_paid_bill_leaves_credit_for_the_difference(world):
    unit, _ = billed_november(world)
    pay(world, unit, 25000)
    assert ledger.balance(unit.id).owed_fen == 0
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    (new,) = live(unit)
    assert paid(new) == 18750
    assert ledger.balance(unit.id) == ledger.Balance(owed_fen=0, credit_fen=6250)


def test_a_paid_vacant_month_turning_occupied_owes_the_difference(world):
    from portal.core.places import Occupancy

    unit, _ = billed_november(world, occupancy=Occupancy.vacant)
    pay(world, unit, 12500)  # a vacant month: 250.00 at 50 %
    residents.change_occupancy(
        unit, "occupied_unrenovated", date(2026, 11, 16), actor=world.frontdesk
    )
    db.session.flush()
    (new,) = live(unit)
    assert new.amount_fen == 6250 + 12500
    assert ledger.balance(unit.id) == ledger.Balance(owed_fen=6250, credit_fen=0)


def test_the_same_change_twice_changes_nothing_more(world):
    unit, _ = billed_november(world)
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    before = counts()
    assert not residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    assert counts() == before
    # Pricing again from the same history finds every amount as it is.
    from portal.blueprints.fees.repricing import reprice

    assert reprice(unit, date(2026, 11, 16), world.frontdesk) == []
    assert counts() == before


def test_a_later_correction_re_prices_the_re_issued_bill(world):
    unit, _ = billed_november(world)
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    residents.change_occupancy(unit, "renovating", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    (new,) = live(unit)
    # Renovating pays in full: back to the month's whole amount, under a key of its own.
    assert new.amount_fen == 25000
    assert new.source_key.endswith("#2")


def test_bills_not_from_runs_are_left_alone(world):
    items = standard_items(world)
    unit = make_unit(world.estate, number="5单元501", area="100.00")
    imported = ledger.issue_bill(
        unit,
        items["property_residence"],
        amount_fen=25000,
        due_on=date(2026, 11, 16),
        source="import",
        source_key="import:2026-11",
        period_start=NOVEMBER,
        period_end=date(2026, 11, 30),
    )
    before = counts()
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    assert counts() == before
    assert not withdrawn(imported) and imported.amount_fen == 25000


def test_a_change_before_the_month_re_prices_it_whole(world):
    unit, _ = billed_november(world, since=date(2024, 1, 1))
    # Recorded now, from 1 November: the whole month at the vacant share.
    residents.change_occupancy(unit, "vacant", NOVEMBER, actor=world.frontdesk)
    db.session.flush()
    (new,) = live(unit)
    assert (new.gross_fen, new.amount_fen) == (25000, 12500)


def test_through_the_api_one_request_re_prices(client, world, api_token):
    unit, _ = billed_november(world)
    db.session.commit()
    response = client.post(
        f"/api/v1/units/{unit.id}/occupancy",
        json={"occupancy": "vacant", "from": "2026-11-16"},
        headers=api_token("frontdesk"),
    )
    assert response.status_code == 200, response.get_json()
    (new,) = live(unit)
    assert new.amount_fen == 18750
    assert ledger.balance(unit.id).owed_fen == 18750
