"""Deposits in the reports: money held is neither receivable nor received in the fee report
(contracts §6, §9) nor arrears; the deductions of a refund are income of its day."""

from datetime import date

from portal.blueprints.fees.refunds import refund_deposit
from portal.blueprints.reports.arrears import arrears
from portal.extensions import db
from tests.fees.helpers import bill, pay
from tests.fees.test_deposits import bill_deposit, pay_deposit

URL = "/api/v1/reports/fees"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def test_the_fee_report_leaves_deposits_out_and_counts_deductions(client, world, api_token):
    bill(world, world.unit, 300_00, key="fee-1", due_on=date(2026, 11, 15))
    pay(world, world.unit, 300_00)
    paid = bill_deposit(world, unit=world.unit2, key="renovation:2:deposit")
    pay_deposit(world, paid, unit=world.unit2)
    bill_deposit(world, unit=world.vacant, key="renovation:3:deposit")  # unpaid
    db.session.commit()
    headers = api_token("manager")
    totals = client.get(URL, query_string=NOVEMBER, headers=headers).get_json()["totals"]
    assert (totals["receivable"], totals["received"], totals["arrears"]) == (
        "300.00",
        "300.00",
        "0.00",
    )
    assert (totals["billed_households"], totals["paid_households"]) == (1, 1)
    refund_deposit(
        world.unit2,
        "renovation:2:deposit",
        deductions=[{"reason": "垃圾未清运", "amount_fen": 120_00}],
        method="cash",
        actor=world.frontdesk,
    )
    db.session.commit()
    totals = client.get(URL, query_string=NOVEMBER, headers=headers).get_json()["totals"]
    assert (totals["receivable"], totals["received"]) == ("420.00", "420.00")
    assert (totals["billed_households"], totals["paid_households"]) == (2, 2)


def test_an_unpaid_deposit_is_not_arrears(world):
    bill_deposit(world, unit=world.unit2, due_on=date(2026, 9, 1))
    bill(world, world.unit, 50_00, key="fee-1", due_on=date(2026, 9, 1))
    db.session.commit()
    listed = arrears(world.estate.id, date(2026, 11, 23))
    assert [row["unit_id"] for row in listed["items"]] == [world.unit.id]
    assert listed["totals"]["owed"] == 50_00
