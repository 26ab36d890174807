"""API: reports (contracts §6) — the service report's repairs figures."""

from datetime import date

from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, create_model

from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.schemas import Id
from portal.blueprints.api.spec import route
from portal.blueprints.reports import service
from portal.core.access import READERS, acting_estate


class _PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @property
    def date_from(self) -> date:
        return getattr(self, "from")


# The parameter is called `from`, a Python keyword: the field is declared by name with
# create_model so that validation, the OpenAPI document (which names query parameters by
# field name) and the contract all say `from`; read it as `query.date_from`.
ServiceReportQuery = create_model(
    "ServiceReportQuery",
    __base__=_PeriodQuery,
    **{
        "from": (date, Field(description="First day (estate time), YYYY-MM-DD")),
        "to": (date, Field(description="Last day (estate time), inclusive; 366 days at most")),
        "estate": (
            Id | None,
            Field(
                None,
                description="One estate of the company (company-wide roles; by default the "
                "estate chosen in the header, else the company's first)",
            ),
        ),
    },
)


class RepairFigures(BaseModel):
    received: int
    completed: int = Field(description="Reached 'completed' at least once")
    handling_rate: float | None = Field(description="completed / received, 0..1")
    completed_on_time: int = Field(description="First completion at or before its due time")
    timeliness_rate: float | None = Field(description="completed_on_time / completed, 0..1")
    reopened: int = Field(description="Completed and reopened at least once (counted once)")
    rework_rate: float | None = Field(description="reopened / completed, 0..1")


class RepairCategoryFigures(RepairFigures):
    category: str
    label: str


class RepairsReport(BaseModel):
    totals: RepairFigures
    by_category: list[RepairCategoryFigures]


class ComplaintFigures(BaseModel):
    received: int
    closed: int
    handling_rate: float | None = Field(description="closed / received, 0..1")
    replied_on_time: int = Field(description="First reply within 48 h of registration")
    return_visits: int


class ComplaintCategoryFigures(ComplaintFigures):
    category: str
    label: str


class ComplaintsReport(BaseModel):
    totals: ComplaintFigures
    by_category: list[ComplaintCategoryFigures]


class ServiceReportOut(BaseModel):
    repairs: RepairsReport
    complaints: ComplaintsReport


@route(
    bp,
    "/reports/service",
    summary="Service report: repairs and complaints created in [from, to] (contracts §6)",
    query=ServiceReportQuery,
    response=ServiceReportOut,
    roles=READERS,
    errors=(404,),
    tags=("reports",),
)
def service_report(query):
    """Repairs received, completed, on time and reopened, per category and in total."""
    estate = acting_estate(current_user, query.estate)
    period = (current_user, estate, query.date_from, query.to)
    return ServiceReportOut(
        repairs=RepairsReport.model_validate(service.repairs_figures(*period)),
        complaints=ComplaintsReport.model_validate(service.complaints_figures(*period)),
    )
