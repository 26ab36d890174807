"""What any request may carry, checked once at the edge for every page and the API: ids in
paths fit a database column, and no text holds a NUL byte or half of a UTF-16 pair (the
database refuses both, which would surface as a server error).

Ids in query arguments go through `access.as_id` (`request.args.get(..., type=as_id)`),
ids in forms through `coerce=coerce_id`, ids in JSON bodies (the API's inputs, workflow
action data) through the pydantic type `Id`.

What a pydantic schema refuses is told in the user's words by one mapping (`field_errors`):
each field at fault with a message of its own, never pydantic's English. A validator that
refuses a value raises `Invalid` with its message (and, in a model validator, the field).
"""

from typing import Annotated

from flask import abort, request
from flask_babel import lazy_gettext as _l
from pydantic import Field
from pydantic import ValidationError as SchemaError
from werkzeug.routing import IntegerConverter, ValidationError

from portal.core.access import MAX_ID
from portal.core.errors import ServiceError

# Every id a JSON input names: what a database column holds, so a larger number is a 400.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# The longest address (path and query) the portal reads; gunicorn's `limit_request_line`
# must be larger, so that a longer one gets the portal's answer (414), not the server's.
MAX_URL = 4000
# A page number past this is no page (its offset would not fit the database's integers).
MAX_PAGE = MAX_ID


class Invalid(ValueError):
    """A validator's refusal in the user's words; a model validator names the field."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message, self.field = message, field


def _required(ctx):
    return _l("This field is required.")


# pydantic's error types → the portal's words ({ctx} fills the limits).
MESSAGES = {
    "missing": _required,
    "string_too_short": lambda ctx: (
        _required(ctx)
        if ctx.get("min_length", 1) <= 1
        else _l("At least %(n)d characters.", n=ctx["min_length"])
    ),
    "string_too_long": lambda ctx: _l("At most %(n)d characters.", n=ctx["max_length"]),
    "greater_than": lambda ctx: _l("Must be more than %(n)s.", n=ctx["gt"]),
    "greater_than_equal": lambda ctx: _l("Must be at least %(n)s.", n=ctx["ge"]),
    "less_than": lambda ctx: _l("Must be less than %(n)s.", n=ctx["lt"]),
    "less_than_equal": lambda ctx: _l("Must be at most %(n)s.", n=ctx["le"]),
    "int_parsing": lambda ctx: _l("Enter a whole number."),
    "int_type": lambda ctx: _l("Enter a whole number."),
    "int_from_float": lambda ctx: _l("Enter a whole number."),
    "float_parsing": lambda ctx: _l("Enter a number."),
    "decimal_parsing": lambda ctx: _l("Enter a number."),
    "bool_parsing": lambda ctx: _l("Choose yes or no."),
    "literal_error": lambda ctx: _l("Choose one of the options offered."),
    "enum": lambda ctx: _l("Choose one of the options offered."),
    "datetime_parsing": lambda ctx: _l("Enter a date and time."),
    "datetime_from_date_parsing": lambda ctx: _l("Enter a date and time."),
    "datetime_type": lambda ctx: _l("Enter a date and time."),
    "string_type": lambda ctx: _l("Enter text."),
    "extra_forbidden": lambda ctx: _l("This field is not expected here."),
}


def field_errors(exc: SchemaError, *, whole: str = "data") -> dict[str, str]:
    """Each field at fault → one message in the user's language (the first per field);
    what concerns the input as a whole is under `whole`."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or whole
        ctx = err.get("ctx") or {}
        problem = ctx.get("error")
        if isinstance(problem, Invalid):
            name, message = problem.field or name, problem.message
        elif err["type"] in MESSAGES:
            message = MESSAGES[err["type"]](ctx)
        else:
            message = _l("This value is not valid.")
        fields.setdefault(name, str(message))
    return fields


def coerce_id(value) -> int:
    """A form field's id (WTForms `coerce`), or 0 where a select offers "none"; anything
    else is a field error."""
    text = "" if isinstance(value, bool) else str(value).strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(MAX_ID)):
        raise ValueError("not an id")
    if int(text) > MAX_ID:
        raise ValueError("not an id")
    return int(text)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number from 1 to 2³¹−1, anything else answers 404."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)):  # before int(): thousands of digits are no id
            raise ValidationError()
        return super().to_python(value)


def is_clean(value) -> bool:
    """True if no string inside `value` (a string, or lists and dicts of them) holds a NUL
    byte or a lone surrogate."""
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or _encodable(value))
    if isinstance(value, dict):
        return all(is_clean(k) and is_clean(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(is_clean(v) for v in value)
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unclean_part() -> str | None:
    """Where the request carries unstorable text: path, query, form, files or body."""
    parts = {
        "path": request.view_args or {},
        "query": request.args.to_dict(flat=False),
        "form": request.form.to_dict(flat=False),
        "files": [f.filename or "" for f in request.files.values()],
        "body": request.get_json(silent=True) if request.is_json else None,
    }
    return next((name for name, part in parts.items() if not is_clean(part)), None)


def refuse_unclean_input():
    """Answer 400 for a NUL byte or a broken character anywhere in the request's text, and
    for a page number beyond any page; 414 for an address longer than any the portal makes."""
    environ = request.environ
    if len(environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path) > MAX_URL:
        abort(414)
    part = _unclean_part()
    if part:
        raise ServiceError(
            _l("The request holds a character that cannot be stored (such as a NUL byte)."),
            fields={part: "unstorable_character"},
        )
    page = request.args.get("page", "")
    if page.isascii() and page.isdecimal() and (len(page) > 10 or int(page) > MAX_PAGE):
        raise ServiceError(_l("There is no such page."), fields={"page": "out_of_range"})


def init_app(app):
    """Register the id converter (before any blueprint adds its routes) and the text check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unclean_input)
