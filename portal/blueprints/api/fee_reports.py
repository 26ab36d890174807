"""API: the fee-collection report (contracts §6) and the arrears list."""

from datetime import date

from flask_login import current_user
from pydantic import BaseModel, Field, create_model

from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.reports import _PeriodQuery
from portal.blueprints.api.schemas import Id, Page, PageQuery
from portal.blueprints.api.spec import route
from portal.blueprints.reports import arrears, fees
from portal.core import clock
from portal.core.access import READERS, acting_estate
from portal.core.money import yuan

ESTATE = (
    Id | None,
    Field(
        None,
        description="One estate of the company (company-wide roles; by default the estate "
        "chosen in the header, else the company's first)",
    ),
)

FeeReportQuery = create_model(
    "FeeReportQuery",
    __base__=_PeriodQuery,
    **{
        "from": (date, Field(description="First due date, YYYY-MM-DD")),
        "to": (
            date,
            Field(description="Last due date, inclusive; payments count up to it; 366 days"),
        ),
        "zone": (Id | None, Field(None, description="Zone id: the report for one zone")),
        "estate": ESTATE,
    },
)


class FeeFigures(BaseModel):
    billed_households: int = Field(description="Units with at least one bill due in the period")
    paid_households: int = Field(description="Of those, units whose bills are all paid by `to`")
    collection_rate: float | None = Field(description="paid / billed households, 0..1")
    receivable: str = Field(description="Σ bill amounts after discounts, yuan")
    received: str = Field(description="Σ paid on those bills by `to`, yuan")
    arrears: str = Field(description="receivable - received, yuan")
    discounts: str = Field(description="Σ discounts on those bills, yuan")


class FeeOccupancyFigures(FeeFigures):
    occupancy: str
    label: str


class FeeZoneFigures(FeeFigures):
    zone: str


class FeeReportOut(BaseModel):
    totals: FeeFigures
    by_occupancy: list[FeeOccupancyFigures]
    by_zone: list[FeeZoneFigures]


def _money(row: dict) -> dict:
    return {**row, **{name: yuan(row[name]) for name in fees.MONEY}}


@route(
    bp,
    "/reports/fees",
    summary="Fee collection of bills due in [from, to], payments up to `to` (contracts §6)",
    query=FeeReportQuery,
    response=FeeReportOut,
    roles=READERS,
    errors=(404,),
    tags=("reports",),
)
def fee_report(query):
    """Households billed and paid, receivable, received, arrears and discounts."""
    estate = acting_estate(current_user, query.estate)
    figures = fees.fee_figures(estate.id, query.date_from, query.to, query.zone)
    return FeeReportOut(
        totals=FeeFigures(**_money(figures["totals"])),
        by_occupancy=[FeeOccupancyFigures(**_money(r)) for r in figures["by_occupancy"]],
        by_zone=[FeeZoneFigures(**_money(r)) for r in figures["by_zone"]],
    )


class ArrearsQuery(PageQuery):
    zone: Id | None = Field(None, description="Zone id")
    building: Id | None = Field(None, description="Building id")
    estate: Id | None = ESTATE[1]


class ArrearsOut(BaseModel):
    unit_id: int
    unit: str
    zone: str
    building: str
    owed: str = Field(description="What the unit owes today, yuan")
    not_due: str
    days_0_30: str
    days_31_90: str
    days_91_180: str
    over_180: str
    oldest_due: date = Field(description="The earliest due date of its open bills")
    credit: str = Field(description="Paid and not yet allocated, yuan")


class ArrearsTotals(BaseModel):
    owed: str
    not_due: str
    days_0_30: str
    days_31_90: str
    days_91_180: str
    over_180: str


class ArrearsPage(Page[ArrearsOut]):
    """A page of units in arrears, oldest debt first, with totals over every page."""

    totals: ArrearsTotals


@route(
    bp,
    "/arrears",
    summary="Units that owe money today, by age of the debt (staff)",
    query=ArrearsQuery,
    response=ArrearsPage,
    roles=READERS,
    errors=(404,),
    tags=("reports",),
)
def list_arrears(query):
    """What each unit owes today, in age buckets, oldest debt first."""
    estate = acting_estate(current_user, query.estate)
    arrears.check_place(estate.id, query.zone, query.building)
    found = arrears.arrears(
        estate.id,
        clock.local_today(estate.timezone),
        query.zone,
        query.building,
        limit=query.per_page,
        offset=(query.page - 1) * query.per_page,
    )
    money = ("owed", "credit", *arrears.BUCKETS)
    return ArrearsPage(
        items=[
            ArrearsOut(**{**item, **{name: yuan(item[name]) for name in money}})
            for item in found["items"]
        ],
        page=query.page,
        per_page=query.per_page,
        total=found["total"],
        totals=ArrearsTotals(**{name: yuan(fen) for name, fen in found["totals"].items()}),
    )
