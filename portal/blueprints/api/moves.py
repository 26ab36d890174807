"""API: move-ins and move-outs on the shared workflow (contracts §8)."""

from datetime import date, datetime
from typing import Any

from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.api.tickets import action_data, events_out
from portal.blueprints.moves import services
from portal.blueprints.moves.models import (
    MOVE_IN_STATE_LABELS,
    MOVE_OUT_STATE_LABELS,
    MoveIn,
    MoveOut,
)
from portal.blueprints.moves.workflow import MOVE_IN, MOVE_OUT
from portal.core.access import DESK, get_or_404
from portal.core.inputs import Id
from portal.core.people import Relation
from portal.core.places import Occupancy
from portal.extensions import db

TAGS = ("moves",)


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=32, description="Digits, optional +")
    relation: s.one_of(Relation)


class MoveInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: Id
    on: date = Field(description="The day the household moves in")
    people: list[PersonIn] = Field(min_length=1, max_length=10)
    occupancy: s.one_of(Occupancy) = Occupancy.occupied_unrenovated.value
    idempotency_key: str | None = Field(None, min_length=1, max_length=80, description=s.ONCE)


class MoveOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: Id
    on: date = Field(description="The day the household moves out (the residencies' last)")
    occupancy: s.one_of(Occupancy) = Occupancy.vacant.value
    idempotency_key: str | None = Field(None, min_length=1, max_length=80, description=s.ONCE)


class MoveQuery(s.PageQuery):
    status: str | None = Field(None, max_length=30)
    unit_id: Id | None = None


class MoveInOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    unit_id: int | None
    on: date
    occupancy: str
    due_at: datetime | None
    owner_id: int | None
    people: list[dict[str, Any]]
    documents: list[str] | None
    required_documents: list[str]
    inspection: dict[str, Any] | None
    handover: dict[str, Any] | None
    completed_at: datetime | None
    allowed_actions: list[str]


class MoveInDetailOut(MoveInOut):
    events: list[s.EventOut]


class MoveInPage(s.Page[MoveInOut]):
    """A page of move-ins."""


class ClearanceOut(BaseModel):
    arrears: str = Field(description="What the unit owes now (yuan)")
    cards: list[str] = Field(description="Cards issued to the unit and not returned nor lost")
    goods_passes: list[dict[str, Any]]


class MoveOutOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    unit_id: int | None
    on: date
    occupancy: str
    due_at: datetime | None
    owner_id: int | None
    clearance: dict[str, Any] | None
    completed_at: datetime | None
    allowed_actions: list[str]


class MoveOutDetailOut(MoveOutOut):
    checklist: ClearanceOut
    events: list[s.EventOut]


class MoveOutPage(s.Page[MoveOutOut]):
    """A page of move-outs."""


def _common(move, flow, labels) -> dict:
    return {
        "id": move.id,
        "number": move.number,
        "status": move.status,
        "status_label": str(labels.get(move.status, move.status)),
        "created_at": move.created_at,
        "updated_at": move.updated_at,
        "unit_id": move.unit_id,
        "on": move.move_on,
        "occupancy": move.occupancy,
        "due_at": move.due_at,
        "owner_id": move.owner_id,
        "completed_at": move.completed_at,
        "allowed_actions": flow.allowed(move, current_user),
    }


def move_in_out(move: MoveIn, cls=MoveInOut, **extra):
    from portal.blueprints.moves.rules import required_documents

    inspection = (
        {"result": move.inspection_result, "defects": move.defects, "repair_ids": move.repair_ids}
        if move.inspection_result
        else None
    )
    return cls(
        **_common(move, MOVE_IN, MOVE_IN_STATE_LABELS),
        people=move.people or [],
        documents=move.documents,
        required_documents=required_documents(move),
        inspection=inspection,
        handover=move.handover,
        **extra,
    )


def move_out_out(move: MoveOut, cls=MoveOutOut, **extra):
    return cls(**_common(move, MOVE_OUT, MOVE_OUT_STATE_LABELS), clearance=move.clearance, **extra)


def move_out_detail(move: MoveOut):
    state = services.clearance(move)
    checklist = ClearanceOut(
        arrears=state["owed"],
        cards=[c.number for c in state["cards"]],
        goods_passes=[
            {"id": p.id, "number": p.number, "code": p.code, "status": p.status}
            for p in state["passes"]
        ],
    )
    return move_out_out(move, MoveOutDetailOut, checklist=checklist, events=events_out(move))


# ---- move-ins ----------------------------------------------------------------------------


