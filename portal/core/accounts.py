"""Accounts: argon2id passwords, sign-in by username or phone, session revocation."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.core import audit, clock, common_passwords
from portal.core.access import estate_ids_for
from portal.core.errors import ServiceError
from portal.core.people import STAFF_ROLES, Role, StaffRole, User
from portal.core.places import Estate
from portal.core.tokens import revoke_all_tokens
from portal.extensions import db

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = hasher.hash("not-a-password")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise ServiceError when a new password is too weak to accept."""
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            _l("Use at least %(n)d characters.", n=MIN_PASSWORD), fields={"password": "too_short"}
        )
    if len(password) > 256:
        raise ServiceError(_l("Use at most 256 characters."), fields={"password": "too_long"})
    if password.strip().lower() in common_passwords.PASSWORDS:
        raise ServiceError(
            _l("This password is one of the most common ones: choose another."),
            fields={"password": "common"},
        )


def find_login(login: str) -> User | None:
    """The active account a username or phone number names, if exactly one does."""
    login = (login or "").strip()
    if not login:
        return None
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == login.lower(), User.is_active)
    )
    if user is not None:
        return user
    matches = db.session.scalars(
        select(User)
        .where(User.phone == login, User.is_active, User.password_hash.is_not(None))
        .limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def authenticate(login: str, password: str) -> User | None:
    """The user whose username or phone and password match, rehashing an outdated hash."""
    user = find_login(login)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    return user


def revoke_sessions(user: User) -> None:
    """End every session and API token of a user (sign-out, password change)."""
    user.session_version = (user.session_version or 0) + 1
    revoke_all_tokens(user)


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; revokes every other session."""
    try:
        hasher.verify(user.password_hash or _DUMMY_HASH, current or "")
    except (VerificationError, InvalidHashError):
        raise ServiceError(
            _l("The current password is wrong."), fields={"current_password": "wrong"}
        ) from None
    check_password_rules(new)
    user.password_hash = hash_password(new)
    revoke_sessions(user)
    audit.record("user.password_change", user, actor=user)


def create_staff(username, *, name, role, password, estate=None, phone=None, actor=None):
    """Create a staff account with one role; no estate means company-wide."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ServiceError(
            _l("A username is 3–64 letters, digits, dots, dashes or underscores."),
            fields={"username": "invalid"},
        )
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise ServiceError(_l("That username is taken."), fields={"username": "taken"})
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(_l("Unknown role."), fields={"role": "unknown"}) from None
    if role not in STAFF_ROLES:
        raise ServiceError(
            _l("Residents get access through their unit, not a staff role."),
            fields={"role": "resident"},
        )
    if estate is None and role not in (Role.admin, Role.manager, Role.inspector):
        raise ServiceError(
            _l("Name the estate this person works in."), fields={"estate": "required"}
        )
    check_password_rules(password)
    company_id = estate.company_id if estate else _only_company_id()
    user = User(
        username=username,
        name=(name or username).strip()[:100],
        phone=phone,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(
        StaffRole(
            user_id=user.id,
            company_id=company_id,
            estate_id=estate.id if estate else None,
            role=role,
        )
    )
    db.session.flush()
    audit.record(
        "user.create",
        user,
        actor=actor,
        estate_id=estate.id if estate else None,
        after={"username": username, "role": role.value},
    )
    return user


def _only_company_id() -> int:
    from portal.core.places import Company

    ids = db.session.scalars(select(Company.id).limit(2)).all()
    if len(ids) != 1:
        raise ServiceError(
            _l("Name the estate: the company cannot be determined."), fields={"estate": "required"}
        )
    return ids[0]


def staff_accounts(actor) -> list[User]:
    """The staff accounts of the actor's company, with their roles and estates, by username."""
    company = select(Estate.company_id).where(estate_ids_for(actor))
    return list(
        db.session.scalars(
            select(User)
            .join(StaffRole)
            .where(StaffRole.company_id.in_(company))
            .options(selectinload(User.staff_roles).selectinload(StaffRole.estate))
            .order_by(User.username)
        ).unique()
    )


def find_estate(name: str | None) -> Estate | None:
    """The estate a name refers to, or the only estate when no name is given."""
    if name:
        estate = db.session.scalar(select(Estate).where(Estate.name == name.strip()))
        if estate is None:
            raise ServiceError(
                _l("No estate is called %(name)s.", name=name), fields={"estate": "unknown"}
            )
        return estate
    estates = db.session.scalars(select(Estate).limit(2)).all()
    return estates[0] if len(estates) == 1 else None
