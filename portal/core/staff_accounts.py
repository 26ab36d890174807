"""An administrator's care of staff accounts: deactivate, reactivate, change the role, reset
the password. Each change is audited; an administrator never locks themselves out, and a
company always keeps one active administrator."""

import secrets

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal.core import audit
from portal.core.access import estate_ids_for
from portal.core.accounts import check_password_rules, hash_password, revoke_sessions
from portal.core.butler_zones import StaffRoleZone
from portal.core.errors import ServiceError
from portal.core.people import STAFF_ROLES, Role, StaffRole, User
from portal.core.places import Estate
from portal.extensions import db

COMPANY_WIDE_ROLES = (Role.admin, Role.manager, Role.inspector)
# A generated temporary password: no 0/O or 1/l/I to misread when it is read out.
READABLE_CHARACTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 12
PASSWORD_EVENTS = ("user.password_reset", "user.password_change")


def staff_account_or_404(user_id, actor) -> User:
    """A staff account of the actor's company (as the staff list shows), else 404."""
    company = select(Estate.company_id).where(estate_ids_for(actor))
    user = db.session.scalar(
        select(User)
        .join(StaffRole, StaffRole.user_id == User.id)
        .where(User.id == user_id, StaffRole.company_id.in_(company))
        .limit(1)
    )
    return user if user is not None else abort(404)


def deactivate_staff(user: User, *, actor) -> None:
    """Close an account: every session and API token ends at once, sign-in is refused."""
    _not_oneself(user, actor, _l("You cannot deactivate your own account."))
    if not user.is_active:
        return
    _keep_an_administrator(user, _l("The last active administrator cannot be deactivated."))
    user.is_active = False
    revoke_sessions(user)
    audit.record("user.deactivate", user, actor=actor, estate_id=_estate_id(user))


def reactivate_staff(user: User, *, actor) -> None:
    """Open a closed account again (with the password it had; earlier sessions stay ended)."""
    if user.is_active:
        return
    user.is_active = True
    audit.record("user.reactivate", user, actor=actor, estate_id=_estate_id(user))


def change_staff_role(user: User, role, *, estate: Estate | None, actor) -> bool:
    """Give a staff member another role (and estate; none means company-wide): their sessions
    and API tokens end, so that they sign in again as what they now are. False when nothing
    changes."""
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(_l("Choose a role."), fields={"role": "unknown"}) from None
    if role not in STAFF_ROLES:
        raise ServiceError(
            _l("Residents get access through their unit, not a staff role."),
            fields={"role": "resident"},
        )
    if estate is None and role not in COMPANY_WIDE_ROLES:
        raise ServiceError(
            _l("Name the estate this person works in."), fields={"estate": "required"}
        )
    staff = user.staff_role
    if staff.role == role and staff.estate_id == (estate.id if estate else None):
        return False
    _not_oneself(user, actor, _l("You cannot change your own role."), field="role")
    if role != Role.admin and user.is_active:
        _keep_an_administrator(user, _l("The last active administrator keeps that role."))
    before = {"role": Role(staff.role).value, "estate": staff.estate.name if staff.estate else None}
    was_butler = staff.role == Role.zone_butler
    staff.role = role
    moved = staff.estate_id != (estate.id if estate else None)
    if moved:
        staff.estate_id = estate.id if estate else None
        staff.estate = estate
    if moved or (was_butler and role != Role.zone_butler):
        # Zones belong to the estate left behind, and to the butler's role: a butler again
        # later is given their zones anew (audited), not the old ones back.
        staff.zone_id = None
        db.session.execute(delete(StaffRoleZone).where(StaffRoleZone.staff_role_id == staff.id))
    revoke_sessions(user)
    db.session.flush()
    audit.record(
        "user.role_change",
        user,
        actor=actor,
        estate_id=staff.estate_id,
        before=before,
        after={"role": role.value, "estate": estate.name if estate else None},
    )
    return True


def reset_staff_password(user: User, password: str | None, *, actor) -> str:
    """Set a temporary password (the one given, or a generated one, returned to be shown
    once); the account is signed out everywhere and must choose its own at next sign-in."""
    if user.id == actor.id:
        raise ServiceError(
            _l("Change your own password on the password page."), fields={"password": "self"}
        )
    password = password or generate_password()
    check_password_rules(password)
    user.password_hash = hash_password(password)
    revoke_sessions(user)
    audit.record("user.password_reset", user, actor=actor, estate_id=_estate_id(user))
    return password


def generate_password() -> str:
    """A random temporary password that is easy to read out and type."""
    return "".join(secrets.choice(READABLE_CHARACTERS) for _ in range(GENERATED_LENGTH))


def must_change_password(user: User) -> bool:
    """Whether the account's password was last set by an administrator (a reset) rather than
    by its owner (a change): then it must choose its own before doing anything else."""
    last = db.session.scalar(
        select(audit.AuditEntry.action)
        .where(
            audit.AuditEntry.entity_type == User.__tablename__,
            audit.AuditEntry.entity_id == user.id,
            audit.AuditEntry.action.in_(PASSWORD_EVENTS),
        )
        .order_by(audit.AuditEntry.id.desc())
        .limit(1)
    )
    return last == "user.password_reset"


def _not_oneself(user, actor, message, *, field="user") -> None:
    if actor is not None and user.id == actor.id:
        raise ServiceError(message, fields={field: "self"})


def _keep_an_administrator(user: User, message) -> None:
    """Refuse when `user` is their company's last active administrator. The administrators'
    rows are locked, so two administrators closing each other's accounts cannot both win."""
    staff = user.staff_role
    if Role(staff.role) != Role.admin:
        return
    admins = db.session.scalars(
        select(User.id)
        .join(StaffRole, StaffRole.user_id == User.id)
        .where(
            StaffRole.company_id == staff.company_id,
            StaffRole.role == Role.admin.value,
            User.is_active,
        )
        .order_by(User.id)
        .with_for_update(of=User)
    ).all()
    if not set(admins) - {user.id}:
        raise ServiceError(message, fields={"user": "last_admin"})


def _estate_id(user: User) -> int | None:
    return user.staff_role.estate_id if user.staff_role else None
