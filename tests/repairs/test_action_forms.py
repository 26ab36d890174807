"""A repair's action forms: drawn from each transition's schema through the one form macro,
and a refused action answers with the page again, the input kept, the message beside the
field in the user's language."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.blueprints.repairs.models import Repair
from portal.core import clock
from portal.extensions import db
from tests.ticket_pages import ZH, form_of, message_at, tag

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def in_progress(client, world, login_as) -> Repair:
    """A repair the technician has started."""
    login_as("resident")
    client.post(
        "/repairs/new",
        data={"category": "civil", "location": "unit", "description": "阳台门关不上"},
        content_type="multipart/form-data",
    )
    repair = db.session.scalar(select(Repair))
    login_as("frontdesk")
    client.post(f"/repairs/{repair.id}/act/assign", data={"technician_id": world.technician.id})
    login_as("technician")
    client.post(f"/repairs/{repair.id}/act/start")
    return repair


def test_completing_without_a_note_keeps_the_input_and_says_why_beside_the_note(
    client, world, login_as
):
    repair = in_progress(client, world, login_as)
    response = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={"materials": "合页螺丝", "charge": "30.00"},
        headers=ZH,
    )
    assert response.status_code == 400  # the page again, not a redirect that loses the input
    page = response.get_data(as_text=True)
    form = form_of(page, "complete")
    assert "is-invalid" in tag(form, "note")
    assert message_at(form, "note") == "此项为必填项。"
    assert 'value="合页螺丝"' in tag(form, "materials")
    assert 'value="30.00"' in tag(form, "charge")
    assert "Field required" not in page and "note:" not in page
    db.session.refresh(repair)
    assert repair.status == "in_progress"


def test_a_negative_charge_is_told_on_the_charge_field(client, world, login_as):
    repair = in_progress(client, world, login_as)
    response = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={"note": "调整合页", "charge": "-50"},
        headers=ZH,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    form = form_of(page, "complete")
    assert message_at(form, "charge") == "金额必须大于零。"
    assert message_at(form, "note") is None
    assert "调整合页</textarea>" in form  # what was typed stays
    assert 'value="-50"' in tag(form, "charge")
    assert "Value error" not in page


def test_messages_speak_the_readers_language(client, world, login_as):
    repair = in_progress(client, world, login_as)
    response = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={"note": "x" * 2001},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert message_at(form_of(response.get_data(as_text=True), "complete"), "note") == (
        "At most 2000 characters."
    )


def test_a_technician_of_another_estate_is_told_on_the_technician_field(client, world, login_as):
    login_as("resident")
    client.post(
        "/repairs/new",
        data={"category": "civil", "location": "unit", "description": "墙裂了"},
        content_type="multipart/form-data",
    )
    repair = db.session.scalar(select(Repair))
    login_as("frontdesk")
    response = client.post(
        f"/repairs/{repair.id}/act/assign", data={"technician_id": world.resident.id}, headers=ZH
    )
    assert response.status_code == 400
    form = form_of(response.get_data(as_text=True), "assign")
    assert message_at(form, "technician_id")  # the rule's own message, beside the choice


def test_the_forms_carry_the_schemas_limits(client, world, login_as):
    repair = in_progress(client, world, login_as)
    page = client.get(f"/repairs/{repair.id}", headers=ZH).get_data(as_text=True)
    form = form_of(page, "complete")
    assert 'maxlength="2000"' in tag(form, "note") and "required" in tag(form, "note")
    assert tag(form, "note").startswith("<textarea")
    assert 'maxlength="500"' in tag(form, "materials")
    assert 'inputmode="decimal"' in tag(form, "charge")
    assert "维修内容" in form  # "What was done", in the repair's sense
    photos = tag(form, "photos")
    assert 'data-max-bytes="10485760"' in photos and 'data-max-count="6"' in photos
    assert "js/photo-limits.js" in page
    login_as("frontdesk")
    page = client.get(f"/repairs/{repair.id}", headers=ZH).get_data(as_text=True)
    assert 'maxlength="500"' in tag(form_of(page, "reassign"), "reason")
    assert 'maxlength="500"' in tag(form_of(page, "cancel"), "reason")


def test_the_rating_is_five_stars_none_preset(client, world, login_as):
    repair = in_progress(client, world, login_as)
    client.post(f"/repairs/{repair.id}/act/complete", data={"note": "调整合页"})
    login_as("resident")
    page = client.get(f"/repairs/{repair.id}", headers=ZH).get_data(as_text=True)
    form = form_of(page, "confirm")
    stars = re.findall(r'<input[^>]*name="rating"[^>]*>', form)
    assert len(stars) == 5 and not any("checked" in s for s in stars)
    assert all("required" in s for s in stars)
    assert 'for="rating4"' in form and 'maxlength="1000"' in tag(form, "comment")
    refused = client.post(f"/repairs/{repair.id}/act/confirm", data={"rating": "9"}, headers=ZH)
    assert refused.status_code == 400
    assert message_at(form_of(refused.get_data(as_text=True), "confirm"), "rating") == (
        "不能大于 5。"
    )


@pytest.mark.parametrize("name", ["repairs/detail.html", "complaints/detail.html"])
def test_the_ticket_pages_write_no_limits_of_their_own(name):
    """Limits come from the schemas; a page that writes its own drifts from them."""
    source = (TEMPLATES / name).read_text()
    for written in ("maxlength", "<input", "<textarea", "<select", 'min="', 'max="'):
        assert written not in source, written


def test_with_csrf_on_the_page_again_carries_a_working_token(app, client, world, login_as):
    def token(page):
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    login_as("resident")
    client.post(
        "/repairs/new",
        data={"category": "civil", "location": "unit", "description": "墙裂了"},
        content_type="multipart/form-data",
    )
    repair = db.session.scalar(select(Repair))
    login_as("frontdesk")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"/repairs/{repair.id}").get_data(as_text=True)
        refused = client.post(
            f"/repairs/{repair.id}/act/cancel", data={"csrf_token": token(form_of(page, "cancel"))}
        )
        assert refused.status_code == 400
        again = form_of(refused.get_data(as_text=True), "cancel")
        assert message_at(again, "reason") == "此项为必填项。"
        done = client.post(
            f"/repairs/{repair.id}/act/cancel",
            data={"csrf_token": token(again), "reason": "重复报修"},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert done.status_code == 303
    db.session.refresh(repair)
    assert repair.status == "cancelled"


@pytest.mark.parametrize(
    ("charge", "message"),
    [
        ("abc", "请输入金额，如 1234.50。"),
        ("1.234", "金额最多保留两位小数（分）。"),
        ("100000.00", "收费金额须低于 100,000.00 元。"),
        ("1e400", "收费金额须低于 100,000.00 元。"),  # no server error for a huge exponent
    ],
)
def test_every_bad_charge_is_told_on_the_charge_field(client, world, login_as, charge, message):
    repair = in_progress(client, world, login_as)
    response = client.post(
        f"/repairs/{repair.id}/act/complete", data={"note": "补缝", "charge": charge}, headers=ZH
    )
    assert response.status_code == 400
    assert message_at(form_of(response.get_data(as_text=True), "complete"), "charge") == message
