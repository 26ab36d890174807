"""Uploaded files (repair photos, renovation drawings, ID photos), built once for every
feature: checked by content and size, stored under random names outside the web root,
served only after the owning record's permission check."""

import io
import secrets
import warnings
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.errors import ServiceError
from portal.core.types import UTCDateTime
from portal.extensions import db

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
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


def count_of(entity, purpose: str) -> int:
    from sqlalchemy import func

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
