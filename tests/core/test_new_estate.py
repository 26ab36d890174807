"""A new estate set up from the command line (issue 14, point 6): the standard fee items
come with the estate, and the README's path works end to end with docs/examples/*.csv."""

import importlib.util
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill, FeeItem, FeeRate, Payment
from portal.blueprints.fees.rules import STANDARD_ITEMS, STANDARD_RATES_FROM
from portal.core import clock
from portal.core.imports import run_import
from portal.core.people import Residency, User
from portal.core.places import Estate, Unit
from portal.extensions import db
from tests.factories import make_estate

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
STANDARD_CODES = {code for code, *_ in STANDARD_ITEMS}
NEW = "阳光花园"

UNITS = """zone,building,unit,kind,area_m2,occupancy
A区,1栋,1单元101,residence,100.00,occupied_renovated
A区,商业街,S-01,shop,50.00,occupied_renovated
"""
BILLS = """zone,building,unit,fee_item,period_start,period_end,amount,due_on
A区,1栋,1单元101,物业管理费,2026-10-01,2026-10-31,250.00,2026-10-15
A区,商业街,S-01,物业管理费,2026-10-01,2026-10-31,250.00,2026-10-15
A区,1栋,1单元101,parking,2026-10-01,2026-10-31,80.00,2026-10-15
A区,1栋,1单元101,装修垃圾清运费,2026-09-01,2026-09-01,300.00,2026-09-10
"""


def codes_of(estate_id):
    return set(db.session.scalars(select(FeeItem.code).where(FeeItem.estate_id == estate_id)))


def estate_named(name):
    return db.session.scalar(select(Estate).where(Estate.name == name))


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_estate_has_the_standard_items_from_the_moment_it_exists(db_session):
    estate = make_estate()  # a plain insert of the row: no page visited, nothing called
    assert codes_of(estate.id) == STANDARD_CODES
    rates = db.session.scalars(
        select(FeeRate).join(FeeItem).where(FeeItem.estate_id == estate.id)
    ).all()
    assert len(rates) == len(STANDARD_ITEMS)
    assert {r.effective_on for r in rates} == {STANDARD_RATES_FROM}
    assert {r.occupancy for r in rates} == {None}
    by_code = {r.item.code: r.rate_fen for r in rates}
    assert by_code["property_residence"] == 250 and by_code["parking"] == 8000


def test_a_units_import_creates_the_estate_with_its_standard_items(world):
    report = run_import("units", "units.csv", UNITS.encode(), estate_name=NEW)
    assert report.ok and report.created == 2
    estate = estate_named(NEW)
    assert codes_of(estate.id) == STANDARD_CODES
    assert codes_of(world.estate.id) == STANDARD_CODES  # each estate its own, once


def test_a_bills_import_names_items_by_code_and_name_on_a_fresh_estate(world):
    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    assert run_import("units", "units.csv", UNITS.encode(), estate_name=NEW).ok
    report = run_import("bills", "bills.csv", BILLS.encode(), estate_name=NEW)
    assert report.ok, [str(e) for e in report.errors]  # not "There is no fee item '物业管理费'"
    assert report.created == 4
    estate = estate_named(NEW)
    billed = {
        (u, code)
        for u, code in db.session.execute(
            select(Unit.number, FeeItem.code)
            .join(Bill, Bill.unit_id == Unit.id)
            .join(FeeItem, FeeItem.id == Bill.fee_item_id)
            .where(Bill.estate_id == estate.id)
        )
    }
    # 物业管理费 is the property fee of the unit's kind; 装修垃圾清运费 is an exact name.
    assert billed == {
        ("1单元101", "property_residence"),
        ("S-01", "property_shop"),
        ("1单元101", "parking"),
        ("1单元101", "debris"),
    }


def test_an_unknown_item_is_still_refused_with_its_line(world):
    assert run_import("units", "units.csv", UNITS.encode(), estate_name=NEW).ok
    bad = BILLS.replace("parking", "水费")
    report = run_import("bills", "bills.csv", bad.encode(), estate_name=NEW)
    assert [(e.line, "水费" in e.message) for e in report.errors] == [(4, True)]
    assert count(Bill) == 0


