"""Renovation services: the only code that creates or changes a renovation application.

Services flush, never commit, and raise ServiceError naming the fields at fault; the
approval's effects (bills, passes, occupancy, notices) run inside the one workflow action.
"""

from datetime import date

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import clock, idempotency, uploads, workflow
from portal.core.access import visible
from portal.core.errors import Conflict, NotAllowed, ServiceError
from portal.core.people import Relation, Residency, User, current_residency_clause
from portal.core.places import Estate, Unit
from portal.extensions import db

from . import rules
from .models import OPEN_STATES, Renovation

DRAWING = "drawing"  # the upload purpose of a renovation's drawings


# ---- applying ----------------------------------------------------------------------------


def _unit_of(actor, unit_id) -> Unit:
    unit = None
    if isinstance(unit_id, int) and not isinstance(unit_id, bool):
        unit = db.session.scalar(select(Unit).where(Unit.id == unit_id, visible(Unit, actor)))
    if unit is None:
        raise ServiceError(
            _l("No such unit in your estate."), fields={"unit_id": "unknown"}, status=404
        )
    return unit


def relation_of(actor, unit_id: int) -> str | None:
    """How the actor holds the unit today (owner first), or None."""
    return db.session.scalar(
        select(Residency.relation)
        .where(
            Residency.user_id == actor.id,
            Residency.unit_id == unit_id,
            current_residency_clause(),
        )
        .order_by(Residency.relation != Relation.owner.value)
        .limit(1)
    )


def must_be_owner(actor, unit_id: int) -> None:
    """A resident acts on a renovation only as the unit's owner: a tenant's or family
    member's application needs the owner, who applies (here or at the desk)."""
    if actor.is_staff:
        return
    relation = relation_of(actor, unit_id)
    if relation is None:
        raise ServiceError(_l("There is nothing here."), fields={"unit_id": "unknown"}, status=404)
    if relation != Relation.owner.value:
        raise NotAllowed(
            _l(
                "Only the owner of the unit may apply for a renovation. Ask the owner to"
                " apply here or at the service centre."
            ),
            fields={"unit_id": "not_owner"},
        )


def _owner_of(unit_id: int) -> int | None:
    return db.session.scalar(
        select(Residency.user_id)
        .where(
            Residency.unit_id == unit_id,
            Residency.relation == Relation.owner.value,
            current_residency_clause(),
        )
        .order_by(Residency.id)
        .limit(1)
    )


def _check(values: dict, estate: Estate) -> dict:
    """The application's fields, each checked (400 naming the first at fault)."""
    starts_on, ends_on = rules.check_window(
        values.get("starts_on"), values.get("ends_on"), estate.id, estate.timezone
    )
    return {
        "contractor": rules.clean_text(values.get("contractor"), "contractor", 200),
        "contractor_licence": rules.clean_text(
            values.get("contractor_licence"), "contractor_licence", 100, required=False
        ),
        "foreman": rules.clean_text(values.get("foreman"), "foreman", 100),
        "foreman_phone": rules.clean_phone(values.get("foreman_phone"), "foreman_phone"),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "scope": rules.clean_scope(values.get("scope")),
        "workers": rules.clean_workers(values.get("workers")),
    }


def submit_renovation(
    actor,
    *,
    unit_id,
    contractor,
    foreman,
    foreman_phone,
    starts_on,
    ends_on,
    scope,
    workers,
    contractor_licence=None,
    statement_signed=False,
    hours_accepted=False,
    drawings=(),
    idempotency_key=None,
) -> Renovation:
    """An owner applies for a renovation of their unit, or the desk registers one for the
    owner (ZX…). The owner ticks the liability statement and the working hours; the desk
    records that the owner signed them on paper. A second open renovation of the unit is a
    conflict (409). With a one-time key the same request again returns the first one."""
    unit = _unit_of(actor, unit_id)
    must_be_owner(actor, unit.id)
    estate = db.session.get(Estate, unit.estate_id)
    clean = _check(
        {
            "contractor": contractor,
            "contractor_licence": contractor_licence,
            "foreman": foreman,
            "foreman_phone": foreman_phone,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "scope": scope,
            "workers": workers,
        },
        estate,
    )
    if not actor.is_staff:
        if not hours_accepted:
            raise rules.invalid(_l("Accept the working hours to apply."), "hours_accepted")
        if not statement_signed:
            raise rules.invalid(
                _l("Sign the liability statement by ticking it."), "statement_signed"
            )
    checked = rules.check_drawings(drawings)
    with force_locale("zh_CN"):  # the record keeps the words as the owner signs them
        hours, statement = rules.hours_text(estate.id), str(rules.STATEMENT)
    renovation = Renovation(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        applicant_id=actor.id if not actor.is_staff else _owner_of(unit.id),
        hours_text=hours,
        statement_text=statement,
        statement_signed="paper" if actor.is_staff else "online",
        signed_at=clock.now(),
        **clean,
    )

    def make():
        open_one = db.session.scalar(
            select(Renovation.number).where(
                Renovation.unit_id == unit.id, Renovation.status.in_(list(OPEN_STATES))
            )
        )
        if open_one:
            raise Conflict(
                _l("This unit has a renovation open (%(n)s).", n=open_one),
                fields={"unit_id": "open"},
            )
        data = {
            "starts_on": clean["starts_on"].isoformat(),
            "ends_on": clean["ends_on"].isoformat(),
            "scope": clean["scope"],
            "workers": len(clean["workers"]),
        }
        # The kind registers when its workflow module is imported (init_app does).
        kind = workflow.WORKFLOWS[Renovation.__workflow__]
        made = workflow.open_ticket(kind, renovation, actor=actor, data=data)
        if checked:
            uploads.store(checked, entity=made, purpose=DRAWING, actor=actor)
        return made

    fingerprint = idempotency.digest(unit_id=unit.id, **clean)
    return idempotency.create_once(
        Renovation, renovation, idempotency.scoped(actor, idempotency_key), fingerprint, make
    )


