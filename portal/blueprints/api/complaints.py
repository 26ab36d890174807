"""API: complaints, inquiries and suggestions on the shared workflow (contracts §5)."""

from flask_login import current_user

from portal.blueprints.api import schemas as s
from portal.blueprints.api.blueprint import bp
from portal.blueprints.api.paging import page_of
from portal.blueprints.api.spec import route
from portal.blueprints.api.tickets import action_data, events_out
from portal.blueprints.complaints import services
from portal.blueprints.complaints.models import Complaint
from portal.blueprints.complaints.workflow import COMPLAINT
from portal.core.access import EVERYONE, get_or_404
from portal.extensions import db


def complaint_out(c: Complaint, cls=s.ComplaintOut, **extra):
    return cls(
        id=c.id,
        number=c.number,
        kind=c.kind,
        status=c.status,
        created_at=c.created_at,
        updated_at=c.updated_at,
        unit_id=c.unit_id,
        category=c.category,
        channel=c.channel,
        content=c.content,
        reporter_id=c.reporter_id,
        owner_id=c.owner_id,
        reply_due_at=c.due_at,
        first_reply_at=c.first_reply_at,
        valid=c.valid,
        department=c.department,
        plan=c.plan,
        result=c.result,
        reply=c.reply,
        resident_accepted=c.resident_accepted,
        visit_result=c.visit_result,
        allowed_actions=COMPLAINT.allowed(c, current_user),
        **extra,
    )


def complaint_detail(c: Complaint):
    return complaint_out(c, s.ComplaintDetailOut, events=events_out(c))


@route(
    bp,
    "/complaints",
    method="POST",
    roles=EVERYONE,
    summary="Register a complaint, inquiry or suggestion",
    body=s.ComplaintIn,
    response=s.ComplaintDetailOut,
    status=201,
    errors=(404, 409),
    tags=("complaints",),
)
def create_complaint(body):
    """Register it; the registering person is its first-contact owner. The same idempotency
    key again answers with the first complaint; with other values, 409."""
    complaint = services.register_complaint(current_user, **body.model_dump())
    db.session.commit()
    return complaint_detail(complaint)


@route(
    bp,
    "/complaints",
    roles=EVERYONE,
    summary="Complaints the caller may see, newest first",
    query=s.ComplaintQuery,
    response=s.ComplaintPage,
    tags=("complaints",),
)
def list_complaints(query):
    """List complaints with filters."""
    stmt = services.complaints_for(
        current_user,
        status=query.status,
        category=query.category,
        unit_id=query.unit_id,
        kind=query.kind,
    )
    return page_of(stmt, query, complaint_out)


@route(
    bp,
    "/complaints/<int:complaint_id>",
    summary="One complaint with its history",
    response=s.ComplaintDetailOut,
    errors=(404,),
    tags=("complaints",),
)
def get_complaint(complaint_id):
    """A complaint in the caller's scope, with its events."""
    return complaint_detail(get_or_404(Complaint, complaint_id))


@route(
    bp,
    "/complaints/<int:complaint_id>/<action>",
    method="POST",
    summary="Take an "
    "action: assess, answer, investigate, propose, approve, send-back, resolve, respond, "
    "return-visit, close, progress-reply, hand-over",
    response=s.ComplaintDetailOut,
    errors=(403, 404, 409),
    tags=("complaints",),
)
def complaint_action(complaint_id, action):
    """Apply a workflow action; 409 names the actions the state allows."""
    complaint = get_or_404(Complaint, complaint_id)
    services.act(complaint, action, actor=current_user, data=action_data())
    db.session.commit()
    return complaint_detail(complaint)
