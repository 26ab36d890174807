"""The complaint register (投诉登记表) and statistics (投诉统计表) of one estate: SQL
aggregates by category, department and month, units with repeated complaints, and the
.xlsx export."""

import io
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import func, select

from portal.blueprints.complaints.models import Category, Complaint, Kind, State
from portal.core.access import visible
from portal.core.intake import SOURCE_LABELS
from portal.core.places import Estate
from portal.core.units import labels_for
from portal.core.visits import RESULT_LABELS
from portal.extensions import db
from portal.jobs import Job

from .periods import local_month, local_naive, period_bounds
from .printouts import print_to_result, printer_of
from .service import complaint_counts, complaint_rates

REPEAT_AT = 2  # a unit with this many complaints in the period is flagged

KIND_LABELS = {
    Kind.complaint: _l("Complaint"),
    Kind.inquiry: _l("Inquiry"),
    Kind.suggestion: _l("Suggestion"),
}


def statistics(actor, estate: Estate, date_from: date, date_to: date) -> dict:
    """Figures by category, department and month (in the estate's time zone), and the units
    that complained repeatedly."""
    period = (actor, estate, date_from, date_to)
    start, end = period_bounds(date_from, date_to, estate.timezone)
    by_category = complaint_counts(*period, Complaint.category)
    by_department = complaint_counts(*period, func.coalesce(Complaint.department, ""))
    month = local_month(Complaint.created_at, estate.timezone, start)
    by_month = complaint_counts(*period, month)
    repeated = db.session.execute(
        select(Complaint.unit_id, func.count(Complaint.id))
        .where(
            visible(Complaint, actor),
            Complaint.estate_id == estate.id,
            Complaint.kind == Kind.complaint,
            Complaint.unit_id.is_not(None),
            Complaint.created_at >= start,
            Complaint.created_at < end,
        )
        .group_by(Complaint.unit_id)
        .having(func.count(Complaint.id) >= REPEAT_AT)
        .order_by(func.count(Complaint.id).desc())
    ).all()
    labels = labels_for([unit_id for unit_id, _n in repeated])
    return {
        "by_category": [
            {"key": str(Category(k).label), **complaint_rates(v)} for k, v in by_category.items()
        ],
        "by_department": [
            {"key": k or _("(not assessed)"), **complaint_rates(v)}
            for k, v in by_department.items()
        ],
        "by_month": [{"key": k, **complaint_rates(v)} for k, v in by_month.items()],
        "repeated": [{"unit": labels.get(u, ""), "count": n} for u, n in repeated],
    }


def register_rows(actor, estate: Estate, date_from: date, date_to: date):
    """The register's rows (complaints of the period, oldest first) with their unit labels."""
    start, end = period_bounds(date_from, date_to, estate.timezone)
    rows = db.session.scalars(
        select(Complaint)
        .where(
            visible(Complaint, actor),
            Complaint.estate_id == estate.id,
            Complaint.created_at >= start,
            Complaint.created_at < end,
        )
        .order_by(Complaint.id)
    ).all()
    return rows, labels_for([c.unit_id for c in rows if c.unit_id])


FIGURE_COLUMNS = ("received", "closed", "handling_rate", "replied_on_time", "return_visits")


def workbook(actor, estate: Estate, date_from: date, date_to: date, state_label) -> bytes:
    """The register and the statistics as one .xlsx (two sheets); times in the estate's
    time zone."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    register = book.active
    register.title = pgettext("complaint register", "Register")
    register.append(
        [
            _("Number"),
            pgettext("registration time", "Registered"),
            _("Unit"),
            _("Channel"),
            _("Kind"),
            _("Category"),
            _("What happened"),
            _("Responsible department"),
            _("Status"),
            _("First reply"),
            _("Return visit"),
        ]
    )
    rows, labels = register_rows(actor, estate, date_from, date_to)
    tz = estate.timezone
    for c in rows:
        register.append(
            [
                c.number,
                local_naive(c.created_at, tz),
                labels.get(c.unit_id, ""),
                str(SOURCE_LABELS.get(c.channel, c.channel)),
                str(KIND_LABELS.get(c.kind, c.kind)),
                str(Category(c.category).label),
                c.content,
                c.department or "",
                str(state_label(c.status)),
                local_naive(c.first_reply_at, tz),
                str(RESULT_LABELS.get(c.visit_result, c.visit_result or "")),
            ]
        )
    stats = statistics(actor, estate, date_from, date_to)
    sheet = book.create_sheet(_("Statistics"))
    headings = [
        pgettext("tickets", "Received"),
        _("Closed"),
        _("Handling rate"),
        _("Replied on time"),
        _("Return visits"),
    ]
    for title, key in (
        (_("By category"), "by_category"),
        (_("By department"), "by_department"),
        (_("By month"), "by_month"),
    ):
        sheet.append([title, *headings])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        for row in stats[key]:
            sheet.append([row["key"], *(row[c] for c in FIGURE_COLUMNS)])
        sheet.append([])
    sheet.append([_("Units with repeated complaints"), _("Complaints")])
    for row in stats["repeated"]:
        sheet.append([row["unit"], row["count"]])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def state_label(value):
    """A complaint state's name."""
    return State(value).label


def report_context(actor, estate: Estate, start: date, end: date) -> dict:
    """The page's and the PDF's figures: statistics and register of the period."""
    rows, labels = register_rows(actor, estate, start, end)
    return {
        "estate": estate,
        "start": start,
        "end": end,
        "stats": statistics(actor, estate, start, end),
        "rows": rows,
        "labels": labels,
        "state_label": state_label,
        "Category": Category,
    }


def print_complaint_report(job: Job) -> None:
    """The job: a long register's statistics and register as a PDF, seen as its printer
    sees them and in their language."""
    estate = db.session.get(Estate, job.estate_id)
    start, end = date.fromisoformat(job.params["from"]), date.fromisoformat(job.params["to"])
    context = report_context(printer_of(job), estate, start, end)
    print_to_result(job, "reports/complaints.html", f"complaints-{start}-{end}.pdf", **context)
