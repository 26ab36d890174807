"""Move-ins and move-outs on the shared workflow engine (contracts §8, domain.md §4).

Move-in: submitted —check-documents→ documents_checked —inspect→ inspected —hand-over→
completed; cancel before that. Move-out: submitted —complete→ completed (the clearance
checklist first); cancel before that. This module declares the kinds and their inputs;
what each step does is in effects.py, what an estate sets in rules.py.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from portal.blueprints.moves import effects
from portal.blueprints.moves.models import (
    MOVE_IN_OPEN,
    MOVE_OUT_OPEN,
    Document,
    MoveIn,
    MoveInState,
    MoveOut,
    MoveOutState,
)
from portal.core.access import DESK
from portal.core.inputs import Invalid
from portal.core.places import Estate
from portal.core.workflow import Transition, Workflow, register
from portal.extensions import db

# ---- inputs ------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


DocumentCode = Literal[tuple(d.value for d in Document)]
MeterCode = Literal["water", "electricity", "gas"]
CardKindCode = Literal["access", "parking"]
MAX_READING = Decimal("9999999999.99")  # as custody keeps them


class CheckDocuments(Strict):
    documents: list[DocumentCode] = Field(max_length=len(Document))


class Inspect(Strict):
    result: Literal["ok", "defects"]
    defects: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=30
    )

    @model_validator(mode="after")
    def defects_named(self):
        self.defects = [d.strip() for d in self.defects if d.strip()]
        if self.result == "defects" and not self.defects:
            raise Invalid(_l("Name each defect found."), field="defects")
        if self.result == "ok" and self.defects:
            raise Invalid(_l("An inspection with defects has the result “defects”."), "result")
        return self


class Keys(Strict):
    count: int = Field(ge=0, le=100)
    label: str | None = Field(None, max_length=100)


class CardIn(Strict):
    number: str = Field(min_length=1, max_length=40)
    kind: CardKindCode

    @field_validator("number")
    @classmethod
    def plain(cls, value):
        value = value.strip().upper()
        if not value:
            raise Invalid(_l("This field is required."))
        return value


class ReadingIn(Strict):
    meter: MeterCode
    value: Decimal = Field(ge=0, le=MAX_READING, decimal_places=2)


def _unique(items, key, field, message):
    seen = [key(i) for i in items]
    if len(seen) != len(set(seen)):
        raise Invalid(message, field=field)


class HandOver(Strict):
    keys: Keys = Field(description="The keys handed over: {count, label?}, or just the count")
    cards: list[CardIn] = Field(default_factory=list, max_length=20)
    readings: list[ReadingIn] = Field(default_factory=list, max_length=3)

    @model_validator(mode="before")
    @classmethod
    def count_alone(cls, data):
        keys = data.get("keys") if isinstance(data, dict) else None
        if isinstance(keys, int | str) and not isinstance(keys, bool):
            data = {**data, "keys": {"count": keys}}
        return data

    @model_validator(mode="after")
    def distinct(self):
        _unique(self.cards, lambda c: c.number, "cards", _l("A card number is given twice."))
        _unique(self.readings, lambda r: r.meter, "readings", _l("A meter is read twice."))
        return self


class Complete(Strict):
    readings: list[ReadingIn] = Field(default_factory=list, max_length=3)
    cards_returned: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=50
    )
    keys_returned: bool = Field(False, description="The keys are back (true, or their count)")

    @field_validator("keys_returned", mode="before")
    @classmethod
    def count_of_keys(cls, value):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
            return value > 0
        return value

    @model_validator(mode="after")
    def distinct(self):
        self.cards_returned = list(dict.fromkeys(n.strip() for n in self.cards_returned))
        _unique(self.readings, lambda r: r.meter, "readings", _l("A meter is read twice."))
        return self


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=500)


# ---- due times ---------------------------------------------------------------------------


def due_on_the_day(ticket) -> timedelta:
    """Due at the end of the move's day in the estate (a day at least from registration)."""
    estate = db.session.get(Estate, ticket.estate_id)
    end = datetime.combine(
        ticket.move_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(estate.timezone)
    )
    return max(end - ticket.created_at, timedelta(days=1))


# ---- the kinds ---------------------------------------------------------------------------


MOVE_IN = register(
    Workflow(
        kind="move_in",
        model=MoveIn,
        prefix="RZ",
        initial=MoveInState.submitted,
        open_states=MOVE_IN_OPEN,
        initial_due=due_on_the_day,
    )
)
for _t in (
    Transition(
        "check-documents",
        (MoveInState.submitted,),
        MoveInState.documents_checked,
        DESK,
        CheckDocuments,
        effects.check_documents,
    ),
    Transition(
        "inspect",
        (MoveInState.documents_checked,),
        MoveInState.inspected,
        DESK,
        Inspect,
        effects.inspect_unit,
    ),
    Transition(
        "hand-over",
        (MoveInState.inspected,),
        MoveInState.completed,
        DESK,
        HandOver,
        effects.hand_over,
        notify=effects.welcome,
    ),
    Transition("cancel", tuple(MOVE_IN_OPEN), MoveInState.cancelled, DESK, Reason),
):
    MOVE_IN.add(_t)

MOVE_OUT = register(
    Workflow(
        kind="move_out",
        model=MoveOut,
        prefix="QC",
        initial=MoveOutState.submitted,
        open_states=MOVE_OUT_OPEN,
        initial_due=due_on_the_day,
    )
)
for _t in (
    Transition(
        "complete",
        (MoveOutState.submitted,),
        MoveOutState.completed,
        DESK,
        Complete,
        effects.complete_move_out,
    ),
    Transition("cancel", tuple(MOVE_OUT_OPEN), MoveOutState.cancelled, DESK, Reason),
):
    MOVE_OUT.add(_t)
