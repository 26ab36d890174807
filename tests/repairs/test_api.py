"""The life of a repair through the API, its rules and its error answers."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.repairs.models import Repair
from portal.blueprints.repairs.services import board, sweep_overdue, technicians_for
from portal.core import clock, settings
from portal.core.people import StaffRole
from portal.core.visits import ReturnVisit
from portal.core.workflow import TicketEscalation
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.factories import make_resident, make_staff

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 estate time


@pytest.fixture(autouse=True)
def noon():
    clock.freeze(NOON)


def report(client, headers, **body):
    body = {
        "category": "plumbing_electrical",
        "location": "unit",
        "description": "厨房水龙头漏水",
        **body,
    }
    return client.post("/api/v1/repairs", json=body, headers=headers)


def act(client, headers, repair_id, action, **data):
    return client.post(f"/api/v1/repairs/{repair_id}/{action}", json=data, headers=headers)


def test_the_whole_life_of_a_repair(client, world, api_token):
    resident, desk, tech = api_token("resident"), api_token("frontdesk"), api_token("technician")
    created = report(client, resident)
    assert created.status_code == 201, created.get_json()
    repair = created.get_json()
    assert repair["number"] == "BX202611230001" and repair["status"] == "submitted"
    assert repair["unit_id"] == world.unit.id and repair["channel"] == "online"
    assert repair["due_at"].startswith("2026-11-24T04:00")  # plumbing: 24 h
    assert repair["allowed_actions"] == ["cancel"]
    rid = repair["id"]
    assigned = act(client, desk, rid, "assign", technician_id=world.technician.id).get_json()
    assert assigned["status"] == "assigned" and assigned["assignee"]["id"] == world.technician.id
    assert act(client, tech, rid, "start").get_json()["status"] == "in_progress"
    done = act(client, tech, rid, "complete", note="更换阀芯", charge="80.00", materials="阀芯×1")
    assert done.get_json()["status"] == "completed" and done.get_json()["charge"] == "80.00"
    closed = act(client, resident, rid, "confirm", rating=5, comment="很快")
    assert closed.get_json()["status"] == "closed" and closed.get_json()["rating"] == 5
    visit = act(client, desk, rid, "return-visit", result="satisfied", note="电话回访满意")
    assert visit.status_code == 200 and visit.get_json()["status"] == "closed"
    detail = client.get(f"/api/v1/repairs/{rid}", headers=resident).get_json()
    assert [e["action"] for e in detail["events"]] == [
        "submit",
        "assign",
        "start",
        "complete",
        "confirm",
        "return-visit",
    ]
    assert detail["events"][1]["actor"]["id"] == world.frontdesk.id
    assert detail["events"][1]["from"] == "submitted" and detail["events"][1]["to"] == "assigned"
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert {"repair_received", "repair_assigned", "repair_new_order", "repair_completed"} <= kinds


def test_not_fixed_reopens_and_counts_as_rework(client, world, api_token):
    resident, desk, tech = api_token("resident"), api_token("frontdesk"), api_token("technician")
    rid = report(client, resident).get_json()["id"]
    act(client, desk, rid, "assign", technician_id=world.technician.id)
    act(client, tech, rid, "start")
    act(client, tech, rid, "complete", note="done")
    reopened = act(client, resident, rid, "reopen", reason="还在漏")
    assert reopened.get_json()["status"] == "reopened"
    assert reopened.get_json()["allowed_actions"] == []  # the resident waits for dispatch
    assert db.session.get(Repair, rid).reopened_count == 1
    assert act(client, desk, rid, "assign", technician_id=world.technician.id).status_code == 200


def test_wrong_state_answers_409_naming_the_allowed_actions(client, world, api_token):
    rid = report(client, api_token("resident")).get_json()["id"]
    response = act(client, api_token("supervisor"), rid, "complete", note="x")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["fields"]["allowed"] == ["assign", "cancel"] and "assign" in error["message"]
    unknown = act(client, api_token("supervisor"), rid, "teleport")
    assert unknown.status_code == 409


def test_roles_and_bad_input(client, world, api_token):
    resident, desk = api_token("resident"), api_token("frontdesk")
    rid = report(client, resident).get_json()["id"]
    assert (
        act(client, resident, rid, "assign", technician_id=world.technician.id).status_code == 403
    )
    bad = act(client, desk, rid, "assign", technician_id=world.frontdesk.id)
    assert bad.status_code == 400 and "technician_id" in bad.get_json()["error"]["fields"]
    act(client, desk, rid, "assign", technician_id=world.technician.id)
    tech = api_token("technician")
    act(client, tech, rid, "start")
    act(client, tech, rid, "complete", note="ok")
    for rating in (0, 6, "five"):
        response = act(client, resident, rid, "confirm", rating=rating)
        assert response.status_code == 400 and "rating" in response.get_json()["error"]["fields"]
    charge = act(client, api_token("supervisor"), rid, "complete", note="x", charge="1.234")
    assert charge.status_code == 409  # already completed; state is checked first
    assert db.session.get(Repair, rid).status == "completed"


def test_a_charge_is_money_in_yuan_with_two_decimals(client, world, api_token):
    rid = report(client, api_token("resident")).get_json()["id"]
    act(client, api_token("frontdesk"), rid, "assign", technician_id=world.technician.id)
    tech = api_token("technician")
    act(client, tech, rid, "start")
    for bad in ("1.234", "-5", "0", "abc", "NaN", "Infinity", "100000.00"):
        response = act(client, tech, rid, "complete", note="x", charge=bad)
        assert response.status_code == 400, bad
        assert "charge" in response.get_json()["error"]["fields"]
    done = act(client, tech, rid, "complete", note="x", charge="80.5")
    assert done.get_json()["charge"] == "80.50"
    assert db.session.get(Repair, rid).charge_fen == 8050


def test_another_residents_repair_is_404_everywhere(client, world, api_token):
    rid = report(client, api_token("resident")).get_json()["id"]
    neighbour = api_token("resident2")
    assert client.get(f"/api/v1/repairs/{rid}", headers=neighbour).status_code == 404
    assert act(client, neighbour, rid, "cancel", reason="x").status_code == 404
    listed = client.get("/api/v1/repairs", headers=neighbour).get_json()
    assert listed["total"] == 0
    other = api_token("frontdesk_other")
    assert client.get(f"/api/v1/repairs/{rid}", headers=other).status_code == 404


def test_resident_cancels_only_before_dispatch(client, world, api_token):
    resident = api_token("resident")
    rid = report(client, resident).get_json()["id"]
    act(client, api_token("frontdesk"), rid, "assign", technician_id=world.technician.id)
    response = act(client, {**resident, "Accept-Language": "en"}, rid, "cancel", reason="不修了")
    assert response.status_code == 409 and "call" in response.get_json()["error"]["message"]


def test_staff_register_for_callers_and_patrols(client, world, api_token):
    desk = api_token("frontdesk")
    phoned = report(
        client, desk, unit_id=world.unit2.id, channel="phone", reporter_id=world.resident2.id
    ).get_json()
    assert phoned["channel"] == "phone" and phoned["reporter_id"] == world.resident2.id
    assert phoned["owner_id"] == world.frontdesk.id
    patrol = report(
        client,
        desk,
        location="common",
        channel="patrol",
        category="elevator",
        description="3栋电梯按钮失灵",
    ).get_json()
    assert patrol["unit_id"] is None and patrol["due_at"].startswith("2026-11-23T08:00")
    foreign = report(client, desk, unit_id=world.other_unit.id)
    assert foreign.status_code == 400


def test_bad_reports(client, world, api_token):
    resident = api_token("resident")
    for body, field in (
        ({"category": "magic"}, "category"),
        ({"location": "moon"}, "location"),
        ({"description": ""}, "description"),
        ({"unit_id": world.unit2.id}, "unit_id"),
    ):
        response = report(client, resident, **body)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(Repair.id)) is None


def test_overdue_ladder_warns_then_escalates_once_each(client, world, api_token):
    resident = api_token("resident")
    rid = report(client, resident, category="elevator").get_json()["id"]  # 4 h limit
    act(client, api_token("frontdesk"), rid, "assign", technician_id=world.technician.id)
    steps = lambda: sorted(db.session.scalars(select(TicketEscalation.step)))  # noqa: E731
    clock.freeze(NOON + timedelta(hours=2))
    sweep_overdue()
    assert steps() == []
    clock.freeze(NOON + timedelta(hours=3, minutes=1))
    sweep_overdue()
    assert steps() == ["warn"]
    clock.freeze(NOON + timedelta(hours=4, minutes=1))
    sweep_overdue()
    sweep_overdue()
    assert steps() == ["escalate_supervisor", "warn"]
    urged = act(client, resident, rid, "urge")
    assert urged.status_code == 200
    clock.freeze(NOON + timedelta(hours=8, minutes=1))
    sweep_overdue()
    assert steps() == ["escalate_manager", "escalate_supervisor", "warn"]
    recipients = set(
        db.session.scalars(
            select(OutboxMessage.recipient_id).where(
                OutboxMessage.kind.in_(
                    [
                        "repair_escalate_supervisor",
                        "repair_escalate_manager",
                        "repair_due_soon",
                        "repair_urged",
                    ]
                )
            )
        )
    )
    assert recipients == {world.technician.id, world.supervisor.id, world.manager.id}


def test_urge_only_when_overdue(client, world, api_token):
    resident = api_token("resident")
    rid = report(client, resident).get_json()["id"]
    assert act(client, resident, rid, "urge").status_code == 409


def test_technicians_by_skill_with_open_load(client, world, api_token):
    civil = make_staff("technician", world.estate, username="mason")
    db.session.scalar(select(StaffRole).where(StaffRole.user_id == civil.id)).skills = ["civil"]
    db.session.commit()
    rid = report(client, api_token("resident")).get_json()["id"]
    act(client, api_token("frontdesk"), rid, "assign", technician_id=world.technician.id)
    second = report(client, api_token("resident")).get_json()["id"]
    choices = technicians_for(db.session.get(Repair, second))
    assert [(c["user"].id, c["open"]) for c in choices] == [(world.technician.id, 1)]
    stats = board(world.supervisor)
    assert stats["unassigned"] == 1 and stats["by_state"] == {"assigned": 1, "submitted": 1}


def completed_repair(client, world, api_token, **body):
    desk, tech = api_token("frontdesk"), api_token("technician")
    rid = report(client, api_token("resident"), **body).get_json()["id"]
    act(client, desk, rid, "assign", technician_id=world.technician.id)
    act(client, tech, rid, "start")
    assert act(client, tech, rid, "complete", note="修好了").status_code == 200
    return rid


def test_the_visit_is_due_3_days_after_completion_outside_rest_hours(client, world, api_token):
    rid = completed_repair(client, world, api_token)  # completed at 12:00 estate time
    assert db.session.get(Repair, rid).visit_due_at == NOON + timedelta(days=3)
    settings.set_value("repairs.visit_due_hours", 12, actor=world.admin)
    db.session.commit()
    late = completed_repair(client, world, api_token)  # due at midnight: moved to 08:00
    assert db.session.get(Repair, late).visit_due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    act(client, api_token("resident"), late, "reopen", reason="还漏")
    assert db.session.get(Repair, late).visit_due_at is None  # being worked on again


def test_a_dissatisfied_visit_keeps_the_repair_and_calls_the_supervisor(client, world, api_token):
    desk, boss = api_token("frontdesk"), api_token("supervisor")
    rid = completed_repair(client, world, api_token)
    assert (
        "review"
        not in act(client, boss, rid, "return-visit", result="neutral", note="一般").get_json()[
            "allowed_actions"
        ]
    )
    upset = act(client, desk, rid, "return-visit", result="dissatisfied", note="师傅态度差")
    assert upset.get_json()["status"] == "completed"  # as declared: it stays for review
    assert (
        "review"
        in act(
            client, boss, rid, "return-visit", result="dissatisfied", note="仍不满意"
        ).get_json()["allowed_actions"]
    )
    notices = db.session.scalars(
        select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "repair_dissatisfied")
    ).all()
    assert set(notices) == {world.supervisor.id} and len(notices) == 2
    results = db.session.scalars(
        select(ReturnVisit.result).where(ReturnVisit.ticket_id == rid).order_by(ReturnVisit.id)
    ).all()
    assert results == ["neutral", "dissatisfied", "dissatisfied"]


@pytest.mark.parametrize(
    "reporter",
    ["other_estate_resident", "neighbour", "family_for_a_common_area", "unknown"],
)
def test_staff_may_name_only_the_units_residents_as_reporter(client, world, api_token, reporter):
    outsider = make_resident(world.other_unit, name="外人", phone="13900000009")
    body = {
        "other_estate_resident": {"unit_id": world.unit.id, "reporter_id": outsider.id},
        "neighbour": {"unit_id": world.unit.id, "reporter_id": world.resident2.id},
        "family_for_a_common_area": {"location": "common", "reporter_id": world.family.id},
        "unknown": {"unit_id": world.unit.id, "reporter_id": 999_999},
    }[reporter]
    db.session.commit()
    before = db.session.scalar(select(func.count(OutboxMessage.id)))
    refused = report(client, api_token("frontdesk"), channel="phone", **body)
    assert refused.status_code == 404, refused.get_json()
    assert db.session.scalar(select(Repair.id)) is None
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == before
    desk = api_token("frontdesk")
    mine = report(client, desk, location="common", reporter_id=world.frontdesk.id)
    assert mine.status_code == 201 and mine.get_json()["reporter_id"] == world.frontdesk.id
