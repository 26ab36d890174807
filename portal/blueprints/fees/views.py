"""Fee pages: the counter, the unit's account, receipts, the cash report (日结), billing
runs, fee items and rates, and the resident's bills with online payment."""

import uuid
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.core import clock
from portal.core.access import estate_ids_for, get_or_404, roles_required, visible
from portal.core.errors import ServiceError
from portal.core.money import chinese_upper, parse_yuan, yuan
from portal.core.people import Role, User, current_unit_ids_query
from portal.core.places import Building, Estate, Occupancy, Unit, UnitKind
from portal.extensions import db

from . import billing, ledger, online, prepay, rules
from .forms import (
    ItemForm,
    PaymentForm,
    PayOnlineForm,
    PrepayForm,
    RateForm,
    ReasonForm,
    RunForm,
    SandboxForm,
)
from .models import (
    METHOD_LABELS,
    Bill,
    BillingRun,
    FeeItem,
    Method,
    OnlineOrder,
    OrderStatus,
    Payment,
)

bp = Blueprint("fees", __name__)

CASHIERS = (Role.frontdesk, Role.supervisor, Role.manager, Role.admin)
CORRECTORS = (Role.supervisor, Role.manager, Role.admin)
MANAGERS = (Role.manager, Role.admin)


@bp.app_template_filter("yuan")
def yuan_filter(fen):
    return yuan(fen)


def unit_with_place(unit_id):
    return get_or_404(Unit, unit_id, options=[joinedload(Unit.building).joinedload(Building.zone)])


def account(unit: Unit, *, bills_limit=24, payments_limit=20) -> dict:
    """Everything the account page shows for one unit, in a fixed number of queries."""
    balance = ledger.balance(unit.id)
    bills = db.session.scalars(
        select(Bill)
        .where(Bill.unit_id == unit.id)
        .options(joinedload(Bill.item), joinedload(Bill.reversal))
        .order_by(Bill.due_on.desc(), Bill.id.desc())
        .limit(bills_limit)
    ).all()
    paid = ledger.paid_on_bills([b.id for b in bills])
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.unit_id == unit.id)
        .order_by(Payment.id.desc())
        .limit(payments_limit)
    ).all()
    reversed_ids = set(
        db.session.scalars(
            select(Payment.reverses_id).where(Payment.reverses_id.in_([p.id for p in payments]))
        )
    )
    rows = []
    for b in bills:
        owed = 0 if b.reversal else b.amount_fen - paid.get(b.id, 0)
        status = "withdrawn" if b.reversal else ("paid" if owed <= 0 else "open")
        rows.append({"bill": b, "paid": paid.get(b.id, 0), "owed": owed, "status": status})
    return {
        "balance": balance,
        "bills": rows,
        "open_bills": [r for r in rows if r["status"] == "open"],
        "payments": payments,
        "reversed_ids": reversed_ids,
        "today": clock.local_today(),
    }


def new_key() -> str:
    return uuid.uuid4().hex


# --- The counter (front desk) ---------------------------------------------------------


@bp.route("/units/<int:unit_id>", methods=["GET"])
@roles_required(*CASHIERS, Role.zone_butler, Role.inspector)
def unit_account(unit_id):
    """A unit's account at the counter: what it owes, its credit, bills and receipts."""
    unit = unit_with_place(unit_id)
    data = account(unit)
    form = PaymentForm(idempotency_key=new_key())
    if data["balance"].owed_fen:
        form.amount.data = yuan(data["balance"].owed_fen)
    offer = prepay.offer(unit)
    return render_template(
        "fees/account.html",
        unit=unit,
        form=form,
        prepay_form=PrepayForm(idempotency_key=new_key()),
        reason_form=ReasonForm(),
        offer=offer,
        can_take=current_user.role in CASHIERS,
        can_correct=current_user.role in CORRECTORS,
        can_withdraw=current_user.role in MANAGERS,
        **data,
    )


