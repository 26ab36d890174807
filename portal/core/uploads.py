"""Uploaded files (repair photos, renovation drawings, ID photos), built once for every
feature: checked by content and size, stored under random names outside the web root,
served only after the owning record's permission check. Each photo gets a small thumbnail
beside it (`<name>.thumb`) when it is stored, or on first request for older photos."""

import io
import secrets
import warnings
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.errors import ServiceError
from portal.core.types import UTCDateTime
from portal.extensions import db

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 6  # photos per record and purpose (a report, a completion)
THUMBNAIL_SIDE = 320  # the longer side of a thumbnail, in pixels
# A thumbnail keeps its photo's format (transparency and all); a GIF's first frame is a PNG.
THUMBNAIL_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "PNG",
}
# A phone's photo is 12–48 megapixels; past this a picture is a decompression bomb (a few
# kilobytes that unpack to gigabytes) or too heavy for staff browsers to show.
MAX_IMAGE_PIXELS = 50_000_000


class TooLarge(ServiceError):
    """An upload over its size limit (413)."""

    status = 413


class StoredFile(db.Model):
    """A file attached to a record (entity type and id) for a purpose."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(30))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


def storage_root() -> Path:
    root = Path(current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")
    root.mkdir(parents=True, exist_ok=True)
    return root


def check_images(files, *, limit: int, field: str = "photos") -> list[tuple[bytes, str, str]]:
    """Read and check uploads: at most `limit`, each an image of an allowed type, at most
    10 MB and 50 megapixels. Returns (data, content type, name) triples; raises before
    anything is stored."""
    files = [f for f in files if f and getattr(f, "filename", "")]
    if len(files) > limit:
        raise ServiceError(_l("At most %(n)d photos.", n=limit), fields={field: "too_many"})
    checked = []
    for upload in files:
        data = upload.read(MAX_IMAGE_BYTES + 1)
        name = Path(upload.filename).name[:200]
        if len(data) > MAX_IMAGE_BYTES:
            raise TooLarge(
                _l("%(name)s is larger than 10 MB.", name=name), fields={field: "too_large"}
            )
        kind = _image_kind(data, name, field)
        if kind not in IMAGE_TYPES:
            raise ServiceError(
                _l("%(name)s is not a JPEG, PNG, WebP or GIF image.", name=name),
                fields={field: "not_an_image"},
            )
        checked.append((data, IMAGE_TYPES[kind], name))
    return checked


def _image_kind(data: bytes, name: str, field: str) -> str | None:
    """The image format of `data`, or None; a picture over the pixel cap is refused (400)
    from its header alone, before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                pixels = image.width * image.height
                kind = image.format
                if pixels <= MAX_IMAGE_PIXELS:
                    image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        pixels = MAX_IMAGE_PIXELS + 1
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if pixels > MAX_IMAGE_PIXELS:
        raise ServiceError(
            _l(
                "%(name)s has too many pixels (at most %(n)d megapixels).",
                name=name,
                n=MAX_IMAGE_PIXELS // 10**6,
            ),
            fields={field: "too_many_pixels"},
        )
    return kind


def store(checked, *, entity, purpose: str, actor) -> list[StoredFile]:
    """Write checked files under random names and record them against `entity`."""
    stored = []
    day = clock.now().strftime("%Y/%m")
    for data, content_type, name in checked:
        folder = storage_root() / day
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / secrets.token_hex(16)
        path.write_bytes(data)
        small = make_thumbnail(data, content_type)
        if small is not None:
            _write_new(path.with_name(path.name + ".thumb"), small)
        row = StoredFile(
            entity_type=entity.__tablename__,
            entity_id=entity.id,
            purpose=purpose,
            content_type=content_type,
            size=len(data),
            original_name=name,
            path=str(path.relative_to(storage_root())),
            uploaded_by_id=actor.id if actor else None,
        )
        db.session.add(row)
        stored.append(row)
    db.session.flush()
    return stored


def files_of(entity, purpose: str | None = None) -> list[StoredFile]:
    stmt = (
        select(StoredFile)
        .where(StoredFile.entity_type == entity.__tablename__, StoredFile.entity_id == entity.id)
        .order_by(StoredFile.id)
    )
    if purpose:
        stmt = stmt.where(StoredFile.purpose == purpose)
    return db.session.scalars(stmt).all()


def first_photo(model, purpose: str = "report"):
    """The record's first file of `purpose`, as a scalar subquery correlated to `model`: a
    list reads each row's thumbnail with its rows (`with_expression` on `first_photo_id`)."""
    return (
        select(func.min(StoredFile.id))
        .where(
            StoredFile.entity_type == model.__tablename__,
            StoredFile.entity_id == model.id,
            StoredFile.purpose == purpose,
        )
        .correlate(model)
        .scalar_subquery()
    )


def count_of(entity, purpose: str) -> int:
    return (
        db.session.scalar(
            select(func.count(StoredFile.id)).where(
                StoredFile.entity_type == entity.__tablename__,
                StoredFile.entity_id == entity.id,
                StoredFile.purpose == purpose,
            )
        )
        or 0
    )


def absolute_path(row: StoredFile) -> Path:
    return storage_root() / row.path


def limits() -> dict:
    """What a page tells the browser to check before sending photos."""
    return {
        "max_bytes": MAX_IMAGE_BYTES,
        "max_mb": MAX_IMAGE_BYTES // (1024 * 1024),
        "max_count": MAX_PHOTOS,
    }


def thumbnail_type(row: StoredFile) -> str:
    """The content type of a photo's thumbnail."""
    return IMAGE_TYPES[THUMBNAIL_FORMATS.get(row.content_type, "PNG")]


def make_thumbnail(data: bytes, content_type: str) -> bytes | None:
    """A picture at most THUMBNAIL_SIDE pixels on its longer side, upright, in the photo's
    format; None if it cannot be read (the original is then shown instead)."""
    from PIL import Image, ImageOps

    kind = THUMBNAIL_FORMATS.get(content_type)
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # a JPEG decodes smaller
            small = ImageOps.exif_transpose(image)  # a phone's photo stands upright
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            if kind == "JPEG" and small.mode not in ("RGB", "L"):
                small = small.convert("RGB")
            elif kind == "WEBP" and small.mode not in ("RGB", "RGBA"):
                small = small.convert("RGBA")
            out = io.BytesIO()
            small.save(out, kind, **({"quality": 80} if kind != "PNG" else {"optimize": True}))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return out.getvalue()


def thumbnail_path(row: StoredFile) -> Path | None:
    """The thumbnail of a stored photo, made now if it has none yet (photos stored before
    thumbnails existed); None when the photo cannot be shrunk."""
    original = absolute_path(row)
    path = original.with_name(original.name + ".thumb")
    if path.is_file():
        return path
    if not original.is_file():
        return None
    small = make_thumbnail(original.read_bytes(), row.content_type)
    if small is None:
        return None
    _write_new(path, small)
    return path


def _write_new(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: two requests making the same thumbnail never
    serve a half-written one."""
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    partial.replace(path)
