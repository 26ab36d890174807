"""Whole-file imports (contracts §3–§4): read CSV or XLSX, validate every row, then apply.

An importer declares its columns, checks one row at a time (collecting every error with its
line number) and applies the parsed rows in the caller's transaction. Nothing is written
unless every row is good; applying the same file twice changes nothing the second time.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from werkzeug.utils import import_string

from portal.core.errors import ServiceError

MAX_ROWS = 250_000


@dataclass
class RowError:
    """One problem in the file: the line it is on (1 = header) and why."""

    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import found or did."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class RowProblem(Exception):
    """Raised by a column parser; the importer records it against the row's line."""


def read_table(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header and (line number, row) pairs of a .csv (UTF-8, BOM or not) or .xlsx file."""
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _read_xlsx(data)
    if not name.endswith(".csv") and name:
        raise ServiceError(_l("Upload a .csv or .xlsx file."), fields={"file": "type"})
    return _read_csv(data)


def _read_csv(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(
            _l("The file is not UTF-8 text. Save it as CSV UTF-8 or as .xlsx."),
            fields={"file": "encoding"},
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ServiceError(_l("The file is empty."), fields={"file": "empty"})
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows.append((reader.line_num, values))
            if len(rows) > MAX_ROWS:
                raise ServiceError(
                    _l("At most %(n)d rows per file.", n=MAX_ROWS), fields={"file": "too_many_rows"}
                )
    except csv.Error as exc:
        raise ServiceError(
            _l("The CSV cannot be read: %(reason)s", reason=str(exc)), fields={"file": "csv"}
        ) from None
    return _zip_rows(header, rows)


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ServiceError(
            _l("The .xlsx file cannot be opened."), fields={"file": "xlsx"}
        ) from None
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if header is None:
            raise ServiceError(_l("The file is empty."), fields={"file": "empty"})
        rows = []
        for number, values in enumerate(lines, start=2):
            cells = [_cell_text(v) for v in values]
            if not any(cells):
                continue
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise ServiceError(
                    _l("At most %(n)d rows per file.", n=MAX_ROWS), fields={"file": "too_many_rows"}
                )
    finally:
        book.close()
    return _zip_rows([_cell_text(h) for h in header], rows)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value).strip()


def _zip_rows(header, rows):
    names = [(h or "").strip().lstrip("\ufeff").lower() for h in header]
    result = []
    for line, values in rows:
        values = list(values) + [""] * (len(names) - len(values))
        extra = [v for v in values[len(names) :] if str(v).strip()]
        row = {n: str(v).strip() for n, v in zip(names, values, strict=False) if n}
        if extra:
            row["__extra__"] = "yes"
        result.append((line, row))
    return names, result


def check_header(names, required, optional=()) -> list[RowError]:
    """Errors for missing, unknown or repeated columns of the header row (line 1)."""
    errors = []
    seen = set()
    for n in names:
        if n in seen:
            errors.append(RowError(1, str(_l("Column '%(c)s' appears twice.", c=n))))
        seen.add(n)
    for n in required:
        if n not in seen:
            errors.append(RowError(1, str(_l("Column '%(c)s' is missing.", c=n))))
    for n in names:
        if n and n not in required and n not in optional:
            errors.append(RowError(1, str(_l("Column '%(c)s' is not expected.", c=n))))
        if not n:
            errors.append(RowError(1, str(_l("A column has no name."))))
    return errors


# Column parsers: each returns the clean value or raises RowProblem with the reason.


def text(row, column, max_length, *, required=True):
    value = row.get(column, "").strip()
    if required and not value:
        raise RowProblem(_l("'%(c)s' is empty.", c=column))
    if len(value) > max_length:
        raise RowProblem(_l("'%(c)s' is longer than %(n)d characters.", c=column, n=max_length))
    return value


def decimal2(row, column, *, positive=True, maximum=Decimal("100000000")):
    raw = row.get(column, "").strip().replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise RowProblem(
            _l("'%(c)s' must be a number like 1234.50, not '%(v)s'.", c=column, v=raw[:40])
        ) from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise RowProblem(_l("'%(c)s' has more than two decimals.", c=column))
    if positive and value <= 0:
        raise RowProblem(_l("'%(c)s' must be more than zero.", c=column))
    if value >= maximum:
        raise RowProblem(_l("'%(c)s' is too large.", c=column))
    return value.quantize(Decimal("0.01"))


def choice(row, column, choices: dict):
    raw = row.get(column, "").strip()
    key = raw.lower() if raw.isascii() else raw
    if key not in choices:
        allowed = ", ".join(sorted({k for k in choices if k.isascii()}))
        raise RowProblem(
            _l(
                "'%(c)s' must be one of %(allowed)s, not '%(v)s'.",
                c=column,
                allowed=allowed,
                v=raw[:40],
            )
        )
    return choices[key]


def iso_date(row, column):
    raw = row.get(column, "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RowProblem(
            _l("'%(c)s' must be a date like 2026-12-31, not '%(v)s'.", c=column, v=raw[:40])
        ) from None


# Every kind of the `import` command and page, and the class that reads it: one explicit
# list (dotted paths, loaded when used, so the engine does not import the features).
IMPORTERS: dict[str, str] = {
    "units": "portal.core.place_imports.UnitsImporter",
    "residents": "portal.core.place_imports.ResidentsImporter",
    "fee_items": "portal.blueprints.fees.imports.FeeItemsImporter",
    "bills": "portal.blueprints.fees.imports.BillsImporter",
    "payments": "portal.blueprints.fees.imports.PaymentsImporter",
}


def run_import(
    kind, filename, data, *, estate_name=None, company_name=None, actor=None, dry_run=False
):
    """Validate the whole file, then (unless dry_run or any error) apply it.

    `estate_name` is the estate of rows without an `estate` column; `company_name` (the
    command line's --company) keeps the rows to that company's estates, and a units import
    creates new estates in it (and the company itself when it is new). Staff (`actor`)
    import only into the estates they see.

    Returns an ImportReport; the caller commits when report.ok and not dry_run.
    """
    if kind not in IMPORTERS:
        raise ServiceError(_l("Unknown import kind '%(k)s'.", k=kind), fields={"kind": "unknown"})
    names, rows = read_table(filename, data)
    imp = import_string(IMPORTERS[kind])(
        estate_name=estate_name, company_name=company_name, actor=actor
    )
    report = ImportReport(kind=kind, rows=len(rows))
    report.errors = check_header(names, imp.columns, imp.optional + ("estate",))
    if report.errors:
        return report
    if not rows:
        report.errors.append(RowError(2, str(_l("The file has no rows under the header."))))
        return report
    parsed = []
    for line, row in rows:
        if row.pop("__extra__", None):
            report.errors.append(RowError(line, str(_l("The row has more cells than the header."))))
            continue
        try:
            parsed.append((line, imp.parse(row)))
        except RowProblem as exc:
            report.errors.append(RowError(line, str(exc.args[0])))
    if not report.errors:
        report.errors.extend(imp.check_all(parsed))
    if report.errors or dry_run:
        return report
    imp.apply(parsed, report)
    return report
