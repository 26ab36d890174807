"""Admin-tunable settings stored in the database, each declared once with its default.

Features declare what they need with `declare()`; the admin settings page lists the
declarations, and every change is audited.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import audit, clock
from portal.core.errors import ServiceError
from portal.core.types import UTCDateTime
from portal.extensions import db


class Setting(db.Model):
    """A stored value for one declared setting, for one estate or (estate null) for all."""

    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("estate_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class Declaration:
    """What a setting is: its key, label, type and default."""

    key: str
    label: Any
    type: type
    default: Any
    minimum: int | None = None
    maximum: int | None = None
    help: Any = ""
    validate: Any = None  # a callable that raises ServiceError for a malformed text value


REGISTRY: dict[str, Declaration] = {}


def declare(key, label, type_, default, *, minimum=None, maximum=None, help="", validate=None):
    """Declare a setting once, where the feature that reads it lives."""
    REGISTRY[key] = Declaration(key, label, type_, default, minimum, maximum, help, validate)
    return REGISTRY[key]


def get(key: str, estate_id: int | None = None):
    """The value for an estate: its own row, else the company-wide row, else the default.

    Within a request every setting of an estate is read in one statement, once.
    """
    decl = REGISTRY[key]
    by_scope = _stored(estate_id).get(key, {})
    if estate_id is not None and estate_id in by_scope:
        return by_scope[estate_id]
    return by_scope.get(None, decl.default)


def _stored(estate_id: int | None) -> dict[str, dict]:
    """key → {scope: value} of the rows that apply to an estate (memoised per request)."""
    memo = g.setdefault("settings_rows", {}) if has_request_context() else {}
    if estate_id not in memo:
        rows: dict[str, dict] = {}
        for scope, key, value in db.session.execute(_rows_of_estate(), {"estate": estate_id}):
            rows.setdefault(key, {})[scope] = value
        memo[estate_id] = rows
    return memo[estate_id]


@functools.cache
def _rows_of_estate():
    """The settings rows of an estate and the company-wide ones (built once per process)."""
    return select(Setting.estate_id, Setting.key, Setting.value).where(
        (Setting.estate_id == bindparam("estate")) | Setting.estate_id.is_(None)
    )


def parse(key: str, raw: str):
    """Turn what an admin typed into the declared type, or raise ServiceError."""
    decl = REGISTRY[key]
    raw = (raw or "").strip()
    if decl.type is int:
        try:
            value = int(raw)
        except ValueError:
            raise ServiceError(_l("Enter a whole number."), fields={key: "int"}) from None
        if decl.minimum is not None and value < decl.minimum:
            raise ServiceError(
                _l("The smallest value is %(n)s.", n=decl.minimum), fields={key: "min"}
            )
        if decl.maximum is not None and value > decl.maximum:
            raise ServiceError(
                _l("The largest value is %(n)s.", n=decl.maximum), fields={key: "max"}
            )
        return value
    if not raw:
        raise ServiceError(_l("Enter a value."), fields={key: "required"})
    if len(raw) > 200:
        raise ServiceError(_l("At most 200 characters."), fields={key: "length"})
    if decl.validate is not None:
        decl.validate(raw)
    return raw


def set_value(key: str, value, *, actor, estate_id: int | None = None) -> Setting:
    """Store a setting's value and audit the change."""
    if key not in REGISTRY:
        raise ServiceError(_l("Unknown setting."), fields={"key": "unknown"})
    row = db.session.scalar(
        select(Setting).where(
            Setting.key == key,
            Setting.estate_id.is_(None) if estate_id is None else Setting.estate_id == estate_id,
        )
    )
    before = get(key, estate_id)
    if row is None:
        row = Setting(key=key, estate_id=estate_id, value=value)
        db.session.add(row)
    row.value = value
    row.updated_at = clock.now()
    row.updated_by_id = actor.id
    db.session.flush()
    if has_request_context():
        g.pop("settings_rows", None)  # the request reads what it has just written
    audit.record(
        "setting.change",
        row,
        actor=actor,
        estate_id=estate_id,
        before={key: before},
        after={key: value},
    )
    return row


HOTLINE = declare(
    "centre.hotline",
    _l("24-hour service hotline"),
    str,
    "400-800-1234",
    help=_l("Shown on the resident and staff home pages."),
)
