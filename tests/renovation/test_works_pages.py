"""The works on the renovation page: an inspection with a violation and its rectification,
the hidden works, a refused acceptance keeping the deductions typed, and the acceptance that
refunds the deposit with its slip linked."""

from sqlalchemy import func, select

from portal.blueprints.fees import ledger
from portal.blueprints.fees.models import DepositRefund
from portal.blueprints.renovation.models import Renovation
from portal.core.places import Unit
from portal.extensions import db
from tests.renovation.helpers import approved


def test_the_works_on_the_page(client, world, login_as, api_token):
    body = approved(client, api_token, world.unit.id)
    url = f"/renovations/{body['id']}"
    login_as("technician")
    page = client.get(url)
    assert page.status_code == 200 and 'data-action="inspect"' in page.text
    assert 'data-action="hidden-works"' in page.text
    refused = client.post(f"{url}/act/inspect", data={"result": "violation", "note": "噪音"})
    assert refused.status_code == 400 and "噪音" in refused.text
    done = client.post(
        f"{url}/act/inspect",
        data={
            "result": "violation",
            "note": "午休施工",
            "violation_type": "hours",
            "rectify_by": "2026-11-26",
        },
    )
    assert done.status_code == 303
    page = client.get(url)
    assert 'data-testid="open-violations"' in page.text and 'data-action="rectify"' in page.text
    assert client.post(f"{url}/act/rectify", data={"note": "已整改"}).status_code == 303
    assert 'data-testid="open-violations"' not in client.get(url).text
    assert client.post(f"{url}/act/accept", data={"passed": "y", "note": "x"}).status_code == 303
    assert db.session.get(Renovation, body["id"]).status == "approved"
    done = client.post(f"{url}/act/hidden-works", data={"passed": "y", "note": "闭水合格"})
    assert done.status_code == 303
    ledger.record_payment(
        db.session.get(Unit, world.unit.id),
        200000,
        "cash",
        actor=world.frontdesk,
        source="counter",
        bill_ids=[body["approval"]["bills"]["deposit"]],
    )
    db.session.commit()
    data = {
        "passed": "y",
        "note": "验收合格",
        "refund_method": "cash",
        "occupancy": "renovated_vacant",
        "deduction_reason": ["楼道墙面损坏", ""],
        "deduction_amount": ["2500.00", ""],
    }
    refused = client.post(f"{url}/act/accept", data=data)
    assert refused.status_code == 400 and 'value="2500.00"' in refused.text
    assert db.session.scalar(select(func.count()).select_from(DepositRefund)) == 0
    data["deduction_amount"] = ["300.00", ""]
    assert client.post(f"{url}/act/accept", data=data).status_code == 303
    page = client.get(url)
    assert 'data-testid="refund"' in page.text and (
        "1,700.00" in page.text or "1700.00" in page.text
    )
    refund = db.session.scalars(select(DepositRefund)).one()
    # The slip prints at the desk: the technician who accepted gets no link they cannot open.
    assert f"/fees/refunds/{refund.id}.pdf" not in page.text
    assert "· revoked" not in page.text  # the passes' state in words, not its code
    login_as("frontdesk")
    page = client.get(url)
    assert f"/fees/refunds/{refund.id}.pdf" in page.text
    assert client.get(f"/fees/refunds/{refund.id}.pdf").status_code == 200
    assert db.session.get(Renovation, body["id"]).status == "accepted"


def test_the_resident_sees_no_works_forms(client, world, login_as, api_token):
    body = approved(client, api_token, world.unit.id)
    login_as("resident")
    page = client.get(f"/renovations/{body['id']}")
    assert page.status_code == 200
    assert 'data-action="inspect"' not in page.text and 'data-action="accept"' not in page.text
    refused = client.post(
        f"/renovations/{body['id']}/act/accept", data={"passed": "y", "note": "x"}
    )
    assert refused.status_code in (303, 403)
    assert db.session.get(Renovation, body["id"]).status == "approved"


def test_the_acceptance_form_prints(client, world, login_as, api_token):
    from tests.renovation.helpers import apply, take

    body = approved(client, api_token, world.unit.id)
    take(
        client,
        api_token("technician"),
        body["id"],
        "hidden-works",
        {"passed": True, "note": "闭水合格"},
    )
    login_as("technician")
    pdf = client.get(f"/renovations/{body['id']}/acceptance.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = (
        apply(client, api_token("frontdesk"), world.unit2.id) if hasattr(world, "unit2") else None
    )
    if other:
        assert client.get(f"/renovations/{other['id']}/acceptance.pdf").status_code == 404
    assert client.get("/renovations/99999999999/acceptance.pdf").status_code == 404
