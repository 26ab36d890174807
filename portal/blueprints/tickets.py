"""What every ticket page shares: reading an action's form, reporting a refused action."""

from flask import abort, flash, request
from flask_wtf import FlaskForm

from portal.core.errors import ServiceError


class ActionForm(FlaskForm):
    """Carries the CSRF token of every action button; the fields are the action's own."""


def action_data(*, numbers=(), booleans=()) -> dict:
    """The posted fields of an action (CSRF checked), typed for the workflow's schema."""
    if not ActionForm().validate_on_submit():
        abort(400)
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "submit") and v}
    for key in numbers:
        if key in data and data[key].isdigit():
            data[key] = int(data[key])
    for key in booleans:
        if key in data:
            data[key] = data[key] in ("1", "true", "yes", "on")
    return data


def flash_refusal(exc: ServiceError) -> None:
    """Tell the user why the action was refused, with the fields at fault."""
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items() if k != "allowed")
    flash(f"{exc.message} {details}".strip(), "danger")


def fill_intake_choices(form, actor, unit_id) -> None:
    """The unit and reporter choices of a new ticket's form: staff register for one unit's
    residents (or themselves); residents choose among their own units."""
    from flask_babel import gettext as _
    from wtforms.fields.choices import SelectChoice

    from portal.core.units import labels_for, residents_of

    if actor.is_staff:
        form.unit.choices = (
            [SelectChoice(unit_id, labels_for([unit_id]).get(unit_id, ""))] if unit_id else []
        )
        form.reporter.choices = [SelectChoice(actor.id, _("Myself (staff)"))] + [
            SelectChoice(r.user.id, f"{r.user.name} · {r.relation_enum.label}")
            for r in (residents_of([unit_id]) if unit_id else [])
        ]
    else:
        form.unit.choices = [
            SelectChoice(uid, label) for uid, label in labels_for(actor.current_unit_ids).items()
        ]
