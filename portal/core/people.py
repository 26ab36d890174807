"""People, their residencies in units, and staff roles per estate."""

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    bindparam,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship

from portal.core import clock
from portal.core.places import Estate, Unit, Zone
from portal.core.types import UTCDateTime
from portal.extensions import db


class Role(StrEnum):
    """One role per estate (DESIGN §1); `resident` is implied by a current residency."""

    resident = "resident"
    frontdesk = "frontdesk"
    zone_butler = "zone_butler"
    technician = "technician"
    supervisor = "supervisor"
    manager = "manager"
    inspector = "inspector"
    guard = "guard"
    admin = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.resident: _l("Resident"),
    Role.frontdesk: _l("Front desk"),
    Role.zone_butler: _l("Zone butler"),
    Role.technician: _l("Technician"),
    Role.supervisor: _l("Supervisor"),
    Role.manager: _l("Centre manager"),
    Role.inspector: _l("Quality inspector"),
    Role.guard: _l("Gate guard"),
    Role.admin: _l("Administrator"),
}

STAFF_ROLES = frozenset(Role) - {Role.resident}


class Relation(StrEnum):
    """How a person holds a unit."""

    owner = "owner"
    tenant = "tenant"
    family = "family"

    @property
    def label(self):
        return RELATION_LABELS[self]


RELATION_LABELS = {
    Relation.owner: _l("Owner"),
    Relation.tenant: _l("Tenant"),
    Relation.family: _l("Family member"),
}


class User(db.Model):
    """A person the portal knows: a resident or a staff member, with or without a login.

    Residents imported from a list have no password until one is set for them.
    `session_version` is part of every session and is raised to revoke them all.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    # The language chosen with the switch; e-mail and SMS to this person use it.
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff_roles: Mapped[list["StaffRole"]] = relationship(
        back_populates="user", order_by="StaffRole.id", lazy="selectin"
    )
    residencies: Mapped[list["Residency"]] = relationship(
        back_populates="user", order_by="Residency.start_on"
    )

    # Flask-Login protocol -------------------------------------------------------------
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """The session key: id and session version, so raising the version revokes it."""
        return f"{self.id}:{self.session_version}"

    # The actor: role and estate --------------------------------------------------------
    @property
    def staff_role(self) -> "StaffRole | None":
        return self.staff_roles[0] if self.staff_roles else None

    @property
    def role(self) -> Role:
        staff = self.staff_role
        return Role(staff.role) if staff else Role.resident

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def is_company_wide(self) -> bool:
        staff = self.staff_role
        return staff is not None and staff.estate_id is None

    @cached_property
    def current_unit_ids(self) -> list[int]:
        """The units this person lives in or holds today."""
        return list(db.session.scalars(current_unit_ids_query(self.id)))

    @cached_property
    def estate_id(self) -> int | None:
        """The estate this actor works in or lives in; None for company-wide staff."""
        if self.staff_role:
            return self.staff_role.estate_id
        ids = self.current_unit_ids
        if not ids:
            return None
        return db.session.scalar(select(Unit.estate_id).where(Unit.id == ids[0]))

    @cached_property
    def estate(self) -> Estate | None:
        if self.staff_role is not None and "estate" in self.staff_role.__dict__:
            return self.staff_role.estate  # loaded with the signed-in person
        return db.session.get(Estate, self.estate_id) if self.estate_id else None


class StaffRole(db.Model):
    """A staff member's role in one estate; a null estate means company-wide."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("user_id", "estate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    role: Mapped[Role] = mapped_column(String(20))
    # Technicians: the repair categories they handle (None: any).
    skills: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship(back_populates="staff_roles")
    estate: Mapped[Estate | None] = relationship()
    zone: Mapped[Zone | None] = relationship()


