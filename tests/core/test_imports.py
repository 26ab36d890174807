"""Imports of units and residents: whole-file validation, one transaction, idempotence."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.core.imports import run_import
from portal.core.people import Residency, User
from portal.core.places import Estate, Unit, UnitOccupancy
from portal.extensions import db

UNITS = """zone,building,unit,kind,area_m2,occupancy
A区,5栋,1单元101,residence,89.50,occupied_renovated
A区,5栋,1单元102,residence,98.36,未入住
商业区,商业街,S01,shop,45.00,unsold_leased
"""

RESIDENTS = """zone,building,unit,name,phone,relation
A区,5栋,1单元101,张三,138-0000-9001,owner
A区,5栋,1单元101,李四,13800009002,家属
A区,5栋,1单元102,王五,13800009003,tenant
"""


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_units_then_residents_then_again_adds_nothing(world):
    report = run_import("units", "u.csv", UNITS.encode(), estate_name="测试花园")
    assert report.ok and (report.created, report.updated) == (3, 0)
    db.session.commit()
    report = run_import("residents", "r.csv", RESIDENTS.encode(), estate_name="测试花园")
    assert report.ok and report.created == 3
    db.session.commit()
    before = (count(Unit), count(UnitOccupancy), count(User), count(Residency))
    again_units = run_import("units", "u.csv", UNITS.encode(), estate_name="测试花园")
    again_residents = run_import("residents", "r.csv", RESIDENTS.encode(), estate_name="测试花园")
    db.session.commit()
    assert again_units.unchanged == 3 and again_residents.unchanged == 3
    assert (count(Unit), count(UnitOccupancy), count(User), count(Residency)) == before
    unit = db.session.scalar(select(Unit).where(Unit.number == "1单元102"))
    assert unit.occupancy == "vacant"  # the Chinese term was accepted
    zhang = db.session.scalar(select(User).where(User.name == "张三"))
    assert zhang.phone == "13800009001" and zhang.password_hash is None


def test_bom_and_xlsx_are_read_alike(world):
    report = run_import("units", "u.csv", ("\ufeff" + UNITS).encode(), estate_name="测试花园")
    assert report.ok and report.created == 3
    db.session.rollback()
    book = Workbook()
    sheet = book.active
    for line in UNITS.strip().splitlines():
        cells = line.split(",")
        if cells[4][0].isdigit():
            cells[4] = float(cells[4])  # Excel keeps numbers as numbers
        sheet.append(cells)
    data = io.BytesIO()
    book.save(data)
    report = run_import("units", "u.xlsx", data.getvalue(), estate_name="测试花园")
    assert report.ok and report.created == 3, report.errors
    assert db.session.scalar(
        select(Unit.area_m2).where(Unit.number == "1单元101")
    ) == pytest.approx(89.5)


def test_every_bad_row_is_named_and_nothing_is_written(world):
    bad = """zone,building,unit,kind,area_m2,occupancy
A区,5栋,101,residence,89.505,occupied_renovated
A区,5栋,102,castle,80,occupied_renovated
A区,5栋,103,residence,-3,occupied_renovated
A区,5栋,104,residence,80,sold
,5栋,105,residence,80,vacant
A区,5栋,106,residence,80,vacant
A区,5栋,106,residence,81,vacant
A区,5栋,107,residence,eighty,vacant,extra
"""
    before = count(Unit)
    report = run_import("units", "bad.csv", bad.encode(), estate_name="测试花园")
    assert not report.ok
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {2, 3, 4, 5, 6, 9}, lines
    assert "two decimals" in lines[2] and "castle" in lines[3] and "zero" in lines[4]
    assert "sold" in lines[5] and "zone" in lines[6] and "more cells" in lines[9]
    # Duplicates are found once the rows themselves are well-formed.
    dup = run_import(
        "units",
        "dup.csv",
        "\n".join(bad.splitlines()[:1] + bad.splitlines()[6:8]).encode(),
        estate_name="测试花园",
    )
    assert [(e.line, "repeats line 2" in e.message) for e in dup.errors] == [(3, True)]
    assert count(Unit) == before


def test_header_problems(world):
    report = run_import(
        "units",
        "h.csv",
        b"zone,building,unit,kind,area,occupancy,colour\nA,1,1,residence,1,vacant,red\n",
        estate_name="测试花园",
    )
    messages = [e.message for e in report.errors]
    assert all(e.line == 1 for e in report.errors)
    assert any("area_m2" in m and "missing" in m for m in messages)
    assert any("colour" in m for m in messages) and any("'area'" in m for m in messages)


def test_unreadable_files(world):
    from portal.core.errors import ServiceError

    with pytest.raises(ServiceError, match="UTF-8"):
        run_import("units", "u.csv", "zone,building\n".encode("gbk") + "中文".encode("gbk"))
    with pytest.raises(ServiceError, match="xlsx"):
        run_import("units", "u.xlsx", b"PK\x03\x04 broken")
    with pytest.raises(ServiceError, match="csv"):
        run_import("units", "u.pdf", b"%PDF-1.4")


def test_residents_need_existing_units_and_valid_phones(world):
    rows = """zone,building,unit,name,phone,relation
