"""Write outbox rows in the business transaction; relay them once it has committed.

Services call `tell()` (or `bulk_queue()` for a fan-out) and never send anything
themselves. Once the transaction has committed, `relay_soon()` queues the relay, which
hands the ids of due rows to the delivery tasks (portal/notify/tasks.py): through RQ, or
in the embedded mode in the background runner. A request never waits on Redis: if it is
down the rows stay pending and the minute sweep sends them when it is back.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from portal import jobs
from portal.core import clock, rest_hours
from portal.extensions import db
from portal.notify import tasks
from portal.notify.content import freeze_message, text
from portal.notify.models import HELD_CHANNELS, Channel, Delivery, OutboxMessage

log = logging.getLogger(__name__)
RELAY_BATCH = 500
RELAYED_CHANNELS = (Channel.app, Channel.sms, Channel.email)  # print goes out by print job
# A row a worker took up this long ago and did not deliver was in a batch whose worker died
# (RQ kills a batch at tasks.BATCH_TIMEOUT): the minute sweep hands it on again.
STALE_SECONDS = tasks.BATCH_TIMEOUT + 10


def address_for(user, channel: Channel) -> str | None:
    """Where a channel reaches a person; None when it cannot."""
    if channel == Channel.sms:
        return user.phone
    if channel == Channel.email:
        return user.email
    return None


def due_time(channel, *, urgent, send_at: datetime, estate_id, tz) -> datetime:
    """When a message may leave: its send time, moved past quiet hours for SMS and e-mail."""
    if urgent or channel not in HELD_CHANNELS:
        return send_at
    return rest_hours.release_time(send_at, estate_id=estate_id, tz=tz) or send_at


def bulk_queue(
    recipients,
    channels,
    *,
    kind,
    subject,
    body,
    estate,
    notice_id=None,
    urgent=False,
    send_at=None,
    locale="zh_CN",
    content=None,
) -> list[dict]:
    """Add outbox rows for (user or None, unit id) pairs × channels in one INSERT.

    A None user stands for the household itself (printed notice on the door). Returns the
    rows written (as dicts); channels that cannot reach a person are left out. `content`
    (notify/content.py) goes with the in-app rows, whose inbox shows it in the reader's
    language; SMS and e-mail go out as `subject` and `body`, written at sending.
    """
    send_at = send_at or clock.now()
    due = {
        c: due_time(c, urgent=urgent, send_at=send_at, estate_id=estate.id, tz=estate.timezone)
        for c in map(Channel, channels)
    }
    now = clock.now()
    rows = []
    for user, unit_id in recipients:
        for channel in due:
            if (user is None) != (channel == Channel.print):
                continue
            address = address_for(user, channel) if user is not None else None
            if channel in (Channel.sms, Channel.email) and not address:
                continue
            rows.append(
                {
                    "estate_id": estate.id,
                    "recipient_id": user.id if user else None,
                    "unit_id": unit_id,
                    "notice_id": notice_id,
                    "channel": channel.value,
                    "kind": kind,
                    "address": address,
                    "subject": subject[:200],
                    "body": body,
                    "content": content if channel == Channel.app else None,
                    "locale": (user.locale if user is not None and user.locale else locale),
                    "urgent": urgent,
                    "status": Delivery.pending.value,
                    "not_before": due[channel],
                    "attempts": 0,
                    "created_at": now,
                }
            )
    if rows:
        db.session.execute(OutboxMessage.__table__.insert(), rows)  # one executemany
        jobs.after_commit(relay_soon)
    return rows


def tell(user, *, kind, estate, render, channels=("app",), unit_id=None, urgent=False):
    """Queue a message to one person, written in their language: render() → (subject, body).

    Lazy strings in what render() returns are kept as msgids and parameters too, so that the
    in-app copy reads in the language its reader has when they open it."""
    from flask_babel import force_locale

    locale = user.locale or "zh_CN"
    with force_locale(locale):
        parts = render()
        subject, body = (text(part) for part in parts)
        content = freeze_message(*parts)
    return bulk_queue(
        [(user, unit_id)],
        channels,
        kind=kind,
        subject=subject,
        body=body,
        estate=estate,
        urgent=urgent,
        locale=locale,
        content=content,
    )


def relay_soon() -> None:
    """After a commit that wrote rows: queue the relay (if Redis is down, the sweep)."""
    jobs.enqueue("portal.notify.outbox.relay_due", job_timeout=600, result_ttl=60)


def relay_due(limit: int | None = None) -> int:
    """Hand every due pending row on, in batches; returns how many were handed on."""
    rq_queue = jobs.queue()
    handed, seen = 0, set()
    while limit is None or handed < limit:
        stmt = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == Delivery.pending,
                OutboxMessage.not_before <= clock.now(),
                OutboxMessage.channel.in_([c.value for c in RELAYED_CHANNELS]),
            )
            .order_by(OutboxMessage.id)
            .limit(RELAY_BATCH)
        )
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.scalars(stmt))
        if not ids or seen.issuperset(ids):  # nothing new is due
            db.session.commit()
            break
        seen.update(ids)
        if rq_queue is None:  # embedded: this already runs in the background
            db.session.commit()
            tasks.deliver_batch(ids, seconds=None)  # no job timeout runs out here
        else:
            try:
                tasks.enqueue_batch(rq_queue, ids)
            except Exception as exc:
                db.session.rollback()
                log.warning("outbox relay stopped, queue unreachable: %s", exc)
                break
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=Delivery.queued, queued_at=clock.now())
            )
            db.session.commit()
        handed += len(ids)
    return handed


def sweep_outbox() -> dict:
    """Every minute: rows a worker took up more than STALE_SECONDS ago and did not deliver
    (it died, Redis lost them) go back to pending, then everything due is handed on again.
    Rows whose batch still waits in the queue are not stale: they are next in line."""
    waiting = _waiting_in_queue()
    if waiting is None:
        return {"requeued": 0, "relayed": relay_due()}  # Redis is away: nothing to ask
    now = clock.now()
    stale = db.session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.status == Delivery.queued,
            OutboxMessage.queued_at < now - timedelta(seconds=STALE_SECONDS),
            OutboxMessage.not_before <= now,
        )
    ).all()
    ids = [i for i in stale if not any(i in span for span in waiting)]
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == Delivery.queued)
            .values(status=Delivery.pending)
        )
    db.session.commit()
    return {"requeued": len(ids), "relayed": relay_due()}


def _waiting_in_queue() -> list[range] | None:
    """The outbox ids of the delivery jobs waiting in the queue (from their job ids:
    outbox-<first>-<last>, outbox-retry-<id>-<n>); None when the queue cannot be read."""
    rq_queue = jobs.queue()
    if rq_queue is None:
        return []
    try:
        job_ids = rq_queue.get_job_ids()
    except Exception as exc:
        log.warning("outbox sweep: queue unreachable: %s", exc)
        return None
    spans = []
    for job_id in job_ids:
        kind, _sep, rest = job_id.partition("-")
        first, _sep, last = rest.removeprefix("retry-").partition("-")
        if kind == "outbox" and first.isdigit() and last.isdigit():
            retry = rest.startswith("retry-")
            spans.append(range(int(first), int(first if retry else last) + 1))
    return spans


def retry_failed(outbox_id: int, *, actor) -> OutboxMessage:
    """An admin's retry of a failed row: back to pending with a fresh set of attempts."""
    from portal.core import audit

    message = db.session.get(OutboxMessage, outbox_id)
    message.status = Delivery.pending
    message.attempts = 0
    message.not_before = clock.now()
    message.failed_at = None
    audit.record(
        "outbox.retry",
        message,
        actor=actor,
        before={"status": "failed"},
        after={"status": "pending"},
    )
    jobs.after_commit(relay_soon)
    return message
