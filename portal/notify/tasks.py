"""Delivery jobs: deliver outbox rows by id, idempotently, with retries and back-off.

The outbox hands ids here; nothing here reads or writes the outbox's relay state.
"""

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from portal import jobs
from portal.core import clock, rest_hours
from portal.core.places import Estate
from portal.extensions import db
from portal.notify.channels import SEND_TIMEOUT, SENDERS, DeliveryError
from portal.notify.models import HELD_CHANNELS, Channel, Delivery, OutboxMessage

log = logging.getLogger(__name__)
BATCH = 100
# A batch starts no new row after BATCH_SECONDS and hands the rest back to the relay, so
# RQ's limit on a batch job is that budget plus one send in flight (a few socket waits of
# SEND_TIMEOUT each). A batch job still running after BATCH_TIMEOUT has been killed: the
# outbox's sweep re-sends its rows soon after (outbox.STALE_SECONDS).
BATCH_SECONDS = 20
BATCH_TIMEOUT = BATCH_SECONDS + 4 * SEND_TIMEOUT


def retry_intervals() -> list[int]:
    """Seconds between attempts after a failure; the last failure marks the row failed."""
    return current_app.config["OUTBOX_RETRY_INTERVALS"]


def max_attempts() -> int:
    return len(retry_intervals()) + 1


def enqueue_batch(queue, ids) -> None:
    """Put delivery jobs for these rows on the RQ queue, BATCH rows a job, in one round trip."""
    batches = [
        queue.prepare_data(
            "portal.notify.tasks.deliver_batch",
            args=(ids[i : i + BATCH],),
            job_id=f"outbox-{ids[i]}-{ids[min(i + BATCH, len(ids)) - 1]}",
            result_ttl=0,
            timeout=BATCH_TIMEOUT,
        )
        for i in range(0, len(ids), BATCH)
    ]
    queue.enqueue_many(batches)


def deliver_batch(ids, seconds: float | None = BATCH_SECONDS) -> dict:
    """Deliver rows one by one; a failed row is retried alone, with RQ's back-off. After
    `seconds` the rows not started go back to the relay (None: no limit, embedded mode)."""
    taken_up(ids)
    outcome, memo = {}, {}
    deadline = None if seconds is None else time.monotonic() + seconds
    for index, outbox_id in enumerate(ids):
        if index and deadline is not None and time.monotonic() > deadline:  # one row at least
            _hand_back([i for i in ids if i not in outcome])
            break
        try:
            outcome[outbox_id] = deliver_one(outbox_id, memo)
        except DeliveryError:
            outcome[outbox_id] = "retry"
            _schedule_retry(outbox_id)
    return outcome


def taken_up(ids) -> None:
    """A worker took the batch up: the sweep's stale time counts from now (a batch may
    have waited in the queue behind others for longer than it may run)."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == Delivery.queued)
        .values(queued_at=clock.now())
    )
    db.session.commit()


def _hand_back(ids) -> None:
    """Rows a batch had no time for: pending again, and the relay queued to hand them on."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == Delivery.queued)
        .values(status=Delivery.pending)
    )
    db.session.commit()
    jobs.enqueue("portal.notify.outbox.relay_due", job_timeout=600, result_ttl=60)


def deliver(outbox_id: int) -> str:
    """Deliver one row (the retry job); raising lets RQ try again after its interval."""
    return deliver_one(outbox_id)


def _schedule_retry(outbox_id):
    rq_queue = jobs.queue()
    if rq_queue is None:
        return  # embedded: the row waits as pending until its not_before, for the sweep
    from rq import Retry

    intervals = retry_intervals()
    row = db.session.get(OutboxMessage, outbox_id)
    remaining = max_attempts() - row.attempts
    rq_queue.enqueue_in(
        timedelta(seconds=intervals[row.attempts - 1]),
        "portal.notify.tasks.deliver",
        outbox_id,
        job_id=f"outbox-retry-{outbox_id}-{row.attempts}",
        result_ttl=0,
        retry=Retry(max=remaining - 1, interval=intervals[row.attempts :])
        if remaining > 1
        else None,
    )


def _estate_quiet_hours(estate_id, memo):
    """An estate's quiet hours and time zone, read once per batch."""
    key = ("quiet", estate_id)
    if key not in memo:
        estate = db.session.get(Estate, estate_id) if estate_id else None
        memo[key] = (rest_hours.window(estate_id), estate.timezone if estate else "Asia/Shanghai")
    return memo[key]


def deliver_one(outbox_id: int, memo: dict | None = None) -> str:
    """Deliver a row unless it already was; hold it in quiet hours; record every attempt.

    Raises DeliveryError while attempts remain, so the caller can retry.
    """
    memo = {} if memo is None else memo  # per-batch reads: quiet hours, notice flags
    stmt = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # one worker per row at a time
    message = db.session.scalar(stmt)
    if message is None or message.status in (Delivery.delivered, Delivery.failed):
        db.session.commit()
        return message.status if message else "missing"
    now = clock.now()
    held = None
    if not message.urgent and message.channel in HELD_CHANNELS:
        hours, tz = _estate_quiet_hours(message.estate_id, memo)
        held = rest_hours.release_time(now, hours=hours, tz=tz)
    if message.not_before > now or held:
        message.status = Delivery.pending
        message.not_before = max(message.not_before, held or now)
        db.session.commit()
        return "held"
    try:
        SENDERS[Channel(message.channel)](message, memo)
    except DeliveryError as exc:
        message.attempts += 1
        message.last_error = str(exc)[:500]
        if message.attempts >= max_attempts():
            message.status = Delivery.failed
            message.failed_at = now
            db.session.commit()
            log.warning("outbox %s failed for good: %s", outbox_id, exc)
            return "failed"
        delay = timedelta(seconds=retry_intervals()[message.attempts - 1])
        if current_app.config.get("REDIS_URL"):
            # RQ owns the retry; the sweep is the backstop, counting from when it is due
            message.status, message.queued_at = Delivery.queued, now + delay
        else:  # in-process: the next relay after the back-off picks it up
            message.status = Delivery.pending
            message.not_before = now + delay
        db.session.commit()
        raise
    message.status = Delivery.delivered
    message.delivered_at = now
    message.attempts += 1
    message.last_error = None
    db.session.commit()
    return "delivered"
