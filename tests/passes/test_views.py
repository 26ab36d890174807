"""The pass pages: a resident asks on a phone, the owner approves, the desk issues and
revokes, the guard checks at the gate; the PDF; statement counts that stay flat."""

import shutil
import subprocess
from datetime import timedelta

import pytest
import segno
from flask import render_template
from PIL import Image
from sqlalchemy import func, select

from portal.blueprints.passes import services
from portal.blueprints.passes.models import Pass, PassCheck, Status
from portal.blueprints.passes.printing import PDF_QR_BORDER
from portal.core import clock
from portal.extensions import db
from tests.conftest import skip_or_fail


def local_form_time(hours=0):
    """A datetime-local field's value, in the estate's time (UTC+8)."""
    from zoneinfo import ZoneInfo

    moment = (clock.now() + timedelta(hours=hours)).astimezone(ZoneInfo("Asia/Shanghai"))
    return moment.strftime("%Y-%m-%dT%H:%M")


def form(**overrides):
    data = {
        "kind": "goods",
        "valid_from": local_form_time(0),
        "valid_until": local_form_time(5),
        "items": "沙发 2\n冰箱×1\n纸箱",
        "people": "",
        "plate": "沪A12345",
    }
    data.update(overrides)
    return data


def test_a_resident_asks_for_a_goods_pass_and_sees_its_qr(client, world, login_as):
    login_as("resident2")
    page = client.get("/passes/new")
    assert page.status_code == 200
    assert 'value="worker"' not in page.get_data(as_text=True)
    response = client.post("/passes/new", data=form(unit=world.unit2.id))
    assert response.status_code == 303, response.get_data(as_text=True)
    made = db.session.scalar(select(Pass))
    assert made.status == Status.active and made.unit_id == world.unit2.id
    assert made.items == [
        {"name": "沙发", "quantity": 2},
        {"name": "冰箱", "quantity": 1},
        {"name": "纸箱", "quantity": 1},
    ]
    detail = client.get(f"/passes/{made.id}").get_data(as_text=True)
    assert made.number in detail and made.code in detail
    assert 'src="data:image/svg+xml' in detail
    assert made.number in client.get("/passes/").get_data(as_text=True)


def test_a_visitor_pass_from_the_form_keeps_the_people(client, world, login_as):
    login_as("resident2")
    data = form(kind="visitor", items="", people="王五 13900000001 110101199001011234\n赵六")
    response = client.post("/passes/new", data={**data, "unit": world.unit2.id})
    assert response.status_code == 303
    made = db.session.scalar(select(Pass))
    assert made.people == [
        {"name": "王五", "phone": "13900000001", "id_number": "110101199001011234"},
        {"name": "赵六"},
    ]


