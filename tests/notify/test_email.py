"""E-mail over SMTP, to a real SMTP server on this machine: text and HTML, in the
recipient's language, keyed by the outbox id."""

import email
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.blueprints.notices.services import compose_notice
from portal.core import clock
from portal.extensions import db
from portal.notify.models import Delivery, OutboxMessage
from portal.notify.outbox import relay_due
from tests.conftest import free_port


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()  # aiosmtpd needs a fixed port to check it started
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield mailbox
    controller.stop()
    app.config.update(MAIL_SERVER=None, MAIL_PORT=25)


def parts(message):
    return {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }


def test_email_in_each_recipients_language(world, smtp_server):
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    world.resident.email, world.resident.locale = "chen@example.com", "en"
    world.resident2.email = "lin@example.com"
    db.session.commit()
    compose_notice(
        world.frontdesk,
        estate=world.estate,
        title="Water off <Tue>",
        body="Line one\nLine two",
        channels=["email"],
    )
    db.session.commit()
    relay_due()
    assert len(smtp_server.messages) == 2
    by_to = {m["To"]: m for m in smtp_server.messages}
    english, chinese = parts(by_to["chen@example.com"]), parts(by_to["lin@example.com"])
    assert set(english) == {"text/plain", "text/html"}
    assert "Property Service Centre" in english["text/plain"]
    assert "物业服务中心" in chinese["text/plain"] and 'lang="zh-CN"' in chinese["text/html"]
    assert "Water off &lt;Tue&gt;" in english["text/html"]  # escaped in HTML
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {m["Message-ID"] for m in smtp_server.messages} == {
        f"<outbox-{r.id}@portal>" for r in rows
    }
    assert all(r.status == Delivery.delivered for r in rows)
    relay_due()
    assert len(smtp_server.messages) == 2  # nothing twice


def test_smtp_refusing_connections_records_the_reason(world, app):
    clock.freeze(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)  # nothing listens there
    try:
        world.resident2.email = "lin@example.com"
        db.session.commit()
        compose_notice(
            world.frontdesk,
            estate=world.estate,
            title="t",
            body="b",
            channels=["email"],
            unit_ids=[world.unit2.id],
        )
        db.session.commit()
        relay_due()
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == Delivery.pending and row.attempts == 1
        assert row.last_error.startswith("SMTP:")
    finally:
        app.config.update(MAIL_SERVER=None, MAIL_PORT=25)


def test_language_switch_remembers_the_choice_for_messages(client, login_as):
    login_as("resident")
    client.get("/lang/en")
    from portal.core.people import User

    assert db.session.scalar(select(User.locale).where(User.username == "resident")) == "en"
