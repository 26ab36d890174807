"""Collection lists: the call list and review list, a household's record, and what waits
for a payment slip — the queries behind the collection pages (actor-scoped)."""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased, joinedload

from portal.core import clock
from portal.core.access import estate_ids_for, visible
from portal.core.money import yuan
from portal.core.paging import paginate
from portal.core.people import Relation, User
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for, natural_key, residents_of
from portal.extensions import db

from . import contacts
from .ledger import balances, open_bill
from .models import Bill, CollectionRecord, FeeItem
from .slips import waiting_for_print

PER_PAGE = 50
RECORDS_SHOWN = 200
Record = CollectionRecord


def open_rung(channel: str):
    """SQL: a ladder rung of this channel on a bill that is still open."""
    return and_(
        Record.channel == channel,
        Record.step.is_not(None),
        exists(select(Bill.id).where(Bill.id == Record.bill_id, open_bill())),
    )


def not_contacted_since():
    """SQL: no call or door visit has been recorded for the household after the rung."""
    later = aliased(Record)
    return ~exists(
        select(later.id).where(
            later.unit_id == Record.unit_id,
            later.step.is_(None),
            later.channel.in_(contacts.CONTACT_CHANNELS),
            later.id > Record.id,
        )
    )


class ZoneChoice(NamedTuple):
    id: int
    estate_id: int
    name: str


def visible_zones(actor) -> list[ZoneChoice]:
    """The zones of the estates the staff member works in (a zone butler: their zones),
    named with the estate when there are several (company-wide staff)."""
    zones = db.session.scalars(
        select(Zone)
        .where(
            Zone.estate_id.in_(select(Estate.id).where(estate_ids_for(actor))),
            visible(Zone, actor),
        )
        .options(joinedload(Zone.estate))
        .order_by(Zone.estate_id, Zone.name)
    ).all()
    several = len({z.estate_id for z in zones}) > 1
    return [
        ZoneChoice(z.id, z.estate_id, f"{z.estate.name} {z.name}" if several else z.name)
        for z in zones
    ]


def households_page(actor, condition, zone_id):
    """A page of unit ids whose records match, the longest-waiting first."""
    stmt = (
        select(Record.unit_id)
        .where(visible(Record, actor), condition)
        .group_by(Record.unit_id)
        .order_by(func.min(Record.at), Record.unit_id)
    )
    if zone_id:
        stmt = stmt.join(Unit, Unit.id == Record.unit_id).join(
            Building, Building.id == Unit.building_id
        )
        stmt = stmt.where(Building.zone_id == zone_id)
    return paginate(stmt, per_page=PER_PAGE)


def household_rows(unit_ids) -> list[dict]:
    """Label, people to call, what is owed and since when, and the last contact, per unit."""
    labels = labels_for(unit_ids)
    owed = balances(unit_ids)
    oldest = dict(
        db.session.execute(
            select(Bill.unit_id, func.min(Bill.due_on))
            .where(Bill.unit_id.in_(unit_ids), open_bill())
            .group_by(Bill.unit_id)
        ).all()
    )
    people: dict[int, list] = {}
    for residency in residents_of(unit_ids):
        if residency.relation != Relation.family or not people.get(residency.unit_id):
            people.setdefault(residency.unit_id, []).append(residency.user)
    last: dict[int, Record] = {}
    for record in db.session.scalars(
        select(Record)
        .where(
            Record.unit_id.in_(unit_ids),
            Record.step.is_(None),
            Record.channel.in_(contacts.CONTACT_CHANNELS),
        )
        .order_by(Record.id)
    ):
        last[record.unit_id] = record
    today = clock.local_today()
    return [
        {
            "unit_id": unit_id,
            "label": labels.get(unit_id, ""),
            "people": people.get(unit_id, []),
            "owed": yuan(owed[unit_id].owed_fen),
            "oldest_due": oldest.get(unit_id),
            "days": (today - oldest[unit_id]).days if unit_id in oldest else None,
            "last": last.get(unit_id),
        }
        for unit_id in unit_ids
    ]


def place_choices(zones):
    """Zones and their buildings as grouped choices ("zone-3", "building-7")."""
    buildings = db.session.execute(
        select(Building.id, Building.zone_id, Building.name).where(
            Building.zone_id.in_([z.id for z in zones])
        )
    ).all()
    names = {z.id: z.name for z in zones}
    zone_label = str(_l("Zones"))
    building_label = str(_l("Buildings"))
    return {
        zone_label: [(f"zone-{z.id}", z.name) for z in zones],
        building_label: [
            (f"building-{b}", f"{names[z]} {name}")
            for b, z, name in sorted(
                buildings, key=lambda r: (natural_key(names[r[1]]), natural_key(r[2]))
            )
        ],
    }


def waiting_by_building(actor):
    """(zone, building, households) waiting for a slip, per building."""
    return db.session.execute(
        select(Zone.name, Building.name, func.count(func.distinct(Record.unit_id)))
        .join(Unit, Unit.id == Record.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Zone, Zone.id == Building.zone_id)
        .where(visible(Record, actor), waiting_for_print())
        .group_by(Zone.name, Building.name)
        .order_by(Zone.name, Building.name)
    ).all()


def record_rows(unit_id: int):
    """(record, item name, due date, who) of a household's collection record, newest first."""
    return db.session.execute(
        select(Record, FeeItem.name, Bill.due_on, User.name)
        .outerjoin(Bill, Bill.id == Record.bill_id)
        .outerjoin(FeeItem, FeeItem.id == Bill.fee_item_id)
        .outerjoin(User, User.id == Record.actor_id)
        .where(Record.unit_id == unit_id)
        .order_by(Record.at.desc(), Record.id.desc())
        .limit(RECORDS_SHOWN)
    ).all()


def slip_estate(zones: list[ZoneChoice], kind: str, place_id: int) -> int | None:
    """The estate of a chosen zone or building among the zones the staff member sees."""
    if kind == "zone":
        return {z.id: z.estate_id for z in zones}.get(place_id)
    return db.session.scalar(
        select(Zone.estate_id)
        .join(Building, Building.zone_id == Zone.id)
        .where(Building.id == place_id, Zone.id.in_([z.id for z in zones]))
    )


def recent_slip_jobs(actor, limit: int = 5):
    """The latest payment-slip jobs of the estates the actor works in."""
    from portal.jobs import Job

    return db.session.scalars(
        select(Job)
        .where(
            Job.kind == "payment_slips",
            visible(Job, actor),
        )
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()
