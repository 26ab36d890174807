"""API: repairs on the shared workflow (contracts §5)."""

from flask_login import current_user

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.api.tickets import action_data, events_out, user_ref
from portal.blueprints.repairs import services
from portal.blueprints.repairs.models import Repair
from portal.blueprints.repairs.workflow import REPAIR
from portal.core.access import EVERYONE, get_or_404
from portal.core.money import yuan
from portal.extensions import db


def repair_out(repair: Repair, cls=s.RepairOut, **extra):
    return cls(
        id=repair.id,
        number=repair.number,
        status=repair.status,
        created_at=repair.created_at,
        updated_at=repair.updated_at,
        unit_id=repair.unit_id,
        category=repair.category,
        location=repair.location,
        channel=repair.channel,
        description=repair.description,
        urgent=repair.urgent,
        preferred_time=repair.preferred_time,
        due_at=repair.due_at,
        overdue=repair.is_overdue,
        reporter_id=repair.reporter_id,
        owner_id=repair.owner_id,
        assignee=user_ref(repair.assignee),
        completion_note=repair.completion_note,
        charge=yuan(repair.charge_fen) if repair.charge_fen is not None else None,
        rating=repair.rating,
        allowed_actions=REPAIR.allowed(repair, current_user),
        **extra,
    )


def repair_detail(repair: Repair):
    return repair_out(repair, s.RepairDetailOut, events=events_out(repair))


@route(
    bp,
    "/repairs",
    method="POST",
    roles=EVERYONE,
    summary="Report a repair (residents) or register one for a caller, walk-in or patrol (staff)",
    body=s.RepairIn,
    response=s.RepairDetailOut,
    status=201,
    errors=(404, 409),
    tags=("repairs",),
)
def create_repair(body):
    """Create a repair; it gets its number, owner and due time. The same idempotency key
    again answers with the first repair; with other values, 409."""
    repair = services.submit_repair(current_user, **body.model_dump())
    db.session.commit()
    return repair_detail(repair)


@route(
    bp,
    "/repairs",
    roles=EVERYONE,
    summary="Repairs the caller may see, newest first",
    query=s.RepairQuery,
    response=s.RepairPage,
    tags=("repairs",),
)
def list_repairs(query):
    """List repairs with filters."""
    stmt = services.repairs_for(
        current_user, status=query.status, category=query.category, unit_id=query.unit_id
    )
    return page_of(stmt, query, repair_out)


def _load(repair_id) -> Repair:
    return get_or_404(Repair, repair_id)


@route(
    bp,
    "/repairs/<int:repair_id>",
    summary="One repair with its history",
    response=s.RepairDetailOut,
    errors=(404,),
    tags=("repairs",),
)
def get_repair(repair_id):
    """A repair in the caller's scope, with its events."""
    return repair_detail(_load(repair_id))


@route(
    bp,
    "/repairs/<int:repair_id>/<action>",
    method="POST",
    summary="Take an action: "
    "assign, reassign, start, complete, confirm, reopen, cancel, return-visit, review, urge",
    response=s.RepairDetailOut,
    errors=(403, 404, 409),
    tags=("repairs",),
)
def repair_action(repair_id, action):
    """Apply a workflow action; 409 names the actions the state allows."""
    repair = _load(repair_id)
    services.act(repair, action, actor=current_user, data=action_data())
    db.session.commit()
    return repair_detail(repair)
