"""The works of a renovation through the API (issue 16 points 3-5): patrol inspections,
violations and their rectification, postponement (passes extended), suspension (passes
revoked) and resumption (passes issued again), the hidden-works acceptance, and the
completion acceptance (passes end, occupancy, the deposit refunded less deductions)."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import DepositRefund
from portal.blueprints.passes.models import Pass
from portal.core.places import Unit
from portal.extensions import db
from tests.renovation.helpers import approved, take


def _passes(renovation_id):
    return db.session.scalars(
        select(Pass)
        .where(Pass.source_kind == "renovation", Pass.source_id == renovation_id)
        .order_by(Pass.id)
    ).all()


def _pay_deposit(world, body, fen=200000):
    ledger.record_payment(
        db.session.get(Unit, world.unit.id),
        fen,
        "cash",
        actor=world.frontdesk,
        source="counter",
        bill_ids=[body["approval"]["bills"]["deposit"]],
    )
    db.session.commit()


def _refunds():
    return db.session.scalar(select(func.count()).select_from(DepositRefund))


def test_inspections_a_violation_and_its_rectification(client, world, api_token):
    body = approved(client, api_token, world.unit.id)
    tech = api_token("technician")
    rid = body["id"]
    after = take(client, tech, rid, "inspect", {"result": "ok", "note": "现场整洁"})
    assert after["status"] == "approved" and after["works"]["open_violations"] == []
    take(client, tech, rid, "rectify", {"note": "无"}, status=409)
    # a violation needs a date to rectify by, not in the past
    take(client, tech, rid, "inspect", {"result": "violation", "note": "午休施工"}, status=400)
    bad = {"result": "violation", "note": "午休施工", "rectify_by": "2026-11-01"}
    take(client, tech, rid, "inspect", bad, status=400)
    take(client, tech, rid, "inspect", {"result": "maybe", "note": "?"}, status=400)
    violation = {
        "result": "violation",
        "note": "午休时间电钻施工",
        "violation_type": "noise",
        "rectify_by": "2026-11-25",
    }
    after = take(client, tech, rid, "inspect", violation)
    assert len(after["works"]["inspections"]) == 2
    [open_] = after["works"]["open_violations"]
    assert open_["rectify_by"] == "2026-11-25" and open_["violation_type"] == "noise"
    after = take(client, tech, rid, "rectify", {"note": "已整改，施工队签字"})
    assert after["works"]["open_violations"] == []
    assert [e["action"] for e in after["events"]][-3:] == ["inspect", "inspect", "rectify"]
    # the resident may not inspect
    take(client, api_token("resident"), rid, "inspect", {"result": "ok", "note": "x"}, status=403)


def test_postponement_extends_the_passes(client, world, api_token):
    body = approved(client, api_token, world.unit.id)
    rid = body["id"]
    sup = api_token("supervisor")
    take(client, sup, rid, "postpone", {"ends_on": "2026-12-20", "reason": "x"}, status=400)
    take(client, sup, rid, "postpone", {"ends_on": "2027-03-01", "reason": "x"}, status=400)
    after = take(client, sup, rid, "postpone", {"ends_on": "2026-12-31", "reason": "材料延迟"})
    assert after["ends_on"] == "2026-12-31"
    ends = {p.valid_until.astimezone(UTC) for p in _passes(rid)}
    assert ends == {datetime(2026, 12, 31, 16, 0, tzinfo=UTC)}  # 2027-01-01 00:00 in Shanghai


def test_suspension_revokes_and_resumption_issues_again(client, world, api_token):
    body = approved(client, api_token, world.unit.id)
    rid = body["id"]
    sup = api_token("supervisor")
    take(client, sup, rid, "resume", status=409)
    after = take(client, sup, rid, "suspend", {"reason": "违规拆改承重墙"})
    assert after["status"] == "suspended"
    assert {p.status for p in _passes(rid)} == {"revoked"}
    take(client, api_token("technician"), rid, "hidden-works", {"passed": True, "note": "x"}, 409)
    after = take(client, sup, rid, "resume")
    assert after["status"] == "approved"
    live = [p for p in _passes(rid) if p.status != "revoked"]
    assert len(live) == 2 and len(_passes(rid)) == 4


def test_acceptance_needs_the_hidden_works_and_a_failure_keeps_the_works_open(
    client, world, api_token
):
    body = approved(client, api_token, world.unit.id)
    rid = body["id"]
    tech = api_token("technician")
    take(client, tech, rid, "accept", {"passed": True, "note": "x"}, status=409)
    after = take(client, tech, rid, "hidden-works", {"passed": False, "note": "闭水试验渗漏"})
    assert after["works"]["hidden_works_passed"] is False
    after = take(client, tech, rid, "hidden-works", {"passed": True, "note": "48小时闭水合格"})
    assert after["works"]["hidden_works_passed"] is True
    take(client, tech, rid, "hidden-works", {"passed": True, "note": "again"}, status=409)
    after = take(client, tech, rid, "accept", {"passed": False, "note": "阳台瓷砖空鼓"})
    assert (
        after["status"] == "approved" and after["works"]["acceptances"][0]["note"] == "阳台瓷砖空鼓"
    )
    assert {p.status for p in _passes(rid)} != {"revoked"}
    # the resident may not accept
    take(client, api_token("resident"), rid, "accept", {"passed": True, "note": "x"}, status=403)


def test_a_passed_acceptance_ends_passes_changes_occupancy_and_refunds(client, world, api_token):
    body = approved(client, api_token, world.unit.id)
    rid = body["id"]
    tech = api_token("technician")
    take(client, tech, rid, "hidden-works", {"passed": True, "note": "合格"})
    accept = {
        "passed": True,
        "note": "验收合格",
        "deductions": [{"reason": "楼道墙面损坏", "amount": "300.00"}],
    }
    # not paid yet: the ledger's 409 passes through, nothing stored
    take(client, tech, rid, "accept", accept, status=409)
    assert _refunds() == 0
    _pay_deposit(world, body)
    too_much = {**accept, "deductions": [{"reason": "损坏", "amount": "2500.00"}]}
    take(client, tech, rid, "accept", too_much, status=400)
    take(client, tech, rid, "accept", {**accept, "occupancy": "castle"}, status=400)
    take(client, tech, rid, "accept", {**accept, "refund_method": "gold"}, status=400)
    assert _refunds() == 0
    assert {p.status for p in _passes(rid)} != {"revoked"}
    after = take(client, tech, rid, "accept", accept)
    assert after["status"] == "accepted"
    assert after["deposit"] == {
        "billed": "2000.00",
        "paid": "2000.00",
        "deducted": "300.00",
        "refunded": "1700.00",
        "held": "0.00",
    }
    assert after["refund"]["refunded"] == "1700.00"
    assert after["refund"]["slip_url"].endswith(f"/fees/refunds/{after['refund']['id']}.pdf")
    assert {p.status for p in _passes(rid)} == {"revoked"}
    assert db.session.get(Unit, world.unit.id).occupancy == "renovated_vacant"
    # the refund once only: the renovation is closed
    take(client, tech, rid, "accept", accept, status=409)
    assert _refunds() == 1
