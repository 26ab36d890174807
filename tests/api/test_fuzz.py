"""The API under fuzzing: requests generated from the OpenAPI document, valid and not, as a
member of staff and as a resident, never get a 5xx (contracts §5). A few examples per
operation here; bench/fuzz.py runs thousands."""

from tests.api.fuzz import fuzz, report

EXAMPLES = 6  # per operation and mode (valid, invalid), plus probes: ~740 requests


def test_no_generated_request_gets_a_server_error(app, client, world, api_token):
    tokens = {"staff": api_token("frontdesk"), "resident": api_token("resident")}
    result = fuzz(app, tokens, examples=EXAMPLES)
    print(report(result))
    assert result.requests >= 600
    assert result.server_errors == 0, report(result)


def test_the_document_declares_the_closed_sets_and_money(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    def enum_of(model, name):
        prop = schemas[model]["properties"][name]
        options = prop.get("anyOf", [prop])
        found = [o.get("enum") or o.get("items", {}).get("enum") for o in options]
        return set(next(e for e in found if e))

    assert enum_of("RepairIn", "category") >= {"plumbing_electrical", "elevator", "other"}
    assert enum_of("RepairIn", "location") == {"unit", "common"}
    assert enum_of("RepairIn", "channel") == {"online", "phone", "walk_in", "patrol"}
    assert enum_of("ComplaintIn", "category") >= {"service_attitude", "neighbours_noise"}
    assert enum_of("ComplaintIn", "kind") == {"complaint", "inquiry", "suggestion"}
    assert enum_of("NoticeIn", "channels") == {"app", "sms", "email", "print"}
    for model in ("PaymentIn", "OnlineIn"):
        assert schemas[model]["properties"]["amount"]["pattern"] == r"^\d{1,9}(\.\d{1,2})?$"
    assert schemas["RepairIn"]["properties"]["unit_id"]["anyOf"][0]["maximum"] == 2**31 - 1
