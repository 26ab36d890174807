"""Company → estate → zone → building → unit, and each unit's occupancy history."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.types import Hundredths, UTCDateTime
from portal.extensions import db


class UnitKind(StrEnum):
    """What a unit is; shops, parking spaces and storage rooms are units too."""

    residence = "residence"
    shop = "shop"
    parking = "parking"
    storage = "storage"

    @property
    def label(self):
        return UNIT_KIND_LABELS[self]


UNIT_KIND_LABELS = {
    UnitKind.residence: _l("Residence"),
    UnitKind.shop: _l("Shop"),
    UnitKind.parking: _l("Parking space"),
    UnitKind.storage: _l("Storage room"),
}


class Occupancy(StrEnum):
    """Occupancy categories (domain.md); they drive fees and reports."""

    occupied_renovated = "occupied_renovated"
    occupied_unrenovated = "occupied_unrenovated"
    renovating = "renovating"
    renovated_vacant = "renovated_vacant"
    vacant = "vacant"
    unsold_leased = "unsold_leased"
    leased_back = "leased_back"
    not_handed_over = "not_handed_over"

    @property
    def label(self):
        return OCCUPANCY_LABELS[self]

    @property
    def term(self) -> str:
        """The Chinese term staff use, accepted in imports in place of the code."""
        return OCCUPANCY_TERMS[self]

    @property
    def handed_over(self) -> bool:
        return self not in (Occupancy.not_handed_over, Occupancy.leased_back)

    @property
    def occupied(self) -> bool:
        return self in OCCUPIED


OCCUPANCY_LABELS = {
    Occupancy.occupied_renovated: _l("Renovated, occupied"),
    Occupancy.occupied_unrenovated: _l("Occupied, not renovated"),
    Occupancy.renovating: _l("Under renovation"),
    Occupancy.renovated_vacant: _l("Renovated, not occupied"),
    Occupancy.vacant: _l("Handed over, not occupied"),
    Occupancy.unsold_leased: _l("Unsold, leased"),
    Occupancy.leased_back: _l("Not handed over, leased back"),
    Occupancy.not_handed_over: _l("Not handed over"),
}

OCCUPANCY_TERMS = {
    Occupancy.occupied_renovated: "已装修入住",
    Occupancy.occupied_unrenovated: "未装修入住",
    Occupancy.renovating: "正在装修",
    Occupancy.renovated_vacant: "装修未入住",
    Occupancy.vacant: "未入住",
    Occupancy.unsold_leased: "未售出租",
    Occupancy.leased_back: "未交房反租",
    Occupancy.not_handed_over: "未交房",
}

# Occupied for the occupancy rate: somebody lives or trades there.
OCCUPIED = frozenset(
    {Occupancy.occupied_renovated, Occupancy.occupied_unrenovated, Occupancy.unsold_leased}
)
HANDED_OVER = frozenset(o for o in Occupancy if o.handed_over)


class Company(db.Model):
    """The property-management company; company-wide staff see all its estates."""

    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Estate(db.Model):
    """An estate (项目/小区) run by one service centre."""

    __tablename__ = "estates"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    company: Mapped[Company] = relationship()
    zones: Mapped[list["Zone"]] = relationship(back_populates="estate", order_by="Zone.name")


class Zone(db.Model):
    """A zone of an estate (别墅区, A区 …); a zone butler owns its residents."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    estate: Mapped[Estate] = relationship(back_populates="zones")


class Building(db.Model):
    """A building (栋/幢) in a zone."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("zone_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    zone: Mapped[Zone] = relationship()


class Unit(db.Model):
    """A unit (户): a home, a shop, a parking space or a storage room.

    `estate_id` repeats the building's estate so that every scoped query is one indexed
    comparison; units never move between estates. `occupancy` is the current category and
    `occupancy_history` keeps every change with the date it took effect.
    """

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("building_id", "number"),
        Index("ix_units_estate_number", "estate_id", "number"),
        Index("ix_units_estate_sort_key", "estate_id", "sort_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    kind: Mapped[UnitKind] = mapped_column(String(20), default=UnitKind.residence)
    area_m2: Mapped[Decimal] = mapped_column(Hundredths)
    occupancy: Mapped[Occupancy] = mapped_column(String(32), index=True)
    occupancy_since: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Zone, building, entrance, floor and room with numbers zero-padded: the unit list's
    # order (core/units.py keeps it on every insert and renumbering).
    sort_key: Mapped[str | None] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql")
    )

    building: Mapped[Building] = relationship()
    occupancy_history: Mapped[list["UnitOccupancy"]] = relationship(
        back_populates="unit", order_by="UnitOccupancy.effective_on.desc()"
    )

    @property
    def label(self) -> str:
        """How staff say it: zone, building and room (A区 3栋 2单元1201)."""
        return f"{self.building.zone.name} {self.building.name} {self.number}"

    @property
    def kind_enum(self) -> UnitKind:
        return UnitKind(self.kind)

    @property
    def occupancy_enum(self) -> Occupancy:
        return Occupancy(self.occupancy)


class UnitOccupancy(db.Model):
    """One entry of a unit's occupancy history: the category from `effective_on` on."""

    __tablename__ = "unit_occupancies"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    occupancy: Mapped[Occupancy] = mapped_column(String(32))
    effective_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship(back_populates="occupancy_history")

    @property
    def occupancy_enum(self) -> Occupancy:
        return Occupancy(self.occupancy)
