"""Background jobs as users see them: the result file, behind a permission check."""

from pathlib import Path

from flask import Blueprint, abort, send_file
from flask_login import current_user, login_required

from portal.core.access import get_or_404
from portal.jobs import Job, JobStatus, visible_jobs

bp = Blueprint("jobs", __name__)


@bp.route("/<int:job_id>/result")
@login_required
def result(job_id):
    """Download what a finished job made (a PDF, a spreadsheet)."""
    job = get_or_404(Job, job_id, scope=visible_jobs(current_user))
    if (
        job.status != JobStatus.finished
        or not job.result_path
        or not Path(job.result_path).is_file()
    ):
        abort(404)
    return send_file(job.result_path, as_attachment=True, download_name=job.result_name)
