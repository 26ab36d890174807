"""A zone butler sees their zones: the unit search, unit pages, repairs, complaints, the
arrears list and the call list hold only their zones' units, and opening another zone's
unit, repair, complaint or bill answers 404 as another estate's would. A butler may look
after several zones; StaffRole.zone_id keeps working as one of them."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.blueprints.complaints.services import register_complaint
from portal.blueprints.fees.reminders import sweep_reminders
from portal.blueprints.repairs.services import submit_repair
from portal.core import clock
from portal.core.access import unit_in_scope, visible, zone_ids_of
from portal.core.audit import AuditEntry
from portal.core.butler_zones import set_butler_zones
from portal.core.errors import ServiceError
from portal.core.people import StaffRole
from portal.core.places import Unit, Zone
from portal.extensions import db
from tests.factories import make_staff, make_unit, make_zone_butler
from tests.fees.helpers import bill

EN = {"Accept-Language": "en"}
A_HOUSEHOLDS = {"A区 1栋 1单元101", "A区 1栋 2单元101"}
B_HOUSEHOLD = "B区 3栋 1单元1201"


def zone(world, name):
    return db.session.scalar(
        select(Zone.id).where(Zone.estate_id == world.estate.id, Zone.name == name)
    )


def households(page: str) -> set[str]:
    return {label for label in (*A_HOUSEHOLDS, B_HOUSEHOLD) if label in page}


def page(client, url):
    response = client.get(url, headers=EN)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_zones_a_butler_looks_after(world):
    butler = make_zone_butler(world, ("A区", "B区"))
    assert sorted(zone_ids_of(butler)) == sorted([zone(world, "A区"), zone(world, "B区")])
    assert butler.staff_role.zone_id == zone(world, "A区")  # the first is the role's zone
    assert zone_ids_of(world.frontdesk) is None and zone_ids_of(world.admin) is None
    assert db.session.scalar(select(unit_in_scope(world.frontdesk))) is True

    # StaffRole.zone_id alone keeps working, as it was set before butlers had several.
    old = make_staff("zone_butler", world.estate, username="old_butler")
    db.session.execute(
        StaffRole.__table__.update()
        .where(StaffRole.user_id == old.id)
        .values(zone_id=zone(world, "B区"))
    )
    db.session.expire_all()
    assert zone_ids_of(old) == [zone(world, "B区")]
    units = db.session.scalars(select(Unit.id).where(visible(Unit, old))).all()
    assert units == [world.vacant.id]


def test_a_butler_is_given_only_zones_of_their_estate(world):
    butler = make_zone_butler(world)
    other_zone = db.session.scalar(select(Zone.id).where(Zone.estate_id == world.other.id))
    with pytest.raises(ServiceError):
        set_butler_zones(butler.staff_role, [other_zone], actor=world.admin)
    assert zone_ids_of(butler) == [zone(world, "A区")]
    assert set_butler_zones(butler.staff_role, [zone(world, "A区")], actor=world.admin) is False
    both = [zone(world, "B区"), zone(world, "A区")]
    assert set_butler_zones(butler.staff_role, both, actor=world.admin) is True
    assert sorted(zone_ids_of(butler)) == sorted(both) and butler.staff_role.zone_id == both[0]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == butler.id).order_by(AuditEntry.id.desc())
    ).first()
    assert (entry.action, entry.before, entry.after) == (
        "user.role_change",
        {"zones": "A区"},
        {"zones": "B区、A区"},
    )


def test_a_butler_without_a_zone_sees_no_unit(client, world, login_as):
    make_staff("zone_butler", world.estate, username="new_butler")
    db.session.commit()
    login_as("new_butler")
    assert households(page(client, "/units/")) == set()
    assert client.get(f"/units/{world.unit.id}").status_code == 404


def test_the_unit_search_and_unit_pages_hold_the_butler_s_zones(client, world, login_as):
    make_zone_butler(world)
    login_as("zone_butler")
    assert households(page(client, "/units/")) == A_HOUSEHOLDS
    assert households(page(client, "/units/?q=1201")) == set()
    assert households(page(client, "/units/?q=B区")) == set()
    assert households(page(client, f"/units/?zone={zone(world, 'B区')}")) == set()
    assert households(page(client, "/units/?q=陈业主")) == {"A区 1栋 1单元101"}
    listed = client.get("/api/v1/units", headers=EN).get_json()
    assert {u["id"] for u in listed["items"]} == {world.unit.id, world.unit2.id}

    assert client.get(f"/units/{world.unit.id}").status_code == 200
    for url in (
        f"/units/{world.vacant.id}",
        f"/units/{world.other_unit.id}",
        f"/fees/units/{world.vacant.id}/collection",
        f"/api/v1/units/{world.vacant.id}",
    ):
        assert client.get(url).status_code == 404, url


def test_another_zone_s_repair_complaint_and_bill_answer_404(client, world, login_as):
    ours = submit_repair(world.resident, category="civil", location="unit", description="灯坏")
    theirs = submit_repair(
        world.frontdesk, category="civil", location="unit", description="门坏",
        unit_id=world.vacant.id,
    )  # fmt: skip
    common = submit_repair(
        world.frontdesk, category="civil", location="common", description="路灯坏"
    )
    complaint = register_complaint(
        world.frontdesk, category="fees", content="空置房收费", unit_id=world.vacant.id
    )
    mine = register_complaint(world.resident, category="fees", content="收费不清")
    foreign_bill = bill(world, world.vacant, 5000, key="v")
    db.session.commit()
    make_zone_butler(world)
    login_as("zone_butler")

    assert client.get(f"/repairs/{ours.id}").status_code == 200
    assert client.get(f"/complaints/{mine.id}").status_code == 200
    for url in (
        f"/repairs/{theirs.id}",
        f"/repairs/{common.id}",
        f"/complaints/{complaint.id}",
        f"/api/v1/repairs/{theirs.id}",
        f"/api/v1/complaints/{complaint.id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/repairs/{theirs.id}/act/cancel").status_code == 404
    listed = page(client, "/repairs/")
    assert f"/repairs/{ours.id}" in listed
    assert f"/repairs/{theirs.id}" not in listed and f"/repairs/{common.id}" not in listed
    listed = page(client, "/complaints/")
    assert f"/complaints/{mine.id}" in listed and f"/complaints/{complaint.id}" not in listed
    bills = client.get(f"/api/v1/bills?unit_id={world.vacant.id}").status_code
    assert bills == 404
    assert foreign_bill.id not in {
        b["id"] for b in client.get("/api/v1/bills").get_json().get("items", [])
    }


def test_a_ticket_the_butler_registers_for_a_common_area_stays_theirs(client, world, login_as):
    butler = make_zone_butler(world)
    common = submit_repair(butler, category="civil", location="common", description="井盖松动")
    db.session.commit()
    login_as("zone_butler")
    assert client.get(f"/repairs/{common.id}").status_code == 200
    assert f"/repairs/{common.id}" in page(client, "/repairs/")
    response = client.post(
        "/repairs/new",
        data={"category": "civil", "location": "unit", "description": "x",
              "unit": world.vacant.id, "channel": "phone", "reporter": butler.id},
        headers=EN,
    )  # fmt: skip
    assert response.status_code == 400  # another zone's unit cannot be named
    assert "No such unit in your estate." in response.get_data(as_text=True)


DUE = date(2026, 10, 15)


@pytest.fixture
def overdue(world):
    """unit: 30 days overdue, unit2: 95 days, vacant (B区): 31 days; the ladder has run."""
    bill(world, world.unit, 12000, key="u1", due_on=DUE)
    bill(world, world.unit2, 9000, key="u2", due_on=DUE - timedelta(days=65))
    bill(world, world.vacant, 5000, key="v", due_on=DUE - timedelta(days=1))
    from datetime import datetime
    from zoneinfo import ZoneInfo

    day = DUE + timedelta(days=30)
    clock.freeze(datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    sweep_reminders()
    db.session.commit()


def test_the_arrears_and_the_call_list_hold_the_butler_s_zones(client, world, login_as, overdue):
    make_zone_butler(world)
    login_as("frontdesk")
    assert households(page(client, "/reports/arrears")) == {*A_HOUSEHOLDS, B_HOUSEHOLD}
    login_as("zone_butler")
    assert households(page(client, "/reports/arrears")) == A_HOUSEHOLDS
    b = zone(world, "B区")
    assert households(page(client, f"/reports/arrears?zone={b}")) == set()
    found = client.get("/api/v1/arrears").get_json()
    assert {i["unit_id"] for i in found["items"]} == {world.unit.id, world.unit2.id}
    assert found["totals"]["owed"] == "210.00"

    calls = page(client, "/fees/calls")
    assert households(calls) == A_HOUSEHOLDS
    assert households(page(client, "/fees/calls?zone=")) == A_HOUSEHOLDS
    assert households(page(client, f"/fees/calls?zone={b}")) == set()
    assert "B区" not in page(client, "/fees/slips").split('name="place"')[1].split("</select>")[0]


def test_a_butler_of_two_zones_sees_both(client, world, login_as, overdue):
    extra = make_unit(world.estate, zone="C区", building="5栋", number="501")
    db.session.commit()
    make_zone_butler(world, ("A区", "B区"))
    login_as("zone_butler")
    assert households(page(client, "/units/")) == {*A_HOUSEHOLDS, B_HOUSEHOLD}
    assert "C区 5栋 501" not in page(client, "/units/")
    assert client.get(f"/units/{extra.id}").status_code == 404
    assert households(page(client, "/reports/arrears")) == {*A_HOUSEHOLDS, B_HOUSEHOLD}
    assert households(page(client, "/fees/calls")) == {*A_HOUSEHOLDS, B_HOUSEHOLD}


def test_the_command_line_sets_a_butler_s_zones(app, world):
    from portal.core.access import zone_ids_of
    from tests.factories import make_staff

    butler = make_staff("zone_butler", world.estate, username="louguan")
    db.session.commit()
    runner = app.test_cli_runner()
    done = runner.invoke(args=["users", "zones", "louguan", "A区", "B区"])
    assert done.exit_code == 0, done.output
    assert "A区, B区" in done.output
    assert len(zone_ids_of(db.session.get(type(butler), butler.id))) == 2
    assert runner.invoke(args=["users", "zones", "louguan", "Z区"]).exit_code == 1
    assert runner.invoke(args=["users", "zones", "nobody", "A区"]).exit_code == 1
