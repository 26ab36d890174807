"""The audit log: who changed what, when, from what to what."""

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.types import UTCDateTime
from portal.extensions import db

# What each action code means, as the audit page says it. Every code passed to record()
# has a label here (tests/core/test_audit_page.py reads the call sites to make sure).
ACTION_LABELS = {
    "payment.record": _l("Took a payment"),
    "payment.reverse": _l("Reversed a payment"),
    "bill.reverse": _l("Withdrew a bill"),
    "order.notify": _l("Online payment result received"),
    "fee_item.create": _l("Created a fee item"),
    "fee_rate.create": _l("Set a fee rate"),
    "collection.contact": _l("Recorded a call or visit about arrears"),
    "notice.send": _l("Sent a notice"),
    "outbox.retry": _l("Retried a failed delivery"),
    "setting.change": _l("Changed a setting"),
    "unit.occupancy": _l("Changed a unit's occupancy"),
    "unit.update": _l("Changed a unit's details"),
    "residency.add": _l("Added a resident to a unit"),
    "residency.end": _l("Ended a residency"),
    "person.phone": _l("Corrected a phone number"),
    "company.create": _l("Created a company"),
    "estate.create": _l("Created an estate"),
    "user.create": _l("Created a staff account"),
    "user.password_change": _l("Changed their own password"),
    "user.password_reset": _l("Reset an account's password"),
    "user.role_change": _l("Changed an account's role"),
    "user.deactivate": _l("Deactivated an account"),
    "user.reactivate": _l("Reactivated an account"),
    "user.second_factor_on": _l("Turned on two-step sign-in"),
    "user.second_factor_reset": _l("Removed a lost second factor"),
    "user.second_factor_off": _l("Turned off two-step sign-in"),
    "user.recovery_code_use": _l("Signed in with a recovery code"),
    "resident.letter": _l("Printed an activation letter"),
    "pass.issue": _l("Issued a pass"),
    "pass.approve": _l("Approved a pass"),
    "pass.revoke": _l("Revoked a pass"),
    "pass.extend": _l("Extended a pass"),
    "card.issue": _l("Issued cards to a unit"),
    "card.return": _l("Took cards back"),
    "card.lost": _l("Reported a card lost"),
    "card.replace": _l("Issued a replacement card"),
    "meter.read": _l("Recorded meter readings"),
    "keys.take": _l("Took keys into custody"),
    "keys.lend": _l("Lent out keys in custody"),
    "keys.return": _l("Took lent keys back"),
    "keys.hand_over": _l("Handed kept keys to the owner"),
    "deposit.refund": _l("Refunded a deposit"),
}


def action_label(action: str):
    """The words for an action code; an unknown code is shown as it is."""
    return ACTION_LABELS.get(action, action)


class AuditEntry(db.Model):
    """One audited change; features write these through record()."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def record(action, entity, *, actor=None, estate_id=None, before=None, after=None):
    """Add an audit entry for `entity` to the session (the caller's transaction commits it)."""
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor.id if actor is not None else None,
        estate_id=estate_id if estate_id is not None else getattr(entity, "estate_id", None),
        action=action,
        entity_type=entity.__tablename__,
        entity_id=entity.id,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(entry)
    return entry


def _jsonable(value):
    if value is None:
        return None
    return {
        k: (v if isinstance(v, int | float | bool | type(None)) else str(v))
        for k, v in value.items()
    }
