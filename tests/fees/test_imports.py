"""Imports of bills and payments: whole-file validation, the ledger, idempotence."""

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Allocation, Bill, Payment
from portal.core import clock
from portal.core.imports import run_import
from portal.extensions import db
from tests.fees.helpers import bill, pay, standard_items

ESTATE = "测试花园"

# world.unit is A区 1栋 1单元101, world.unit2 A区 1栋 2单元101, world.vacant B区 3栋 1单元1201.
BILLS = """zone,building,unit,fee_item,period_start,period_end,amount,due_on,discount
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,223.75,2026-10-15,
A区,1栋,1单元101,装修垃圾清运费,2026-09-01,2026-09-01,300.00,2026-09-10,0
B区,3栋,1单元1201,property_residence,2026-10-01,2026-10-31,120.00,2026-10-15,120.50
"""

PAYMENTS = """zone,building,unit,paid_on,amount,method,reference
A区,1栋,1单元101,2026-11-02,150.00,wechat,WX20261102001
A区,1栋,1单元101,2026-11-01,100.00,cash,
A区,1栋,2单元101,2026-11-03,80.50,transfer,TR-88
"""


@pytest.fixture
def items(world):
    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))  # the conftest unfreezes it
    made = standard_items(world)
    db.session.commit()  # a failed import rolls back; what the test set up stays
    return made


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def money_rows():
    return (count(Bill), count(Payment), count(Allocation))


def xlsx(text, *, dates=(), numbers=()):
    """The CSV text as a workbook, with date and number columns typed as Excel keeps them."""
    book = Workbook()
    sheet = book.active
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    sheet.append(header)
    for line in lines[1:]:
        cells = line.split(",")
        for i, name in enumerate(header):
            if name in dates and cells[i]:
                cells[i] = datetime.fromisoformat(cells[i])
            elif name in numbers and cells[i]:
                cells[i] = float(cells[i])
        sheet.append(cells)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def imported_bills():
    return {
        (b.unit_id, b.source_key): b
        for b in db.session.scalars(select(Bill).where(Bill.source == "import"))
    }


# Bills ------------------------------------------------------------------------------------


def test_bills_csv_with_bom_are_issued_paid_from_credit_and_never_twice(world, items):
    pay(world, world.unit, 10000)  # 100.00 of credit before the import
    report = run_import("bills", "b.csv", ("\ufeff" + BILLS).encode(), estate_name=ESTATE)
    assert report.ok, report.errors
    assert (report.rows, report.created, report.unchanged) == (3, 3, 0)
    db.session.commit()
    bills = imported_bills()
    fee = bills[(world.unit.id, "import:property_residence:2026-10-01:2026-10-31")]
    assert (fee.amount_fen, fee.discount_fen, fee.gross_fen) == (22375, 0, 22375)
    assert fee.discount_rule is None and fee.item.code == "property_residence"
    assert (fee.period_start, fee.period_end, fee.due_on) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
        date(2026, 10, 15),
    )
    assert fee.occupancy == "occupied_renovated"
    debris = bills[(world.unit.id, "import:debris:2026-09-01:2026-09-01")]  # named, not coded
    assert debris.amount_fen == 30000 and debris.discount_fen == 0
    vacant = bills[(world.vacant.id, "import:property_residence:2026-10-01:2026-10-31")]
    assert (vacant.amount_fen, vacant.discount_fen, vacant.gross_fen) == (12000, 12050, 24050)
    assert vacant.discount_rule == "import" and vacant.occupancy == "vacant"
    # The credit paid the oldest imported bill (debris, due 2026-09-10) as far as it went.
    assert ledger.paid_on_bills([debris.id, fee.id]) == {debris.id: 10000}
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (22375 + 30000 - 10000, 0)
    assert ledger.balance(world.vacant.id).owed_fen == 12000

    before = money_rows()
    again = run_import("bills", "b.csv", ("\ufeff" + BILLS).encode(), estate_name=ESTATE)
    assert again.ok and (again.created, again.unchanged) == (0, 3)
    db.session.commit()
    assert money_rows() == before


