"""Notices and the outbox in-process (the embedded mode): fan-out, rules, inbox, receipts."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.blueprints.notices.services import acknowledge, call_list, compose_notice, receipts
from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.rest_hours import release_time
from portal.extensions import db
from portal.notify.models import Delivery, InboxMessage, OutboxMessage
from portal.notify.outbox import relay_due
from tests.factories import make_resident, make_unit


def outbox_rows(**where):
    return db.session.scalars(select(OutboxMessage).filter_by(**where)).all()


def send(world, **kw):
    kw.setdefault("title", "停水通知")
    kw.setdefault("body", "11月25日9:00-12:00停水，请提前储水。")
    kw.setdefault("channels", ["app"])
    notice = compose_notice(world.frontdesk, estate=world.estate, **kw)
    db.session.commit()
    return notice


def test_fan_out_one_row_per_person_and_channel(world):
    notice = send(world, channels=["app", "sms", "print"])
    # unit: owner + family; unit2: resident2; vacant unit: nobody (but printed on the door).
    app_rows = outbox_rows(notice_id=notice.id, channel="app")
    assert {r.recipient_id for r in app_rows} == {
        world.resident.id,
        world.family.id,
        world.resident2.id,
    }
    assert {r.address for r in outbox_rows(notice_id=notice.id, channel="sms")} == {
        "13800000001",
        "13800000002",
        "13800000003",
    }
    print_rows = outbox_rows(notice_id=notice.id, channel="print")
    assert {r.unit_id for r in print_rows} == {world.unit.id, world.unit2.id, world.vacant.id}
    assert notice.households == 3
    assert not outbox_rows(unit_id=world.other_unit.id)  # another estate is never reached


def test_a_person_with_two_units_gets_one_copy(world):
    second = make_unit(world.estate, zone="A区", building="1栋", number="3单元101")
    from portal.core.people import Residency

    db.session.add(
        Residency(
            unit_id=second.id,
            user_id=world.resident.id,
            relation="owner",
            start_on=datetime(2024, 1, 1).date(),
        )
    )
    db.session.commit()
    notice = send(world)
    assert len(outbox_rows(notice_id=notice.id, recipient_id=world.resident.id)) == 1


def test_email_only_for_people_with_an_address(world):
    world.resident2.email = "lin@example.com"
    db.session.commit()
    notice = send(world, channels=["email"])
    assert [r.address for r in outbox_rows(notice_id=notice.id)] == ["lin@example.com"]


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"title": ""}, "title"),
        ({"body": ""}, "body"),
        ({"body": "长" * 10_000}, "body"),
        ({"title": "x" * 101}, "title"),
        ({"channels": []}, "channels"),
        ({"channels": ["fax"]}, "channels"),
        ({"send_at": datetime(2020, 1, 1, tzinfo=UTC)}, "send_at"),
        ({"zone_ids": [999999]}, "zone_ids"),
    ],
)
def test_bad_notices_are_refused_and_nothing_is_queued(world, kw, field):
    with pytest.raises(ServiceError) as caught:
        send(world, **kw)
    assert field in caught.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_audience_that_matches_nobody(world):
    with pytest.raises(ServiceError) as caught:
        send(world, unit_ids=[world.vacant.id])  # nobody lives there, and no print channel
    assert "audience" in caught.value.fields


def test_another_estates_places_are_refused(world):
    with pytest.raises(ServiceError):
        send(world, unit_ids=[world.other_unit.id])


def test_in_process_delivery_reaches_the_inbox_once(world):
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 11:00 estate time
    notice = send(world, channels=["app", "sms"])
    assert relay_due() == 6
    assert relay_due() == 0  # nothing left, nothing twice
    inbox = db.session.scalars(select(InboxMessage).where(InboxMessage.notice_id == notice.id))
    assert sorted(i.user_id for i in inbox) == sorted(
        [world.resident.id, world.family.id, world.resident2.id]
    )
    assert all(r.status == Delivery.delivered for r in outbox_rows(notice_id=notice.id))


def test_scheduled_notice_waits_for_its_time(world):
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 estate time
    clock.freeze(start)
    send(world, send_at=start + timedelta(hours=2))
    assert relay_due() == 0
    clock.freeze(start + timedelta(hours=2, seconds=1))
    assert relay_due() == 3


def test_quiet_hours_hold_non_urgent_sms_until_morning(world, sms_gateway, app):
    app.config["SMS_GATEWAY_URL"] = sms_gateway.url
    night = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    clock.freeze(night)
    try:
        send(world, channels=["sms"], unit_ids=[world.unit2.id])
        send(world, channels=["sms"], unit_ids=[world.unit2.id], urgent=True, title="紧急停电")
        relay_due()
        assert [m["text"][:4] for m in sms_gateway.received] == ["紧急停电"]
        held = outbox_rows(urgent=False, channel="sms")[0]
        assert held.status == Delivery.pending
        assert held.not_before == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 local
        clock.freeze(datetime(2026, 11, 23, 23, 59, tzinfo=UTC))
        relay_due()
        assert len(sms_gateway.received) == 1
        clock.freeze(datetime(2026, 11, 24, 0, 0, 1, tzinfo=UTC))
        relay_due()
        assert len(sms_gateway.received) == 2
    finally:
        app.config["SMS_GATEWAY_URL"] = None


def test_release_time_follows_the_setting(world):
    settings.set_value("notify.quiet_hours", "21:30-07:00", actor=world.admin)
    at = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 22:00 local
    assert release_time(at) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert release_time(datetime(2026, 11, 23, 4, 0, tzinfo=UTC)) is None  # noon
    with pytest.raises(ServiceError):
        settings.parse("notify.quiet_hours", "10pm-8am")


def test_gateway_failures_back_off_then_deliver_once(world, sms_gateway, app):
    app.config["SMS_GATEWAY_URL"] = sms_gateway.url
    sms_gateway.answers = [500, 500]
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock.freeze(start)
    try:
        send(world, channels=["sms"], unit_ids=[world.unit2.id])
        relay_due()
        row = outbox_rows(channel="sms")[0]
        assert (row.status, row.attempts, row.last_error) == (
            Delivery.pending,
            1,
            "SMS gateway answered 500",
        )
        relay_due()
        assert len(sms_gateway.received) == 1  # still backing off
        for step in (31, 121):
            start += timedelta(seconds=step)
            clock.freeze(start)
            relay_due()
        db.session.refresh(row)
        assert row.status == Delivery.delivered and row.attempts == 3
        assert len({m["id"] for m in sms_gateway.received}) == 1  # one id, retried
        assert [m["id"] for m in sms_gateway.received] == [str(row.id)] * 3
    finally:
        app.config["SMS_GATEWAY_URL"] = None


def test_wrong_gateway_url_records_the_reason_and_fails_after_the_last_try(world, app):
    app.config["SMS_GATEWAY_URL"] = "ftp://gateway.invalid/"
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock.freeze(start)  # before composing: the rows are due from this moment
    try:
        send(world, channels=["sms", "app"], unit_ids=[world.unit2.id])
        for step in (0, 31, 121, 601, 1801):
            start += timedelta(seconds=step)
            clock.freeze(start)
            relay_due()
        sms = outbox_rows(channel="sms")[0]
        assert sms.status == Delivery.failed and "not an http(s) URL" in sms.last_error
        assert outbox_rows(channel="app")[0].status == Delivery.delivered  # unaffected
    finally:
        app.config["SMS_GATEWAY_URL"] = None


def test_receipts_and_call_list(world):
    notice = send(world, channels=["app", "print"], requires_ack=True)
    relay_due()
    item = db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == world.family.id))
    acknowledge(item)
    db.session.commit()
    rows = {r["unit_id"]: r for r in receipts(notice)}
    assert rows[world.unit.id]["acknowledged_at"] is not None  # the family confirmed
    assert rows[world.unit2.id]["delivered"] and rows[world.unit2.id]["read_at"] is None
    assert not rows[world.vacant.id]["delivered"]  # printed notice not printed yet
    calls = call_list(notice, list(rows.values()))
    assert [c["unit_id"] for c in calls] == [world.unit2.id, world.vacant.id]
    assert calls[0]["people"] == [("林邻居", "13800000003")]


def test_receipts_query_count_does_not_grow(world, count_queries):
    notice = send(world)
    relay_due()
    with count_queries() as few:
        rows = receipts(notice)
        call_list(notice, rows)
    for n in range(30):
        make_resident(make_unit(world.estate, zone="C区", building="2栋", number=f"{n}"))
    db.session.commit()
    notice = send(world)
    relay_due()
    with count_queries() as many:
        rows = receipts(notice)
        call_list(notice, rows)
    assert len(rows) > 30 and many.count == few.count


def test_embedded_mode_sends_scheduled_notices_when_the_sweep_runs(app, world):
    """Without Redis the background runner's minute sweep sends what has become due."""
    from portal.jobs import Runner
    from portal.schedule import PERIODIC

    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock.freeze(start)
    send(world, send_at=start + timedelta(hours=1))
    sweep = [p for p in PERIODIC if p.func.endswith("sweep_outbox")]
    runner = Runner(app, periodic=sweep)  # its thread is not started: the test drives it
    runner.run_due()
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 0  # not due yet
    clock.freeze(start + timedelta(hours=1, seconds=1))
    runner.run_due()  # the sweep ran less than a minute ago
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 0
    runner.next_run[0] = 0.0  # a minute later
    runner.run_due()
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 3
