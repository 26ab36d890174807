"""The audit page speaks the reader's language (issue 13, point 4): each action as words, the
record as a readable reference with a link, details as labelled values; filters by person,
kind and local day; bad filters answer with a message; a page costs the same few statements
however many rows and kinds it shows."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.core import clock, settings
from portal.core.audit import ACTION_LABELS, AuditEntry
from portal.core.audit import record as audit_record
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"""audit\.record\(\s*["']([^"']+)["']""")


def recorded_codes() -> dict[str, str]:
    """Every action code passed to audit.record in the portal's code, with where."""
    found = {}
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), str(path.relative_to(ROOT)))
    return found


def test_every_audited_action_has_words():
    codes = recorded_codes()
    assert len(codes) >= 15  # the pattern still finds the call sites
    missing = [f"{where}: {code}" for code, where in codes.items() if code not in ACTION_LABELS]
    assert not missing, "add a label to portal.core.audit.ACTION_LABELS:\n" + "\n".join(missing)


def take_payment(world, amount_fen=30000, actor=None):
    from portal.blueprints.fees import ledger
    from tests.fees.helpers import standard_items

    standard_items(world)
    payment, _ = ledger.record_payment(
        world.unit, amount_fen, "cash", actor=actor or world.frontdesk, source="counter"
    )
    db.session.commit()
    return payment


def rows(body: str) -> list[str]:
    table = re.search(r'data-testid="audit-log".*?</table>', body, re.S).group(0)
    return re.findall(r"<tr><td.*?</tr>", table, re.S)


def test_a_payment_reads_as_words_with_its_receipt(client, world, login_as):
    payment = take_payment(world)
    login_as("manager")
    body = client.get("/admin/audit").get_data(as_text=True)
    (row,) = [r for r in rows(body) if payment.receipt_number in r]
    assert "收款" in row and "payment.record" not in row
    assert f'href="/fees/receipts/{payment.receipt_number}.pdf"' in row
    assert "¥300.00" in row and "amount_fen" not in row and "30000" not in row
    assert "现金" in row and "金额" in row and "payments #" not in row
    assert world.frontdesk.name in row
    client.set_cookie("portal_lang", "en")
    english = client.get("/admin/audit").get_data(as_text=True)
    (row,) = [r for r in rows(english) if payment.receipt_number in r]
    assert "Took a payment" in row and "Amount: ¥300.00" in row and "Method: Cash" in row


def test_other_records_read_as_their_names_and_values(client, world, login_as):
    from portal.core.units import set_occupancy

    settings.set_value("centre.hotline", "400-123-4567", actor=world.admin, estate_id=None)
    set_occupancy(world.vacant, "renovating", clock.local_today(), actor=world.manager)
    db.session.commit()
    login_as("admin")
    client.set_cookie("portal_lang", "en")
    body = client.get("/admin/audit").get_data(as_text=True)
    (hotline,) = [r for r in rows(body) if "Changed a setting" in r]
    label = str(settings.REGISTRY["centre.hotline"].label)
    assert f">{label}</a>" in hotline and 'href="/admin/settings/centre.hotline"' in hotline
    assert "400-123-4567" in hotline and "centre.hotline:" not in hotline
    (unit,) = [r for r in rows(body) if "Changed a unit&#39;s occupancy" in r]
    assert f'href="/units/{world.vacant.id}"' in unit and "1单元1201" in unit
    assert "Under renovation" in unit and "renovating" not in unit.replace("Under renovation", "")


def test_links_only_to_pages_the_reader_may_open(client, world, login_as):
    settings.set_value("centre.hotline", "400-123-4567", actor=world.admin, estate_id=None)
    db.session.commit()
    login_as("admin")
    assert 'href="/admin/settings/centre.hotline"' in client.get("/admin/audit").get_data(
        as_text=True
    )


def entry(action, at, actor, world, **after):
    e = AuditEntry(
        at=at,
        actor_id=actor.id,
        estate_id=world.estate.id,
        action=action,
        entity_type="units",
        entity_id=world.unit.id,
        after=after or None,
    )
    db.session.add(e)
    return e


