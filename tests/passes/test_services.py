"""Pass services: issuing by whom, the tenant's approval, the window rules, and every answer
a check at the gate can give (with the portal clock frozen)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.passes import services
from portal.blueprints.passes.models import Pass, PassCheck, Result, Status
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.errors import ServiceError
from portal.extensions import db
from tests.passes.conftest import window


def checks_logged():
    return db.session.scalar(select(func.count(PassCheck.id)))


def test_the_desk_issues_an_active_pass_with_a_number_and_an_unguessable_code(world, issue):
    first = issue("goods")
    second = issue("visitor")
    third = issue("worker")
    assert first.status == Status.active and first.approved_by_id == world.frontdesk.id
    assert first.number == "FX202611230001"  # gap-free per estate, kind and day
    assert second.number.startswith("FK") and third.number.startswith("CR")
    assert len(first.code) >= 16 and first.code != second.code
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_id == first.id)) == (
        "pass.issue"
    )


def test_an_owner_asks_for_goods_and_visitor_passes_for_their_own_unit(world, issue):
    goods = issue("goods", actor=world.resident2)
    visitor = issue("visitor", actor=world.resident2)
    assert goods.status == visitor.status == Status.active


def test_a_resident_asks_for_no_pass_for_another_unit_nor_a_worker_pass(world, issue):
    with pytest.raises(ServiceError) as refused:
        issue("goods", unit=world.unit, actor=world.resident2)
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        issue("worker", actor=world.resident2)
    assert refused.value.status == 403
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_a_technician_and_a_guard_issue_no_pass(world, issue, guard):
    for actor in (world.technician, guard):
        with pytest.raises(ServiceError) as refused:
            issue("visitor", actor=actor)
        assert refused.value.status == 403


def test_a_tenant_s_goods_pass_waits_for_the_owner_who_approves_it(world, issue, tenant):
    goods = issue("goods", actor=tenant)
    visitor = issue("visitor", actor=tenant)
    assert goods.status == Status.pending and visitor.status == Status.active
    assert services.check_pass(goods.number, actor=world.frontdesk)[0] == Result.pending
    assert not services.can_approve(tenant, goods)
    with pytest.raises(ServiceError) as refused:
        services.approve_pass(goods, actor=tenant)
    assert refused.value.status == 403
    services.approve_pass(goods, actor=world.resident2)
    assert goods.status == Status.active and goods.approved_by_id == world.resident2.id
    with pytest.raises(ServiceError) as again:
        services.approve_pass(goods, actor=world.resident2)
    assert again.value.status == 409


def test_the_neighbour_cannot_approve_but_the_desk_can(world, issue, tenant):
    goods = issue("goods", actor=tenant)
    assert not services.can_approve(world.resident, goods)
    with pytest.raises(ServiceError):
        services.approve_pass(goods, actor=world.resident)
    services.approve_pass(goods, actor=world.frontdesk)
    assert goods.status == Status.active


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"valid_until": -1}, "valid_until", "before_start"),
        ({"valid_until": 0}, "valid_until", "before_start"),
        ({"valid_until": 24 * 4}, "valid_until", "too_long"),  # goods: three days at most
        ({"items": []}, "items", "required"),
        ({"items": [{"name": "x", "quantity": 0}]}, "items", "quantity"),
        ({"items": [{"name": "", "quantity": 1}]}, "items", "required"),
        ({"items": [{"name": "x", "quantity": 1}] * 31}, "items", "too_many"),
        ({"plate": "!!"}, "plate", "format"),
    ],
)
def test_bad_goods_passes_are_refused_with_the_field(world, issue, changes, field, code):
    begin = clock.now()
    args = {}
    for key, value in changes.items():
        args[key] = begin + timedelta(hours=value) if key == "valid_until" else value
    if "valid_until" in args:
        args["valid_from"] = begin
    with pytest.raises(ServiceError) as refused:
        issue("goods", **args)
    assert refused.value.fields == {field: code}
    assert db.session.scalar(select(func.count(Pass.id))) == 0


def test_bad_people_and_kinds_are_refused(world, issue):
    with pytest.raises(ServiceError) as refused:
        issue("visitor", people=[])
    assert refused.value.fields == {"people": "required"}
    with pytest.raises(ServiceError) as refused:
        issue("visitor", people=[{"name": "王五", "phone": "12ab"}])
    assert "people" in refused.value.fields
    with pytest.raises(ServiceError) as refused:
        issue("parcel")
    assert refused.value.fields == {"kind": "unknown"}
    with pytest.raises(ServiceError) as refused:
        issue("visitor", valid_from=clock.now() - timedelta(days=3), valid_until=clock.now())
    assert refused.value.fields == {"valid_until": "past"}


def test_the_longest_window_is_a_setting(world, issue):
    from portal.core import settings

    with pytest.raises(ServiceError):
        issue("visitor", **window(hours=24 * 8))
    assert issue("visitor", **window(hours=24 * 7)).status == Status.active
    settings.set_value("passes.visitor_max_days", 10, actor=world.admin, estate_id=world.estate.id)
    assert issue("visitor", **window(hours=24 * 10)).status == Status.active


def test_a_goods_pass_is_used_up_by_its_first_check(world, issue, guard):
    goods = issue("goods")
    assert services.check_pass(goods.code, actor=guard) == (Result.valid, goods)
    assert goods.status == Status.used and goods.used_at == clock.now()
    assert services.check_pass(goods.code, actor=guard)[0] == Result.used
    assert services.check_pass(goods.number.lower(), actor=world.frontdesk)[0] == Result.used
    results = db.session.scalars(select(PassCheck.result).order_by(PassCheck.id)).all()
    assert results == ["valid", "used", "used"]


def test_a_visitor_pass_stays_valid_for_its_window(world, issue, guard):
    visitor = issue("visitor")
    for _ in range(3):
        assert services.check_pass(visitor.number, actor=guard)[0] == Result.valid
    assert visitor.status == Status.active


def test_the_window_s_edges(world, issue, guard):
    now = clock.now()
    visitor = issue(
        "visitor", valid_from=now + timedelta(hours=1), valid_until=now + timedelta(hours=3)
    )
    expectations = [
        (timedelta(hours=1) - timedelta(seconds=1), Result.outside_window),  # early
        (timedelta(hours=1), Result.valid),  # the first moment
        (timedelta(hours=3), Result.valid),  # the last moment
        (timedelta(hours=3, seconds=1), Result.outside_window),  # late
    ]
    for offset, result in expectations:
        clock.freeze(now + offset)
        assert services.check_pass(visitor.code, actor=guard)[0] == result, offset


def test_a_goods_pass_checked_early_is_not_used_up(world, issue, guard):
    now = clock.now()
    goods = issue(
        "goods", valid_from=now + timedelta(hours=2), valid_until=now + timedelta(hours=5)
    )
    assert services.check_pass(goods.code, actor=guard)[0] == Result.outside_window
    assert goods.status == Status.active
    clock.freeze(now + timedelta(hours=2))
    assert services.check_pass(goods.code, actor=guard)[0] == Result.valid


def test_revoked_unknown_and_another_estate_s_passes(world, issue, guard, other_guard):
    visitor = issue("visitor")
    assert services.check_pass("nosuchcode12345", actor=guard) == (Result.unknown, None)
    assert services.check_pass("FX209901010001", actor=guard) == (Result.unknown, None)
    assert services.check_pass("a b c", actor=guard) == (Result.unknown, None)
    assert services.check_pass(visitor.code, actor=other_guard) == (Result.unknown, None)
    services.revoke_pass(visitor, actor=world.frontdesk, reason="访客取消")
    assert services.check_pass(visitor.code, actor=guard)[0] == Result.revoked
    with pytest.raises(ServiceError) as again:
        services.revoke_pass(visitor, actor=world.frontdesk, reason="again")
    assert again.value.status == 409
    logged = db.session.scalars(select(PassCheck).order_by(PassCheck.id)).all()
    assert [c.result for c in logged] == ["unknown"] * 4 + ["revoked"]
    assert logged[3].estate_id == world.other.id and logged[3].pass_id is None
    assert logged[4].checked_by_id == guard.id and logged[4].pass_id == visitor.id


def test_a_check_names_the_code_or_nothing(world, guard):
    with pytest.raises(ServiceError) as refused:
        services.check_pass("  ", actor=guard)
    assert refused.value.fields == {"code": "required"}
    assert services.check_pass("x" * 500, actor=guard) == (Result.unknown, None)
    assert db.session.scalar(select(PassCheck.code)) == "x" * 40
    with pytest.raises(ServiceError) as refused:
        services.check_pass("FX1", actor=world.resident)
    assert refused.value.status == 403


def test_a_ticket_revokes_and_extends_its_passes(world, issue):
    a = issue("worker", source_kind="renovation", source_id=7)
    b = issue("worker", source_kind="renovation", source_id=7)
    other = issue("worker", source_kind="renovation", source_id=8)
    later = clock.now() + timedelta(days=30)
    assert services.extend_passes("renovation", 7, later, actor=world.frontdesk) == 2
    assert a.valid_until == later and other.valid_until != later
    services.revoke_pass(b, actor=world.frontdesk, reason="工人离场")
    assert services.revoke_passes("renovation", 7, actor=world.frontdesk, reason="装修完工") == 1
    assert a.status == Status.revoked and other.status == Status.active
    assert services.extend_passes("renovation", 7, later, actor=world.frontdesk) == 0


def test_the_requester_or_owner_may_revoke_the_neighbour_not(world, issue, tenant):
    goods = issue("goods", actor=tenant)
    assert services.can_revoke(tenant, goods)
    assert services.can_revoke(world.resident2, goods)
    assert not services.can_revoke(world.resident, goods)
    with pytest.raises(ServiceError) as refused:
        services.revoke_pass(goods, actor=tenant, reason="")
    assert refused.value.fields == {"reason": "required"}


def test_the_gate_home_counts_today(world, issue, guard):
    goods = issue("goods")
    issue("visitor")
    services.check_pass(goods.code, actor=guard)
    services.check_pass(goods.code, actor=world.frontdesk)
    services.check_pass("unknown-code-123", actor=guard)
    home = services.gate_home(guard)
    assert home["checks"] == 3 and home["mine"] == 2
    assert home["by_result"]["valid"] == 1 and home["by_result"]["used"] == 1
    assert home["passes_today"] == {"goods": 1, "visitor": 1, "worker": 0}
    assert [row["check"].result for row in home["latest"]] == ["unknown", "used", "valid"]
    assert home["latest"][1]["unit"] and home["latest"][1]["by"] == world.frontdesk.name


def test_the_owner_hears_of_a_tenant_s_request_and_the_tenant_of_the_approval(world, issue, tenant):
    from portal.notify.models import OutboxMessage

    goods = issue("goods", actor=tenant)
    asked = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pass_pending"))
    assert [m.recipient_id for m in asked] == [world.resident2.id]
    services.approve_pass(goods, actor=world.resident2)
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pass_approved"))
    assert [(m.recipient_id, m.channel) for m in told] == [(tenant.id, "app")]
    assert goods.number in next(
        iter(
            db.session.scalars(
                select(OutboxMessage.subject).where(OutboxMessage.kind == "pass_approved")
            )
        )
    )
