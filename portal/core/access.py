"""Authorization in one place: the named role sets, the role gate for views, the estate a
person acts for, and the scoped loader for objects.

A resident sees only their current units' records, staff only their estate's, company-wide
staff their company's. A zone butler sees, within their estate, only the units of the zones
they look after (portal/core/butler_zones.py) and the records of those units; a ticket of no
unit (a common area) only when they registered it or own it. Anything outside the caller's
scope answers 404, so its existence is not revealed.

How a company-wide user (an administrator, a company manager) picks the estate they act for:
an explicit `estate` parameter (a query argument or an API field) when a page or endpoint
takes one; otherwise the estate chosen in the page header's switcher (kept in the session);
otherwise the company's first estate. Staff of one estate and residents always act for their
own estate; naming another answers 404.
"""

from functools import wraps

from flask import abort, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import false, or_, select, true

from portal.core.butler_zones import zone_ids_query
from portal.core.people import STAFF_ROLES, Role, StaffRole, User, current_unit_ids_query
from portal.core.places import Building, Estate, Unit, Zone
from portal.extensions import db

# The named role sets: every gate, navigation entry and transition says who with these.
# Staff who work with residents' records. The gate guard is staff of an estate but sees
# only what the gate needs (GATE): no staff page opens to them unless it names them.
STAFF = frozenset(STAFF_ROLES) - {Role.guard}
RESIDENTS = frozenset({Role.resident})
ADMINS = frozenset({Role.admin})
MANAGERS = frozenset({Role.manager, Role.admin})
SUPERVISORS = MANAGERS | {Role.supervisor}
# The counter: front desk and supervisors take payments and dispatch work.
COUNTER = SUPERVISORS | {Role.frontdesk}
# The desk: everyone who serves residents directly (counter and zone butlers).
DESK = COUNTER | {Role.zone_butler}
# Who reads the service and fee reports: the desk and the quality inspector.
READERS = DESK | {Role.inspector}
# Who carries out work orders.
WORKERS = frozenset({Role.technician, Role.supervisor, Role.manager})
EVERYONE = STAFF | RESIDENTS
# Who checks passes at the gate: the guards and the desk of the estate (contracts §8).
GATE = DESK | {Role.guard}

# The session key of the estate chosen in the header's switcher.
ESTATE_KEY = "acting_estate_id"
MAX_ID = 2**31 - 1  # the largest id a database column holds; anything above is no id


def roles_required(*roles):
    """Let through signed-in users whose role is one of `roles`; others get 401/403.

    The allowed roles stay on the view (`allowed_roles`), so the navigation can show
    exactly the pages a person may open.
    """
    allowed = frozenset(Role(r) for group in roles for r in _roles(group))

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from portal.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def _roles(group):
    return group if isinstance(group, frozenset | set | tuple | list) else (group,)


staff_required = roles_required(STAFF)
managers_only = roles_required(MANAGERS)
admins_only = roles_required(ADMINS)


def may_open(user, view) -> bool:
    """Whether `user` passes the role gate a view function declares."""
    allowed = getattr(view, "allowed_roles", None)
    if allowed is None:
        return user.is_authenticated
    return user.is_authenticated and user.role in allowed


# --- Scope --------------------------------------------------------------------------------


def estate_ids_for(actor):
    """The SQL condition on Estate rows an actor may see."""
    if actor.is_company_wide:
        return Estate.company_id == actor.staff_role.company_id
    return Estate.id == actor.estate_id


def zone_ids_of(actor=None) -> list[int] | None:
    """The zones a zone butler looks after (of their estate; none assigned: an empty list),
    or None for everyone else, whom no zone limits. Without `actor`: the signed-in person.

    Read once per request."""
    if actor is None:
        actor = current_user if has_request_context() else None
    if actor is None or not actor.is_authenticated or actor.role != Role.zone_butler:
        return None
    cache = request.environ.setdefault("portal.zone_ids", {}) if has_request_context() else {}
    key = (actor.id, actor.staff_role.id, actor.staff_role.zone_id)
    if key not in cache:
        cache[key] = list(db.session.scalars(zone_ids_query(actor.staff_role)))
    return cache[key]


def unit_in_scope(actor=None, column=None):
    """The SQL condition that the unit (`column`, a unit id column; default: Unit rows) lies
    in the actor's zones: always true for all but zone butlers (see `zone_ids_of`)."""
    zone_ids = zone_ids_of(actor)
    if zone_ids is None:
        return true()
    if not zone_ids:
        return false()
    buildings = select(Building.id).where(Building.zone_id.in_(zone_ids))
    if column is None:
        return Unit.building_id.in_(buildings)
    return column.in_(select(Unit.id).where(Unit.building_id.in_(buildings)))


def _zone_scope(model, actor):
    """What the actor's zones add to the estate rule for `model` (None: nothing)."""
    zone_ids = zone_ids_of(actor)
    if zone_ids is None:
        return None
    if model is Unit:
        return unit_in_scope(actor)
    if model is Zone:
        return Zone.id.in_(zone_ids) if zone_ids else false()
    if not hasattr(model, "unit_id"):
        return None  # estate-level records (notices, fee items, jobs) are the estate's
    condition = unit_in_scope(actor, model.unit_id)
    if hasattr(model, "owner_id") and hasattr(model, "created_by_id"):
        # A ticket they registered or own (a common area's too) stays theirs to follow.
        condition = or_(condition, model.created_by_id == actor.id, model.owner_id == actor.id)
    return condition


