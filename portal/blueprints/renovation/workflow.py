"""Renovation (装修) on the shared workflow engine (contracts §9, domain.md §5).

submitted —review→ reviewed —approve→ approved; send-back (from submitted or reviewed) →
returned —resubmit (amended)→ submitted; reject from before approval → rejected; cancel
by the applicant (or the desk) before approval → cancelled. This module declares the kind
and its inputs; what each step does is in effects.py. The works after the approval
(inspections, hidden works, acceptance) join this declaration as the line grows.
"""

from datetime import date
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, model_validator

from portal.core.access import DESK, RESIDENTS, WORKERS
from portal.core.people import Role
from portal.core.workflow import Transition, Workflow, register

from . import effects, works
from .models import BEFORE_APPROVAL, OPEN_STATES, WORKS, Renovation, RenovationState

# The engineering review: the engineers (technicians), their supervisor and the manager.
REVIEWERS = WORKERS
# The approval: the supervisor (客服主管) or the centre manager, no one else.
APPROVERS = frozenset({Role.supervisor, Role.manager})
# The applicant: the owner (services check it is the unit's owner) or the desk for them.
APPLICANTS = DESK | RESIDENTS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Review(Strict):
    notes: str = Field(min_length=1, max_length=2000)
    required_changes: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20
    )

    @model_validator(mode="after")
    def tidy(self):
        self.notes = self.notes.strip()
        self.required_changes = [c.strip() for c in self.required_changes if c.strip()]
        return self


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=500)


class Cancel(Strict):
    reason: str | None = Field(None, max_length=500)


class Resubmit(Strict):
    """The amended application: any field of the application, the rest kept."""

    contractor: str | None = Field(None, max_length=200)
    contractor_licence: str | None = Field(None, max_length=100)
    foreman: str | None = Field(None, max_length=100)
    foreman_phone: str | None = Field(None, max_length=32)
    starts_on: date | None = None
    ends_on: date | None = None
    scope: list[Annotated[str, Field(max_length=30)]] | None = Field(None, max_length=10)
    workers: list[dict] | None = Field(None, max_length=30)
    note: str | None = Field(None, max_length=500)


class Inspect(Strict):
    result: Literal["ok", "violation"]
    note: str = Field(min_length=1, max_length=2000)
    violation_type: str | None = Field(None, max_length=100)
    rectify_by: date | None = None


class Note(Strict):
    note: str = Field(min_length=1, max_length=2000)


class Postpone(Strict):
    ends_on: date
    reason: str = Field(min_length=1, max_length=500)


class HiddenWorks(Strict):
    passed: bool
    note: str = Field(min_length=1, max_length=2000)


class Deduction(Strict):
    reason: str = Field(min_length=1, max_length=200)
    amount: str = Field(min_length=1, max_length=20)


class Accept(Strict):
    passed: bool
    note: str = Field(min_length=1, max_length=2000)
    deductions: list[Deduction] = Field(default_factory=list, max_length=20)
    refund_method: str | None = Field(None, max_length=20)
    occupancy: str | None = Field(None, max_length=30)


def _amend(renovation, data, actor):
    from .services import amend

    amend(renovation, data, actor=actor)


RENOVATION = register(
    Workflow(
        kind="renovation",
        model=Renovation,
        prefix="ZX",
        initial=RenovationState.submitted,
        open_states=OPEN_STATES,
    )
)
for _t in (
    Transition(
        "review",
        (RenovationState.submitted,),
        RenovationState.reviewed,
        REVIEWERS,
        Review,
        effects.review,
    ),
    Transition(
        "send-back",
        (RenovationState.submitted, RenovationState.reviewed),
        RenovationState.returned,
        REVIEWERS | APPROVERS,
        Reason,
        effects.send_back,
        notify=effects.tell_applicant,
    ),
    Transition(
        "resubmit",
        (RenovationState.returned,),
        RenovationState.submitted,
        APPLICANTS,
        Resubmit,
        _amend,
    ),
    Transition(
        "approve",
        (RenovationState.reviewed,),
        RenovationState.approved,
        APPROVERS,
        None,
        effects.approve,
        notify=effects.tell_applicant,
    ),
    Transition(
        "reject",
        BEFORE_APPROVAL,
        RenovationState.rejected,
        APPROVERS,
        Reason,
        effects.reject,
        notify=effects.tell_applicant,
    ),
    Transition("cancel", BEFORE_APPROVAL, RenovationState.cancelled, APPLICANTS, Cancel),
    # The works (point 3): patrols, violations and their rectification, the window moved,
    # the works stopped and resumed.
    Transition("inspect", WORKS, None, REVIEWERS, Inspect, works.inspect),
    Transition("rectify", WORKS, None, REVIEWERS, Note, guard=works.no_open_violation),
    Transition("postpone", WORKS, None, REVIEWERS | APPROVERS, Postpone, works.postpone),
    Transition(
        "suspend",
        (RenovationState.approved,),
        RenovationState.suspended,
        REVIEWERS | APPROVERS,
        Reason,
        works.suspend,
        notify=effects.tell_applicant,
    ),
    Transition(
        "resume",
        (RenovationState.suspended,),
        RenovationState.approved,
        REVIEWERS | APPROVERS,
        None,
        works.resume,
        guard=works.window_over,
    ),
    # Hidden works (point 4), any number of times until they pass.
    Transition(
        "hidden-works",
        (RenovationState.approved,),
        None,
        REVIEWERS,
        HiddenWorks,
        None,
        guard=works.hidden_passed,
    ),
    # Completion acceptance (point 5).
    Transition(
        "accept",
        (RenovationState.approved,),
        works.accepted_target,
        REVIEWERS,
        Accept,
        works.accept,
        notify=effects.tell_applicant,
        guard=works.hidden_not_passed,
    ),
):
    RENOVATION.add(_t)

STEP_LABELS = {
    "submit": _l("Application submitted"),
    "review": _l("Engineering review"),
    "send-back": _l("Sent back to amend"),
    "resubmit": _l("Amended and resubmitted"),
    "approve": _l("Approved"),
    "reject": _l("Rejected"),
    "cancel": _l("Cancelled"),
    "inspect": _l("Patrol inspection"),
    "rectify": _l("Violation rectified"),
    "postpone": _l("Works postponed"),
    "suspend": _l("Works suspended"),
    "resume": _l("Works resumed"),
    "hidden-works": _l("Hidden-works acceptance"),
    "accept": _l("Completion acceptance"),
}
