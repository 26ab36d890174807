"""The reports' spreadsheets speak the reader's language: every coded column (channel, kind,
category, state, return-visit result, occupancy category) shows its label, never its code,
and the headings say what the column holds."""

import io
from datetime import UTC, date, datetime

import pytest

from portal.blueprints.complaints.models import Category, Kind, State
from portal.blueprints.repairs.models import Category as RepairCategory
from portal.blueprints.repairs.models import State as RepairState
from portal.core import clock
from portal.core.intake import Source
from portal.core.places import Occupancy
from portal.core.visits import RESULT_LABELS
from portal.extensions import db
from tests.fees.helpers import bill

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
PERIOD = "?from=2026-11-01&to=2026-11-30"
CODES = {
    str(code)
    for enum in (Source, Kind, Category, State, RepairCategory, RepairState, Occupancy)
    for code in enum
} | set(RESULT_LABELS)


def sheets(client, url, headers):
    """Every sheet of a downloaded workbook as lists of cell values."""
    from openpyxl import load_workbook

    response = client.get(url + PERIOD, headers=headers)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    return {s.title: [list(row) for row in s.iter_rows(values_only=True)] for s in book}


def no_codes(book):
    return [v for rows in book.values() for row in rows for v in row if v in CODES]


@pytest.fixture
def tickets(world):
    """On 20 November 2026: a resident's complaint online, closed after a satisfied return
    visit; an inquiry and a suggestion taken by phone at the desk; a repair completed."""
    from portal.blueprints.complaints.services import act, register_complaint
    from portal.blueprints.repairs.services import act as act_on_repair
    from portal.blueprints.repairs.services import submit_repair

    clock.freeze(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    closed = register_complaint(world.resident, category="fees", content="收费疑问")
    act(closed, "assess", actor=world.frontdesk, data={"valid": True, "department": "财务部"})
    act(closed, "propose", actor=world.frontdesk, data={"plan": "核对账单"})
    act(closed, "approve", actor=world.supervisor)
    act(closed, "resolve", actor=world.frontdesk, data={"result": "已退费"})
    act(
        closed,
        "return-visit",
        actor=world.frontdesk,
        data={"result": "satisfied", "note": "满意"},
    )
    act(closed, "close", actor=world.frontdesk)
    for kind, text in ((Kind.inquiry, "停车"), (Kind.suggestion, "绿化")):
        register_complaint(
            world.frontdesk,
            category="other",
            content=text,
            kind=kind,
            channel="phone",
            unit_id=world.unit2.id,
            reporter_id=world.resident2.id,
        )
    repair = submit_repair(world.resident, category="civil", location="unit", description="门")
    act_on_repair(
        repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id}
    )
    bill(world, world.unit, 5000, key="export", due_on=date(2026, 11, 25))
    db.session.commit()


def test_the_complaint_register_in_chinese(client, world, login_as, tickets):
    login_as("manager")
    book = sheets(client, "/reports/complaints.xlsx", ZH)
    register = book["投诉登记表"]
    heading = register[0]
    assert heading[1] == "登记时间" and heading[3:6] == ["渠道", "类型", "类别"]
    rows = {row[6]: dict(zip(heading, row, strict=True)) for row in register[1:]}
    assert rows["收费疑问"]["渠道"] == "线上" and rows["收费疑问"]["类型"] == "投诉"
    assert rows["收费疑问"]["类别"] == "收费" and rows["收费疑问"]["状态"] == "已关闭"
    assert rows["收费疑问"]["回访"] == "满意"
    assert (rows["停车"]["渠道"], rows["停车"]["类型"], rows["停车"]["类别"]) == (
        "电话",
        "咨询",
        "其他",
    )
    assert rows["绿化"]["类型"] == "建议" and rows["绿化"]["状态"] == "已登记"
    assert book["统计"][0][:2] == ["按类别", "受理"]
    assert not no_codes(book)


def test_the_complaint_register_in_english(client, world, login_as, tickets):
    login_as("manager")
    book = sheets(client, "/reports/complaints.xlsx", EN)
    register = book["Register"]
    assert register[0][3:6] == ["Channel", "Kind", "Category"]
    closed = next(row for row in register if row[6] == "收费疑问")
    assert closed[3:6] == ["Online", "Complaint", "Fees"] and closed[10] == "Satisfied"
    assert not no_codes(book)


def test_repairs_and_fees_in_chinese(client, world, login_as, tickets):
    login_as("manager")
    repairs = sheets(client, "/reports/repairs.xlsx", ZH)["维修统计"]
    assert repairs[1][0] == "登记日期"  # the period the figures cover, not a state
    by_category = next(row for row in repairs if row[0] == "按类别")
    assert by_category[1] == "受理"
    assert any(row[0] == "土建（墙面、门窗、玻璃）" and row[1] == 1 for row in repairs)
    assert not no_codes({"repairs": repairs})
    fees = sheets(client, "/reports/fees.xlsx", ZH)
    rows = fees["费用收缴"]
    assert any(row[0] == "已装修入住" for row in rows) and "实收（元）" in rows[3]
    assert not no_codes(fees)


def test_report_templates_have_the_estate_time_outside_a_request(app):
    """Print jobs render report PDFs with an app context only (no request)."""
    from flask import render_template_string

    with app.app_context():
        assert render_template_string("{{ estate_time is defined }}") == "True"
