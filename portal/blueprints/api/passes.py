"""API: passes (contracts §8): issue, list, approve, revoke, print, and check at the gate."""

from datetime import date, datetime
from typing import Literal

from flask import jsonify
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.spec import route
from portal.blueprints.passes import rules, services
from portal.blueprints.passes.models import Pass, Result
from portal.blueprints.passes.printing import pass_pdf
from portal.core.access import DESK, GATE, RESIDENTS, get_or_404
from portal.core.downloads import pdf_response
from portal.core.inputs import Id
from portal.core.paging import paginate
from portal.core.places import Unit
from portal.core.units import labels_for
from portal.errors import api_error
from portal.extensions import db
from portal.security import pass_check_limit

KindCode = Literal["goods", "visitor", "worker"]
StatusCode = Literal["pending", "active", "used", "revoked"]


class PassItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=rules.MAX_NAME)
    quantity: int = Field(1, ge=1, le=rules.MAX_QUANTITY)


class PassPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=rules.MAX_NAME)
    id_number: str | None = Field(None, max_length=rules.MAX_ID_NUMBER)
    phone: str | None = Field(None, max_length=32)


class PassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: KindCode
    unit_id: Id
    valid_from: datetime = Field(description="ISO 8601 with offset")
    valid_until: datetime = Field(description="ISO 8601 with offset; after valid_from")
    items: list[PassItem] = Field([], max_length=rules.MAX_ITEMS, description="Goods")
    people: list[PassPerson] = Field(
        [], max_length=rules.MAX_PEOPLE, description="Visitors, workers"
    )
    plate: str | None = Field(None, max_length=rules.MAX_PLATE)


class PassOut(BaseModel):
    id: int
    code: str
    number: str
    kind: str
    status: str
    valid_from: datetime
    valid_until: datetime
    in_window: bool
    unit_id: int
    unit: str
    items: list[dict]
    people: list[dict]
    plate: str | None
    requested_by_id: int
    approved_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None
    source_kind: str | None
    source_id: int | None
    created_at: datetime


class PassPage(s.Page[PassOut]):
    """A page of passes."""


class PassQuery(s.PageQuery):
    kind: KindCode | None = None
    status: StatusCode | None = None
    unit_id: Id | None = None
    day: date | None = Field(None, description="Passes whose window touches this day")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=rules.MAX_REASON)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(
        min_length=1, max_length=200, description="The pass's code (its QR) or its number"
    )


class GatePassOut(BaseModel):
    """A pass as the gate sees it: what to compare with the people and goods at the gate,
    without its code, phones or the last four characters of an ID number."""

    id: int
    number: str
    kind: str
    status: str
    valid_from: datetime
    valid_until: datetime
    in_window: bool
    unit_id: int
    unit: str
    items: list[dict]
    people: list[dict]
    plate: str | None
    used_at: datetime | None


class CheckOut(BaseModel):
    valid: bool
    result: str
    pass_: GatePassOut = Field(serialization_alias="pass")


def gate_out(pass_: Pass) -> GatePassOut:
    """What the check answers of a pass (the check page shows the same)."""
    people = [
        {"name": p.get("name"), "id_number_tail": (p.get("id_number") or "")[-4:] or None}
        for p in pass_.people or []
    ]
    return GatePassOut(
        id=pass_.id,
        number=pass_.number,
        kind=pass_.kind,
        status=pass_.status,
        valid_from=pass_.valid_from,
        valid_until=pass_.valid_until,
        in_window=pass_.in_window,
        unit_id=pass_.unit_id,
        unit=pass_.unit.label,
        items=pass_.items or [],
        people=people,
        plate=pass_.plate,
        used_at=pass_.used_at,
    )


def pass_out(pass_: Pass, labels=None) -> PassOut:
    labels = labels if labels is not None else {}
    return PassOut(
        id=pass_.id,
        code=pass_.code,
        number=pass_.number,
        kind=pass_.kind,
        status=pass_.status,
        valid_from=pass_.valid_from,
        valid_until=pass_.valid_until,
        in_window=pass_.in_window,
        unit_id=pass_.unit_id,
        unit=labels.get(pass_.unit_id) or pass_.unit.label,
        items=pass_.items or [],
        people=pass_.people or [],
        plate=pass_.plate,
        requested_by_id=pass_.requested_by_id,
        approved_at=pass_.approved_at,
        used_at=pass_.used_at,
        revoked_at=pass_.revoked_at,
        revoke_reason=pass_.revoke_reason,
        source_kind=pass_.source_kind,
        source_id=pass_.source_id,
        created_at=pass_.created_at,
    )


