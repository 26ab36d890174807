"""Shared set-up for the renovation tests: valid applications and a way through the steps."""

from portal.blueprints.renovation.rules import ID_CHECK, ID_WEIGHTS

TODAY = "2026-11-23"  # the frozen clock's day in the estate (tests/conftest.FROZEN_AT)


def id_number(body17: str) -> str:
    """A resident ID number with its right check character."""
    total = sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True))
    return body17 + ID_CHECK[total % 11]


WORKERS = [
    {"name": "张师傅", "id_number": "11010519491231002X", "phone": "13700000011"},
    {"name": "李师傅", "id_number": id_number("32010219850615123"), "phone": "13700000012"},
]


def application(unit, **extra):
    body = {
        "unit_id": unit,
        "contractor": "好家装饰有限公司",
        "contractor_licence": "JZ-2026-0088",
        "foreman": "王工长",
        "foreman_phone": "13700000010",
        "starts_on": "2026-11-25",
        "ends_on": "2026-12-24",
        "scope": ["plumbing_electrical", "walls"],
        "workers": WORKERS,
        "hours_accepted": True,
        "statement_signed": True,
    }
    body.update(extra)
    return body


def apply(client, headers, unit, status=201, **extra):
    response = client.post("/api/v1/renovations", json=application(unit, **extra), headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def take(client, headers, renovation_id, action, body=None, status=200):
    response = client.post(
        f"/api/v1/renovations/{renovation_id}/{action}", json=body or {}, headers=headers
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def approved(client, api_token, unit_id, **extra):
    """An application by the desk, reviewed and approved by the supervisor."""
    desk = api_token("frontdesk")
    renovation = apply(client, desk, unit_id, **extra)
    take(client, api_token("technician"), renovation["id"], "review", {"notes": "图纸齐全"})
    return take(client, api_token("supervisor"), renovation["id"], "approve")
