"""Delivery batches: rows whose send stays in the database or the log are locked, delivered
and recorded a group at a time, in a number of statements that does not grow with the
rows; rows sent to a gateway still go one at a time."""

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.core import clock, settings
from portal.extensions import db
from portal.notify import tasks
from portal.notify.models import Delivery, InboxMessage, OutboxMessage
from portal.notify.outbox import bulk_queue
from tests.factories import make_resident


@pytest.fixture
def notice(world):
    from portal.blueprints.notices.services import compose_notice

    notice = compose_notice(
        world.frontdesk,
        estate=world.estate,
        title="停水通知",
        body="明日停水。",
        channels=["app"],
        requires_ack=True,
    )
    db.session.commit()
    db.session.execute(OutboxMessage.__table__.delete())  # the rows each test writes
    db.session.commit()
    return notice


def queue_rows(world, notice, n, channels=("app", "sms")) -> list[int]:
    """`n` outbox rows for people of the estate, over the in-app and (log-only) SMS."""
    people = [make_resident(world.unit, phone=f"1390000{i:04d}") for i in range(n)]
    rows = bulk_queue(
        [(person, world.unit.id) for person in people],
        channels,
        kind="notice",
        subject="停水通知",
        body="明日停水。",
        estate=world.estate,
        notice_id=notice.id,
    )
    db.session.commit()
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == Delivery.pending)
            .order_by(OutboxMessage.id)
        )
    )
    assert len(ids) == len(rows) == n * len(channels)
    return ids


def statements_to_deliver(ids, count_queries) -> int:
    with count_queries() as counter:
        outcome = tasks.deliver_batch(ids, seconds=None)
    assert outcome == dict.fromkeys(ids, "delivered")
    return counter.count


def test_a_batchs_statements_do_not_grow_with_its_rows(world, notice, count_queries):
    few = statements_to_deliver(queue_rows(world, notice, 5), count_queries)  # 10 rows
    many = statements_to_deliver(queue_rows(world, notice, 20), count_queries)  # 40 rows
    assert many - few < 5  # not 30 more: one lock, one INSERT, one UPDATE, one commit
    assert many < 20


def test_a_group_delivers_each_row_once_with_what_the_inbox_needs(world, notice):
    ids = queue_rows(world, notice, 3)
    assert tasks.deliver_batch(ids, seconds=None) == dict.fromkeys(ids, "delivered")
    inbox = db.session.scalars(select(InboxMessage).order_by(InboxMessage.outbox_id)).all()
    app_rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == "app").order_by(OutboxMessage.id)
    ).all()
    assert [m.outbox_id for m in inbox] == [r.id for r in app_rows]
    assert [m.user_id for m in inbox] == [r.recipient_id for r in app_rows]
    assert all(m.requires_ack and m.title == "停水通知" for m in inbox)
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {(r.status, r.attempts, r.delivered_at) for r in rows} == {
        (Delivery.delivered, 1, clock.now())
    }
    # Delivered rows are never sent again, however often their batch runs.
    assert tasks.deliver_batch(ids, seconds=None) == dict.fromkeys(ids, Delivery.delivered)
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 3
    assert {r.attempts for r in db.session.scalars(select(OutboxMessage))} == {1}


def test_a_row_already_in_the_inbox_is_not_put_there_twice(world, notice):
    """The inbox insert and the row's record commit together; should a row be in the inbox
    and not recorded (delivered by an older version, say), it is recorded, not copied."""
    ids = queue_rows(world, notice, 2, channels=("app",))
    tasks.deliver_one(ids[0])
    db.session.execute(
        OutboxMessage.__table__.update().values(status=Delivery.queued.value, attempts=0)
    )
    db.session.commit()
    assert tasks.deliver_batch(ids, seconds=None) == dict.fromkeys(ids, "delivered")
    assert db.session.scalar(select(func.count(InboxMessage.id))) == 2


def test_quiet_hours_hold_a_groups_sms_and_let_its_inbox_rows_go(world, notice):
    settings.set_value("notify.quiet_hours", "10:00-12:00", actor=world.admin)  # now 11:00
    db.session.commit()
    ids = queue_rows(world, notice, 2)
    db.session.execute(OutboxMessage.__table__.update().values(not_before=clock.now()))
    db.session.commit()
    outcome = tasks.deliver_batch(ids, seconds=None)
    db.session.expire_all()
    rows = {r.id: r for r in db.session.scalars(select(OutboxMessage))}
    assert {rows[i].channel: outcome[i] for i in ids} == {"app": "delivered", "sms": "held"}
    held = [r for r in rows.values() if r.channel == "sms"]
    zone = ZoneInfo(world.estate.timezone)
    assert {(r.status, r.not_before.astimezone(zone).hour) for r in held} == {
        (Delivery.pending, 12)
    }


def test_rows_sent_to_a_gateway_go_one_at_a_time(world, notice, app, sms_gateway, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", sms_gateway.url)
    ids = queue_rows(world, notice, 2)
    sms_gateway.answers = [200, 500]
    outcome = tasks.deliver_batch(ids, seconds=None)
    db.session.expire_all()
    rows = {r.id: r for r in db.session.scalars(select(OutboxMessage))}
    sms = [i for i in ids if rows[i].channel == "sms"]
    assert [m["id"] for m in sms_gateway.received] == [str(i) for i in sms]
    assert [outcome[i] for i in sms] == ["delivered", "retry"]
    assert [(rows[i].status, rows[i].attempts) for i in sms] == [
        (Delivery.delivered, 1),
        (Delivery.pending, 1),  # tried again alone after its back-off
    ]
    assert rows[sms[1]].last_error == "SMS gateway answered 500"
    assert {outcome[i] for i in ids if i not in sms} == {"delivered"}
