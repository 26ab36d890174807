"""The renovation pages: the owner applies on a phone (workers, scope, a drawing, the
statement), the desk registers for an owner, the engineer reviews, the supervisor approves,
the permit prints; refused input keeps what was typed."""

import io

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.blueprints.renovation.models import Renovation
from portal.core.people import Relation
from portal.core.uploads import StoredFile
from portal.extensions import db
from tests.factories import PASSWORD, make_resident, make_unit, png_upload
from tests.renovation.helpers import WORKERS, apply, take

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def form(unit_id, **extra):
    data = {
        "unit": str(unit_id),
        "contractor": "好家装饰有限公司",
        "contractor_licence": "JZ-2026-0088",
        "foreman": "王工长",
        "foreman_phone": "13700000010",
        "starts_on": "2026-11-25",
        "ends_on": "2026-12-24",
        "scope": ["plumbing_electrical", "walls"],
        "hours_accepted": "y",
        "statement_signed": "y",
    }
    for n, worker in enumerate(WORKERS):
        for key, value in worker.items():
            data[f"workers-{n}-{key}"] = value
    data.update(extra)
    return data


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_owner_applies_with_a_drawing_and_follows(client, world, login_as):
    login_as("resident")
    page = client.get("/renovations/new")
    assert page.status_code == 200 and "1单元101" in page.text
    data = form(world.unit.id, drawings=[FileStorage(io.BytesIO(PDF), filename="plan.pdf")])
    response = client.post("/renovations/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    renovation = db.session.scalars(select(Renovation)).one()
    assert renovation.statement_signed == "online" and len(renovation.workers) == 2
    stored = db.session.scalars(select(StoredFile)).one()
    assert stored.content_type == "application/pdf" and stored.entity_type == "renovations"
    detail = client.get(response.location)
    assert detail.status_code == 200 and renovation.number in detail.text
    assert "plan.pdf" in detail.text
    listing = client.get("/renovations/")
    assert listing.status_code == 200 and renovation.number in listing.text


def test_a_drawing_that_is_no_pdf_nor_image_is_refused(client, world, login_as):
    login_as("resident")
    fake = FileStorage(io.BytesIO(b"MZ\x90\x00 not a drawing"), filename="plan.pdf")
    data = form(world.unit.id, drawings=[fake])
    response = client.post("/renovations/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "好家装饰有限公司" in response.text  # what was typed stays
    assert count(Renovation) == 0 and count(StoredFile) == 0
    data = form(world.unit.id, drawings=[png_upload("plan.png")])
    response = client.post("/renovations/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303


def test_a_worker_without_an_id_number_keeps_the_form(client, world, login_as):
    login_as("resident")
    data = form(world.unit.id, **{"workers-1-id_number": ""})
    response = client.post("/renovations/new", data=data)
    assert response.status_code == 400
    assert 'data-field="workers-1-id_number"' in response.text
    assert "李师傅" in response.text and count(Renovation) == 0


def test_a_tenant_is_told_the_owner_applies(client, world, login_as):
    make_resident(
        world.unit,
        relation=Relation.tenant,
        username="tenant",
        password=PASSWORD,
        phone="13900000077",
    )
    db.session.commit()
    login_as("tenant")
    response = client.post("/renovations/new", data=form(world.unit.id))
    assert response.status_code == 403 and count(Renovation) == 0


def test_the_desk_registers_and_the_supervisor_approves(client, world, login_as):
    """Registered by the desk for the owner; reviewed with required changes; approved by
    the supervisor on the page: the passes, the deposit and the neighbours are shown, and
    the permit prints as a PDF."""
    login_as("frontdesk")
    assert client.get(f"/renovations/new?unit={world.unit.id}").status_code == 200
    data = form(world.unit.id)
    del data["hours_accepted"], data["statement_signed"]
    response = client.post("/renovations/new", data=data)
    assert response.status_code == 303, response.text
    renovation = db.session.scalars(select(Renovation)).one()
    url = f"/renovations/{renovation.id}"
    assert client.get(f"{url}/permit.pdf").status_code == 404  # not approved yet

    login_as("technician")
    refused = client.post(f"{url}/act/review", data={"notes": ""})
    assert refused.status_code == 400
    done = client.post(
        f"{url}/act/review", data={"notes": "图纸齐全", "required_changes": "补充水电图\n\n"}
    )
    assert done.status_code == 303
    assert db.session.get(Renovation, renovation.id).review["required_changes"] == ["补充水电图"]

    login_as("supervisor")
    assert client.post(f"{url}/act/approve").status_code == 303
    page = client.get(url)
    assert page.status_code == 200 and "张师傅" in page.text
    assert 'data-testid="passes"' in page.text and 'data-testid="neighbours"' in page.text
    pdf = client.get(f"{url}/permit.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.post(f"{url}/act/approve").status_code == 303  # refused with a message


def test_who_reaches_the_pages(client, world, login_as, api_token):
    body = apply(client, api_token("resident"), world.unit.id)
    take(client, api_token("technician"), body["id"], "review", {"notes": "可以"})
    url = f"/renovations/{body['id']}"
    for who, status in (("resident", 200), ("resident2", 404), ("frontdesk_other", 404)):
        login_as(who)
        assert client.get(url).status_code == status, who
    login_as("frontdesk")
    assert client.get(f"/renovations/{2**31}").status_code == 404
    assert client.post(f"{url}/act/approve").status_code == 303
    assert db.session.get(Renovation, body["id"]).status == "reviewed"
    nul = client.post(f"{url}/act/send-back", data={"reason": "a\x00b"})
    assert nul.status_code == 400
    login_as("resident2")
    assert client.post(f"{url}/act/cancel").status_code == 404


def test_the_list_page_reads_a_bounded_number_of_statements(
    client, world, login_as, api_token, count_queries
):
    desk = api_token("frontdesk")
    apply(client, desk, world.unit.id)
    login_as("frontdesk")

    def statements():
        with count_queries() as counter:
            assert client.get("/renovations/").status_code == 200
        return counter.count

    few = statements()
    for n in range(4):
        unit = make_unit(world.estate, zone="A区", building="5栋", number=f"1单元{n + 1}01")
        make_resident(unit, phone=f"1390000660{n}")
        db.session.commit()
        apply(client, desk, unit.id)
    assert statements() == few


def test_the_owner_amends_a_sent_back_application_on_the_page(client, world, login_as, api_token):
    body = apply(client, api_token("resident"), world.unit.id)
    take(client, api_token("technician"), body["id"], "send-back", {"reason": "工期过长"})
    login_as("resident")
    url = f"/renovations/{body['id']}"
    page = client.get(url)
    assert 'data-action="resubmit"' in page.text and "工期过长" in page.text
    refused = client.post(f"{url}/act/resubmit", data={"ends_on": "2026-11-01"})
    assert refused.status_code == 400 and 'value="2026-11-01"' in refused.text
    done = client.post(f"{url}/act/resubmit", data={"ends_on": "2026-12-05", "note": "缩短工期"})
    assert done.status_code == 303
    renovation = db.session.get(Renovation, body["id"])
    assert renovation.status == "submitted" and str(renovation.ends_on) == "2026-12-05"
    detail = client.get(f"/api/v1/renovations/{body['id']}", headers=api_token("resident"))
    assert WORKERS[1]["id_number"] not in detail.text


def test_odd_input_on_the_form_is_refused_in_words(client, world, login_as):
    """Malformed dates, another estate's unit, ids past the database's range and rows past
    the form's end answer 400 (nothing stored), never a server error."""
    login_as("frontdesk")
    for change in (
        {"starts_on": "2026-13-40"},
        {"unit": str(world.other_unit.id)},
        {"unit": str(2**31)},
        {"unit": "", "place": "99-99-9999"},
        {"scope": ["roof"]},
        {"workers-25-name": "多余", "workers-25-id_number": WORKERS[0]["id_number"]},
    ):
        response = client.post("/renovations/new", data=form(world.unit.id, **change))
        assert response.status_code == 400, change
    assert count(Renovation) == 0
