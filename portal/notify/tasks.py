"""Delivery jobs: deliver outbox rows by id, idempotently, with retries and back-off.

The outbox hands ids here; nothing here reads or writes the outbox's relay state.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal import jobs
from portal.core import clock, rest_hours
from portal.core.places import Estate
from portal.extensions import db
from portal.notify.channels import SENDERS, DeliveryError
from portal.notify.models import HELD_CHANNELS, Channel, Delivery, OutboxMessage

log = logging.getLogger(__name__)
BATCH = 100


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
            timeout=300,
        )
        for i in range(0, len(ids), BATCH)
    ]
    queue.enqueue_many(batches)


def deliver_batch(ids) -> dict:
    """Deliver rows one by one; a failed row is retried alone, with RQ's back-off."""
    outcome, memo = {}, {}
    for outbox_id in ids:
        try:
            outcome[outbox_id] = deliver_one(outbox_id, memo)
        except DeliveryError:
            outcome[outbox_id] = "retry"
            _schedule_retry(outbox_id)
    return outcome


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
        if current_app.config.get("REDIS_URL"):
            message.status = Delivery.queued  # RQ owns the retry; the sweep is the backstop
            message.queued_at = now
        else:  # in-process: the next relay after the back-off picks it up
            message.status = Delivery.pending
            message.not_before = now + timedelta(seconds=retry_intervals()[message.attempts - 1])
        db.session.commit()
        raise
    message.status = Delivery.delivered
    message.delivered_at = now
    message.attempts += 1
    message.last_error = None
    db.session.commit()
    return "delivered"
