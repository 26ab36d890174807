"""Renovation (装修) on the shared workflow engine (contracts §9, domain.md §5).

submitted —review→ reviewed —approve→ approved; send-back (from submitted or reviewed) →
returned —resubmit (amended)→ submitted; reject from before approval → rejected; cancel
by the applicant (or the desk) before approval → cancelled. This module declares the kind
and its inputs; what each step does is in effects.py. The works after the approval
(inspections, hidden works, acceptance) join this declaration as the line grows.
"""

from datetime import date
from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, model_validator

from portal.core.access import DESK, RESIDENTS, WORKERS
from portal.core.people import Role
from portal.core.workflow import Transition, Workflow, register

from . import effects
from .models import BEFORE_APPROVAL, OPEN_STATES, Renovation, RenovationState

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
}
