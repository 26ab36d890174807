"""The complaint loop through the pages: resident files on a phone, the desk assesses and
proposes, the supervisor approves, the desk resolves and visits, the resident answers."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.blueprints.complaints.models import Complaint
from portal.core import clock
from portal.extensions import db


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def step(client, complaint, action, **data):
    return client.post(
        f"/complaints/{complaint.id}/act/{action}",
        data=data,
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )


def test_the_loop_through_the_pages(client, world, login_as):
    login_as("resident")
    filed = client.post(
        "/complaints/new",
        data={"kind": "complaint", "category": "cleaning_greening", "content": "楼道两天没打扫"},
    )
    assert filed.status_code == 302
    complaint = db.session.scalar(select(Complaint))
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "楼道两天没打扫" in page and "data-action" not in page  # nothing for them yet
    login_as("frontdesk")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert 'data-action="assess"' in page
    step(client, complaint, "assess", valid="true", department="保洁部")
    step(client, complaint, "propose", plan="今天补扫并检查排班")
    refused = step(client, complaint, "approve")
    assert "Your role may not do this." in refused.get_data(as_text=True)
    login_as("supervisor")
    step(client, complaint, "approve")
    login_as("frontdesk")
    step(client, complaint, "resolve", result="已补扫，保洁排班已调整")
    early = step(client, complaint, "close")
    assert "Make the return visit before closing" in early.get_data(as_text=True)
    login_as("resident")
    step(client, complaint, "respond", accepted="true")
    login_as("frontdesk")
    step(client, complaint, "return-visit", result="satisfied", note="住户满意")
    done = step(client, complaint, "close")
    db.session.refresh(complaint)
    assert complaint.status == "closed" and complaint.resident_accepted is True
    timeline = done.get_data(as_text=True).split('data-testid="timeline"')[1]
    assert "Plan approved" in timeline and "保洁部" in timeline


def test_progress_reply_from_the_page_uses_estate_time(client, world, login_as):
    login_as("frontdesk")
    client.post(
        f"/complaints/new?unit={world.unit.id}",
        data={
            "kind": "complaint",
            "category": "neighbours_noise",
            "content": "楼上噪音",
            "unit": str(world.unit.id),
            "reporter": str(world.resident.id),
            "channel": "phone",
        },
    )
    complaint = db.session.scalar(select(Complaint))
    step(
        client,
        complaint,
        "progress-reply",
        message="已联系楼上住户",
        next_reply_at="2026-11-26T10:00",
    )
    db.session.refresh(complaint)
    assert complaint.due_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_bad_complaints_are_refused_on_the_page(client, world, login_as):
    login_as("resident")
    long = client.post(
        "/complaints/new", data={"kind": "complaint", "category": "fees", "content": "长" * 20_000}
    )
    assert long.status_code == 400
    unknown = client.post(
        "/complaints/new", data={"kind": "complaint", "category": "weather", "content": "x"}
    )
    assert unknown.status_code == 400
    assert db.session.scalar(select(Complaint.id)) is None


def test_photos_with_a_complaint_and_who_may_see_them(client, world, login_as, app, tmp_path):
    from portal.core.uploads import StoredFile
    from tests.factories import png_upload

    app.config["UPLOAD_DIR"] = str(tmp_path)
    login_as("resident")
    client.post(
        "/complaints/new",
        content_type="multipart/form-data",
        data={
            "kind": "complaint",
            "category": "cleaning_greening",
            "content": "垃圾堆在楼道",
            "photos": [png_upload("trash.png")],
        },
    )
    photo = db.session.scalar(select(StoredFile))
    assert photo.entity_type == "complaints"
    assert client.get(f"/files/{photo.id}").status_code == 200
    login_as("resident2")
    assert client.get(f"/files/{photo.id}").status_code == 404
    not_image = client.post(
        "/complaints/new",
        content_type="multipart/form-data",
        data={
            "kind": "complaint",
            "category": "fees",
            "content": "x",
            "photos": [(__import__("io").BytesIO(b"MZ\x90\x00"), "virus.jpg")],
        },
    )
    assert not_image.status_code == 400
    assert db.session.scalar(select(func.count(Complaint.id))) == 1


def test_resident_answers_once_and_does_not_see_internal_notes(client, world, login_as):
    from portal.blueprints.complaints.services import act, register_complaint

    c = register_complaint(world.resident, category="service_attitude", content="前台态度差")
    act(c, "assess", actor=world.frontdesk, data={"valid": True, "department": "客服部"})
    act(c, "investigate", actor=world.frontdesk, data={"cause": "新员工未培训"})
    act(c, "propose", actor=world.frontdesk, data={"plan": "道歉并培训"})
    act(c, "approve", actor=world.supervisor)
    act(c, "resolve", actor=world.frontdesk, data={"result": "已道歉"})
    db.session.commit()
    login_as("resident")
    page = client.get(f"/complaints/{c.id}").get_data(as_text=True)
    timeline = page.split('data-testid="timeline"')[1]
    assert "道歉并培训" in timeline and "新员工未培训" not in timeline
    assert "客服部" not in timeline
    step(client, c, "respond", accepted="false", comment="道歉不够")
    again = step(client, c, "respond", accepted="true")
    assert "You have already answered." in again.get_data(as_text=True)
    db.session.refresh(c)
    assert c.resident_accepted is False


def test_a_complaint_about_a_repair(client, world, login_as):
    from portal.blueprints.repairs.services import submit_repair

    repair = submit_repair(world.resident, category="civil", location="unit", description="窗")
    db.session.commit()
    login_as("resident")
    form = client.get("/complaints/new").get_data(as_text=True)
    assert repair.number in form
    client.post(
        "/complaints/new",
        data={
            "kind": "complaint",
            "category": "maintenance",
            "content": "报修三天没人来",
            "repair": str(repair.id),
        },
    )
    complaint = db.session.scalar(select(Complaint))
    assert complaint.repair_id == repair.id
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert f"/repairs/{repair.id}" in page


def test_a_reporter_from_another_unit_is_a_form_error(client, world, login_as):
    login_as("frontdesk")
    response = client.post(
        f"/complaints/new?unit={world.unit.id}",
        data={
            "kind": "complaint",
            "category": "neighbours_noise",
            "content": "楼上噪音",
            "unit": str(world.unit.id),
            "reporter": str(world.resident2.id),  # lives in unit2
            "channel": "phone",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'data-field="reporter"' in page
    assert "报事人只能是您本人或该房屋的现住户" in page
    assert db.session.scalar(select(Complaint.id)) is None
