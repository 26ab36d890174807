"""Every string on screen has a Simplified Chinese translation with the same placeholders; a
message with a context (pgettext) is translated in that context, not by the bare word."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "pgettext": ((1, "c"), 2),
    "lazy_pgettext": ((1, "c"), 2),
}


def catalogue_messages():
    with PO.open("rb") as handle:
        return list(read_po(handle))


def source_messages():
    found = {}
    for folder, method in (("portal", "python"), ("templates", "jinja2.ext:babel_extract")):
        pattern = "**.py" if method == "python" else "**.html"
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / folder, [(pattern, method)], keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault((context, msgid), f"{folder}/{filename}:{lineno}")
    return found


def test_every_message_is_translated():
    catalogue = {
        (m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalogue_messages()
    }
    missing = []
    for (context, msgid), where in source_messages().items():
        entry = catalogue.get((context, msgid))
        text = entry.string if entry else ""
        text = text[0] if isinstance(text, tuple) else text
        if not text:
            missing.append(f"{where}: {msgid!r}" + (f" (context {context!r})" if context else ""))
    assert not missing, "run `make extract-messages` and translate:\n" + "\n".join(missing)


def test_placeholders_match():
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalogue_messages():
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        text = message.string if isinstance(message.string, str) else message.string[0]
        assert sorted(pattern.findall(msgid)) == sorted(pattern.findall(text)), msgid


def test_strings_follow_a_forced_locale_within_a_request(app):
    # A request finds its translations once; a forced locale (a receipt or a slip printed
    # in Chinese from an English page) still switches them, and back.
    from flask import render_template_string
    from flask_babel import force_locale

    from portal.core.people import Role

    page = "{{ _('Home') }} {{ ngettext('%(num)d unread notice', '%(num)d unread notices', 2) }}"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(page) == "Home 2 unread notices"
        assert str(Role.frontdesk.label) == "Front desk"
        with force_locale("zh_CN"):
            assert render_template_string(page).startswith("首页 ")
            assert str(Role.frontdesk.label) != "Front desk"
        assert render_template_string(page) == "Home 2 unread notices"
        assert str(Role.frontdesk.label) == "Front desk"


def test_times_of_numbers_read_as_babel_writes_them(app):
    from datetime import UTC, datetime

    from flask_babel import format_datetime

    from portal.i18n import NUMERIC_PATTERNS, local_datetime

    moments = [
        datetime(2026, 12, 31, 16, 5, tzinfo=UTC),  # the next day and year in Beijing
        datetime(2026, 3, 1, 23, 59),  # naive: UTC
        datetime(2027, 1, 9, 0, 0, tzinfo=UTC),
    ]
    with app.test_request_context():
        for pattern in NUMERIC_PATTERNS:
            for moment in moments:
                assert local_datetime(moment, pattern) == format_datetime(moment, pattern)
        assert local_datetime(moments[0]) == "2027-01-01 00:05"
        assert local_datetime(None) == ""