def test_filters_by_person_kind_and_local_day(client, world, login_as):
    # 23:30 on the 22nd and 00:30 on the 23rd in Shanghai (UTC+8).
    late = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
    early = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    entry("unit.update", late, world.manager, world, kind="shop")
    entry("unit.occupancy", early, world.manager, world, occupancy="vacant")
    entry("unit.update", early, world.frontdesk, world, kind="parking")
    db.session.commit()
    login_as("manager")
    client.set_cookie("portal_lang", "en")

    def shown(**args):
        response = client.get("/admin/audit", query_string=args)
        assert response.status_code == 200
        return [r for r in rows(response.get_data(as_text=True))]

    assert len(shown()) == 3
    by_kind = shown(kind="unit.update")
    assert len(by_kind) == 2 and all("Changed a unit&#39;s details" in r for r in by_kind)
    (by_person,) = shown(person=world.frontdesk.id)
    assert "Parking space" in by_person
    assert len(shown(since="2026-11-23")) == 2
    (day,) = shown(since="2026-11-22", until="2026-11-22")
    assert "Shop" in day
    (both,) = shown(person=world.manager.id, kind="unit.update", until="2026-11-22")
    page = client.get("/admin/audit", query_string={"kind": "unit.update"}).get_data(as_text=True)
    assert '<option value="unit.update" selected>' in page


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"person": "99999999"}, "person"),
        ({"person": "abc"}, "person"),
        ({"person": "9" * 40}, "person"),
        ({"kind": "payment.steal"}, "kind"),
        ({"since": "2026-13-45"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-11-23", "until": "2026-11-01"}, "until"),
    ],
)
def test_bad_filters_answer_with_a_message(client, world, login_as, args, field):
    take_payment(world)
    login_as("manager")
    response = client.get("/admin/audit", query_string=args)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f'data-field="{field}"' in body


def test_the_widest_dates_are_no_error(client, world, login_as):
    take_payment(world)
    login_as("manager")
    everything = rows(client.get("/admin/audit").get_data(as_text=True))
    response = client.get(
        "/admin/audit", query_string={"since": "0001-01-01", "until": "9999-12-31"}
    )
    assert response.status_code == 200
    assert rows(response.get_data(as_text=True)) == everything


def test_another_estates_person_is_no_choice(client, world, login_as):
    take_payment(world, actor=world.other_frontdesk)
    login_as("manager")
    response = client.get("/admin/audit", query_string={"person": world.other_frontdesk.id})
    assert response.status_code == 400


def test_pages_keep_the_filters(client, world, login_as):
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    for _ in range(55):
        entry("unit.update", at, world.manager, world, kind="shop")
    db.session.commit()
    login_as("manager")
    first = client.get("/admin/audit", query_string={"kind": "unit.update"}).get_data(as_text=True)
    assert len(rows(first)) == 50
    assert "/admin/audit?page=2&amp;kind=unit.update" in first or (
        "kind=unit.update" in re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)
    )
    second = client.get("/admin/audit", query_string={"kind": "unit.update", "page": 2})
    assert len(rows(second.get_data(as_text=True))) == 5


def many_kinds(world, n):
    """n entries of every kind of record the page resolves."""
    from portal.blueprints.fees import ledger
    from portal.blueprints.notices.services import compose_notice
    from tests.fees.helpers import standard_items

    items = standard_items(world)
    for i in range(n):
        ledger.record_payment(world.unit, 1000 + i, "cash", actor=world.frontdesk, source="counter")
        bill = ledger.issue_bill(
            world.unit,
            items["debris"],
            amount_fen=500,
            due_on=clock.local_today(),
            source="manual",
            source_key=f"audit-{n}-{i}",
        )
        ledger.reverse_bill(bill, reason="重复", actor=world.manager)
        compose_notice(
            world.frontdesk, estate=world.estate, title=f"通知{i}", body="x", channels=["app"]
        )
        settings.set_value("centre.hotline", f"400-000-{i:04d}", actor=world.admin)
        audit_record("unit.update", world.unit, actor=world.manager, after={"kind": "shop"})
        audit_record("user.deactivate", world.technician, actor=world.admin)
    db.session.commit()


def test_a_page_costs_the_same_statements_however_many_rows(client, world, login_as, count_queries):
    login_as("admin")
    many_kinds(world, 1)
    client.get("/admin/audit")
    with count_queries() as few:
        assert client.get("/admin/audit").status_code == 200
    many_kinds(world, 5)
    with count_queries() as many:
        assert client.get("/admin/audit").status_code == 200
    assert many.count == few.count, many.statements
    assert few.count <= 14


def test_another_companys_company_wide_changes_stay_out(client, world, login_as):
    from portal.core import staff_accounts
    from tests.factories import make_other_company, make_staff

    other = make_other_company()
    far = make_staff(
        "manager", None, username="far_manager", name="远山经理", company=other.company
    )
    near = make_staff(
        "manager", None, username="near_manager", name="本公司经理", company=world.company
    )
    staff_accounts.change_staff_role(far, "inspector", estate=None, actor=other.admin)
    staff_accounts.change_staff_role(near, "inspector", estate=None, actor=world.admin)
    db.session.commit()
    login_as("admin")
    (row,) = rows(client.get("/admin/audit").get_data(as_text=True))
    assert "本公司经理" in row
    login_as("admin_other_company")
    (row,) = rows(client.get("/admin/audit").get_data(as_text=True))
    assert "远山经理" in row
