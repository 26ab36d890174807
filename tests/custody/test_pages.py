"""The desk's pages for cards, readings and keys; the slips are real PDFs."""

import subprocess
from datetime import date, timedelta

import pytest
from flask import render_template
from sqlalchemy import select

from portal.blueprints.custody import services
from portal.blueprints.custody.models import Card, KeySet, MeterReading
from portal.core import clock
from portal.extensions import db
from tests.factories import make_unit, make_zone_butler, png_upload

TODAY = date(2026, 11, 23)


def test_the_desk_issues_returns_loses_and_replaces_cards(client, login_as, world):
    login_as("frontdesk")
    unit = world.unit.id
    page = client.get(f"/custody/units/{unit}")
    assert page.status_code == 200 and "issue-cards" in page.text
    r = client.post(
        f"/custody/units/{unit}/cards",
        data={"issue-numbers": "A1, A2 a3", "issue-kind": "access", "issue-on": "2026-11-23"},
    )
    assert r.status_code == 303
    assert sorted(c.number for c in services.live_cards(unit)) == ["A1", "A2", "A3"]
    # The same number again, on another unit: 409 with the message beside the field.
    r = client.post(
        f"/custody/units/{world.unit2.id}/cards",
        data={"issue-numbers": "A2", "issue-kind": "parking", "issue-on": "2026-11-23"},
    )
    assert r.status_code == 409 and "A2" in r.text and 'data-field="issue-numbers"' in r.text
    r = client.post(
        f"/custody/units/{unit}/cards/return",
        data={"return-numbers": "A1", "return-on": "2026-11-23"},
    )
    assert r.status_code == 303
    a2 = db.session.scalar(select(Card).where(Card.number == "A2"))
    r = client.post(
        f"/custody/units/{unit}/cards/{a2.id}/lost", data={f"lost-{a2.id}-on": "2026-11-23"}
    )
    assert r.status_code == 303
    r = client.post(
        f"/custody/units/{unit}/cards/{a2.id}/replace",
        data={
            f"replace-{a2.id}-number": "A9",
            f"replace-{a2.id}-on": "2026-11-23",
            f"replace-{a2.id}-charge": "y",
        },
    )
    assert r.status_code == 303
    page = client.get(f"/custody/units/{unit}")
    assert 'data-card="A9" data-status="issued"' in page.text
    assert 'data-card="A2" data-status="lost"' in page.text
    assert 'data-card="A1" data-status="returned"' in page.text


@pytest.mark.parametrize(
    "data, status",
    [
        ({"issue-numbers": "卡", "issue-kind": "access", "issue-on": "2026-11-23"}, 400),
        ({"issue-numbers": "A1", "issue-kind": "gold", "issue-on": "2026-11-23"}, 400),
        ({"issue-numbers": "A1", "issue-kind": "access", "issue-on": "yesterday"}, 400),
        ({"issue-numbers": "A1\x00", "issue-kind": "access", "issue-on": "2026-11-23"}, 400),
        ({"issue-numbers": "", "issue-kind": "access", "issue-on": "2026-11-23"}, 400),
    ],
)
def test_bad_card_forms_store_nothing(client, login_as, world, data, status):
    login_as("frontdesk")
    r = client.post(f"/custody/units/{world.unit.id}/cards", data=data)
    assert r.status_code == status
    assert db.session.scalar(select(Card)) is None


def test_ids_past_the_largest_and_other_units_cards_are_404(client, login_as, world):
    login_as("frontdesk")
    (card,) = services.issue_cards(
        world.unit2, [{"number": "B1", "kind": "access"}], TODAY, actor=world.frontdesk
    )
    db.session.commit()
    assert client.get(f"/custody/units/{2**31}").status_code == 404
    assert client.get(f"/custody/keys/{2**31}").status_code == 404
    assert client.get(f"/custody/units/{world.other_unit.id}").status_code == 404
    r = client.post(
        f"/custody/units/{world.unit.id}/cards/{card.id}/lost",
        data={f"lost-{card.id}-on": "2026-11-23"},
    )
    assert r.status_code == 404


