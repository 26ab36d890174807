"""Property: a billing run's SQL pricing and the Python pricing (`month_charge`) agree.

Random units (areas, categories, occupancy changes within the month), random rates per
category (some missing or zero), a random vacant share and vacant categories: every bill
the run makes — units whose category held all month are priced by SQL, the others day by
day in Python — equals `month_charge` over the unit's stretches of the month; a unit
`month_charge` prices at nothing gets no bill.
"""

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.blueprints.fees import billing, rules
from portal.blueprints.fees.models import Bill, BillingRun
from portal.blueprints.fees.pricing import month_charge, segments
from portal.core import settings as portal_settings
from portal.core.places import Occupancy, Unit, UnitOccupancy
from portal.core.units import set_occupancy
from portal.extensions import db
from tests.factories import make_unit

START, END = date(2026, 12, 1), date(2026, 12, 31)
CATEGORIES = [o.value for o in Occupancy]

category = st.sampled_from(CATEGORIES)
unit_strategy = st.fixed_dictionaries(
    {
        "area": st.integers(min_value=1, max_value=60_000),  # hundredths of m²
        "since": st.sampled_from([date(2025, 3, 1), date(2026, 11, 30), START]),
        "category": category,
        # (day of December, category) changes; most units keep theirs all month
        "changes": st.one_of(
            st.just([]),
            st.lists(st.tuples(st.integers(2, 31), category), min_size=1, max_size=3),
        ),
    }
)
scenario = st.fixed_dictionaries(
    {
        "basis": st.sampled_from(["per_m2_month", "fixed_month"]),
        "base_rate": st.integers(min_value=0, max_value=2_000),
        "rates": st.dictionaries(category, st.integers(min_value=0, max_value=2_000), max_size=5),
        "pay_percent": st.integers(min_value=0, max_value=100),
        "vacant": st.sets(category, max_size=3),
        "units": st.lists(unit_strategy, min_size=1, max_size=6),
    }
)


def make_scenario(world, s):
    """The item with its rates, the settings and the units of one example."""
    manager = world.manager
    item = rules.create_item(
        world.estate.id,
        code="prop",
        name="物业费",
        basis=s["basis"],
        unit_kind=None,
        rate_fen=s["base_rate"],
        effective_on=date(2024, 1, 1),
        actor=manager,
    )
    for occupancy, fen in s["rates"].items():
        rules.add_rate(
            item, rate_fen=fen, effective_on=date(2025, 1, 1), occupancy=occupancy, actor=manager
        )
    portal_settings.set_value(
        rules.VACANT_PAY_PERCENT.key, s["pay_percent"], actor=manager, estate_id=world.estate.id
    )
    portal_settings.set_value(
        rules.VACANT_OCCUPANCIES.key,
        ",".join(sorted(s["vacant"])),
        actor=manager,
        estate_id=world.estate.id,
    )
    for n, spec in enumerate(s["units"]):
        unit = make_unit(
            world.estate,
            number=f"P{n}",
            area=f"{spec['area'] // 100}.{spec['area'] % 100:02d}",
            occupancy=spec["category"],
            since=spec["since"],
        )
        for day, occupancy in sorted(spec["changes"]):
            set_occupancy(unit, occupancy, date(2026, 12, day), actor=manager)
    db.session.flush()
    return item


def expected_charges(world, item, s):
    """unit id → (gross, amount) by month_charge, for every unit of the estate."""
    rates = rules.Rates([item.id], START)
    vacant = rules.vacant_occupancies(world.estate.id)
    histories: dict[int, list] = {}
    for unit_id, occupancy, since in db.session.execute(
        select(UnitOccupancy.unit_id, UnitOccupancy.occupancy, UnitOccupancy.effective_on)
        .join(Unit, Unit.id == UnitOccupancy.unit_id)
        .where(Unit.estate_id == world.estate.id, UnitOccupancy.effective_on <= END)
        .order_by(UnitOccupancy.unit_id, UnitOccupancy.effective_on, UnitOccupancy.id)
    ):
        entries = histories.setdefault(unit_id, [])
        if entries and entries[-1][1] == since:
            entries[-1] = (occupancy, since)
        else:
            entries.append((occupancy, since))
    areas = dict(
        db.session.execute(
            select(Unit.id, Unit.area_m2).where(Unit.estate_id == world.estate.id)
        ).all()
    )
    expected = {}
    for unit_id, history in histories.items():
        gross, amount, _days = month_charge(
            item,
            int(areas[unit_id] * 100),
            lambda occupancy: rates.rate(item.id, occupancy),
            s["pay_percent"],
            vacant,
            segments(history, START, END),
            31,
        )
        expected[unit_id] = (gross, amount)
    return expected


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenario)
def test_the_runs_sql_pricing_equals_month_charge(world, s):
    savepoint = db.session.begin_nested()
    try:
        item = make_scenario(world, s)
        run = BillingRun(
            estate_id=world.estate.id, period="2026-12", created_by_id=world.manager.id
        )
        db.session.add(run)
        db.session.flush()
        billing.bill_month(run)
        bills = {
            b.unit_id: b
            for b in db.session.scalars(select(Bill).where(Bill.fee_item_id == item.id))
        }
        for unit_id, (gross, amount) in expected_charges(world, item, s).items():
            if gross <= 0:
                assert unit_id not in bills
                continue
            bill = bills[unit_id]
            assert (bill.gross_fen, bill.amount_fen) == (gross, amount), (unit_id, s)
            assert bill.discount_fen == gross - amount
    finally:
        savepoint.rollback()


def test_the_sql_path_is_exercised(world):
    """A unit whose category held all month is priced by the INSERT … SELECT, not in
    Python: the property above compares the two pricings, not one with itself."""
    item = make_scenario(
        world,
        {
            "basis": "per_m2_month",
            "base_rate": 333,
            "rates": {"vacant": 250},
            "pay_percent": 37,
            "vacant": {"vacant"},
            "units": [
                {"area": 12_345, "since": date(2025, 3, 1), "category": "vacant", "changes": []}
            ],
        },
    )
    run = BillingRun(estate_id=world.estate.id, period="2026-12", created_by_id=world.manager.id)
    db.session.add(run)
    db.session.flush()
    summary = billing.bill_month(run)
    unit = db.session.scalar(select(Unit).where(Unit.number == "P0"))
    bill = db.session.scalar(
        select(Bill).where(Bill.unit_id == unit.id, Bill.fee_item_id == item.id)
    )
    # 123.45 m² × 2.50 = 308.625 → 308.63; 37 % of it = 114.1931 → 114.19
    assert (bill.gross_fen, bill.amount_fen) == (30863, 11419)
    assert summary["prorated_units"] == 0  # nothing went through the Python path
