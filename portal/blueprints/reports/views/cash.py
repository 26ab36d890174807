"""The daily cash report (日结) of the estate a cashier works for, as a page and a PDF."""

from flask import render_template

from portal.core import clock
from portal.core.access import COUNTER, roles_required
from portal.core.downloads import pdf_response
from portal.pdf import render_pdf

from ..cash import cash_figures
from ..periods import requested_day
from .blueprint import bp
from .context import report_estate


@bp.route("/cash")
@roles_required(COUNTER)
def cash():
    """The day's takings per cashier and method, with every receipt."""
    estate, _estates = report_estate()
    day = requested_day(estate)
    figures = cash_figures(estate.id, day)
    return render_template("reports/cash.html", estate=estate, day=day, **figures)


@bp.route("/cash.pdf")
@roles_required(COUNTER)
def cash_pdf():
    """The day's takings, printable (to sign and hand over with the cash)."""
    estate, _estates = report_estate()
    day = requested_day(estate)
    figures = cash_figures(estate.id, day)
    pdf = render_pdf("reports/cash.html", estate=estate, day=day, printed_at=clock.now(), **figures)
    return pdf_response(pdf, f"cash-{day.isoformat()}.pdf")
