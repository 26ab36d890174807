"""What the works' steps do: patrol inspections and their violations, rectification,
postponement (passes extended), suspension (passes revoked) and resumption (passes issued
again for the rest of the window), the hidden-works acceptance (隐蔽工程验收) and the
completion acceptance (竣工验收: passes end, occupancy changes, the deposit is refunded
through the ledger). The inspections and acceptances are the ticket's events (their input
kept word for word in the history); each runs inside the one workflow action."""

from flask_babel import lazy_gettext as _l

from portal.core import clock, settings
from portal.core.errors import ServiceError
from portal.core.money import parse_yuan
from portal.core.places import Occupancy, Unit
from portal.core.residents import change_occupancy
from portal.core.workflow import history
from portal.extensions import db

from .effects import _estate, issue_worker_passes, source_key
from .models import Renovation
from .rules import MAX_DAYS, invalid


def _today(renovation):
    return clock.local_today(_estate(renovation).timezone)


def works_record(renovation: Renovation) -> dict:
    """From the history (one query): the inspections, the open violations (oldest first),
    the hidden-works checks and whether one passed, the acceptance attempts."""
    inspections, open_violations, hidden, acceptances = [], [], [], []
    for event in history(renovation):
        data = event.data or {}
        if event.action == "inspect":
            row = {**data, "at": event.at, "by": event.actor_id}
            inspections.append(row)
            if data.get("result") == "violation":
                open_violations.append(row)
        elif event.action == "rectify" and open_violations:
            open_violations.pop(0)["rectified"] = data.get("note")
        elif event.action == "hidden-works":
            hidden.append({**data, "at": event.at, "by": event.actor_id})
        elif event.action == "accept":
            acceptances.append({**data, "at": event.at, "by": event.actor_id})
    return {
        "inspections": inspections,
        "open_violations": open_violations,
        "hidden_works": hidden,
        "hidden_works_passed": any(h.get("passed") for h in hidden),
        "acceptances": acceptances,
    }


def inspect(renovation: Renovation, data, actor) -> None:
    if data["result"] == "violation":
        if data.get("rectify_by") is None:
            raise invalid(_l("Give a date to rectify the violation by."), "rectify_by")
        if data["rectify_by"] < _today(renovation).isoformat():
            raise invalid(_l("The rectification date cannot be in the past."), "rectify_by")
    else:
        data["violation_type"] = None
        data["rectify_by"] = None


def no_open_violation(renovation: Renovation, actor):
    if not works_record(renovation)["open_violations"]:
        return _l("There is no open violation to rectify.")
    return None


def postpone(renovation: Renovation, data, actor) -> None:
    """A new end date within the setting's length; the live worker passes follow it."""
    from datetime import date

    from portal.blueprints.passes.services import extend_passes

    from .effects import window

    ends_on = date.fromisoformat(data["ends_on"])
    if ends_on <= renovation.ends_on:
        raise invalid(_l("The new end date must be after the present one."), "ends_on")
    days = settings.get(MAX_DAYS.key, renovation.estate_id)
    if (ends_on - renovation.starts_on).days + 1 > days:
        raise invalid(_l("The works may last at most %(n)d days.", n=days), "ends_on")
    data["previous_ends_on"] = renovation.ends_on.isoformat()
    renovation.ends_on = ends_on
    _start, end = window(renovation, _estate(renovation).timezone)
    data["passes_extended"] = extend_passes("renovation", renovation.id, end, actor=actor)


def suspend(renovation: Renovation, data, actor) -> None:
    from portal.blueprints.passes.services import revoke_passes

    data["passes_revoked"] = revoke_passes(
        "renovation", renovation.id, actor=actor, reason=data["reason"]
    )


def window_over(renovation: Renovation, actor):
    if renovation.ends_on < _today(renovation):
        return _l("The works' window has ended: postpone the end date first.")
    return None


def resume(renovation: Renovation, data, actor) -> None:
    """New worker passes for the rest of the window (from now)."""
    unit = db.session.get(Unit, renovation.unit_id)
    estate = _estate(renovation)
    data["passes"] = issue_worker_passes(renovation, unit, estate, actor, from_now=True)


def hidden_passed(renovation: Renovation, actor):
    if works_record(renovation)["hidden_works_passed"]:
        return _l("The hidden works have already passed.")
    return None


def hidden_not_passed(renovation: Renovation, actor):
    if not works_record(renovation)["hidden_works_passed"]:
        return _l("The hidden works must pass their acceptance first.")
    return None


def accept(renovation: Renovation, data, actor) -> None:
    """Passed: the deposit refunded less the deductions (the ledger's refusals pass
    through, nothing stored), the worker passes end, the occupancy changes from today."""
    if not data["passed"]:
        return
    from portal.blueprints.fees.refunds import refund_deposit
    from portal.blueprints.passes.services import revoke_passes

    try:
        occupancy = Occupancy(data.get("occupancy") or Occupancy.renovated_vacant)
    except ValueError:
        raise invalid(_l("Choose one of the options offered."), "occupancy") from None
    unit = db.session.get(Unit, renovation.unit_id)
    deductions = []
    for n, row in enumerate(data.get("deductions") or []):
        amount = parse_yuan(row["amount"], field=f"deductions.{n}.amount")
        deductions.append({"reason": row["reason"], "amount_fen": amount})
    refund = refund_deposit(
        unit,
        source_key(renovation, "deposit"),
        deductions=deductions,
        method=data.get("refund_method") or "cash",
        actor=actor,
    )
    data["refund"] = {"id": refund.id, "number": refund.number}
    data["passes_revoked"] = revoke_passes(
        "renovation",
        renovation.id,
        actor=actor,
        reason=str(_l("Renovation %(n)s accepted", n=renovation.number)),
    )
    renovation.occupancy_due_on = None
    today = _today(renovation)
    if unit.occupancy != occupancy:
        try:
            change_occupancy(unit, occupancy, max(today, unit.occupancy_since), actor=actor)
        except ServiceError as exc:
            raise type(exc)(
                exc.message, fields={"occupancy": str(exc.message)}, status=exc.status
            ) from None
    data["occupancy"] = occupancy.value


def accepted_target(renovation: Renovation, data):
    from .models import RenovationState

    return RenovationState.accepted if data["passed"] else None
