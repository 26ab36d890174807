"""Repairs figures (维修统计) as a spreadsheet: by category and by technician."""

import io
from datetime import date

from flask_babel import gettext as _
from flask_babel import pgettext

RATES = ("handling_rate", "timeliness_rate", "rework_rate")


def headings() -> list[str]:
    """The columns of the figures, in the request's language (page, PDF and .xlsx alike)."""
    return [
        pgettext("tickets", "Received"),
        _("Completed"),
        _("Handling rate"),
        _("Completed on time"),
        _("Timeliness"),
        _("Reopened"),
        _("Rework rate"),
    ]


def _row(label, figures: dict) -> list:
    return [
        label,
        figures["received"],
        figures["completed"],
        figures["handling_rate"],
        figures["completed_on_time"],
        figures["timeliness_rate"],
        figures["reopened"],
        figures["rework_rate"],
    ]


def workbook(by: dict, technicians: list[dict], *, estate: str, start: date, end: date) -> bytes:
    """The figures of a period as an .xlsx: per category with the total, then per technician."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Repairs figures")
    sheet.append([_("Repairs figures"), estate])
    sheet.cell(1, 1).font = Font(bold=True)
    sheet.append([pgettext("registration period", "Registered"), start, end])
    sheet.append([])
    sections = (
        (_("By category"), [_row(r["label"], r) for r in by["by_category"]]),
        (_("By technician"), [_row(r["name"], r) for r in technicians]),
    )
    for title, rows in sections:
        sheet.append([title, *headings()])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        for row in rows:
            sheet.append(row)
            for column in (4, 6, 8):
                sheet.cell(sheet.max_row, column).number_format = "0.0%"
        if title == sections[0][0]:
            sheet.append(_row(_("All categories"), by["totals"]))
        sheet.append([])
    sheet.column_dimensions["A"].width = 24
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
