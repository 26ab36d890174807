"""One-time account codes: a resident's activation and a password reset (contracts §7).

A code is six digits, kept only as a keyed hash (HMAC with the secret key, bound to its
user and purpose), valid for ten minutes unless its issuer says otherwise, good for one
use, and dead after MAX_TRIES wrong tries on its phone and purpose. Nothing here says
whether a phone is known: the caller answers the same either way.

The API other lines call (services: they flush, never commit):

- `issue(user, purpose, *, valid_for=CODE_VALIDITY) -> str` — a new code for `user`
  (purpose `ACTIVATE` or `RESET`); the plain code is returned once and never stored.
  Activation letters call it with a longer `valid_for`.
- `recipient(phone, purpose) -> (User, Estate) | None` — whom a code for the phone goes to
  (activate: a person without a password who holds a current residency; reset: a
  resident's account with a password). Sending it by SMS is the auth line's
  (`portal.blueprints.auth.services.request_code`): core does not speak to the outbox.
- `redeem(phone, purpose, code) -> User` — the person a live code of that phone and purpose
  belongs to; the code is used up. A wrong, used, expired or dead code raises `CodeRefused`
  (a ServiceError with `fields={"code": ...}`) after counting the try in the session: the
  caller commits after catching it, so that the try counts.
- `activate(phone, code, password) -> User` and `reset_password(phone, code, password) -> User`
  — check the new password (accounts.check_password_rules, before the code is looked at, so
  a weak password costs no try), redeem the code and set the password. Activation brings
  every current residency held under the same phone onto the one account; a reset ends every
  earlier session and API token of the account.
- `normalize_phone(text) -> str` — a phone as the residents import stores it.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import audit, clock
from portal.core.accounts import check_password_rules, hash_password, revoke_sessions
from portal.core.errors import ServiceError
from portal.core.people import Residency, StaffRole, User, current_residency_clause
from portal.core.places import Estate, Unit
from portal.core.types import UTCDateTime
from portal.extensions import db

ACTIVATE = "activate"
RESET = "reset"
PURPOSES = (ACTIVATE, RESET)
CODE_VALIDITY = timedelta(minutes=10)
MAX_TRIES = 5
CODE_RE = re.compile(r"^[0-9]{6}$")


class CodeRefused(ServiceError):
    """A wrong, used, expired or dead code (the try has been counted in the session)."""


class AccountCode(db.Model):
    """A one-time code sent to a person (or printed for them); only its hash is kept."""

    __tablename__ = "account_codes"
    __table_args__ = (Index("ix_account_codes_user_purpose", "user_id", "purpose"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


def normalize_phone(text) -> str:
    """A phone number without spaces and dashes, as the residents import keeps it."""
    return re.sub(r"[\s-]", "", text if isinstance(text, str) else "")[:32]


def _digest(user_id: int, purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ServiceError(_l("Unknown purpose."), fields={"purpose": "unknown"})


def issue(user: User, purpose: str, *, valid_for: timedelta = CODE_VALIDITY) -> str:
    """A new one-time code for a person; returns the plain code, of which only a hash stays."""
    _check_purpose(purpose)
    code = f"{secrets.randbelow(10**6):06d}"
    now = clock.now()
    db.session.add(
        AccountCode(
            purpose=purpose,
            user_id=user.id,
            code_hash=_digest(user.id, purpose, code),
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    db.session.flush()
    return code


def _not_staff():
    return ~select(StaffRole.id).where(StaffRole.user_id == User.id).exists()


def _to_activate(phone: str) -> tuple[User, Estate] | None:
    """The person a phone activates — a resident (not staff) holding a current residency,
    their account when they have one already — and an estate of theirs."""
    row = db.session.execute(
        select(User, Unit.estate_id)
        .join(Residency, Residency.user_id == User.id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(User.phone == phone, User.is_active, _not_staff(), current_residency_clause())
        .order_by(User.password_hash.is_(None), User.id, Residency.start_on)
        .limit(1)
    ).first()
    return (row[0], db.session.get(Estate, row[1])) if row is not None else None


def _account_of(phone: str) -> User | None:
    """The resident's account (active, with a password, not staff) a phone signs in to."""
    return db.session.scalar(
        select(User)
        .where(User.phone == phone, User.is_active, User.password_hash.is_not(None), _not_staff())
        .order_by(User.id)
        .limit(1)
    )


def _to_reset(phone: str) -> tuple[User, Estate] | None:
    """The account a phone resets, and the estate of its latest residency."""
    user = _account_of(phone)
    if user is None:
        return None
    estate_id = db.session.scalar(
        select(Unit.estate_id)
        .join(Residency, Residency.unit_id == Unit.id)
        .where(Residency.user_id == user.id)
        .order_by(current_residency_clause().desc(), Residency.start_on.desc())
        .limit(1)
    )
    return (user, db.session.get(Estate, estate_id)) if estate_id else None


def recipient(phone, purpose: str) -> tuple[User, Estate] | None:
    """Whom a code for this phone and purpose goes to, with the estate that sends it:
    activate, a person without a password who holds a current residency; reset, a
    resident's account with a password. None: nobody (the caller answers the same)."""
    _check_purpose(purpose)
    phone = normalize_phone(phone)
    if not phone:
        return None
    return _to_activate(phone) if purpose == ACTIVATE else _to_reset(phone)