def test_readings_with_a_photo_and_a_lower_one_refused(client, login_as, world, app, tmp_path):
    login_as("frontdesk")
    app.config["UPLOAD_DIR"] = str(tmp_path)
    try:
        r = client.post(
            f"/custody/units/{world.unit.id}/readings",
            data={
                "readings-purpose": "routine",
                "readings-on": "2026-11-20",
                "readings-water": "120.5",
                "readings-water_photo": png_upload(),
                "readings-gas": "",
                "readings-electricity": "3000",
            },
            content_type="multipart/form-data",
        )
        assert r.status_code == 303
        r = client.post(
            f"/custody/units/{world.unit.id}/readings",
            data={
                "readings-purpose": "final",
                "readings-on": "2026-11-23",
                "readings-water": "100",
            },
        )
        assert r.status_code == 400 and "120.50" in r.text
        r = client.post(
            f"/custody/units/{world.unit.id}/readings",
            data={"readings-purpose": "final", "readings-on": "2026-11-23"},
        )
        assert r.status_code == 400
    finally:
        app.config.pop("UPLOAD_DIR", None)
    assert db.session.query(MeterReading).count() == 2


def test_keys_from_taking_in_to_handing_over_and_the_register(client, login_as, world):
    login_as("frontdesk")
    r = client.post(
        f"/custody/units/{world.vacant.id}/keys",
        data={
            "keys-label": "K-1201",
            "keys-count": "3",
            "keys-name": "王业主",
            "keys-on": "2026-11-23",
        },
    )
    assert r.status_code == 303
    keyset = db.session.scalar(select(KeySet))
    assert r.headers["Location"].endswith(f"/custody/keys/{keyset.id}")
    r = client.post(
        f"/custody/keys/{keyset.id}/lend",
        data={
            "lend-name": "李师傅",
            "lend-phone": "13700000000",
            "lend-reason": "量房",
            "lend-due_on": "2026-11-23",
        },
    )
    assert r.status_code == 303
    register = client.get("/custody/keys")
    assert "K-1201" in register.text and "data-overdue" not in register.text
    clock.freeze(clock.now() + timedelta(days=1))
    register = client.get("/custody/keys?show=overdue")
    assert f'data-key-set="{keyset.id}" class="table-danger" data-overdue' in register.text
    r = client.post(
        f"/custody/keys/{keyset.id}/lend",
        data={
            "lend-name": "赵",
            "lend-phone": "13700000001",
            "lend-reason": "看房",
            "lend-due_on": "2026-11-30",
        },
    )
    assert r.status_code == 409
    assert client.post(f"/custody/keys/{keyset.id}/return", data={}).status_code == 303
    r = client.post(f"/custody/keys/{keyset.id}/hand-over", data={"hand_over-name": "王业主"})
    assert r.status_code == 303
    page = client.get(f"/custody/keys/{keyset.id}")
    assert [
        a
        for a in ("taken_in", "lent", "returned", "handed_over")
        if f'data-action="{a}"' in page.text
    ] == ["taken_in", "lent", "returned", "handed_over"]
    assert "K-1201" not in client.get("/custody/keys").text
    assert "K-1201" in client.get("/custody/keys?show=handed_over").text


def test_the_custody_and_lending_slips_are_pdfs(client, login_as, world, tmp_path):
    login_as("frontdesk")
    keyset = services.take_keys(
        world.vacant, count=2, label="钥匙袋B-1201", actor=world.frontdesk, name="王业主"
    )
    loan = services.lend_keys(
        keyset,
        name="李师傅",
        phone="13700000000",
        reason="量房",
        due_back_at=TODAY + timedelta(days=1),
        actor=world.frontdesk,
    )
    db.session.commit()
    for url, words in (
        (f"/custody/keys/{keyset.id}/slip.pdf", ["钥匙袋B-1201", "1单元1201", "王业主"]),
        (f"/custody/keys/{keyset.id}/loans/{loan.id}.pdf", ["李师傅", "量房", "1单元1201"]),
    ):
        r = client.get(url)
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.data.startswith(b"%PDF")
        path = tmp_path / "slip.pdf"
        path.write_bytes(r.data)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        for word in words:
            assert word in text
    taken_in = keyset.movements[0]
    assert client.get(f"/custody/keys/{keyset.id}/loans/{taken_in.id}.pdf").status_code == 404


