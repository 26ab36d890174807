"""Delivery jobs: deliver outbox rows by id, idempotently, with retries and back-off.

The outbox hands ids here; nothing here reads or writes the outbox's relay state.
"""

import contextlib
import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from portal import jobs
from portal.core import clock, rest_hours
from portal.core.places import Estate
from portal.extensions import db
from portal.notify.channels import (
    SEND_TIMEOUT,
    SENDERS,
    DeliveryError,
    send_app_many,
    sends_outside,
)
from portal.notify.models import HELD_CHANNELS, Channel, Delivery, OutboxMessage

log = logging.getLogger(__name__)
BATCH = 100
GROUP = 50  # rows delivered and recorded in one transaction (sends that stay in the database)
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
    """Deliver a batch of rows; after `seconds` the rows not started go back to the relay
    (None: no limit, embedded mode).

    Rows whose send stays in the database or the log (the inbox; SMS and e-mail with no
    gateway configured) go GROUP at a time: one statement locks and reads the group, the
    inbox gets one INSERT, the outbox one UPDATE, and one commit records the lot, so a row
    is recorded delivered in the same transaction that delivered it. A row whose send
    reaches a gateway or an SMTP server is sent and recorded alone (deliver_one), and a
    failed one is retried alone, with RQ's back-off: a retry never sends twice what was
    recorded as sent. Should the batch be stopped (its job's time limit), the rows it had
    not finished go back to the relay; a send in flight waits for the stale sweep.
    """
    taken_up(ids)
    outcome, memo, in_flight = {}, {}, None
    deadline = None if seconds is None else time.monotonic() + seconds

    def late(started: bool) -> bool:  # one row at least
        return started and deadline is not None and time.monotonic() > deadline

    try:
        for start in range(0, len(ids), GROUP):
            if late(bool(outcome)):
                break
            outside = _deliver_group(ids[start : start + GROUP], outcome, memo, late)
            for outbox_id in outside:
                if late(bool(outcome)):
                    break
                in_flight = outbox_id
                try:
                    outcome[outbox_id] = deliver_one(outbox_id, memo)
                except DeliveryError:
                    outcome[outbox_id] = "retry"
                    _schedule_retry(outbox_id)
                in_flight = None
    except Exception:
        _hand_back_after_failure([i for i in ids if i not in outcome and i != in_flight])
        raise
    rest = [i for i in ids if i not in outcome]
    if rest:
        _hand_back(rest)
    return outcome


# The outbox columns a delivery reads (a row tuple, not an ORM object: no identity map).
_DELIVERY_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.estate_id,
    OutboxMessage.recipient_id,
    OutboxMessage.unit_id,
    OutboxMessage.notice_id,
    OutboxMessage.channel,
    OutboxMessage.kind,
    OutboxMessage.address,
    OutboxMessage.subject,
    OutboxMessage.body,
    OutboxMessage.content,
    OutboxMessage.locale,
    OutboxMessage.urgent,
    OutboxMessage.status,
    OutboxMessage.not_before,
)


def _deliver_group(ids, outcome: dict, memo: dict, late) -> list[int]:
    """Lock a group of rows, deliver those whose send stays in the database or the log,
    record them and commit. Returns the rows whose send reaches beyond (for deliver_one);
    rows not started before `late()` are left out of `outcome`."""
    stmt = select(*_DELIVERY_COLUMNS).where(OutboxMessage.id.in_(ids))
    if db.engine.dialect.name == "postgresql":
        # Waits (no SKIP LOCKED) for a relay still committing these rows as queued.
        stmt = stmt.order_by(OutboxMessage.id).with_for_update()
    found = {row.id: row for row in db.session.execute(stmt)}
    now = clock.now()
    done, outside, held, sent = {}, [], [], []
    for outbox_id in ids:
        if late(bool(outcome or done or outside or sent)):
            break
        row = found.get(outbox_id)
        if row is None:
            done[outbox_id] = "missing"
        elif row.status in (Delivery.delivered, Delivery.failed):
            done[outbox_id] = row.status
        elif sends_outside(row.channel):
            outside.append(outbox_id)
        elif (until := _held_until(row, now, memo)) is not None:
            held.append({"b_id": outbox_id, "b_not_before": until})
            done[outbox_id] = "held"
        else:
            sent.append(row)
    inbox = [row for row in sent if row.channel == Channel.app]
    if inbox:
        send_app_many(inbox, memo)
    for row in [row for row in sent if row.channel != Channel.app]:
        try:
            SENDERS[Channel(row.channel)](row, memo)  # the log: nothing leaves
        except DeliveryError:
            sent.remove(row)
            outside.append(row.id)  # tried again alone, its attempt recorded
    table = OutboxMessage.__table__
    if sent:
        db.session.execute(
            table.update()
            .where(table.c.id.in_([row.id for row in sent]))
            .values(
                status=Delivery.delivered.value,
                delivered_at=now,
                attempts=table.c.attempts + 1,
                last_error=None,
            )
        )
        done.update(dict.fromkeys((row.id for row in sent), "delivered"))
    if held:
        db.session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(status=Delivery.pending.value, not_before=bindparam("b_not_before")),
            held,
        )
    db.session.commit()
    outcome.update(done)
    return outside


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


def _hand_back_after_failure(ids) -> None:
    """The batch was stopped (its time limit, an error): what it had not finished goes back
    to the relay at once, not a stale time later. If the database cannot be reached now,
    the rows wait as queued for the sweep."""
    from portal.worker import end_transaction

    end_transaction()  # (a connection stopped mid-statement is dropped)
    if not ids:
        return
    try:
        _hand_back(ids)
    except Exception:
        log.exception("a stopped delivery batch could not hand back %s rows", len(ids))
        with contextlib.suppress(Exception):
            db.session.rollback()


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


def _held_until(message, now, memo) -> datetime | None:
    """When a row due now must wait (its send time, the estate's quiet hours), until when."""
    held = None
    if not message.urgent and message.channel in HELD_CHANNELS:
        hours, tz = _estate_quiet_hours(message.estate_id, memo)
        held = rest_hours.release_time(now, hours=hours, tz=tz)
    if message.not_before > now or held:
        return max(message.not_before, held or now)
    return None


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
    until = _held_until(message, now, memo)
    if until is not None:
        message.status = Delivery.pending
        message.not_before = until
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