def amend(renovation: Renovation, data: dict, *, actor) -> None:
    """The applicant's amendments after a send-back (the `resubmit` action's effect): the
    fields given replace the application's, checked as a new application's are."""
    estate = db.session.get(Estate, renovation.estate_id)
    current = {
        "contractor": renovation.contractor,
        "contractor_licence": renovation.contractor_licence,
        "foreman": renovation.foreman,
        "foreman_phone": renovation.foreman_phone,
        "starts_on": renovation.starts_on,
        "ends_on": renovation.ends_on,
        "scope": renovation.scope,
        "workers": renovation.workers,
    }
    given = {k: v for k, v in data.items() if k in current and v is not None}
    for key in ("starts_on", "ends_on"):
        if isinstance(given.get(key), str):
            given[key] = date.fromisoformat(given[key])
    clean = _check({**current, **given}, estate)
    for key, value in clean.items():
        setattr(renovation, key, value)
    renovation.returned_reason = None
    if "workers" in data:  # the history keeps how many, not the ID numbers
        data["workers"] = len(clean["workers"])


def act(renovation: Renovation, action: str, *, actor, data=None) -> Renovation:
    """Take a workflow action; a resident acts only as the unit's owner (403 otherwise)."""
    if not actor.is_staff:
        must_be_owner(actor, renovation.unit_id)
    return workflow.apply(renovation, action, actor=actor, data=data)


def add_drawings(renovation: Renovation, files, *, actor) -> list:
    """More drawings for an application not yet decided (checked by content)."""
    if renovation.status not in ("submitted", "returned"):
        raise Conflict(_l("Drawings are added before the review."), fields={"drawings": "state"})
    must_be_owner(actor, renovation.unit_id)
    checked = rules.check_drawings(files)
    return uploads.store(checked, entity=renovation, purpose=DRAWING, actor=actor)


# ---- reading -----------------------------------------------------------------------------


def list_for(actor, *, status=None, unit_id=None):
    """A SELECT of the renovations an actor may see, newest first."""
    stmt = select(Renovation).where(visible(Renovation, actor))
    if status:
        stmt = stmt.where(Renovation.status == status)
    if unit_id:
        stmt = stmt.where(Renovation.unit_id == unit_id)
    return stmt.order_by(Renovation.id.desc())


def passes_of(renovation: Renovation) -> list[dict]:
    """The worker passes the approval issued: {id, number, code, name, valid_from,
    valid_until, status}."""
    from portal.blueprints.passes.models import Pass

    rows = db.session.scalars(
        select(Pass)
        .where(Pass.source_kind == "renovation", Pass.source_id == renovation.id)
        .order_by(Pass.id)
    ).all()
    return [
        {
            "id": p.id,
            "number": p.number,
            "code": p.code,
            "name": (p.people or [{}])[0].get("name", ""),
            "valid_from": p.valid_from,
            "valid_until": p.valid_until,
            "status": p.status,
        }
        for p in rows
    ]


def deposit_of(renovation: Renovation) -> dict:
    """The deposit in fen: {billed, paid, deducted, refunded, held} (the ledger's figures
    for the bill keyed `renovation:{id}:deposit`)."""
    from portal.blueprints.fees import ledger

    return ledger.deposit_figures(renovation.unit_id, f"renovation:{renovation.id}:deposit")


def drawings_of(renovation: Renovation):
    return uploads.files_of(renovation, DRAWING)


def people_named(ids) -> dict[int, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def today_in(renovation: Renovation) -> date:
    return clock.local_today(db.session.get(Estate, renovation.estate_id).timezone)


def refund_of(renovation: Renovation):
    """The refund that settled the deposit at the acceptance, or None."""
    from portal.blueprints.fees.models import DepositRefund

    return db.session.scalar(
        select(DepositRefund).where(
            DepositRefund.unit_id == renovation.unit_id,
            DepositRefund.source_key == f"renovation:{renovation.id}:deposit",
        )
    )


def works_of(renovation: Renovation) -> dict:
    """Inspections, open violations, hidden works and acceptances (from the history)."""
    from .works import works_record

    return works_record(renovation)
