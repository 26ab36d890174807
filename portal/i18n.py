"""Language: a chosen language (cookie) first, then Accept-Language, then Simplified Chinese."""

import os
from datetime import datetime

from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import format_datetime, get_locale, get_translations

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


def local_datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in the estate's time zone."""
    return format_datetime(value, fmt) if value else ""


def html_lang() -> str:
    locale = get_locale()
    return "zh-CN" if locale is not None and locale.language == "zh" else "en"


def translations():
    """The translations of the context's locale, found once per locale and context:
    flask_babel looks up the context, its domain and its locale again for every string
    (a page translates a hundred or more). A forced locale (`force_locale`) or a refresh
    changes the context's locale object, and the next string finds the translations anew."""
    if not has_app_context():
        return get_translations()
    state = g.get("_flask_babel")
    if state is not None:
        known = state.__dict__.get("portal_translations")
        if known is not None and known[0] is state.__dict__.get("babel_locale"):
            return known[1]
    found = get_translations()
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        state.portal_translations = (locale, found)
    return found


def init_app(app):
    babel.init_app(app, locale_selector=select_locale)
    # The templates' _(), gettext and ngettext as flask_babel installs them, through
    # the translations found once per request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.globals["html_lang"] = html_lang
