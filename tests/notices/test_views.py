"""Notices through the pages and the API: compose, inbox, bell, confirm, print, retry."""

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.extensions import db
from portal.jobs import Job, JobStatus
from portal.notify.models import Delivery, InboxMessage, Notice, OutboxMessage


@pytest.fixture(autouse=True)
def daytime():
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 11:00 in the estate


def compose(client, world, **form):
    data = {
        "title": "电梯维保通知",
        "body": "3栋电梯周三维保，暂停使用两小时。",
        "channels": ["app"],
        **form,
    }
    return client.post("/notices/new", data=data)


def test_front_desk_composes_and_the_resident_sees_it(client, world, login_as):
    login_as("frontdesk")
    response = compose(client, world, requires_ack="y", buildings=[str(world.unit.building_id)])
    assert response.status_code == 302, response.get_data(as_text=True)
    notice = db.session.scalar(select(Notice))
    assert notice.households == 2  # both units of A区 1栋
    login_as("resident")
    home = client.get("/").get_data(as_text=True)
    assert "电梯维保通知" in home and 'data-testid="unread-count">1<' in home
    item = db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == world.resident.id))
    page = client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)
    assert "暂停使用两小时" in page
    assert 'data-testid="unread-count"' not in client.get("/").get_data(as_text=True)
    assert client.post(f"/notices/inbox/{item.id}/acknowledge").status_code == 302
    assert 'data-testid="acknowledged"' in client.get(f"/notices/inbox/{item.id}").get_data(
        as_text=True
    )
    login_as("frontdesk")
    detail = client.get(f"/notices/{notice.id}", headers={"Accept-Language": "en"})
    body = detail.get_data(as_text=True)
    assert 'data-testid="call-list"' in body and "林邻居" in body  # resident2 has not confirmed
    assert "陈业主" not in body.split('data-testid="call-list"')[1].split("</section>")[0]


def test_compose_errors_are_shown_beside_the_fields(client, world, login_as):
    login_as("frontdesk")
    page = compose(client, world, body="长" * 10_000)
    assert page.status_code == 400 and 'data-field="body"' in page.get_data(as_text=True)
    page = compose(client, world, channels=[])
    assert 'data-field="channels"' in page.get_data(as_text=True)
    page = compose(client, world, send_at="2020-01-01T08:00")
    assert 'data-field="send_at"' in page.get_data(as_text=True)
    page = compose(client, world, units=str(world.vacant.id))
    assert page.status_code == 400
    for forged in ("²", "9" * 25, "1,,2"):  # no unit ids: the form says so
        page = compose(client, world, units=forged)
        assert page.status_code == 400 and 'data-field="units"' in page.get_data(as_text=True)
    assert compose(client, world, units="1\x00").status_code == 400  # refused at the edge
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_print_job_makes_a_real_pdf_with_a_cjk_font(client, world, login_as, app, tmp_path):
    app.config["JOB_RESULTS_DIR"] = str(tmp_path)
    login_as("frontdesk")
    compose(client, world, channels=["app", "print"])
    notice = db.session.scalar(select(Notice))
    response = client.post(
        f"/notices/{notice.id}/print", data={"building": str(world.unit.building_id)}
    )
    assert response.status_code == 302
    job = db.session.scalar(select(Job))
    assert job.status == JobStatus.finished and job.progress == 100  # ran in-process
    pdf = client.get(f"/jobs/{job.id}/result")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf.data)
    if not shutil.which("pdffonts"):
        from tests.conftest import skip_or_fail

        skip_or_fail("pdffonts is not installed (apt-get install poppler-utils)")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "Noto-Sans-CJK" in fonts or "WenQuanYi" in fonts, fonts  # embedded CJK font
    printed = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.channel == "print", OutboxMessage.status == Delivery.delivered
        )
    ).all()
    assert {m.unit_id for m in printed} == {world.unit.id, world.unit2.id}
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "电梯维保通知" in text and "A区 1栋 2单元101" in text
    assert text.count("电梯维保通知") == 2  # one page per household
    status = client.get(f"/api/v1/jobs/{job.id}").get_json()
    assert status["status"] == "finished" and status["result_url"].endswith("/result")