def visible(model, actor):
    """The SQL condition that limits rows of `model` to what `actor` may see.

    Staff see the rows of their estate (company-wide staff: of their company's estates), a
    zone butler only the zones, units and unit records of their zones (`_zone_scope`);
    residents see the rows of their current units; a gate guard only the rows of models that
    declare `__gate_visible__` (passes), of their estate. `model` is Estate, Zone, Unit, a model
    with `estate_id` and `unit_id`, or an estate-level model with `estate_id` only
    (residents see none of those).
    """
    if model is Estate:
        return estate_ids_for(actor) if actor.is_staff else Estate.id == actor.estate_id
    if actor.role == Role.guard:
        # The gate sees the records made for it (passes and their checks), nothing else.
        if getattr(model, "__gate_visible__", False):
            return model.estate_id == actor.estate_id
        return false()
    if actor.is_company_wide:
        company_estates = select(Estate.id).where(Estate.company_id == actor.staff_role.company_id)
        return model.estate_id.in_(company_estates)
    if actor.is_staff:
        in_estate = model.estate_id == actor.estate_id
        zones = _zone_scope(model, actor)
        return in_estate if zones is None else in_estate & zones
    if model is Unit:
        return Unit.id.in_(current_unit_ids_query(actor.id).order_by(None))
    if hasattr(model, "unit_id"):
        return model.unit_id.in_(current_unit_ids_query(actor.id).order_by(None))
    return false()


def get_or_404(model, object_id, actor=None, *, by=None, scope=None, where=(), options=()):
    """Load one object the actor may see, or answer 404 whether it exists or not.

    `by` is the column to look up (default: the id); `scope` replaces the usual visibility
    rule (e.g. "its creator, or staff of its estate"); `where` adds conditions.
    """
    actor = actor if actor is not None else current_user
    if not actor.is_authenticated or not _is_key(object_id):
        abort(404)
    column = by if by is not None else model.id
    stmt = (
        select(model)
        .where(column == object_id, scope if scope is not None else visible(model, actor), *where)
        .options(*options)
        .order_by(model.id)
        .limit(1)
    )
    obj = db.session.scalar(stmt)
    if obj is None:
        abort(404)
    return obj


def as_id(text) -> int | None:
    """An id written in a form or a query ("42"), or None for anything that is no id."""
    text = str(text or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _is_key(value) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return 0 < value <= MAX_ID
    return isinstance(value, str) and 0 < len(value) <= 200 and "\x00" not in value


# --- The estate a person acts for ---------------------------------------------------------


def estates_for(actor) -> list[Estate]:
    """The estates an actor may act for, by name (the header switcher's choices)."""
    if not actor.is_authenticated or not actor.is_staff:
        return [actor.estate] if actor.is_authenticated and actor.estate_id else []
    return list(db.session.scalars(select(Estate).where(estate_ids_for(actor)).order_by(Estate.id)))


def acting_estate(actor=None, estate_id=None) -> Estate | None:
    """The estate `actor` acts for (see the module's docstring), or 404 for an estate named
    outside their scope. None only when the actor has no estate at all."""
    actor = actor if actor is not None else current_user
    if estate_id is not None:
        if not _is_key(estate_id) or not actor.is_authenticated:
            abort(404)
        estate = db.session.scalar(
            select(Estate).where(Estate.id == estate_id, visible(Estate, actor))
        )
        return estate or abort(404)
    if not actor.is_company_wide:
        return actor.estate
    chosen = session.get(ESTATE_KEY) if has_request_context() else None
    stmt = select(Estate).where(estate_ids_for(actor))
    if chosen:
        estate = db.session.scalar(stmt.where(Estate.id == chosen))
        if estate is not None:
            return estate
    return db.session.scalar(stmt.order_by(Estate.id).limit(1))


def acting_estate_id(actor=None, estate_id=None) -> int | None:
    """The id of the estate the actor acts for (see acting_estate)."""
    estate = acting_estate(actor, estate_id)
    return estate.id if estate else None


def choose_estate(actor, estate_id) -> Estate:
    """The header switcher: a company-wide user acts for this estate from now on."""
    estate = acting_estate(actor, estate_id)
    session[ESTATE_KEY] = estate.id
    return estate


def staff_of(estate_id: int, *roles, user_id: int | None = None) -> list[User]:
    """The active staff of an estate, by name: those who hold one of `roles` (role sets or
    single roles; none: any staff role), or just the one with `user_id` if they do."""
    stmt = (
        select(User)
        .join(StaffRole, StaffRole.user_id == User.id)
        .where(StaffRole.estate_id == estate_id, User.is_active)
        .order_by(User.name, User.id)
    )
    if roles:
        stmt = stmt.where(StaffRole.role.in_([Role(r).value for g in roles for r in _roles(g)]))
    if user_id is not None:
        stmt = stmt.where(User.id == user_id)
    return list(db.session.scalars(stmt))
