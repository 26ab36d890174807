"""Repairs figures: handling, timeliness and rework by category and by technician."""

from flask import render_template
from flask_login import current_user

from portal.core.access import SUPERVISORS, roles_required
from portal.core.downloads import pdf_response, xlsx_response
from portal.pdf import render_pdf

from .. import repairs as sheets
from ..periods import requested_period
from ..service import repairs_figures, technician_figures
from .blueprint import bp
from .context import report_estate


def figures_context() -> dict:
    """The page's, the PDF's and the spreadsheet's figures: repairs registered in a period
    (the last 30 days by default), by category and by the technician assigned."""
    estate, estates = report_estate()
    start, end = requested_period(estate, "last_30_days")
    query = {"from": start.isoformat(), "to": end.isoformat()}
    return {
        "estate": estate,
        "estates": estates,
        "start": start,
        "end": end,
        "by": repairs_figures(current_user, estate, start, end),
        "technicians": technician_figures(current_user, estate, start, end),
        "query": {**query, **({"estate": estate.id} if estates else {})},
    }


@bp.route("/repairs")
@roles_required(SUPERVISORS)
def repairs():
    """Repairs figures of a period, by category and by technician."""
    return render_template("reports/repairs.html", **figures_context())


@bp.route("/repairs.xlsx")
@roles_required(SUPERVISORS)
def repairs_xlsx():
    """The repairs figures as a spreadsheet."""
    c = figures_context()
    data = sheets.workbook(
        c["by"], c["technicians"], estate=c["estate"].name, start=c["start"], end=c["end"]
    )
    return xlsx_response(data, f"repairs-{c['start']}-{c['end']}.xlsx")


@bp.route("/repairs.pdf")
@roles_required(SUPERVISORS)
def repairs_pdf():
    """The repairs figures, printable."""
    c = figures_context()
    pdf = render_pdf("reports/repairs.html", **c)
    return pdf_response(pdf, f"repairs-{c['start']}-{c['end']}.pdf")
