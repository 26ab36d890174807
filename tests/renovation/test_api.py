"""Renovation through the API (contracts §9): the application and its checks, the review,
the approval and all it does (bills once, worker passes in the window, occupancy, the
neighbours' notices), send-back, reject, cancel, and who may do what."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.blueprints.fees.models import Bill
from portal.blueprints.passes.models import Pass
from portal.blueprints.renovation.effects import floor_of, start_due_renovations
from portal.blueprints.renovation.models import Renovation
from portal.core import clock
from portal.core.people import Relation
from portal.core.places import Unit
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests.factories import PASSWORD, make_resident, make_unit
from tests.renovation.helpers import WORKERS, application, apply, approved, take


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_owner_applies_on_their_own(client, world, api_token):
    """The owner's application: submitted, numbered ZX…, the statement and the hours kept
    word for word, the workers' ID numbers shown masked."""
    body = apply(client, api_token("resident"), world.unit.id)
    assert body["number"].startswith("ZX") and body["status"] == "submitted"
    assert body["unit_id"] == world.unit.id and body["applicant_id"] == world.resident.id
    assert body["statement_signed"] == "online" and len(body["statement_text"]) > 40
    assert "08:00" in body["hours_text"]
    assert body["workers"][0]["id_number"] == "1101**********002X"
    assert body["passes"] == [] and body["deposit"]["billed"] == "0.00"
    assert [e["action"] for e in body["events"]] == ["submit"]
    stored = db.session.get(Renovation, body["id"])
    assert stored.workers[0]["id_number"] == WORKERS[0]["id_number"]
    assert body["allowed_actions"] == ["cancel"]


