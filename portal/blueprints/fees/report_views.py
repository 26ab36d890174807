"""The fee-collection report and the arrears list (pages)."""

import calendar
from datetime import date

from flask import abort, make_response, render_template, request
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from portal.blueprints.fees.views import bp
from portal.blueprints.reports import fees as fee_report
from portal.core import clock
from portal.core.access import estate_ids_for, roles_required
from portal.core.people import Role
from portal.core.places import Building, Estate, Zone
from portal.core.units import natural_key
from portal.extensions import db
from portal.pdf import render_pdf

REPORT_ROLES = (
    Role.frontdesk,
    Role.zone_butler,
    Role.supervisor,
    Role.manager,
    Role.inspector,
    Role.admin,
)
ARREARS_PER_PAGE = 30
MAX_PAGE = 100_000


class KnownPage(Pagination):
    """A pager over items and a total already fetched by an aggregate query."""

    def _query_items(self):
        return self._query_args["items"]

    def _query_count(self):
        return self._query_args["total"]


def report_estate() -> tuple[Estate, list[Estate]]:
    """The estate shown: the staff member's own, or for company-wide staff ?estate=
    (by default the company's first); with the estates they may choose from."""
    if current_user.estate_id:
        return current_user.estate, []
    estates = db.session.scalars(
        select(Estate).where(estate_ids_for(current_user)).order_by(Estate.name)
    ).all()
    wanted = request.args.get("estate", type=int)
    chosen = next((e for e in estates if wanted in (None, e.id)), None)
    if chosen is None:
        abort(404)
    return chosen, estates


def report_period() -> tuple[date, date]:
    """?from=&to= (default: this month), or 400 for a date that is no date."""
    today = clock.local_today()
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    try:
        start = date.fromisoformat(request.args.get("from") or today.replace(day=1).isoformat())
        end = date.fromisoformat(request.args.get("to") or last.isoformat())
    except ValueError:
        abort(400)
    return start, end


def zones_of(estate_id: int) -> list[Zone]:
    zones = db.session.scalars(select(Zone).where(Zone.estate_id == estate_id)).all()
    return sorted(zones, key=lambda z: natural_key(z.name))


def report_context() -> dict:
    """Everything the page, the .xlsx and the PDF show: the same figures for each."""
    estate, estates = report_estate()
    start, end = report_period()
    zone_id = request.args.get("zone", type=int)
    figures = fee_report.fee_figures(estate.id, start, end, zone_id)
    zones = zones_of(estate.id)
    zone = next((z for z in zones if z.id == zone_id), None)
    return {
        "estate": estate,
        "estates": estates,
        "start": start,
        "end": end,
        "zones": zones,
        "zone": zone,
        "figures": figures,
        "headings": fee_report.headings(),
        "query": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "zone": zone_id or "",
            **({"estate": estate.id} if estates else {}),
        },
    }


@bp.route("/report")
@roles_required(*REPORT_ROLES)
def report():
    """The fee-collection report (收费率统计) of bills due in a period, with a chart."""
    return render_template("fees/report.html", **report_context())


@bp.route("/report.xlsx")
@roles_required(*REPORT_ROLES)
def report_xlsx():
    """The fee-collection report as a spreadsheet."""
    c = report_context()
    data = fee_report.workbook(
        c["figures"],
        estate=c["estate"].name,
        start=c["start"],
        end=c["end"],
        zone=c["zone"].name if c["zone"] else "",
    )
    response = make_response(data)
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="fees-{c["start"]}-{c["end"]}.xlsx"'
    )
    return response


@bp.route("/report.pdf")
@roles_required(*REPORT_ROLES)
def report_pdf():
    """The fee-collection report, printable."""
    c = report_context()
    response = make_response(render_pdf("fees/report.html", **c))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="fees-{c["start"]}-{c["end"]}.pdf"'
    return response


@bp.route("/arrears")
@roles_required(*REPORT_ROLES)
def arrears():
    """The units that owe money today, by age of the debt (欠费账龄), with filters."""
    estate, estates = report_estate()
    zone_id = request.args.get("zone", type=int)
    building_id = request.args.get("building", type=int)
    fee_report.check_place(estate.id, zone_id, building_id)
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    today = clock.local_today()
    found = fee_report.arrears(
        estate.id,
        today,
        zone_id,
        building_id,
        limit=ARREARS_PER_PAGE,
        offset=(number - 1) * ARREARS_PER_PAGE,
    )
    page = KnownPage(
        page=number,
        per_page=ARREARS_PER_PAGE,
        max_per_page=ARREARS_PER_PAGE,
        error_out=False,
        items=found["items"],
        total=found["total"],
    )
    zones = zones_of(estate.id)
    buildings = (
        db.session.scalars(select(Building).where(Building.zone_id == zone_id)).all()
        if zone_id
        else []
    )
    return render_template(
        "fees/arrears.html",
        estate=estate,
        estates=estates,
        today=today,
        page=page,
        totals=found["totals"],
        buckets=[(name, fee_report.BUCKET_LABELS[name]) for name in fee_report.BUCKETS],
        zones=zones,
        buildings=sorted(buildings, key=lambda b: natural_key(b.name)),
        zone_id=zone_id,
        building_id=building_id,
    )
