"""Two-step sign-in for staff: a time-based one-time code (TOTP, RFC 6238) from an
authenticator app, and ten recovery codes for a lost phone, each good once.

The secret is shown only while it is being set up; once confirmed no page shows it again.
Recovery codes are stored as SHA-256 hashes (they are random, like API tokens). Codes are
checked against the portal clock, and a code once accepted is not accepted again.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import audit, clock, settings
from portal.core.errors import NotAllowed, ServiceError
from portal.core.people import Role, User
from portal.core.types import UTCDateTime
from portal.extensions import db

ISSUER = "物业服务中心"
RECOVERY_CODES = 10
RECOVERY_CHARACTERS = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o or 1/l to misread
RECOVERY_HALF = 5  # a recovery code reads like "k3pzq-8mwra"
DRIFT_STEPS = 1  # a code of the 30 seconds before or after still counts (a phone's clock drifts)
CODE_RE = re.compile(r"[0-9]{6}")  # ASCII digits only: compare_digest refuses others
REQUIRED_ROLES = frozenset({Role.manager, Role.admin})

REQUIRED = settings.declare(
    "auth.second_factor_required",
    _l("Managers and administrators must use two-step sign-in (1 = yes, 0 = no)"),
    int,
    0,
    minimum=0,
    maximum=1,
    help=_l(
        "With 1, a manager or administrator without two-step sign-in sets it up right after"
        " signing in and can open nothing else until it is on."
    ),
)


class SecondFactor(db.Model):
    """A staff member's authenticator secret; `enabled_at` is empty while it is being set up."""

    __tablename__ = "second_factors"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 hashes of the recovery codes not used yet.
    recovery_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The time step of the last code accepted: the same code is not accepted twice.
    last_step: Mapped[int | None]


def factor_of(user: User, *, lock: bool = False) -> SecondFactor | None:
    """The user's second factor, set up or being set up."""
    stmt = select(SecondFactor).where(SecondFactor.user_id == user.id)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def is_enabled(user: User) -> bool:
    """Whether signing in as this user asks for a code after the password."""
    return bool(
        db.session.scalar(
            select(SecondFactor.id).where(
                SecondFactor.user_id == user.id, SecondFactor.enabled_at.is_not(None)
            )
        )
    )


def is_required(user: User) -> bool:
    """Whether an administrator requires two-step sign-in of this user's role."""
    if user.role not in REQUIRED_ROLES:
        return False
    return bool(settings.get(REQUIRED.key, user.estate_id))


def begin_setup(user: User) -> SecondFactor:
    """The secret being set up (a new one the first time; the same one until confirmed, so
    that reloading the page does not undo a scan)."""
    if not user.is_staff:
        raise ServiceError(_l("Two-step sign-in is for staff accounts."), fields={"user": "staff"})
    factor = factor_of(user)
    if factor is not None and factor.enabled_at is not None:
        raise ServiceError(_l("Two-step sign-in is already on."), fields={"code": "enabled"})
    if factor is None:
        factor = SecondFactor(user_id=user.id, secret=pyotp.random_base32(), recovery_hashes=[])
        db.session.add(factor)
        db.session.flush()
    return factor


