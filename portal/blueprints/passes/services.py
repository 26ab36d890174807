"""Pass services: the only code that issues, approves, revokes, extends or checks a pass.

Other lines call these (a move-out issues a goods pass, a renovation its worker passes and
revokes or extends them with its own window, by `source_kind`/`source_id`). Services flush,
never commit, and raise ServiceError with the fields at fault.
"""

import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit, clock
from portal.core.access import DESK
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.people import Relation, Residency, current_residency_clause
from portal.core.sequence import next_in_sequence
from portal.extensions import db

# The gate's half of the interface other lines and the pages call, kept here by name.
from .gate import (  # noqa: F401
    awaiting_owner,
    check_pass,
    check_rows,
    checks_for,
    day_span,
    find_pass,
    gate_home,
    passes_for,
)
from .models import LIVE_STATUSES, PREFIXES, Kind, Pass, Status
from .rules import (
    MAX_REASON,
    RESIDENT_KINDS,
    check_kind,
    check_window,
    clean_items,
    clean_people,
    clean_plate,
    clean_text,
    invalid,
    relation_of,
    unit_is_let,
)


def _may_issue(actor, unit, kind: Kind) -> Status:
    """The status a new pass starts in for this actor, or the refusal."""
    if actor.is_staff:
        if actor.role not in DESK:
            raise NotAllowed(_l("Your role may not issue passes."))
        return Status.active
    relation = relation_of(actor, unit.id)
    if relation is None:
        raise ServiceError(
            _l("There is nothing here."), fields={"unit_id": "not_found"}, status=404
        )
    if kind not in RESIDENT_KINDS:
        raise NotAllowed(
            _l("Worker passes come with a renovation application; ask the service centre."),
            fields={"kind": "staff_only"},
        )
    if kind == Kind.goods and relation != Relation.owner and unit_is_let(unit.id):
        # Goods leaving a let unit are the owner's to release: the tenant's household
        # asks, the owner (or the desk) approves.
        return Status.pending
    return Status.active


def new_code() -> str:
    """An unguessable code for the QR (16 URL-safe characters, 96 bits)."""
    return secrets.token_urlsafe(12)


