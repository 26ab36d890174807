"""The desk's move pages: register, take each step with its form (input kept on a refused
step, a message beside the field), the move-out's checklist with the way to pay, the goods
release pass, and the list of moves at a flat statement count."""

import re
from datetime import date

from sqlalchemy import select

from portal.blueprints.custody import services as custody
from portal.blueprints.custody.models import Card, MeterReading
from portal.blueprints.moves.models import MoveIn, MoveOut
from portal.blueprints.passes.models import Pass
from portal.blueprints.repairs.models import Repair
from portal.core.people import Residency, User
from portal.core.places import Unit
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.factories import make_zone_butler
from tests.fees.helpers import bill
from tests.ticket_pages import ZH, form_of, message_at, tag

PERSON = {
    "people-0-name": "赵新业主",
    "people-0-phone": "139 0000 3333",
    "people-0-relation": "owner",
    "people-1-name": "赵小弟",
    "people-1-phone": "13900003334",
    "people-1-relation": "family",
}


def register_in(client, unit_id, **extra):
    data = {"unit": unit_id, "on": "2026-11-23", "occupancy": "occupied_renovated", **PERSON}
    response = client.post(f"/moves/in/new?unit={unit_id}", data={**data, **extra})
    assert response.status_code == 302, re.findall(
        r"(?:invalid-feedback[^>]*>|alert-danger[^>]*>)([^<]*)<", response.get_data(as_text=True)
    )
    return int(response.headers["Location"].rsplit("/", 1)[1])


def act(client, kind, move_id, action, data):
    return client.post(f"/moves/{kind}/{move_id}/act/{action}", data=data)


def test_the_desk_takes_a_move_in_through_its_pages(client, world, login_as):
    login_as("frontdesk")
    unit_id = world.vacant.id
    page = client.get(f"/moves/in/new?unit={unit_id}", headers=ZH)
    assert page.status_code == 200 and "B区 3栋 1单元1201" in page.get_data(as_text=True)
    move_id = register_in(client, unit_id)
    page = client.get(f"/moves/in/{move_id}", headers=ZH).get_data(as_text=True)
    assert "赵新业主" in page and 'data-action="check-documents"' in page

    refused = act(client, "in", move_id, "check-documents", {"documents": ["id_card"]})
    assert refused.status_code == 400
    html = form_of(refused.get_data(as_text=True), "check-documents")
    assert message_at(html, "documents")
    assert "checked" in tag(html, "documents")  # what was ticked stays ticked
    documents = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]
    assert (
        act(client, "in", move_id, "check-documents", {"documents": documents}).status_code == 303
    )

    inspect = {"result": "defects", "defects": "客厅墙面裂缝\n\n入户门锁坏"}
    assert act(client, "in", move_id, "inspect", inspect).status_code == 303
    repairs = db.session.scalars(select(Repair).where(Repair.unit_id == unit_id)).all()
    assert len(repairs) == 2 and all(r.location == "unit" for r in repairs)

    handover = {
        "keys_count": "2",
        "keys_label": "A套",
        "cards-0-number": "mj7001",
        "cards-0-kind": "access",
        "cards-1-number": "CW7001",
        "cards-1-kind": "parking",
        "readings-0-meter": "water",
        "readings-0-value": "abc",
        "readings-1-meter": "electricity",
        "readings-1-value": "120.5",
    }
    refused = act(client, "in", move_id, "hand-over", handover)
    assert refused.status_code == 400
    html = form_of(refused.get_data(as_text=True), "hand-over")
    assert message_at(html, "readings")
    assert 'value="abc"' in tag(html, "readings-0-value")
    assert 'value="CW7001"' in tag(html, "cards-1-number")
    assert db.session.get(MoveIn, move_id).status == "inspected"

    handover["readings-0-value"] = "15"
    done = act(client, "in", move_id, "hand-over", handover)
    assert done.status_code == 303
    assert db.session.get(MoveIn, move_id).status == "completed"
    people = db.session.execute(
        select(User.name, User.phone, Residency.start_on)
        .join(Residency, Residency.user_id == User.id)
        .where(Residency.unit_id == unit_id)
        .order_by(User.phone)
    ).all()
    assert people == [
        ("赵新业主", "13900003333", date(2026, 11, 23)),
        ("赵小弟", "13900003334", date(2026, 11, 23)),
    ]
    assert db.session.get(Unit, unit_id).occupancy == "occupied_renovated"
    assert sorted(db.session.scalars(select(Card.number).where(Card.unit_id == unit_id))) == [
        "CW7001",
        "MJ7001",
    ]
    assert (
        db.session.scalar(
            select(MeterReading.purpose).where(MeterReading.unit_id == unit_id).limit(1)
        )
        == "first"
    )
    assert (
        len(
            db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "move_in_welcome")
            ).all()
        )
        == 4
    )
    page = client.get(f"/moves/in/{move_id}", headers=ZH).get_data(as_text=True)
    assert 'data-testid="handover"' in page and "MJ7001" in page
    assert 'data-testid="actions"' not in page


