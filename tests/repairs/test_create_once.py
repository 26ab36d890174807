"""A create sent twice is one ticket: the forms carry a one-time key, and the API takes an
optional idempotency_key with the payments' rules (same key and body: the same answer;
same key, other values: 409)."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.blueprints.complaints.models import Complaint
from portal.blueprints.repairs.models import Repair
from portal.core import clock
from portal.core.uploads import StoredFile
from portal.extensions import db
from tests.factories import png_upload


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def form_key(page_text: str) -> str:
    found = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page_text)
    assert found, "the form carries a one-time key"
    return found.group(1)


def test_a_repair_form_sent_twice_is_one_repair(client, world, login_as):
    login_as("resident")
    page = client.get("/repairs/new")
    key = form_key(page.text)
    assert form_key(client.get("/repairs/new").text) != key  # a key per form shown
    data = {
        "category": "plumbing_electrical",
        "location": "unit",
        "description": "卫生间下水堵了",
        "idempotency_key": key,
    }
    first = client.post(
        "/repairs/new",
        data={**data, "photos": [png_upload("a.png")]},
        content_type="multipart/form-data",
    )
    assert first.status_code == 302
    repair = db.session.scalar(select(Repair))
    # The double tap: the same form again, while the first answer was on its way.
    again = client.post(
        "/repairs/new",
        data={**data, "photos": [png_upload("a.png")]},
        content_type="multipart/form-data",
    )
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(Repair) == 1 and count(StoredFile) == 1  # the photo is stored once
    shown = client.get(again.headers["Location"])
    assert repair.number in shown.text
    # Back, an edit, and the same form again: still the first repair.
    edited = client.post("/repairs/new", data={**data, "description": "还有厨房"})
    assert edited.status_code == 302 and count(Repair) == 1
    # A new form is a new repair.
    fresh = {**data, "idempotency_key": form_key(client.get("/repairs/new").text)}
    assert client.post("/repairs/new", data=fresh).status_code == 302
    assert count(Repair) == 2


def test_a_complaint_form_sent_twice_is_one_complaint(client, world, login_as):
    login_as("frontdesk")
    page = client.get(f"/complaints/new?unit={world.unit.id}")
    data = {
        "kind": "complaint",
        "category": "neighbours_noise",
        "content": "楼上装修噪音",
        "unit": str(world.unit.id),
        "reporter": str(world.resident.id),
        "channel": "phone",
        "idempotency_key": form_key(page.text),
    }
    first = client.post(f"/complaints/new?unit={world.unit.id}", data=data)
    again = client.post(f"/complaints/new?unit={world.unit.id}", data=data)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(Complaint) == 1
    complaint = db.session.scalar(select(Complaint))
    assert complaint.reporter_id == world.resident.id and complaint.channel == "phone"


def report(client, headers, **body):
    body = {
        "category": "plumbing_electrical",
        "location": "unit",
        "description": "厨房水龙头漏水",
        **body,
    }
    return client.post("/api/v1/repairs", json=body, headers=headers)


def test_the_api_answers_a_repeated_repair_as_the_first_time(client, world, api_token):
    resident = api_token("resident")
    first = report(client, resident, idempotency_key="tap-1")
    again = report(client, resident, idempotency_key="tap-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert count(Repair) == 1
    other = report(client, resident, idempotency_key="tap-1", description="卫生间漏水")
    assert other.status_code == 409
    error = other.get_json()["error"]
    assert error["fields"] == {"idempotency_key": "reused"} and error["message"]
    assert count(Repair) == 1
    # Without a key, or with another key, each call is a repair.
    assert report(client, resident).status_code == 201
    assert report(client, resident, idempotency_key="tap-2").status_code == 201
    assert count(Repair) == 3
    # Another user's same key is theirs: it never reaches the first user's repair.
    other_user = report(client, api_token("resident2"), idempotency_key="tap-1")
    assert other_user.status_code == 201
    assert other_user.get_json()["id"] != first.get_json()["id"]
    assert report(client, resident, idempotency_key="").status_code == 400


def test_the_api_answers_a_repeated_complaint_as_the_first_time(client, world, api_token):
    desk = api_token("frontdesk")
    body = {
        "category": "neighbours_noise",
        "content": "夜间施工",
        "unit_id": world.unit.id,
        "reporter_id": world.resident.id,
        "channel": "phone",
        "idempotency_key": "call-7",
    }
    first = client.post("/api/v1/complaints", json=body, headers=desk)
    again = client.post("/api/v1/complaints", json=body, headers=desk)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = client.post("/api/v1/complaints", json={**body, "content": "别的事"}, headers=desk)
    assert other.status_code == 409
    assert count(Complaint) == 1


def test_the_openapi_document_lists_the_key(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for name in ("RepairIn", "ComplaintIn"):
        assert "idempotency_key" in doc["components"]["schemas"][name]["properties"]