class Residency(db.Model):
    """A person's tie to a unit from one date to another; history is kept, never overwritten."""

    __tablename__ = "residencies"
    __table_args__ = (Index("ix_residencies_unit_end", "unit_id", "end_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    relation: Mapped[Relation] = mapped_column(String(16))
    start_on: Mapped[date]
    end_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    unit: Mapped[Unit] = relationship()
    user: Mapped[User] = relationship(back_populates="residencies")

    @property
    def relation_enum(self) -> Relation:
        return Relation(self.relation)

    @property
    def is_current(self) -> bool:
        today = clock.local_today()
        return self.start_on <= today and (self.end_on is None or self.end_on >= today)


def relation_order():
    """ORDER BY term listing owners first, then tenants, then family members."""
    return case(
        {Relation.owner.value: 0, Relation.tenant.value: 1}, value=Residency.relation, else_=2
    )


def current_residency_clause(today: date | None = None):
    """The SQL condition for a residency that holds today (or on `today`, a date or a bind
    parameter)."""
    if today is None:
        today = clock.local_today()
    return (Residency.start_on <= today) & (
        (Residency.end_on.is_(None)) | (Residency.end_on >= today)
    )


def current_unit_ids_query(user_id: int):
    """SELECT of the unit ids a person currently holds, usable as a subquery."""
    return (
        select(Residency.unit_id)
        .where(Residency.user_id == user_id, current_residency_clause())
        .order_by(Residency.unit_id)
    )


# Figures every page shows beside the person (the bell's unread count), registered by the
# lines that own them and read in the person's own statement: a round trip fewer a page.
_PAGE_FIGURES: dict[str, Callable] = {}


def page_figure(name: str, build: Callable) -> None:
    """Register a figure of every page: `build()` returns a scalar subquery correlated to
    User. Register at import time: the pages' statement is built once per process."""
    _PAGE_FIGURES[name] = build


def known_figure(user, name: str):
    """The figure read with `user` at the start of the request, or None when it was not
    read (a token request). Its owner knows when a request has changed it since."""
    return user.__dict__.get("page_figures", {}).get(name)


def actor_query(condition, *, figures: bool = False):
    """The statement `load_actor` runs for a condition on User that names its values with
    bind parameters: a caller builds it once per process (statement building and its cache
    key cost more than the round trip on a page this small).

    It reads the person, their staff roles, their current units and a resident's estate,
    and with `figures` the registered page figures.
    """
    held = current_residency_clause(bindparam("today", type_=Date))
    unit_ids = (
        select(func.aggregate_strings(cast(Residency.unit_id, String), ","))
        .where(Residency.user_id == User.id, held)
        .correlate(User)
        .scalar_subquery()
    )
    first_estate = (
        select(Unit.estate_id)
        .join(Residency, Residency.unit_id == Unit.id)
        .where(Residency.user_id == User.id, held)
        .order_by(Unit.id)
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )
    extra = [build().label(name) for name, build in _PAGE_FIGURES.items()] if figures else []
    return (
        select(User, unit_ids, first_estate, *extra)
        .outerjoin(StaffRole, StaffRole.user_id == User.id)
        .outerjoin(Estate, Estate.id == StaffRole.estate_id)
        .where(condition)
        .order_by(StaffRole.id)
        .options(contains_eager(User.staff_roles).contains_eager(StaffRole.estate))
    )


def load_actor(statement, **params) -> "User | None":
    """The person signing a request, with their staff roles, current units and estate, in
    one statement (see `actor_query`): every page starts with it.

    The units and the resident's estate are stored where `current_unit_ids` and
    `estate_id` cache them; page figures where `known_figure` finds them.
    """
    row = db.session.execute(statement, {"today": clock.local_today(), **params}).unique().first()
    if row is None:
        return None
    user, ids, estate_id, *figures = row
    user.__dict__["current_unit_ids"] = sorted(int(i) for i in ids.split(",")) if ids else []
    user.__dict__["page_figures"] = dict(zip(row._fields[3:], figures, strict=True))
    if not user.staff_roles:
        user.__dict__["estate_id"] = estate_id
    return user
