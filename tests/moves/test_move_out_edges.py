"""Edges of the move-out found in review: the household's passes end with its stay (the
move-out's own goods pass still lets the furniture out), and an action is judged on the
ticket's state as it stands in the database, not as a stale copy remembers it."""

from datetime import timedelta

from sqlalchemy import update

from portal.blueprints.moves.models import MoveIn
from portal.blueprints.passes.models import Pass
from portal.blueprints.passes.services import issue_pass
from portal.core import clock
from portal.extensions import db
from tests.moves.helpers import HAND_OVER, move_in_at
from tests.moves.test_move_out_api import READINGS, complete, new_move_out


def test_a_move_out_ends_the_household_s_passes_but_its_own_goods_pass(client, world, api_token):
    desk = api_token("frontdesk")
    start = clock.now()
    visitor = issue_pass(
        kind="visitor",
        unit=world.unit,
        valid_from=start,
        valid_until=start + timedelta(days=6),
        actor=world.resident,
        people=[{"name": "王五"}],
    )
    db.session.commit()
    move = new_move_out(client, desk, world.unit.id)
    goods = client.post(
        "/api/v1/passes",
        json={
            "kind": "goods",
            "unit_id": world.unit.id,
            "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(hours=6)).isoformat(),
            "items": [{"name": "沙发", "quantity": 1}],
        },
        headers=desk,
    ).get_json()
    # The move-out's goods pass: made from the move-out's page (its source is the move-out).
    db.session.execute(
        update(Pass)
        .where(Pass.id == goods["id"])
        .values(source_kind="move_out", source_id=move["id"])
    )
    db.session.commit()
    body = {"readings": READINGS, "cards_returned": [], "keys_returned": True}
    assert complete(client, desk, move["id"], body, 200)["status"] == "completed"
    assert db.session.get(Pass, visitor.id).status == "revoked"
    assert db.session.get(Pass, goods["id"]).status == "active"


def test_an_action_is_judged_on_the_state_in_the_database(client, world, api_token):
    """A hand-over sent twice at once: the second finds the move-in completed (409), not
    the `inspected` its own copy read before the first committed."""
    from portal.core.errors import Conflict
    from portal.core.workflow import apply

    desk = api_token("frontdesk")
    move = move_in_at(client, desk, world.vacant.id, "inspected")
    ticket = db.session.get(MoveIn, move["id"])
    assert ticket.status == "inspected"
    # Another request completes it meanwhile: the row changes, this copy does not know.
    db.session.execute(
        update(MoveIn)
        .where(MoveIn.id == ticket.id)
        .values(status="completed")
        .execution_options(synchronize_session=False)
    )
    assert ticket.status == "inspected"
    try:
        apply(ticket, "hand-over", actor=world.frontdesk, data=HAND_OVER)
    except Conflict:
        pass
    else:
        raise AssertionError("a hand-over of a completed move-in was taken")
