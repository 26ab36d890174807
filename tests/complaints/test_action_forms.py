"""A complaint's action forms: drawn from the transition's schema, and a refused step
answers with the page again, what was typed kept, each message beside its field."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.blueprints.complaints.models import Complaint
from portal.core import clock
from portal.extensions import db
from tests.ticket_pages import ZH, form_of, forms_of, message_at, tag


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def registered(client, login_as) -> Complaint:
    login_as("resident")
    client.post(
        "/complaints/new",
        data={"kind": "complaint", "category": "cleaning_greening", "content": "楼道两天没打扫"},
    )
    login_as("frontdesk")
    return db.session.scalar(select(Complaint))


def test_an_assessment_without_a_department_says_so_beside_the_department(client, world, login_as):
    complaint = registered(client, login_as)
    response = client.post(
        f"/complaints/{complaint.id}/act/assess", data={"valid": "true"}, headers=ZH
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    valid, not_valid = forms_of(page, "assess")
    assert message_at(valid, "department") == "请填写责任部门。"
    assert "is-invalid" in tag(valid, "department")
    assert message_at(not_valid, "reply") is None  # the other answer's form is untouched
    assert "a valid complaint" not in page and "data:" not in page
    db.session.refresh(complaint)
    assert complaint.status == "registered"


def test_a_reply_too_long_keeps_the_text(client, world, login_as):
    complaint = registered(client, login_as)
    long = "很抱歉" * 700  # 2100 characters
    response = client.post(
        f"/complaints/{complaint.id}/act/assess", data={"valid": "false", "reply": long}
    )
    assert response.status_code == 400
    not_valid = forms_of(response.get_data(as_text=True), "assess")[1]
    assert message_at(not_valid, "reply") == "最多 2000 个字符。"
    assert long in not_valid


def test_a_progress_reply_in_the_past_is_told_on_its_time(client, world, login_as):
    complaint = registered(client, login_as)
    response = client.post(
        f"/complaints/{complaint.id}/act/progress-reply",
        data={"message": "已联系保洁", "next_reply_at": "2026-11-20T10:00"},
        headers=ZH,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    form = form_of(page, "progress-reply")
    assert message_at(form, "next_reply_at") == "下次答复时间必须晚于现在。"
    assert 'value="2026-11-20T10:00"' in tag(form, "next_reply_at")
    assert "已联系保洁</textarea>" in form
    assert '<details class="mb-3" open>' in page  # the folded form opens on its message


def test_words_with_two_meanings_carry_their_context(client, world, login_as):
    complaint = registered(client, login_as)
    page = client.get(f"/complaints/{complaint.id}", headers=ZH).get_data(as_text=True)
    assert '<label class="form-label" for="to_user_id">移交给</label>' in page
    assert "收件人" not in page
    assert 'maxlength="100"' in tag(form_of(page, "assess"), "department")
    assert 'maxlength="500"' in tag(form_of(page, "hand-over"), "reason")
    client.post(
        f"/complaints/{complaint.id}/act/assess", data={"valid": "true", "department": "保洁部"}
    )
    client.post(f"/complaints/{complaint.id}/act/propose", data={"plan": "今天补扫"})
    login_as("supervisor")
    client.post(f"/complaints/{complaint.id}/act/approve")
    login_as("frontdesk")
    page = client.get(f"/complaints/{complaint.id}", headers=ZH).get_data(as_text=True)
    resolve = form_of(page, "resolve")
    assert '<label class="form-label" for="result">处理结果</label>' in resolve
    assert "维修内容" not in page


def test_a_hand_over_to_someone_outside_the_estate_is_told_on_the_choice(client, world, login_as):
    complaint = registered(client, login_as)
    response = client.post(
        f"/complaints/{complaint.id}/act/hand-over",
        data={"to_user_id": str(world.resident.id), "reason": "休假"},
        headers=ZH,
    )
    assert response.status_code == 400
    form = form_of(response.get_data(as_text=True), "hand-over")
    assert message_at(form, "to_user_id")
    assert 'value="休假"' in tag(form, "reason")


def test_role_and_state_refusals_still_say_so_on_the_page_they_lead_to(client, world, login_as):
    complaint = registered(client, login_as)
    response = client.post(
        f"/complaints/{complaint.id}/act/close", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 303  # not about input: back to the page, with the reason
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Make the return visit before closing the complaint." in page
