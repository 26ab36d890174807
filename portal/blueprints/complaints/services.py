"""Complaint services: register (the first-contact owner is whoever registers it), act,
list, and the scheduled reply sweep."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.complaints.models import OPEN_STATES, Category, Complaint, Kind
from portal.blueprints.complaints.workflow import COMPLAINT
from portal.blueprints.repairs.models import Repair
from portal.core import clock, idempotency, workflow
from portal.core.access import visible
from portal.core.errors import ServiceError
from portal.core.intake import take_in
from portal.extensions import db

MAX_CONTENT = 2000
# The due filters a complaint list takes (?due=): open and past the reply's due time, or
# open and due before the end of today in the estate's time zone (overdue ones included).
DUE_FILTERS = frozenset({"overdue", "today"})
DEFAULT_TZ = "Asia/Shanghai"


def register_complaint(
    actor,
    *,
    category,
    content,
    kind=Kind.complaint,
    unit_id=None,
    channel=None,
    reporter_id=None,
    repair_id=None,
    idempotency_key=None,
) -> Complaint:
    """Register a complaint, inquiry or suggestion: a resident online, or staff for a caller.
    With a one-time key, the same request again returns the first complaint (`replayed`)."""
    errors = {}
    for name, enum, value in (("kind", Kind, kind), ("category", Category, category)):
        try:
            enum(value)
        except ValueError:
            errors[name] = "unknown"
    content = (content or "").strip()
    if not content:
        errors["content"] = "required"
    elif len(content) > MAX_CONTENT:
        errors["content"] = "too_long"
    if errors:
        raise ServiceError(_l("Some fields are not valid."), fields=errors)
    intake = take_in(actor, unit_id=unit_id, channel=channel, reporter_id=reporter_id)
    if (
        repair_id is not None
        and db.session.scalar(
            select(Repair.id).where(Repair.id == repair_id, visible(Repair, actor))
        )
        is None
    ):
        raise ServiceError(_l("No such repair."), fields={"repair_id": "unknown"})
    complaint = Complaint(
        estate_id=intake.estate_id,
        unit_id=intake.unit_id,
        reporter_id=intake.reporter.id,
        kind=Kind(kind),
        category=Category(category),
        channel=intake.channel,
        content=content,
        repair_id=repair_id,
    )
    fingerprint = idempotency.digest(
        kind=complaint.kind,
        category=complaint.category,
        unit_id=complaint.unit_id,
        reporter_id=complaint.reporter_id,
        channel=complaint.channel,
        content=complaint.content,
        repair_id=complaint.repair_id,
    )
    return idempotency.create_once(
        Complaint,
        complaint,
        idempotency.scoped(actor, idempotency_key),
        fingerprint,
        lambda: workflow.open_ticket(
            COMPLAINT,
            complaint,
            actor=actor,
            data={"kind": Kind(kind).value, "channel": intake.channel.value},
        ),
    )


def act(complaint, action, *, actor, data=None) -> Complaint:
    """Take a workflow action on a complaint."""
    return workflow.apply(complaint, action, actor=actor, data=data)


def end_of_today(actor) -> datetime:
    """The end of today (the next midnight) in the actor's estate's time zone."""
    tz = actor.estate.timezone if actor.estate is not None else DEFAULT_TZ
    tomorrow = clock.local_today(tz) + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=ZoneInfo(tz))


def complaints_for(actor, *, status=None, category=None, unit_id=None, kind=None, due=None):
    """A SELECT of the complaints an actor may see, newest first, with filters."""
    stmt = select(Complaint).where(visible(Complaint, actor)).order_by(Complaint.id.desc())
    if due in DUE_FILTERS:
        by = clock.now() if due == "overdue" else end_of_today(actor)
        stmt = stmt.where(Complaint.status.in_(OPEN_STATES), Complaint.due_at < by)
    for column, value in (
        (Complaint.status, status),
        (Complaint.category, category),
        (Complaint.unit_id, unit_id),
        (Complaint.kind, kind),
    ):
        if value:
            stmt = stmt.where(column == value)
    return stmt


def sweep_overdue_replies() -> int:
    """The scheduled job: replies not given in time go to the supervisor, then the manager."""
    return workflow.sweep_overdue(COMPLAINT)