def _refuse() -> CodeRefused:
    return CodeRefused(
        _l("This code is wrong or no longer valid. Check it, or ask for a new one."),
        fields={"code": "invalid"},
    )


def redeem(phone, purpose: str, code) -> User:
    """Use up the live code of this phone and purpose that matches `code`, and return its
    person. Any other answer counts a wrong try against every live code of the phone and
    purpose (MAX_TRIES kill them) and raises CodeRefused: commit after catching it."""
    _check_purpose(purpose)
    phone = normalize_phone(phone)
    code = code.strip() if isinstance(code, str) else ""
    now = clock.now()
    live = db.session.scalars(
        select(AccountCode)
        .join(User, User.id == AccountCode.user_id)
        .where(
            User.phone == phone,
            User.is_active,
            AccountCode.purpose == purpose,
            AccountCode.used_at.is_(None),
            AccountCode.expires_at > now,
            AccountCode.tries < MAX_TRIES,
        )
        .order_by(AccountCode.id.desc())
    ).all()
    if not phone or not live:
        raise _refuse()
    match = None
    if CODE_RE.match(code):
        match = next(
            (
                c
                for c in live
                if hmac.compare_digest(c.code_hash, _digest(c.user_id, purpose, code))
            ),
            None,
        )
    if match is not None:
        used = db.session.execute(
            update(AccountCode)
            .where(AccountCode.id == match.id, AccountCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if used.rowcount == 1:  # not used meanwhile by a request running beside this one
            # The person's other live codes die with it: a letter left in a drawer, or an
            # SMS code, must not reset the password of an account activated since.
            db.session.execute(
                update(AccountCode)
                .where(
                    AccountCode.user_id == match.user_id,
                    AccountCode.id != match.id,
                    AccountCode.used_at.is_(None),
                    AccountCode.expires_at > now,
                )
                .values(expires_at=now)
                .execution_options(synchronize_session=False)
            )
            return db.session.get(User, match.user_id)
    db.session.execute(
        update(AccountCode)
        .where(AccountCode.id.in_([c.id for c in live]))
        .values(tries=AccountCode.tries + 1)
        .execution_options(synchronize_session=False)
    )
    raise _refuse()


def _gather_residencies(user: User, phone: str) -> None:
    """Bring the residencies of other password-less records under the same phone (people
    imported twice under different names) onto the activated account, and retire them.

    Only records of the estates where the account already holds a unit: another estate's
    staff, who may register a person with any phone there, must not be able to attach a
    record they keep (and whose phone they may correct) to someone else's account."""
    estates_of = (
        select(Residency.user_id, Unit.estate_id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(Residency.user_id.in_(select(User.id).where(User.phone == phone)))
    )
    held: dict[int, set[int]] = {}
    for user_id, estate_id in db.session.execute(estates_of):
        held.setdefault(user_id, set()).add(estate_id)
    mine = held.get(user.id, set())
    others = [
        other
        for other in db.session.scalars(
            select(User).where(
                User.phone == phone,
                User.id != user.id,
                User.is_active,
                User.password_hash.is_(None),
                User.username.is_(None),
                _not_staff(),
            )
        )
        if held.get(other.id, set()) <= mine
    ]
    for other in others:
        moved = db.session.execute(
            update(Residency)
            .where(Residency.user_id == other.id)
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        other.is_active = False
        # A record retired into the account, its units moved there.
        audit.record(
            "user.deactivate",
            other,
            actor=user,
            before={"name": other.name},
            after={"merged_into": user.id, "residencies": moved},
        )
    if others:
        db.session.flush()
        db.session.expire(user, ["residencies"])
        user.__dict__.pop("current_unit_ids", None)


def activate(phone, code, password) -> User:
    """Give an imported resident their own password with a code sent to their phone."""
    check_password_rules(password if isinstance(password, str) else "")
    user = redeem(phone, ACTIVATE, code)
    account = _account_of(user.phone) if user.password_hash is None else None
    if account is not None and account.id != user.id:
        # The phone signs in to one account: a second one (a letter printed for a record of
        # another estate) would leave neither reachable by phone.
        raise ServiceError(
            _l(
                "This phone number already has an account: sign in with it, and ask the "
                "service centre to add this unit to it."
            ),
            fields={"phone": "has_account"},
        )
    if user.password_hash is None:
        user.password_hash = hash_password(password)
        audit.record("user.password_change", user, actor=user, after={"via": "activation code"})
    else:  # activated meanwhile (a letter's code, then the SMS one): a new password is a reset
        _replace_password(user, password)
    _gather_residencies(user, user.phone)
    user.last_login_at = clock.now()
    return user


def reset_password(phone, code, password) -> User:
    """Choose a new password with a code sent to the phone; every earlier session and API
    token of the account ends."""
    check_password_rules(password if isinstance(password, str) else "")
    user = redeem(phone, RESET, code)
    _replace_password(user, password)
    user.last_login_at = clock.now()
    return user


def _replace_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    revoke_sessions(user)
    # The owner chose it ("user.password_reset" is an administrator's temporary password).
    audit.record("user.password_change", user, actor=user, after={"via": "SMS code"})
