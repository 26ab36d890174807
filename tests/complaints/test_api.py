"""The complaint loop through the API: register → assess → propose → approve → resolve →
return visit → close, with the 48-hour reply rule and its escalation."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.complaints.models import Complaint
from portal.blueprints.complaints.services import sweep_overdue_replies
from portal.core import clock, settings
from portal.core.visits import ReturnVisit
from portal.core.workflow import TicketEscalation
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.factories import make_resident

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(NOON)


def register(client, headers, **body):
    body = {"category": "service_attitude", "content": "保安态度恶劣", **body}
    return client.post("/api/v1/complaints", json=body, headers=headers)


def act(client, headers, cid, action, **data):
    return client.post(f"/api/v1/complaints/{cid}/{action}", json=data, headers=headers)


def test_the_closed_loop(client, world, api_token):
    resident, desk, boss = api_token("resident"), api_token("frontdesk"), api_token("supervisor")
    created = register(client, resident)
    assert created.status_code == 201, created.get_json()
    c = created.get_json()
    assert c["number"] == "TS202611230001" and c["status"] == "registered"
    assert c["reply_due_at"].startswith("2026-11-25T04:00")  # 48 h
    assert c["owner_id"] is None  # online: the first staff member to act owns it
    cid = c["id"]
    assert (
        act(client, desk, cid, "assess", valid=True, department="秩序维护部").get_json()["status"]
        == "accepted"
    )
    assert (
        act(
            client, desk, cid, "investigate", cause="夜班保安不耐烦", responsible="张某"
        ).status_code
        == 200
    )
    assert (
        act(client, desk, cid, "propose", plan="当面致歉并培训").get_json()["status"]
        == "plan_proposed"
    )
    assert act(client, desk, cid, "approve").status_code == 403  # front desk cannot approve
    assert (
        act(client, boss, cid, "send-back", reason="加上回访时间").get_json()["status"]
        == "accepted"
    )
    act(client, desk, cid, "propose", plan="当面致歉并培训，三天内回访")
    assert act(client, boss, cid, "approve").get_json()["status"] == "in_progress"
    resolved = act(client, desk, cid, "resolve", result="已致歉，保安已培训")
    assert resolved.get_json()["status"] == "resolved"
    assert resolved.get_json()["first_reply_at"] is not None
    assert act(client, resident, cid, "respond", accepted=True).status_code == 200
    early = act(client, desk, cid, "close")
    assert early.status_code == 409  # no return visit yet
    assert (
        act(client, desk, cid, "return-visit", result="satisfied", note="满意").get_json()["status"]
        == "resolved"
    )
    closed = act(client, desk, cid, "close").get_json()
    assert closed["status"] == "closed" and closed["owner_id"] == world.frontdesk.id
    assert [e["action"] for e in closed["events"]] == [
        "submit",
        "assess",
        "investigate",
        "propose",
        "send-back",
        "propose",
        "approve",
        "resolve",
        "respond",
        "return-visit",
        "close",
    ]
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert {"complaint_registered", "complaint_approval", "complaint_resolved"} <= kinds


def test_not_valid_is_closed_with_a_polite_reply(client, world, api_token):
    cid = register(client, api_token("resident"), category="other").get_json()["id"]
    desk = api_token("frontdesk")
    bad = act(client, desk, cid, "assess", valid=False)
    assert bad.status_code == 400  # a reply is required
    done = act(client, desk, cid, "assess", valid=False, reply="经核实，该区域不属于物业管理范围。")
    assert done.get_json()["status"] == "closed" and done.get_json()["reply"]


def test_dissatisfied_visit_sends_it_back_and_is_counted(client, world, api_token):
    desk, boss = api_token("frontdesk"), api_token("supervisor")
    cid = register(client, api_token("resident")).get_json()["id"]
    act(client, desk, cid, "assess", valid=True, department="客服部")
    act(client, desk, cid, "propose", plan="道歉")
    act(client, boss, cid, "approve")
    act(client, desk, cid, "resolve", result="已道歉")
    back = act(client, desk, cid, "return-visit", result="dissatisfied", note="不接受")
    assert back.get_json()["status"] == "accepted"
    assert back.get_json()["visit_result"] == "dissatisfied"
    assert db.session.get(Complaint, cid).visit_due_at is None  # back in the loop
    assert act(client, desk, cid, "close").status_code == 409
    act(client, desk, cid, "propose", plan="再次道歉并赔偿")
    act(client, boss, cid, "approve")
    act(client, desk, cid, "resolve", result="已赔偿")
    assert act(client, desk, cid, "close").status_code == 409  # the new resolution: visit again
    again = act(
        client, desk, cid, "return-visit", result="satisfied", note="接受", channel="in_person"
    )
    assert again.get_json()["visit_result"] == "satisfied"
    assert act(client, desk, cid, "close").get_json()["status"] == "closed"
    visits = db.session.scalars(
        select(ReturnVisit).where(ReturnVisit.kind == "complaint").order_by(ReturnVisit.id)
    ).all()  # both visits are kept, the first is not overwritten
    assert [(v.ticket_id, v.result, v.note, v.channel, v.visited_by_id) for v in visits] == [
        (cid, "dissatisfied", "不接受", "phone", world.frontdesk.id),
        (cid, "satisfied", "接受", "in_person", world.frontdesk.id),
    ]


def resolved_complaint(client, world, api_token):
    desk, boss = api_token("frontdesk"), api_token("supervisor")
    cid = register(client, api_token("resident")).get_json()["id"]
    act(client, desk, cid, "assess", valid=True, department="客服部")
    act(client, desk, cid, "propose", plan="道歉")
    act(client, boss, cid, "approve")
    assert act(client, desk, cid, "resolve", result="已道歉").status_code == 200
    return db.session.get(Complaint, cid)


def test_the_visit_is_due_48_hours_after_resolution_outside_rest_hours(client, world, api_token):
    complaint = resolved_complaint(client, world, api_token)  # resolved at 12:00 estate time
    assert complaint.visit_due_at == NOON + timedelta(hours=48)
    settings.set_value("complaints.visit_due_hours", 11, actor=world.admin)
    db.session.commit()
    later = resolved_complaint(client, world, api_token)  # due 23:00: rest hours until 08:00
    assert later.visit_due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "reporter",
    ["other_estate_resident", "neighbour", "family_for_a_common_area", "unknown"],
)
def test_staff_may_name_only_the_units_residents_as_reporter(client, world, api_token, reporter):
    outsider = make_resident(world.other_unit, name="外人", phone="13900000009")
    reporter_id, unit_id = {
        "other_estate_resident": (outsider.id, world.unit.id),
        "neighbour": (world.resident2.id, world.unit.id),
        "family_for_a_common_area": (world.family.id, None),
        "unknown": (999_999, world.unit.id),
    }[reporter]
    db.session.commit()
    before = db.session.scalar(select(func.count(OutboxMessage.id)))
    refused = register(
        client, api_token("frontdesk"), unit_id=unit_id, reporter_id=reporter_id, channel="phone"
    )
    assert refused.status_code == 404, refused.get_json()
    assert db.session.scalar(select(Complaint.id)) is None
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == before
    family = register(
        client, api_token("frontdesk"), unit_id=world.unit.id, reporter_id=world.family.id
    )
    assert family.status_code == 201 and family.get_json()["reporter_id"] == world.family.id


def test_inquiries_are_answered_and_closed(client, world, api_token):
    cid = register(
        client, api_token("resident"), kind="inquiry", category="fees", content="物业费怎么交？"
    ).get_json()["id"]
    desk = api_token("frontdesk")
    assert act(client, desk, cid, "assess", valid=True, department="x").status_code == 409
    answered = act(client, desk, cid, "answer", reply="可在前台或线上缴纳。").get_json()
    assert answered["status"] == "closed" and answered["first_reply_at"]


def test_bad_input_changes_nothing(client, world, api_token):
    resident = api_token("resident")
    for body, field in (
        ({"content": ""}, "content"),
        ({"content": "长" * 20_000}, "content"),
        ({"category": "weather"}, "category"),
        ({"kind": "praise"}, "kind"),
    ):
        response = register(client, resident, **body)
        assert response.status_code == 400, response.get_json()
        assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(Complaint.id)) is None
    cid = register(client, resident).get_json()["id"]
    neighbour = api_token("resident2")
    assert client.get(f"/api/v1/complaints/{cid}", headers=neighbour).status_code == 404
    assert act(client, neighbour, cid, "respond", accepted=False).status_code == 404
    assert (
        act(
            client, api_token("frontdesk_other"), cid, "assess", valid=True, department="x"
        ).status_code
        == 404
    )


def test_progress_reply_moves_the_due_time_and_the_ladder_follows(client, world, api_token):
    desk = api_token("frontdesk")
    cid = register(client, api_token("resident")).get_json()["id"]
    steps = lambda: sorted(db.session.scalars(select(TicketEscalation.step)))  # noqa: E731
    clock.freeze(NOON + timedelta(hours=47))
    sweep_overdue_replies()
    assert steps() == []
    clock.freeze(NOON + timedelta(hours=48, minutes=1))
    sweep_overdue_replies()
    assert steps() == ["escalate_supervisor"]
    later = (NOON + timedelta(hours=72)).isoformat()
    moved = act(
        client, desk, cid, "progress-reply", message="正在调查，周三前答复", next_reply_at=later
    ).get_json()
    assert moved["reply_due_at"].startswith("2026-11-26T04:00") and moved["first_reply_at"]
    past = act(
        client,
        desk,
        cid,
        "progress-reply",
        message="x",
        next_reply_at=(NOON - timedelta(hours=1)).isoformat(),
    )
    assert past.status_code == 400
    clock.freeze(NOON + timedelta(hours=72, minutes=1))
    sweep_overdue_replies()
    assert steps() == ["escalate_supervisor", "escalate_supervisor"]  # again, from the new time
    clock.freeze(NOON + timedelta(hours=96, minutes=1))
    sweep_overdue_replies()
    assert steps() == ["escalate_manager", "escalate_supervisor", "escalate_supervisor"]


def test_hand_over_changes_the_owner(client, world, api_token):
    desk = api_token("frontdesk")
    cid = register(
        client, desk, unit_id=world.unit.id, reporter_id=world.resident.id, channel="walk_in"
    ).get_json()["id"]
    assert db.session.get(Complaint, cid).owner_id == world.frontdesk.id
    moved = act(client, desk, cid, "hand-over", to_user_id=world.supervisor.id, reason="交主管")
    assert moved.get_json()["owner_id"] == world.supervisor.id
    bad = act(client, desk, cid, "hand-over", to_user_id=world.other_frontdesk.id, reason="x")
    assert bad.status_code == 400