def test_bills_xlsx_reads_like_csv(world, items):
    data = xlsx(
        BILLS, dates=("period_start", "period_end", "due_on"), numbers=("amount", "discount")
    )
    report = run_import("bills", "b.xlsx", data, estate_name=ESTATE)
    assert report.ok, report.errors
    assert report.created == 3
    bills = imported_bills()
    fee = bills[(world.unit.id, "import:property_residence:2026-10-01:2026-10-31")]
    assert fee.amount_fen == 22375 and fee.due_on == date(2026, 10, 15)
    assert bills[
        (world.vacant.id, "import:property_residence:2026-10-01:2026-10-31")
    ].gross_fen == (24050)
    # The CSV of the same rows is then the same bills: nothing new.
    again = run_import("bills", "b.csv", BILLS.encode(), estate_name=ESTATE)
    assert again.ok and (again.created, again.unchanged) == (0, 3)


def test_bad_bill_rows_are_all_named_and_nothing_is_written(world, items):
    bad = """zone,building,unit,fee_item,period_start,period_end,amount,due_on,discount
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,0,2026-10-15,
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,-5,2026-10-15,
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,1.234,2026-10-15,
A区,1栋,1单元101,property_residence,2026/10/01,2026-10-31,10,2026-10-15,
A区,1栋,1单元101,property_residence,2026-10-31,2026-10-01,10,2026-10-15,
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,10,20261015,
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,10,2026-10-15,-1
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,10,2026-10-15,0.001
A区,1栋,1单元101,,2026-10-01,2026-10-31,10,2026-10-15,
A区,1栋,1单元101,property_residence,2026-02-30,2026-10-31,10,2026-10-15,
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,10,2026-10-15,
"""
    before = money_rows()
    report = run_import("bills", "bad.csv", bad.encode(), estate_name=ESTATE)
    assert not report.ok
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == set(range(2, 12)), lines
    assert "'amount' must be more than zero" in lines[2] and "zero" in lines[3]
    assert "two decimals" in lines[4] and "2026/10/01" in lines[5]
    assert "after" in lines[6] and "20261015" in lines[7]
    assert "negative" in lines[8] and "two decimals" in lines[9]
    assert "'fee_item' is empty" in lines[10] and "2026-02-30" in lines[11]

    # Rows that parse but name what is not there, or repeat one another.
    bad = """zone,building,unit,fee_item,period_start,period_end,amount,due_on
A区,1栋,1单元101,property_residence,2026-10-01,2026-10-31,10,2026-10-15
A区,1栋,101,property_residence,2026-10-01,2026-10-31,10,2026-10-15
A区,1栋,1单元101,swimming_pool,2026-10-01,2026-10-31,10,2026-10-15
A区,1栋,1单元101,物业管理费（住宅）,2026-10-01,2026-10-31,10,2026-10-15
A区,1栋,2单元101,property_residence,2026-10-01,2026-10-31,10,2026-10-15
"""
    report = run_import("bills", "bad.csv", bad.encode(), estate_name=ESTATE)
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {3, 4, 5}, lines
    assert lines[3] == "There is no unit A区 1栋 101 in 测试花园."
    assert "swimming_pool" in lines[4] and "fee item" in lines[4]
    assert "repeats line 2" in lines[5]  # the item's name is the same item as its code
    assert money_rows() == before


def test_a_bill_imported_before_with_other_values_is_an_error(world, items):
    assert run_import("bills", "b.csv", BILLS.encode(), estate_name=ESTATE).ok
    db.session.commit()
    before = money_rows()
    changed = BILLS.replace("223.75,2026-10-15", "230.00,2026-10-15").replace(
        "120.00,2026-10-15,120.50", "120.00,2026-10-20,120.50"
    )
    extra = "A区,1栋,2单元101,property_residence,2026-10-01,2026-10-31,223.75,2026-10-15,\n"
    report = run_import("bills", "b.csv", (changed + extra).encode(), estate_name=ESTATE)
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {2, 4}, lines
    assert "already has this bill with another amount" in lines[2] and "223.75" in lines[2]
    assert "2026-10-15" in lines[4]
    assert money_rows() == before  # not even the new row for 2单元101


def test_bills_need_the_estate_and_stay_in_it(world, items):
    # With two estates in the database the rows must say which one they belong to.
    report = run_import("bills", "b.csv", BILLS.encode())
    assert not report.ok and "estate" in report.errors[0].message
    # The other estate has no such unit (and no fee items of its own).
    other = "estate," + BILLS.replace("\n", "\n别的花园,", 3)
    report = run_import("bills", "b.csv", other.encode())
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert "别的花园" in report.errors[0].message


# Payments ---------------------------------------------------------------------------------


