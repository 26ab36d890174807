"""Printed notices: one PDF per building, one page per household (a background job)."""

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.blueprints.notices.services import audience_units
from portal.core import clock, settings
from portal.core.places import Estate, Unit
from portal.core.units import labels_for
from portal.extensions import db
from portal.jobs import Job, results_dir, set_progress
from portal.notify.models import Channel, Delivery, Notice, OutboxMessage
from portal.pdf import render_pdf


def print_notice_for_building(job: Job) -> None:
    """Render the notice for every household of one building in its audience, mark their
    printed-notice rows delivered, and keep the PDF as the job's result."""
    notice = db.session.get(Notice, job.params["notice_id"])
    estate = db.session.get(Estate, notice.estate_id)
    building_id = job.params["building_id"]
    audience = audience_units(estate, **notice.audience)
    labels = labels_for(
        select(Unit.id).where(Unit.building_id == building_id, Unit.id.in_(audience))
    )
    if not labels:
        raise ValueError(_("No household of this building is among the notice's recipients."))
    set_progress(job, 1, 3)
    with force_locale("zh_CN"):
        pdf = render_pdf(
            "notices/notice.html",
            notice=notice,
            estate=estate,
            units=list(labels.values()),
            hotline=settings.get("centre.hotline", estate.id),
        )
    set_progress(job, 2, 3)
    path = results_dir() / f"job-{job.id}.pdf"
    path.write_bytes(pdf)
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.notice_id == notice.id,
            OutboxMessage.channel == Channel.print,
            OutboxMessage.unit_id.in_(list(labels)),
            OutboxMessage.status != Delivery.delivered,
        )
        .values(status=Delivery.delivered, delivered_at=clock.now(), attempts=1)
    )
    job.result_path = str(path)
    job.result_name = f"notice-{notice.id}-building-{building_id}.pdf"
    db.session.commit()
