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

from portal.extensions import db
from portal.notify.models import Channel, InboxMessage, Notice, OutboxMessage

log = logging.getLogger("portal.delivery")
# Seconds any one socket operation of a send may wait (connect, a read, an SMTP command):
# a hung gateway costs a batch seconds, not minutes (the batch's time limit: tasks.py).
SEND_TIMEOUT = 5


class DeliveryError(Exception):
    """The channel did not take the message; the text says why."""


def send_app(message: OutboxMessage, memo: dict) -> None:
    """Put the message in the person's inbox (once: the outbox id is unique there)."""
    if db.session.scalar(select(InboxMessage.id).where(InboxMessage.outbox_id == message.id)):
        return
    requires_ack = False
    if message.notice_id:
        key = ("requires_ack", message.notice_id)
        if key not in memo:
            memo[key] = db.session.get(Notice, message.notice_id).requires_ack
        requires_ack = memo[key]
    db.session.add(
        InboxMessage(
            outbox_id=message.id,
            user_id=message.recipient_id,
            notice_id=message.notice_id,
            unit_id=message.unit_id,
            kind=message.kind,
            title=message.subject,
            body=message.body,
            urgent=message.urgent,
            requires_ack=requires_ack,
        )
    )


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
