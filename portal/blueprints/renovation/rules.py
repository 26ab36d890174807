"""What a renovation application must hold, and what an estate sets for it: the longest
window, the working and noisy hours, the liability statement; a worker's ID number
(18-character resident identity number); the drawings (PDF or image, checked by content)."""

import io
import re
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from portal.core import clock, settings, uploads
from portal.core.errors import ServiceError
from portal.core.residents import normalize_phone
from portal.core.workflow import InvalidInput

from .models import Scope

MAX_WORKERS = 20  # a pass holds at most 20 people; here one pass per worker
MAX_DRAWINGS = 10
MAX_PDF_BYTES = uploads.MAX_IMAGE_BYTES
AHEAD = timedelta(days=366)
ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

MAX_DAYS = settings.declare(
    "renovation.max_days",
    _l("Renovation: longest window of works (days)"),
    int,
    90,
    minimum=1,
    maximum=180,
)
WORKING_HOURS = settings.declare(
    "renovation.working_hours",
    _l("Renovation: working hours"),
    str,
    "08:00–12:00, 14:00–18:00",
)
NOISY_HOURS = settings.declare(
    "renovation.noisy_hours",
    _l("Renovation: hours for noisy work (drilling, cutting)"),
    str,
    "08:30–12:00, 14:30–17:30",
)
STATEMENT = _l(
    "I, the owner, am responsible for the renovation works and their workers: they keep to"
    " the approved scope and the working hours, do not alter load-bearing walls, the"
    " waterproofing of wet rooms or the common parts, remove the debris as the centre"
    " directs, and make good any damage to common areas and neighbours' homes; the"
    " deposit answers for damage and unremoved debris."
)


def invalid(message, field: str) -> InvalidInput:
    return InvalidInput(message, fields={field: str(message)})


def hours_text(estate_id: int) -> str:
    """The commitment as the owner signs it: the working hours and the noisy hours."""
    return str(
        _l(
            "Works only %(hours)s; noisy work only %(noisy)s; none on public holidays.",
            hours=settings.get(WORKING_HOURS.key, estate_id),
            noisy=settings.get(NOISY_HOURS.key, estate_id),
        )
    )


def check_window(starts_on, ends_on, estate_id: int, tz: str) -> tuple[date, date]:
    """Not in the past, the end not before the start, at most the setting's days long."""
    for name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not isinstance(value, date):
            raise invalid(_l("Enter a date."), name)
    today = clock.local_today(tz)
    if starts_on < today:
        raise invalid(_l("The works cannot start in the past."), "starts_on")
    if starts_on > today + AHEAD:
        raise invalid(_l("This date is more than a year ahead."), "starts_on")
    if ends_on < starts_on:
        raise invalid(_l("The works must end after they start."), "ends_on")
    days = settings.get(MAX_DAYS.key, estate_id)
    if (ends_on - starts_on).days + 1 > days:
        raise invalid(_l("The works may last at most %(n)d days.", n=days), "ends_on")
    return starts_on, ends_on


def check_id_number(value) -> str:
    """An 18-character resident identity number: 17 digits and a check character (0-9 or
    X), with a real birth date and a matching check character (GB 11643)."""
    text = str(value or "").strip().upper()
    if not ID_RE.match(text):
        raise ValueError(_l("Enter the 18-character ID number."))
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError(_l("This ID number holds no valid birth date.")) from None
    if born.year < 1900:
        raise ValueError(_l("This ID number holds no valid birth date."))
    total = sum(int(d) * w for d, w in zip(text[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != text[17]:
        raise ValueError(_l("This ID number is not valid (its check character differs)."))
    return text


def clean_text(value, field: str, limit: int, *, required=True) -> str | None:
    text = " ".join(str(value or "").split())
    if not text:
        if required:
            raise invalid(_l("This field is required."), field)
        return None
    if len(text) > limit:
        raise invalid(_l("At most %(n)d characters.", n=limit), field)
    return text


def clean_phone(value, field: str) -> str:
    try:
        return normalize_phone(value, field)
    except ServiceError as exc:
        raise invalid(exc.message, field) from None


def clean_scope(scope) -> list[str]:
    codes = list(dict.fromkeys(scope or []))
    if not codes:
        raise invalid(_l("Choose at least one kind of works."), "scope")
    for code in codes:
        if code not in Scope.__members__:
            raise invalid(_l("Choose one of the options offered."), "scope")
    return codes


def clean_workers(workers) -> list[dict]:
    """Each worker with a name, a valid ID number and a phone; no ID number twice."""
    workers = list(workers or [])
    if not workers:
        raise invalid(_l("Name at least one worker."), "workers")
    if len(workers) > MAX_WORKERS:
        raise invalid(_l("At most %(n)d workers.", n=MAX_WORKERS), "workers")
    clean, seen = [], set()
    for n, worker in enumerate(workers):
        worker = worker if isinstance(worker, dict) else {}
        name = clean_text(worker.get("name"), f"workers.{n}.name", 100)
        if not str(worker.get("id_number") or "").strip():
            raise invalid(_l("Each worker needs an ID number."), f"workers.{n}.id_number")
        try:
            id_number = check_id_number(worker.get("id_number"))
        except ValueError as exc:
            raise invalid(exc.args[0], f"workers.{n}.id_number") from None
        if id_number in seen:
            raise invalid(_l("The same ID number is given twice."), f"workers.{n}.id_number")
        seen.add(id_number)
        phone = clean_phone(worker.get("phone"), f"workers.{n}.phone")
        clean.append({"name": name, "id_number": id_number, "phone": phone})
    return clean


def _is_pdf(data: bytes) -> bool:
    """A PDF by its content: the %PDF- header and an end-of-file marker near the end."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def check_drawings(files, *, field: str = "drawings") -> list[tuple[bytes, str, str]]:
    """Drawings: PDFs or images (JPEG, PNG, WebP, GIF), recognised by their content, at
    most 10 MB each; (data, content type, name) triples, or the refusal before anything
    is stored."""
    files = [f for f in files or [] if f and getattr(f, "filename", "")]
    if len(files) > MAX_DRAWINGS:
        raise ServiceError(
            _l("At most %(n)d drawings.", n=MAX_DRAWINGS), fields={field: "too_many"}
        )
    checked = []
    for upload in files:
        data = upload.read(MAX_PDF_BYTES + 1)
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
        if len(data) > MAX_PDF_BYTES:
            raise uploads.TooLarge(
                _l("%(name)s is larger than 10 MB.", name=name), fields={field: "too_large"}
            )
        if _is_pdf(data):
            checked.append((data, "application/pdf", name))
            continue
        try:
            checked += uploads.check_images(
                [FileStorage(io.BytesIO(data), filename=name)], limit=1, field=field
            )
        except uploads.TooLarge:
            raise
        except ServiceError as exc:
            if exc.fields.get(field) == "not_an_image":
                raise ServiceError(
                    _l("%(name)s is neither a PDF nor an image.", name=name),
                    fields={field: "not_a_drawing"},
                ) from None
            raise
    return checked
