"""What every ticket page shares: reading an action's form, drawing it from the action's
schema, and answering a refused action with the page again (input kept, messages beside
the fields)."""

import types
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Union, get_args, get_origin

import annotated_types as at
from flask import abort, current_app, flash, g, make_response, request
from flask_wtf import FlaskForm
from pydantic_core import PydanticUndefined
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from portal.core import uploads
from portal.core.errors import ServiceError
from portal.core.workflow import InvalidInput, workflow_of

# A text longer than this gets a text area rather than a one-line input.
ONE_LINE = 1000


class ActionForm(FlaskForm):
    """Carries the CSRF token of every action button; `fields` draws an action's form."""

    def fields(self, ticket, action, *, labels, choices=None, fixed=None, only=None, photos=None):
        """The form of `action` on `ticket`, drawn from its transition's schema: a field per
        schema field (limits from its constraints), labelled by the page. `choices` gives
        the options of a field (value → label, or pairs), `fixed` the hidden values of a
        form that stands for one answer (e.g. valid=true), `only` the fields it shows,
        `photos` the upload purpose of a photo field. After a refusal of this action the
        form holds what was typed, and each field its message."""
        schema = workflow_of(ticket).transitions[action].schema
        fixed = {k: str(v) for k, v in (fixed or {}).items()}
        used = self.__dict__.setdefault("_ids", set())

        class Form(FlaskForm):
            pass

        model_fields = schema.model_fields if schema else {}
        for name, info in model_fields.items():
            if only is not None and name not in only and name not in fixed:
                continue
            ident = name if name not in used else f"{action}-{name}"
            used.add(ident)
            label, options = labels.get(name, name), (choices or {}).get(name)
            setattr(Form, name, _field_for(name, info, label, options, fixed, ident))
        if photos:
            room = max(uploads.MAX_PHOTOS - uploads.count_of(ticket, photos), 0)
            Form.photos = _photo_field(labels.get("photos", "photos"), room)
        refusal = g.get("action_refusal")
        ours = (
            refusal is not None
            and refusal.action == action
            and all(request.form.get(k) == v for k, v in fixed.items())
        )
        form = Form(formdata=request.form if ours else None)
        form.action, form.multipart = action, bool(photos)
        if ours:
            for name, message in refusal.errors.items():
                if name in form and name != "csrf_token":
                    form[name].errors = [message]
                else:
                    form.form_errors.append(message)
        return form


def _plain(annotation):
    """`X | None` → X."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _limits(info) -> dict:
    """The schema's constraints as HTML attributes (maxlength, minlength, min, max)."""
    html = {}
    for rule in info.metadata:
        if isinstance(rule, at.MaxLen):
            html["maxlength"] = rule.max_length
        elif isinstance(rule, at.MinLen) and rule.min_length > 1:
            html["minlength"] = rule.min_length
        elif isinstance(rule, at.Ge):
            html["min"] = rule.ge
        elif isinstance(rule, at.Gt):
            html["min"] = rule.gt + 1 if isinstance(rule.gt, int) else rule.gt
        elif isinstance(rule, at.Le):
            html["max"] = rule.le
        elif isinstance(rule, at.Lt):
            html["max"] = rule.lt - 1 if isinstance(rule.lt, int) else rule.lt
    return html


def _field_for(name, info, label, choices, fixed, ident):
    """One WTForms field for a schema field (unbound: the form class holds it)."""
    if name in fixed:
        return HiddenField(default=fixed[name], id=ident)
    kind = _plain(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    html = {**_limits(info), **extra.get("html", {})}
    if info.is_required():
        html["required"] = True
    default = None if info.default is PydanticUndefined else info.default
    if choices is None and get_origin(kind) is Literal:
        choices = [(value, value) for value in get_args(kind)]
    if choices is not None:
        options = [SelectChoice(str(v), str(text)) for v, text in dict(choices).items()]
        asked = {"required": True} if info.is_required() else {}
        if info.is_required() and get_origin(kind) is Literal:
            # Nothing preset: the person says which.
            return RadioField(label, choices=options, id=ident, render_kw=asked)
        return SelectField(label, choices=options, default=default, id=ident, render_kw=asked)
    if kind is int and extra.get("widget") == "stars":
        stars = [SelectChoice(str(n), str(n)) for n in range(html["max"], html["min"] - 1, -1)]
        html["data-widget"] = "stars"
        return RadioField(label, choices=stars, id=ident, render_kw=html)
    if kind is int:
        return IntegerField(label, id=ident, render_kw=html)
    if kind is bool:
        return BooleanField(label, id=ident, default=default)
    if kind is datetime:
        return DateTimeLocalField(label, id=ident, render_kw=html)
    if html.get("maxlength", 0) > ONE_LINE:
        return TextAreaField(label, id=ident, render_kw={"rows": 3, **html})
    return StringField(label, id=ident, render_kw=html)


def _photo_field(label, room: int):
    """The photos of an action: at most `room` more, checked in the browser before sending."""
    return MultipleFileField(
        label,
        render_kw={"accept": "image/*", "multiple": True, "data-max-count": room},
    )


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


@dataclass
class Refusal:
    """An action refused for its input: which, and each field's message."""

    action: str
    errors: dict = field(default_factory=dict)


def flash_refusal(exc: ServiceError) -> None:
    """Tell the user why the action was refused. Input at fault answers with the ticket's
    page again (400, or 413 for a photo too large): the form keeps what was typed and shows
    each field's message beside it. Anything else (role, state) is flashed; the caller
    redirects."""
    fields = {k: v for k, v in exc.fields.items() if k != "allowed"}
    detail = current_app.view_functions.get(f"{request.blueprint}.detail")
    action = (request.view_args or {}).get("action")
    if fields and exc.status in (400, 413) and detail is not None and action:
        # A rule of the action's effect (not its schema) has one message: at the first field.
        errors = fields if isinstance(exc, InvalidInput) else {next(iter(fields)): exc.message}
        g.action_refusal = Refusal(action, {k: str(v) for k, v in errors.items()})
        flash(str(exc.message), "danger")
        args = {k: v for k, v in request.view_args.items() if k != "action"}
        response = make_response(detail(**args))
        response.status_code = exc.status
        abort(response)
    flash(str(exc.message), "danger")


def fill_intake_choices(form, actor, unit_id) -> None:
    """The unit and reporter choices of a new ticket's form: staff register for one unit's
    residents (or themselves); residents choose among their own units."""
    from flask_babel import gettext as _
    from wtforms.fields.choices import SelectChoice

    from portal.core.units import labels_for, residents_of

    if actor.is_staff:
        # A unit the person may not see (another estate's or zone's) stays a choice, so that
        # the service refuses it in words, but shows neither its place nor its residents.
        seen = unit_id
        if unit_id:
            from sqlalchemy import select

            from portal.core.access import visible
            from portal.core.places import Unit
            from portal.extensions import db

            seen = db.session.scalar(
                select(Unit.id).where(Unit.id == unit_id, visible(Unit, actor))
            )
        form.unit.choices = (
            [SelectChoice(unit_id, labels_for([seen]).get(seen, "") if seen else "")]
            if unit_id
            else []
        )
        form.reporter.choices = [SelectChoice(actor.id, _("Myself (staff)"))] + [
            SelectChoice(r.user.id, f"{r.user.name} · {r.relation_enum.label}")
            for r in (residents_of([seen]) if seen else [])
        ]
    else:
        form.unit.choices = [
            SelectChoice(uid, label) for uid, label in labels_for(actor.current_unit_ids).items()
        ]