def test_a_refused_hand_over_on_the_page_stores_nothing(client, world, login_as):
    custody.issue_cards(
        world.unit2, [{"number": "MJ7001", "kind": "access"}], date(2026, 1, 1), actor=None
    )
    db.session.commit()
    login_as("frontdesk")
    move_id = register_in(client, world.vacant.id)
    documents = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]
    act(client, "in", move_id, "check-documents", {"documents": documents})
    act(client, "in", move_id, "inspect", {"result": "ok"})
    refused = act(
        client,
        "in",
        move_id,
        "hand-over",
        {"keys_count": "1", "cards-0-number": "MJ7001", "cards-0-kind": "access"},
    )
    assert refused.status_code == 409  # the form again, as typed, the number named
    html = form_of(refused.get_data(as_text=True), "hand-over")
    assert "MJ7001" in message_at(html, "cards")
    assert 'value="MJ7001"' in tag(html, "cards-0-number")
    assert db.session.get(MoveIn, move_id).status == "inspected"
    assert not db.session.scalars(
        select(Residency).where(Residency.unit_id == world.vacant.id)
    ).all()
    # A step out of order: a message, no change.
    assert act(client, "in", move_id, "inspect", {"result": "ok"}).status_code == 303
    assert db.session.get(MoveIn, move_id).status == "inspected"


def test_registering_refuses_bad_input_with_messages(client, world, login_as):
    login_as("frontdesk")
    base = {"on": "2026-11-23", "occupancy": "vacant", **PERSON}
    missing = client.post("/moves/in/new", data={**base, "place": "99-99-9999"}, headers=ZH)
    assert missing.status_code == 400
    assert message_at(missing.get_data(as_text=True), "place")
    bad_phone = client.post(
        f"/moves/in/new?unit={world.vacant.id}",
        data={**base, "unit": world.vacant.id, "people-0-phone": "12ab"},
        headers=ZH,
    )
    assert bad_phone.status_code == 400
    assert message_at(bad_phone.get_data(as_text=True), "people-0-phone")
    nobody = client.post(
        f"/moves/in/new?unit={world.vacant.id}",
        data={"unit": world.vacant.id, "on": "2026-11-23", "occupancy": "vacant"},
        headers=ZH,
    )
    assert nobody.status_code == 400
    other = client.post(
        f"/moves/in/new?unit={world.other_unit.id}",
        data={**base, "unit": world.other_unit.id},
    )
    assert other.status_code == 400
    assert client.post("/moves/in/new", data={**base, "unit": "9" * 12}).status_code == 400
    assert not db.session.scalars(select(MoveIn)).all()
    by_room = client.post("/moves/in/new", data={**base, "place": "3-1-1201"})
    assert by_room.status_code == 302
    assert db.session.scalar(select(MoveIn.unit_id)) == world.vacant.id