def provisioning_uri(factor: SecondFactor, user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(factor.secret).provisioning_uri(
        name=user.username or str(user.id), issuer_name=ISSUER
    )


def qr_svg(uri: str, title: str) -> Markup:
    """The address as an inline SVG QR code."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, light="#fff", title=title)
    return Markup(svg)  # noqa: S704 - segno escapes the title; the rest is paths


def confirm_setup(user: User, code: str, *, actor: User) -> list[str]:
    """Turn two-step sign-in on with a current code from the app; returns the recovery codes,
    to be shown once."""
    factor = factor_of(user, lock=True)
    if factor is None or factor.enabled_at is not None:
        raise ServiceError(
            _l("Open the two-step sign-in page again to start over."), fields={"code": "no_setup"}
        )
    if not _accept_totp(factor, code):
        raise _wrong_code()
    codes = new_recovery_codes()
    factor.recovery_hashes = [_digest(c) for c in codes]
    factor.enabled_at = clock.now()
    audit.record("user.second_factor_on", user, actor=actor, estate_id=_estate_id(user))
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a code at sign-in: "totp" for the app's code, "recovery" for a recovery code
    (now used up, audited), None when it is wrong."""
    factor = factor_of(user, lock=True)
    if factor is None or factor.enabled_at is None:
        return None
    if _accept_totp(factor, code):
        return "totp"
    if _use_recovery_code(factor, code):
        audit.record(
            "user.recovery_code_use",
            user,
            actor=user,
            estate_id=_estate_id(user),
            after={"left": len(factor.recovery_hashes)},
        )
        return "recovery"
    return None


def check_for_token(user: User, code) -> None:
    """What the API's token endpoint asks after the password, as the sign-in page does: a
    code (or a recovery code) of a user with two-step sign-in; and no token for a manager or
    administrator who must turn it on first (on the web)."""
    if is_enabled(user):
        if not code:
            raise ServiceError(
                _l("Enter the code from your authenticator app (or a recovery code)."),
                fields={"otp": "required"},
                status=401,
            )
        if verify(user, code) is None:
            raise ServiceError(_wrong_code().message, fields={"otp": "wrong"}, status=401)
    elif is_required(user):
        raise NotAllowed(
            _l("Turn on two-step sign-in on the web first: an administrator requires it."),
            fields={"otp": "setup_required"},
        )


def disable(user: User, code: str, *, actor: User) -> None:
    """Turn two-step sign-in off; a current code (or a recovery code) proves the phone."""
    factor = factor_of(user, lock=True)
    if factor is None or factor.enabled_at is None:
        raise ServiceError(_l("Two-step sign-in is not on."), fields={"code": "not_enabled"})
    used_recovery = False
    if not _accept_totp(factor, code):
        used_recovery = _use_recovery_code(factor, code)
        if not used_recovery:
            raise _wrong_code()
    db.session.delete(factor)
    audit.record(
        "user.second_factor_off",
        user,
        actor=actor,
        estate_id=_estate_id(user),
        after={"with_recovery_code": used_recovery},
    )


def reset_by_administrator(user: User, *, actor: User) -> bool:
    """The phone and the recovery codes are lost: an administrator removes the person's
    second factor (they set it up again at their next sign-in where it is required); every
    session and token ends. Audited. False when there was none."""
    from portal.core.accounts import revoke_sessions

    factor = factor_of(user, lock=True)
    if factor is None:
        return False
    db.session.delete(factor)
    revoke_sessions(user)
    audit.record("user.second_factor_reset", user, actor=actor, estate_id=_estate_id(user))
    return True


def new_recovery_codes() -> list[str]:
    """Ten random recovery codes like "k3pzq-8mwra" (about 50 bits each)."""

    def half():
        return "".join(secrets.choice(RECOVERY_CHARACTERS) for _ in range(RECOVERY_HALF))

    return [f"{half()}-{half()}" for _ in range(RECOVERY_CODES)]


# --- Checking codes -------------------------------------------------------------------------


def _accept_totp(factor: SecondFactor, code) -> bool:
    """A six-digit code of the current time step (or one either side), not used before."""
    code = re.sub(r"\s", "", code or "") if isinstance(code, str) else ""
    if not CODE_RE.fullmatch(code):
        return False
    totp = pyotp.TOTP(factor.secret)
    now = clock.now()
    for drift in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now.timestamp() + drift * totp.interval
        step = int(moment // totp.interval)
        if hmac.compare_digest(totp.generate_otp(step), code):
            if factor.last_step is not None and step <= factor.last_step:
                return False  # this code (or an earlier one) was used already
            factor.last_step = step
            return True
    return False


def _use_recovery_code(factor: SecondFactor, code) -> bool:
    """Use up a recovery code; False when it is not one of those left."""
    if not isinstance(code, str):
        return False
    normal = re.sub(r"[\s-]", "", code).lower()
    if len(normal) != 2 * RECOVERY_HALF:
        return False
    digest = _digest(normal)
    left = list(factor.recovery_hashes or [])
    if not any(hmac.compare_digest(digest, h) for h in left):
        return False
    factor.recovery_hashes = [h for h in left if h != digest]  # a new list: the change is saved
    return True


def _digest(code: str) -> str:
    return hashlib.sha256(re.sub(r"[\s-]", "", code).lower().encode()).hexdigest()


def _wrong_code() -> ServiceError:
    return ServiceError(
        _l("That code is wrong or has expired. Enter the current code from your app."),
        fields={"code": "wrong"},
    )


def _estate_id(user: User) -> int | None:
    return user.staff_role.estate_id if user.staff_role else None
