"""Complaint statistics (投诉统计表) and the register (投诉登记表) of a period."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import READERS, roles_required
from portal.core.downloads import pdf_response, xlsx_response
from portal.extensions import db
from portal.pdf import render_pdf

from .. import complaints as stats
from ..periods import requested_period
from ..printouts import printouts, prints_by_job, start_printout
from .blueprint import bp
from .context import report_estate


def statistics_context() -> dict:
    """The estates to choose from, and the chosen period's figures."""
    estate, estates = report_estate()
    start, end = requested_period(estate, "month_to_date")
    return {"estates": estates, **stats.report_context(current_user, estate, start, end)}


@bp.route("/complaints")
@roles_required(READERS)
def complaints():
    """The complaint statistics and register of a period (this month so far by default)."""
    c = statistics_context()
    period = {"from": c["start"].isoformat(), "to": c["end"].isoformat()}
    jobs = printouts(current_user, "complaint_report", c["estate"].id, **period)
    return render_template(
        "reports/complaints.html", jobs=jobs, pdf_job=prints_by_job(len(c["rows"])), **c
    )


@bp.route("/complaints.xlsx")
@roles_required(READERS)
def complaints_xlsx():
    """The register and statistics as a spreadsheet (times in the estate's time zone)."""
    estate, _estates = report_estate()
    start, end = requested_period(estate, "month_to_date")
    data = stats.workbook(current_user, estate, start, end, stats.state_label)
    return xlsx_response(data, f"complaints-{start}-{end}.xlsx")


@bp.route("/complaints.pdf")
@roles_required(READERS)
def complaints_pdf():
    """The register and statistics, printable; a long register is printed by a job, and
    the page shows its progress and then the download."""
    c = statistics_context()
    if prints_by_job(len(c["rows"])):
        period = {"from": c["start"].isoformat(), "to": c["end"].isoformat()}
        start_printout(current_user, "complaint_report", c["estate"].id, **period)
        db.session.commit()
        flash(_("The register is long: the PDF is being made; it is listed below."))
        return redirect(url_for("reports.complaints", estate=c["estate"].id, **period))
    pdf = render_pdf("reports/complaints.html", **c)
    return pdf_response(pdf, f"complaints-{c['start']}-{c['end']}.pdf")
