"""Large report PDFs are printed by a job: the request that asks for one answers at once and
the report's page shows the job's progress, then the download. WeasyPrint lays out a table
of 500 rows in about 12 s, longer than a request may hold a web worker."""

from flask_babel import force_locale

from portal.core.people import User
from portal.extensions import db
from portal.jobs import Job, JobStatus, results_dir, start_job
from portal.pdf import render_pdf

# A report with more rows than this (receipts of a day, complaints in the register) is
# printed through a job.
PDF_INLINE_MAX = 200


def prints_by_job(rows: int) -> bool:
    """Whether a report with `rows` rows is printed by a job."""
    return rows > PDF_INLINE_MAX


def printouts(actor, kind: str, estate_id: int, **params) -> list[Job]:
    """The actor's latest printouts of this report (kind and parameters), newest first."""
    recent = db.session.scalars(
        db.select(Job)
        .where(Job.kind == kind, Job.estate_id == estate_id, Job.created_by_id == actor.id)
        .order_by(Job.id.desc())
        .limit(20)
    )
    return [job for job in recent if all(job.params.get(k) == v for k, v in params.items())][:3]


def start_printout(actor, kind: str, estate_id: int, **params) -> Job:
    """Print the report as a job; a printout of the same report still under way is reused
    (a reload starts nothing new)."""
    for job in printouts(actor, kind, estate_id, **params):
        if job.status in (JobStatus.queued, JobStatus.running):
            return job
    return start_job(kind, actor=actor, estate_id=estate_id, **params)


def printer_of(job: Job) -> User | None:
    """Who asked for the printout (it is printed in their language and with their view)."""
    return db.session.get(User, job.created_by_id) if job.created_by_id else None


def print_to_result(job: Job, template: str, name: str, **context) -> None:
    """Render the report's PDF in its printer's language and keep it as the job's result."""
    printer = printer_of(job)
    with force_locale((printer and printer.locale) or "zh_CN"):
        pdf = render_pdf(template, **context)
    path = results_dir() / f"job-{job.id}.pdf"
    path.write_bytes(pdf)
    job.result_path, job.result_name = str(path), name
    db.session.commit()