@bp.route("/units/<int:unit_id>/pay", methods=["POST"])
@roles_required(*CASHIERS)
def take_payment(unit_id):
    """Take a payment at the counter; a double submit (same hidden key) is one payment."""
    unit = unit_with_place(unit_id)
    form = PaymentForm()
    if form.validate_on_submit():
        try:
            fen = parse_yuan(form.amount.data)
            payment, created = ledger.record_payment(
                unit,
                fen,
                form.method.data,
                actor=current_user,
                source="counter",
                idempotency_key=f"counter:{form.idempotency_key.data}",
                payer_name=form.payer_name.data,
                reference=form.reference.data,
            )
        except ServiceError as exc:
            db.session.rollback()
            form.amount.errors = list(form.amount.errors) + [str(exc.message)]
        else:
            db.session.commit()
            flash(
                _(
                    "Payment of %(amount)s yuan taken: receipt %(number)s.",
                    amount=yuan(fen),
                    number=payment.receipt_number,
                )
                if created
                else _(
                    "This payment was already taken: receipt %(number)s.",
                    number=payment.receipt_number,
                ),
                "success",
            )
            return redirect(
                url_for(".unit_account", unit_id=unit.id, receipt=payment.receipt_number), 303
            )
    data = account(unit)
    return (
        render_template(
            "fees/account.html",
            unit=unit,
            form=form,
            prepay_form=PrepayForm(idempotency_key=new_key()),
            reason_form=ReasonForm(),
            offer=prepay.offer(unit),
            can_take=True,
            can_correct=current_user.role in CORRECTORS,
            can_withdraw=current_user.role in MANAGERS,
            **data,
        ),
        400,
    )


@bp.route("/units/<int:unit_id>/prepay", methods=["POST"])
@roles_required(*CASHIERS)
def take_prepayment(unit_id):
    """Bill the next twelve months with the free months and take the payment."""
    unit = unit_with_place(unit_id)
    form = PrepayForm()
    if not form.validate_on_submit():
        flash(_("Choose how the year is paid."), "danger")
        return redirect(url_for(".unit_account", unit_id=unit.id), 303)
    try:
        offer, payment = prepay.take(
            unit,
            method=form.method.data,
            actor=current_user,
            idempotency_key=f"prepay:{form.idempotency_key.data}",
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".unit_account", unit_id=unit.id), 303)
    db.session.commit()
    flash(
        _(
            "A year paid in advance: %(amount)s yuan, %(free)d months free. Receipt %(number)s.",
            amount=yuan(payment.amount_fen),
            free=offer.free_months,
            number=payment.receipt_number,
        ),
        "success",
    )
    return redirect(url_for(".unit_account", unit_id=unit.id, receipt=payment.receipt_number), 303)


@bp.route("/payments/<int:payment_id>/reverse", methods=["POST"])
@roles_required(*CORRECTORS)
def reverse_payment(payment_id):
    """Reverse a payment (红冲) with a reason: the bills it paid reopen."""
    payment = get_or_404(Payment, payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why the payment is reversed."), "danger")
        return redirect(url_for(".unit_account", unit_id=payment.unit_id), 303)
    try:
        reversal = ledger.reverse_payment(payment, reason=form.reason.data, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".unit_account", unit_id=payment.unit_id), 303)
    db.session.commit()
    flash(
        _(
            "Receipt %(number)s reversed by %(reversal)s.",
            number=payment.receipt_number,
            reversal=reversal.receipt_number,
        ),
        "success",
    )
    return redirect(url_for(".unit_account", unit_id=payment.unit_id), 303)


@bp.route("/bills/<int:bill_id>/withdraw", methods=["POST"])
@roles_required(*MANAGERS)
def withdraw_bill(bill_id):
    """Withdraw a wrong bill with a reason: what was paid on it becomes credit."""
    bill = get_or_404(Bill, bill_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why the bill is withdrawn."), "danger")
        return redirect(url_for(".unit_account", unit_id=bill.unit_id), 303)
    try:
        ledger.reverse_bill(bill, reason=form.reason.data, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".unit_account", unit_id=bill.unit_id), 303)
    db.session.commit()
    flash(_("The bill was withdrawn."), "success")
    return redirect(url_for(".unit_account", unit_id=bill.unit_id), 303)


# --- Receipts -------------------------------------------------------------------------


def receipt_or_404(number: str) -> Payment:
    """A receipt the caller may see (a resident: their units' only), by its number."""
    if not current_user.is_authenticated:
        abort(404)
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.receipt_number == number, visible(Payment, current_user))
        .options(joinedload(Payment.unit).joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Payment.id)
        .limit(1)
    )
    if payment is None:
        abort(404)
    return payment


