"""The two download responses: a spreadsheet (.xlsx) to save and a PDF to show or print."""

from urllib.parse import quote

from flask import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _disposition(kind: str, filename: str) -> str:
    if filename.isascii():
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename*=UTF-8''{quote(filename)}"


def xlsx_response(workbook_bytes: bytes, filename: str) -> Response:
    """An .xlsx the browser saves as `filename`."""
    response = Response(workbook_bytes, mimetype=XLSX)
    response.headers["Content-Disposition"] = _disposition("attachment", filename)
    return response


def pdf_response(pdf_bytes: bytes, filename: str) -> Response:
    """A PDF the browser shows inline (to print), named `filename` when saved."""
    response = Response(pdf_bytes, mimetype="application/pdf")
    response.headers["Content-Disposition"] = _disposition("inline", filename)
    return response