def test_payments_pay_oldest_bills_first_and_leave_credit_and_never_twice(world, items):
    newer = bill(world, world.unit, 20000, key="m2", due_on=date(2026, 11, 15))
    older = bill(world, world.unit, 12000, key="m1", due_on=date(2026, 10, 15))
    report = run_import("payments", "p.csv", ("\ufeff" + PAYMENTS).encode(), estate_name=ESTATE)
    assert report.ok, report.errors
    assert (report.rows, report.created, report.unchanged) == (3, 3, 0)
    db.session.commit()
    payments = db.session.scalars(
        select(Payment).where(Payment.source == "import").order_by(Payment.id)
    ).all()
    # Applied by paid_on, not by line: the cash of 2026-11-01 comes first.
    assert [(p.paid_on, p.amount_fen, p.method) for p in payments] == [
        (date(2026, 11, 1), 10000, "cash"),
        (date(2026, 11, 2), 15000, "wechat"),
        (date(2026, 11, 3), 8050, "transfer"),
    ]
    cash, wechat, transfer = payments
    assert cash.reference is None and wechat.reference == "WX20261102001"
    assert all(p.idempotency_key.startswith("import:") for p in payments)
    assert len({p.receipt_number for p in payments}) == 3
    assert [(a.bill_id, a.amount_fen) for a in cash.allocations] == [(older.id, 10000)]
    assert [(a.bill_id, a.amount_fen) for a in wechat.allocations] == [
        (older.id, 2000),
        (newer.id, 13000),
    ]
    assert wechat.allocations[0].applied_on == date(2026, 11, 2)
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (7000, 0)
    # 2单元101 owes nothing: the whole payment is its credit.
    balance = ledger.balance(world.unit2.id)
    assert (balance.owed_fen, balance.credit_fen) == (0, 8050)
    assert transfer.allocations == []

    before = money_rows()
    again = run_import("payments", "p.csv", PAYMENTS.encode(), estate_name=ESTATE)
    assert again.ok and (again.created, again.unchanged) == (0, 3)
    db.session.commit()
    assert money_rows() == before
    # A new payment in a later file still finds the old ones as paid.
    more = PAYMENTS + "A区,1栋,1单元101,2026-11-05,100.00,cash,\n"
    again = run_import("payments", "p.csv", more.encode(), estate_name=ESTATE)
    assert again.ok and (again.created, again.unchanged) == (1, 3)
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (0, 3000)


def test_payments_xlsx_reads_like_csv(world, items):
    data = xlsx(PAYMENTS, dates=("paid_on",), numbers=("amount",))
    report = run_import("payments", "p.xlsx", data, estate_name=ESTATE)
    assert report.ok, report.errors
    assert report.created == 3
    assert ledger.balance(world.unit2.id).credit_fen == 8050
    again = run_import("payments", "p.csv", PAYMENTS.encode(), estate_name=ESTATE)
    assert again.ok and (again.created, again.unchanged) == (0, 3)


def test_bad_payment_rows_are_all_named_and_nothing_is_written(world, items):
    bill(world, world.unit, 12000, key="m1")
    bad = """zone,building,unit,paid_on,amount,method,reference
A区,1栋,1单元101,2026-11-01,100,bitcoin,
A区,1栋,1单元101,2026-11-01,0,cash,
A区,1栋,1单元101,2026-11-01,-1,cash,
A区,1栋,1单元101,2026-11-01,10.005,cash,
A区,1栋,1单元101,01/11/2026,10,cash,
A区,1栋,1单元101,2026-11-01,ten,cash,
,1栋,1单元101,2026-11-01,10,cash,
A区,1栋,1单元101,2026-11-01,10,cash,R1,extra
A区,1栋,1单元101,2026-11-01,10,cash,ok
"""
    before = money_rows()
    report = run_import("payments", "bad.csv", bad.encode(), estate_name=ESTATE)
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == set(range(2, 10)), lines
    assert "bitcoin" in lines[2] and "cash" in lines[2]
    assert "zero" in lines[3] and "zero" in lines[4] and "two decimals" in lines[5]
    assert "01/11/2026" in lines[6] and "ten" in lines[7] and "'zone'" in lines[8]
    assert "more cells" in lines[9]

    bad = """zone,building,unit,paid_on,amount,method,reference
A区,1栋,1单元101,2026-11-01,100,cash,
A区,1栋,101,2026-11-01,100,cash,
A区,1栋,1单元101,2026-11-21,100,cash,
A区,1栋,1单元101,2026-11-01,100.00,CASH,
A区,1栋,1单元101,2026-11-20,100,cash,R2
"""
    report = run_import("payments", "bad.csv", bad.encode(), estate_name=ESTATE)
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {3, 4, 5}, lines
    assert lines[3] == "There is no unit A区 1栋 101 in 测试花园."
    assert "future" in lines[4] and "repeats line 2" in lines[5]
    assert money_rows() == before


