"""The `fee_items` import (contracts §4): items and dated rates, idempotent, whole-file."""

from datetime import date

from sqlalchemy import func, select

from portal.blueprints.fees.models import FeeItem, FeeRate
from portal.core.audit import AuditEntry
from portal.core.imports import run_import
from portal.extensions import db

ESTATE = "测试花园"
HEADER = "code,name,basis,unit_kind,rate,effective_on\n"
GOOD = (
    HEADER
    + "elevator,电梯运行费,per_m2_month,residence,0.35,2024-01-01\n"
    + "elevator,电梯运行费,per_m2_month,residence,0.40,2026-01-01\n"
    + "key_card,门禁卡工本费,one_off,,20.00,2025-06-01\n"
    + "property_residence,物业管理费（住宅）,per_m2_month,residence,2.80,2026-01-01\n"
    + "parking,车位管理费,fixed_month,parking,80.00,2000-01-01\n"
)


def load(text, **kw):
    return run_import("fee_items", "fee_items.csv", text.encode(), estate_name=ESTATE, **kw)


def rates_of(estate, code):
    item = db.session.scalar(
        select(FeeItem).where(FeeItem.estate_id == estate.id, FeeItem.code == code)
    )
    return [
        (r.effective_on, r.rate_fen)
        for r in db.session.scalars(
            select(FeeRate).where(FeeRate.fee_item_id == item.id).order_by(FeeRate.effective_on)
        )
    ]


def rows():
    return (
        db.session.scalar(select(func.count(FeeItem.id))),
        db.session.scalar(select(func.count(FeeRate.id))),
    )


def test_items_and_dated_rates_are_added_once(world):
    report = load(GOOD)
    assert report.ok, [str(e) for e in report.errors]
    # elevator and key_card are new; elevator's later rate and property's 2026 rate are
    # added; parking's row is the standard rate it has already.
    assert (report.created, report.updated, report.unchanged) == (2, 2, 1)
    assert rates_of(world.estate, "elevator") == [(date(2024, 1, 1), 35), (date(2026, 1, 1), 40)]
    assert rates_of(world.estate, "key_card") == [(date(2025, 6, 1), 2000)]
    assert rates_of(world.estate, "property_residence") == [
        (date(2000, 1, 1), 250),
        (date(2026, 1, 1), 280),
    ]
    card = db.session.scalar(select(FeeItem).where(FeeItem.code == "key_card"))
    assert (card.name, card.basis, card.unit_kind) == ("门禁卡工本费", "one_off", None)
    assert db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "fee_item.create")
    )
    before = rows()
    again = load(GOOD)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert rows() == before
    # A known code with a new date adds a dated rate, and nothing else.
    later = load(HEADER + "elevator,电梯运行费,per_m2_month,residence,0.45,2027-01-01\n")
    assert later.ok and (later.created, later.updated) == (0, 1)
    assert rows() == (before[0], before[1] + 1)
    elevators = db.session.scalars(select(FeeItem).where(FeeItem.code == "elevator")).all()
    assert {i.estate_id for i in elevators} == {world.estate.id}  # only the named estate


def test_a_bad_file_is_refused_whole_with_every_bad_line(world):
    before = rows()
    bad = (
        HEADER
        + "newfee,新费用,per_m2_month,residence,1.00,2026-01-01\n"  # 2: good
        + "lift,电梯费,per_square_metre,residence,0.40,2026-01-01\n"  # 3: unknown basis
        + "lift2,电梯费,per_m2_month,residence,abc,2026-01-01\n"  # 4: bad rate
        + "lift3,电梯费,per_m2_month,residence,1.234,2026-01-01\n"  # 5: three decimals
        + "lift4,电梯费,per_m2_month,residence,-1.00,2026-01-01\n"  # 6: negative
        + "lift5,电梯费,per_m2_month,residence,1.00,2026-13-01\n"  # 7: bad date
        + "newfee,新费用,fixed_month,residence,1.00,2027-01-01\n"  # 8: conflicts with line 2
        + "newfee,新费用,per_m2_month,residence,1.00,2026-01-01\n"  # 9: repeats line 2
        + "lift6,电梯费,per_m2_month,villa,1.00,2026-01-01\n"  # 10: unknown unit kind
        + "lift7,电梯费,per_m2_month,,1.00,2026-01-01,extra\n"  # 11: extra cell
        + ",无代码,one_off,,1.00,2026-01-01\n"  # 12: no code
    )
    report = load(bad)
    assert not report.ok
    lines = [e.line for e in report.errors]
    assert lines == [3, 4, 5, 6, 7, 10, 11, 12]  # every bad row, each with its line
    messages = {e.line: e.message for e in report.errors}
    assert "per_square_metre" in messages[3]
    assert "abc" in messages[4]
    assert "2026-13-01" in messages[7]
    assert rows() == before  # nothing at all, not even line 2's item
    # The rows are fine once the parse errors are gone: then the conflicts show.
    conflicts = load(
        HEADER
        + "newfee,新费用,per_m2_month,residence,1.00,2026-01-01\n"
        + "newfee,新费用,fixed_month,residence,1.00,2027-01-01\n"
        + "newfee,新费用,per_m2_month,residence,1.00,2026-01-01\n"
        + "parking,车位费,fixed_month,parking,80.00,2026-01-01\n"
        + "property_residence,物业管理费（住宅）,per_m2_month,residence,3.00,2000-01-01\n"
    )
    messages = {e.line: e.message for e in conflicts.errors}
    assert sorted(messages) == [3, 4, 5, 6]
    assert "line 2" in messages[3] and "line 2" in messages[4]
    assert "车位管理费" in messages[5]  # the item's real name, to copy
    assert "2.50" in messages[6]  # rates are never changed in place
    assert rows() == before


def test_the_header_must_be_the_contracts(world):
    report = load(
        "code,name,basis,unit_kind,rate,effective_on,note\nx,某费用,one_off,,1.00,2026-01-01,备注\n"
    )
    assert [(e.line, "note" in e.message) for e in report.errors] == [(1, True)]
    report = load("code,name,basis,rate,effective_on\nx,某费用,one_off,1.00,2026-01-01\n")
    assert [(e.line, "unit_kind" in e.message) for e in report.errors] == [(1, True)]


def test_the_command_line_imports_fee_items(app, world, tmp_path):
    path = tmp_path / "fee_items.csv"
    path.write_text(GOOD, encoding="utf-8-sig")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "fee_items", str(path), "--estate", ESTATE])
    assert result.exit_code == 0, result.output
    assert "2 created, 2 updated, 1 unchanged" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("0.40", "zero"), encoding="utf-8")
    result = runner.invoke(args=["import", "fee_items", str(bad), "--estate", ESTATE])
    assert result.exit_code == 1
    assert f"{bad}:3:" in result.output and "nothing was imported" in result.output


def test_staff_import_fee_items_only_into_their_estates(world):
    """The import page passes the manager as the actor: another estate is not theirs."""
    mine = run_import("fee_items", "f.csv", GOOD.encode(), estate_name=ESTATE, actor=world.manager)
    assert mine.ok and mine.created == 2
    other = run_import(
        "fee_items",
        "f.csv",
        b"estate," + HEADER.encode() + "别的花园,x,某费用,one_off,,1.00,2026-01-01\n".encode(),
        actor=world.manager,
    )
    assert [(e.line, "别的花园" in e.message) for e in other.errors] == [(2, True)]
