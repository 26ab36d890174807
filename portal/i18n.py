"""Language: a chosen language (cookie) first, then Accept-Language, then Simplified Chinese."""

import os
from datetime import datetime

from flask import current_app, has_request_context, request
from flask_babel import format_datetime, get_locale, to_user_timezone

from portal.extensions import babel

LANG_COOKIE = "portal_lang"


def select_locale() -> str:
    """The locale for this request; outside a request (CLI, jobs) the terminal's LANG."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return "zh_CN" if os.environ.get("LANG", "").lower().startswith("zh") else "en"
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    for lang, _quality in request.accept_languages:
        tag = lang.replace("-", "_").lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# Patterns of numbers only: strftime writes them as Babel does, in a fraction of the time (a
# list page shows a time on each of its rows).
NUMERIC_PATTERNS = {
    "yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M",
    "yyyy-MM-dd": "%Y-%m-%d",
    "MM-dd HH:mm": "%m-%d %H:%M",
    "MM-dd": "%m-%d",
    "HH:mm": "%H:%M",
}


def local_datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in the estate's time zone."""
    if not value:
        return ""
    numeric = NUMERIC_PATTERNS.get(fmt)
    if numeric is None:
        return format_datetime(value, fmt)
    return to_user_timezone(value).strftime(numeric)


def html_lang() -> str:
    locale = get_locale()
    return "zh-CN" if locale is not None and locale.language == "zh" else "en"


def _translations():
    return babel.domain_instance.get_translations()  # the one domain, without looking it up


def init_app(app):
    babel.init_app(app, locale_selector=select_locale)
    # The templates' strings as Flask-Babel installs them, less its per-string lookup of the
    # context's domain (a page translates a hundred or more).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.globals["html_lang"] = html_lang
