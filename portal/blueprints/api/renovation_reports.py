"""API: the renovation figures the annual summary uses (issue 16, point 7): renovations
registered in a period, in progress and overdue now, violations per contractor in the
period, and the renovation deposits held now, refunded and deducted in the period.
Three statements whatever the data."""

from datetime import date

from flask_login import current_user
from pydantic import BaseModel, Field, create_model
from sqlalchemy import and_, case, func, select

from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.fee_reports import ESTATE
from portal.blueprints.api.reports import _PeriodQuery
from portal.blueprints.api.spec import route
from portal.blueprints.fees.ledger.bills import is_deposit
from portal.blueprints.fees.models import Allocation, Bill, DepositRefund
from portal.blueprints.renovation.models import WORKS, Renovation
from portal.blueprints.reports.periods import period_bounds
from portal.core import clock
from portal.core.access import READERS, acting_estate
from portal.core.money import yuan
from portal.core.workflow import TicketEvent
from portal.extensions import db

RenovationReportQuery = create_model(
    "RenovationReportQuery",
    __base__=_PeriodQuery,
    **{
        "from": (date, Field(description="First day, YYYY-MM-DD")),
        "to": (date, Field(description="Last day, inclusive; 366 days at most")),
        "estate": ESTATE,
    },
)
DEPOSIT_KEYS = "renovation:%:deposit"  # effects.source_key(renovation, "deposit")


def renovation_figures(estate, start: date, end: date) -> dict:
    """The renovation part of the annual summary: renovations registered in the period
    (by when they were made), in progress now (approved or suspended, not yet accepted),
    overdue now (in works past their end day), the violations found by patrol inspections
    in the period per contractor, and the renovation deposits held now (paid in, not yet
    settled) and refunded or deducted on a day of the period, in fen. Three statements."""
    since, until = period_bounds(start, end, estate.timezone)
    today = clock.local_today(estate.timezone)
    works = Renovation.status.in_([s.value for s in WORKS])
    registered, in_progress, overdue = db.session.execute(
        select(
            func.coalesce(
                func.sum(
                    case(
                        (and_(Renovation.created_at >= since, Renovation.created_at < until), 1),
                        else_=0,
                    )
                ),
                0,
            ),
            func.coalesce(func.sum(case((works, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(works, Renovation.ends_on < today), 1), else_=0)), 0),
        ).where(Renovation.estate_id == estate.id)
    ).one()
    violations = db.session.execute(
        select(Renovation.contractor, func.count(TicketEvent.id))
        .join(
            TicketEvent,
            and_(
                TicketEvent.kind == Renovation.__workflow__, TicketEvent.ticket_id == Renovation.id
            ),
        )
        .where(
            Renovation.estate_id == estate.id,
            TicketEvent.action == "inspect",
            TicketEvent.data["result"].as_string() == "violation",
            TicketEvent.at >= since,
            TicketEvent.at < until,
        )
        .group_by(Renovation.contractor)
        .order_by(func.count(TicketEvent.id).desc(), Renovation.contractor)
    ).all()
    refunds = DepositRefund.estate_id == estate.id, DepositRefund.source_key.like(DEPOSIT_KEYS)
    in_period = and_(DepositRefund.refunded_on >= start, DepositRefund.refunded_on <= end)
    paid_in = (
        select(func.coalesce(func.sum(Allocation.amount_fen), 0))
        .join(Bill, Bill.id == Allocation.bill_id)
        .where(Bill.estate_id == estate.id, Bill.source_key.like(DEPOSIT_KEYS), is_deposit())
        .scalar_subquery()
    )
    settled, refunded, deducted, paid = db.session.execute(
        select(
            func.coalesce(func.sum(DepositRefund.paid_fen), 0),
            func.coalesce(func.sum(case((in_period, DepositRefund.refunded_fen), else_=0)), 0),
            func.coalesce(func.sum(case((in_period, DepositRefund.deducted_fen), else_=0)), 0),
            paid_in,
        ).where(*refunds)
    ).one()
    return {
        "registered": int(registered),
        "in_progress": int(in_progress),
        "overdue": int(overdue),
        "violations_by_contractor": [
            {"contractor": c, "violations": int(n)} for c, n in violations
        ],
        "deposits": {
            "held": int(paid) - int(settled),
            "refunded": int(refunded),
            "deducted": int(deducted),
        },
    }


class ContractorViolations(BaseModel):
    contractor: str
    violations: int


class RenovationDeposits(BaseModel):
    held: str = Field(description="Paid in for renovation deposits and not settled, now")
    refunded: str = Field(description="Paid back at refunds made in the period")
    deducted: str = Field(description="Kept as deductions at refunds made in the period")


class RenovationReportOut(BaseModel):
    estate: int
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    registered: int = Field(description="Renovations registered in the period")
    in_progress: int = Field(description="Approved and not accepted, now")
    overdue: int = Field(description="In works past their end day, now")
    violations_by_contractor: list[ContractorViolations] = Field(
        description="Violations found by patrol inspections in the period, per contractor"
    )
    deposits: RenovationDeposits = Field(description='Money as yuan strings, e.g. "1234.50"')


@route(
    bp,
    "/reports/renovations",
    summary="Renovations report: registered in [from, to], in progress and overdue now, "
    "violations per contractor, deposits held, refunded and deducted (the annual summary's "
    "figures)",
    query=RenovationReportQuery,
    response=RenovationReportOut,
    roles=READERS,
    errors=(404,),
    tags=("reports",),
)
def renovation_report(query):
    """Renovations registered, in progress, overdue; violations per contractor; deposits."""
    estate = acting_estate(current_user, query.estate)
    figures = renovation_figures(estate, query.date_from, query.to)
    figures["deposits"] = {k: yuan(v) for k, v in figures["deposits"].items()}
    return RenovationReportOut.model_validate(
        {"estate": estate.id, "from": query.date_from, "to": query.to, **figures}
    )
