"""API tokens: random, stored only as a SHA-256 hash, expiring and revocable."""

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, String, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.people import User, actor_query, load_actor
from portal.core.types import UTCDateTime
from portal.extensions import db


class ApiToken(db.Model):
    """A bearer token; only its hash is kept, so a database leak reveals no token."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new token for a user; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_digest(token),
        expires_at=clock.now() + timedelta(days=current_app.config["API_TOKEN_DAYS"]),
    )
    db.session.add(row)
    db.session.flush()
    return token, row


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    user = load_actor(_actor_by_token(), token_hash=_digest(token), now=clock.now())
    return user if user is not None and user.is_active else None


@functools.cache
def _actor_by_token():
    """load_actor's statement for the user of a live token (built once)."""
    live = (
        select(ApiToken.user_id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > bindparam("now", type_=UTCDateTime),
        )
        .scalar_subquery()
    )
    return actor_query(User.id == live)


def revoke_token(token: str) -> bool:
    """Revoke one token; True if it was live."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return result.rowcount > 0


def revoke_all_tokens(user: User) -> None:
    """Revoke every live token of a user (sign-out everywhere, password change)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
