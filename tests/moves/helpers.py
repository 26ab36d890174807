"""Shared set-up for the moves tests: a move-in taken to any step, through the API."""

ON = "2026-11-23"  # the frozen clock's day in the estate (tests/conftest.FROZEN_AT)
PEOPLE = [
    {"name": "王新业主", "phone": "13900001111", "relation": "owner"},
    {"name": "王小妹", "phone": "13900001112", "relation": "family"},
]
OWNER_DOCUMENTS = ["id_card", "purchase_contract", "maintenance_fund", "deed_tax"]
HAND_OVER = {
    "keys": {"count": 3, "label": "入户门A套"},
    "cards": [{"number": "MJ1001", "kind": "access"}, {"number": "CW2001", "kind": "parking"}],
    "readings": [
        {"meter": "water", "value": "12.30"},
        {"meter": "electricity", "value": "356.00"},
        {"meter": "gas", "value": "8.75"},
    ],
}


def new_move_in(client, headers, unit_id, *, people=PEOPLE, on=ON, **extra):
    response = client.post(
        "/api/v1/move-ins",
        json={"unit_id": unit_id, "on": on, "people": people, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def take(client, headers, move_id, action, body, status=200):
    response = client.post(f"/api/v1/move-ins/{move_id}/{action}", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def move_in_at(client, headers, unit_id, step, **extra):
    """A move-in of `unit_id` registered and taken up to `step` (documents, inspected)."""
    move = new_move_in(client, headers, unit_id, **extra)
    if step in ("documents", "inspected"):
        take(client, headers, move["id"], "check-documents", {"documents": OWNER_DOCUMENTS})
    if step == "inspected":
        take(client, headers, move["id"], "inspect", {"result": "ok"})
    return move
