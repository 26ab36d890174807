"""Browser harness: a live portal on a migrated SQLite file with the demo estate, and one
headless Chromium for the whole run with a fresh context (cookies, locale, viewport) per case.

CSRF stays on: the browser submits the real forms with their tokens.
"""

import gettext
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.core import clock
from tests.conftest import FROZEN_AT, make_test_app, skip_or_fail, without_faketime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
TRANSLATIONS = ROOT / "portal" / "translations"

LOCALES = {  # test id -> (browser locale, Accept-Language, <html lang> the portal must send)
    "zh": ("zh-CN", "zh-CN,zh;q=0.9", "zh-CN"),
    "en": ("en-US", "en-US,en;q=0.9", "en"),
}
VIEWPORTS = {  # test id -> browser context options
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}


class Catalogue:
    """What a msgid reads as in each language, from the compiled catalogue the portal serves.

    The zh catalogue is being translated while these tests are written, so the tests ask it
    rather than hard-coding Chinese strings: an untranslated msgid shows in English in both.
    """

    def __init__(self, translations: Path):
        # The catalogue's folder is named as Babel names the locale (zh_Hans_CN, or zh_CN).
        found = sorted(translations.glob("zh*/LC_MESSAGES/messages.mo"))
        self.mo = found[0] if found else None
        if self.mo:
            with self.mo.open("rb") as fh:
                self._zh = gettext.GNUTranslations(fh)
        else:
            self._zh = gettext.NullTranslations()

    def text(self, msgid: str, locale: str) -> str:
        return self._zh.gettext(msgid) if locale == "zh" else msgid

    def translated(self, msgid: str) -> bool:
        return self._zh.gettext(msgid) != msgid


@pytest.fixture(scope="session")
def catalogue():
    return Catalogue(TRANSLATIONS)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The portal served over HTTP on a free local port; yields its base URL.

    The demo estate is loaded at FROZEN_AT, the moment every test runs at (tests/conftest.py):
    the server shares this process's clock.
    """
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from portal.demo import load_demo
    from portal.extensions import db

    tmp = tmp_path_factory.mktemp("e2e")
    app = make_test_app(f"sqlite:///{tmp / 'portal-e2e.sqlite3'}", WTF_CSRF_ENABLED=True)
    app.instance_path = str(tmp / "instance")
    clock.freeze(FROZEN_AT)
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
    clock.freeze(None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) for the whole session."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            env=without_faketime(),  # the portal's clock is the one that matters
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@dataclass
class Tab:
    """One browser page of one case, with what went wrong in it as the browser saw it."""

    page: object
    base_url: str
    name: str  # e.g. "resident-zh-phone"
    locale: str
    viewport: str
    catalogue: Catalogue
    errors: list = field(default_factory=list)

    @property
    def phone(self) -> bool:
        return self.viewport == "phone"

    def t(self, msgid: str) -> str:
        return self.catalogue.text(msgid, self.locale)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def path_is(self, path: str) -> re.Pattern:
        """A URL pattern for `path` on the live server, with any query string."""
        return re.compile(re.escape(self.base_url + path) + r"(\?.*)?$")

    def shot(self, state: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{state}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def html_lang(self) -> str:
        return self.page.locator("html").get_attribute("lang")

    def open_menu(self):
        """On the phone the navbar is collapsed behind the toggler: open it."""
        if not self.phone:
            return
        from playwright.sync_api import expect

        toggler = self.page.locator("button.navbar-toggler")
        expect(toggler).to_be_visible()
        self.page.wait_for_load_state("load")  # Bootstrap's script handles the tap
        toggler.tap()
        expect(toggler).to_have_attribute("aria-expanded", "true")
        # Bootstrap sets .show once the slide-down has ended (.collapsing while it runs).
        expect(self.page.locator("#nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
        expect(self.page.locator("#nav")).to_be_visible()

    def no_horizontal_scroll(self):
        """Nothing on the page is wider than the screen (a phone must not scroll sideways)."""
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{self.name}: page is {overflow}px wider than the viewport"

    def assert_clean(self):
        errors = self.errors
        assert not errors, f"{self.name}: the browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def open_tab(browser, live_server, catalogue):
    """Open a page in a new browser context: open_tab(name, locale, viewport) -> Tab."""
    contexts = []

    def opener(name: str, locale: str, viewport: str) -> Tab:
        browser_locale, accept_language, _lang = LOCALES[locale]
        context = browser.new_context(
            locale=browser_locale,
            extra_http_headers={"Accept-Language": accept_language},
            **VIEWPORTS[viewport],
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page, live_server, name, locale, viewport, catalogue)
        page.on(
            "console",
            lambda msg: (
                tab.errors.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url')})")
                if msg.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))
        page.on(
            "response",
            lambda resp: (
                tab.errors.append(f"HTTP {resp.status} for {resp.request.method} {resp.url}")
                if resp.status >= 500
                else None
            ),
        )
        return tab

    yield opener
    for context in contexts:
        context.close()