def test_the_desk_registers_for_the_owner(client, world, api_token):
    """The desk registers for the owner: the owner signed on paper, and is the applicant."""
    body = application(world.unit.id)
    del body["hours_accepted"], body["statement_signed"]
    response = client.post("/api/v1/renovations", json=body, headers=api_token("frontdesk"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["statement_signed"] == "paper"
    assert response.get_json()["applicant_id"] == world.resident.id


BAD = [
    ({"starts_on": "2026-11-22"}, "starts_on"),  # in the past
    ({"starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "ends_on"),  # ends before it starts
    ({"starts_on": "2026-11-25", "ends_on": "2027-03-01"}, "ends_on"),  # past the 90 days
    ({"workers": [{"name": "无证", "phone": "13700000000"}]}, "workers.0.id_number"),
    (
        {"workers": [{"name": "错号", "id_number": "110105194912310021", "phone": "137000"}]},
        "workers.0.id_number",
    ),
    (
        {"workers": [{"name": "短号", "id_number": "1101051949", "phone": "13700000000"}]},
        "workers.0.id_number",
    ),
    ({"workers": [WORKERS[0], WORKERS[0]]}, "workers.1.id_number"),
    ({"scope": ["roof"]}, "scope"),
    ({"scope": []}, "scope"),
    ({"workers": []}, "workers"),
    ({"foreman_phone": "abc"}, "foreman_phone"),
    ({"contractor": "好家\x00装饰"}, "body"),  # refused at the edge
    ({"unit_id": 2**31}, "unit_id"),
    ({"hours_accepted": False}, "hours_accepted"),
    ({"statement_signed": False}, "statement_signed"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_applications_are_refused_and_nothing_is_stored(
    client, world, api_token, change, field
):
    """Each bad input answers 400 naming its field; nothing is stored."""
    body = apply(client, api_token("resident"), world.unit.id, status=400, **change)
    assert field in body["error"]["fields"], body
    assert count(Renovation) == 0


def test_a_second_open_renovation_of_the_unit_is_a_conflict(client, world, api_token):
    first = apply(client, api_token("resident"), world.unit.id)
    body = apply(client, api_token("frontdesk"), world.unit.id, status=409)
    assert first["number"] in body["error"]["message"]
    take(client, api_token("resident"), first["id"], "cancel", {"reason": "改期"})
    apply(client, api_token("resident"), world.unit.id)  # once closed, a new one is fine


def test_tenants_family_neighbours_and_other_estates_may_not_apply(client, world, api_token):
    """A tenant (and a family member) is told the owner applies (403); a neighbour and the
    other estate's desk do not see the unit (404)."""
    make_resident(
        world.unit,
        relation=Relation.tenant,
        username="tenant",
        password=PASSWORD,
        phone="13900000077",
    )
    db.session.commit()
    body = apply(client, api_token("tenant"), world.unit.id, status=403)
    assert "owner" in body["error"]["message"].lower() or "业主" in body["error"]["message"]
    apply(client, api_token("resident2"), world.unit.id, status=404)
    apply(client, api_token("frontdesk_other"), world.unit.id, status=404)
    assert count(Renovation) == 0


def _neighbourhood(world):
    """Residents above (1单元201), two floors up (1单元301) and in another building."""
    above = make_unit(world.estate, zone="A区", building="1栋", number="1单元201")
    higher = make_unit(world.estate, zone="A区", building="1栋", number="1单元301")
    elsewhere = make_unit(world.estate, zone="A区", building="2栋", number="1单元101")
    people = {
        "above": make_resident(above, phone="13900000201"),
        "higher": make_resident(higher, phone="13900000301"),
        "elsewhere": make_resident(elsewhere, phone="13900000401"),
    }
    db.session.commit()
    return people


def test_the_approval_bills_issues_passes_and_tells_the_neighbours(client, world, api_token):
    """Approved: the deposit and the debris fee billed once each (their source keys), a
    worker pass per worker for the window in the estate's time, the occupancy scheduled for
    the start day, and a notice to the households on floors 0-2 of the same building."""
    people = _neighbourhood(world)
    body = approved(client, api_token, world.unit.id)
    assert body["status"] == "approved" and body["approval"]["occupancy"] == "scheduled"

    bills = db.session.execute(
        select(Bill.source_key, Bill.amount_fen).where(Bill.unit_id == world.unit.id)
    ).all()
    key = f"renovation:{body['id']}"
    assert sorted(bills) == [(f"{key}:debris", 30000), (f"{key}:deposit", 200000)]
    assert body["deposit"] == {
        "billed": "2000.00",
        "paid": "0.00",
        "deducted": "0.00",
        "refunded": "0.00",
        "held": "0.00",
    }

    assert [p["name"] for p in body["passes"]] == ["张师傅", "李师傅"]
    for p in body["passes"]:
        assert p["status"] == "active" and p["code"]
        assert datetime.fromisoformat(p["valid_from"]) == datetime(2026, 11, 24, 16, tzinfo=UTC)
        assert datetime.fromisoformat(p["valid_until"]) == datetime(2026, 12, 24, 16, tzinfo=UTC)
    assert db.session.scalar(select(func.count()).where(Pass.kind == "worker")) == 2

    told = set(
        db.session.scalars(
            select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "renovation_neighbours")
        )
    )
    assert told == {world.resident2.id, people["above"].id}
    assert body["approval"]["neighbours"] == 2

    # Approving twice is impossible: the state says so, and nothing is billed again.
    again = take(client, api_token("manager"), body["id"], "approve", status=409)
    assert "approve" not in again["error"]["fields"]["allowed"]
    assert db.session.scalar(select(func.count()).where(Bill.unit_id == world.unit.id)) == 2

    # The start day comes: the day's sweep puts the unit under renovation from that day.
    assert db.session.get(Unit, world.unit.id).occupancy == "occupied_renovated"
    clock.freeze(datetime(2026, 11, 25, 1, tzinfo=UTC))
    assert start_due_renovations() == 1
    unit = db.session.get(Unit, world.unit.id)
    assert unit.occupancy == "renovating" and unit.occupancy_since == date(2026, 11, 25)
    assert start_due_renovations() == 0


def test_works_starting_today_put_the_unit_under_renovation_at_once(client, world, api_token):
    body = approved(client, api_token, world.unit.id, starts_on="2026-11-23")
    assert body["approval"]["occupancy"] == "set"
    unit = db.session.get(Unit, world.unit.id)
    assert unit.occupancy == "renovating" and unit.occupancy_since == date(2026, 11, 23)


def test_no_households_near_is_fine(client, world, api_token):
    """The top floor of a building with nobody around: nobody to tell, said so."""
    lone = make_unit(world.estate, zone="C区", building="8栋", number="1单元1801")
    make_resident(lone, phone="13900001801", username="lone", password=PASSWORD)
    db.session.commit()
    body = approved(client, api_token, lone.id)
    assert body["approval"]["neighbours"] == 0


def test_floors_are_read_from_room_numbers():
    assert floor_of("1单元1201") == 12
    assert floor_of("302") == 3
    assert floor_of("2单元101") == 1
    assert floor_of("别墅8号") is None


def test_send_back_resubmit_reject_and_cancel(client, world, api_token):
    """Sent back with a reason, amended by the owner and resubmitted; rejected with a
    reason; the owner hears of each decision."""
    owner = api_token("resident")
    body = apply(client, owner, world.unit.id)
    engineer = api_token("technician")
    body = take(
        client,
        engineer,
        body["id"],
        "review",
        {"notes": "卫生间需做闭水试验", "required_changes": ["补充水电图"]},
    )
    assert body["status"] == "reviewed" and body["review"]["required_changes"] == ["补充水电图"]
    body = take(client, engineer, body["id"], "send-back", {"reason": "缺水电图"})
    assert body["status"] == "returned" and body["returned_reason"] == "缺水电图"
    take(client, owner, body["id"], "resubmit", {"ends_on": "2026-11-22"}, status=400)
    body = take(client, owner, body["id"], "resubmit", {"ends_on": "2026-12-10"})
    assert body["status"] == "submitted" and body["ends_on"] == "2026-12-10"
    take(client, engineer, body["id"], "send-back", {}, status=400)  # a reason is needed
    body = take(client, api_token("manager"), body["id"], "reject", {"reason": "涉及承重墙"})
    assert body["status"] == "rejected" and body["rejected_reason"] == "涉及承重墙"
    kinds = db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.recipient_id == world.resident.id)
    ).all()
    assert kinds.count("renovation_decision") == 2
    take(client, owner, body["id"], "cancel", status=409)


def test_who_may_take_each_step(client, world, api_token):
    """The desk does not review (403); the engineer does not approve (403), nor does an
    administrator; nobody approves before the review (409); a resident who is not the
    owner may not cancel (404 for a neighbour, who sees nothing)."""
    body = apply(client, api_token("resident"), world.unit.id)
    take(client, api_token("frontdesk"), body["id"], "review", {"notes": "x"}, status=403)
    take(client, api_token("supervisor"), body["id"], "approve", status=409)
    take(client, api_token("technician"), body["id"], "review", {"notes": "可以"})
    take(client, api_token("technician"), body["id"], "approve", status=403)
    take(client, api_token("frontdesk"), body["id"], "approve", status=403)
    take(client, api_token("admin"), body["id"], "approve", status=403)
    take(client, api_token("resident2"), body["id"], "cancel", status=404)
    take(client, api_token("frontdesk_other"), body["id"], "cancel", status=404)
    take(client, api_token("resident"), body["id"], "approve", status=403)
    take(client, api_token("manager"), body["id"], "approve")


def test_who_sees_a_renovation(client, world, api_token):
    body = apply(client, api_token("resident"), world.unit.id)
    url = f"/api/v1/renovations/{body['id']}"
    for who, status in (
        ("resident", 200),
        ("resident2", 404),
        ("frontdesk", 200),
        ("technician", 200),
        ("frontdesk_other", 404),
    ):
        assert client.get(url, headers=api_token(who)).status_code == status, who
    assert client.get(url).status_code == 401
    desk = api_token("frontdesk")
    assert client.get(f"/api/v1/renovations/{2**31}", headers=desk).status_code == 404
    assert client.get(f"/api/v1/renovations/{2**31 - 1}", headers=desk).status_code == 404
    mine = client.get("/api/v1/renovations", headers=api_token("resident")).get_json()
    assert [r["id"] for r in mine["items"]] == [body["id"]]
    theirs = client.get("/api/v1/renovations", headers=api_token("resident2")).get_json()
    assert theirs["items"] == [] and theirs["total"] == 0
    bad = client.get(f"/api/v1/renovations?unit_id={2**31}", headers=desk)
    assert bad.status_code == 400
    nul = client.post(
        f"/api/v1/renovations/{body['id']}/cancel", json={"reason": "a\x00b"}, headers=desk
    )
    assert nul.status_code == 400


def test_the_list_reads_a_bounded_number_of_statements(client, world, api_token, count_queries):
    desk = api_token("frontdesk")

    def statements():
        with count_queries() as counter:
            response = client.get("/api/v1/renovations", headers=desk)
        assert response.status_code == 200
        return counter.count, response.get_json()["total"]

    apply(client, desk, world.unit.id)
    few = statements()
    for n in range(4):
        unit = make_unit(world.estate, zone="A区", building="5栋", number=f"1单元{n + 1}01")
        make_resident(unit, phone=f"1390000550{n}")
        db.session.commit()
        apply(client, desk, unit.id)
    many = statements()
    assert many[1] == few[1] + 4
    assert many[0] == few[0]


def test_the_deposit_paid_at_the_counter_is_held(client, world, api_token):
    """The deposit bill paid by a payment that names it: paid and held in the detail."""
    from portal.blueprints.fees import ledger

    body = approved(client, api_token, world.unit.id)
    deposit_bill = body["approval"]["bills"]["deposit"]
    ledger.record_payment(
        db.session.get(Unit, world.unit.id),
        200000,
        "cash",
        actor=world.frontdesk,
        source="counter",
        bill_ids=[deposit_bill],
    )
    db.session.commit()
    detail = client.get(f"/api/v1/renovations/{body['id']}", headers=api_token("resident"))
    assert detail.get_json()["deposit"] == {
        "billed": "2000.00",
        "paid": "2000.00",
        "deducted": "0.00",
        "refunded": "0.00",
        "held": "2000.00",
    }


def test_the_openapi_document_names_the_renovation_calls(client, world):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/renovations", "/api/v1/renovations/{renovation_id}"} <= set(paths)
    assert {"post", "get"} <= set(paths["/api/v1/renovations"])


def test_drawings_are_checked_by_their_content(app):
    """A PDF by its header and end marker, an image by decoding it; anything else, or a
    PDF header on something else, is refused."""
    import io

    from werkzeug.datastructures import FileStorage

    from portal.blueprints.renovation.rules import check_drawings
    from portal.core.errors import ServiceError
    from tests.factories import png_upload

    def upload(data, name):
        return FileStorage(io.BytesIO(data), filename=name)

    with app.app_context():
        pdf = b"%PDF-1.7\n%%EOF\n"
        kinds = [c for _, c, _ in check_drawings([upload(pdf, "a.pdf"), png_upload("b.png")])]
        assert kinds == ["application/pdf", "image/png"]
        for data, name in ((b"%PDF-1.7 and then nothing", "c.pdf"), (b"hello", "d.jpg")):
            with pytest.raises(ServiceError) as refused:
                check_drawings([upload(data, name)])
            assert refused.value.fields == {"drawings": "not_a_drawing"}


def test_drawings_sent_through_the_api(client, world, api_token):
    """Drawings are optional in the API: base64 files, checked by content like the page's;
    one that is neither a PDF nor an image refuses the application, nothing stored."""
    import base64

    from portal.core.uploads import StoredFile

    def encoded(data):
        return base64.b64encode(data).decode()

    owner = api_token("resident")
    bad = [{"name": "plan.pdf", "content_base64": encoded(b"MZ not a drawing")}]
    body = apply(client, owner, world.unit.id, status=400, drawings=bad)
    assert body["error"]["fields"] == {"drawings": "not_a_drawing"}
    body = apply(
        client, owner, world.unit.id, status=400, drawings=[{"name": "x", "content_base64": "%%%"}]
    )
    assert "drawings.0.content_base64" in body["error"]["fields"]
    assert count(Renovation) == 0 and count(StoredFile) == 0
    good = [{"name": "plan.pdf", "content_base64": encoded(b"%PDF-1.4\n%%EOF\n")}]
    body = apply(client, owner, world.unit.id, drawings=good)
    assert [d["name"] for d in body["drawings"]] == ["plan.pdf"]
    assert body["drawings"][0]["content_type"] == "application/pdf"
