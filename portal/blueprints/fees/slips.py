"""Payment notice slips (缴费通知单): one PDF for a zone or a building (a background job).

One slip per household that owes, listing its open bills. Each slip printed is logged as a
CollectionRecord: it takes the ladder's print rung of every bill for which that rung has
come due, and otherwise (the rung was taken already, or is not due) it is a manual print.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from portal.core import clock, settings
from portal.core.money import yuan
from portal.core.people import Relation
from portal.core.places import Building, Estate, Unit, Zone
from portal.core.units import labels_for, residents_of
from portal.extensions import db
from portal.jobs import Job, results_dir, set_progress
from portal.pdf import render_pdf

from .ledger import bill_state, open_bill, paid_fen
from .models import Bill, CollectionRecord, FeeItem
from .reminders import ladder, period_text


@dataclass
class SlipLine:
    """One open bill on a slip (amounts as yuan text)."""

    bill_id: int
    item: str
    period: str
    due_on: date
    amount: str
    paid: str
    owed: str


@dataclass
class Slip:
    """A household's payment notice slip."""

    unit_id: int
    unit: str
    owner: str
    lines: list[SlipLine] = field(default_factory=list)
    owed_fen: int = 0

    @property
    def total(self) -> str:
        return yuan(self.owed_fen)

    @property
    def first_due(self) -> date:
        return min(line.due_on for line in self.lines)


def place_name(estate_id: int, *, zone_id=None, building_id=None) -> str | None:
    """ "A区" or "A区 1栋" for a zone or building of the estate; None when it is not one."""
    if building_id:
        row = db.session.execute(
            select(Zone.name, Building.name)
            .join(Building, Building.zone_id == Zone.id)
            .where(Building.id == building_id, Zone.estate_id == estate_id)
        ).first()
        return f"{row[0]} {row[1]}" if row else None
    return db.session.scalar(
        select(Zone.name).where(Zone.id == zone_id, Zone.estate_id == estate_id)
    )


def build_slips(estate_id: int, *, zone_id=None, building_id=None, unit_id=None) -> list[Slip]:
    """The slips of the households of a zone, a building or one unit with open bills, in
    room order."""
    stmt = (
        select(
            Bill.id,
            Bill.unit_id,
            Bill.due_on,
            Bill.period_start,
            Bill.period_end,
            Bill.amount_fen,
            paid_fen().label("paid"),
            FeeItem.name,
        )
        .join(FeeItem, FeeItem.id == Bill.fee_item_id)
        .join(Unit, Unit.id == Bill.unit_id)
        .where(Bill.estate_id == estate_id, open_bill())
        .order_by(Bill.due_on, Bill.id)
    )
    if unit_id:
        stmt = stmt.where(Bill.unit_id == unit_id)
    elif building_id:
        stmt = stmt.where(Unit.building_id == building_id)
    else:
        stmt = stmt.join(Building, Building.id == Unit.building_id).where(
            Building.zone_id == zone_id
        )
    rows = db.session.execute(stmt).all()
    if not rows:
        return []
    labels = labels_for({row.unit_id for row in rows})  # in room order
    owners: dict[int, str] = {}
    for residency in residents_of(list(labels)):  # owners first, then tenants
        if residency.relation != Relation.family:
            owners.setdefault(residency.unit_id, residency.user.name)
    slips = {
        unit_id: Slip(unit_id=unit_id, unit=label, owner=owners.get(unit_id, ""))
        for unit_id, label in labels.items()
    }
    for row in rows:
        slip, owed = slips[row.unit_id], bill_state(row.amount_fen, row.paid, False).owed
        slip.owed_fen += owed
        slip.lines.append(
            SlipLine(
                bill_id=row.id,
                item=row.name,
                period=period_text(row.period_start, row.period_end),
                due_on=row.due_on,
                amount=yuan(row.amount_fen),
                paid=yuan(row.paid),
                owed=yuan(owed),
            )
        )
    return list(slips.values())


def record_printed(estate_id: int, slips: list[Slip], today: date, *, actor_id=None) -> int:
    """Log every slip printed: the bills' due print rungs, else one manual print record."""
    print_rungs = [r for r in ladder(estate_id) if r.channel == "print"]
    bill_ids = [line.bill_id for slip in slips for line in slip.lines]
    taken = set(
        db.session.execute(
            select(CollectionRecord.bill_id, CollectionRecord.step).where(
                CollectionRecord.bill_id.in_(bill_ids),
                CollectionRecord.step.in_([r.name for r in print_rungs]),
            )
        ).all()
    )
    now, records = clock.now(), []
    base = {"estate_id": estate_id, "channel": "print", "outcome": "printed", "actor_id": actor_id}
    for slip in slips:
        steps = [
            {**base, "unit_id": slip.unit_id, "bill_id": line.bill_id, "step": rung.name, "at": now}
            for line in slip.lines
            for rung in print_rungs
            if rung.due(line.due_on, today) and (line.bill_id, rung.name) not in taken
        ]
        records.extend(
            steps or [{**base, "unit_id": slip.unit_id, "bill_id": None, "step": None, "at": now}]
        )
    db.session.execute(CollectionRecord.__table__.insert(), records)
    return len(records)


def print_slips(job: Job) -> None:
    """The job: one PDF of payment notice slips for a zone or a building, each slip logged."""
    estate = db.session.get(Estate, job.estate_id)
    zone_id, building_id = job.params.get("zone_id"), job.params.get("building_id")
    place = place_name(estate.id, zone_id=zone_id, building_id=building_id)
    if place is None:
        raise ValueError(_("That zone or building is not part of this estate."))
    slips = build_slips(estate.id, zone_id=zone_id, building_id=building_id)
    if not slips:
        raise ValueError(
            _("Nobody in %(place)s owes anything: there are no slips to print.", place=place)
        )
    set_progress(job, 1, 4)
    today = clock.local_today(estate.timezone)
    with force_locale("zh_CN"):
        pdf = render_pdf(
            "fees/slips.html",
            slips=slips,
            estate=estate,
            place=place,
            today=today,
            hotline=settings.get("centre.hotline", estate.id),
        )
    set_progress(job, 2, 4)
    path = results_dir() / f"job-{job.id}.pdf"
    path.write_bytes(pdf)
    set_progress(job, 3, 4)
    record_printed(estate.id, slips, today, actor_id=job.created_by_id)
    job.result_path = str(path)
    kind, place_id = ("building", building_id) if building_id else ("zone", zone_id)
    job.result_name = f"payment-slips-{kind}-{place_id}-{today.isoformat()}.pdf"
    db.session.commit()


def waiting_for_print():
    """SQL: a print rung of an open bill waiting for a slip batch (none printed since)."""
    later = aliased(CollectionRecord)
    return and_(
        CollectionRecord.channel == "print",
        CollectionRecord.outcome == "waiting",
        ~exists(
            select(later.id).where(
                later.unit_id == CollectionRecord.unit_id,
                later.channel == "print",
                later.outcome == "printed",
                later.id > CollectionRecord.id,
            )
        ),
        exists(select(Bill.id).where(Bill.id == CollectionRecord.bill_id, open_bill())),
    )
