"""API: renovation applications on the shared workflow (contracts §9)."""

import base64
import binascii
import io
from datetime import date, datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.datastructures import FileStorage

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.api.tickets import action_data, events_out
from portal.blueprints.renovation import services
from portal.blueprints.renovation.models import STATE_LABELS, Renovation, Scope
from portal.blueprints.renovation.workflow import APPLICANTS, RENOVATION
from portal.core.access import EVERYONE, get_or_404
from portal.core.errors import ServiceError
from portal.core.inputs import Id
from portal.core.money import yuan
from portal.extensions import db

TAGS = ("renovations",)
# A 10 MB file in base64 (4 characters for 3 bytes), and a little room.
MAX_BASE64 = 14_000_000


class WorkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field("", max_length=30, description="18-character resident ID number")
    phone: str = Field(min_length=1, max_length=32)


class DrawingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="The file's name")
    content_base64: str = Field(
        min_length=1,
        max_length=MAX_BASE64,
        description="The file, base64-encoded: a PDF or an image (checked by content, 10 MB)",
    )


class RenovationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: Id
    contractor: str = Field(min_length=1, max_length=200, description="The company")
    contractor_licence: str | None = Field(None, max_length=100, description="Licence number")
    foreman: str = Field(min_length=1, max_length=100)
    foreman_phone: str = Field(min_length=1, max_length=32)
    starts_on: date
    ends_on: date
    scope: list[s.one_of(Scope)] = Field(min_length=1, max_length=len(Scope))
    workers: list[WorkerIn] = Field(min_length=1, max_length=20)
    drawings: list[DrawingIn] = Field(default_factory=list, max_length=10)
    hours_accepted: bool = Field(
        False, description="The owner commits to the working hours (required of a resident)"
    )
    statement_signed: bool = Field(
        False,
        description="The owner signs the liability statement (required of a resident; the"
        " desk records the owner's signature on paper)",
    )
    idempotency_key: str | None = Field(None, min_length=1, max_length=80, description=s.ONCE)


class RenovationQuery(s.PageQuery):
    status: str | None = Field(None, max_length=30)
    unit_id: Id | None = None


class PassOut(BaseModel):
    id: int
    code: str
    number: str
    name: str
    valid_from: datetime
    valid_until: datetime
    status: str


class DepositOut(BaseModel):
    billed: str
    paid: str
    deducted: str
    refunded: str
    held: str


class RenovationOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    unit_id: int | None
    applicant_id: int | None
    owner_id: int | None
    due_at: datetime | None
    contractor: str
    contractor_licence: str | None
    foreman: str
    foreman_phone: str
    starts_on: date
    ends_on: date
    scope: list[str]
    workers: list[dict[str, Any]]
    hours_text: str
    statement_text: str
    statement_signed: str
    review: dict[str, Any] | None
    returned_reason: str | None
    rejected_reason: str | None
    approved_at: datetime | None
    approval: dict[str, Any] | None
    allowed_actions: list[str]


class RenovationDetailOut(RenovationOut):
    passes: list[PassOut]
    deposit: DepositOut
    drawings: list[dict[str, Any]]
    events: list[s.EventOut]
    works: dict[str, Any]
    refund: dict[str, Any] | None


class RenovationPage(s.Page[RenovationOut]):
    """A page of renovations."""


def _masked(worker: dict) -> dict:
    """A worker as the API shows them: the ID number's middle hidden."""
    number = worker.get("id_number") or ""
    shown = number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if number else ""
    return {**worker, "id_number": shown}


def renovation_out(renovation: Renovation, cls=RenovationOut, **extra):
    return cls(
        id=renovation.id,
        number=renovation.number,
        status=renovation.status,
        status_label=str(STATE_LABELS.get(renovation.status, renovation.status)),
        created_at=renovation.created_at,
        updated_at=renovation.updated_at,
        unit_id=renovation.unit_id,
        applicant_id=renovation.applicant_id,
        owner_id=renovation.owner_id,
        due_at=renovation.due_at,
        contractor=renovation.contractor,
        contractor_licence=renovation.contractor_licence,
        foreman=renovation.foreman,
        foreman_phone=renovation.foreman_phone,
        starts_on=renovation.starts_on,
        ends_on=renovation.ends_on,
        scope=renovation.scope or [],
        workers=[_masked(w) for w in renovation.workers or []],
        hours_text=renovation.hours_text,
        statement_text=renovation.statement_text,
        statement_signed=renovation.statement_signed,
        review=renovation.review,
        returned_reason=renovation.returned_reason,
        rejected_reason=renovation.rejected_reason,
        approved_at=renovation.approved_at,
        approval=renovation.approval,
        allowed_actions=RENOVATION.allowed(renovation, current_user),
        **extra,
    )


