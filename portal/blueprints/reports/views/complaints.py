"""Complaint statistics (投诉统计表) and the register (投诉登记表) of a period."""

from flask import render_template
from flask_login import current_user

from portal.blueprints.complaints.models import Category, State
from portal.core.access import READERS, roles_required
from portal.core.downloads import pdf_response, xlsx_response
from portal.pdf import render_pdf

from .. import complaints as stats
from ..periods import requested_period
from .blueprint import bp
from .context import report_estate


def state_label(value):
    """A complaint state's name."""
    return State(value).label


def statistics_context() -> dict:
    """The page's and the PDF's figures: statistics and register of the period."""
    estate, estates = report_estate()
    start, end = requested_period(estate, "month_to_date")
    rows, labels = stats.register_rows(current_user, estate, start, end)
    return {
        "estate": estate,
        "estates": estates,
        "start": start,
        "end": end,
        "stats": stats.statistics(current_user, estate, start, end),
        "rows": rows,
        "labels": labels,
        "state_label": state_label,
        "Category": Category,
    }


@bp.route("/complaints")
@roles_required(READERS)
def complaints():
    """The complaint statistics and register of a period (this month so far by default)."""
    return render_template("reports/complaints.html", **statistics_context())


@bp.route("/complaints.xlsx")
@roles_required(READERS)
def complaints_xlsx():
    """The register and statistics as a spreadsheet (times in the estate's time zone)."""
    estate, _estates = report_estate()
    start, end = requested_period(estate, "month_to_date")
    data = stats.workbook(current_user, estate, start, end, state_label)
    return xlsx_response(data, f"complaints-{start}-{end}.xlsx")


@bp.route("/complaints.pdf")
@roles_required(READERS)
def complaints_pdf():
    """The register and statistics, printable."""
    c = statistics_context()
    pdf = render_pdf("reports/complaints.html", **c)
    return pdf_response(pdf, f"complaints-{c['start']}-{c['end']}.pdf")