@pytest.mark.parametrize(
    ("data", "message_field"),
    [
        ({"valid_until": "x"}, "valid_until"),
        ({"kind": "worker"}, "kind"),
        ({"items": ""}, "items"),
    ],
)
def test_a_bad_request_answers_400_and_stores_nothing(client, world, login_as, data, message_field):
    login_as("resident2")
    response = client.post("/passes/new", data=form(unit=world.unit2.id, **data))
    assert response.status_code == 400
    assert f'data-field="{message_field}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_a_resident_cannot_ask_for_another_unit(client, world, login_as):
    login_as("resident")
    response = client.post("/passes/new", data=form(unit=world.unit2.id))
    assert response.status_code in (400, 404)
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_the_window_reversed_on_the_form(client, world, login_as):
    login_as("resident2")
    data = form(unit=world.unit2.id, valid_from=local_form_time(5), valid_until=local_form_time(1))
    response = client.post("/passes/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_the_owner_approves_the_tenant_s_goods_pass_on_their_list(client, world, login_as, tenant):
    login_as("tenant")
    response = client.post("/passes/new", data=form(unit=world.unit2.id))
    assert response.status_code == 303
    made = db.session.scalar(select(Pass))
    assert made.status == Status.pending
    assert 'data-testid="approve-pass"' not in client.get(f"/passes/{made.id}").get_data(
        as_text=True
    )
    assert client.post(f"/passes/{made.id}/approve").status_code == 303
    assert db.session.get(Pass, made.id).status == Status.pending
    login_as("resident")  # the neighbour does not see it
    assert client.get(f"/passes/{made.id}").status_code == 404
    assert client.post(f"/passes/{made.id}/approve").status_code == 404
    login_as("resident2")
    listing = client.get("/passes/").get_data(as_text=True)
    assert 'data-testid="approvals"' in listing and made.number in listing
    assert client.post(f"/passes/{made.id}/approve").status_code == 303
    assert db.session.get(Pass, made.id).status == Status.active


def test_the_desk_issues_for_a_room_typed_and_revokes(client, world, login_as):
    login_as("frontdesk")
    data = form(kind="worker", items="", people="李四 13900000002", room="1栋 2单元101")
    response = client.post("/passes/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    made = db.session.scalar(select(Pass))
    assert made.unit_id == world.unit2.id and made.number.startswith("CR")
    no_room = client.post("/passes/new", data=form(room="9-9-999"))
    assert no_room.status_code == 400 and 'data-field="room"' in no_room.get_data(as_text=True)
    fixed = client.get(f"/passes/new?unit={world.unit.id}").get_data(as_text=True)
    assert "1单元101" in fixed
    assert client.post(f"/passes/{made.id}/revoke", data={"reason": ""}).status_code == 303
    assert db.session.get(Pass, made.id).status == Status.active
    assert client.post(f"/passes/{made.id}/revoke", data={"reason": "工人离场"}).status_code == 303
    assert db.session.get(Pass, made.id).status == Status.revoked


def test_another_estate_s_desk_gets_404(client, world, login_as, issue):
    made = issue("visitor")
    db.session.commit()
    login_as("frontdesk_other")
    for path in (f"/passes/{made.id}", f"/passes/{made.id}.pdf"):
        assert client.get(path).status_code == 404
    assert client.post(f"/passes/{made.id}/revoke", data={"reason": "x"}).status_code == 404
    assert client.get(f"/passes/new?unit={world.unit2.id}").status_code == 404


def test_the_guard_checks_on_the_gate_page(client, world, login_as, issue, guard):
    made = issue("goods")
    db.session.commit()
    login_as("guard")
    page = client.get("/passes/check")
    assert page.status_code == 200
    assert page.headers["Permissions-Policy"] == "camera=(self), microphone=(), geolocation=()"
    assert "camera=()" in client.get("/").headers["Permissions-Policy"]
    for path in ("/passes/", "/passes/new", f"/passes/{made.id}", f"/passes/{made.id}.pdf"):
        assert client.get(path).status_code == 403, path
    first = client.post("/passes/check", data={"code": f"  {made.code} "}).get_data(as_text=True)
    assert 'data-result="valid"' in first and made.number in first and "沙发" in first
    second = client.post("/passes/check", data={"code": made.number.lower()})
    assert 'data-result="used"' in second.get_data(as_text=True)
    unknown = client.post("/passes/check", data={"code": "FX209912310001"})
    assert 'data-result="unknown"' in unknown.get_data(as_text=True)
    assert client.post("/passes/check", data={"code": ""}).status_code == 400
    assert client.post("/passes/check", data={"code": "a\x00b"}).status_code == 400
    assert db.session.scalar(select(func.count(PassCheck.id))) == 3
    log = client.get("/passes/checks").get_data(as_text=True)
    assert log.count(made.number) == 2


def test_the_gate_home_template(app, world, issue, guard, db_session):
    made = issue("goods")
    services.check_pass(made.code, actor=guard)
    with app.test_request_context("/"):
        from flask_login import login_user

        login_user(guard)
        html = render_template("home/gate.html", gate=services.gate_home(guard), hotline="")
    assert 'data-testid="action-check"' in html and made.number in html
    assert 'data-testid="gate-checks">1<' in html


def pdftotext(pdf: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        skip_or_fail("pdftotext is not installed (apt-get install poppler-utils)")
    path = tmp_path / "pass.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def qr_images(pdf: bytes, tmp_path) -> list[Image.Image]:
    if not shutil.which("pdfimages"):
        skip_or_fail("pdfimages is not installed (apt-get install poppler-utils)")
    path = tmp_path / "pass.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "img")], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob("img-*.png"))]


def modules_of(image: Image.Image, size: int) -> list[list[bool]]:
    """The dark modules of a QR image drawn with PDF_QR_BORDER modules of quiet zone."""
    step = image.width / (size + 2 * PDF_QR_BORDER)
    return [
        [
            image.getpixel(
                (int((x + PDF_QR_BORDER + 0.5) * step), int((y + PDF_QR_BORDER + 0.5) * step))
            )
            < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_pdf_holds_the_number_and_the_qr_code_of_the_code(
    client, world, login_as, issue, tmp_path
):
    made = issue("goods")
    db.session.commit()
    login_as("resident2")
    response = client.get(f"/passes/{made.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF")
    text = pdftotext(pdf, tmp_path)
    assert made.number in text and "沙发" in text
    (image,) = qr_images(pdf, tmp_path)
    expected = segno.make(made.code, error="m")
    size = len(expected.matrix)
    assert modules_of(image, size) == [[bool(v) for v in row] for row in expected.matrix]
    api = client.get(f"/api/v1/passes/{made.id}.pdf")
    assert api.status_code == 200 and api.mimetype == "application/pdf"


PAGES = [
    ("/passes/", "frontdesk"),
    ("/passes/?kind=goods", "frontdesk"),
    ("/passes/", "resident2"),
    ("/passes/checks", "guard"),
    ("/passes/check", "guard"),
    ("/api/v1/passes", "frontdesk"),
]


@pytest.mark.parametrize(("path", "who"), PAGES)
def test_list_pages_run_as_many_statements_whatever_the_data(
    client, world, login_as, issue, guard, count_queries, path, who
):
    def add(n):
        for _ in range(n):
            made = issue("goods", unit=world.unit2)
            issue("visitor", unit=world.unit)
            services.check_pass(made.code, actor=guard)
            services.check_pass(made.code, actor=guard)
        db.session.commit()

    add(1)
    login_as(who)
    headers = {}
    if path.startswith("/api/"):
        token = client.post(
            "/api/v1/auth/token", json={"username": who, "password": "portal-demo"}
        ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
    assert client.get(path, headers=headers).status_code == 200
    with count_queries() as few:
        client.get(path, headers=headers)
    add(6)
    with count_queries() as many:
        assert client.get(path, headers=headers).status_code == 200
    assert many.count == few.count, (few.statements, many.statements)
    assert few.count <= 8