def test_the_move_out_page_shows_the_checklist_and_the_way_to_pay(client, world, login_as):
    login_as("frontdesk")
    unit = world.unit
    custody.issue_cards(unit, [{"number": "MJ1", "kind": "access"}], date(2025, 1, 1), actor=None)
    bill(world, unit, 12000, key="page-arrears")
    db.session.commit()
    response = client.post(
        f"/moves/out/new?unit={unit.id}",
        data={"unit": unit.id, "on": "2026-11-23", "occupancy": "vacant"},
    )
    assert response.status_code == 302
    move_id = db.session.scalar(select(MoveOut.id))
    page = client.get(f"/moves/out/{move_id}", headers=ZH).get_data(as_text=True)
    assert "120.00" in page
    assert f'href="/fees/units/{unit.id}"' in page and "收款" in page
    assert "MJ1" in page

    complete = {
        "readings-0-meter": "water",
        "readings-0-value": "30",
        "cards_returned": ["MJ1"],
        "keys_returned": "y",
    }
    refused = act(client, "out", move_id, "complete", complete)
    assert refused.status_code == 409  # the checklist names the arrears; the form as typed
    html = form_of(refused.get_data(as_text=True), "complete")
    assert "120.00" in message_at(html, "arrears")
    assert 'value="30"' in tag(html, "readings-0-value")
    assert "checked" in tag(html, "cards_returned")
    assert db.session.get(MoveOut, move_id).status == "submitted"

    goods = client.post(f"/moves/out/{move_id}/goods-pass", data={"items": "沙发 2\n冰箱"})
    assert goods.status_code == 303
    issued = db.session.scalar(select(Pass).where(Pass.source_kind == "move_out"))
    assert issued.kind == "goods" and issued.source_id == move_id and issued.unit_id == unit.id
    assert issued.items == [{"name": "沙发", "quantity": 2}, {"name": "冰箱", "quantity": 1}]
    empty = client.post(f"/moves/out/{move_id}/goods-pass", data={"items": ""}, headers=ZH)
    assert empty.status_code == 400
    assert message_at(empty.get_data(as_text=True), "items")


def test_who_reaches_the_move_pages(client, world, login_as, api_token):
    desk = api_token("frontdesk")
    inside = client.post(
        "/api/v1/move-outs", json={"unit_id": world.unit.id, "on": "2026-11-23"}, headers=desk
    ).get_json()["id"]
    elsewhere = client.post(
        "/api/v1/move-ins",
        json={
            "unit_id": world.vacant.id,
            "on": "2026-11-23",
            "people": [{"name": "甲", "phone": "13900009999", "relation": "owner"}],
        },
        headers=desk,
    ).get_json()["id"]
    make_zone_butler(world)
    login_as("zone_butler")
    assert client.get(f"/moves/out/{inside}").status_code == 200
    assert client.get(f"/moves/in/{elsewhere}").status_code == 404
    assert act(client, "in", elsewhere, "cancel", {"reason": "x"}).status_code == 404
    listed = client.get("/moves/").get_data(as_text=True)
    assert f"/moves/out/{inside}" in listed and f"/moves/in/{elsewhere}" not in listed
    login_as("frontdesk_other")
    assert client.get(f"/moves/out/{inside}").status_code == 404
    for login in ("resident", "technician"):
        login_as(login)
        assert client.get("/moves/").status_code == 403
        assert client.get(f"/moves/out/{inside}").status_code == 403
    login_as("frontdesk")
    assert client.get(f"/moves/out/{2**31}").status_code == 404
    assert client.get(f"/moves/sideways/{inside}").status_code == 404
    assert client.get("/moves/?kind=in&status=submitted").status_code == 200


def test_the_list_reads_a_flat_number_of_statements(
    client, world, login_as, api_token, count_queries
):
    desk = api_token("frontdesk")
    login_as("frontdesk")

    def add_moves(n, start):
        for i in range(n):
            client.post(
                "/api/v1/move-ins",
                json={
                    "unit_id": world.vacant.id if i == 0 and start == 0 else world.unit2.id,
                    "on": "2026-11-23",
                    "people": [
                        {
                            "name": f"人{start + i}",
                            "phone": f"1390000{start + i:04d}",
                            "relation": "owner",
                        }
                    ],
                },
                headers=desk,
            )
            db.session.execute(
                MoveIn.__table__.update().values(status="cancelled")
            )  # one open move-in per unit: make room for the next
            db.session.commit()

    def statements():
        with count_queries() as counter:
            assert client.get("/moves/").status_code == 200
        return counter.count

    add_moves(2, 0)
    few = statements()
    add_moves(6, 10)
    assert db.session.scalar(select(MoveIn.id).order_by(MoveIn.id.desc()).limit(1))
    assert statements() == few
    page = client.get("/moves/?kind=in&status=cancelled").get_data(as_text=True)
    assert len(re.findall(r'data-testid="move-row"', page)) == 8


