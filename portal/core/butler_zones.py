"""The zones a zone butler looks after: their staff role's zone plus any others given here.

A butler may look after several zones (a butler of 别墅区 and B区); `StaffRole.zone_id`
keeps working as one of them. Who may see what follows from this in portal/core/access.py.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import audit
from portal.core.errors import ServiceError
from portal.core.people import StaffRole
from portal.core.places import Zone
from portal.extensions import db


class StaffRoleZone(db.Model):
    """One more zone a staff role (a zone butler's) looks after."""

    __tablename__ = "staff_role_zones"
    __table_args__ = (UniqueConstraint("staff_role_id", "zone_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_role_id: Mapped[int] = mapped_column(ForeignKey("staff_roles.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))


def zone_ids_query(staff: StaffRole):
    """SELECT of the ids of the zones of the staff role's estate that it looks after."""
    extra = select(StaffRoleZone.zone_id).where(StaffRoleZone.staff_role_id == staff.id)
    looked_after = Zone.id.in_(extra)
    if staff.zone_id is not None:
        looked_after = looked_after | (Zone.id == staff.zone_id)
    return select(Zone.id).where(Zone.estate_id == staff.estate_id, looked_after).order_by(Zone.id)


def set_butler_zones(staff: StaffRole, zone_ids, *, actor) -> bool:
    """Make these zones (of the staff role's estate) the ones it looks after; audited.

    The first becomes the role's zone (`StaffRole.zone_id`), the others extra rows.
    Returns whether anything changed.
    """
    wanted = list(dict.fromkeys(int(z) for z in zone_ids))
    found = set(
        db.session.scalars(
            select(Zone.id).where(Zone.id.in_(wanted), Zone.estate_id == staff.estate_id)
        )
    )
    if staff.estate_id is None or found != set(wanted):
        raise ServiceError(_l("Choose zones of the estate."), fields={"zones": "unknown"})
    before = list(db.session.scalars(zone_ids_query(staff)))
    if set(before) == set(wanted) and (not wanted or staff.zone_id == wanted[0]):
        return False
    db.session.execute(
        StaffRoleZone.__table__.delete().where(StaffRoleZone.staff_role_id == staff.id)
    )
    staff.zone_id = wanted[0] if wanted else None
    db.session.add_all(StaffRoleZone(staff_role_id=staff.id, zone_id=z) for z in wanted[1:])
    db.session.flush()
    # The zones are part of the role (what it sees): audited as a change of the role.
    audit.record(
        "user.role_change",
        staff.user,
        actor=actor,
        estate_id=staff.estate_id,
        before={"zones": _names(before)},
        after={"zones": _names(wanted)},
    )
    return True


def _names(zone_ids) -> str:
    """The zones' names in the order given (A区、B区), as the audit page shows them."""
    names = dict(db.session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(zone_ids))).all())
    return "、".join(names[z] for z in zone_ids)
