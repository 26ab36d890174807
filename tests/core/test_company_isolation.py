"""Company isolation: a company's staff never see another company's estates or anything in
them, in the pages and the API alike, whatever estate they name."""

import pytest
from sqlalchemy import select

from portal.core import access
from portal.core.places import Estate, Unit
from portal.extensions import db
from tests.factories import make_other_company


@pytest.fixture
def far(world):
    """The world's company (翠湖物业) and a second company (远山物业) with a unit, a repair,
    a complaint, a notice and a receipt in its estate."""
    from portal.blueprints.complaints.services import register_complaint
    from portal.blueprints.fees import ledger
    from portal.blueprints.notices.services import compose_notice
    from portal.blueprints.repairs.services import submit_repair

    far = make_other_company()
    far.repair = submit_repair(far.resident, category="civil", location="unit", description="漏水")
    far.complaint = register_complaint(far.resident, category="neighbours_noise", content="太吵")
    far.notice = compose_notice(
        far.manager,
        estate=far.estate,
        title="停电通知",
        body="明天停电",
        channels=["app"],
        unit_ids=[far.unit.id],
    )
    far.payment, _ = ledger.record_payment(
        far.unit, 10000, "cash", actor=far.frontdesk, source="counter"
    )
    db.session.commit()
    return far


def object_urls(far):
    return [
        f"/units/{far.unit.id}",
        f"/repairs/{far.repair.id}",
        f"/complaints/{far.complaint.id}",
        f"/notices/{far.notice.id}",
        f"/fees/receipts/{far.payment.receipt_number}.pdf",
        f"/fees/units/{far.unit.id}",
    ]


def report_urls(far):
    e = far.estate.id
    return [
        f"/reports/fees?estate={e}",
        f"/reports/cash?estate={e}",
        f"/reports/arrears?estate={e}",
        f"/reports/complaints?estate={e}",
        f"/reports/repairs?estate={e}",
    ]


def api_urls(far):
    e = far.estate.id
    return [
        f"/api/v1/units/{far.unit.id}",
        f"/api/v1/repairs/{far.repair.id}",
        f"/api/v1/complaints/{far.complaint.id}",
        f"/api/v1/notices/{far.notice.id}/receipts",
        f"/api/v1/receipts/{far.payment.receipt_number}.pdf",
        f"/api/v1/reports/fees?estate={e}&from=2026-11-01&to=2026-11-30",
        f"/api/v1/arrears?estate={e}",
    ]


@pytest.mark.parametrize("username", ["admin", "manager", "frontdesk"])
def test_another_companys_objects_and_reports_answer_404(client, far, login_as, username):
    """The world's administrator (company-wide) and its estate staff: 404 on every page."""
    login_as(username)
    for url in object_urls(far) + report_urls(far):
        response = client.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)
        if username == "admin":
            assert response.status_code == 404, url


def test_another_companys_objects_answer_404_in_the_api(client, far, api_token):
    headers = api_token("admin")
    for url in api_urls(far):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, (url, response.status_code, response.get_json())
    units = client.get("/api/v1/units?per_page=100", headers=headers).get_json()["items"]
    assert far.unit.id not in {u["id"] for u in units}


def test_the_switcher_refuses_another_companys_estate(client, world, far, login_as):
    login_as("admin")
    refused = client.post("/estate", data={"estate": far.estate.id, "next": "/"})
    assert refused.status_code in (400, 404)
    page = client.get("/units/").get_data(as_text=True)
    assert "远山花园" not in page and far.unit.number not in page
    assert client.post("/estate", data={"estate": world.other.id}).status_code == 303


def test_each_administrator_sees_only_their_companys_estates(app, world, far):
    with app.test_request_context():
        assert [e.name for e in access.estates_for(world.admin)] == ["测试花园", "别的花园"]
        assert [e.name for e in access.estates_for(far.admin)] == ["远山花园"]
        for actor, mine in ((world.admin, world.company.id), (far.admin, far.company.id)):
            estates = db.session.scalars(select(Estate).where(access.visible(Estate, actor)))
            assert {e.company_id for e in estates} == {mine}
            companies = db.session.scalars(
                select(Estate.company_id)
                .join(Unit, Unit.estate_id == Estate.id)
                .where(access.visible(Unit, actor))
            )
            assert set(companies) == {mine}


def test_the_other_administrator_reaches_their_own_receipt_and_not_the_worlds(
    client, world, far, api_token
):
    from portal.blueprints.fees import ledger

    ours, _ = ledger.record_payment(
        world.unit, 500, "cash", actor=world.frontdesk, source="counter"
    )
    db.session.commit()
    headers = api_token("admin_other_company")
    mine = client.get(f"/api/v1/receipts/{far.payment.receipt_number}.pdf", headers=headers)
    assert mine.status_code == 200
    theirs = client.get(f"/api/v1/receipts/{ours.receipt_number}.pdf", headers=headers)
    assert theirs.status_code == 404


def test_the_new_ticket_form_names_no_one_of_a_unit_out_of_reach(client, world, login_as):
    """/repairs/new?unit=ID and /complaints/new?unit=ID of another estate's unit offer neither
    the unit nor its residents."""
    login_as("frontdesk_other")
    for path in ("/repairs/new", "/complaints/new"):
        page = client.get(path, query_string={"unit": world.unit2.id}).get_data(as_text=True)
        assert world.resident2.name not in page, path
