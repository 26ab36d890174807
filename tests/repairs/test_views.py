"""Repairs through the pages: report with photos, dispatch, work, rate, visit, print."""

import io
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.repairs.models import Repair
from portal.core import clock
from portal.core.uploads import StoredFile
from portal.core.visits import ReturnVisit
from portal.extensions import db
from tests.factories import make_resident, make_unit, png_upload


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def report(client, **form):
    data = {
        "category": "plumbing_electrical",
        "location": "unit",
        "description": "卫生间下水堵了",
        **form,
    }
    return client.post("/repairs/new", data=data, content_type="multipart/form-data")


def declared_png(width, height):
    """A tiny, well-formed PNG whose header declares `width` × `height` pixels."""
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    return io.BytesIO(png), "huge.png"


def only_repair():
    return db.session.scalar(select(Repair))


def test_resident_reports_with_photos_and_follows_it(client, world, login_as):
    login_as("resident")
    response = report(
        client, photos=[png_upload("a.png"), png_upload("b.png")], preferred_time="工作日晚上"
    )
    assert response.status_code == 302
    repair = only_repair()
    assert repair.unit_id == world.unit.id and repair.channel == "online"
    page = client.get(f"/repairs/{repair.id}").get_data(as_text=True)
    assert "卫生间下水堵了" in page and 'data-testid="photos"' in page
    photo = db.session.scalar(select(StoredFile))
    image = client.get(f"/files/{photo.id}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG")
    assert 'data-action="cancel"' in page  # before dispatch the resident may cancel
    login_as("resident2")
    assert client.get(f"/files/{photo.id}").status_code == 404
    assert client.get(f"/repairs/{repair.id}").status_code == 404


@pytest.mark.parametrize(
    "make_photos, reason",
    [
        (lambda: [(io.BytesIO(b"%PDF-1.4 not a photo"), "x.jpg")], "is not a JPEG"),
        (lambda: [png_upload(f"{n}.png") for n in range(7)], "At most 6 photos"),
        # Headers declaring more pixels than a photo has: 60 MP, 144 MP, 400 MP (a bomb).
        (lambda: [declared_png(8000, 7500)], "too many pixels"),
        (lambda: [declared_png(12000, 12000)], "too many pixels"),
        (lambda: [declared_png(20000, 20000)], "too many pixels"),
    ],
)
def test_bad_photos_store_nothing(client, world, login_as, make_photos, reason):
    login_as("resident")
    data = {
        "category": "civil",
        "location": "unit",
        "description": "墙裂了",
        "photos": make_photos(),
    }
    response = client.post(
        "/repairs/new",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Repair.id))) == 0
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0


