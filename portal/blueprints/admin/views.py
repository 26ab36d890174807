"""Administration: imports (managers), staff accounts and settings (admins), audit log."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.blueprints.admin import audit_log
from portal.blueprints.admin.forms import (
    DeactivateForm,
    ImportForm,
    ReactivateForm,
    ResetPasswordForm,
    RetryForm,
    RoleForm,
    SecondFactorResetForm,
    SettingForm,
    StaffForm,
)
from portal.core import accounts, settings, staff_accounts
from portal.core import second_factor as two_step
from portal.core.access import admins_only, estates_for, get_or_404, managers_only, visible
from portal.core.audit import ACTION_LABELS
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
    estates = estate_choices(form)
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


def estate_choices(form) -> list:
    """Offer the caller's estates (and company-wide) in a form's estate field; the estates."""
    estates = sorted(estates_for(current_user), key=lambda e: e.name)
    form.estate.choices = [SelectChoice(0, _("All estates (company-wide)"))] + [
        SelectChoice(e.id, e.name) for e in estates
    ]
    return estates


def render_account(user, *, role_form=None, reset_form=None, password=None, status=200):
    """One staff account's page, with its forms (those given keep what was typed)."""
    if role_form is None:
        staff = user.staff_role
        role_form = RoleForm(formdata=None, role=staff.role, estate=staff.estate_id or 0)
        estate_choices(role_form)
    page = render_template(
        "admin/user.html",
        user=user,
        role_form=role_form,
        reset_form=reset_form or ResetPasswordForm(formdata=None),
        active_form=DeactivateForm(formdata=None)
        if user.is_active
        else ReactivateForm(formdata=None),
        temporary_password=password,
        second_factor_on=two_step.is_enabled(user),
        second_factor_form=SecondFactorResetForm(formdata=None),
    )
    return page, status


@bp.route("/users/<int:user_id>")
@admins_only
def user_detail(user_id):
    """A staff account: its role, whether it may sign in, and a password reset."""
    return render_account(staff_accounts.staff_account_or_404(user_id, current_user))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admins_only
def change_role(user_id):
    """Give a staff member another role or estate (audited)."""
    user = staff_accounts.staff_account_or_404(user_id, current_user)
    form = RoleForm()
    estates = estate_choices(form)
    if form.validate_on_submit():
        estate = next((e for e in estates if e.id == form.estate.data), None)
        try:
            changed = staff_accounts.change_staff_role(
                user, form.role.data, estate=estate, actor=current_user
            )
        except ServiceError as exc:
            db.session.rollback()
            field = next(iter(exc.fields), "role")
            getattr(form, field, form.role).errors.append(str(exc.message))
        else:
            db.session.commit()
            if changed:
                flash(
                    _("%(name)s is now %(role)s.", name=user.name, role=user.role.label), "success"
                )
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_account(user, role_form=form, status=400)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admins_only
def deactivate_user(user_id):
    """Close a staff account: signed out everywhere at once, sign-in refused (audited)."""
    user = staff_accounts.staff_account_or_404(user_id, current_user)
    if not DeactivateForm().validate_on_submit():
        abort(400)
    return _account_change(
        user,
        staff_accounts.deactivate_staff,
        _("%(name)s's account is deactivated and signed out everywhere.", name=user.name),
    )


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@admins_only
def reactivate_user(user_id):
    """Open a closed staff account again (audited)."""
    user = staff_accounts.staff_account_or_404(user_id, current_user)
    if not ReactivateForm().validate_on_submit():
        abort(400)
    return _account_change(
        user,
        staff_accounts.reactivate_staff,
        _("%(name)s's account is active again.", name=user.name),
    )


def _account_change(user, change, done: str):
    """Apply a change to an account, commit, and say how it went on the account's page."""
    try:
        change(user, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/second-factor", methods=["POST"])
@admins_only
def reset_second_factor(user_id):
    """Remove a lost second factor: the phone and the recovery codes are gone (audited)."""
    user = staff_accounts.staff_account_or_404(user_id, current_user)
    if user.id == current_user.id or not SecondFactorResetForm().validate_on_submit():
        abort(400)
    return _account_change(
        user,
        two_step.reset_by_administrator,
        _(
            "%(name)s's two-step sign-in is removed; they are signed out everywhere.",
            name=user.name,
        ),
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@admins_only
def reset_password(user_id):
    """Set a temporary password, shown once; the person chooses their own at next sign-in."""
    user = staff_accounts.staff_account_or_404(user_id, current_user)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password = staff_accounts.reset_staff_password(
                user, form.password.data or None, actor=current_user
            )
        except ServiceError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc.message))
        else:
            db.session.commit()
            return render_account(user, password=password)
    return render_account(user, reset_form=form, status=400)


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
    """Audited changes in the caller's estates, in words, filtered by person, kind and day."""
    people = audit_log.people_for(current_user)
    filters = audit_log.read_filters(request.args, people)
    page = paginate(audit_log.entries_statement(current_user, filters), per_page=audit_log.PER_PAGE)
    actors = dict(
        db.session.execute(
            select(User.id, User.name).where(
                User.id.in_({e.actor_id for e in page.items if e.actor_id})
            )
        ).all()
    )
    return render_template(
        "admin/audit.html",
        page=page,
        lines=audit_log.describe(page.items),
        actors=actors,
        people=people,
        kinds=sorted(
            ((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda k: k[1]
        ),
        filters=filters,
    ), 400 if filters.errors else 200
