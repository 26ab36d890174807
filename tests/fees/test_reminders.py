"""The reminder ladder (催缴), the call and review lists, and payment notice slips."""

import shutil
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.blueprints.fees import ledger, reminders
from portal.blueprints.fees.models import CollectionRecord
from portal.blueprints.fees.reminders import Rung, ladder, parse_ladder, sweep_reminders
from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.people import Relation, StaffRole
from portal.core.places import Zone
from portal.extensions import db
from portal.jobs import Job, JobStatus
from portal.notify.models import OutboxMessage
from tests.factories import make_resident, make_staff, make_unit
from tests.fees.helpers import bill, pay

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = date(2026, 10, 15)


def on(day: date, hour=10):
    """Freeze the clock at `hour` o'clock estate time on `day`."""
    clock.freeze(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def records(**where):
    stmt = select(CollectionRecord).order_by(CollectionRecord.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(CollectionRecord, name) == value)
    return db.session.scalars(stmt).all()


def steps_of(b):
    return sorted(r.step for r in records(bill_id=b.id))


def outbox(**where):
    stmt = select(OutboxMessage).where(OutboxMessage.kind == "fee_reminder")
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    return db.session.scalars(stmt.order_by(OutboxMessage.id)).all()


# ---- the ladder as data ------------------------------------------------------------------


def test_the_default_ladder_parses_into_rungs_earliest_first(world):
    assert ladder(world.estate.id) == [
        Rung(-7, "app"),
        Rung(0, "sms"),
        Rung(15, "sms"),
        Rung(15, "print"),
        Rung(30, "call"),
        Rung(90, "review"),
    ]
    assert parse_ladder(" +20 : SMS + print , -3:app") == [
        Rung(-3, "app"),
        Rung(20, "sms"),
        Rung(20, "print"),
    ]
    assert Rung(15, "sms").name == "sms@15" and reminders.offset_of("app@-7") == -7


@pytest.mark.parametrize(
    "raw, says",
    [
        ("", "like -7:app"),
        ("15", "needs days and channels"),
        ("15:", "needs days and channels"),
        ("x:sms", "whole number"),
        ("1.5:sms", "whole number"),
        ("15:fax", "unknown channel “fax”"),
        ("0:sms,0:sms", "twice"),
        ("0:sms,,30:call", "empty step"),
        ("99999:sms", "at most 3650 days"),
    ],
)
def test_a_bad_ladder_is_refused_with_a_clear_message(world, raw, says):
    with pytest.raises(ServiceError) as caught:
        parse_ladder(raw)
    assert says in str(caught.value.message)
    if raw:  # the admin settings page parses through the declaration's validator
        with pytest.raises(ServiceError):
            settings.parse("fees.reminder_ladder", raw)


def test_an_estate_has_its_own_ladder_and_a_broken_stored_value_falls_back(world):
    settings.set_value("fees.reminder_ladder", "0:sms,45:call", actor=world.admin)
    settings.set_value(
        "fees.reminder_ladder", "3:app,60:review", actor=world.admin, estate_id=world.estate.id
    )
    assert ladder(world.estate.id) == [Rung(3, "app"), Rung(60, "review")]
    assert ladder(world.other.id) == [Rung(0, "sms"), Rung(45, "call")]  # company-wide
    settings.set_value(
        "fees.reminder_ladder", "soon:sms", actor=world.admin, estate_id=world.estate.id
    )
    assert ladder(world.estate.id) == parse_ladder(reminders.LADDER.default)


# ---- the sweep ---------------------------------------------------------------------------


def test_each_rung_goes_out_on_its_day_once_per_bill(world):
    fee = bill(world, world.unit, 12000, key="fee-oct", due_on=DUE)
    settings.set_value(
        "fees.reminder_ladder", "0:call", actor=world.admin, estate_id=world.other.id
    )
    other = bill(world, world.other_unit, 5000, key="fee-other", due_on=DUE)
    on(DUE - timedelta(days=8))
    assert sweep_reminders() == 0 and records() == []

    on(DUE - timedelta(days=7))
    assert sweep_reminders() == 1
    (message,) = outbox()
    assert (message.channel, message.recipient_id) == ("app", world.resident.id)  # not family
    assert "120.00" in message.body and "2026-10-15" in message.body
    assert "A区 1栋 1单元101" in message.subject
    assert steps_of(fee) == ["app@-7"] and records()[0].outcome == "sent"
    assert sweep_reminders() == 0 and len(outbox()) == 1  # a second run adds nothing

    on(DUE, hour=23)  # the due date, in quiet hours: the SMS waits for the morning
    assert sweep_reminders() == 2  # and the other estate's ladder calls on the due date
    sms = outbox(channel="sms")
    assert [m.address for m in sms] == ["13800000001"]
    assert sms[0].not_before == datetime(2026, 10, 16, 8, tzinfo=SHANGHAI)

    on(DUE + timedelta(days=15))
    assert sweep_reminders() == 2
    assert len(outbox(channel="sms")) == 2
    assert {r.step: r.outcome for r in records(bill_id=fee.id)}["print@15"] == "waiting"

    on(DUE + timedelta(days=30))
    assert sweep_reminders() == 1
    assert records(step="call@30")[0].outcome == "to_call"
    on(DUE + timedelta(days=89))
    assert sweep_reminders() == 0
    on(DUE + timedelta(days=90))
    assert sweep_reminders() == 1
    assert steps_of(fee) == ["app@-7", "call@30", "print@15", "review@90", "sms@0", "sms@15"]
    assert sweep_reminders() == 0
    assert len(outbox()) == 3  # app, and two SMS: the rest are lists and slips
    # The other estate's bill climbs that estate's own ladder.
    assert steps_of(other) == ["call@0"]


def test_a_late_first_reminder_passes_over_the_earlier_messages(world):
    old = bill(world, world.unit, 8000, key="fee-aug", due_on=date(2026, 8, 1))
    on(date(2026, 8, 1) + timedelta(days=20))
    assert sweep_reminders() == 4
    outcomes = {r.step: r.outcome for r in records(bill_id=old.id)}
    assert outcomes == {
        "app@-7": "skipped",
        "sms@0": "skipped",
        "sms@15": "sent",
        "print@15": "waiting",
    }
    assert [m.channel for m in outbox()] == ["sms"]  # one message, not three


def test_paid_and_withdrawn_bills_get_nothing_and_part_paid_ones_say_what_is_left(world):
    paid = bill(world, world.unit, 3000, key="paid", due_on=DUE)
    pay(world, world.unit, 3000)
    withdrawn = bill(world, world.unit, 4000, key="withdrawn", due_on=DUE)
    ledger.reverse_bill(withdrawn, reason="录错", actor=world.manager)
    part = bill(world, world.unit2, 10000, key="part", due_on=DUE)
    pay(world, world.unit2, 2500)
    db.session.commit()
    on(DUE)
    assert sweep_reminders() == 2  # the day-before rung is passed over, the SMS goes out
    assert records(bill_id=paid.id) == [] and records(bill_id=withdrawn.id) == []
    (sms,) = outbox()
    assert sms.recipient_id == world.resident2.id and "75.00" in sms.body
    pay(world, world.unit2, 7500)  # paid in full before the next rung
    db.session.commit()
    on(DUE + timedelta(days=40))
    assert sweep_reminders() == 0 and steps_of(part) == ["app@-7", "sms@0"]


def test_a_household_gets_one_message_listing_its_bills(world):
    tenant = make_resident(world.unit2, relation=Relation.tenant, name="租客小王")
    make_resident(world.unit2, name="前业主", start_on=date(2020, 1, 1), end_on=date(2023, 12, 31))
    fees = [
        bill(world, world.unit2, 22375, key="m10", due_on=DUE, item="property_residence"),
        bill(world, world.unit2, 8000, key="p10", due_on=DUE, item="parking"),
        bill(world, world.unit2, 30000, key="debris", due_on=DUE),
    ]
    bill(world, world.unit, 100, key="neighbour", due_on=DUE)
    on(DUE)
    assert sweep_reminders() == 8  # the rungs are recorded per bill …
    assert all(steps_of(f) == ["app@-7", "sms@0"] for f in fees)
    to_unit2 = outbox(unit_id=world.unit2.id)
    # … but each current owner or tenant gets one message for the household.
    assert sorted(m.recipient_id for m in to_unit2) == sorted([world.resident2.id, tenant.id])
    body = to_unit2[0].body
    assert "603.75" in body and "物业管理费" in body and "车位管理费" in body
    assert len(outbox(unit_id=world.unit.id)) == 1


def test_an_inbox_reminder_reads_in_the_reader_s_language_and_sms_keeps_its_own(
    client, world, login_as
):
    from portal.notify.outbox import relay_due

    world.resident.locale = "zh_CN"
    bill(world, world.unit, 22375, key="m10", due_on=DUE, item="property_residence")
    on(DUE - timedelta(days=7))
    sweep_reminders()
    db.session.commit()
    relay_due()
    (sent,) = outbox(unit_id=world.unit.id)
    assert sent.subject.startswith("费用即将到期")  # written in the recipient's language
    login_as("resident")
    assert client.get("/lang/en?next=/").status_code == 302
    page = client.get("/notices/").get_data(as_text=True)
    assert "Fees due soon: " in page and "费用即将到期" not in page
    assert client.get("/lang/zh_CN?next=/").status_code == 302
    assert "费用即将到期" in client.get("/notices/").get_data(as_text=True)


def test_a_household_nobody_can_be_told_is_logged_as_such(world):
    vacant_bill = bill(world, world.vacant, 5000, key="vacant", due_on=DUE)
    on(DUE)
    sweep_reminders()
    assert records(bill_id=vacant_bill.id, step="sms@0")[0].outcome == "no_contact"
    assert outbox() == []


def test_the_sweep_works_in_bounded_batches(world, monkeypatch):
    monkeypatch.setattr(reminders, "UNITS_PER_BATCH", 1)
    monkeypatch.setattr(reminders, "MAX_UNITS_PER_RUN", 2)
    for n, unit in enumerate((world.unit, world.unit2, world.vacant)):
        bill(world, unit, 1000, key=f"b{n}", due_on=DUE)
    on(DUE)

    def households_done():
        return db.session.scalar(select(func.count(func.distinct(CollectionRecord.unit_id))))

    assert sweep_reminders() == 4 and households_done() == 2  # two rungs per bill
    assert sweep_reminders() == 2 and households_done() == 3
    assert sweep_reminders() == 0


# ---- the call list, the review list and staff records ------------------------------------


def overdue_world(world):
    """unit: 30 days overdue (call); unit2: 95 days (call and review); vacant: 31 days."""
    bill(world, world.unit, 12000, key="u1", due_on=DUE)
    bill(world, world.unit2, 9000, key="u2", due_on=DUE - timedelta(days=65))
    bill(world, world.vacant, 5000, key="v", due_on=DUE - timedelta(days=1))
    on(DUE + timedelta(days=30))
    sweep_reminders()


def households(page: str) -> set[str]:
    return {
        label
        for label in ("A区 1栋 1单元101", "A区 1栋 2单元101", "B区 3栋 1单元1201")
        if label in page
    }


def test_the_call_list_shows_who_to_call_until_a_call_is_recorded(client, world, login_as):
    overdue_world(world)
    login_as("frontdesk")
    page = client.get("/fees/calls").get_data(as_text=True)
    assert households(page) == {"A区 1栋 1单元101", "A区 1栋 2单元101", "B区 3栋 1单元1201"}
    assert "13800000001" in page and "120.00" in page
    zone_b = db.session.scalar(select(Zone.id).where(Zone.name == "B区"))
    page = client.get(f"/fees/calls?zone={zone_b}").get_data(as_text=True)
    assert households(page) == {"B区 3栋 1单元1201"}

    response = client.post(
        f"/fees/units/{world.unit.id}/collection",
        data={"channel": "call", "outcome": "promised", "note": "月底前交"},
    )
    assert response.status_code == 302
    (call,) = records(channel="call", step=None)
    assert (call.outcome, call.actor_id, call.note) == ("promised", world.frontdesk.id, "月底前交")
    page = client.get("/fees/calls").get_data(as_text=True)
    assert households(page) == {"A区 1栋 2单元101", "B区 3栋 1单元1201"}
    record_page = client.get(f"/fees/units/{world.unit.id}/collection").get_data(as_text=True)
    assert "月底前交" in record_page and world.frontdesk.name in record_page


def test_a_zone_butler_sees_only_their_zone(client, world, login_as):
    overdue_world(world)
    butler = make_staff("zone_butler", world.estate, username="butler")
    db.session.execute(
        StaffRole.__table__.update()
        .where(StaffRole.user_id == butler.id)
        .values(zone_id=db.session.scalar(select(Zone.id).where(Zone.name == "B区")))
    )
    db.session.commit()
    login_as("butler")
    assert households(client.get("/fees/calls").get_data(as_text=True)) == {"B区 3栋 1单元1201"}
    # Asking for every zone still shows only theirs.
    assert households(client.get("/fees/calls?zone=").get_data(as_text=True)) == {
        "B区 3栋 1单元1201"
    }


def test_the_review_list_shows_long_arrears_to_managers(client, world, login_as):
    overdue_world(world)
    login_as("manager")
    page = client.get("/fees/review").get_data(as_text=True)
    assert households(page) == {"A区 1栋 2单元101"}
    assert "90.00" in page
    pay(world, world.unit2, 9000)
    db.session.commit()
    assert households(client.get("/fees/review").get_data(as_text=True)) == set()
    login_as("frontdesk")
    assert client.get("/fees/review").status_code == 403


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "channel"),
        ({"channel": "email", "outcome": "refused"}, "channel"),
        ({"channel": "call"}, "outcome"),
        ({"channel": "call", "outcome": "shouted"}, "outcome"),
        ({"channel": "visit", "outcome": "other", "note": "  "}, "note"),
        ({"channel": "visit", "outcome": "refused", "note": "长" * 501}, "note"),
    ],
)
def test_bad_input_stores_nothing(client, world, login_as, data, field):
    login_as("supervisor")
    response = client.post(f"/fees/units/{world.unit.id}/collection", data=data)
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.get_data(as_text=True)
    assert records() == []


