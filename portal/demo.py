"""The demo estate (翠湖花园): four zones, ~40 buildings, ~1,400 units, residents, logins.

Built through the same importers as a real installation, so the demo exercises them. Only
`flask --app portal demo` calls this; production never has the demo logins.
"""

import csv
import io
import random
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from portal.core import accounts, clock
from portal.core.butler_zones import set_butler_zones
from portal.core.imports import run_import
from portal.core.people import Relation, Residency, User
from portal.core.places import Building, Estate, Occupancy, Unit, UnitOccupancy, Zone
from portal.demo_fees import first_days, schedule_fees
from portal.demo_moves import schedule_moves
from portal.demo_notices import demo_login_ids, read_inbox, schedule_notices
from portal.demo_renovation import schedule_renovations
from portal.demo_tickets import schedule_tickets
from portal.demo_timeline import Timeline, fewer_collections
from portal.extensions import db

ESTATE = "翠湖花园"
TIMEZONE = "Asia/Shanghai"  # the estate's (the default of every estate)
DEMO_PASSWORD = "portal-demo"  # noqa: S105 - the documented demo password (contracts §2)
DEMO_LOGINS = [
    "resident",
    "resident2",
    "frontdesk",
    "technician",
    "supervisor",
    "manager",
    "admin",
    "butler",
    "guard",
]
STAFF = [  # username, name, role, company-wide
    ("frontdesk", "王丽", "frontdesk", False),
    ("technician", "李建国", "technician", False),
    ("supervisor", "赵敏", "supervisor", False),
    ("manager", "孙志强", "manager", False),
    ("admin", "周明", "admin", True),
    ("butler", "钱芳", "zone_butler", False),  # looks after A区 (contracts §2)
    ("guard", "陈刚", "guard", False),  # checks passes at the gate (contracts §2, §8)
]
STAFF_KEYS = {"desk": "frontdesk", "tech": "technician", "sup": "supervisor", "mgr": "manager"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅志强玉兰海燕婷"

RESIDENCE_MIX = [
    (Occupancy.occupied_renovated, 55),
    (Occupancy.occupied_unrenovated, 8),
    (Occupancy.renovating, 5),
    (Occupancy.renovated_vacant, 7),
    (Occupancy.vacant, 12),
    (Occupancy.unsold_leased, 3),
    (Occupancy.leased_back, 2),
    (Occupancy.not_handed_over, 8),
]
SHOP_MIX = [
    (Occupancy.occupied_renovated, 60),
    (Occupancy.vacant, 20),
    (Occupancy.unsold_leased, 15),
    (Occupancy.not_handed_over, 5),
]
SPACE_MIX = [
    (Occupancy.occupied_unrenovated, 70),
    (Occupancy.vacant, 20),
    (Occupancy.not_handed_over, 10),
]


def _pick(rng, mix):
    return rng.choices([o for o, _ in mix], weights=[w for _, w in mix])[0]


def unit_rows(rng):
    """(zone, building, unit, kind, area_m2, occupancy) for the whole estate."""
    rows = []
    for b in range(1, 9):  # villas: townhouse rows of four
        for n in range(1, 5):
            area = rng.choice(["238.60", "256.40", "301.20"])
            rows.append(
                ("别墅区", f"V{b}栋", f"{n}号", "residence", area, _pick(rng, RESIDENCE_MIX))
            )
    for zone, buildings in (("A区", 10), ("B区", 10), ("C区", 8)):
        for b in range(1, buildings + 1):
            for entrance in (1, 2):
                for floor in range(1, 11):
                    for door in (1, 2):
                        area = rng.choice(["89.50", "98.36", "118.20", "132.75"])
                        rows.append(
                            (
                                zone,
                                f"{b}栋",
                                f"{entrance}单元{floor}{door:02d}",
                                "residence",
                                area,
                                _pick(rng, RESIDENCE_MIX),
                            )
                        )
    for n in range(1, 41):
        rows.append(
            (
                "C区",
                "商业街",
                f"S{n:02d}",
                "shop",
                rng.choice(["45.00", "68.80", "120.00"]),
                _pick(rng, SHOP_MIX),
            )
        )
    for zone in ("A区", "B区"):
        for n in range(1, 101):
            rows.append(
                (zone, "地下车库", f"{zone[0]}-{n:03d}", "parking", "12.50", _pick(rng, SPACE_MIX))
            )
    for n in range(1, 21):
        rows.append(("C区", "储藏室", f"储{n:02d}", "storage", "8.00", _pick(rng, SPACE_MIX)))
    return [(z, b, u, k, a, o.value) for z, b, u, k, a, o in rows]


def resident_rows(rng, units):
    """(zone, building, unit, name, phone, relation) for the units people live in or own."""
    rows, used_phones = [], set()

    def person():
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        while True:
            phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            if phone not in used_phones:
                used_phones.add(phone)
                return name, phone

    for zone, building, number, kind, _area, occupancy in units:
        occ = Occupancy(occupancy)
        if occ == Occupancy.not_handed_over:
            continue
        if occ in (Occupancy.unsold_leased, Occupancy.leased_back):
            rows.append((zone, building, number, *person(), Relation.tenant.value))
            continue
        rows.append((zone, building, number, *person(), Relation.owner.value))
        if kind == "residence" and occ.occupied and rng.random() < 0.4:
            rows.append((zone, building, number, *person(), Relation.family.value))
        elif kind == "residence" and occ.occupied and rng.random() < 0.1:
            rows.append((zone, building, number, *person(), Relation.tenant.value))
    return rows


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def load_demo(progress=None) -> bool:
    """Load the demo estate once; False (and nothing changed) when it is already there.

    The estate is set up a week before the first billed month; its last three months are
    then played through the real services (portal/demo_timeline.py), so that on any day the
    demo shows bills, payments, repairs, complaints and notices of the weeks before.
    `progress(message)` hears what is being done.
    """
    say = progress or (lambda message: None)
    if db.session.scalar(select(Estate.id).where(Estate.name == ESTATE)):
        return False
    with fewer_collections():
        _load(say)
    return True


def _load(say) -> None:
    """Set the estate up, then play its last three months."""
    rng = random.Random(20261122)  # noqa: S311 - demo data, not security
    timeline = Timeline(clock.now(), ZoneInfo(TIMEZONE))
    opened = timeline.local(first_days(timeline.today())[0] - timedelta(days=7), 9)
    with clock.at(opened):
        say("Importing the estate's units and residents …")
        estate = _import_estate(rng)
        _backdate(rng, estate)
        _demo_logins(estate)
        staff = {
            key: db.session.scalar(select(User).where(User.username == username))
            for key, username in STAFF_KEYS.items()
        }
    say("Planning three months of bills, payments, repairs, complaints, notices and moves …")
    demo_units = _demo_units(estate)
    schedule_fees(
        timeline,
        rng,
        estate,
        manager=staff["mgr"],
        cashiers=(staff["desk"], staff["sup"]),
        skip_units={unit_id for unit_id, _user in demo_units.values()},
    )
    schedule_tickets(timeline, rng, estate, staff, demo_units)
    schedule_notices(timeline, estate, staff["desk"])
    schedule_moves(timeline, estate, staff, skip_units={u for u, _user in demo_units.values()})
    schedule_renovations(
        timeline, estate, staff, skip_units={u for u, _user in demo_units.values()}
    )
    say(f"Playing them through the portal's services: {len(timeline.events)} events …")
    timeline.play(say)
    with clock.at(timeline.now):
        read_inbox(rng, timeline.now, keep_unread=demo_login_ids())


def _import_estate(rng) -> Estate:
    """The units and residents, through the importers."""
    units = unit_rows(rng)
    # The two demo residents are neighbours: A区 1栋, first and second entrance.
    for i, row in enumerate(units):
        if row[:3] in (("A区", "1栋", "1单元101"), ("A区", "1栋", "2单元101")):
            units[i] = (*row[:5], Occupancy.occupied_renovated.value)
    for kind, header, rows in (
        ("units", "zone,building,unit,kind,area_m2,occupancy", units),
        ("residents", "zone,building,unit,name,phone,relation", resident_rows(rng, units)),
    ):
        report = run_import(
            kind, f"demo-{kind}.csv", _csv(header.split(","), rows), estate_name=ESTATE
        )
        if not report.ok:  # pragma: no cover - the generator makes valid rows
            raise RuntimeError(f"demo {kind}: {report.errors[:3]}")
    return db.session.scalar(select(Estate).where(Estate.name == ESTATE))


def _demo_units(estate) -> dict:
    """The demo residents' logins → (their unit id, the user)."""
    rows = db.session.execute(
        select(User, Residency.unit_id)
        .join(Residency, Residency.user_id == User.id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(Unit.estate_id == estate.id, User.username.in_(["resident", "resident2"]))
    ).all()
    return {user.username: (unit_id, user) for user, unit_id in rows}


def _backdate(rng, estate):
    """Give the history realistic dates: handovers from 2021 on, residents since then."""
    units = db.session.execute(select(Unit.id).where(Unit.estate_id == estate.id)).scalars().all()
    since = {uid: date(2021, 3, 1) + timedelta(days=rng.randrange(1300)) for uid in units}
    db.session.execute(update(Unit), [{"id": u, "occupancy_since": d} for u, d in since.items()])
    history = db.session.execute(
        select(UnitOccupancy.id, UnitOccupancy.unit_id)
        .join(Unit)
        .where(Unit.estate_id == estate.id)
    ).all()
    db.session.execute(
        update(UnitOccupancy), [{"id": h, "effective_on": since[u]} for h, u in history]
    )
    residencies = db.session.execute(
        select(Residency.id, Residency.unit_id).join(Unit).where(Unit.estate_id == estate.id)
    ).all()
    db.session.execute(update(Residency), [{"id": r, "start_on": since[u]} for r, u in residencies])


def _demo_logins(estate):
    for i, (username, name, role, company_wide) in enumerate(STAFF, start=1):
        accounts.create_staff(
            username,
            name=name,
            role=role,
            password=DEMO_PASSWORD,
            estate=None if company_wide else estate,
            phone=f"1390000{i:04d}",
        )
    butler = db.session.scalar(select(User).where(User.username == "butler"))
    zone_a = db.session.scalar(
        select(Zone.id).where(Zone.estate_id == estate.id, Zone.name == "A区")
    )
    set_butler_zones(butler.staff_role, [zone_a], actor=None)
    for username, entrance in (("resident", "1单元101"), ("resident2", "2单元101")):
        owner = db.session.scalar(
            select(User)
            .join(Residency)
            .join(Unit)
            .join(Building)
            .join(Zone)
            .where(
                Zone.estate_id == estate.id,
                Zone.name == "A区",
                Building.name == "1栋",
                Unit.number == entrance,
                Residency.relation == Relation.owner,
            )
        )
        owner.username = username
        owner.password_hash = accounts.hash_password(DEMO_PASSWORD)
    db.session.flush()


def demo_summary() -> str:
    """What the demo estate holds, in words (what `flask demo` prints and the README says)."""
    from portal.blueprints.complaints.models import Complaint
    from portal.blueprints.custody.models import KeySet, KeyStatus
    from portal.blueprints.fees.models import Bill, Payment
    from portal.blueprints.moves.models import MoveIn, MoveOut
    from portal.blueprints.passes.models import Pass
    from portal.blueprints.renovation.models import Renovation
    from portal.blueprints.repairs.models import Repair
    from portal.notify.models import Notice

    estate_id = db.session.scalar(select(Estate.id).where(Estate.name == ESTATE))
    counts = {
        label: db.session.scalar(
            select(func.count()).select_from(model).where(model.estate_id == estate_id)
        )
        for label, model in (
            ("units", Unit),
            ("bills", Bill),
            ("payments", Payment),
            ("repairs", Repair),
            ("complaints, inquiries and suggestions", Complaint),
            ("notices", Notice),
            ("move-ins", MoveIn),
            ("move-outs", MoveOut),
            ("passes", Pass),
            ("renovations", Renovation),
        )
    }
    counts["key sets in custody"] = db.session.scalar(
        select(func.count()).where(
            KeySet.estate_id == estate_id, KeySet.status != KeyStatus.handed_over
        )
    )
    return ", ".join(f"{n:,} {label}" for label, n in counts.items())
