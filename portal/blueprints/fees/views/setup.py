"""Billing runs, and fee items with their rates (the manager's set-up pages)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import clock
from portal.core.access import COUNTER, MANAGERS, acting_estate_id, get_or_404, roles_required
from portal.core.errors import ServiceError
from portal.core.money import parse_yuan
from portal.core.places import Occupancy, UnitKind
from portal.extensions import db

from .. import billing, rules
from ..forms import ItemForm, RateForm, RunForm
from ..models import BillingRun, FeeItem
from .blueprint import bp


@bp.route("/runs", methods=["GET", "POST"])
@roles_required(MANAGERS)
def runs():
    """Start a billing run for a month; the list of earlier runs with their summaries."""
    estate_id = acting_estate_id()
    form = RunForm()
    if request.method == "GET" and not form.period.data:
        form.period.data = clock.local_today().strftime("%Y-%m")
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            run = billing.start_run(estate_id, form.period.data, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            form.period.errors = [*form.period.errors, str(exc.message)]
            status = exc.status
        else:
            db.session.commit()
            flash(_("The billing run for %(period)s has started.", period=run.period), "success")
            return redirect(url_for(".run_detail", run_id=run.id), 303)
    past = billing.recent_runs(estate_id)
    return render_template("fees/runs.html", form=form, runs=past), status


@bp.route("/runs/<int:run_id>")
@roles_required(MANAGERS)
def run_detail(run_id):
    """A run's progress, then its summary: what was billed and why."""
    from portal.jobs import Job

    run = get_or_404(BillingRun, run_id)
    return render_template(
        "fees/run.html",
        run=run,
        job=db.session.get(Job, run.job_id) if run.job_id else None,
        items=billing.item_names(run.estate_id),
        occupancy_label=lambda c: Occupancy(c).label,
    )


def items_page(form: ItemForm, status: int = 200):
    """The items page around an item form (fresh, or with its errors)."""
    return render_template(
        "fees/items.html",
        items=rules.items_of(acting_estate_id()),
        form=form,
        rate_form=RateForm(),
        can_edit=current_user.role in MANAGERS,
        occupancy_label=lambda c: Occupancy(c).label,
        kind_label=lambda k: UnitKind(k).label,
        today=clock.local_today(),
    ), status


@bp.route("/items", methods=["GET", "POST"])
@roles_required(COUNTER)
def items():
    """Fee items with their rates by category and date; managers add items and rates."""
    if request.method == "GET":
        return items_page(ItemForm())
    if current_user.role not in MANAGERS:
        abort(403)
    return add_item()


def add_item():
    """Add a fee item with its first rate (the standard items come with the estate)."""
    estate_id = acting_estate_id()
    form = ItemForm()
    if not form.validate_on_submit():
        return items_page(form, 400)
    try:
        rules.create_item(
            estate_id,
            code=form.code.data,
            name=form.name.data,
            basis=form.basis.data,
            unit_kind=form.unit_kind.data,
            rate_fen=parse_yuan(form.rate.data, field="rate", allow_zero=True),
            effective_on=form.effective_on.data,
            actor=current_user,
        )
    except ServiceError as exc:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(exc.message)]
        return items_page(form, 400)
    db.session.commit()
    flash(_("Fee item added."), "success")
    return redirect(url_for(".items"), 303)


@bp.route("/items/<int:fee_item_id>/rates", methods=["POST"])
@roles_required(MANAGERS)
def add_rate(fee_item_id):
    """A new rate from a date (rates are never edited; the history stays)."""
    item = get_or_404(FeeItem, fee_item_id)
    form = RateForm()
    if not form.validate_on_submit():
        flash(_("Give the rate and the date it takes effect."), "danger")
        return redirect(url_for(".items"), 303)
    try:
        rules.add_rate(
            item,
            rate_fen=parse_yuan(form.rate.data, field="rate", allow_zero=True),
            effective_on=form.effective_on.data,
            occupancy=form.occupancy.data or None,
            actor=current_user,
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".items"), 303)
    db.session.commit()
    flash(_("Rate added."), "success")
    return redirect(url_for(".items"), 303)
