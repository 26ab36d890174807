"""Online payment by residents through a payment provider.

A provider is an adapter with one interface: where to send the resident to pay
(`checkout_url`), how to sign and verify the provider's notification (`verify`). The
sandbox provider stands in for WeChat Pay or Alipay in development and tests: its page
lets the payer succeed, fail or walk away (time out), and it signs what it sends back
with HMAC-SHA256. A real gateway is another adapter behind the same interface.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal.core import audit, clock, settings
from portal.core.errors import Conflict, ServiceError
from portal.core.money import yuan
from portal.extensions import db

from . import ledger
from .models import Method, OnlineOrder, OrderStatus
from .rules import ORDER_MINUTES


class BadSignature(ServiceError):
    status = 400


class SandboxProvider:
    """The development and test provider: a page of the portal plays the payment app."""

    name = "sandbox"

    def secret(self) -> bytes:
        configured = current_app.config.get("PAYMENT_SANDBOX_SECRET")
        if configured:
            return configured.encode()
        return hashlib.sha256(b"payment-sandbox:" + current_app.secret_key.encode()).digest()

    def checkout_url(self, order: OnlineOrder) -> str:
        return url_for("fees.sandbox_checkout", order_no=order.order_no)

    def sign(self, payload: dict) -> str:
        return hmac.new(self.secret(), canonical(payload), hashlib.sha256).hexdigest()

    def verify(self, payload: dict, signature: str) -> bool:
        # Bytes, so a signature in any script is simply wrong (str needs ASCII on both sides).
        return hmac.compare_digest(self.sign(payload).encode(), (signature or "").encode())

    def answer(self, order: OnlineOrder, *, succeeded: bool) -> dict:
        """What the sandbox page sends back for the payer's choice, signed."""
        payload = {
            "order_no": order.order_no,
            "status": "SUCCESS" if succeeded else "FAIL",
            "amount": yuan(order.amount_fen),
            "trade_no": "SB" + secrets.token_hex(8).upper(),
        }
        return {**payload, "sign": self.sign(payload)}


PROVIDERS = {"sandbox": SandboxProvider()}
SIGNED_FIELDS = ("order_no", "status", "amount", "trade_no")


def canonical(payload: dict) -> bytes:
    """The signed text: the known fields in a fixed order, key=value joined by &."""
    return "&".join(f"{k}={payload.get(k, '')}" for k in SIGNED_FIELDS).encode()


def provider(name: str | None = None):
    name = name or current_app.config.get("PAYMENT_PROVIDER", "sandbox")
    if name not in PROVIDERS:
        raise ServiceError(_l("Unknown payment provider."), fields={"provider": "unknown"})
    return PROVIDERS[name]


def create_order(user, unit, amount_fen: int) -> OnlineOrder:
    """A resident starts paying: an order waiting for the provider's answer."""
    if amount_fen <= 0:
        raise ServiceError(_l("The amount must be more than zero."), fields={"amount": "positive"})
    owed = ledger.balance(unit.id).owed_fen
    if owed <= 0:
        raise Conflict(_l("Nothing is owed for this unit."))
    if amount_fen > owed:
        raise ServiceError(
            _l("At most %(owed)s yuan is owed; pay that or less.", owed=yuan(owed)),
            fields={"amount": "more than owed"},
        )
    chosen = provider()
    order = OnlineOrder(
        estate_id=unit.estate_id,
        unit_id=unit.id,
        user_id=user.id,
        order_no="PO" + clock.local_today().strftime("%Y%m%d") + secrets.token_hex(8).upper(),
        provider=chosen.name,
        amount_fen=amount_fen,
        status=OrderStatus.pending,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    db.session.add(order)
    db.session.flush()
    return order


def handle_notification(provider_name: str, payload: dict, signature: str) -> OnlineOrder:
    """The provider's signed answer: a success records the payment (once, however often
    it is repeated), a failure marks the order failed. A bad signature changes nothing."""
    chosen = provider(provider_name)
    if not chosen.verify(payload, signature):
        raise BadSignature(_l("The payment notification's signature is not valid."))
    order = db.session.scalar(
        select(OnlineOrder)
        .where(OnlineOrder.order_no == str(payload.get("order_no", "")))
        .with_for_update()
    )
    if order is None or order.provider != chosen.name:
        raise ServiceError(_l("Unknown order."), fields={"order_no": "unknown"})
    if payload.get("amount") != yuan(order.amount_fen):
        raise ServiceError(
            _l("The amount paid does not match the order."), fields={"amount": "mismatch"}
        )
    status = payload.get("status")
    if status == "SUCCESS":
        if order.status == OrderStatus.succeeded:
            return order
        payer = _payer(order)
        payment, _created = ledger.record_payment(
            order.unit,
            order.amount_fen,
            Method.online,
            actor=payer,
            payer_name=payer.name,
            source="online",
            idempotency_key=f"online:{order.order_no}",
            reference=str(payload.get("trade_no", ""))[:100] or None,
        )
        order.status, order.payment_id = OrderStatus.succeeded, payment.id
        order.failure = None
    elif status == "FAIL":
        if order.status == OrderStatus.pending:
            order.status = OrderStatus.failed
            order.failure = str(payload.get("reason") or "declined")[:200]
    else:
        raise ServiceError(_l("Unknown payment status."), fields={"status": "unknown"})
    order.updated_at = clock.now()
    audit.record(
        "order.notify", order, actor=None, estate_id=order.estate_id, after={"status": status}
    )
    return order


def _payer(order):
    from portal.core.people import User

    return db.session.get(User, order.user_id)


def expire_orders() -> int:
    """Orders the provider never answered expire (a late success still counts)."""
    from portal.core.places import Estate

    expired = 0
    for estate_id in db.session.scalars(select(Estate.id)):
        minutes = settings.get(ORDER_MINUTES.key, estate_id)
        expired += db.session.execute(
            update(OnlineOrder)
            .where(
                OnlineOrder.estate_id == estate_id,
                OnlineOrder.status == OrderStatus.pending,
                OnlineOrder.created_at < clock.now() - timedelta(minutes=minutes),
            )
            .values(status=OrderStatus.expired, updated_at=clock.now())
        ).rowcount
    db.session.commit()
    return expired
