"""Room search as clerks type it, the estate order of units, and the search's statement count."""

import pytest
from sqlalchemy import text

from portal.core.units import parse_place, sort_key
from portal.extensions import db
from tests.factories import make_resident, make_unit


@pytest.fixture
def street(world):
    """Neighbours that a loose search would confuse with A区 1栋 1单元101 (world.unit)."""
    e = world.estate
    units = {
        "A 1 1-1101": make_unit(e, zone="A区", building="1栋", number="1单元1101"),
        "A 1 1-1010": make_unit(e, zone="A区", building="1栋", number="1单元1010"),
        "A 2 1-101": make_unit(e, zone="A区", building="2栋", number="1单元101"),
        "A 11 1-101": make_unit(e, zone="A区", building="11栋", number="1单元101"),
        "B 1 1-101": make_unit(e, zone="B区", building="1栋", number="1单元101"),
        "B 1 101": make_unit(e, zone="B区", building="1栋", number="101"),
        "V1 2": make_unit(e, zone="别墅区", building="V1栋", number="2号"),
        "V1 12": make_unit(e, zone="别墅区", building="V1栋", number="12号"),
    }
    units["A 1 1-101"] = world.unit
    units["A 1 2-101"] = world.unit2
    units["B 3 1-1201"] = world.vacant
    make_resident(units["A 2 1-101"], name="王芳", phone="15912345678")
    make_resident(units["A 11 1-101"], name="王芳菲", phone="15987654321")
    db.session.commit()
    return units


def found(client, headers, q):
    response = client.get("/api/v1/units", query_string={"q": q, "per_page": 100}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return {u["id"] for u in response.get_json()["items"]}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("1栋1单元101", {"A 1 1-101", "B 1 1-101"}),
        ("A区1栋1单元101", {"A 1 1-101"}),
        ("A区 1栋 1单元101", {"A 1 1-101"}),  # a label copied from a page
        ("1-1-101", {"A 1 1-101", "B 1 1-101"}),
        ("A区-1-1-101", {"A 1 1-101"}),
        ("1-101", {"A 1 1-101", "A 1 2-101", "B 1 1-101", "B 1 101"}),
        ("2-101", {"A 2 1-101"}),
        ("A区1栋101", {"A 1 1-101", "A 1 2-101"}),
        ("B区1栋101", {"B 1 1-101", "B 1 101"}),
        ("101", {"A 1 1-101", "A 1 2-101", "A 2 1-101", "A 11 1-101", "B 1 1-101", "B 1 101"}),
        ("1201", {"B 3 1-1201"}),
        ("1010", {"A 1 1-1010"}),
        ("1栋 2单元", {"A 1 2-101"}),
        ("V1栋2号", {"V1 2"}),
        ("B区", {"B 1 1-101", "B 1 101", "B 3 1-1201"}),
        ("林邻居", {"A 1 2-101"}),
        ("王芳", {"A 2 1-101", "A 11 1-101"}),  # the start of a name
        ("王芳菲", {"A 11 1-101"}),
        ("12345678", {"A 2 1-101"}),  # a phone fragment
        ("159", set()),  # three digits are a room, not a phone fragment
        ("%", set()),
    ],
)
def test_shorthand_finds_the_unit_and_not_its_neighbours(
    client, world, street, api_token, q, expected
):
    assert found(client, api_token("frontdesk"), q) == {street[k].id for k in expected}


def test_the_search_page_speaks_shorthand(client, world, street, login_as):
    login_as("frontdesk")
    page = client.get("/units/", query_string={"q": "1-1-101"}).get_data(as_text=True)
    assert "A区 1栋 1单元101" in page and "B区 1栋 1单元101" in page
    assert "1单元1101" not in page and "2栋 1单元101" not in page and "2单元101" not in page


def test_past_residents_are_not_found(client, world, api_token):
    from datetime import date

    unit = make_unit(world.estate, zone="C区", building="1栋", number="1单元301")
    make_resident(unit, name="赵旧户", phone="15800001111", end_on=date(2025, 1, 1))
    db.session.commit()
    headers = api_token("frontdesk")
    assert found(client, headers, "赵旧户") == set()
    assert found(client, headers, "15800001111") == set()