def receipt_pdf(payment: Payment):
    """The receipt (收据) as a PDF."""
    from portal.pdf import render_pdf

    original = db.session.get(Payment, payment.reverses_id) if payment.reverses_id else None
    # The receipt shows what the payment paid when it was taken (credit it left may pay
    # later bills; the receipt does not change).
    first = (original or payment).result or {"allocations": []}
    amounts: dict[int, int] = {}
    for a in first["allocations"]:
        amounts[a["bill_id"]] = amounts.get(a["bill_id"], 0) + a["amount_fen"]
    bills = db.session.scalars(
        select(Bill)
        .where(Bill.id.in_(list(amounts)))
        .options(joinedload(Bill.item))
        .order_by(Bill.due_on, Bill.id)
    ).all()
    lines = [(b, amounts[b.id]) for b in bills]
    estate = db.session.get(Estate, payment.estate_id)
    cashier = db.session.get(User, payment.cashier_id) if payment.cashier_id else None
    allocated = sum(fen for _b, fen in lines)
    with force_locale("zh_CN"):  # a receipt (收据) is always in Chinese
        pdf = render_pdf(
            "fees/receipt.html",
            payment=payment,
            original=original,
            lines=lines,
            estate=estate,
            cashier=cashier,
            upper=chinese_upper(payment.amount_fen),
            unallocated=abs(payment.amount_fen) - allocated if not payment.reverses_id else 0,
            method_label=METHOD_LABELS[Method(payment.method)],
            printed_at=clock.now(),
        )
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{payment.receipt_number}.pdf"'
    return response


@bp.route("/receipts/<number>.pdf")
@login_required
def receipt(number):
    """Print or download a receipt."""
    return receipt_pdf(receipt_or_404(number))


# --- The daily cash report (日结) ---------------------------------------------------


def cash_figures(estate_ids, day: date):
    """Per cashier and method: receipts and amounts of the day (reversals subtract)."""
    rows = db.session.execute(
        select(
            Payment.cashier_id,
            Payment.method,
            func.count(Payment.id),
            func.sum(Payment.amount_fen),
            func.sum(func.abs(Payment.amount_fen) - Payment.amount_fen) / 2,
        )
        .where(
            Payment.estate_id.in_(estate_ids), Payment.paid_on == day, Payment.source != "import"
        )
        .group_by(Payment.cashier_id, Payment.method)
        .order_by(Payment.cashier_id, Payment.method)
    ).all()
    names = dict(
        db.session.execute(
            select(User.id, User.name).where(User.id.in_({r[0] for r in rows if r[0]}))
        ).all()
    )
    by_cashier: dict = {}
    for cashier_id, method, count, total, reversed_fen in rows:
        entry = by_cashier.setdefault(
            cashier_id,
            {"name": names.get(cashier_id) or _("Online payments"), "methods": [], "total": 0},
        )
        entry["methods"].append(
            {
                "method": METHOD_LABELS[Method(method)],
                "count": count,
                "total": int(total),
                "reversed": int(reversed_fen or 0),
            }
        )
        entry["total"] += int(total)
    payments = db.session.scalars(
        select(Payment)
        .where(
            Payment.estate_id.in_(estate_ids), Payment.paid_on == day, Payment.source != "import"
        )
        .options(joinedload(Payment.unit).joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Payment.id)
        .limit(500)
    ).all()
    return {
        "cashiers": list(by_cashier.values()),
        "total": sum(c["total"] for c in by_cashier.values()),
        "payments": payments,
        "names": names,
    }


def cash_day() -> date:
    raw = request.args.get("day", "")
    if not raw:
        return clock.local_today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


def staff_estate_ids() -> list[int]:
    """The estates a staff member works in (company-wide roles: all of the company's)."""
    return db.session.scalars(
        select(Estate.id).where(estate_ids_for(current_user)).order_by(Estate.id)
    ).all()


def acting_estate_id() -> int:
    """The estate a staff member bills and sets rates for (company-wide: the first one,
    until there is an estate switcher)."""
    return current_user.estate_id or staff_estate_ids()[0]


@bp.route("/cash")
@roles_required(*CASHIERS)
def cash():
    """The day's takings per cashier and method, with every receipt."""
    day = cash_day()
    figures = cash_figures(staff_estate_ids(), day)
    return render_template("fees/cash.html", day=day, **figures)


