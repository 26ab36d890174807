"""The daily cash report (日结) of the estate a cashier works for, as a page and a PDF."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import clock
from portal.core.access import COUNTER, roles_required
from portal.core.downloads import pdf_response
from portal.extensions import db
from portal.pdf import render_pdf

from ..cash import (
    cash_figures,
    cash_pdf_jobs,
    payment_count,
    start_cash_pdf,
)
from ..periods import requested_day
from ..printouts import prints_by_job
from .blueprint import bp
from .context import report_estate


@bp.route("/cash")
@roles_required(COUNTER)
def cash():
    """The day's takings per cashier and method, with every receipt."""
    estate, _estates = report_estate()
    day = requested_day(estate)
    figures = cash_figures(estate.id, day)
    return render_template(
        "reports/cash.html",
        estate=estate,
        day=day,
        jobs=cash_pdf_jobs(current_user, estate.id, day),
        pdf_job=prints_by_job(figures["count"]),
        **figures,
    )


@bp.route("/cash.pdf")
@roles_required(COUNTER)
def cash_pdf():
    """The day's takings, printable (to sign and hand over with the cash); a busy day's
    PDF is made by a job, and the page shows its progress and then the download."""
    estate, _estates = report_estate()
    day = requested_day(estate)
    count = payment_count(estate.id, day)
    if prints_by_job(count):
        start_cash_pdf(current_user, estate.id, day)
        db.session.commit()
        flash(_("%(count)s payments: the PDF is being made; it is listed below.", count=count))
        return redirect(url_for("reports.cash", day=day, estate=estate.id))
    figures = cash_figures(estate.id, day, receipts=None)
    pdf = render_pdf("reports/cash.html", estate=estate, day=day, printed_at=clock.now(), **figures)
    return pdf_response(pdf, f"cash-{day.isoformat()}.pdf")
