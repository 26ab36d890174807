"""The fee-collection report (收费率统计) and the arrears list (欠费账龄)."""

from flask import render_template, request
from flask_sqlalchemy.pagination import Pagination

from portal.core import clock
from portal.core.access import READERS, as_id, roles_required
from portal.core.downloads import pdf_response, xlsx_response
from portal.pdf import render_pdf

from .. import arrears as debts
from .. import fees as fee_report
from ..periods import requested_period
from .blueprint import bp
from .context import report_estate

ARREARS_PER_PAGE = 30
MAX_PAGE = 100_000


class KnownPage(Pagination):
    """A pager over items and a total already fetched by an aggregate query."""

    def _query_items(self):
        return self._query_args["items"]

    def _query_count(self):
        return self._query_args["total"]


def report_context() -> dict:
    """Everything the page, the .xlsx and the PDF show: the same figures for each."""
    estate, estates = report_estate()
    start, end = requested_period(estate, "month")
    zone_id = request.args.get("zone", type=as_id)
    figures = fee_report.fee_figures(estate.id, start, end, zone_id)
    zones = fee_report.zones_of(estate.id)
    query = {"from": start.isoformat(), "to": end.isoformat(), "zone": zone_id or ""}
    return {
        "estate": estate,
        "estates": estates,
        "start": start,
        "end": end,
        "zones": zones,
        "zone": next((z for z in zones if z.id == zone_id), None),
        "figures": figures,
        "headings": fee_report.headings(),
        "query": {**query, **({"estate": estate.id} if estates else {})},
    }


@bp.route("/fees")
@roles_required(READERS)
def fees():
    """The fee-collection report of bills due in a period, with a chart."""
    return render_template("reports/fees.html", **report_context())


@bp.route("/fees.xlsx")
@roles_required(READERS)
def fees_xlsx():
    """The fee-collection report as a spreadsheet."""
    c = report_context()
    zone = c["zone"].name if c["zone"] else ""
    data = fee_report.workbook(
        c["figures"], estate=c["estate"].name, start=c["start"], end=c["end"], zone=zone
    )
    return xlsx_response(data, f"fees-{c['start']}-{c['end']}.xlsx")


@bp.route("/fees.pdf")
@roles_required(READERS)
def fees_pdf():
    """The fee-collection report, printable."""
    c = report_context()
    return pdf_response(render_pdf("reports/fees.html", **c), f"fees-{c['start']}-{c['end']}.pdf")


def arrears_page(number: int, found: dict) -> KnownPage:
    return KnownPage(
        page=number,
        per_page=ARREARS_PER_PAGE,
        max_per_page=ARREARS_PER_PAGE,
        error_out=False,
        items=found["items"],
        total=found["total"],
    )


@bp.route("/arrears")
@roles_required(READERS)
def arrears():
    """The units that owe money today, by age of the debt, with filters."""
    estate, estates = report_estate()
    zone_id = request.args.get("zone", type=as_id)
    building_id = request.args.get("building", type=as_id)
    debts.check_place(estate.id, zone_id, building_id)
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    today = clock.local_today(estate.timezone)
    found = debts.arrears(
        estate.id, today, zone_id, building_id,
        limit=ARREARS_PER_PAGE, offset=(number - 1) * ARREARS_PER_PAGE,
    )  # fmt: skip
    return render_template(
        "reports/arrears.html",
        estate=estate,
        estates=estates,
        today=today,
        page=arrears_page(number, found),
        totals=found["totals"],
        buckets=[(name, debts.BUCKET_LABELS[name]) for name in debts.BUCKETS],
        zones=fee_report.zones_of(estate.id),
        buildings=debts.buildings_of(zone_id),
        zone_id=zone_id,
        building_id=building_id,
    )