def test_the_readme_path_from_the_command_line_with_the_example_files(app, world, tmp_path):
    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["users", "create", "chief", "--role", "admin", "--password", "lantern-harbour-42"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["users", "create", "desk1", "--role", "frontdesk", "--estate", "测试花园"],
        input="lantern-harbour-42\nlantern-harbour-42\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output  # asked for, as it was not given
    staff = {u.username: u for u in db.session.scalars(select(User)) if u.username}
    assert staff["chief"].is_staff and staff["desk1"].is_staff

    expected = {
        "units": "5 created",
        "residents": "6 rows",
        "fee_items": "2 created, 3 updated",
        "bills": "6 created",
        "payments": "3 created",
    }
    for kind, said in expected.items():
        path = EXAMPLES / f"{kind}.csv"
        result = runner.invoke(args=["import", kind, str(path), "--estate", NEW])
        assert result.exit_code == 0, (kind, result.output)
        assert said in result.output, (kind, result.output)

    estate = estate_named(NEW)
    units = {
        u.number: u for u in db.session.scalars(select(Unit).where(Unit.estate_id == estate.id))
    }
    assert len(units) == 5
    residencies = count(Residency, Residency.unit_id.in_([u.id for u in units.values()]))
    assert residencies == 6
    people = db.session.scalars(
        select(func.count(func.distinct(Residency.user_id))).where(
            Residency.unit_id.in_([u.id for u in units.values()])
        )
    ).one()
    assert people == 5  # 张伟 (one phone) owns a flat and a parking space
    assert codes_of(estate.id) == STANDARD_CODES | {"elevator", "water_pump"}
    assert count(Bill, Bill.estate_id == estate.id) == 6
    assert count(Payment, Payment.estate_id == estate.id) == 3
    # The rate the file dated 2026-01-01 replaces the standard one from that date.
    residence = db.session.scalar(
        select(FeeItem).where(FeeItem.estate_id == estate.id, FeeItem.code == "property_residence")
    )
    assert [(r.effective_on, r.rate_fen) for r in residence.rates] == [
        (date(2026, 1, 1), 280),
        (STANDARD_RATES_FROM, 250),
    ]
    assert ledger.balance(units["1单元101"].id).owed_fen == 0  # 250.60 + 35.80 paid
    assert ledger.balance(units["S-01"].id).owed_fen == 12500  # 325.00 less 200.00
    assert ledger.balance(units["P-018"].id).credit_fen == 20000  # 300.00 less 100.00
    assert ledger.balance(units["2单元201"].id).owed_fen == 30000

    for kind in expected:  # the same files again add nothing
        path = EXAMPLES / f"{kind}.csv"
        result = runner.invoke(args=["import", kind, str(path), "--estate", NEW])
        assert result.exit_code == 0, (kind, result.output)
        assert "0 created" in result.output, (kind, result.output)
    assert count(Bill, Bill.estate_id == estate.id) == 6
    assert count(Payment, Payment.estate_id == estate.id) == 3


MIGRATION = next(
    (Path(__file__).resolve().parents[2] / "migrations" / "versions").glob(
        "*_5e2c8a4f0d17_standard_fee_items.py"
    )
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_gives_older_bare_estates_the_standard_items(backend, tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from portal.core.places import Company
    from tests.core.test_schema import fresh_app

    spec = importlib.util.spec_from_file_location("standard_fee_items", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with fresh_app(backend, tmp_path):
        upgrade(revision=migration.down_revision)
        # Rows written as an older portal wrote them: no listener, no items.
        company = db.session.execute(
            insert(Company.__table__).values(name="物业公司")
        ).inserted_primary_key[0]
        bare, kept = (
            db.session.execute(
                insert(Estate.__table__).values(name=name, company_id=company)
            ).inserted_primary_key[0]
            for name in ("旧花园", "有项目的花园")
        )
        db.session.execute(
            insert(FeeItem.__table__).values(
                estate_id=kept, code="own", name="自定项目", basis="one_off"
            )
        )
        db.session.commit()
        upgrade()
        assert codes_of(bare) == STANDARD_CODES
        assert codes_of(kept) == {"own"}  # an estate with items keeps exactly those
        rates = db.session.execute(
            select(FeeItem.code, FeeRate.effective_on, FeeRate.rate_fen)
            .join(FeeRate, FeeRate.fee_item_id == FeeItem.id)
            .where(FeeItem.estate_id == bare)
        ).all()
        assert {(c, d, r) for c, d, r in rates} == {
            (code, STANDARD_RATES_FROM, rate) for code, _n, _b, _k, rate in STANDARD_ITEMS
        }