def test_dry_run_checks_everything_and_writes_nothing(world, items):
    before = money_rows()
    for kind, rows in (("bills", BILLS), ("payments", PAYMENTS)):
        report = run_import(kind, "f.csv", rows.encode(), estate_name=ESTATE, dry_run=True)
        assert report.ok and report.rows == 3 and report.created == 0
    assert money_rows() == before


def test_header_problems(world, items):
    report = run_import(
        "payments",
        "p.csv",
        b"zone,building,unit,paid_on,amount,amount,method,note\nA,1,1,2026-11-01,1,1,cash,x\n",
        estate_name=ESTATE,
    )
    messages = [e.message for e in report.errors]
    assert all(e.line == 1 for e in report.errors)
    assert any("'amount' appears twice" in m for m in messages)
    assert any("'reference' is missing" in m for m in messages)
    assert any("'note' is not expected" in m for m in messages)


# Command line and upload page ------------------------------------------------------------


def test_cli_imports_bills_and_payments(app, world, items, tmp_path):
    bills = tmp_path / "bills.csv"
    bills.write_text(BILLS, encoding="utf-8-sig")
    payments = tmp_path / "payments.csv"
    payments.write_text(PAYMENTS, encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text(PAYMENTS.replace("wechat", "cheque").replace("80.50", "80.505"))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["import", "payments", str(bad), "--estate", ESTATE])
    assert result.exit_code == 1
    assert f"{bad}:2:" in result.output and "cheque" in result.output
    assert f"{bad}:4:" in result.output and "nothing was imported" in result.output
    result = runner.invoke(args=["import", "bills", str(bills), "--estate", ESTATE, "--check"])
    assert result.exit_code == 0 and "3 rows are valid" in result.output
    assert count(Bill) == 0

    result = runner.invoke(args=["import", "bills", str(bills), "--estate", ESTATE])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    result = runner.invoke(args=["import", "payments", str(payments), "--estate", ESTATE])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    assert db.session.scalar(select(Payment.cashier_id).limit(1)) is None  # no actor on the CLI
    # 1单元101: bills 300.00 + 223.75, paid 250.00; 2单元101: 80.50 of credit.
    balance = ledger.balance(world.unit.id)
    assert (balance.owed_fen, balance.credit_fen) == (27375, 0)
    assert ledger.balance(world.unit2.id).credit_fen == 8050

    for kind, path in (("bills", bills), ("payments", payments)):
        result = runner.invoke(args=["import", kind, str(path), "--estate", ESTATE])
        assert result.exit_code == 0
        assert "0 created" in result.output and "3 unchanged" in result.output
    assert (count(Bill), count(Payment)) == (3, 3)


def test_upload_page_imports_payments_only_into_the_managers_estate(client, world, login_as):
    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    login_as("manager")

    def upload(text, submit="submit"):
        return client.post(
            "/admin/imports",
            data={"kind": "payments", submit: "1", "file": (io.BytesIO(text.encode()), "p.csv")},
            content_type="multipart/form-data",
        )

    # 别的花园 has a unit 一区 9栋 901, but it is not this manager's estate.
    elsewhere = (
        "estate," + PAYMENTS.splitlines()[0] + "\n别的花园,一区,9栋,901,2026-11-01,1.00,cash,\n"
    )
    page = upload(elsewhere)
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert 'data-testid="import-errors"' in body and "别的花园" in body
    assert count(Payment) == 0
    checked = upload(PAYMENTS, "check")
    assert 'data-testid="import-ok"' in checked.get_data(as_text=True)
    assert count(Payment) == 0
    done = upload(PAYMENTS)
    assert done.status_code == 302
    cashiers = set(db.session.scalars(select(Payment.cashier_id)))
    assert cashiers == {world.manager.id}
    assert db.session.scalar(select(func.sum(Payment.amount_fen))) == 10000 + 15000 + 8050
