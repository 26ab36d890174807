"""Administration: imports (managers), staff accounts and settings (admins), audit log."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.blueprints.admin.forms import ImportForm, RetryForm, SettingForm, StaffForm
from portal.core import accounts, settings
from portal.core.access import admins_only, estates_for, get_or_404, managers_only, visible
from portal.core.audit import AuditEntry
from portal.core.errors import ServiceError
from portal.core.imports import run_import
from portal.core.paging import paginate
from portal.core.people import User
from portal.extensions import db
from portal.notify.models import Delivery, OutboxMessage
from portal.notify.outbox import retry_failed

bp = Blueprint("admin", __name__)
IMPORT_MAX_BYTES = 20 * 1024 * 1024


@bp.route("/imports", methods=["GET", "POST"])
@managers_only
def imports():
    """Upload units or residents; every bad row is listed and nothing is written."""
    if request.method == "POST" and (request.content_length or 0) > IMPORT_MAX_BYTES:
        abort(413)
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        estate = current_user.estate
        try:
            report = run_import(
                form.kind.data,
                upload.filename,
                upload.read(),
                estate_name=estate.name if estate else None,
                actor=current_user,
                dry_run=bool(form.check.data),
            )
        except ServiceError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc.message))
        else:
            if report.ok and not form.check.data:
                db.session.commit()
                flash_imported(report)
                return redirect(url_for("admin.imports"))
            db.session.rollback()
    status = 400 if (report and not report.ok) or form.errors else 200
    return render_template("admin/imports.html", form=form, report=report), status


def flash_imported(report) -> None:
    """Say what an import wrote."""
    flash(
        _(
            "Imported %(rows)d rows: %(c)d created, %(u)d updated, %(n)d unchanged.",
            rows=report.rows,
            c=report.created,
            u=report.updated,
            n=report.unchanged,
        ),
        "success",
    )


@bp.route("/users", methods=["GET", "POST"])
@admins_only
def users():
    """Staff accounts with their roles; create a new one."""
    form = StaffForm()
    estates = sorted(estates_for(current_user), key=lambda e: e.name)
    form.estate.choices = [SelectChoice(0, _("All estates (company-wide)"))] + [
        SelectChoice(e.id, e.name) for e in estates
    ]
    if form.validate_on_submit():
        estate = next((e for e in estates if e.id == form.estate.data), None)
        try:
            accounts.create_staff(
                form.username.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                estate=estate,
                phone=form.phone.data or None,
                actor=current_user,
            )
        except ServiceError as exc:
            db.session.rollback()
            field = next(iter(exc.fields), "username")
            getattr(form, field, form.username).errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Account %(u)s created.", u=form.username.data), "success")
            return redirect(url_for("admin.users"))
    staff = accounts.staff_accounts(current_user)
    return render_template("admin/users.html", form=form, staff=staff), 400 if form.errors else 200


@bp.route("/settings", methods=["GET"])
@admins_only
def settings_index():
    """Every declared setting with its current value."""
    values = {key: settings.get(key, current_user.estate_id) for key in settings.REGISTRY}
    return render_template("admin/settings.html", registry=settings.REGISTRY, values=values)


@bp.route("/settings/<key>", methods=["GET", "POST"])
@admins_only
def setting_edit(key):
    """Change one setting; the change is audited."""
    decl = settings.REGISTRY.get(key) or abort(404)
    form = SettingForm()
    if request.method == "GET":
        form.value.data = str(settings.get(key, current_user.estate_id))
    if form.validate_on_submit():
        try:
            value = settings.parse(key, form.value.data)
            settings.set_value(key, value, actor=current_user, estate_id=current_user.estate_id)
        except ServiceError as exc:
            db.session.rollback()
            form.value.errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Setting saved."), "success")
            return redirect(url_for("admin.settings_index"))
    return render_template(
        "admin/setting_edit.html", form=form, decl=decl
    ), 400 if form.errors else 200


@bp.route("/deliveries")
@admins_only
def deliveries():
    """Deliveries that failed for good, with their reasons and a retry button."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == Delivery.failed, visible(OutboxMessage, current_user))
        .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc())
    )
    page = paginate(stmt, per_page=50)
    return render_template("admin/deliveries.html", page=page, form=RetryForm())


@bp.route("/deliveries/<int:outbox_id>/retry", methods=["POST"])
@admins_only
def retry_delivery(outbox_id):
    """Send a failed delivery again, with a fresh set of attempts."""
    message = get_or_404(OutboxMessage, outbox_id, where=[OutboxMessage.status == Delivery.failed])
    if not RetryForm().validate_on_submit():
        abort(400)
    retry_failed(message.id, actor=current_user)
    db.session.commit()
    flash(_("The delivery will be tried again."), "success")
    return redirect(url_for("admin.deliveries"))


@bp.route("/audit")
@managers_only
def audit():
    """Recent audited changes in the caller's estates."""
    stmt = (
        select(AuditEntry)
        .where(
            visible(AuditEntry, current_user)
            | (AuditEntry.estate_id.is_(None) if current_user.is_company_wide else False)
        )
        .order_by(AuditEntry.id.desc())
    )
    page = paginate(stmt, per_page=50)
    actors = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.actor_id for e in page.items if e.actor_id}))
        )
    }
    return render_template("admin/audit.html", page=page, actors=actors)