def renovation_detail(renovation: Renovation):
    deposit = {k: yuan(v) for k, v in services.deposit_of(renovation).items()}
    drawings = [
        {"id": f.id, "name": f.original_name, "content_type": f.content_type, "size": f.size}
        for f in services.drawings_of(renovation)
    ]
    return renovation_out(
        renovation,
        RenovationDetailOut,
        passes=services.passes_of(renovation),
        deposit=deposit,
        drawings=drawings,
        events=events_out(renovation),
        works=_works(renovation),
        refund=_refund(renovation),
    )


def _works(renovation: Renovation) -> dict:
    record = services.works_of(renovation)

    def row(r):
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}

    return {
        "inspections": [row(r) for r in record["inspections"]],
        "open_violations": [row(r) for r in record["open_violations"]],
        "hidden_works": [row(r) for r in record["hidden_works"]],
        "hidden_works_passed": record["hidden_works_passed"],
        "acceptances": [row(r) for r in record["acceptances"]],
    }


def _refund(renovation: Renovation) -> dict | None:
    refund = services.refund_of(renovation)
    if refund is None:
        return None
    return {
        "id": refund.id,
        "number": refund.number,
        "paid": yuan(refund.paid_fen),
        "deducted": yuan(refund.deducted_fen),
        "refunded": yuan(refund.refunded_fen),
        "method": refund.method,
        "slip_url": url_for("fees.refund_slip", refund_id=refund.id),
    }


def _file(n: int, drawing: dict) -> FileStorage:
    """A drawing sent in JSON as the file the services check (by its content)."""
    try:
        data = base64.b64decode(drawing["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(
            _l("This is not base64."), fields={f"drawings.{n}.content_base64": "base64"}
        ) from None
    return FileStorage(io.BytesIO(data), filename=drawing["name"])


@route(
    bp,
    "/renovations",
    method="POST",
    summary="Apply for a renovation: the unit's owner, or the desk for the owner (a tenant"
    " is refused, 403: the owner applies). 400 naming the field at fault (dates in the past"
    " or ending before the start, a window past the setting, a worker's ID number); 409 when"
    " the unit has a renovation open",
    body=RenovationIn,
    response=RenovationDetailOut,
    status=201,
    roles=APPLICANTS,
    errors=(403, 404, 409),
    tags=TAGS,
)
def create_renovation(body):
    """Submit a renovation application (ZX…)."""
    data = body.model_dump()
    data["drawings"] = [_file(n, d) for n, d in enumerate(data["drawings"])]
    renovation = services.submit_renovation(current_user, **data)
    db.session.commit()
    return renovation_detail(renovation)


@route(
    bp,
    "/renovations",
    summary="Renovations the caller may see (a resident: their units'), newest first",
    query=RenovationQuery,
    response=RenovationPage,
    roles=EVERYONE,
    tags=TAGS,
)
def list_renovations(query):
    """List renovations with filters."""
    stmt = services.list_for(current_user, status=query.status, unit_id=query.unit_id)
    return page_of(stmt, query, renovation_out)


@route(
    bp,
    "/renovations/<int:renovation_id>",
    summary="One renovation with its worker passes, deposit, drawings and history",
    response=RenovationDetailOut,
    roles=EVERYONE,
    errors=(404,),
    tags=TAGS,
)
def get_renovation(renovation_id):
    """A renovation in the caller's scope."""
    return renovation_detail(get_or_404(Renovation, renovation_id))


@route(
    bp,
    "/renovations/<int:renovation_id>/<action>",
    method="POST",
    summary="Take an action: review {notes, required_changes?: [text]} (engineers,"
    " supervisor, manager); send-back {reason}; resubmit {any application field} (the"
    " owner or the desk, after a send-back); approve (supervisor or manager: bills the"
    " deposit and the debris fee, issues a worker pass per worker for the window, sets the"
    " occupancy renovating from the start day, tells the neighbours); reject {reason};"
    " cancel {reason?} before the approval; inspect {result: ok|violation, note,"
    " violation_type?, rectify_by?}; rectify {note}; postpone {ends_on, reason} (passes"
    " extended); suspend {reason} (passes revoked); resume (passes issued again);"
    " hidden-works {passed, note}; accept {passed, note, deductions: [{reason, amount}],"
    " refund_method?, occupancy?} (409 until the hidden works passed; passed: the passes"
    " end, the occupancy changes, the deposit is refunded less the deductions)",
    response=RenovationDetailOut,
    roles=EVERYONE,
    errors=(403, 404, 409),
    tags=TAGS,
)
def renovation_action(renovation_id, action):
    """Apply a workflow action; 409 names the actions the state allows."""
    renovation = get_or_404(Renovation, renovation_id)
    services.act(renovation, action, actor=current_user, data=action_data())
    db.session.commit()
    return renovation_detail(renovation)
