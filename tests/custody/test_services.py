"""The custody services: cards (live numbers unique per estate), meter readings, keys."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.blueprints.custody import services
from portal.blueprints.custody.models import Card, KeyMovement, KeySet, MeterReading
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.errors import Conflict, ServiceError
from portal.core.workflow import InvalidInput
from portal.extensions import db
from tests.factories import make_unit, make_zone_butler

TODAY = date(2026, 11, 23)  # the frozen clock's day in the estate


def issue(world, unit=None, *numbers, kind="access", on=TODAY):
    return services.issue_cards(
        unit or world.unit,
        [{"number": n, "kind": kind} for n in numbers],
        on,
        actor=world.frontdesk,
    )


# --- Cards ---------------------------------------------------------------------------------


def test_issue_cards_stores_them_live_and_audits(world):
    made = services.issue_cards(
        world.unit,
        [{"number": " a-001 ", "kind": "access"}, {"number": "P9", "kind": "parking"}],
        TODAY,
        actor=world.frontdesk,
        source_kind="move_in",
        source_id=7,
    )
    db.session.commit()
    assert [(c.number, c.kind, c.status) for c in made] == [
        ("A-001", "access", "issued"),
        ("P9", "parking", "issued"),
    ]
    assert made[0].source_kind == "move_in" and made[0].source_id == 7
    assert [c.number for c in services.live_cards(world.unit.id)] == ["A-001", "P9"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.issue"))
    assert entry.entity_id == world.unit.id


def test_a_live_number_in_the_estate_is_a_conflict(world):
    issue(world, world.unit, "A1")
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        issue(world, world.unit2, "A2", "a1")
    assert caught.value.status == 409
    assert caught.value.fields == {"cards": ["A1"]}
    db.session.rollback()
    assert db.session.scalar(select(Card).where(Card.number == "A2")) is None


def test_another_estate_may_use_the_same_number(world):
    issue(world, world.unit, "A1")
    issue(world, world.other_unit, "A1")
    db.session.commit()
    assert db.session.query(Card).filter_by(number="A1").count() == 2


def test_a_returned_number_may_be_issued_again(world):
    issue(world, world.unit, "A1")
    services.return_cards(world.unit, ["A1"], TODAY, actor=world.frontdesk)
    issue(world, world.unit2, "A1")
    db.session.commit()
    assert [c.status for c in db.session.query(Card).order_by(Card.id)] == ["returned", "issued"]


def test_the_database_refuses_a_second_live_number(world):
    """The partial unique index holds on its own (two desks racing past the check)."""
    issue(world, world.unit, "A1")
    db.session.commit()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            Card(
                estate_id=world.estate.id,
                unit_id=world.unit2.id,
                number="A1",
                kind="access",
                status="issued",
                issued_on=TODAY,
            )
        )
        db.session.flush()
    # A returned card of that number is no obstacle.
    db.session.add(
        Card(
            estate_id=world.estate.id,
            unit_id=world.unit2.id,
            number="A1",
            kind="access",
            status="returned",
            issued_on=TODAY,
        )
    )
    db.session.flush()


def test_a_race_past_the_check_is_still_a_conflict(world, monkeypatch):
    issue(world, world.unit, "A1")
    db.session.commit()
    calls = []
    real = services._refuse_live

    def skip_first(estate_id, numbers):
        calls.append(numbers)
        if len(calls) > 1:
            real(estate_id, numbers)

    monkeypatch.setattr(services, "_refuse_live", skip_first)
    with pytest.raises(Conflict):
        issue(world, world.unit2, "A1")
    assert len(calls) == 2


@pytest.mark.parametrize(
    "cards",
    [
        [{"number": "", "kind": "access"}],
        [{"number": "A 1\x00", "kind": "access"}],
        [{"number": "卡1", "kind": "access"}],
        [{"number": "X" * 41, "kind": "access"}],
        [{"number": "A1", "kind": "gold"}],
        [{"number": [1], "kind": "access"}],
        [{"number": "A1", "kind": "access"}, {"number": "a1", "kind": "parking"}],
    ],
)
def test_bad_cards_are_400_and_nothing_is_stored(world, cards):
    with pytest.raises(InvalidInput) as caught:
        services.issue_cards(world.unit, cards, TODAY, actor=world.frontdesk)
    assert caught.value.status == 400 and "cards" in caught.value.fields
    assert db.session.scalar(select(Card)) is None


def test_bad_dates_are_400(world):
    for on in (None, "2026-11-23", datetime(2026, 11, 23, tzinfo=UTC), date(1900, 1, 1)):
        with pytest.raises(InvalidInput) as caught:
            services.issue_cards(
                world.unit, [{"number": "A1", "kind": "access"}], on, actor=world.frontdesk
            )
        assert "on" in caught.value.fields


def test_return_cards_needs_the_units_live_cards(world):
    issue(world, world.unit, "A1", "A2")
    issue(world, world.unit2, "B1")
    with pytest.raises(InvalidInput) as caught:
        services.return_cards(world.unit, ["A1", "B1", "ZZ"], TODAY, actor=world.frontdesk)
    assert caught.value.fields == {"cards": ["B1", "ZZ"]}
    assert {c.status for c in services.cards_of(world.unit.id)} == {"issued"}
    returned = services.return_cards(world.unit, ["a1"], TODAY, actor=world.frontdesk)
    assert [(c.number, c.status, c.returned_on) for c in returned] == [("A1", "returned", TODAY)]
    with pytest.raises(InvalidInput):  # a second return of it
        services.return_cards(world.unit, ["A1"], TODAY, actor=world.frontdesk)
    with pytest.raises(InvalidInput):  # before the day it was issued
        services.return_cards(world.unit, ["A2"], TODAY - timedelta(days=1), actor=world.frontdesk)


def test_report_lost_and_replace_without_a_fee(world):
    (card,) = issue(world, world.unit, "A1")
    services.report_lost(card, TODAY, actor=world.frontdesk)
    assert card.status == "lost" and card.lost_on == TODAY
    with pytest.raises(Conflict):
        services.report_lost(card, TODAY, actor=world.frontdesk)
    new = services.replace_card(card, "A9", TODAY, actor=world.frontdesk, charge=True)
    assert new.bill is None  # the estate has no card replacement fee item
    assert (new.number, new.kind, new.status, new.source_kind) == (
        "A9",
        "access",
        "issued",
        "replacement",
    )
    assert card.replaced_by_id == new.id
    with pytest.raises(Conflict):  # replaced once is enough
        services.replace_card(card, "A10", TODAY, actor=world.frontdesk)
    with pytest.raises(InvalidInput):  # no lost card in the future
        services.report_lost(new, TODAY + timedelta(days=1), actor=world.frontdesk)


def test_replacing_a_live_card_reports_it_lost_and_the_number_may_not_be_live(world):
    (card,) = issue(world, world.unit, "A1")
    issue(world, world.unit2, "B1")
    db.session.commit()
    with pytest.raises(Conflict):
        services.replace_card(card, "B1", TODAY, actor=world.frontdesk)
    db.session.rollback()
    card = db.session.get(Card, card.id)
    assert card.status == "issued"
    new = services.replace_card(card, "A2", TODAY, actor=world.frontdesk)
    assert card.status == "lost" and new.status == "issued"
    services.return_cards(world.unit, ["A2"], TODAY, actor=world.frontdesk)
    with pytest.raises(Conflict):  # a returned card is not replaced
        services.replace_card(new, "A3", TODAY, actor=world.frontdesk)


def test_replacement_fee_billed_once_when_the_estate_has_the_item(world):
    from portal.blueprints.fees.models import Bill
    from portal.blueprints.fees.rules import create_item

    create_item(
        world.estate.id,
        code="card_replacement",
        name="补卡费",
        basis="one_off",
        unit_kind=None,
        rate_fen=2000,
        effective_on=date(2026, 1, 1),
        actor=world.manager,
    )
    (card,) = issue(world, world.unit, "A1")
    new = services.replace_card(card, "A2", TODAY, actor=world.frontdesk, charge=True)
    assert new.bill is not None and new.bill.amount_fen == 2000
    assert new.bill.source_key == f"card:{new.id}"
    (card2,) = issue(world, world.unit, "A3")
    services.replace_card(card2, "A4", TODAY, actor=world.frontdesk)  # charge=False: free
    assert db.session.query(Bill).filter_by(unit_id=world.unit.id).count() == 1


def test_cards_of_lists_live_first(world):
    issue(world, world.unit, "A1", "A2")
    services.return_cards(world.unit, ["A1"], TODAY, actor=world.frontdesk)
    assert [(c.number, c.status) for c in services.cards_of(world.unit.id)] == [
        ("A2", "issued"),
        ("A1", "returned"),
    ]
    assert services.find_card(world.unit.id, "a1").status == "returned"
    assert services.find_card(world.unit.id, "\x00") is None


# --- Meter readings ------------------------------------------------------------------------


def read(world, purpose, on=TODAY, **values):
    return services.record_readings(
        world.unit,
        [{"meter": m, "value": v} for m, v in values.items()],
        on,
        actor=world.frontdesk,
        purpose=purpose,
    )


def test_readings_are_decimals_with_two_places(world):
    made = read(world, "first", water="12.5", electricity=Decimal("3000"), gas=0)
    db.session.commit()
    stored = db.session.scalars(select(MeterReading).order_by(MeterReading.id)).all()
    assert [(r.meter, r.value) for r in stored] == [
        ("water", Decimal("12.50")),
        ("electricity", Decimal("3000.00")),
        ("gas", Decimal("0.00")),
    ]
    assert all(isinstance(r.value, Decimal) for r in made)


@pytest.mark.parametrize(
    "value", ["-1", "1.234", "abc", "NaN", "Infinity", "", None, True, "1e20", "1\x00"]
)
def test_bad_reading_values_are_400(world, value):
    with pytest.raises(InvalidInput) as caught:
        read(world, "routine", water=value)
    assert "readings.water" in caught.value.fields
    assert db.session.scalar(select(MeterReading)) is None


def test_bad_meter_or_purpose_is_400(world):
    with pytest.raises(InvalidInput):
        read(world, "routine", heat="1")
    with pytest.raises(InvalidInput):
        read(world, "whenever", water="1")
    with pytest.raises(InvalidInput):
        services.record_readings(
            world.unit,
            [{"meter": "water", "value": "1"}, {"meter": "water", "value": "2"}],
            TODAY,
            actor=world.frontdesk,
            purpose="routine",
        )


def test_a_later_reading_may_not_be_lower(world):
    read(world, "first", TODAY - timedelta(days=30), water="100.00", gas="5")
    with pytest.raises(InvalidInput) as caught:
        read(world, "final", water="99.99", gas="6")
    assert list(caught.value.fields) == ["readings.water"]
    assert "100.00" in str(caught.value.message)
    read(world, "routine", water="100.00", gas="6")
    # A first reading (a new meter at a hand-over) starts afresh.
    read(world, "first", TODAY, water="0")
    assert db.session.query(MeterReading).count() == 5


def test_a_reading_photo_is_checked_and_stored(world, app, tmp_path):
    from portal.core import uploads
    from tests.factories import png_upload

    app.config["UPLOAD_DIR"] = str(tmp_path)
    try:
        (reading,) = services.record_readings(
            world.unit,
            [{"meter": "water", "value": "1", "photo": png_upload()}],
            TODAY,
            actor=world.frontdesk,
            purpose="routine",
        )
        (stored,) = uploads.files_of(reading, "meter")
        assert stored.content_type == "image/png"
        import io

        from werkzeug.datastructures import FileStorage

        bad = FileStorage(io.BytesIO(b"not an image"), filename="x.png")
        with pytest.raises(ServiceError):
            services.record_readings(
                world.unit,
                [{"meter": "gas", "value": "1", "photo": bad}],
                TODAY,
                actor=world.frontdesk,
                purpose="routine",
            )
    finally:
        app.config.pop("UPLOAD_DIR", None)


# --- Keys ----------------------------------------------------------------------------------


def take(world, unit=None):
    return services.take_keys(
        unit or world.vacant,
        count=3,
        label="K-1201",
        actor=world.frontdesk,
        name="王业主",
        phone="139 0000 0000",
    )


def test_key_movements_and_the_overdue_flag(world):
    keyset = take(world)
    assert (keyset.status, keyset.count, keyset.left_by_phone) == ("held", 3, "13900000000")
    due = clock.now() + timedelta(hours=4)
    services.lend_keys(
        keyset,
        name="装修队李",
        phone="13700000000",
        reason="量房",
        due_back_at=due,
        actor=world.frontdesk,
    )
    db.session.commit()
    assert keyset.status == "lent" and keyset.lent_to == "装修队李"
    assert services.overdue_keys_count(world.frontdesk) == 0
    clock.freeze(due + timedelta(minutes=1))
    assert keyset.is_overdue
    assert services.overdue_keys_count(world.frontdesk) == 1
    assert db.session.scalars(services.overdue_keys(world.frontdesk)).all() == [keyset]
    assert services.overdue_keys_count(world.other_frontdesk) == 0
    services.take_back_keys(keyset, actor=world.frontdesk)
    assert services.overdue_keys_count(world.frontdesk) == 0
    services.hand_over_keys(keyset, name="王业主", actor=world.frontdesk)
    actions = db.session.scalars(
        select(KeyMovement.action)
        .where(KeyMovement.key_set_id == keyset.id)
        .order_by(KeyMovement.id)
    ).all()
    assert actions == ["taken_in", "lent", "returned", "handed_over"]
    loan = db.session.scalar(select(KeyMovement).where(KeyMovement.action == "lent"))
    assert loan.back_at == due + timedelta(minutes=1) and loan.reason == "量房"
    audits = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("keys.%")).order_by(AuditEntry.id)
    ).all()
    assert audits == ["keys.take", "keys.lend", "keys.return", "keys.hand_over"]


def test_illegal_key_moves_are_conflicts(world):
    keyset = take(world)
    due = clock.now() + timedelta(days=1)
    with pytest.raises(Conflict):
        services.take_back_keys(keyset, actor=world.frontdesk)
    services.lend_keys(
        keyset,
        name="李",
        phone="13700000000",
        reason="看房",
        due_back_at=due,
        actor=world.frontdesk,
    )
    with pytest.raises(Conflict):
        services.lend_keys(
            keyset,
            name="赵",
            phone="13700000001",
            reason="看房",
            due_back_at=due,
            actor=world.frontdesk,
        )
    with pytest.raises(Conflict):  # bring them back first
        services.hand_over_keys(keyset, name="王", actor=world.frontdesk)
    services.take_back_keys(keyset, actor=world.frontdesk)
    services.hand_over_keys(keyset, name="王", actor=world.frontdesk)
    for move in (
        lambda: services.hand_over_keys(keyset, name="王", actor=world.frontdesk),
        lambda: services.lend_keys(
            keyset,
            name="李",
            phone="13700000000",
            reason="x",
            due_back_at=due,
            actor=world.frontdesk,
        ),
    ):
        with pytest.raises(Conflict):
            move()


@pytest.mark.parametrize(
    "change",
    [
        {"count": 0},
        {"count": 100},
        {"count": "三"},
        {"count": True},
        {"label": ""},
        {"label": "x" * 101},
        {"label": "K\x00"},
        {"phone": "abc"},
        {"on": TODAY + timedelta(days=1)},
    ],
)
def test_bad_key_input_is_400(world, change):
    values = {"count": 2, "label": "K-1", "phone": None, "on": None} | change
    with pytest.raises(ServiceError) as caught:
        services.take_keys(world.vacant, actor=world.frontdesk, **values)
    assert caught.value.status == 400
    assert db.session.scalar(select(KeySet)) is None


@pytest.mark.parametrize(
    "due",
    [
        datetime(2026, 11, 23, 2, 0, tzinfo=UTC),  # already past
        datetime(2028, 1, 1, tzinfo=UTC),  # more than a year
        datetime(2026, 11, 24, 2, 0),  # no offset
        "tomorrow",
        None,
    ],
)
def test_bad_due_back_is_400(world, due):
    keyset = take(world)
    with pytest.raises(InvalidInput) as caught:
        services.lend_keys(
            keyset,
            name="李",
            phone="13700000000",
            reason="x",
            due_back_at=due,
            actor=world.frontdesk,
        )
    assert "due_back_at" in caught.value.fields
    assert keyset.status == "held"


def test_a_due_day_means_that_evening_in_the_estate(world):
    keyset = take(world)
    services.lend_keys(
        keyset,
        name="李",
        phone="13700000000",
        reason="x",
        due_back_at=date(2026, 11, 24),
        actor=world.frontdesk,
    )
    assert keyset.due_back_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


def test_overdue_keys_follow_the_butlers_zones(world):
    a_keys = take(world, world.unit)  # A区
    b_keys = take(world, world.vacant)  # B区
    for keyset in (a_keys, b_keys):
        services.lend_keys(
            keyset,
            name="李",
            phone="13700000000",
            reason="x",
            due_back_at=clock.now() + timedelta(hours=1),
            actor=world.frontdesk,
        )
    butler = make_zone_butler(world)
    clock.freeze(clock.now() + timedelta(hours=2))
    assert services.overdue_keys_count(world.frontdesk) == 2
    assert services.overdue_keys_count(world.admin, world.estate.id) == 2
    assert services.overdue_keys_count(world.admin, world.other.id) == 0
    assert db.session.scalars(services.overdue_keys(butler)).all() == [a_keys]
    assert services.overdue_keys_count(world.resident) == 0
    one_statement = select(services.overdue_keys_count_sql(world.frontdesk).label("overdue"))
    assert db.session.execute(one_statement).one().overdue == 2


# --- The unit panel ------------------------------------------------------------------------


def test_unit_panel_statements_do_not_grow_with_history(world, count_queries):
    unit_id = world.unit.id

    def panel():
        db.session.expire_all()
        with count_queries() as counter:
            data = services.unit_panel(unit_id)
        return data, counter.count

    issue(world, world.unit, "A1")
    read(world, "first", TODAY - timedelta(days=60), water="1", electricity="1")
    take(world, world.unit)
    db.session.commit()
    small, few = panel()
    for i in range(10):
        issue(world, world.unit, f"X{i}")
        services.return_cards(world.unit, [f"X{i}"], TODAY, actor=world.frontdesk)
        read(world, "routine", TODAY - timedelta(days=50 - i), water=str(2 + i), gas=str(i))
        take(world, world.unit)
    db.session.commit()
    big, many = panel()
    assert few == many == 3  # cards, the latest readings, the key sets
    assert len(big["cards"]) == 11 and [c.number for c in big["live_cards"]] == ["A1"]
    assert [(r.meter, r.value) for r in big["readings"]] == [
        ("water", Decimal("11.00")),
        ("electricity", Decimal("1.00")),
        ("gas", Decimal("9.00")),
    ]
    assert len(big["key_sets"]) == 11
    other = make_unit(world.estate, number="9-999")
    assert services.unit_panel(other.id) == {
        "cards": [],
        "live_cards": [],
        "readings": [],
        "key_sets": [],
    }


def test_figures_for_the_reports(world, count_queries):
    issue(world, world.unit, "A1", on=date(2026, 1, 5))
    issue(world, world.unit, "P1", kind="parking", on=date(2026, 11, 1))
    issue(world, world.other_unit, "X1")  # another estate
    issue(world, world.unit, "OLD", on=date(2025, 12, 31))
    held = take(world)
    lent = take(world, world.unit)
    services.lend_keys(
        lent,
        name="李",
        phone="13700000000",
        reason="x",
        due_back_at=clock.now() + timedelta(hours=1),
        actor=world.frontdesk,
    )
    done = take(world, world.unit2)
    services.hand_over_keys(done, name="林", actor=world.frontdesk)
    clock.freeze(clock.now() + timedelta(hours=2))
    db.session.commit()
    estate_id = world.estate.id
    with count_queries() as counter:
        got = services.figures(estate_id, date(2026, 1, 1), date(2026, 12, 31))
    assert counter.count == 1
    assert got == {
        "cards": {"issued": 2, "access": 1, "parking": 1},
        "keys": {"in_custody": 2, "lent": 1, "overdue": 1},
    }
    assert held.status == "held"
