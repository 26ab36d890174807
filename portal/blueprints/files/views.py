"""Uploaded files, served only to whoever may see the record they belong to."""

from flask import Blueprint, abort, send_file
from flask_login import login_required

from portal.core.access import get_or_404
from portal.core.uploads import StoredFile, absolute_path
from portal.extensions import db

bp = Blueprint("files", __name__)


def owners():
    """Which model owns files of each entity type (one explicit list)."""
    from portal.blueprints.complaints.models import Complaint
    from portal.blueprints.repairs.models import Repair

    return {"repairs": Repair, "complaints": Complaint}


@bp.route("/<int:file_id>")
@login_required
def download(file_id):
    """A file, after the scoped loader has found its record (404 otherwise)."""
    row = db.session.get(StoredFile, file_id)
    model = owners().get(row.entity_type) if row else None
    if model is None:
        abort(404)
    get_or_404(model, row.entity_id)
    path = absolute_path(row)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=row.content_type,
        download_name=row.original_name,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, max-age=0"
    return response
