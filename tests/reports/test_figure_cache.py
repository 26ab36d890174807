"""The fee report is computed once per estate and period, until a ledger write of that
estate commits (core/figures.py)."""

from datetime import date

import pytest

from portal.blueprints.fees import ledger
from portal.blueprints.fees.billing import bill_month, start_run
from portal.blueprints.reports import fees as fee_report
from portal.core import figures
from portal.extensions import db
from tests.fees.helpers import bill

URL = "/reports/fees?from=2026-11-01&to=2026-11-30"
API = "/api/v1/reports/fees?from=2026-11-01&to=2026-11-30"


@pytest.fixture
def computed(app, monkeypatch):
    """The figure cache on (as in production), and a count of real computations."""
    monkeypatch.setitem(app.config, "FIGURES_CACHE", True)
    figures.clear()
    calls = []
    real = fee_report._compute

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(fee_report, "_compute", counting)
    yield calls
    figures.clear()


def received(client, headers):
    return client.get(API, headers=headers).get_json()["totals"]["received"]


def test_viewing_twice_computes_once_and_a_payment_recomputes(
    client, world, login_as, api_token, computed
):
    bill(world, world.unit, 30_000, key="nov", due_on=date(2026, 11, 15))
    db.session.commit()
    headers = api_token("manager")
    login_as("manager")
    assert received(client, headers) == "0.00"
    assert client.get(URL).status_code == 200
    assert received(client, headers) == "0.00"
    assert len(computed) == 1  # the page and the API share one computation

    ledger.record_payment(world.unit, 10_000, "cash", actor=world.frontdesk, source="counter")
    db.session.commit()
    assert received(client, headers) == "100.00"
    assert len(computed) == 2


def test_a_rolled_back_write_keeps_the_figures_and_another_estate_is_untouched(
    client, world, api_token, computed
):
    bill(world, world.unit, 30_000, key="nov", due_on=date(2026, 11, 15))
    db.session.commit()
    headers = api_token("manager")
    received(client, headers)
    ledger.record_payment(world.unit, 10_000, "cash", actor=world.frontdesk, source="counter")
    db.session.rollback()
    bill(world, world.other_unit, 5_000, key="other", due_on=date(2026, 11, 15))
    db.session.commit()
    assert received(client, headers) == "0.00"
    assert len(computed) == 1


def test_a_billing_run_recomputes(client, world, api_token, computed):
    from tests.fees.helpers import standard_items

    standard_items(world, effective_on=date(2026, 1, 1))
    db.session.commit()
    headers = api_token("manager")
    before = client.get(API, headers=headers).get_json()["totals"]["receivable"]
    run = start_run(world.estate.id, "2026-11", actor=world.manager)
    db.session.commit()
    bill_month(run)
    db.session.commit()
    after = client.get(API, headers=headers).get_json()["totals"]["receivable"]
    assert before == "0.00" and after != "0.00"
    assert len(computed) == 2


def test_labels_follow_the_reader_not_the_first_viewer(client, world, api_token, computed):
    bill(world, world.unit, 30_000, key="nov", due_on=date(2026, 11, 15))
    db.session.commit()
    headers = api_token("manager")
    zh = client.get(API, headers=headers).get_json()["by_occupancy"][0]["label"]
    en = client.get(API, headers={**headers, "Accept-Language": "en"}).get_json()
    assert len(computed) == 1
    assert zh != en["by_occupancy"][0]["label"]
