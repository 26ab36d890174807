"""Repairs figures: handling, timeliness and rework by category and by technician."""

from flask import render_template
from flask_login import current_user

from portal.core.access import SUPERVISORS, roles_required

from ..periods import requested_period
from ..service import repairs_figures, technician_figures
from .blueprint import bp
from .context import report_estate


@bp.route("/repairs")
@roles_required(SUPERVISORS)
def repairs():
    """Repairs created in a period (the last 30 days by default), by category and by the
    technician they were assigned to."""
    estate, estates = report_estate()
    start, end = requested_period(estate, "last_30_days")
    return render_template(
        "reports/repairs.html",
        estate=estate,
        estates=estates,
        start=start,
        end=end,
        by=repairs_figures(current_user, estate, start, end),
        technicians=technician_figures(current_user, estate, start, end),
    )
