"""Billing runs: every billable unit once per month, by its occupancy over the month."""

from datetime import date

from sqlalchemy import select

from portal.blueprints.fees import billing, ledger
from portal.blueprints.fees.models import Bill, BillingRun
from portal.core.places import Occupancy
from portal.core.units import set_occupancy
from portal.extensions import db
from tests.factories import make_unit
from tests.fees.helpers import standard_items


def run_month(world, period):
    run = BillingRun(estate_id=world.estate.id, period=period, created_by_id=world.manager.id)
    db.session.add(run)
    db.session.flush()
    return run, billing.bill_month(run)


def bills_of(unit, period_start=None):
    stmt = select(Bill).where(Bill.unit_id == unit.id)
    if period_start:
        stmt = stmt.where(Bill.period_start == period_start)
    return db.session.scalars(stmt.order_by(Bill.id)).all()


def test_a_month_bills_each_unit_by_area_and_category_once(world):
    standard_items(world)
    parking = make_unit(world.estate, number="P-001", kind="parking", area="12.00")
    not_yet = make_unit(
        world.estate, number="9单元901", occupancy=Occupancy.not_handed_over, area="100.00"
    )
    run, summary = run_month(world, "2026-12")
    (home,) = bills_of(world.unit)
    # 89.50 m² × 2.50 = 223.75
    assert (home.gross_fen, home.amount_fen, home.discount_fen) == (22375, 22375, 0)
    assert (home.period_start, home.period_end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert home.due_on == date(2026, 12, 16)
    (vacant,) = bills_of(world.vacant)
    assert (vacant.gross_fen, vacant.amount_fen, vacant.discount_fen) == (22375, 11188, 11187)
    assert vacant.discount_rule == "vacant" and "50%" in vacant.discount_note
    (space,) = bills_of(parking)
    assert space.amount_fen == 8000
    assert bills_of(not_yet) == []
    assert summary["not_billed"] == {"not_handed_over": 1}
    assert summary["bills"] == 4 and summary["discount_fen"] == 11187
    # The other estate is not touched.
    assert bills_of(world.other_unit) == []
    # A second run of the same month bills nothing twice.
    run2, again = run_month(world, "2026-12")
    assert again["bills"] == 0 and again["already_billed"] == 4
    assert len(bills_of(world.unit)) == 1


def test_a_category_change_in_the_month_is_billed_day_by_day(world):
    standard_items(world)
    # Vacant until 16 Dec, occupied from then on: 15 days at 50 %, 16 days in full.
    set_occupancy(
        world.vacant, Occupancy.occupied_unrenovated, date(2026, 12, 16), actor=world.manager
    )
    db.session.flush()
    run, summary = run_month(world, "2026-12")
    (bill,) = bills_of(world.vacant)
    monthly = 89_50 * 250  # hundredths of m² × fen
    full = round(monthly / 100)
    first = round(monthly * 15 / (100 * 31))
    second = round(monthly * 16 / (100 * 31))
    assert bill.gross_fen == first + second
    assert bill.amount_fen == round(first / 2) + second
    assert "15 天按 50%" in bill.discount_note
    assert bill.occupancy == "occupied_unrenovated"
    assert summary["prorated_units"] == 1
    assert bill.gross_fen in (full - 1, full, full + 1)


def test_paid_services_from_repairs_become_bills_once(world):
    from portal.blueprints.repairs.services import submit_repair
    from portal.core import workflow

    standard_items(world)
    repair = submit_repair(
        world.resident, category="plumbing_electrical", location="unit", description="疏通下水道"
    )
    workflow.apply(
        repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id}
    )
    workflow.apply(repair, "start", actor=world.technician)
    workflow.apply(
        repair, "complete", actor=world.technician, data={"note": "已疏通", "charge": "80.00"}
    )
    db.session.flush()
    run, summary = run_month(world, "2026-12")
    service = [b for b in bills_of(world.unit) if b.source == "repair"]
    assert [b.amount_fen for b in service] == [8000]
    assert summary["paid_services"]["amount_fen"] == 8000
    run2, again = run_month(world, "2027-01")
    assert [b for b in bills_of(world.unit) if b.source == "repair"] == service


def test_credit_pays_new_bills_of_a_run(world):
    standard_items(world)
    ledger.record_payment(world.unit, 50000, "cash", actor=world.frontdesk, source="counter")
    run_month(world, "2026-12")
    b = ledger.balance(world.unit.id)
    assert (b.owed_fen, b.credit_fen) == (0, 50000 - 22375)


def test_period_is_checked(world):
    import pytest

    from portal.core.errors import ServiceError

    for bad in ("2026-13", "2026-1", "december", "", "1999-12"):
        with pytest.raises(ServiceError):
            billing.parse_period(bad)