@bp.route("/cash.pdf")
@roles_required(*CASHIERS)
def cash_pdf():
    from portal.pdf import render_pdf

    day = cash_day()
    figures = cash_figures(staff_estate_ids(), day)
    pdf = render_pdf("fees/cash.html", day=day, printed_at=clock.now(), **figures)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="cash-{day.isoformat()}.pdf"'
    return response


# --- Billing runs ---------------------------------------------------------------------


@bp.route("/runs", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def runs():
    """Start a billing run for a month; the list of earlier runs with their summaries."""
    form = RunForm()
    status = 200
    if request.method == "GET" and not form.period.data:
        today = clock.local_today()
        form.period.data = today.strftime("%Y-%m")
    if form.validate_on_submit():
        estate_id = acting_estate_id()
        try:
            run = billing.start_run(estate_id, form.period.data, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            form.period.errors = list(form.period.errors) + [str(exc.message)]
            status = exc.status
        else:
            db.session.commit()
            flash(_("The billing run for %(period)s has started.", period=run.period), "success")
            return redirect(url_for(".run_detail", run_id=run.id), 303)
    elif request.method == "POST":
        status = 400
    past = db.session.scalars(
        select(BillingRun)
        .where(BillingRun.estate_id.in_(staff_estate_ids()))
        .order_by(BillingRun.id.desc())
        .limit(24)
    ).all()
    return render_template("fees/runs.html", form=form, runs=past), status


@bp.route("/runs/<int:run_id>")
@roles_required(*MANAGERS)
def run_detail(run_id):
    """A run's progress, then its summary: what was billed and why."""
    from portal.jobs import Job

    run = db.session.scalar(
        select(BillingRun).where(
            BillingRun.id == run_id, BillingRun.estate_id.in_(staff_estate_ids())
        )
    )
    if run is None:
        abort(404)
    job = db.session.get(Job, run.job_id) if run.job_id else None
    items = {
        i.code: i.name
        for i in db.session.scalars(select(FeeItem).where(FeeItem.estate_id == run.estate_id))
    }
    return render_template(
        "fees/run.html", run=run, job=job, items=items, occupancy_label=lambda c: Occupancy(c).label
    )


# --- Fee items and rates --------------------------------------------------------------


@bp.route("/items", methods=["GET", "POST"])
@roles_required(*MANAGERS, Role.supervisor, Role.frontdesk)
def items():
    """Fee items with their rates by category and date; managers add items and rates."""
    estate_id = acting_estate_id()
    form = ItemForm()
    status = 200
    if request.method == "POST":
        if current_user.role not in MANAGERS:
            abort(403)
        if request.form.get("standard"):
            made = rules.create_standard_items(
                estate_id, actor=current_user, effective_on=clock.local_today().replace(day=1)
            )
            db.session.commit()
            flash(_("%(n)d standard items added.", n=len(made)), "success")
            return redirect(url_for(".items"), 303)
        if form.validate_on_submit():
            try:
                rate_fen = parse_yuan(form.rate.data, field="rate", allow_zero=True)
                if rules.item_by_code(estate_id, form.code.data.strip()):
                    raise ServiceError(
                        _("An item with this code exists."), fields={"code": "taken"}
                    )
                item = FeeItem(
                    estate_id=estate_id,
                    code=form.code.data.strip(),
                    name=form.name.data.strip(),
                    basis=form.basis.data,
                    unit_kind=form.unit_kind.data or None,
                )
                db.session.add(item)
                db.session.flush()
                rules.add_rate(
                    item,
                    rate_fen=rate_fen,
                    effective_on=form.effective_on.data,
                    occupancy=None,
                    actor=current_user,
                )
            except ServiceError as exc:
                db.session.rollback()
                form.code.errors = list(form.code.errors) + [str(exc.message)]
                status = 400
            else:
                db.session.commit()
                flash(_("Fee item added."), "success")
                return redirect(url_for(".items"), 303)
        else:
            status = 400
    all_items = (
        db.session.scalars(
            select(FeeItem)
            .where(FeeItem.estate_id == estate_id)
            .options(joinedload(FeeItem.rates))
            .order_by(FeeItem.id)
        )
        .unique()
        .all()
    )
    return (
        render_template(
            "fees/items.html",
            items=all_items,
            form=form,
            rate_form=RateForm(),
            can_edit=current_user.role in MANAGERS,
            occupancy_label=lambda c: Occupancy(c).label,
            kind_label=lambda k: UnitKind(k).label,
            today=clock.local_today(),
        ),
        status,
    )


@bp.route("/items/<int:fee_item_id>/rates", methods=["POST"])
@roles_required(*MANAGERS)
def add_rate(fee_item_id):
    """A new rate from a date (rates are never edited; the history stays)."""
    item = db.session.scalar(
        select(FeeItem).where(FeeItem.id == fee_item_id, FeeItem.estate_id.in_(staff_estate_ids()))
    )
    if item is None:
        abort(404)
    form = RateForm()
    if not form.validate_on_submit():
        flash(_("Give the rate and the date it takes effect."), "danger")
        return redirect(url_for(".items"), 303)
    try:
        rate_fen = parse_yuan(form.rate.data, field="rate", allow_zero=True)
        rules.add_rate(
            item,
            rate_fen=rate_fen,
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


# --- Residents: my bills, pay online, my receipts --------------------------------------


@bp.route("/mine")
@roles_required(Role.resident)
def mine():
    """The resident's bills per unit, credit, receipts and the pay button."""
    units = db.session.scalars(
        select(Unit)
        .where(Unit.id.in_(current_unit_ids_query(current_user.id).order_by(None)))
        .options(joinedload(Unit.building).joinedload(Building.zone))
        .order_by(Unit.id)
    ).all()
    accounts = []
    for unit in units[:5]:
        data = account(unit, bills_limit=12, payments_limit=6)
        form = PayOnlineForm(
            unit_id=unit.id,
            amount=yuan(data["balance"].owed_fen) if data["balance"].owed_fen else "",
        )
        accounts.append({"unit": unit, "form": form, **data})
    orders = db.session.scalars(
        select(OnlineOrder)
        .where(OnlineOrder.user_id == current_user.id)
        .order_by(OnlineOrder.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "fees/mine.html", accounts=accounts, orders=orders, order_labels=order_labels()
    )


def order_labels():
    return {
        OrderStatus.pending: _("Waiting for confirmation"),
        OrderStatus.succeeded: _("Paid"),
        OrderStatus.failed: _("Failed"),
        OrderStatus.expired: _("Expired"),
    }


@bp.route("/pay", methods=["POST"])
@roles_required(Role.resident)
def pay_online():
    """Start an online payment for one of the resident's units."""
    form = PayOnlineForm()
    if not form.validate_on_submit() or not form.unit_id.data.isdigit():
        flash(_("Enter the amount to pay."), "danger")
        return redirect(url_for(".mine"), 303)
    unit = get_or_404(Unit, int(form.unit_id.data))
    try:
        order = online.create_order(current_user, unit, parse_yuan(form.amount.data))
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for(".mine"), 303)
    db.session.commit()
    return redirect(online.provider(order.provider).checkout_url(order), 303)


def my_order_or_404(order_no) -> OnlineOrder:
    order = db.session.scalar(
        select(OnlineOrder).where(
            OnlineOrder.order_no == order_no, OnlineOrder.user_id == current_user.id
        )
    )
    if order is None:
        abort(404)
    return order


@bp.route("/orders/<order_no>")
@roles_required(Role.resident)
def order(order_no):
    """Where an online payment stands: paid (with the receipt), failed, or waiting."""
    found = my_order_or_404(order_no)
    return render_template("fees/order.html", order=found)


@bp.route("/sandbox/<order_no>", methods=["GET", "POST"])
@roles_required(Role.resident)
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
        sandbox = online.PROVIDERS["sandbox"]
        payload = {
            "order_no": found.order_no,
            "status": "SUCCESS" if form.succeed.data else "FAIL",
            "amount": yuan(found.amount_fen),
            "trade_no": "SB" + uuid.uuid4().hex[:16].upper(),
        }
        payload["sign"] = sandbox.sign(payload)
        return redirect(url_for(".pay_return", provider="sandbox", **payload), 303)
    return render_template("fees/sandbox.html", order=found, form=form)


@bp.route("/pay/return/<provider>")
@roles_required(Role.resident)
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


from portal.blueprints.fees import (  # noqa: E402,F401 - routes of the same blueprint
    collection_views,
    report_views,
)
