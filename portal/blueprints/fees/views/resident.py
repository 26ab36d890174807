"""Residents: my bills, paying online (with the sandbox provider's page) and my orders."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import RESIDENTS, as_id, get_or_404, roles_required
from portal.core.errors import ServiceError
from portal.core.money import parse_yuan, yuan
from portal.core.places import Unit
from portal.extensions import db

from .. import online
from ..accounts import recent_orders, resident_accounts
from ..forms import PayOnlineForm, SandboxForm
from ..models import OnlineOrder, OrderStatus
from .blueprint import bp


def order_labels():
    return {
        OrderStatus.pending: _("Waiting for confirmation"),
        OrderStatus.succeeded: _("Paid"),
        OrderStatus.failed: _("Failed"),
        OrderStatus.expired: _("Expired"),
    }


@bp.route("/mine")
@roles_required(RESIDENTS)
def mine():
    """The resident's bills per unit, credit, receipts and the pay button."""
    accounts = resident_accounts(current_user)
    for entry in accounts:
        owed = entry["balance"].owed_fen
        entry["form"] = PayOnlineForm(unit_id=entry["unit"].id, amount=yuan(owed or None))
    return render_template(
        "fees/mine.html",
        accounts=accounts,
        orders=recent_orders(current_user),
        order_labels=order_labels(),
    )


@bp.route("/pay", methods=["POST"])
@roles_required(RESIDENTS)
def pay_online():
    """Start an online payment for one of the resident's units."""
    form = PayOnlineForm()
    if not form.validate_on_submit() or as_id(form.unit_id.data) is None:
        flash(_("Enter the amount to pay."), "danger")
        return redirect(url_for(".mine"), 303)
    unit = get_or_404(Unit, as_id(form.unit_id.data))
    try:
        order = online.create_order(current_user, unit, parse_yuan(form.amount.data))
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".mine"), 303)
    db.session.commit()
    return redirect(online.provider(order.provider).checkout_url(order), 303)


def my_order_or_404(order_no) -> OnlineOrder:
    """One of the signed-in resident's own online orders, by its number."""
    mine_only = OnlineOrder.user_id == current_user.id
    return get_or_404(OnlineOrder, order_no, by=OnlineOrder.order_no, scope=mine_only)


@bp.route("/orders/<order_no>")
@roles_required(RESIDENTS)
def order(order_no):
    """Where an online payment stands: paid (with the receipt), failed, or waiting."""
    return render_template("fees/order.html", order=my_order_or_404(order_no))


@bp.route("/sandbox/<order_no>", methods=["GET", "POST"])
@roles_required(RESIDENTS)
def sandbox_checkout(order_no):
    """The sandbox provider's payment page (stands in for WeChat Pay or Alipay)."""
    found = my_order_or_404(order_no)
    if found.provider != "sandbox":
        abort(404)
    form = SandboxForm()
    pressed = form.succeed.data or form.fail.data or form.timeout.data
    if form.validate_on_submit() and pressed and found.status == OrderStatus.pending:
        if form.timeout.data:
            return redirect(url_for(".order", order_no=found.order_no), 303)
        payload = online.PROVIDERS["sandbox"].answer(found, succeeded=bool(form.succeed.data))
        return redirect(url_for(".pay_return", provider="sandbox", **payload), 303)
    return render_template("fees/sandbox.html", order=found, form=form)


@bp.route("/pay/return/<provider>")
@roles_required(RESIDENTS)
def pay_return(provider):
    """The provider sends the payer back with its signed answer; it is checked and
    recorded like the server-to-server notification."""
    payload = {k: request.args.get(k, "") for k in online.SIGNED_FIELDS}
    try:
        found = online.handle_notification(provider, payload, request.args.get("sign", ""))
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".mine"), 303)
    if found.user_id != current_user.id:
        abort(404)
    db.session.commit()
    return redirect(url_for(".order", order_no=found.order_no), 303)
