"""API resources: auth, me, units, staff and the OpenAPI document."""

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import Unauthorized, openapi_document, route
from portal.blueprints.api.tickets import user_ref
from portal.blueprints.auth import services as auth_services
from portal.blueprints.auth.activation import code_request_limits
from portal.core import accounts, codes, staff_accounts
from portal.core import second_factor as two_step
from portal.core import units as unit_service
from portal.core.access import STAFF, get_or_404
from portal.core.errors import NotAllowed, ServiceError
from portal.core.people import Role, StaffRole, User
from portal.core.places import Building, Unit
from portal.core.tokens import issue_token, revoke_token
from portal.extensions import db
from portal.security import sign_in_limits


def unit_out(unit: Unit, cls=s.UnitOut, **extra):
    zone = unit.building.zone
    return cls(
        id=unit.id,
        estate_id=unit.estate_id,
        zone=s.NamedRef(id=zone.id, name=zone.name),
        building=s.NamedRef(id=unit.building.id, name=unit.building.name),
        number=unit.number,
        label=unit.label,
        kind=unit.kind,
        area_m2=f"{unit.area_m2:.2f}",
        occupancy=unit.occupancy,
        occupancy_label=str(unit.occupancy_enum.label),
        occupancy_since=unit.occupancy_since,
        **extra,
    )


@route(
    bp,
    "/auth/token",
    method="POST",
    summary="Exchange a username (or phone) and password for a bearer token",
    body=s.TokenRequest,
    response=s.TokenOut,
    public=True,
    errors=(401, 403, 429),
    tags=("auth",),
)
@sign_in_limits("username", counts=lambda response: response.status_code != 200)
def create_token(body):
    """Issue a token for a correct username or phone and password; not for a password an
    administrator set (a reset): its owner chooses their own on the web first."""
    user = accounts.authenticate(body.username, body.password)
    if user is None:
        raise Unauthorized(_l("The username or password is wrong."))
    if staff_accounts.must_change_password(user):
        raise NotAllowed(
            _l("An administrator set this password: sign in on the web and choose your own."),
            fields={"password": "must_change"},
        )
    two_step.check_for_token(user, body.otp)
    token, row = issue_token(user)
    db.session.commit()
    return s.TokenOut(token=token, expires_at=row.expires_at, user=user_ref(user))


@route(
    bp,
    "/auth/codes",
    method="POST",
    summary="Send a one-time code by SMS to activate a resident's account or reset its password",
    body=s.CodeRequest,
    response=s.CodeSent,
    status=202,
    public=True,
    errors=(429,),
    tags=("auth",),
)
@code_request_limits("phone")
def send_account_code(body):
    """Send a code when the phone is on record for the purpose; the answer is the same
    whether or not it is, so that no one learns which numbers are known."""
    auth_services.request_code(body.phone, body.purpose)
    db.session.commit()
    return s.CodeSent(sent=True)


@route(
    bp,
    "/auth/activate",
    method="POST",
    summary="Activate a resident's account with the code from the SMS: a password and a token",
    body=s.CodeRedeem,
    response=s.TokenOut,
    public=True,
    errors=(429,),
    tags=("auth",),
)
@sign_in_limits("phone", counts=lambda response: response.status_code != 200)
def activate_account(body):
    """Set an imported resident's own password with an activation code; signs them in."""
    return _token_after(codes.activate, body)


@route(
    bp,
    "/auth/reset",
    method="POST",
    summary="Choose a new password with the code from the SMS; earlier sessions and tokens end",
    body=s.CodeRedeem,
    response=s.TokenOut,
    public=True,
    errors=(429,),
    tags=("auth",),
)
@sign_in_limits("phone", counts=lambda response: response.status_code != 200)
def reset_account_password(body):
    """Reset a forgotten password with a reset code; revokes every earlier session and token."""
    return _token_after(codes.reset_password, body)


def _token_after(redeem, body) -> s.TokenOut:
    """Redeem the code with the new password, then issue a token as POST /auth/token does."""
    try:
        user = redeem(body.phone, body.code, body.password)
    except ServiceError:
        db.session.commit()  # a wrong code's try counts; nothing else was written
        raise
    token, row = issue_token(user)
    db.session.commit()
    return s.TokenOut(token=token, expires_at=row.expires_at, user=user_ref(user))


