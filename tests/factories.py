"""Plain factory helpers: make_<thing>(**overrides), each adding to the test's session."""

import itertools
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from portal.core import accounts
from portal.core.people import Relation, Residency, Role, StaffRole, User
from portal.core.places import Building, Company, Estate, Occupancy, Unit, UnitOccupancy, Zone
from portal.extensions import db

PASSWORD = "portal-demo"
_seq = itertools.count(1)


def make_company(**kw):
    company = Company(name=kw.pop("name", f"物业公司{next(_seq)}"), **kw)
    db.session.add(company)
    db.session.flush()
    return company


def make_estate(company=None, **kw):
    company = company or make_company()
    estate = Estate(name=kw.pop("name", f"测试花园{next(_seq)}"), company_id=company.id, **kw)
    db.session.add(estate)
    db.session.flush()
    return estate


def make_building(estate, zone_name="A区", name="1栋"):
    zone = db.session.query(Zone).filter_by(estate_id=estate.id, name=zone_name).one_or_none()
    if zone is None:
        zone = Zone(estate_id=estate.id, name=zone_name)
        db.session.add(zone)
        db.session.flush()
    building = db.session.query(Building).filter_by(zone_id=zone.id, name=name).one_or_none()
    if building is None:
        building = Building(zone_id=zone.id, name=name)
        db.session.add(building)
        db.session.flush()
    return building


def make_unit(
    estate,
    *,
    zone="A区",
    building="1栋",
    number=None,
    kind="residence",
    area="89.50",
    occupancy=Occupancy.occupied_renovated,
    since=date(2024, 1, 1),
):
    b = make_building(estate, zone, building)
    unit = Unit(
        estate_id=estate.id,
        building_id=b.id,
        number=number or f"{next(_seq)}",
        kind=kind,
        area_m2=Decimal(area),
        occupancy=occupancy,
        occupancy_since=since,
    )
    db.session.add(unit)
    db.session.add(UnitOccupancy(unit=unit, occupancy=occupancy, effective_on=since))
    db.session.flush()
    return unit


def make_person(name=None, phone=None, username=None, password=None):
    n = next(_seq)
    user = User(
        name=name or f"住户{n}",
        phone=phone or f"1380000{n:04d}",
        username=username,
        password_hash=accounts.hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_resident(
    unit, *, relation=Relation.owner, start_on=date(2024, 1, 1), end_on=None, **person
):
    user = make_person(**person)
    db.session.add(
        Residency(
            unit_id=unit.id, user_id=user.id, relation=relation, start_on=start_on, end_on=end_on
        )
    )
    db.session.flush()
    return user


def make_staff(role, estate=None, *, username=None, name=None, company=None):
    n = next(_seq)
    user = make_person(name=name or f"员工{n}", username=username or f"staff{n}", password=PASSWORD)
    company_id = estate.company_id if estate else company.id
    db.session.add(
        StaffRole(
            user_id=user.id,
            company_id=company_id,
            estate_id=estate.id if estate else None,
            role=Role(role),
        )
    )
    db.session.flush()
    return user


def make_world():
    """The demo logins in a small estate, neighbours in one building, plus another estate."""
    company = make_company(name="翠湖物业")
    estate = make_estate(company, name="测试花园")
    unit = make_unit(estate, zone="A区", building="1栋", number="1单元101")
    unit2 = make_unit(estate, zone="A区", building="1栋", number="2单元101")
    vacant = make_unit(
        estate, zone="B区", building="3栋", number="1单元1201", occupancy=Occupancy.vacant
    )
    resident = make_resident(
        unit, name="陈业主", phone="13800000001", username="resident", password=PASSWORD
    )
    family = make_resident(unit, relation=Relation.family, name="陈家属", phone="13800000002")
    resident2 = make_resident(
        unit2, name="林邻居", phone="13800000003", username="resident2", password=PASSWORD
    )
    staff = {
        role: make_staff(role, estate, username=role)
        for role in ("frontdesk", "technician", "supervisor", "manager")
    }
    staff["admin"] = make_staff("admin", None, username="admin", company=company)
    other = make_estate(company, name="别的花园")
    other_unit = make_unit(other, zone="一区", building="9栋", number="901")
    other_frontdesk = make_staff("frontdesk", other, username="frontdesk_other")
    return SimpleNamespace(
        company=company,
        estate=estate,
        unit=unit,
        unit2=unit2,
        vacant=vacant,
        resident=resident,
        family=family,
        resident2=resident2,
        other=other,
        other_unit=other_unit,
        other_frontdesk=other_frontdesk,
        **staff,
    )


def make_other_company():
    """A second company with its own estate, unit, resident, manager and administrator
    (username admin_other_company): none of the world's company may see any of it."""
    company = make_company(name="远山物业")
    estate = make_estate(company, name="远山花园")
    unit = make_unit(estate, zone="东区", building="2栋", number="1单元201")
    resident = make_resident(
        unit, name="远山住户", phone="13900000201", username="resident_other", password=PASSWORD
    )
    admin = make_staff("admin", None, username="admin_other_company", company=company)
    manager = make_staff("manager", estate, username="manager_other_company")
    frontdesk = make_staff("frontdesk", estate, username="frontdesk_other_company")
    return SimpleNamespace(
        company=company,
        estate=estate,
        unit=unit,
        resident=resident,
        admin=admin,
        manager=manager,
        frontdesk=frontdesk,
    )


def png_upload(name="photo.png", size=(8, 8)):
    """A real PNG as an uploaded file."""
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage

    data = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(data, "PNG")
    data.seek(0)
    return FileStorage(data, filename=name, content_type="image/png")


def make_zone_butler(world, zones=("A区",), *, username="zone_butler"):
    """A zone butler of the world's estate who looks after `zones` (by name). A区 holds the
    world's two households; B区's vacant unit (world.vacant) is another zone's."""
    from sqlalchemy import select

    from portal.core.butler_zones import set_butler_zones

    butler = make_staff("zone_butler", world.estate, username=username, name="区域管家")
    zone_ids = [
        db.session.scalar(select(Zone.id).where(Zone.estate_id == world.estate.id, Zone.name == z))
        for z in zones
    ]
    set_butler_zones(butler.staff_role, zone_ids, actor=None)
    db.session.commit()
    return butler
