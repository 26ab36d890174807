"""Authorization in one place: a role gate for views and a scoped loader for objects.

A resident sees only their current units' records, staff only their estate's, company-wide
staff their company's. Anything outside the caller's scope answers 404, so its existence is
not revealed.
"""

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.core.people import STAFF_ROLES, Role, current_unit_ids_query
from portal.core.places import Estate, Unit
from portal.extensions import db

MANAGERS = (Role.manager, Role.admin)
SUPERVISORS = (Role.supervisor, Role.manager, Role.admin)


def roles_required(*roles):
    """Let through signed-in users whose role is one of `roles`; others get 401/403."""
    allowed = frozenset(Role(r) for r in roles)

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


staff_required = roles_required(*STAFF_ROLES)
managers_only = roles_required(*MANAGERS)
admins_only = roles_required(Role.admin)


def visible(model, actor):
    """The SQL condition that limits rows of `model` to what `actor` may see.

    `model` has `estate_id` and either is Unit or has `unit_id`.
    """
    if actor.is_company_wide:
        company_estates = select(Estate.id).where(Estate.company_id == actor.staff_role.company_id)
        return model.estate_id.in_(company_estates)
    if actor.is_staff:
        return model.estate_id == actor.estate_id
    unit_column = model.id if model is Unit else model.unit_id
    return unit_column.in_(current_unit_ids_query(actor.id).order_by(None))


def estate_ids_for(actor):
    """The SQL condition on Estate rows an actor may see."""
    if actor.is_company_wide:
        return Estate.company_id == actor.staff_role.company_id
    return Estate.id == actor.estate_id


def get_or_404(model, object_id, actor=None, *, options=()):
    """Load one object the actor may see, or answer 404 whether it exists or not."""
    actor = actor if actor is not None else current_user
    if not actor.is_authenticated:
        abort(404)
    stmt = select(model).where(model.id == object_id, visible(model, actor)).options(*options)
    obj = db.session.scalar(stmt)
    if obj is None:
        abort(404)
    return obj