def test_units_are_listed_in_numeric_order(client, world, api_token, login_as):
    e = world.estate
    for building, number in (
        ("10栋", "1单元101"),
        ("2栋", "2单元902"),
        ("2栋", "1单元1001"),
        ("2栋", "1单元902"),
        ("2栋", "1单元201"),
    ):
        make_unit(e, zone="C区", building=building, number=number)
    db.session.commit()
    zone = db.session.execute(
        text("SELECT id FROM zones WHERE estate_id = :e AND name = 'C区'"), {"e": e.id}
    ).scalar()
    body = client.get(
        f"/api/v1/units?zone={zone}&per_page=100", headers=api_token("frontdesk")
    ).get_json()
    labels = [u["label"] for u in body["items"]]
    assert labels == [
        "C区 2栋 1单元201",
        "C区 2栋 1单元902",
        "C区 2栋 1单元1001",
        "C区 2栋 2单元902",
        "C区 10栋 1单元101",
    ]
    assert body["total"] == 5
    login_as("frontdesk")
    page = client.get(f"/units/?zone={zone}").get_data(as_text=True)
    positions = [page.index(label) for label in labels]
    assert positions == sorted(positions)


def test_sort_key_follows_a_renumbered_unit(world):
    unit = make_unit(world.estate, zone="A区", building="3栋", number="1单元902")
    db.session.commit()
    assert unit.sort_key == sort_key("A区", "3栋", "1单元902")
    unit.number = "1单元1001"
    db.session.commit()
    stored = db.session.execute(
        text("SELECT sort_key FROM units WHERE id = :id"), {"id": unit.id}
    ).scalar()
    assert stored == sort_key("A区", "3栋", "1单元1001")
    assert sort_key("A区", "3栋", "1单元902") < stored < sort_key("A区", "3栋", "2单元101")


def test_parse_place():
    assert parse_place("1栋1单元101") == parse_place("1-1-101") == parse_place("1 - 1 - 101")
    assert parse_place("A区1栋101").zone == "A区"
    assert parse_place("陈业主") is None and parse_place("13800000001") is None
    assert parse_place("") is None


def _many_units(world, n, start=0):
    for i in range(start, start + n):
        unit = make_unit(
            world.estate, zone="D区", building=f"{i % 5 + 1}栋", number=f"{i // 5 + 1}单元101"
        )
        make_resident(unit)
    db.session.commit()


def test_page_statement_count_does_not_grow_with_units(client, world, login_as, count_queries):
    login_as("frontdesk")
    _many_units(world, 5)
    counts = []
    for more in (0, 55):
        _many_units(world, more, start=5)
        with count_queries() as counter:
            page = client.get("/units/?q=101")
        assert page.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert "下一页" in page.get_data(as_text=True)  # 60 matches: more than a page


def test_api_statement_count_does_not_grow_with_units(client, world, api_token, count_queries):
    headers = api_token("frontdesk")
    _many_units(world, 5)
    counts = []
    for more in (0, 55):
        _many_units(world, more, start=5)
        with count_queries() as counter:
            body = client.get("/api/v1/units?q=101", headers=headers).get_json()
        counts.append(counter.count)
    assert body["total"] == 62 and len(body["items"]) == 20  # the world's two 101s too
    assert counts[0] == counts[1]


def test_migration_creates_the_search_indexes(world):
    if db.engine.dialect.name == "postgresql":
        names = set(
            db.session.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename IN ('units', 'users')")
            ).scalars()
        )
        assert {
            "ix_units_estate_sort_key",
            "ix_units_estate_number_reversed",
            "ix_users_phone_trgm",
            "ix_users_name_prefix",
            "ix_units_estate_number_prefix",
        } <= names
        definition = db.session.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_users_phone_trgm'")
        ).scalar()
        assert "gin_trgm_ops" in definition
    else:
        names = set(
            db.session.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'units'")
            ).scalars()
        )
        assert "ix_units_estate_sort_key" in names


def test_units_written_by_sql_get_their_sort_key(world):
    from portal.core.units import fill_missing_sort_keys

    db.session.execute(
        text("UPDATE units SET sort_key = NULL WHERE id = :id"), {"id": world.vacant.id}
    )
    assert fill_missing_sort_keys() == 1
    assert db.session.scalar(
        text("SELECT sort_key FROM units WHERE id = :id"), {"id": world.vacant.id}
    ) == sort_key("B区", "3栋", "1单元1201")
    assert fill_missing_sort_keys() == 0