def test_a_meter_photo_goes_with_its_first_reading(app, client, world, login_as, tmp_path):
    """The hand-over form takes a photo of each meter beside its reading; a file that is no
    image is refused with the page again and nothing stored."""
    from portal.core.uploads import StoredFile
    from tests.factories import png_upload

    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    login_as("frontdesk")
    move_id = register_in(client, world.vacant.id)
    documents = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]
    act(client, "in", move_id, "check-documents", {"documents": documents})
    act(client, "in", move_id, "inspect", {"result": "ok"})
    form = {"keys_count": "1", "readings-0-meter": "water", "readings-0-value": "3.5"}
    import io

    from werkzeug.datastructures import FileStorage

    text = FileStorage(io.BytesIO(b"not an image"), filename="m.png", content_type="image/png")
    refused = client.post(
        f"/moves/in/{move_id}/act/hand-over",
        data={**form, "readings-0-photo": text},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert db.session.get(MoveIn, move_id).status == "inspected"
    done = client.post(
        f"/moves/in/{move_id}/act/hand-over",
        data={**form, "readings-0-photo": png_upload()},
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    reading = db.session.scalar(select(MeterReading).where(MeterReading.unit_id == world.vacant.id))
    stored = db.session.scalars(
        select(StoredFile).where(
            StoredFile.entity_type == "meter_readings", StoredFile.entity_id == reading.id
        )
    ).all()
    assert [f.purpose for f in stored] == ["meter"]


def test_the_register_form_sent_twice_makes_one_move(client, world, login_as):
    login_as("frontdesk")
    page = client.get(f"/moves/in/new?unit={world.vacant.id}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', page).group(1)
    data = {"unit": world.vacant.id, "on": "2026-11-23", "idempotency_key": key, **PERSON}
    first = client.post(f"/moves/in/new?unit={world.vacant.id}", data=data)
    again = client.post(f"/moves/in/new?unit={world.vacant.id}", data=data)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert len(db.session.scalars(select(MoveIn)).all()) == 1


def test_a_move_page_reads_a_flat_number_of_statements(client, world, login_as, count_queries):
    """The move-out's page with two residents and a card, then with six and four."""
    from tests.factories import make_resident

    login_as("frontdesk")
    response = client.post(
        f"/moves/out/new?unit={world.unit.id}",
        data={"unit": world.unit.id, "on": "2026-11-23", "occupancy": "vacant"},
    )
    url = response.headers["Location"]
    custody.issue_cards(
        world.unit, [{"number": "C0", "kind": "access"}], date(2025, 1, 1), actor=None
    )
    db.session.commit()

    def statements():
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = statements()
    for n in range(4):
        make_resident(world.unit, name=f"住户{n}", phone=f"1391111000{n}")
    custody.issue_cards(
        world.unit,
        [{"number": f"C{n}", "kind": "parking"} for n in range(1, 4)],
        date(2025, 1, 1),
        actor=None,
    )
    db.session.commit()
    assert statements() == few


def test_nul_bytes_and_huge_ids_on_the_pages(client, world, login_as):
    login_as("frontdesk")
    data = {"unit": world.vacant.id, "on": "2026-11-23", **PERSON, "people-0-name": "赵\x00"}
    assert client.post(f"/moves/in/new?unit={world.vacant.id}", data=data).status_code == 400
    assert client.get(f"/moves/in/new?unit={2**31}").status_code == 200  # no such unit: no choice
    move_id = register_in(client, world.vacant.id)
    assert act(client, "in", move_id, "cancel", {"reason": "x\x00"}).status_code == 400
    assert act(client, "in", 2**31, "cancel", {"reason": "x"}).status_code == 404
    assert client.post(f"/moves/out/{2**31}/goods-pass", data={"items": "a"}).status_code == 404
    assert not db.session.scalars(select(MoveIn).where(MoveIn.status != "submitted")).all()
