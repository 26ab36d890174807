"""Background jobs as users see them: the result file, behind a permission check."""

from pathlib import Path

from flask import Blueprint, abort, send_file
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core.access import estate_ids_for
from portal.core.places import Estate
from portal.extensions import db
from portal.jobs import Job, JobStatus

bp = Blueprint("jobs", __name__)


def get_job_or_404(job_id) -> Job:
    """A job its creator, or staff of its estate, may see; anyone else gets 404."""
    job = db.session.get(Job, job_id)
    if job is None or not current_user.is_authenticated:
        abort(404)
    if job.created_by_id == current_user.id:
        return job
    if (
        current_user.is_staff
        and job.estate_id is not None
        and db.session.scalar(
            select(Estate.id).where(Estate.id == job.estate_id, estate_ids_for(current_user))
        )
    ):
        return job
    abort(404)


@bp.route("/<int:job_id>/result")
@login_required
def result(job_id):
    """Download what a finished job made (a PDF, a spreadsheet)."""
    job = get_job_or_404(job_id)
    if (
        job.status != JobStatus.finished
        or not job.result_path
        or not Path(job.result_path).is_file()
    ):
        abort(404)
    return send_file(job.result_path, as_attachment=True, download_name=job.result_name)
