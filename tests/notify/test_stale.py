"""The outbox sweep's stale time with RQ (a Redis database of the run's own, no worker):
rows a dead worker took up go again about a minute later; rows still waiting in the queue,
or for their retry, are left alone; a batch out of time hands the rest back."""

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from portal.blueprints.notices.services import compose_notice
from portal.core import clock
from portal.extensions import db
from portal.notify import tasks
from portal.notify.models import Delivery, OutboxMessage
from portal.notify.outbox import STALE_SECONDS, relay_due, sweep_outbox

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 in the estate: no quiet hours


@pytest.fixture
def queue(app, world, redis_client, redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    clock.freeze(START)
    return Queue("default", connection=redis_client)


def send(world, channels=("app",)):
    compose_notice(
        world.frontdesk, estate=world.estate, title="停水通知", body="明日停水。", channels=channels
    )
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def statuses():
    db.session.expire_all()
    return {row.status for row in db.session.scalars(select(OutboxMessage))}


def at(seconds):
    clock.freeze(START + timedelta(seconds=seconds))


def test_the_stale_time_follows_from_the_batch_jobs_time_limit(queue, world):
    ids = send(world)
    relay_due()
    (job,) = queue.jobs
    assert job.timeout == tasks.BATCH_TIMEOUT <= 45 and job.args == (ids,)
    assert tasks.BATCH_TIMEOUT < STALE_SECONDS <= 60


def test_rows_a_dead_worker_took_up_go_again_after_the_stale_time(queue, world):
    ids = send(world)
    relay_due()
    queue.empty()  # a worker took the batch up …
    at(30)
    tasks.taken_up(ids)  # … and died while sending
    at(30 + STALE_SECONDS - 1)
    assert sweep_outbox() == {"requeued": 0, "relayed": 0}  # it could still be running
    at(30 + STALE_SECONDS + 1)
    assert sweep_outbox() == {"requeued": len(ids), "relayed": len(ids)}
    (job,) = queue.jobs
    assert job.args == (ids,) and statuses() == {Delivery.queued}


def test_rows_waiting_in_the_queue_behind_others_are_not_stale(queue, world):
    send(world)
    relay_due()
    at(600)  # ten minutes behind a billing run, say
    assert sweep_outbox() == {"requeued": 0, "relayed": 0}
    assert queue.count == 1  # no second copy of the batch


def test_a_row_waiting_for_its_retry_is_stale_only_after_the_retry_was_due(
    queue, world, app, sms_gateway, monkeypatch
):
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", sms_gateway.url)
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_INTERVALS", [600, 600])
    ids = send(world, channels=("sms",))
    sms_gateway.answers = [500] * len(ids)
    queue.empty()
    assert tasks.deliver_batch(ids) == dict.fromkeys(ids, "retry")  # RQ retries in 600 s
    at(STALE_SECONDS + 1)
    assert sweep_outbox()["requeued"] == 0
    at(600 + STALE_SECONDS + 1)  # the retries never ran: their worker died
    assert sweep_outbox()["requeued"] == len(ids)


def test_a_batch_out_of_time_hands_the_rest_back_to_the_relay(queue, world):
    ids = send(world)
    assert len(ids) > 1
    relay_due()
    queue.empty()
    outcome = tasks.deliver_batch(ids, seconds=0)  # out of time after the first row
    assert outcome == {ids[0]: "delivered"}
    db.session.expire_all()
    rest = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids[1:])))
    assert {row.status for row in rest} == {Delivery.pending}
    (relay,) = queue.jobs
    assert relay.func_name == "portal.notify.outbox.relay_due"
