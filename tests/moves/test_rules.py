"""The rules around a move: its day on a moving clock, the settings it reads (documents, the
one-off move-in fees, billed once), the occupancy a unit already has, the OpenAPI document."""

from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.blueprints.fees.models import Bill
from portal.blueprints.fees.rules import create_item
from portal.blueprints.moves.models import MoveIn
from portal.core import clock, settings
from portal.core.places import Unit, UnitOccupancy
from portal.extensions import db
from tests.moves.helpers import HAND_OVER, move_in_at, take


def test_the_day_of_a_move_on_a_moving_clock(client, world, api_token):
    """Registered on Monday for Wednesday: due at the end of Wednesday; the hand-over is
    refused until Wednesday comes, then the people are residents from Wednesday."""
    desk = api_token("frontdesk")
    move = move_in_at(client, desk, world.vacant.id, "inspected", on="2026-11-25")
    assert move["due_at"] == "2026-11-25T16:00:00Z"  # midnight in Shanghai
    take(client, desk, move["id"], "hand-over", HAND_OVER, 409)
    clock.freeze(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    desk = api_token("frontdesk")
    done = take(client, desk, move["id"], "hand-over", HAND_OVER)
    assert done["status"] == "completed"
    unit = db.session.get(Unit, world.vacant.id)
    assert unit.occupancy_since == date(2026, 11, 25)
    assert db.session.get(MoveIn, move["id"]).completed_at == datetime(
        2026, 11, 25, 2, 0, tzinfo=UTC
    )


def test_the_settings_decide_the_documents_and_the_move_in_fees(client, world, api_token):
    """An estate that asks only for the ID card, and bills a one-off move-in fee item: the
    fee is billed once at the hand-over, due on the day; the occupancy the unit already has
    stays as it was (no second history row)."""
    settings.set_value(
        "moves.documents_owner", "id_card", actor=world.admin, estate_id=world.estate.id
    )
    item = create_item(
        world.estate.id,
        code="move_in_service",
        name="入住服务费",
        basis="one_off",
        unit_kind=None,
        rate_fen=5000,
        effective_on=date(2024, 1, 1),
        actor=world.manager,
    )
    settings.set_value(
        "moves.move_in_fee_items",
        "move_in_service,debris",
        actor=world.admin,
        estate_id=world.estate.id,
    )
    db.session.commit()
    desk = api_token("frontdesk")
    move = move_in_at(client, desk, world.vacant.id, "submitted", occupancy="vacant")
    assert move["required_documents"] == ["id_card"]
    take(client, desk, move["id"], "check-documents", {"documents": ["id_card"]})
    take(client, desk, move["id"], "inspect", {"result": "ok"})
    before = db.session.scalar(
        select(db.func.count())
        .select_from(UnitOccupancy)
        .where(UnitOccupancy.unit_id == world.vacant.id)
    )
    done = take(client, desk, move["id"], "hand-over", {"keys": 2})
    assert done["handover"]["keys"] == {"count": 2, "label": None}
    bills = db.session.scalars(select(Bill).where(Bill.unit_id == world.vacant.id)).all()
    assert [
        (b.fee_item_id, b.amount_fen, b.due_on, b.source_key)
        for b in bills
        if b.fee_item_id == item.id
    ] == [(item.id, 5000, date(2026, 11, 23), f"move_in:{move['id']}:move_in_service")]
    assert len(bills) == 2  # the debris item too, at its standard one-off rate
    assert set(done["handover"]["bills"]) == {b.id for b in bills}
    after = db.session.scalar(
        select(db.func.count())
        .select_from(UnitOccupancy)
        .where(UnitOccupancy.unit_id == world.vacant.id)
    )
    assert after == before and db.session.get(Unit, world.vacant.id).occupancy == "vacant"


def test_a_setting_of_unknown_documents_is_refused(world):
    from portal.core.errors import ServiceError

    try:
        settings.parse("moves.documents_owner", "id_card,passport")
    except ServiceError as exc:
        assert exc.fields == {"value": "unknown"}
    else:
        raise AssertionError("an unknown code was accepted")
    assert settings.parse("moves.documents_tenant", " id_card , lease ") == "id_card , lease"


def test_the_openapi_document_declares_the_moves(client, world):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, methods in {
        "/api/v1/move-ins": {"get", "post"},
        "/api/v1/move-ins/{move_in_id}": {"get"},
        "/api/v1/move-ins/{move_in_id}/{action}": {"post"},
        "/api/v1/move-outs": {"get", "post"},
        "/api/v1/move-outs/{move_out_id}": {"get"},
        "/api/v1/move-outs/{move_out_id}/{action}": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
