"""API: my inbox, staff notices with their receipts, and job progress."""

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.notices import services as service
from portal.core.access import DESK, acting_estate, get_or_404
from portal.core.errors import ServiceError
from portal.extensions import db
from portal.jobs import Job, JobStatus, visible_jobs
from portal.notify.models import InboxMessage, Notice


def inbox_item_out(item) -> s.InboxItemOut:
    return s.InboxItemOut.model_validate(item, from_attributes=True)


def notice_out(notice) -> s.NoticeOut:
    return s.NoticeOut.model_validate(notice, from_attributes=True)


@route(
    bp,
    "/notices",
    summary="My inbox, newest first",
    query=s.PageQuery,
    response=s.InboxPage,
    tags=("notices",),
)
def list_inbox(query):
    """The caller's in-app messages."""
    return page_of(service.inbox_for(current_user), query, inbox_item_out)


def _my_item(item_id):
    return get_or_404(InboxMessage, item_id, scope=service.addressed_to(current_user))


@route(
    bp,
    "/notices/<int:item_id>/read",
    method="POST",
    summary="Mark one of my messages read (the id is the inbox item's)",
    response=s.InboxItemOut,
    errors=(404,),
    tags=("notices",),
)
def read_inbox_item(item_id):
    """Mark an inbox item read."""
    item = service.mark_read(_my_item(item_id))
    db.session.commit()
    return inbox_item_out(item)


@route(
    bp,
    "/notices/<int:item_id>/acknowledge",
    method="POST",
    summary="Confirm a notice that asks for it",
    response=s.InboxItemOut,
    errors=(404, 409),
    tags=("notices",),
)
def acknowledge_inbox_item(item_id):
    """Acknowledge an inbox item that requires it."""
    item = service.acknowledge(_my_item(item_id))
    db.session.commit()
    return inbox_item_out(item)


@route(
    bp,
    "/notices",
    method="POST",
    summary="Send a notice (staff)",
    body=s.NoticeIn,
    response=s.NoticeOut,
    status=201,
    roles=DESK,
    tags=("notices",),
)
def create_notice(body):
    """Compose a notice to the estate, zones, buildings or units."""
    if current_user.is_company_wide and body.estate_id is None:
        raise ServiceError(_l("Name the estate."), fields={"estate_id": "required"})
    estate = acting_estate(estate_id=body.estate_id)
    notice = service.compose_notice(
        current_user,
        estate=estate,
        title=body.title,
        body=body.body,
        channels=body.channels,
        zone_ids=body.zone_ids,
        building_ids=body.building_ids,
        unit_ids=body.unit_ids,
        urgent=body.urgent,
        requires_ack=body.requires_ack,
        send_at=body.send_at,
    )
    db.session.commit()
    return notice_out(notice)


@route(
    bp,
    "/notices/<int:notice_id>/receipts",
    summary="Per household: delivered, read, acknowledged (staff)",
    response=s.ReceiptsOut,
    roles=DESK,
    errors=(404,),
    tags=("notices",),
)
def notice_receipts(notice_id):
    """Receipts of one notice, per household."""
    notice = get_or_404(Notice, notice_id)
    rows = service.receipts(notice)
    items = [
        s.ReceiptOut(
            read=r["read_at"] is not None, acknowledged=r["acknowledged_at"] is not None, **r
        )
        for r in rows
    ]
    return s.ReceiptsOut(
        notice_id=notice.id,
        households=len(items),
        delivered=sum(i.delivered for i in items),
        read=sum(i.read for i in items),
        acknowledged=sum(i.acknowledged for i in items),
        items=items,
    )


@route(
    bp,
    "/jobs/<int:job_id>",
    summary="A background job's progress",
    response=s.JobOut,
    errors=(404,),
    tags=("jobs",),
)
def get_job(job_id):
    """Status and progress of a job the caller started or may see."""
    job = get_or_404(Job, job_id, scope=visible_jobs(current_user))
    result_url = None
    if job.status == JobStatus.finished and job.result_path:
        result_url = url_for("jobs.result", job_id=job.id)
    elif job.status == JobStatus.finished and job.kind == "billing_run":
        result_url = url_for("fees.run_detail", run_id=job.params["run_id"])
    return s.JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        error=job.error,
        result_url=result_url,
    )