@route(
    bp,
    "/move-ins",
    method="POST",
    summary="Register a move-in for a unit (desk staff)",
    body=MoveInIn,
    response=MoveInDetailOut,
    status=201,
    roles=DESK,
    errors=(404, 409),
    tags=TAGS,
)
def create_move_in(body):
    """Register a move-in; the people become residents at its hand-over. The same
    idempotency key again answers with the first move-in; with other values, 409."""
    data = body.model_dump()
    move = services.register_move_in(
        current_user,
        unit_id=data["unit_id"],
        on=data["on"],
        people=data["people"],
        occupancy=data["occupancy"],
        idempotency_key=data["idempotency_key"],
    )
    db.session.commit()
    return move_in_out(move, MoveInDetailOut, events=events_out(move))


@route(
    bp,
    "/move-ins",
    summary="Move-ins the caller may see, newest first",
    query=MoveQuery,
    response=MoveInPage,
    roles=DESK,
    tags=TAGS,
)
def list_move_ins(query):
    """List move-ins with filters."""
    stmt = services.list_of(MoveIn, current_user, status=query.status, unit_id=query.unit_id)
    return page_of(stmt, query, move_in_out)


@route(
    bp,
    "/move-ins/<int:move_in_id>",
    summary="One move-in with its history",
    response=MoveInDetailOut,
    roles=DESK,
    errors=(404,),
    tags=TAGS,
)
def get_move_in(move_in_id):
    """A move-in in the caller's scope, with its events."""
    move = get_or_404(MoveIn, move_in_id)
    return move_in_out(move, MoveInDetailOut, events=events_out(move))


@route(
    bp,
    "/move-ins/<int:move_in_id>/<action>",
    method="POST",
    summary="Take an action: check-documents {documents: [code]} (400 naming what is missing);"
    " inspect {result: ok|defects, defects?: [text]} (each defect opens a repair);"
    " hand-over {keys: {count, label?} or a count, cards: [{number, kind}],"
    " readings: [{meter, value}]} (409 naming a card number live in the estate;"
    " from the move-in day on); cancel {reason}",
    response=MoveInDetailOut,
    roles=DESK,
    errors=(404, 409),
    tags=TAGS,
)
def move_in_action(move_in_id, action):
    """Apply a workflow action; 409 names the actions the state allows."""
    move = get_or_404(MoveIn, move_in_id)
    services.act(move, action, actor=current_user, data=action_data())
    db.session.commit()
    return move_in_out(move, MoveInDetailOut, events=events_out(move))


# ---- move-outs ---------------------------------------------------------------------------


@route(
    bp,
    "/move-outs",
    method="POST",
    summary="Register a move-out for a unit with residents (desk staff)",
    body=MoveOutIn,
    response=MoveOutDetailOut,
    status=201,
    roles=DESK,
    errors=(404, 409),
    tags=TAGS,
)
def create_move_out(body):
    """Register a move-out; its completion waits for the clearance checklist. The same
    idempotency key again answers with the first move-out; with other values, 409."""
    move = services.register_move_out(
        current_user,
        unit_id=body.unit_id,
        on=body.on,
        occupancy=body.occupancy,
        idempotency_key=body.idempotency_key,
    )
    db.session.commit()
    return move_out_detail(move)


@route(
    bp,
    "/move-outs",
    summary="Move-outs the caller may see, newest first",
    query=MoveQuery,
    response=MoveOutPage,
    roles=DESK,
    tags=TAGS,
)
def list_move_outs(query):
    """List move-outs with filters."""
    stmt = services.list_of(MoveOut, current_user, status=query.status, unit_id=query.unit_id)
    return page_of(stmt, query, move_out_out)


@route(
    bp,
    "/move-outs/<int:move_out_id>",
    summary="One move-out with its checklist and history",
    response=MoveOutDetailOut,
    roles=DESK,
    errors=(404,),
    tags=TAGS,
)
def get_move_out(move_out_id):
    """A move-out in the caller's scope, with its checklist and events."""
    return move_out_detail(get_or_404(MoveOut, move_out_id))


@route(
    bp,
    "/move-outs/<int:move_out_id>/<action>",
    method="POST",
    summary="Take an action: complete {readings: [{meter, value}], cards_returned: [number],"
    " keys_returned: true} — 409 naming each unmet item (arrears, cards, readings, keys);"
    " cancel {reason}",
    response=MoveOutDetailOut,
    roles=DESK,
    errors=(404, 409),
    tags=TAGS,
)
def move_out_action(move_out_id, action):
    """Apply a workflow action; completing checks the clearance checklist first."""
    move = get_or_404(MoveOut, move_out_id)
    services.act(move, action, actor=current_user, data=action_data())
    db.session.commit()
    return move_out_detail(move)
