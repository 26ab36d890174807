"""Uploaded files, served only to whoever may see the record they belong to."""

from flask import Blueprint, abort, send_file
from flask_login import login_required

from portal.core import uploads
from portal.core.access import get_or_404
from portal.core.uploads import StoredFile, absolute_path
from portal.extensions import db

bp = Blueprint("files", __name__)


@bp.record_once
def _upload_limits(state):
    """Every page's photo fields tell the browser the server's limits (forms.html)."""
    state.app.jinja_env.globals["upload_limits"] = uploads.limits()


def owners():
    """Which model owns files of each entity type (one explicit list)."""
    from portal.blueprints.complaints.models import Complaint
    from portal.blueprints.custody.models import MeterReading
    from portal.blueprints.renovation.models import Renovation
    from portal.blueprints.repairs.models import Repair

    return {
        "repairs": Repair,
        "complaints": Complaint,
        "meter_readings": MeterReading,
        "renovations": Renovation,
    }


def get_file_or_404(file_id) -> StoredFile:
    """A stored file, after the scoped loader has found its record (404 otherwise)."""
    row = db.session.get(StoredFile, file_id)
    model = owners().get(row.entity_type) if row else None
    if model is None:
        abort(404)
    get_or_404(model, row.entity_id)
    return row


def _send(path, mimetype, name):
    response = send_file(path, mimetype=mimetype, download_name=name, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


@bp.route("/<int:file_id>")
@login_required
def download(file_id):
    """A file, to whoever may see its record."""
    row = get_file_or_404(file_id)
    path = absolute_path(row)
    if not path.is_file():
        abort(404)
    return _send(path, row.content_type, row.original_name)


@bp.route("/<int:file_id>/thumbnail")
@login_required
def thumbnail(file_id):
    """A photo's small picture for lists and timelines, under the same check as the photo;
    made on first request for a photo stored before thumbnails existed."""
    row = get_file_or_404(file_id)
    path = uploads.thumbnail_path(row)
    if path is None:  # not a picture that shrinks: the original serves
        return download(file_id)
    return _send(path, uploads.thumbnail_type(row), row.original_name)