def issue_pass(
    *,
    kind,
    unit,
    valid_from,
    valid_until,
    actor,
    items=None,
    people=None,
    plate=None,
    source_kind=None,
    source_id=None,
) -> Pass:
    """Issue a pass for a unit: staff at once; a resident a goods or visitor pass for their
    own current unit (a tenant's goods pass waits for the owner's or the desk's approval)."""
    kind = check_kind(kind)
    status = _may_issue(actor, unit, kind)
    valid_from, valid_until = check_window(kind, valid_from, valid_until, unit.estate_id)
    goods = clean_items(kind, items) if kind == Kind.goods else []
    people = clean_people(kind, people)
    plate = clean_plate(plate)
    source_kind = clean_text(source_kind, "source_kind", 30, required=False)
    if source_id is not None and (isinstance(source_id, bool) or not isinstance(source_id, int)):
        raise invalid(_l("This value is not valid."), "source_id")
    now = clock.now()
    pass_ = Pass(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        kind=kind.value,
        number=next_in_sequence(unit.estate_id, f"pass_{kind.value}", PREFIXES[kind]),
        code=new_code(),
        status=status.value,
        valid_from=valid_from,
        valid_until=valid_until,
        items=goods,
        people=people,
        plate=plate,
        requested_by_id=actor.id,
        approved_by_id=actor.id if status == Status.active else None,
        approved_at=now if status == Status.active else None,
        source_kind=source_kind,
        source_id=source_id,
        created_at=now,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(
        "pass.issue",
        pass_,
        actor=actor,
        after={"number": pass_.number, "kind": kind.value, "status": status.value},
    )
    if status == Status.pending:
        _ask_owners(pass_)
    return pass_


# --- Notices (through the outbox, after the commit) -----------------------------------------


def _tell(users, pass_: Pass, kind: str, subject, body) -> None:
    from portal.core.places import Estate
    from portal.notify.outbox import tell

    estate = db.session.get(Estate, pass_.estate_id)
    for user in users:
        tell(
            user,
            kind=kind,
            estate=estate,
            unit_id=pass_.unit_id,
            render=lambda: (subject, body),
        )


def _owners_of(unit_id: int):
    from portal.core.people import User

    return db.session.scalars(
        select(User)
        .join(Residency, Residency.user_id == User.id)
        .where(
            Residency.unit_id == unit_id,
            Residency.relation == Relation.owner.value,
            current_residency_clause(),
        )
        .order_by(User.id)
    ).all()


def _ask_owners(pass_: Pass) -> None:
    """The owners of the unit hear that a tenant's goods pass waits for them."""
    _tell(
        _owners_of(pass_.unit_id),
        pass_,
        "pass_pending",
        _l("Goods release pass %(n)s awaits your approval", n=pass_.number),
        _l(
            "Your tenant asks to take goods out of the estate. Approve it under My passes, "
            "or ask the service centre."
        ),
    )


def _tell_approved(pass_: Pass, actor) -> None:
    if pass_.requested_by_id == actor.id:
        return
    from portal.core.people import User

    _tell(
        [db.session.get(User, pass_.requested_by_id)],
        pass_,
        "pass_approved",
        _l("Goods release pass %(n)s approved", n=pass_.number),
        _l("Show its QR code or its number at the gate."),
    )


def can_approve(actor, pass_: Pass) -> bool:
    """The desk of the pass's estate, or a current owner of its unit, while it is pending."""
    if pass_.status != Status.pending:
        return False
    if actor.is_staff:
        return actor.role in DESK
    return relation_of(actor, pass_.unit_id) == Relation.owner


def can_revoke(actor, pass_: Pass) -> bool:
    """The desk, the unit's owner or whoever asked for it, while it is pending or active."""
    if pass_.status not in LIVE_STATUSES:
        return False
    if actor.is_staff:
        return actor.role in DESK
    return pass_.requested_by_id == actor.id or relation_of(actor, pass_.unit_id) == (
        Relation.owner
    )


def approve_pass(pass_: Pass, *, actor) -> Pass:
    """A tenant's goods pass is approved by the unit's owner or the desk: it becomes active."""
    if pass_.status != Status.pending:
        raise Conflict(
            _l("Only a pass awaiting approval can be approved."), fields={"status": pass_.status}
        )
    if not can_approve(actor, pass_):
        raise NotAllowed(_l("Only the owner of the unit or the service centre can approve."))
    pass_.status = Status.active.value
    pass_.approved_by_id = actor.id
    pass_.approved_at = clock.now()
    db.session.flush()
    audit.record("pass.approve", pass_, actor=actor, after={"number": pass_.number})
    _tell_approved(pass_, actor)
    return pass_


def revoke_pass(pass_: Pass, *, actor, reason) -> Pass:
    """Withdraw a pending or active pass, saying why; the gate then refuses it."""
    if pass_.status not in LIVE_STATUSES:
        raise Conflict(_l("This pass is no longer live."), fields={"status": pass_.status})
    if not can_revoke(actor, pass_):
        raise NotAllowed(_l("You may not revoke this pass."))
    reason = clean_text(reason, "reason", MAX_REASON)
    _revoke(pass_, actor, reason)
    return pass_


def _revoke(pass_: Pass, actor, reason: str) -> None:
    before = pass_.status
    pass_.status = Status.revoked.value
    pass_.revoked_by_id = actor.id if actor is not None else None
    pass_.revoked_at = clock.now()
    pass_.revoke_reason = reason
    db.session.flush()
    audit.record(
        "pass.revoke",
        pass_,
        actor=actor,
        before={"status": before},
        after={"number": pass_.number, "reason": reason},
    )


def _of_source(source_kind: str, source_id: int):
    return select(Pass).where(
        Pass.source_kind == source_kind,
        Pass.source_id == source_id,
        Pass.status.in_([s.value for s in LIVE_STATUSES]),
    )


def revoke_passes(source_kind, source_id, *, actor, reason) -> int:
    """Revoke the live passes a ticket made (a renovation stopped or finished); how many."""
    reason = clean_text(reason, "reason", MAX_REASON)
    passes = db.session.scalars(_of_source(source_kind, source_id).order_by(Pass.id)).all()
    for pass_ in passes:
        _revoke(pass_, actor, reason)
    return len(passes)


def revoke_unit_passes(unit_id: int, *, actor, reason, keep=None) -> int:
    """Revoke the live passes of a unit its household has left (a move-out), except those
    the ticket `keep` = (source_kind, source_id) made (its goods release pass); how many."""
    reason = clean_text(reason, "reason", MAX_REASON)
    stmt = select(Pass).where(Pass.unit_id == unit_id, Pass.status.in_(list(LIVE_STATUSES)))
    if keep is not None:
        kept = (Pass.source_kind == keep[0]) & (Pass.source_id == keep[1])
        stmt = stmt.where(~kept | Pass.source_kind.is_(None))
    passes = db.session.scalars(stmt.order_by(Pass.id)).all()
    for pass_ in passes:
        _revoke(pass_, actor, reason)
    return len(passes)


def extend_passes(source_kind, source_id, valid_until, *, actor) -> int:
    """Move the end of the live passes a ticket made (its window was extended); how many
    changed. The ticket's own window rules their length, not the pass settings."""
    if not isinstance(valid_until, datetime) or valid_until.tzinfo is None:
        raise invalid(_l("Enter a date and time."), "valid_until", "required")
    passes = db.session.scalars(_of_source(source_kind, source_id).order_by(Pass.id)).all()
    changed = 0
    for pass_ in passes:
        if valid_until <= pass_.valid_from or pass_.valid_until == valid_until:
            continue
        before = pass_.valid_until
        pass_.valid_until = valid_until
        changed += 1
        audit.record(
            "pass.extend",
            pass_,
            actor=actor,
            before={"valid_until": before},
            after={"valid_until": valid_until},
        )
    db.session.flush()
    return changed
