"""Billing follows the dated occupancy staff record (contracts §7): a unit that turns vacant
on the 16th is billed half a month at the vacant share, the rest in full, in exact fen."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

from portal.blueprints.fees.pricing import month_charge
from portal.core import clock, residents
from portal.core.places import Occupancy
from portal.extensions import db
from tests.factories import make_unit
from tests.fees.helpers import standard_items
from tests.fees.test_billing import bills_of, run_month


def test_a_unit_turning_vacant_on_the_16th_pays_half_a_month_at_the_vacant_share(world):
    standard_items(world)  # 2.50 per m² a month; vacant units pay 50 %
    unit = make_unit(world.estate, number="5单元501", area="100.00")
    residents.change_occupancy(unit, "vacant", date(2026, 11, 16), actor=world.frontdesk)
    db.session.flush()
    run_month(world, "2026-11")  # 30 days: 1–15 occupied, 16–30 vacant
    (bill,) = bills_of(unit)
    # 100 m² × 2.50 = 250.00 a month: 125.00 in full + 125.00 at 50 % = 187.50.
    assert (bill.gross_fen, bill.amount_fen, bill.discount_fen) == (25000, 18750, 6250)
    assert bill.discount_rule == "vacant"
    assert bill.discount_note == "未入住 15 天按 50% 收取"
    assert bill.occupancy == "vacant"


def test_the_halves_add_up_to_the_month_in_fen(world):
    """89.50 m² × 2.50 = 223.75 a month: half is 111.875. Each half rounded up on its own
    would bill 223.76; the stretches add up to the month (111.88 + 111.87)."""
    standard_items(world)
    residents.change_occupancy(world.unit, "vacant", date(2026, 11, 16), actor=world.manager)
    db.session.flush()
    run_month(world, "2026-11")
    (bill,) = bills_of(world.unit)
    # 111.88 in full + 50 % of 111.87 (55.935 → 55.94) = 167.82
    assert (bill.gross_fen, bill.amount_fen, bill.discount_fen) == (22375, 16782, 5593)


def test_a_31_day_month_and_a_return_to_occupied(world):
    standard_items(world)
    unit = make_unit(world.estate, number="5单元502", area="100.00")
    clock.freeze(datetime(2026, 12, 20, 3, 0, tzinfo=UTC))
    residents.change_occupancy(unit, "vacant", date(2026, 12, 16), actor=world.frontdesk)
    residents.change_occupancy(
        unit, "occupied_unrenovated", date(2026, 12, 20), actor=world.frontdesk
    )
    db.session.flush()
    run_month(world, "2026-12")
    (bill,) = bills_of(unit)
    # 250.00 × 15/31 = 120.97 in full; days 16–19: 250 × 19/31 = 153.23 − 120.97 = 32.26 at
    # 50 % = 16.13; days 20–31: 250.00 − 153.23 = 96.77 in full.
    assert bill.gross_fen == 25000
    assert bill.amount_fen == 12097 + 1613 + 9677
    assert bill.discount_note == "未入住 4 天按 50% 收取"
    # The next month is billed whole in the category the unit is in.
    run_month(world, "2027-01")
    assert [b.amount_fen for b in bills_of(unit, date(2027, 1, 1))] == [25000]


def test_stretches_of_one_price_always_add_up_to_the_month():
    item = SimpleNamespace(basis="per_m2_month")
    for area in (8950, 10000, 12345, 333):
        whole = month_charge(item, area, lambda o: 250, 100, set(), [("a", 31)], 31)[0]
        for day in range(2, 31):
            parts = [("a", day - 1), ("b", 31 - day + 1)]
            gross = month_charge(item, area, lambda o: 250, 100, set(), parts, 31)[0]
            assert gross == whole, (area, day)


def test_the_occupancy_page_history_matches_what_billing_reads(world):
    residents.change_occupancy(
        world.unit, Occupancy.vacant, date(2026, 11, 16), actor=world.manager
    )
    db.session.flush()
    db.session.expire(world.unit)
    history = [(h.effective_on, h.occupancy) for h in world.unit.occupancy_history]
    assert history == [(date(2026, 11, 16), "vacant"), (date(2024, 1, 1), "occupied_renovated")]
    assert (world.unit.occupancy, world.unit.occupancy_since) == ("vacant", date(2026, 11, 16))
