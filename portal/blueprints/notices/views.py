"""Notices: staff compose and follow them; everyone reads their inbox."""

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.blueprints.notices import services as service
from portal.blueprints.notices.forms import ActionForm, NoticeForm, PrintForm
from portal.core import access
from portal.core.access import DESK, STAFF, acting_estate, as_id, get_or_404, roles_required
from portal.core.errors import ServiceError
from portal.core.paging import paginate
from portal.core.places import Building, Unit, Zone
from portal.core.units import labels_for, natural_key
from portal.extensions import db
from portal.jobs import start_job
from portal.notify.models import Channel, InboxMessage, Notice

bp = Blueprint("notices", __name__)
PER_PAGE = 30
# Which form field shows a service error about an audience field.
ERROR_FIELDS = {
    "audience": "zones",
    "zone_ids": "zones",
    "building_ids": "buildings",
    "unit_ids": "zones",
}


def my_inbox_item_or_404(item_id) -> InboxMessage:
    """One message of the signed-in person's inbox, or 404."""
    return get_or_404(InboxMessage, item_id, scope=service.addressed_to(current_user))


def building_choices(estate_id, only=None):
    """The buildings of an estate (or those `only` selects) as "zone building" choices, in
    natural order (1栋, 2栋 … 10栋), in one query."""
    stmt = (
        select(Building.id, Zone.name, Building.name).join(Zone).where(Zone.estate_id == estate_id)
    )
    if only is not None:
        stmt = stmt.where(Building.id.in_(only))
    rows = sorted(db.session.execute(stmt), key=lambda r: (natural_key(r[1]), natural_key(r[2])))
    return [SelectChoice(building_id, f"{zone} {name}") for building_id, zone, name in rows]


def chosen_units(form) -> list[int]:
    """The unit ids a compose form carries (from "send a notice to this unit")."""
    return [unit_id for x in (form.units.data or "").split(",") if (unit_id := as_id(x))]


@bp.route("/")
@login_required
def index():
    """Staff: the notices sent in their estate. Residents: their inbox."""
    if not current_user.is_staff:
        page = paginate(service.inbox_for(current_user), per_page=PER_PAGE)
        return render_template("notices/inbox.html", page=page, form=ActionForm())
    page = paginate(service.visible_notices(current_user), per_page=PER_PAGE)
    return render_template(
        "notices/index.html",
        page=page,
        counts=service.outbox_summary([n.id for n in page.items]),
        estates=[] if current_user.estate_id else access.estates_for(current_user),
        can_send=current_user.role in DESK,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(DESK)
def new():
    """Compose a notice to the estate, zones, buildings or units."""
    estate = acting_estate(estate_id=request.args.get("estate", type=as_id))
    if estate is None:
        flash(_("Choose the estate the notice is for."), "info")
        return redirect(url_for("notices.index"))
    form = compose_form(estate)
    if form.validate_on_submit():
        try:
            notice = compose_from(form, estate)
        except ServiceError as exc:
            db.session.rollback()
            field = next(iter(exc.fields), "title")
            getattr(form, ERROR_FIELDS.get(field, field), form.title).errors.append(
                str(exc.message)
            )
        else:
            db.session.commit()
            flash(
                _("The notice is on its way to %(n)d households.", n=notice.households), "success"
            )
            return redirect(url_for("notices.detail", notice_id=notice.id))
    addressed = labels_for(chosen_units(form)) if form.units.data else {}
    return render_template(
        "notices/new.html", form=form, estate=estate, addressed=list(addressed.values())
    ), 400 if form.errors else 200


def compose_form(estate) -> NoticeForm:
    """The compose form with the estate's zones and buildings (and ?unit= addressed)."""
    form = NoticeForm()
    zones = db.session.scalars(
        select(Zone).where(Zone.estate_id == estate.id).order_by(Zone.name)
    ).all()
    form.zones.choices = [SelectChoice(z.id, z.name) for z in zones]
    form.buildings.choices = building_choices(estate.id)
    if request.method == "GET" and request.args.get("unit", type=as_id):
        form.units.data = str(request.args.get("unit", type=as_id))
    return form


def compose_from(form, estate):
    """Compose the notice a valid form describes (send time read in the estate's zone)."""
    send_at = form.send_at.data
    return service.compose_notice(
        current_user,
        estate=estate,
        title=form.title.data,
        body=form.body.data,
        channels=form.channels.data,
        zone_ids=form.zones.data,
        building_ids=form.buildings.data,
        unit_ids=chosen_units(form),
        urgent=form.urgent.data,
        requires_ack=form.requires_ack.data,
        send_at=send_at.replace(tzinfo=ZoneInfo(estate.timezone)) if send_at else None,
    )


@bp.route("/<int:notice_id>")
@roles_required(STAFF)
def detail(notice_id):
    """A notice with the state of every household and the call list."""
    notice = get_or_404(Notice, notice_id)
    rows = service.receipts(notice)
    print_form = PrintForm()
    print_form.building.choices = building_choices(
        notice.estate_id,
        only=select(Unit.building_id).where(
            Unit.id.in_(service.audience_units(notice.estate, **notice.audience))
        ),
    )
    return render_template(
        "notices/detail.html",
        Channel=Channel,
        notice=notice,
        rows=rows,
        calls=service.call_list(notice, rows) if notice.requires_ack else [],
        print_form=print_form,
        jobs=service.print_jobs(notice),
    )


@bp.route("/<int:notice_id>/print", methods=["POST"])
@roles_required(DESK)
def print_building(notice_id):
    """Start the job that prints the notice for one building."""
    notice = get_or_404(Notice, notice_id)
    form = PrintForm()
    if not form.validate_on_submit():
        abort(400)
    in_estate = Building.zone_id.in_(select(Zone.id).where(Zone.estate_id == notice.estate_id))
    building = get_or_404(Building, form.building.data, scope=in_estate)
    start_job(
        "notice_print",
        actor=current_user,
        estate_id=notice.estate_id,
        notice_id=notice.id,
        building_id=building.id,
    )
    db.session.commit()
    flash(_("The PDF job has started; it is listed below."), "info")
    return redirect(url_for("notices.detail", notice_id=notice.id))


@bp.route("/inbox/<int:item_id>")
@login_required
def message(item_id):
    """One message of my inbox; opening it marks it read."""
    item = my_inbox_item_or_404(item_id)
    service.mark_read(item)
    db.session.commit()
    return render_template("notices/message.html", item=item, form=ActionForm())


@bp.route("/inbox/<int:item_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(item_id):
    """Confirm that I have read a notice that asks for it."""
    item = my_inbox_item_or_404(item_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    service.acknowledge(item)
    db.session.commit()
    flash(_("Thank you, your confirmation has been recorded."), "success")
    return redirect(url_for("notices.message", item_id=item.id))


@bp.app_context_processor
def inbox_badge():
    """The bell's unread count for whoever is signed in (one COUNT query)."""
    if current_user and current_user.is_authenticated:
        return {"unread_count": service.unread_count(current_user)}
    return {"unread_count": 0}