def test_a_form_without_its_csrf_token_stores_nothing(client, world, login_as, app, monkeypatch):
    login_as("frontdesk")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(
        f"/fees/units/{world.unit.id}/collection", data={"channel": "call", "outcome": "paid"}
    )
    assert response.status_code == 400 and records() == []


def test_residents_are_refused_and_other_estates_see_nothing(client, world, login_as):
    overdue_world(world)
    login_as("resident")
    assert client.get(f"/fees/units/{world.unit.id}/collection").status_code == 403
    assert client.get("/fees/calls").status_code == 403
    login_as("frontdesk_other")
    assert client.get(f"/fees/units/{world.unit.id}/collection").status_code == 404
    response = client.post(
        f"/fees/units/{world.unit.id}/collection", data={"channel": "call", "outcome": "paid"}
    )
    assert response.status_code == 404 and records(step=None) == []
    assert households(client.get("/fees/calls").get_data(as_text=True)) == set()
    assert "A区" not in client.get("/fees/slips").get_data(as_text=True)


# ---- payment notice slips ----------------------------------------------------------------


def pdf_text(path) -> str:
    if not shutil.which("pdftotext"):
        from tests.conftest import skip_or_fail

        skip_or_fail("pdftotext is not installed (apt-get install poppler-utils)")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def test_slips_for_a_building_make_one_pdf_and_log_each_slip(
    client, world, login_as, app, tmp_path
):
    app.config["JOB_RESULTS_DIR"] = str(tmp_path)
    old = bill(
        world, world.unit, 22375, key="m9", due_on=date(2026, 9, 10), item="property_residence"
    )
    soon = bill(world, world.unit, 8000, key="p11", due_on=date(2026, 11, 16), item="parking")
    pay(world, world.unit, 2375)
    late = bill(world, world.unit2, 9000, key="u2", due_on=date(2026, 9, 1))
    bill(world, world.vacant, 5000, key="v", due_on=date(2026, 9, 1))  # another building
    on(date(2026, 9, 20))
    sweep_reminders()  # unit2's print rung is now waiting; unit's bill is not 15 days late
    on(date(2026, 10, 1))
    login_as("frontdesk")
    page = client.get("/fees/slips").get_data(as_text=True)
    assert "A区 1栋" in page and "B区 3栋" in page  # the choices
    assert 'data-testid="waiting-slips"' in page and "1栋 ·" in page
    response = client.post("/fees/slips", data={"place": f"building-{world.unit.building_id}"})
    assert response.status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == "payment_slips"))
    assert (job.status, job.progress, job.estate_id) == (JobStatus.finished, 100, world.estate.id)
    pdf = client.get(f"/jobs/{job.id}/result")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "slips.pdf"
    path.write_bytes(pdf.data)
    text = pdf_text(path)
    assert "A区 1栋 1单元101" in text and "A区 1栋 2单元101" in text and "B区" not in text
    assert "陈业主" in text and "林邻居" in text and "400-800-1234" in text
    assert "223.75" in text and "200.00" in text and "280.00" in text  # amount, owed, total
    assert "2026-09-10" in text and "2026-11-16" in text
    # The print rung due for unit's old bill is taken by the slip; unit2's was waiting, so
    # its slip is a manual print that clears the wait.
    assert {r.step: r.outcome for r in records(bill_id=old.id)}["print@15"] == "printed"
    assert records(bill_id=soon.id) == []
    manual = records(unit_id=world.unit2.id, channel="print", step=None)
    assert [r.outcome for r in manual] == ["printed"]
    assert {r.step: r.outcome for r in records(bill_id=late.id)}["print@15"] == "waiting"
    page = client.get("/fees/slips").get_data(as_text=True)
    assert "1栋 ·" not in page and f'data-testid="job-{job.id}"' in page
    # The household's record shows the slip.
    record_page = client.get(f"/fees/units/{world.unit2.id}/collection").get_data(as_text=True)
    assert 'data-channel="print"' in record_page


def test_a_place_where_nobody_owes_fails_the_job_with_a_clear_message(
    client, world, login_as, app, tmp_path
):
    app.config["JOB_RESULTS_DIR"] = str(tmp_path)
    login_as("manager")
    zone_b = db.session.scalar(select(Zone.id).where(Zone.name == "B区"))
    assert client.post("/fees/slips", data={"place": f"zone-{zone_b}"}).status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == "payment_slips"))
    assert job.status == JobStatus.failed and "B区" in job.error
    assert records() == []
    assert job.error in client.get("/fees/slips").get_data(as_text=True)


def test_slips_are_only_for_places_of_ones_own_estate(client, world, login_as):
    other_building = make_unit(world.other, zone="一区", building="9栋", number="902").building_id
    login_as("frontdesk")
    assert (
        client.post("/fees/slips", data={"place": f"building-{other_building}"}).status_code == 400
    )
    assert client.post("/fees/slips", data={}).status_code == 400
    assert db.session.scalar(select(Job.id)) is None
    login_as("technician")
    assert client.get("/fees/slips").status_code == 403
