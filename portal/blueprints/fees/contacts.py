"""What staff record in a household's collection record (催缴记录): calls and door visits,
and the labels of every record's channel, outcome and ladder step."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import audit, clock
from portal.core.errors import ServiceError
from portal.extensions import db

from .models import CollectionRecord
from .reminders import offset_of

CONTACT_CHANNELS = ("call", "visit")
CONTACT_OUTCOMES = ("promised", "refused", "no_answer", "paid", "other")
RECORD_CHANNEL_LABELS = {
    "app": _l("In-app reminder"),
    "sms": _l("SMS reminder"),
    "print": _l("Payment notice slip"),
    "call": _l("Phone call"),
    "visit": _l("Door visit"),
    "review": _l("Manager's review"),
}
OUTCOME_LABELS = {
    "sent": _l("Sent"),
    "no_contact": _l("Nobody to send it to"),
    "skipped": _l("Passed over (a later reminder went out)"),
    "waiting": _l("Waiting for the next slip batch"),
    "printed": _l("Printed"),
    "to_call": _l("On the call list"),
    "to_review": _l("On the manager's review list"),
    "promised": _l("Promised to pay"),
    "refused": _l("Refused to pay"),
    "no_answer": _l("No answer / nobody home"),
    "paid": _l("Says they have paid"),
    "other": _l("Other (see note)"),
}


def step_label(step: str | None) -> str:
    """When in the ladder a step falls, as staff say it."""
    offset = offset_of(step)
    if offset is None:
        return ""
    if offset < 0:
        return _("%(n)d days before the due date", n=-offset)
    if offset == 0:
        return _("On the due date")
    return _("%(n)d days overdue", n=offset)


def record_contact(unit, *, channel: str, outcome: str, note: str | None, actor):
    """Log a call or door visit about a household's arrears (it clears the call list)."""
    note = (note or "").strip()
    if channel not in CONTACT_CHANNELS:
        raise ServiceError(_l("Choose a call or a door visit."), fields={"channel": "unknown"})
    if outcome not in CONTACT_OUTCOMES:
        raise ServiceError(_l("Choose what came of it."), fields={"outcome": "unknown"})
    if outcome == "other" and not note:
        raise ServiceError(_l("Say what came of it in the note."), fields={"note": "required"})
    if len(note) > 500:
        raise ServiceError(_l("At most 500 characters."), fields={"note": "length"})
    record = CollectionRecord(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        channel=channel,
        outcome=outcome,
        note=note or None,
        actor_id=actor.id,
        at=clock.now(),
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "collection.contact",
        record,
        actor=actor,
        estate_id=unit.estate_id,
        after={"unit_id": unit.id, "channel": channel, "outcome": outcome},
    )
    return record