def test_a_photo_over_10_mb_is_413(client, world, login_as):
    from PIL import Image

    big = io.BytesIO()
    Image.effect_noise((1900, 1900), 100).convert("RGB").save(big, "BMP")  # ~10.8 MB
    assert big.tell() > 10 * 1024 * 1024
    big.seek(0)
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    login_as("resident")
    boundary, body = encode_multipart(
        {  # in memory: no spooled temp file to leak
            "category": "civil",
            "location": "unit",
            "description": "墙裂了",
            "photos": FileStorage(big, "huge.bmp"),
        }
    )
    response = client.post(
        "/repairs/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413
    assert db.session.scalar(select(func.count(Repair.id))) == 0


def test_front_desk_registers_dispatches_and_the_work_is_done(client, world, login_as):
    login_as("frontdesk")
    form = client.get(f"/repairs/new?unit={world.unit2.id}").get_data(as_text=True)
    assert "林邻居" in form  # the unit's residents can be the reporter
    response = report(
        client,
        unit=str(world.unit2.id),
        reporter=str(world.resident2.id),
        channel="phone",
        category="civil",
        description="阳台门关不上",
    )
    assert response.status_code == 302
    repair = only_repair()
    assert (repair.reporter_id, repair.owner_id, repair.channel) == (
        world.resident2.id,
        world.frontdesk.id,
        "phone",
    )
    page = client.get(f"/repairs/{repair.id}").get_data(as_text=True)
    assert world.technician.name in page and "(0)" in page  # open load shown
    client.post(f"/repairs/{repair.id}/act/assign", data={"technician_id": world.technician.id})
    login_as("technician")
    orders = client.get("/repairs/").get_data(as_text=True)
    assert repair.number in orders
    client.post(f"/repairs/{repair.id}/act/start")
    done = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={
            "note": "调整合页",
            "materials": "合页螺丝",
            "charge": "30.00",
            "photos": [png_upload("after.png")],
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    db.session.refresh(repair)
    assert repair.status == "completed" and repair.charge_fen == 3000
    assert (
        db.session.scalar(select(StoredFile.purpose).where(StoredFile.purpose == "completion"))
        == "completion"
    )
    login_as("resident2")
    client.post(f"/repairs/{repair.id}/act/confirm", data={"rating": "4", "comment": "不错"})
    db.session.refresh(repair)
    assert (repair.status, repair.rating) == ("closed", 4)
    login_as("supervisor")
    queue = client.get("/repairs/visits").get_data(as_text=True)
    assert repair.number in queue
    client.post(
        f"/repairs/{repair.id}/act/return-visit",
        data={"result": "dissatisfied", "note": "师傅迟到"},
    )
    assert db.session.scalar(select(ReturnVisit.result)) == "dissatisfied"
    assert repair.number not in client.get("/repairs/visits").get_data(as_text=True)


def test_an_action_the_state_does_not_allow_changes_nothing(client, world, login_as):
    login_as("resident")
    report(client)
    repair = only_repair()
    login_as("supervisor")
    response = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={"note": "x"},
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )
    assert "Allowed now: assign, cancel" in response.get_data(as_text=True)
    db.session.refresh(repair)
    assert repair.status == "submitted"


def test_work_order_pdf(client, world, login_as, tmp_path):
    login_as("resident")
    report(client, description="客厅灯不亮")
    login_as("frontdesk")
    pdf = client.get(f"/repairs/{only_repair().id}/work-order.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "order.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "派工单" in text and "客厅灯不亮" in text and "A区 1栋 1单元101" in text


def test_repair_list_query_count_does_not_grow(client, world, login_as, count_queries):
    from portal.blueprints.repairs.services import submit_repair

    login_as("supervisor")
    submit_repair(world.resident, category="civil", location="unit", description="x")
    db.session.commit()
    with count_queries() as few:
        client.get("/repairs/")
    for n in range(15):
        unit = make_unit(world.estate, zone="C区", building="1栋", number=f"r{n}")
        person = make_resident(unit)
        submit_repair(person, category="other", location="unit", description=f"第{n}个")
    db.session.commit()
    with count_queries() as many:
        page = client.get("/repairs/").get_data(as_text=True)
    assert "第14个" in page and many.count == few.count


def test_supervisor_board_shows_figures_per_technician_and_followups(client, world, login_as):
    from portal.blueprints.repairs.services import act, submit_repair

    repair = submit_repair(world.resident, category="civil", location="unit", description="门")
    act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    act(repair, "start", actor=world.technician)
    act(repair, "complete", actor=world.technician, data={"note": "修好"})
    act(repair, "reopen", actor=world.resident, data={"reason": "又坏了"})
    act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    act(repair, "start", actor=world.technician)
    act(repair, "complete", actor=world.technician, data={"note": "换锁"})
    act(
        repair,
        "return-visit",
        actor=world.frontdesk,
        data={"result": "dissatisfied", "note": "等太久"},
    )
    db.session.commit()
    login_as("supervisor")
    page = client.get("/repairs/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/reports/repairs"' in page  # the board links to the repairs figures
    figures = client.get("/reports/repairs", headers={"Accept-Language": "en"})
    row = figures.get_data(as_text=True).split('data-testid="technician-row"')[1].split("</tr>")[0]
    # one repair, completed on time, reworked once: 100.0% / 100.0% / 100.0%
    assert world.technician.name in row and row.count("100.0%") == 3
    assert 'data-testid="followups"' in page and "1 dissatisfied return visit" in page
    response = client.post(f"/repairs/{repair.id}/act/review", data={"note": "已当面致歉"})
    assert response.status_code == 303
    page = client.get("/repairs/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-testid="followups"' not in page
    again = client.post(
        f"/repairs/{repair.id}/act/review",
        data={"note": "x"},
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )
    assert "no dissatisfied return visit to review" in again.get_data(as_text=True)


def test_a_review_of_one_repair_leaves_the_followup_of_another(world):
    from portal.blueprints.repairs.services import act, board, submit_repair

    repairs = []
    for door in ("门", "窗"):
        repair = submit_repair(world.resident, category="civil", location="unit", description=door)
        act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
        act(repair, "start", actor=world.technician)
        act(repair, "complete", actor=world.technician, data={"note": "修好"})
        act(
            repair,
            "return-visit",
            actor=world.frontdesk,
            data={"result": "dissatisfied", "note": "等太久"},
        )
        repairs.append(repair)
    db.session.commit()
    assert board(world.supervisor)["followups"] == 2
    clock.freeze(clock.now() + timedelta(hours=1))
    act(repairs[1], "review", actor=world.supervisor, data={"note": "已当面致歉"})
    db.session.commit()
    assert board(world.supervisor)["followups"] == 1  # the first still waits for one


def test_a_reporter_from_another_unit_is_a_form_error(client, world, login_as):
    login_as("frontdesk")
    response = report(
        client,
        unit=str(world.unit.id),
        reporter=str(world.resident2.id),  # lives in unit2, not in this unit
        channel="phone",
        description="门铃坏了",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "invalid-feedback" in page
    assert "报事人只能是您本人或该房屋的现住户" in page
    assert db.session.scalar(select(func.count(Repair.id))) == 0


def test_the_visit_queue_lists_repairs_and_complaints(client, world, login_as):
    from portal.blueprints.complaints.services import act as act_on_complaint
    from portal.blueprints.complaints.services import register_complaint
    from portal.blueprints.repairs.services import act, submit_repair

    repair = submit_repair(world.resident, category="civil", location="unit", description="门")
    act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    act(repair, "start", actor=world.technician)
    act(repair, "complete", actor=world.technician, data={"note": "修好"})
    complaint = register_complaint(world.resident, category="fees", content="账单有误")
    for action, data in (
        ("assess", {"valid": True, "department": "财务部"}),
        ("propose", {"plan": "核对账单"}),
        ("approve", {}),
        ("resolve", {"result": "已更正"}),
    ):
        act_on_complaint(complaint, action, actor=world.supervisor, data=data)
    db.session.commit()
    login_as("frontdesk")
    page = client.get("/repairs/visits").get_data(as_text=True)
    queue = page.split('data-testid="visit-queue"')[1]
    # the complaint is due in 48 hours, the repair in 3 days: soonest first
    assert queue.index(complaint.number) < queue.index(repair.number)
    assert f"/complaints/{complaint.id}" in queue and f"/repairs/{repair.id}" in queue
    client.post(
        f"/complaints/{complaint.id}/act/return-visit",
        data={"result": "satisfied", "note": "满意", "channel": "in_person"},
    )
    queue = (
        client.get("/repairs/visits").get_data(as_text=True).split('data-testid="visit-queue"')[1]
    )
    assert complaint.number not in queue and repair.number in queue
