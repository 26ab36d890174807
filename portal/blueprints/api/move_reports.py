"""API: the moves figures the annual summary uses (issue 15): completed move-ins and
move-outs per month, the cards issued and the keys in custody. A small JSON endpoint now;
a page can read the same `move_figures` later."""

from datetime import date

from flask_login import current_user
from pydantic import BaseModel, Field, create_model
from sqlalchemy import extract, func, literal, select, union_all

from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.fee_reports import ESTATE
from portal.blueprints.api.reports import _PeriodQuery
from portal.blueprints.api.spec import route
from portal.blueprints.custody import services as custody
from portal.blueprints.moves.models import MoveIn, MoveInState, MoveOut, MoveOutState
from portal.blueprints.reports.periods import check_period
from portal.core.access import READERS, acting_estate
from portal.extensions import db

MoveReportQuery = create_model(
    "MoveReportQuery",
    __base__=_PeriodQuery,
    **{
        "from": (date, Field(description="First day of the moves, YYYY-MM-DD")),
        "to": (date, Field(description="Last day, inclusive; 366 days at most")),
        "estate": ESTATE,
    },
)


def months_between(start: date, end: date) -> list[str]:
    """'YYYY-MM' of every calendar month the period touches, in order."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def moves_per_month(estate_id: int, start: date, end: date) -> dict[str, dict[str, int]]:
    """Completed move-ins and move-outs of an estate by the month of their day (`move_on`,
    the day the household arrived or left) in [start, end]: 'YYYY-MM' → {move_ins,
    move_outs}, every month of the period listed, zeros included. One statement."""
    check_period(start, end)
    parts = []
    for kind, model, done in (
        ("move_ins", MoveIn, MoveInState.completed),
        ("move_outs", MoveOut, MoveOutState.completed),
    ):
        year = extract("year", model.move_on)
        month = extract("month", model.move_on)
        parts.append(
            select(
                literal(kind).label("kind"),
                year.label("year"),
                month.label("month"),
                func.count(model.id).label("n"),
            )
            .where(
                model.estate_id == estate_id,
                model.status == done.value,
                model.move_on >= start,
                model.move_on <= end,
            )
            .group_by(year, month)
        )
    figures = {m: {"move_ins": 0, "move_outs": 0} for m in months_between(start, end)}
    for kind, year, month, n in db.session.execute(union_all(*parts)):
        figures[f"{int(year):04d}-{int(month):02d}"][kind] = int(n)
    return figures


def move_figures(estate_id: int, start: date, end: date) -> dict:
    """The moves part of the annual summary: moves per month and in total, the cards issued
    in the period by kind, the key sets in custody now (lent, overdue). Two statements."""
    per_month = moves_per_month(estate_id, start, end)
    custody_figures = custody.figures(estate_id, start, end)
    cards = custody_figures["cards"]
    return {
        "months": [{"month": m, **counts} for m, counts in per_month.items()],
        "move_ins": sum(c["move_ins"] for c in per_month.values()),
        "move_outs": sum(c["move_outs"] for c in per_month.values()),
        "cards_issued": {"access": cards["access"], "parking": cards["parking"]},
        "keys": custody_figures["keys"],
    }


class MonthMoves(BaseModel):
    month: str = Field(description="YYYY-MM (by the day of the move)")
    move_ins: int
    move_outs: int


class CardsIssued(BaseModel):
    access: int
    parking: int


class KeysInCustody(BaseModel):
    in_custody: int = Field(description="Key sets the centre holds now (held or lent)")
    lent: int = Field(description="Of those, lent out now")
    overdue: int = Field(description="Of those, lent past their due time")


class MoveReportOut(BaseModel):
    estate: int
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    months: list[MonthMoves] = Field(
        description="Every month of the period, in order, months without moves as zeros"
    )
    move_ins: int = Field(description="Move-ins handed over with their day in the period")
    move_outs: int = Field(description="Move-outs completed with their day in the period")
    cards_issued: CardsIssued = Field(description="Cards issued in the period (replacements too)")
    keys: KeysInCustody = Field(description="Now, whatever the period")


@route(
    bp,
    "/reports/moves",
    summary="Moves report: move-ins and move-outs per month in [from, to], cards issued, keys "
    "in custody (the annual summary's figures)",
    query=MoveReportQuery,
    response=MoveReportOut,
    roles=READERS,
    errors=(404,),
    tags=("reports",),
)
def move_report(query):
    """Completed move-ins and move-outs per month of their day, cards issued by kind, and
    the key sets the centre holds now."""
    estate = acting_estate(current_user, query.estate)
    figures = move_figures(estate.id, query.date_from, query.to)
    return MoveReportOut.model_validate(
        {"estate": estate.id, "from": query.date_from, "to": query.to, **figures}
    )