def test_a_zone_butler_works_within_their_zones(client, login_as, world):
    make_zone_butler(world)  # A区: world.unit; world.vacant is in B区
    b_keys = services.take_keys(world.vacant, count=1, label="B", actor=world.frontdesk)
    a_keys = services.take_keys(world.unit, count=1, label="A", actor=world.frontdesk)
    db.session.commit()
    login_as("zone_butler")
    assert client.get(f"/custody/units/{world.unit.id}").status_code == 200
    assert client.get(f"/custody/units/{world.vacant.id}").status_code == 404
    assert client.get(f"/custody/keys/{b_keys.id}").status_code == 404
    assert client.get(f"/custody/keys/{a_keys.id}").status_code == 200
    register = client.get("/custody/keys").text
    assert (
        f'data-key-set="{a_keys.id}"' in register and f'data-key-set="{b_keys.id}"' not in register
    )


@pytest.mark.parametrize(
    "who, status", [("resident", 403), ("technician", 403), ("frontdesk_other", 404)]
)
def test_others_do_not_open_the_pages(client, login_as, world, who, status):
    login_as(who)
    assert client.get(f"/custody/units/{world.unit.id}").status_code == status


def test_the_unit_panel_include(app, world):
    services.issue_cards(
        world.unit, [{"number": "A1", "kind": "parking"}], TODAY, actor=world.frontdesk
    )
    services.record_readings(
        world.unit,
        [{"meter": "gas", "value": "7.1"}],
        TODAY,
        actor=world.frontdesk,
        purpose="first",
    )
    services.take_keys(world.unit, count=2, label="K-101", actor=world.frontdesk)
    with app.test_request_context():
        from flask_login import login_user

        login_user(world.frontdesk)
        html = render_template(
            "custody/_unit_panel.html", unit=world.unit, custody=services.unit_panel(world.unit.id)
        )
    assert 'data-card="A1" data-status="issued"' in html
    assert "7.10" in html and "K-101" in html and "/custody/units/" in html


def test_pages_statements_do_not_grow(client, login_as, world, count_queries):
    login_as("frontdesk")

    def counted(url):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    def grow(n, tag):
        for i in range(n):
            unit = make_unit(world.estate, zone="C区", number=f"{tag}{i}")
            keyset = services.take_keys(unit, count=1, label=f"{tag}{i}", actor=world.frontdesk)
            services.lend_keys(
                keyset,
                name="李",
                phone="13700000000",
                reason="x",
                due_back_at=clock.now() + timedelta(hours=1),
                actor=world.frontdesk,
            )
            services.issue_cards(
                world.unit,
                [{"number": f"{tag}{i}", "kind": "access"}],
                TODAY,
                actor=world.frontdesk,
            )
            services.record_readings(
                world.unit,
                [{"meter": "water", "value": str(i)}],
                TODAY,
                actor=world.frontdesk,
                purpose="first",
            )
            services.take_keys(world.unit, count=1, label=f"{tag}u{i}", actor=world.frontdesk)
        db.session.commit()

    grow(1, "S")
    urls = ["/custody/keys", "/custody/keys?show=overdue", f"/custody/units/{world.unit.id}"]
    small = [counted(u) for u in urls]
    grow(8, "L")
    clock.freeze(clock.now() + timedelta(hours=2))
    big = [counted(u) for u in urls]
    assert small == big, (small, big)


def test_the_gate_guard_opens_none_of_it(client, login_as, api_token, world):
    from tests.factories import make_staff

    make_staff("guard", world.estate, username="guard")
    keyset = services.take_keys(world.unit, count=1, label="K", actor=world.frontdesk)
    db.session.commit()
    login_as("guard")
    for url in (
        f"/custody/units/{world.unit.id}",
        "/custody/keys",
        f"/custody/keys/{keyset.id}",
        f"/custody/keys/{keyset.id}/slip.pdf",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/custody/units/{world.unit.id}/cards", data={}).status_code == 403
    headers = api_token("guard")
    assert client.get(f"/api/v1/units/{world.unit.id}/cards", headers=headers).status_code == 403
    r = client.post(f"/api/v1/units/{world.unit.id}/cards/A1/lost", json={}, headers=headers)
    assert r.status_code == 403