A区,1栋,1单元101,赵六,13800009100,owner
A区,99栋,1单元101,钱七,13800009101,owner
A区,1栋,1单元101,孙八,not-a-phone,owner
A区,1栋,1单元101,周九,13800009103,landlord
"""
    report = run_import("residents", "r.csv", rows.encode(), estate_name="测试花园")
    assert [e.line for e in report.errors] == [4, 5]  # row problems first
    report = run_import(
        "residents", "r.csv", "\n".join(rows.splitlines()[:3]).encode(), estate_name="测试花园"
    )
    assert [e.line for e in report.errors] == [3]
    assert "99栋" in report.errors[0].message


def test_estate_must_be_named_when_there_are_several(world):
    report = run_import("units", "u.csv", UNITS.encode())
    assert not report.ok and "estate" in report.errors[0].message
    with_column = "estate," + UNITS.replace("\n", "\n别的花园,", 3).rstrip(",")
    report = run_import("units", "u.csv", with_column.encode())
    assert report.ok, report.errors
    other = db.session.scalar(select(Estate).where(Estate.name == "别的花园"))
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.estate_id == other.id)) == 4


def test_relation_change_keeps_history(world):
    run_import("units", "u.csv", UNITS.encode(), estate_name="测试花园")
    run_import("residents", "r.csv", RESIDENTS.encode(), estate_name="测试花园")
    db.session.commit()
    old = db.session.scalar(select(Residency).join(User).where(User.name == "王五"))
    old.start_on = old.start_on.replace(year=2020)
    db.session.commit()
    changed = RESIDENTS.replace("王五,13800009003,tenant", "王五,13800009003,owner")
    report = run_import("residents", "r.csv", changed.encode(), estate_name="测试花园")
    assert report.ok and report.updated == 1
    rows = db.session.scalars(
        select(Residency).join(User).where(User.name == "王五").order_by(Residency.start_on)
    ).all()
    assert [r.relation for r in rows] == ["tenant", "owner"]
    assert rows[0].end_on is not None and rows[1].end_on is None


def test_cli_import_exit_codes_and_messages(app, world, tmp_path):
    good = tmp_path / "units.csv"
    good.write_text(UNITS, encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text(UNITS.replace("89.50", "lots").replace("98.36", "1.234"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "units", str(bad), "--estate", "测试花园"])
    assert result.exit_code == 1
    assert f"{bad}:2:" in result.output and f"{bad}:3:" in result.output
    assert "nothing was imported" in result.output
    result = runner.invoke(args=["import", "units", str(good), "--estate", "测试花园"])
    assert result.exit_code == 0 and "3 created" in result.output
    result = runner.invoke(args=["import", "units", str(good), "--estate", "测试花园"])
    assert "0 created" in result.output and "3 unchanged" in result.output


def test_upload_page_shows_errors_before_writing(client, login_as):
    login_as("manager")
    before = count(Unit)
    bad = UNITS.replace("89.50", "lots")
    page = client.post(
        "/admin/imports",
        data={"kind": "units", "submit": "1", "file": (io.BytesIO(bad.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert 'data-testid="import-errors"' in body and "lots" in body
    assert count(Unit) == before
    checked = client.post(
        "/admin/imports",
        data={"kind": "units", "check": "1", "file": (io.BytesIO(UNITS.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert 'data-testid="import-ok"' in checked.get_data(as_text=True)
    assert count(Unit) == before
    done = client.post(
        "/admin/imports",
        data={"kind": "units", "submit": "1", "file": (io.BytesIO(UNITS.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert count(Unit) == before + 3


def test_oversized_upload_is_413_with_a_page(client, login_as):
    login_as("manager")
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    big = FileStorage(io.BytesIO(b"x" * (21 * 1024 * 1024)), "big.csv")
    boundary, body = encode_multipart({"kind": "units", "file": big})  # in memory, no temp file
    response = client.post(
        "/admin/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower() or "过大" in response.get_data(
        as_text=True
    )


def test_script_laden_names_are_stored_as_text_and_shown_escaped(client, world, login_as):
    rows = (
        "zone,building,unit,name,phone,relation\n"
        "A区,1栋,2单元101,<script>alert(1)</script>,13800009200,family\n"
    )
    report = run_import("residents", "r.csv", rows.encode(), estate_name="测试花园")
    assert report.ok
    db.session.commit()
    assert (
        db.session.scalar(select(User.name).where(User.phone == "13800009200"))
        == "<script>alert(1)</script>"
    )
    login_as("frontdesk")
    page = client.get(f"/units/{world.unit2.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    too_long = rows.replace("<script>alert(1)</script>", "名" * 101)
    report = run_import("residents", "r.csv", too_long.encode(), estate_name="测试花园")
    assert "100 characters" in report.errors[0].message


def test_users_create_command(app, world):
    cli = app.test_cli_runner()
    result = cli.invoke(
        args=["users", "create", "boss", "--role", "admin", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 0, result.output
    result = cli.invoke(
        args=["users", "create", "desk2", "--role", "frontdesk", "--estate", "测试花园"],
        input="another-pw-1\nanother-pw-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "desk2" in result.output
    result = cli.invoke(
        args=["users", "create", "desk3", "--role", "frontdesk", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 1 and "estate" in result.output
    result = cli.invoke(
        args=["users", "create", "boss", "--role", "admin", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 1 and "taken" in result.output
    result = cli.invoke(args=["users", "create", "x", "--role", "admin", "--password", "short"])
    assert result.exit_code == 1
    client = app.test_client()
    assert (
        client.post("/auth/login", data={"login": "desk2", "password": "another-pw-1"}).status_code
        == 302
    )


def test_cli_import_names_or_creates_the_company_of_a_new_estate(app, world, tmp_path):
    """--company puts a new estate in that company, created when it is new."""
    from portal.core.places import Company

    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    runner = app.test_cli_runner()
    args = ["import", "units", str(units), "--estate", "远山花园"]
    result = runner.invoke(args=[*args, "--company", "远山物业"])
    assert result.exit_code == 0 and "3 created" in result.output, result.output
    estate = db.session.scalar(select(Estate).where(Estate.name == "远山花园"))
    assert estate.company.name == "远山物业" and estate.company_id != world.company.id
    again = runner.invoke(args=[*args, "--company", "远山物业"])
    assert again.exit_code == 0 and "3 unchanged" in again.output
    assert db.session.scalar(select(func.count(Company.id)).where(Company.name == "远山物业")) == 1
    # A second estate may join the world's company by name.
    result = runner.invoke(
        args=["import", "units", str(units), "--estate", "湖畔花园", "--company", "翠湖物业"]
    )
    assert result.exit_code == 0, result.output
    lakeside = db.session.scalar(select(Estate).where(Estate.name == "湖畔花园"))
    assert lakeside.company_id == world.company.id


def test_cli_import_keeps_to_the_named_company(app, world, tmp_path):
    """An estate of another company is refused; with several companies a new estate must
    say which one it joins."""
    from tests.factories import make_other_company

    make_other_company()
    db.session.commit()
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    runner = app.test_cli_runner()
    before = count(Unit)
    result = runner.invoke(
        args=["import", "units", str(units), "--estate", "测试花园", "--company", "远山物业"]
    )
    assert result.exit_code == 1 and "belongs to another company" in result.output
    result = runner.invoke(args=["import", "units", str(units), "--estate", "新花园"])
    assert result.exit_code == 1 and "--company" in result.output
    residents = tmp_path / "residents.csv"
    residents.write_text(RESIDENTS, encoding="utf-8")
    result = runner.invoke(
        args=[
            "import",
            "residents",
            str(residents),
            "--estate",
            "测试花园",
            "--company",
            "远山物业",
        ]
    )
    assert result.exit_code == 1 and "belongs to another company" in result.output
    assert count(Unit) == before


def test_upload_page_stays_in_the_admins_company(client, world, login_as):
    """Another company's administrator cannot name the world's estate; a new estate they
    name joins their own company."""
    from tests.factories import make_other_company

    far = make_other_company()
    db.session.commit()
    login_as("admin_other_company")
    before = count(Unit)
    theirs = "estate," + UNITS.replace("\n", "\n测试花园,", 3).rstrip(",")
    page = client.post(
        "/admin/imports",
        data={"kind": "units", "submit": "1", "file": (io.BytesIO(theirs.encode()), "u.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 400 and count(Unit) == before
    assert "测试花园" in page.get_data(as_text=True)  # named in the error, nothing written
    new = "estate," + UNITS.replace("\n", "\n远山二期,", 3).rstrip(",")
    done = client.post(
        "/admin/imports",
        data={"kind": "units", "submit": "1", "file": (io.BytesIO(new.encode()), "u.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    estate = db.session.scalar(select(Estate).where(Estate.name == "远山二期"))
    assert estate.company_id == far.company.id


def test_the_upload_page_takes_fee_items(client, world, login_as):
    from portal.blueprints.fees.models import FeeItem

    login_as("manager")
    assert "code, name, basis, unit_kind, rate, effective_on" in client.get(
        "/admin/imports"
    ).get_data(as_text=True)
    csv = (
        "code,name,basis,unit_kind,rate,effective_on\n"
        "elevator,电梯费,fixed_month,,20.00,2026-01-01\n"
    )
    done = client.post(
        "/admin/imports",
        data={"kind": "fee_items", "submit": "1", "file": (io.BytesIO(csv.encode()), "f.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert db.session.scalar(select(FeeItem.name).where(FeeItem.code == "elevator")) == "电梯费"
