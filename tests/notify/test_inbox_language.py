"""In-app messages read in the reader's language of the moment; SMS and e-mail keep the
language the recipient had when they were sent."""

from datetime import UTC, datetime

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.repairs.services import act, submit_repair
from portal.core import clock
from portal.extensions import db
from portal.notify.channels import email_message, sms_text
from portal.notify.models import InboxMessage, OutboxMessage
from portal.notify.outbox import relay_due, tell

RECEIVED_ZH = "已收到报修"
RECEIVED_EN = "Repair {n} received"


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def switch(client, code):
    assert client.get(f"/lang/{code}?next=/").status_code == 302


def inbox_page(client):
    return client.get("/notices/").get_data(as_text=True)


def only_inbox_item(user):
    return db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == user.id))


def test_a_message_sent_in_chinese_reads_in_english_after_the_switch(client, world, login_as):
    world.resident.locale = "zh_CN"
    repair = submit_repair(world.resident, category="civil", location="unit", description="灯")
    db.session.commit()
    relay_due()
    item = only_inbox_item(world.resident)
    login_as("resident")
    switch(client, "zh_CN")
    assert f"{RECEIVED_ZH} {repair.number}" in inbox_page(client)
    switch(client, "en")
    page = inbox_page(client)
    assert RECEIVED_EN.format(n=repair.number) in page and RECEIVED_ZH not in page
    message = client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)
    assert "We have your repair request and will dispatch it within the time limit." in message
    home = client.get("/").get_data(as_text=True)
    assert RECEIVED_EN.format(n=repair.number) in home.split('data-testid="my-notices"')[1]


def test_a_message_sent_in_english_reads_in_chinese_after_the_switch(client, world, login_as):
    world.resident.locale = "en"
    repair = submit_repair(world.resident, category="civil", location="unit", description="灯")
    db.session.commit()
    relay_due()
    login_as("resident")
    switch(client, "en")
    assert RECEIVED_EN.format(n=repair.number) in inbox_page(client)
    switch(client, "zh_CN")
    page = inbox_page(client)
    assert f"{RECEIVED_ZH} {repair.number}" in page and "received" not in page


def test_the_api_inbox_reads_in_the_asking_language(client, world, api_token):
    world.resident.locale = "zh_CN"
    repair = submit_repair(world.resident, category="civil", location="unit", description="灯")
    db.session.commit()
    relay_due()
    headers = {**api_token("resident"), "Accept-Language": "en"}
    response = client.get("/api/v1/notices", headers=headers)
    assert response.status_code == 200, response.get_json()
    titles = [item["title"] for item in response.get_json()["items"]]
    assert titles == [RECEIVED_EN.format(n=repair.number)]


def test_sms_keeps_the_language_at_sending_and_the_inbox_follows_the_reader(
    client, world, login_as
):
    world.technician.locale = "en"
    world.technician.phone = "13900000009"
    repair = submit_repair(world.resident, category="civil", location="unit", description="灯")
    act(repair, "assign", actor=world.frontdesk, data={"technician_id": world.technician.id})
    db.session.commit()
    sms = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.recipient_id == world.technician.id, OutboxMessage.channel == "sms"
        )
    )
    assert sms.content is None  # an SMS is sent as written
    relay_due()
    login_as("technician")
    switch(client, "zh_CN")
    item = only_inbox_item(world.technician)
    message = client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)
    assert f"新工单 {repair.number}" in message
    db.session.refresh(sms)
    assert sms_text(sms).startswith(f"New work order {repair.number}")


def test_e_mail_keeps_the_language_at_sending(app, world):
    world.resident.locale = "en"
    world.resident.email = "chen@example.com"
    tell(
        world.resident,
        kind="test",
        estate=world.estate,
        channels=("app", "email"),
        render=lambda: (_l("Repair %(n)s received", n="BX1"), _l("Please confirm")),
    )
    world.resident.locale = "zh_CN"  # switched after sending
    db.session.commit()
    email = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert email.subject == "Repair BX1 received" and email.content is None
    assert email_message(email)["Subject"] == "Repair BX1 received"


def test_a_message_without_parts_shows_the_text_as_sent(client, world, login_as):
    tell(
        world.resident,
        kind="test",
        estate=world.estate,
        render=lambda: ("手写的标题", "手写的内容"),  # what a person wrote: nothing to translate
    )
    db.session.commit()
    relay_due()
    item = only_inbox_item(world.resident)
    assert item.content is None
    login_as("resident")
    switch(client, "en")
    assert "手写的标题" in client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)


def test_an_unreadable_content_falls_back_to_the_text_as_sent(world):
    item = InboxMessage(title="原文", body="正文", content={"subject": {"t": "eval", "a": []}})
    assert item.title == "原文" and item.body == "正文"
    wrong = {"t": "gettext", "a": ["Repair %(n)s received"], "p": {"m": "BX1"}}
    item.content = {"subject": wrong}
    assert item.title == "原文"  # a parameter that is not there: the text as sent


def test_a_message_made_of_lines_reads_line_by_line_in_the_reader_s_language(app, world):
    from flask_babel import force_locale

    tell(
        world.resident,
        kind="test",
        estate=world.estate,
        render=lambda: (
            _l("Repair %(n)s received", n="BX1"),
            [_l("Repair %(n)s received", n="BX2"), "第二行"],
        ),
    )
    db.session.commit()
    relay_due()
    item = only_inbox_item(world.resident)
    assert item.sent_body == "已收到报修 BX2\n第二行"  # the resident's language at sending
    with app.test_request_context(), force_locale("en"):
        assert item.body == "Repair BX2 received\n第二行"


def test_the_bell_is_read_with_the_person_and_counts_again_after_a_page_reads_one(
    client, world, login_as, count_queries
):
    import re

    for description in ("灯", "门"):
        submit_repair(world.resident, category="civil", location="unit", description=description)
    db.session.commit()
    relay_due()
    login_as("resident")

    def bell(page):
        return int(re.search(r'data-testid="unread-count">(\d+)<', page).group(1))

    with count_queries() as counted:
        assert bell(client.get("/notices/").get_data(as_text=True)) == 2
    unread_sql = [s for s in counted.statements if "read_at IS NULL" in s]
    assert len(unread_sql) == 1 and "staff_roles" in unread_sql[0]  # in the person's statement
    item = db.session.scalar(
        select(InboxMessage).where(InboxMessage.user_id == world.resident.id).limit(1)
    )
    # The message page marks it read before it renders: the bell already says one.
    assert bell(client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)) == 1