@route(
    bp,
    "/passes",
    method="POST",
    summary="Issue a pass (desk) or ask for a goods or visitor pass for one's own unit",
    body=PassIn,
    response=PassOut,
    status=201,
    roles=RESIDENTS | DESK,
    errors=(403, 404),
    tags=("passes",),
)
def create_pass(body):
    """A tenant's goods pass answers `pending` until the owner or the desk approves it."""
    unit = get_or_404(Unit, body.unit_id)
    pass_ = services.issue_pass(
        kind=body.kind,
        unit=unit,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        actor=current_user,
        items=[i.model_dump() for i in body.items],
        people=[p.model_dump(exclude_none=True) for p in body.people],
        plate=body.plate,
    )
    db.session.commit()
    return pass_out(pass_)


@route(
    bp,
    "/passes",
    summary="Passes the caller may see, newest first",
    query=PassQuery,
    response=PassPage,
    roles=RESIDENTS | DESK,
    tags=("passes",),
)
def list_passes(query):
    """A resident's units' passes; the desk's estate's, with filters."""
    stmt = services.passes_for(
        current_user,
        kind=query.kind,
        status=query.status,
        unit_id=query.unit_id,
        day=query.day,
        tz=_tz(),
    )
    page = paginate(stmt, page=query.page, per_page=query.per_page)
    labels = labels_for({p.unit_id for p in page.items}) if page.items else {}
    return {
        "items": [pass_out(p, labels).model_dump(mode="json") for p in page.items],
        "page": query.page,
        "per_page": query.per_page,
        "total": page.total,
    }


def _tz() -> str:
    estate = current_user.estate
    return estate.timezone if estate is not None else "Asia/Shanghai"


def _load(pass_id) -> Pass:
    return get_or_404(Pass, pass_id)


@route(
    bp,
    "/passes/<int:pass_id>",
    summary="One pass",
    response=PassOut,
    roles=RESIDENTS | DESK,
    errors=(404,),
    tags=("passes",),
)
def get_pass(pass_id):
    """A pass of the caller's units or estate."""
    return pass_out(_load(pass_id))


@route(
    bp,
    "/passes/<int:pass_id>/approve",
    method="POST",
    summary="Approve a tenant's goods pass (the unit's owner or the desk)",
    response=PassOut,
    roles=RESIDENTS | DESK,
    errors=(403, 404, 409),
    tags=("passes",),
)
def approve_pass(pass_id):
    """pending → active."""
    pass_ = services.approve_pass(_load(pass_id), actor=current_user)
    db.session.commit()
    return pass_out(pass_)


@route(
    bp,
    "/passes/<int:pass_id>/revoke",
    method="POST",
    summary="Revoke a pending or active pass, saying why",
    body=RevokeIn,
    response=PassOut,
    roles=RESIDENTS | DESK,
    errors=(403, 404, 409),
    tags=("passes",),
)
def revoke_pass(pass_id, body):
    """The gate refuses a revoked pass."""
    pass_ = services.revoke_pass(_load(pass_id), actor=current_user, reason=body.reason)
    db.session.commit()
    return pass_out(pass_)


@route(
    bp,
    "/passes/check",
    method="POST",
    summary="Check a pass at the gate by its code or number (every check is logged)",
    body=CheckIn,
    response=CheckOut,
    roles=GATE,
    errors=(404, 409, 429),
    tags=("passes",),
)
@pass_check_limit
def check_pass(body):
    """200 `{valid: true, pass}` inside its window; 409 used, outside its window, pending or
    revoked (`error.fields.code` says which; `pass` is there too); 404 unknown."""
    result, pass_ = services.check_pass(body.code, actor=current_user)
    db.session.commit()  # the check is logged whatever it found
    if result == Result.valid:
        return CheckOut(valid=True, result=result.value, pass_=gate_out(pass_))
    if pass_ is None:
        return api_error(404, Result.unknown.label, {"code": Result.unknown.value})
    response, status = api_error(409, result.label, {"code": result.value})
    body = response.get_json()
    body.update(
        valid=False, result=result.value, **{"pass": gate_out(pass_).model_dump(mode="json")}
    )
    return jsonify(body), status


@route(
    bp,
    "/passes/<int:pass_id>.pdf",
    summary="A pass as a PDF, with the QR code of its code",
    roles=RESIDENTS | DESK,
    errors=(404,),
    tags=("passes",),
)
def get_pass_pdf(pass_id):
    """The printable pass (also what a resident shows at the gate)."""
    pass_ = _load(pass_id)
    return pdf_response(pass_pdf(pass_), f"{pass_.number}.pdf")
