"""The utilities an estate passes through, billed at a move-out's completion: nothing without
the setting; with it, each named meter's use since its last earlier reading at the price of
its fee item (fen per unit, rounded half up to the fen), billed once and due that day; a
meter without fee item, rate, earlier or final reading holds the completion (409, nothing
stored); the move-out page shows what will be billed and what was."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import Card, MeterReading
from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import Bill
from portal.blueprints.fees.rules import add_rate, create_item
from portal.blueprints.moves import utilities
from portal.blueprints.moves.models import MoveOut
from portal.core import settings
from portal.core.errors import ServiceError
from portal.core.people import Residency
from portal.core.places import Unit
from portal.extensions import db
from tests.moves.helpers import ON
from tests.ticket_pages import ZH

TODAY = date(2026, 11, 23)  # the frozen clock's day in the estate (ON)
EARLIER = date(2025, 1, 1)


def new_move_out(client, headers, unit_id):
    response = client.post(
        "/api/v1/move-outs", json={"unit_id": unit_id, "on": ON}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def complete(client, headers, move_id, readings, status):
    body = {"readings": readings, "cards_returned": [], "keys_returned": True}
    response = client.post(f"/api/v1/move-outs/{move_id}/complete", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def item(world, code, rate_fen, *, effective_on=EARLIER, name=None):
    return create_item(
        world.estate.id,
        code=code,
        name=name or {"water": "水费", "electricity": "电费", "gas": "燃气费"}[code],
        basis="one_off",
        unit_kind=None,
        rate_fen=rate_fen,
        effective_on=effective_on,
        actor=world.manager,
    )


def bill_meters(world, value):
    settings.set_value(
        "moves.utilities_billed", value, actor=world.admin, estate_id=world.estate.id
    )


def earlier_readings(unit, readings, on=EARLIER, purpose="first"):
    custody.record_readings(unit, readings, on, actor=None, purpose=purpose)


def move_out_bills():
    return db.session.scalars(select(Bill).where(Bill.source == "move_out").order_by(Bill.id)).all()


def test_charge_is_use_times_price_rounded_half_up_to_the_fen():
    assert utilities.charge_fen(Decimal("12.35"), 410) == 5064  # 5063.5 → 5064
    assert utilities.charge_fen(Decimal("12.34"), 410) == 5059  # 5059.4 → 5059
    assert utilities.charge_fen(Decimal("0.01"), 49) == 0  # 0.49 fen → 0
    assert utilities.charge_fen(Decimal("0.01"), 50) == 1  # 0.5 fen → 1
    assert utilities.charge_fen(Decimal("0"), 410) == 0
    assert isinstance(utilities.charge_fen(Decimal("9999999999.99"), 99), int)


def test_without_the_setting_nothing_is_billed(client, world, api_token):
    """The default bills no meter: the water item and its readings change nothing."""
    item(world, "water", 410)
    earlier_readings(world.unit, [{"meter": "water", "value": "10"}])
    db.session.commit()
    assert settings.get("moves.utilities_billed", world.estate.id) == "-"
    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)
    done = complete(client, desk, move["id"], [{"meter": "water", "value": "50.00"}], 200)
    assert done["status"] == "completed" and "utilities" not in done["clearance"]
    assert move_out_bills() == []
    assert ledger.balance(world.unit.id).owed_fen == 0


def test_each_billed_meter_is_billed_once_for_its_use(client, world, api_token):
    """Water and electricity passed through (not gas): each billed from its last earlier
    reading (water's routine reading, not its first) at the rate in force on the day —
    (50.35 − 12.30) m³ × 4.10 = 156.005 → ¥156.01, (900.50 − 300.25) kWh × 0.58 = 348.145
    → ¥348.15 — once per meter, due today, under the household's occupancy; the unit owes
    them after the move-out and they are paid at the counter."""
    water = item(world, "water", 410)
    add_rate(water, rate_fen=500, effective_on=date(2026, 12, 1), occupancy=None, actor=None)
    electricity = item(world, "electricity", 58)
    item(world, "gas", 300)
    earlier_readings(
        world.unit,
        [
            {"meter": "water", "value": "10.00"},
            {"meter": "electricity", "value": "300.25"},
            {"meter": "gas", "value": "5"},
        ],
    )
    earlier_readings(
        world.unit, [{"meter": "water", "value": "12.30"}], date(2026, 6, 1), purpose="routine"
    )
    bill_meters(world, "water, electricity")
    occupancy = world.unit.occupancy
    db.session.commit()

    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)
    finals = [
        {"meter": "water", "value": "50.35"},
        {"meter": "electricity", "value": "900.50"},
        {"meter": "gas", "value": "9"},
    ]
    done = complete(client, desk, move["id"], finals, 200)
    assert done["status"] == "completed"
    bills = move_out_bills()
    assert [(b.item.code, b.amount_fen) for b in bills] == [
        ("water", 15601),
        ("electricity", 34815),
    ]
    assert {b.fee_item_id for b in bills} == {water.id, electricity.id}
    assert [b.source_key for b in bills] == [
        f"move_out:{move['id']}:water",
        f"move_out:{move['id']}:electricity",
    ]
    assert all(b.due_on == TODAY and b.occupancy == occupancy for b in bills)
    assert [(b.period_start, b.period_end) for b in bills] == [
        (date(2026, 6, 1), TODAY),
        (EARLIER, TODAY),
    ]
    assert done["clearance"]["utilities"] == [
        {
            "meter": "water",
            "item": "water",
            "price_fen": 410,
            "from": "12.30",
            "from_on": "2026-06-01",
            "to": "50.35",
            "use": "38.05",
            "amount_fen": 15601,
            "bill_id": bills[0].id,
        },
        {
            "meter": "electricity",
            "item": "electricity",
            "price_fen": 58,
            "from": "300.25",
            "from_on": "2025-01-01",
            "to": "900.50",
            "use": "600.25",
            "amount_fen": 34815,
            "bill_id": bills[1].id,
        },
    ]
    assert ledger.balance(world.unit.id).owed_fen == 15601 + 34815
    unit = db.session.get(Unit, world.unit.id)
    assert unit.occupancy == "vacant"

    # Billed once: the completion cannot run again; the same meters priced again from
    # before the final readings bill nothing more (their source keys are billed).
    assert complete(client, desk, move["id"], finals, 409)["error"]["fields"]["allowed"] == []
    assert [line.amount_fen for line in utilities.plan(unit, TODAY, finals)] == [0, 0]
    lines = utilities.plan(unit, date(2026, 11, 22), finals)
    assert [line.amount_fen for line in lines] == [15601, 34815]
    moved = db.session.get(MoveOut, move["id"])
    again = utilities.bill_lines(unit, moved, lines, due_on=TODAY, actor=None)
    assert [line["bill_id"] for line in again] == [None, None]
    assert len(move_out_bills()) == 2

    ledger.record_payment(unit, 15601 + 34815, "cash", actor=world.frontdesk, source="counter")
    db.session.commit()
    assert ledger.balance(world.unit.id).owed_fen == 0


def test_nothing_used_or_a_free_price_bills_nothing(client, world, api_token):
    """A meter that did not turn, and one whose price is nothing: no bill, the figure kept."""
    item(world, "water", 410)
    item(world, "gas", 0)
    earlier_readings(
        world.unit, [{"meter": "water", "value": "20"}, {"meter": "gas", "value": "3"}]
    )
    bill_meters(world, "water,gas")
    db.session.commit()
    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)
    finals = [{"meter": "water", "value": "20.00"}, {"meter": "gas", "value": "7.5"}]
    done = complete(client, desk, move["id"], finals, 200)
    assert [
        (u["meter"], u["use"], u["amount_fen"], u["bill_id"])
        for u in done["clearance"]["utilities"]
    ] == [("water", "0.00", 0, None), ("gas", "4.50", 0, None)]
    assert move_out_bills() == []


def _nothing_stored(move_id, unit_id):
    assert db.session.get(MoveOut, move_id).status == "submitted"
    assert db.session.get(MoveOut, move_id).clearance is None
    assert move_out_bills() == []
    assert not db.session.scalars(select(MeterReading).where(MeterReading.purpose == "final")).all()
    assert db.session.scalar(select(Card.status).where(Card.number == "MJ9")) == "issued"
    assert all(
        r.end_on is None
        for r in db.session.scalars(select(Residency).where(Residency.unit_id == unit_id))
    )


def test_a_meter_that_cannot_be_billed_holds_the_completion(client, world, api_token):
    """Gas billed but with no fee item and no earlier reading, electricity with no rate on
    the day (its rate starts later), water without its final reading: one 409 naming each,
    beside the other unmet items; nothing stored. Once each is put right, completed."""
    item(world, "water", 410)
    electricity = item(world, "electricity", 58, effective_on=date(2026, 12, 1))
    earlier_readings(
        world.unit,
        [{"meter": "water", "value": "10"}, {"meter": "electricity", "value": "100"}],
    )
    custody.issue_cards(world.unit, [{"number": "MJ9", "kind": "access"}], EARLIER, actor=None)
    bill_meters(world, "water,electricity,gas")
    db.session.commit()
    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)

    finals = [{"meter": "electricity", "value": "150"}, {"meter": "gas", "value": "9"}]
    body = {"readings": finals, "cards_returned": ["MJ9"], "keys_returned": False}
    response = client.post(f"/api/v1/move-outs/{move['id']}/complete", json=body, headers=desk)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["fields"] == {
        "keys": "not_returned",
        "utilities": {
            "water": ["no_final_reading"],
            "electricity": ["no_rate"],
            "gas": ["no_fee_item", "no_earlier_reading"],
        },
    }
    for words in ("水表", "电表", "燃气表", "电费", "2026-11-23", "gas"):
        assert words in error["message"], error["message"]
    _nothing_stored(move["id"], world.unit.id)

    # No readings at all: the checklist's own item says so, the meters' other faults stay.
    nothing = complete(client, desk, move["id"], [], 409)["error"]["fields"]
    assert nothing["readings"] == "missing"
    assert nothing["utilities"] == {
        "electricity": ["no_rate"],
        "gas": ["no_fee_item", "no_earlier_reading"],
    }
    _nothing_stored(move["id"], world.unit.id)

    add_rate(electricity, rate_fen=58, effective_on=date(2026, 1, 1), occupancy=None, actor=None)
    item(world, "gas", 300)
    earlier_readings(world.unit, [{"meter": "gas", "value": "1"}], date(2026, 3, 1), "routine")
    db.session.commit()
    finals.append({"meter": "water", "value": "11"})
    body["keys_returned"] = True
    response = client.post(f"/api/v1/move-outs/{move['id']}/complete", json=body, headers=desk)
    assert response.status_code == 200, response.get_json()
    assert [(b.item.code, b.amount_fen) for b in move_out_bills()] == [
        ("water", 410),
        ("electricity", 2900),
        ("gas", 2400),
    ]


def test_a_lower_final_reading_is_refused_before_any_bill(client, world, api_token):
    item(world, "water", 410)
    earlier_readings(world.unit, [{"meter": "water", "value": "30"}])
    bill_meters(world, "water")
    db.session.commit()
    desk = api_token("frontdesk")
    move = new_move_out(client, desk, world.unit.id)
    refused = complete(client, desk, move["id"], [{"meter": "water", "value": "29.99"}], 400)
    assert "readings.water" in refused["error"]["fields"]
    assert move_out_bills() == [] and db.session.get(MoveOut, move["id"]).status == "submitted"


def test_the_setting_names_meters_only(world):
    for raw in ("water,steam", "heat"):
        with pytest.raises(ServiceError):
            settings.parse("moves.utilities_billed", raw)
    assert settings.parse("moves.utilities_billed", "water, gas") == "water, gas"
    assert settings.parse("moves.utilities_billed", "-") == "-"


# ---- the move-out page -------------------------------------------------------------------


def _section(page: str) -> str:
    found = re.search(r'<section[^>]*data-testid="utilities".*?</section>', page, re.S)
    return found.group(0) if found else ""


def _register_out(client, unit_id) -> int:
    response = client.post(
        f"/moves/out/new?unit={unit_id}",
        data={"unit": unit_id, "on": ON, "occupancy": "vacant"},
    )
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_page_shows_the_bill_before_and_after(client, world, login_as):
    """Before: each billed meter's last reading, its price and what keeps it from a bill;
    the readings typed (the completion refused for arrears) give the amounts; after: what
    was billed, collected at the counter."""
    item(world, "water", 410)
    earlier_readings(world.unit, [{"meter": "water", "value": "12.30"}])
    bill_meters(world, "water,gas")
    from tests.fees.helpers import bill

    bill(world, world.unit, 5000, key="utilities-page-arrears")
    db.session.commit()
    login_as("frontdesk")
    move_id = _register_out(client, world.unit.id)

    page = client.get(f"/moves/out/{move_id}", headers=ZH).get_data(as_text=True)
    section = _section(page)
    assert section, "no utilities section"
    assert "12.30" in section and "2025-01-01" in section and "¥4.10" in section
    assert "燃气" in section and "gas" in section  # the gas meter: no item, no reading
    assert "柜台" in section  # collected at the counter

    typed = {
        "readings-0-meter": "water",
        "readings-0-value": "50.35",
        "readings-2-meter": "gas",
        "readings-2-value": "3",
        "keys_returned": "y",
    }
    refused = client.post(f"/moves/out/{move_id}/act/complete", data=typed, headers=ZH)
    assert refused.status_code == 409
    section = _section(refused.get_data(as_text=True))
    assert "50.35" in section and "38.05" in section and "¥156.01" in section

    # Paid, gas no longer billed: completed, and the page tells what was billed.
    settings.set_value(
        "moves.utilities_billed", "water", actor=world.admin, estate_id=world.estate.id
    )
    ledger.record_payment(world.unit, 5000, "cash", actor=world.frontdesk, source="counter")
    db.session.commit()
    done = client.post(f"/moves/out/{move_id}/act/complete", data=typed)
    assert done.status_code == 303
    page = client.get(f"/moves/out/{move_id}", headers=ZH).get_data(as_text=True)
    section = _section(page)
    assert "¥156.01" in section and "38.05" in section and "柜台" in section
    assert f'href="/fees/units/{world.unit.id}"' in section
    assert db.session.scalar(select(func.count(Bill.id)).where(Bill.source == "move_out")) == 1


def test_without_the_setting_the_page_has_no_bill(client, world, login_as):
    login_as("frontdesk")
    move_id = _register_out(client, world.unit.id)
    page = client.get(f"/moves/out/{move_id}").get_data(as_text=True)
    assert 'data-testid="clearance"' in page and not _section(page)


def test_the_page_with_the_bill_reads_a_flat_number_of_statements(
    client, world, login_as, count_queries
):
    """Three billed meters, one reading each, then many readings: the same statements."""
    for code, rate in (("water", 410), ("electricity", 58), ("gas", 300)):
        item(world, code, rate)
    bill_meters(world, "water,electricity,gas")
    earlier_readings(world.unit, [{"meter": "water", "value": "1"}])
    db.session.commit()
    login_as("frontdesk")
    url = f"/moves/out/{_register_out(client, world.unit.id)}"

    def statements():
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = statements()
    for month in range(1, 11):
        earlier_readings(
            world.unit,
            [
                {"meter": "water", "value": str(month + 1)},
                {"meter": "electricity", "value": str(month * 10)},
                {"meter": "gas", "value": str(month)},
            ],
            date(2026, month, 1),
            "routine",
        )
    db.session.commit()
    assert statements() == few
