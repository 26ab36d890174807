"""A message kept so that it can be written again in another language.

An in-app message is read in the reader's language of the moment, not the one they had when
it was sent: next to the text written at sending (SMS and e-mail go out as that text; it is
also what an old row or an unreadable one shows), the outbox and the inbox keep the
message's parts as their msgids and parameters (`freeze`), and the inbox writes them in the
language of the page that shows them (`render`).

A part is either plain text (what a person wrote: a note, a description),
{"t": "gettext" | "pgettext" | "ngettext" | "npgettext", "a": [msgid …], "p": {name: part}},
or {"t": "lines", "a": [part …]} for a text made of lines (a list where a message is built).
"""

import flask_babel
from flask_babel.speaklater import LazyString

# The gettext functions a frozen part may name: the lazy strings' own functions.
RENDERERS = {
    "gettext": flask_babel.gettext,
    "pgettext": flask_babel.pgettext,
    "ngettext": flask_babel.ngettext,
    "npgettext": flask_babel.npgettext,
}


def text(value) -> str:
    """A part as it reads now (a list: its lines)."""
    if isinstance(value, list | tuple):
        return "\n".join(text(v) for v in value)
    return "" if value is None else str(value)


def freeze(value):
    """A part as JSON: a lazy string as its function, msgids and (frozen) parameters, a list
    as its lines; anything else as the text it reads now."""
    if isinstance(value, list | tuple):
        return {"t": "lines", "a": [freeze(v) for v in value]}
    if isinstance(value, LazyString):
        name = getattr(value._func, "__name__", None)
        args = value._args
        if name in RENDERERS and all(isinstance(a, str | int) for a in args):
            params = {key: freeze(v) for key, v in value._kwargs.items()}
            return {"t": name, "a": list(args), "p": params}
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return "" if value is None else str(value)


def freeze_message(subject, body) -> dict | None:
    """A message's subject and body frozen; None when neither has anything to translate."""
    content = {"subject": freeze(subject), "body": freeze(body)}
    return content if any(isinstance(part, dict) for part in content.values()) else None


def _thaw(part):
    if isinstance(part, dict) and part.get("t") == "lines":
        return "\n".join(str(_thaw(v)) for v in part["a"])
    if isinstance(part, dict):
        params = {key: _thaw(v) for key, v in (part.get("p") or {}).items()}
        return RENDERERS[part["t"]](*part["a"], **params)
    return part


def render(content, key: str, fallback: str) -> str:
    """One part of a frozen message (`key`: subject or body) in the current language; the
    text written at sending when there is none or it cannot be read."""
    if not isinstance(content, dict) or key not in content:
        return fallback
    try:
        text = _thaw(content[key])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return fallback
    return fallback if text is None else str(text)
