"""Photo limits in a real browser (issue 13): a photo over 10 MB or more than six photos are
refused on the page before anything is sent, in the reader's language, and the choice can be
corrected without losing what was typed.
Screenshots: test-output/screenshots/photo-limits-<locale>-phone-*.png.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.core.uploads import MAX_IMAGE_BYTES, MAX_PHOTOS
from tests.e2e.test_repairs import png_photo
from tests.e2e.test_sign_in import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_too_large_or_too_many_photos_are_refused_before_sending(open_tab, locale):
    tab = open_tab(f"photo-limits-{locale}-phone", locale, "phone")
    page = tab.page
    sign_in(tab, "resident")
    tab.goto("/repairs/new")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    form = page.locator("main form")
    form.locator("textarea[name=description]").fill("阳台渗水")
    photos = form.locator("input[name=photos]")
    huge = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (MAX_IMAGE_BYTES + 1)}
    photos.set_input_files([png_photo("small.png"), huge])
    problem = form.locator("[data-photo-problem]")
    too_large = tab.t("%(name)s is larger than %(mb)d MB.") % {"name": "huge.jpg", "mb": 10}
    expect(problem).to_have_text(too_large)
    expect(photos).to_have_class(re.compile(r"\bis-invalid\b"))
    tab.shot("too-large")
    form.locator("[type=submit]").click()
    expect(problem).to_be_visible()
    assert sent == [], sent  # nothing left the phone

    photos.set_input_files([png_photo(f"{n}.png") for n in range(MAX_PHOTOS + 1)])
    expect(problem).to_have_text(tab.t("At most %(n)d photos.") % {"n": MAX_PHOTOS})
    form.locator("[type=submit]").click()
    tab.shot("too-many")
    assert sent == [], sent

    photos.set_input_files([png_photo("a.png"), png_photo("b.png")])
    expect(problem).to_have_text("")
    expect(photos).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(form.locator("textarea[name=description]")).to_have_value("阳台渗水")
    tab.assert_clean()
