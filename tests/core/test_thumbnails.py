"""Photos get a small thumbnail when stored (or on first request, for photos stored before
thumbnails), served under the same check as the photo; pages show thumbnails that open
the photo, and tell the browser the size and count limits before anything is sent."""

import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.blueprints.repairs.models import Repair
from portal.core import clock, uploads
from portal.core.uploads import StoredFile
from portal.extensions import db
from tests.ticket_pages import ZH, form_of, tag


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def photo(name="wall.png", size=(1600, 1200), kind="PNG", **save):
    """A photo-sized picture that stays small in bytes (the request is kept in memory)."""
    data = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(data, kind, **save)
    data.seek(0)
    return FileStorage(data, filename=name)


def report(client, *photos):
    return client.post(
        "/repairs/new",
        data={
            "category": "civil",
            "location": "unit",
            "description": "墙裂了",
            "photos": list(photos),
        },
        content_type="multipart/form-data",
    )


def image_of(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_an_uploaded_photo_gets_a_small_thumbnail_served_like_the_photo(client, world, login_as):
    login_as("resident")
    assert report(client, photo()).status_code == 302
    row = db.session.scalar(select(StoredFile))
    original = uploads.absolute_path(row)
    stored = original.with_name(original.name + ".thumb")
    assert stored.is_file()  # made at upload time
    assert max(image_of(stored.read_bytes()).size) <= 320
    assert stored.stat().st_size < original.stat().st_size

    small = client.get(f"/files/{row.id}/thumbnail")
    assert small.status_code == 200 and small.mimetype == "image/png"
    assert image_of(small.data).size == (320, 240)  # the shape kept
    assert small.headers["Cache-Control"] == "private, max-age=0"

    login_as("resident2")  # another unit: neither the photo nor its thumbnail
    assert client.get(f"/files/{row.id}").status_code == 404
    assert client.get(f"/files/{row.id}/thumbnail").status_code == 404
    login_as("frontdesk")
    assert client.get(f"/files/{row.id}/thumbnail").status_code == 200
    client.post("/auth/logout")
    assert client.get(f"/files/{row.id}/thumbnail").status_code in (302, 401)


def test_a_photo_stored_before_thumbnails_gets_one_on_first_request(client, world, login_as):
    login_as("resident")
    report(client, photo("old.jpg", kind="JPEG", quality=90))
    row = db.session.scalar(select(StoredFile))
    original = uploads.absolute_path(row)
    stored = original.with_name(original.name + ".thumb")
    stored.unlink()  # as for a photo from before this change
    small = client.get(f"/files/{row.id}/thumbnail")
    assert small.status_code == 200 and small.mimetype == "image/jpeg"
    assert max(image_of(small.data).size) <= 320
    assert stored.is_file()  # kept for the next time


def test_a_phone_photo_turned_by_its_exif_stands_upright(client, world, login_as):
    data = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90° to show
    Image.new("RGB", (800, 400), (10, 120, 200)).save(data, "JPEG", exif=exif)
    data.seek(0)
    login_as("resident")
    report(client, FileStorage(data, filename="turned.jpg"))
    row = db.session.scalar(select(StoredFile))
    assert image_of(client.get(f"/files/{row.id}/thumbnail").data).size == (160, 320)


def test_a_picture_that_cannot_be_shrunk_is_served_whole(client, world, login_as):
    login_as("resident")
    report(client, photo(size=(40, 30)))
    row = db.session.scalar(select(StoredFile))
    original = uploads.absolute_path(row)
    original.with_name(original.name + ".thumb").unlink()
    original.write_bytes(b"\x89PNG\r\n\x1a\n broken since")
    response = client.get(f"/files/{row.id}/thumbnail")
    assert response.status_code == 200 and response.data == original.read_bytes()


def test_pages_show_thumbnails_that_open_the_photo(client, world, login_as):
    login_as("resident")
    report(client, photo("before.png"))
    repair = db.session.scalar(select(Repair))
    report_photo = db.session.scalar(select(StoredFile.id))
    login_as("frontdesk")
    client.post(f"/repairs/{repair.id}/act/assign", data={"technician_id": world.technician.id})
    login_as("technician")
    client.post(f"/repairs/{repair.id}/act/start")
    done = client.post(
        f"/repairs/{repair.id}/act/complete",
        data={"note": "补缝", "photos": [photo("after.png")]},
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    after = db.session.scalar(select(StoredFile.id).where(StoredFile.purpose == "completion"))
    page = client.get(f"/repairs/{repair.id}").get_data(as_text=True)
    card = page.split('data-testid="photos"')[1].split("</div>")[0]
    assert f'href="/files/{report_photo}"' in card
    assert f'src="/files/{report_photo}/thumbnail"' in card
    timeline = page.split('data-testid="timeline"')[1]
    completed = timeline.split('data-testid="event-photos"')[1].split("</div>")[0]
    assert f'href="/files/{after}"' in completed and f'src="/files/{after}/thumbnail"' in completed
    assert f"/files/{after}/thumbnail" not in card  # each photo once, where it belongs


def test_photo_fields_carry_the_limits_for_the_browser(client, world, login_as):
    login_as("resident")
    page = client.get("/repairs/new", headers=ZH).get_data(as_text=True)
    field = tag(page, "photos")
    assert 'data-max-bytes="10485760"' in field and 'data-max-count="6"' in field
    assert 'data-too-large="{name} 超过 10 MB。"' in field
    assert 'data-too-many="最多 6 张照片。"' in field
    assert 'src="/static/js/photo-limits.js"' in page
    page = client.get("/complaints/new", headers=ZH).get_data(as_text=True)
    assert 'data-max-count="6"' in tag(page, "photos")


def test_the_completion_form_counts_the_photos_already_sent(client, world, login_as):
    login_as("resident")
    report(client)
    repair = db.session.scalar(select(Repair))
    login_as("frontdesk")
    client.post(f"/repairs/{repair.id}/act/assign", data={"technician_id": world.technician.id})
    login_as("technician")
    client.post(f"/repairs/{repair.id}/act/start")
    stored = uploads.check_images([photo(f"{n}.png", size=(20, 20)) for n in range(4)], limit=6)
    uploads.store(stored, entity=repair, purpose="completion", actor=world.technician)
    db.session.commit()
    page = client.get(f"/repairs/{repair.id}").get_data(as_text=True)
    assert 'data-max-count="2"' in tag(form_of(page, "complete"), "photos")
    assert re.search(r'enctype="multipart/form-data"', form_of(page, "complete"))


def test_lists_show_each_rows_first_photo_with_no_more_statements(
    client, world, login_as, count_queries
):
    login_as("resident")
    with count_queries() as before:
        client.get("/repairs/")
    report(client, photo("one.png", size=(40, 30)), photo("two.png", size=(40, 30)))
    report(client)
    first = db.session.scalar(select(StoredFile.id).order_by(StoredFile.id))
    with count_queries() as after:
        page = client.get("/repairs/").get_data(as_text=True)
    thumbs = re.findall(r'<img src="([^"]+)"[^>]*data-testid="list-thumbnail"', page)
    assert thumbs == [f"/files/{first}/thumbnail"]  # the repair with photos; not the other
    assert after.count == before.count  # read with the rows, not one query more
    assert client.get(thumbs[0]).status_code == 200