def test_admin_retries_a_failed_delivery(client, world, login_as):
    failed = OutboxMessage(
        estate_id=world.estate.id,
        recipient_id=world.resident2.id,
        unit_id=world.unit2.id,
        channel="app",
        kind="notice",
        subject="补发",
        body="内容",
        status="failed",
        attempts=5,
        last_error="gone",
        failed_at=clock.now(),
    )
    db.session.add(failed)
    db.session.commit()
    login_as("admin")
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert "补发" in page and "gone" in page
    assert client.post(f"/admin/deliveries/{failed.id}/retry").status_code == 302
    db.session.refresh(failed)
    assert failed.status == Delivery.delivered  # relayed in-process after the commit
    assert (
        db.session.scalar(select(InboxMessage.title).where(InboxMessage.outbox_id == failed.id))
        == "补发"
    )


def test_api_notices_round_trip(client, world, api_token):
    staff = api_token("frontdesk")
    response = client.post(
        "/api/v1/notices",
        headers=staff,
        json={
            "title": "燃气检修",
            "body": "周五上门检修燃气管道。",
            "unit_ids": [world.unit2.id],
            "channels": ["app"],
            "requires_ack": True,
        },
    )
    assert response.status_code == 201, response.get_json()
    notice = response.get_json()
    assert notice["households"] == 1
    assert datetime.fromisoformat(notice["send_at"]).utcoffset() is not None
    mine = client.get("/api/v1/notices", headers=api_token("resident2")).get_json()
    assert mine["total"] == 1 and mine["items"][0]["requires_ack"] is True
    item_id = mine["items"][0]["id"]
    resident2 = api_token("resident2")
    assert (
        client.post(f"/api/v1/notices/{item_id}/read", headers=resident2).get_json()["read_at"]
        is not None
    )
    assert (
        client.post(f"/api/v1/notices/{item_id}/read", headers=api_token("resident")).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/notices/{item_id}/acknowledge", headers=resident2).status_code == 200
    )
    receipts = client.get(f"/api/v1/notices/{notice['id']}/receipts", headers=staff).get_json()
    assert (
        receipts["households"],
        receipts["delivered"],
        receipts["read"],
        receipts["acknowledged"],
    ) == (1, 1, 1, 1)


def test_api_notice_bad_input(client, world, api_token):
    staff = api_token("frontdesk")
    cases = [
        ({"title": "", "body": "x", "channels": ["app"]}, "title"),
        ({"title": "t", "body": "x" * 10_000, "channels": ["app"]}, "body"),
        ({"title": "t", "body": "x", "channels": ["pigeon"]}, "channels"),
        (
            {"title": "t", "body": "x", "channels": ["app"], "unit_ids": [world.other_unit.id]},
            "unit_ids",
        ),
        (
            {
                "title": "t",
                "body": "x",
                "channels": ["app"],
                "send_at": "2020-01-01T00:00:00+08:00",
            },
            "send_at",
        ),
        (
            {"title": "t", "body": "x", "channels": ["app"], "unit_ids": [world.vacant.id]},
            "audience",
        ),
    ]
    for body, field in cases:
        response = client.post("/api/v1/notices", headers=staff, json=body)
        assert response.status_code == 400, (body, response.get_json())
        assert field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert db.session.scalar(select(OutboxMessage.id)) is None
    item = client.post(
        "/api/v1/notices",
        headers=staff,
        json={"title": "t", "body": "x", "channels": ["app"], "unit_ids": [world.unit2.id]},
    )
    mine = client.get("/api/v1/notices", headers=api_token("resident2")).get_json()
    ack = client.post(
        f"/api/v1/notices/{mine['items'][0]['id']}/acknowledge", headers=api_token("resident2")
    )
    assert item.status_code == 201 and ack.status_code == 409  # no confirmation asked


def test_bell_query_count_does_not_grow(client, world, login_as, count_queries):
    from portal.blueprints.notices.services import compose_notice
    from portal.notify.outbox import relay_due

    login_as("resident2")
    with count_queries() as few:
        client.get("/")
    for n in range(10):
        compose_notice(
            world.frontdesk,
            estate=world.estate,
            title=f"通知{n}",
            body="内容",
            channels=["app"],
            unit_ids=[world.unit2.id],
        )
    db.session.commit()
    relay_due()
    with count_queries() as many:
        page = client.get("/").get_data(as_text=True)
    assert 'data-testid="unread-count">10<' in page
    assert many.count == few.count
