"""Channel adapters: in-app inbox, SMS through an HTTP gateway, e-mail over SMTP.

Each `send(message)` either delivers or raises DeliveryError with the reason. Unconfigured
SMS and e-mail write to the log instead (development).
"""

import json
import logging
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from portal.core import clock
from portal.extensions import db
from portal.notify.models import Channel, InboxMessage, Notice, OutboxMessage

log = logging.getLogger("portal.delivery")
# Seconds any one socket operation of a send may wait (connect, a read, an SMTP command):
# a hung gateway costs a batch seconds, not minutes (the batch's time limit: tasks.py).
SEND_TIMEOUT = 5


class DeliveryError(Exception):
    """The channel did not take the message; the text says why."""


def sends_outside(channel) -> bool:
    """Whether sending over `channel` reaches beyond the database and the log (an SMS
    gateway, an SMTP server): such a row is sent and recorded alone (tasks.deliver_one)."""
    config = current_app.config
    if channel == Channel.sms:
        return bool(config.get("SMS_GATEWAY_URL"))
    if channel == Channel.email:
        return bool(config.get("MAIL_SERVER"))
    return False


def send_app(message, memo: dict) -> None:
    """Put the message in the person's inbox (once: the outbox id is unique there)."""
    send_app_many([message], memo)


def send_app_many(messages, memo: dict) -> None:
    """Put messages in their people's inboxes: one read of those already there, one read of
    the notices' flags not yet in `memo`, one INSERT (the outbox id is unique there)."""
    there = set(
        db.session.scalars(
            select(InboxMessage.outbox_id).where(
                InboxMessage.outbox_id.in_([m.id for m in messages])
            )
        )
    )
    unknown = {m.notice_id for m in messages if m.notice_id}
    unknown = {n for n in unknown if ("requires_ack", n) not in memo}
    if unknown:
        flags = db.session.execute(
            select(Notice.id, Notice.requires_ack).where(Notice.id.in_(unknown))
        )
        memo.update({("requires_ack", n): ack for n, ack in flags})
    now = clock.now()
    rows = [
        {
            "outbox_id": m.id,
            "user_id": m.recipient_id,
            "notice_id": m.notice_id,
            "unit_id": m.unit_id,
            "kind": m.kind,
            "title": m.subject,
            "body": m.body,
            "content": m.content,
            "urgent": m.urgent,
            "requires_ack": bool(m.notice_id and memo.get(("requires_ack", m.notice_id))),
            "created_at": now,
        }
        for m in messages
        if m.id not in there
    ]
    if rows:
        db.session.execute(InboxMessage.__table__.insert(), rows)  # one executemany


def sms_text(message: OutboxMessage) -> str:
    return f"{message.subject}：{message.body}"[:500]


def send_sms(message: OutboxMessage, memo: dict) -> None:
    """POST {"id", "to", "text"} to the gateway; the id is stable across retries."""
    url = current_app.config.get("SMS_GATEWAY_URL")
    payload = {"id": str(message.id), "to": message.address, "text": sms_text(message)}
    if not url:
        log.info("SMS (no gateway configured) %s", json.dumps(payload, ensure_ascii=False))
        return
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"SMS_GATEWAY_URL is not an http(s) URL: {url[:80]}")
    request = urllib.request.Request(  # noqa: S310 - http(s) checked above
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:  # noqa: S310
            status = response.status  # (the URL is configured and checked above)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"SMS gateway answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise DeliveryError(f"SMS gateway unreachable: {getattr(exc, 'reason', exc)}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"SMS gateway answered {status}")


def email_message(message: OutboxMessage) -> EmailMessage:
    """The e-mail for an outbox row: text and HTML parts from templates/emails, in its locale."""
    config = current_app.config
    with force_locale(message.locale):
        text = render_template("emails/notice.txt", message=message)
        html = render_template("emails/notice.html", message=message)
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.address
    email["Message-ID"] = f"<outbox-{message.id}@portal>"
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    return email


def send_email(message: OutboxMessage, memo: dict) -> None:
    """Send over SMTP; the Message-ID carries the outbox id."""
    config = current_app.config
    email = email_message(message)
    if not config.get("MAIL_SERVER"):
        log.info("E-mail (no SMTP server configured) to %s: %s", message.address, message.subject)
        return
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SEND_TIMEOUT) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(email)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {exc}") from None


SENDERS = {Channel.app: send_app, Channel.sms: send_sms, Channel.email: send_email}
