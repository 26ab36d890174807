"""The demo estate (翠湖花园): four zones, ~40 buildings, ~1,400 units, residents, logins.

Built through the same importers as a real installation, so the demo exercises them. Only
`flask --app portal demo` calls this; production never has the demo logins.
"""

import csv
import io
import random
from datetime import date, timedelta

from sqlalchemy import select, update

from portal.core import accounts, clock
from portal.core.imports import run_import
from portal.core.people import Relation, Residency, User
from portal.core.places import Building, Estate, Occupancy, Unit, UnitOccupancy, Zone
from portal.extensions import db

ESTATE = "翠湖花园"
DEMO_PASSWORD = "portal-demo"  # noqa: S105 - the documented demo password (contracts §2)
DEMO_LOGINS = ["resident", "resident2", "frontdesk", "technician", "supervisor", "manager", "admin"]
STAFF = [  # username, name, role, company-wide
    ("frontdesk", "王丽", "frontdesk", False),
    ("technician", "李建国", "technician", False),
    ("supervisor", "赵敏", "supervisor", False),
    ("manager", "孙志强", "manager", False),
    ("admin", "周明", "admin", True),
]
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


def load_demo() -> bool:
    """Load the demo estate once; False (and nothing changed) when it is already there."""
    if db.session.scalar(select(Estate.id).where(Estate.name == ESTATE)):
        return False
    rng = random.Random(20261122)  # noqa: S311 - demo data, not security
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
    estate = db.session.scalar(select(Estate).where(Estate.name == ESTATE))
    _backdate(rng, estate)
    _demo_logins(estate)
    _demo_fees(rng, estate)
    return True


def _demo_fees(rng, estate):
    """The standard fee items, the last three months billed, most households paid up;
    the two demo residents owe the latest month."""
    from portal.blueprints.fees import billing, ledger
    from portal.blueprints.fees.models import BillingRun
    from portal.blueprints.fees.rules import create_standard_items

    manager = db.session.scalar(select(User).where(User.username == "manager"))
    create_standard_items(estate.id, actor=manager, effective_on=date(2021, 1, 1))
    today = clock.local_today().replace(day=1)
    months = []
    for back in (2, 1, 0):
        month = today.month - back
        year = today.year + (month - 1) // 12
        months.append(f"{year}-{(month - 1) % 12 + 1:02d}")
    for period in months:
        run = BillingRun(estate_id=estate.id, period=period, created_by_id=manager.id)
        db.session.add(run)
        db.session.flush()
        billing.bill_month(run)
    demo_units = set(
        db.session.scalars(
            select(Residency.unit_id).join(User).where(User.username.in_(["resident", "resident2"]))
        )
    )
    owing = ledger.balances(
        db.session.scalars(select(Unit.id).where(Unit.estate_id == estate.id)).all()
    )
    frontdesk = db.session.scalar(select(User).where(User.username == "frontdesk"))
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(list(owing))))}
    for unit_id, balance in sorted(owing.items()):
        if unit_id in demo_units or not balance.owed_fen or rng.random() < 0.4:
            continue
        method = rng.choice(["cash", "wechat", "alipay", "card", "transfer"])
        ledger.record_payment(
            units[unit_id], balance.owed_fen, method, actor=frontdesk, source="counter"
        )


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
