"""The complaint loop on the shared engine (domain.md §2, contracts §5).

registered —assess→ accepted (valid) | closed (not valid, with a polite reply);
accepted —propose→ plan_proposed —approve→ in_progress (or —send-back→ accepted);
in_progress —resolve→ resolved —return-visit→ (dissatisfied: back to accepted) —close→ closed.
Inquiries and suggestions are answered and closed. Replies are due 48 h after registration;
a progress reply agrees the next reply time.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, model_validator

from portal.blueprints.complaints.models import (
    CATEGORY_LABELS,
    OPEN_STATES,
    Complaint,
    Kind,
    State,
)
from portal.core import clock, settings
from portal.core.access import DESK, READERS, RESIDENTS, SUPERVISORS, staff_of
from portal.core.errors import ServiceError
from portal.core.inputs import Id, Invalid
from portal.core.people import Role
from portal.core.places import Estate
from portal.core.visits import Dissatisfied, Visit, latest_result
from portal.core.workflow import Step, Transition, Workflow, register
from portal.extensions import db
from portal.notify.outbox import tell

REPLY_WITHIN = timedelta(hours=48)
settings.declare(
    "complaints.visit_due_hours",
    _l("Return visit after a complaint is resolved, within (hours)"),
    int,
    48,
    minimum=1,
    maximum=720,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assess(Strict):
    valid: bool
    department: str | None = Field(None, max_length=100)
    reply: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def needs(self):
        if self.valid and not (self.department or "").strip():
            raise Invalid(_l("Name the department responsible."), field="department")
        if not self.valid and not (self.reply or "").strip():
            raise Invalid(_l("Write the resident a polite reply."), field="reply")
        return self


class Investigate(Strict):
    cause: str = Field(min_length=1, max_length=2000)
    responsible: str | None = Field(None, max_length=100)


class Plan(Strict):
    plan: str = Field(min_length=1, max_length=2000)


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=500)


class Result(Strict):
    result: str = Field(min_length=1, max_length=2000)


class Reply(Strict):
    reply: str = Field(min_length=1, max_length=2000)


class ProgressReply(Strict):
    message: str = Field(min_length=1, max_length=2000)
    next_reply_at: datetime

    @model_validator(mode="after")
    def in_future(self):
        if self.next_reply_at.tzinfo is None:
            raise Invalid(_l("Give the next reply time with its time zone."), "next_reply_at")
        if self.next_reply_at <= clock.now():
            raise Invalid(_l("The next reply time must be in the future."), "next_reply_at")
        return self


class Respond(Strict):
    accepted: bool
    comment: str | None = Field(None, max_length=1000)


class HandOver(Strict):
    to_user_id: Id
    reason: str = Field(min_length=1, max_length=500)


def _tell_reporter(complaint, kind, subject, body):
    tell(
        complaint.reporter,
        kind=kind,
        estate=db.session.get(Estate, complaint.estate_id),
        unit_id=complaint.unit_id,
        render=lambda: (subject, body),
    )


def _replied(complaint):
    if complaint.first_reply_at is None:
        complaint.first_reply_at = clock.now()


def notify_registered(complaint):
    _tell_reporter(
        complaint,
        "complaint_registered",
        _l("We have received your %(what)s %(n)s", what=_kind_word(complaint), n=complaint.number),
        _l("We will reply within 48 hours."),
    )


def _kind_word(complaint):
    return {
        Kind.complaint: _l("complaint"),
        Kind.inquiry: _l("inquiry"),
        Kind.suggestion: _l("suggestion"),
    }[Kind(complaint.kind)]


# ---- effects -----------------------------------------------------------------------------


def _assess(c, data, actor):
    c.valid, c.department = data["valid"], data.get("department")
    if not data["valid"]:
        c.reply = data["reply"]
        _replied(c)
        _tell_reporter(c, "complaint_reply", _l("Reply to %(n)s", n=c.number), data["reply"])


def _investigate(c, data, actor):
    c.cause, c.responsible = data["cause"], data.get("responsible")


def _propose(c, data, actor):
    c.plan = data["plan"]
    for supervisor in staff_of(c.estate_id, Role.supervisor):
        tell(
            supervisor,
            kind="complaint_approval",
            estate=db.session.get(Estate, c.estate_id),
            render=lambda: (_l("A plan for %(n)s waits for approval", n=c.number), c.plan),
        )


def _resolve(c, data, actor):
    c.result = data["result"]
    _replied(c)
    _tell_reporter(
        c, "complaint_resolved", _l("%(n)s has been resolved", n=c.number), data["result"]
    )


def _answer(c, data, actor):
    c.reply = data["reply"]
    _replied(c)
    _tell_reporter(c, "complaint_reply", _l("Reply to %(n)s", n=c.number), data["reply"])


def _progress(c, data, actor):
    _replied(c)
    _tell_reporter(c, "complaint_progress", _l("Progress on %(n)s", n=c.number), data["message"])


def _respond(c, data, actor):
    c.resident_accepted = data["accepted"]


def _hand_over(c, data, actor):
    if not staff_of(c.estate_id, user_id=data["to_user_id"]):
        raise ServiceError(
            _l("Hand over to a staff member of this estate."), fields={"to_user_id": "unknown"}
        )
    c.owner_id = data["to_user_id"]


# ---- guards and targets -----------------------------------------------------------------


def _complaints_only(c, actor):
    return None if c.kind == Kind.complaint else _l("Inquiries and suggestions are answered.")


def _light_only(c, actor):
    return None if c.kind != Kind.complaint else _l("A complaint is assessed, not answered.")


def _visited(c, actor):
    if latest_result("complaint", c.id) in (None, "dissatisfied"):
        return _l("Make the return visit before closing the complaint.")
    return None


def _own_complaint(c, actor):
    if actor.id != c.reporter_id and not actor.is_staff:
        return _l("Only the person who complained can answer this.")
    if c.resident_accepted is not None:
        return _l("You have already answered.")
    return None


def _assessed_state(c, data):
    return State.accepted if data["valid"] else State.closed


def _reply_due(c, data):
    return datetime.fromisoformat(data["next_reply_at"])


def _escalate(*roles):
    def notify(complaint, step):
        for person in staff_of(complaint.estate_id, *roles):
            tell(
                person,
                kind=f"complaint_{step.name}",
                estate=db.session.get(Estate, complaint.estate_id),
                render=lambda: (
                    _l("Reply overdue: %(n)s", n=complaint.number),
                    complaint.content[:200],
                ),
            )

    return notify


COMPLAINT = register(
    Workflow(
        kind="complaint",
        model=Complaint,
        prefix="TS",
        initial=State.registered,
        open_states=OPEN_STATES,
        initial_due=lambda complaint: REPLY_WITHIN,
        received_notice=notify_registered,
        visit=Visit(
            (State.resolved,),
            READERS,
            "complaints.visit_due_hours",
            label=_l("Complaint"),
            endpoint="complaints.detail",
            category_labels=CATEGORY_LABELS,
        ),
        # Back into the loop: the department works on it again.
        on_dissatisfied=Dissatisfied(to=State.accepted),
        ladder=(
            Step("escalate_supervisor", timedelta(0), _escalate(Role.supervisor)),
            Step("escalate_manager", timedelta(hours=24), _escalate(Role.manager)),
        ),
    )
)
for _t in (
    Transition(
        "assess",
        (State.registered,),
        _assessed_state,
        DESK,
        Assess,
        _assess,
        guard=_complaints_only,
    ),
    Transition(
        "answer", (State.registered,), State.closed, DESK, Reply, _answer, guard=_light_only
    ),
    Transition("investigate", (State.accepted,), None, DESK, Investigate, _investigate),
    Transition("propose", (State.accepted,), State.plan_proposed, DESK, Plan, _propose),
    Transition("approve", (State.plan_proposed,), State.in_progress, SUPERVISORS),
    Transition("send-back", (State.plan_proposed,), State.accepted, SUPERVISORS, Reason),
    Transition("resolve", (State.in_progress,), State.resolved, DESK, Result, _resolve),
    Transition(
        "respond", (State.resolved,), None, RESIDENTS, Respond, _respond, guard=_own_complaint
    ),
    Transition("close", (State.resolved,), State.closed, DESK, guard=_visited),
    Transition(
        "progress-reply", tuple(OPEN_STATES), None, DESK, ProgressReply, _progress, due=_reply_due
    ),
    Transition(
        "hand-over", tuple(OPEN_STATES | {State.resolved}), None, DESK, HandOver, _hand_over
    ),
):
    COMPLAINT.add(_t)