@route(
    bp,
    "/auth/token",
    method="DELETE",
    summary="Revoke the token used for this call",
    response=s.Revoked,
    tags=("auth",),
)
def delete_token():
    """Revoke the bearer token of this request."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ServiceError(
            _l("Only a bearer token can be revoked here."), fields={"Authorization": "missing"}
        )
    revoked = revoke_token(header[len("Bearer ") :].strip())
    db.session.commit()
    return s.Revoked(revoked=revoked)


@route(
    bp,
    "/me",
    summary="The signed-in user, role, estate and (for a resident) units",
    response=s.MeOut,
    tags=("people",),
)
def me():
    """Who am I: user, role, estate and current units."""
    estate = current_user.estate
    units = []
    if not current_user.is_staff and current_user.current_unit_ids:
        units = db.session.scalars(
            select(Unit)
            .where(Unit.id.in_(current_user.current_unit_ids))
            .options(joinedload(Unit.building).joinedload(Building.zone))
            .order_by(Unit.id)
        ).all()
    return s.MeOut(
        user=user_ref(current_user),
        role=current_user.role.value,
        username=current_user.username,
        phone=current_user.phone,
        estate=s.NamedRef(id=estate.id, name=estate.name) if estate else None,
        units=[unit_out(u) for u in units],
    )


@route(
    bp,
    "/units",
    summary="Units of the caller's estate; q matches room number, resident name or phone",
    query=s.UnitQuery,
    response=s.UnitPage,
    roles=STAFF,
    tags=("units",),
)
def list_units(query):
    """Search units (staff): one statement for the page as rows, one cheap count."""
    filters = {"q": query.q, "zone_id": query.zone, "building_id": query.building}
    stmt = unit_service.search_rows(current_user, **filters)
    rows = db.session.execute(
        stmt.limit(query.per_page).offset((query.page - 1) * query.per_page)
    ).all()
    total = unit_service.count_units(current_user, **filters)  # on units alone, indexed
    occupancy_labels = unit_service.label_tables()["occupancy"]
    return {
        "items": [unit_row_out(row, occupancy_labels) for row in rows],
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
    }


def unit_row_out(row, occupancy_labels: dict[str, str]) -> dict:
    """A `search_rows` row in the shape of UnitOut (the same JSON as `unit_out`)."""
    return {
        "id": row.id,
        "estate_id": row.estate_id,
        "zone": {"id": row.zone_id, "name": row.zone_name},
        "building": {"id": row.building_id, "name": row.building_name},
        "number": row.number,
        "label": unit_service.unit_label(row),
        "kind": row.kind,
        "area_m2": f"{row.area_m2:.2f}",
        "occupancy": row.occupancy,
        "occupancy_label": occupancy_labels[row.occupancy],
        "occupancy_since": row.occupancy_since.isoformat(),
    }


@route(
    bp,
    "/units/<int:unit_id>",
    summary="One unit with its residents",
    response=s.UnitDetailOut,
    errors=(404,),
    tags=("units",),
)
def get_unit(unit_id):
    """A unit in the caller's scope, with its current residents."""
    unit = get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])
    staff = current_user.is_staff
    residents = [
        s.ResidentOut(
            id=r.user.id,
            name=r.user.name,
            phone=r.user.phone if staff else None,
            relation=r.relation,
            start_on=r.start_on,
            end_on=r.end_on,
        )
        for r in unit_service.residents_of([unit.id])
    ]
    return unit_out(unit, s.UnitDetailOut, residents=residents)


@route(
    bp,
    "/staff",
    summary="Staff of the caller's estate, optionally of one role",
    query=s.StaffQuery,
    response=s.StaffPage,
    roles=STAFF,
    tags=("people",),
)
def list_staff(query):
    """Staff in the caller's estate (company-wide callers: the whole company)."""
    stmt = (
        select(User)
        .join(StaffRole, StaffRole.user_id == User.id)
        .where(User.is_active)
        .order_by(User.name, User.id)
    )
    if current_user.is_company_wide:
        stmt = stmt.where(StaffRole.company_id == current_user.staff_role.company_id)
    else:
        stmt = stmt.where(StaffRole.estate_id == current_user.estate_id)
    if query.role:
        try:
            stmt = stmt.where(StaffRole.role == Role(query.role))
        except ValueError:
            raise ServiceError(_l("Unknown role."), fields={"role": "unknown"}) from None
    return page_of(stmt, query, staff_out)


def staff_out(user: User) -> s.StaffOut:
    role = user.staff_role
    return s.StaffOut(
        id=user.id, name=user.name, role=role.role, phone=user.phone, estate_id=role.estate_id
    )


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3 document, generated from the declared endpoints."""
    return jsonify(openapi_document(bp.url_prefix or "/api/v1"))
