"""Repair services: the only code that creates or changes a repair."""

import functools
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, case, func, select

from portal.blueprints.repairs.models import OPEN_STATES, Category, Location, Repair, State
from portal.blueprints.repairs.workflow import REPAIR, unreviewed_dissatisfied
from portal.core import clock, idempotency, workflow
from portal.core.access import visible
from portal.core.errors import ServiceError
from portal.core.intake import take_in
from portal.core.people import Role, StaffRole, User
from portal.extensions import db

MAX_DESCRIPTION = 2000


def submit_repair(
    actor,
    *,
    category,
    location,
    description,
    unit_id=None,
    channel=None,
    urgent=False,
    preferred_time=None,
    reporter_id=None,
    idempotency_key=None,
) -> Repair:
    """Register a repair: a resident online, or staff for a caller, a walk-in or a patrol.
    With a one-time key, the same request again returns the first repair (`replayed`)."""
    errors = {}
    try:
        category = Category(category)
    except ValueError:
        errors["category"] = "unknown"
    try:
        location = Location(location)
    except ValueError:
        errors["location"] = "unknown"
    description = (description or "").strip()
    if not description:
        errors["description"] = "required"
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = "too_long"
    if errors:
        raise ServiceError(_l("Some fields are not valid."), fields=errors)
    intake = take_in(actor, unit_id=unit_id, channel=channel, reporter_id=reporter_id)
    if location == Location.unit and intake.unit_id is None:
        raise ServiceError(_l("Say which unit needs the repair."), fields={"unit_id": "required"})
    repair = Repair(
        estate_id=intake.estate_id,
        unit_id=intake.unit_id,
        reporter_id=intake.reporter.id,
        category=category,
        location=location,
        channel=intake.channel,
        description=description,
        urgent=bool(urgent),
        preferred_time=(preferred_time or "").strip()[:100] or None,
    )
    fingerprint = idempotency.digest(
        category=repair.category,
        location=repair.location,
        unit_id=repair.unit_id,
        reporter_id=repair.reporter_id,
        channel=repair.channel,
        description=repair.description,
        urgent=repair.urgent,
        preferred_time=repair.preferred_time,
    )
    return idempotency.create_once(
        Repair,
        repair,
        idempotency.scoped(actor, idempotency_key),
        fingerprint,
        lambda: workflow.open_ticket(
            REPAIR,
            repair,
            actor=actor,
            data={"channel": intake.channel.value, "category": category.value},
        ),
    )


def act(repair, action, *, actor, data=None) -> Repair:
    """Take a workflow action on a repair (assign, start, complete, confirm …)."""
    return workflow.apply(repair, action, actor=actor, data=data)


# The due filters a repair list takes (?due=): "overdue" is open and past its due time.
DUE_FILTERS = frozenset({"overdue"})


def repairs_for(actor, *, status=None, category=None, unit_id=None, assigned_to_me=False, due=None):
    """A SELECT of the repairs an actor may see, newest first, with filters."""
    stmt = select(Repair).where(visible(Repair, actor)).order_by(Repair.id.desc())
    if due == "overdue":
        stmt = stmt.where(Repair.status.in_(OPEN_STATES), Repair.due_at < clock.now())
    if status:
        stmt = stmt.where(Repair.status == status)
    if category:
        stmt = stmt.where(Repair.category == category)
    if unit_id:
        stmt = stmt.where(Repair.unit_id == unit_id)
    if assigned_to_me:
        stmt = (
            stmt.where(Repair.assignee_id == actor.id)
            .order_by(None)
            .order_by(Repair.due_at.asc().nulls_last(), Repair.id)
        )
    return stmt


def latest_repairs_of_resident(actor, n: int = 3) -> list[Repair]:
    """The newest repairs of a resident's current units (the resident home's card): what
    `repairs_for` shows them first, from a statement built once."""
    return db.session.scalars(
        _latest_of_units_statement(), {"units": actor.current_unit_ids, "n": n}
    ).all()


@functools.cache
def _latest_of_units_statement():
    return (
        select(Repair)
        .where(Repair.unit_id.in_(bindparam("units", expanding=True)))
        .order_by(Repair.id.desc())
        .limit(bindparam("n", type_=Integer))
    )


def technicians_for(repair):
    """Technicians of the repair's estate whose skills match, with their open load (one
    query); skill-less technicians take any category."""
    load = (
        select(Repair.assignee_id, func.count(Repair.id).label("open"))
        .where(Repair.status.in_([State.assigned, State.in_progress]))
        .group_by(Repair.assignee_id)
        .subquery()
    )
    rows = db.session.execute(
        select(User, StaffRole.skills, func.coalesce(load.c.open, 0))
        .join(StaffRole, StaffRole.user_id == User.id)
        .outerjoin(load, load.c.assignee_id == User.id)
        .where(
            StaffRole.estate_id == repair.estate_id,
            StaffRole.role == Role.technician,
            User.is_active,
        )
        .order_by(func.coalesce(load.c.open, 0), User.name)
    ).all()
    return [
        {"user": user, "open": open_count, "skills": skills or []}
        for user, skills, open_count in rows
        if not skills or repair.category in skills
    ]


def board(actor):
    """The supervisor's board: open per state, overdue, unassigned, visits due today."""
    now = clock.now()
    # One grouped statement: per state its repairs, those overdue, and those completed or
    # closed with a dissatisfied visit nobody has acted on yet (not reopened, not reviewed).
    followed_up = Repair.status.in_([State.completed, State.closed])
    rows = db.session.execute(
        select(
            Repair.status,
            func.count(Repair.id),
            func.coalesce(func.sum(case((Repair.due_at < now, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((followed_up & unreviewed_dissatisfied(Repair.id), 1), else_=0)), 0
            ),
        )
        .where(visible(Repair, actor))
        .group_by(Repair.status)
    ).all()
    by_state = {status: count for status, count, _overdue, _followups in rows}
    due = workflow.visit_queue(actor, kinds={"repair"}, due_by=now + timedelta(days=1))
    visits_due = db.session.scalar(select(func.count()).select_from(due.order_by(None).subquery()))
    return {
        "by_state": by_state,
        "overdue": sum(int(overdue) for status, _n, overdue, _f in rows if status in OPEN_STATES),
        "unassigned": by_state.get(State.submitted, 0) + by_state.get(State.reopened, 0),
        "visits_due_today": visits_due or 0,
        "followups": sum(int(followups) for _s, _n, _o, followups in rows),
    }


def sweep_overdue() -> int:
    """The scheduled job: warn, escalate to the supervisor, then to the manager."""
    return workflow.sweep_overdue(REPAIR)
