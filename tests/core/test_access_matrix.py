"""Every route × every login, with the other resident's ids, against a declared table.

A route with no row here fails the test: every new feature adds its rows.
"""

import pytest

COLUMNS = (
    "anon",
    "resident",
    "resident2",
    "frontdesk",
    "technician",
    "supervisor",
    "manager",
    "admin",
    "frontdesk_other",
    "zone_butler",
)


def row(anon, resident, resident2, staff, *, manager=None, admin=None, other=None, butler=None):
    """Expected status per column; `staff` covers frontdesk, technician, supervisor and the
    zone butler (of the zone of resident2's unit)."""
    return (
        anon,
        resident,
        resident2,
        staff,
        staff,
        staff,
        staff if manager is None else manager,
        staff if admin is None else admin,
        staff if other is None else other,
        staff if butler is None else butler,
    )


def everyone(code):
    return (code,) * len(COLUMNS)


MANAGERS_ONLY = row(302, 403, 403, 403, manager=200, admin=200)
ADMIN_ONLY = row(302, 403, 403, 403, manager=403, admin=200)
SIGNED_IN = row(302, 200, 200, 200)
STAFF = row(302, 403, 403, 200)
API_SIGNED_IN = row(401, 200, 200, 200)
API_STAFF = row(401, 403, 403, 200)
# The object belongs to resident2: resident and the other estate's staff get 404.
RESIDENT2_OBJECT = row(302, 404, 200, 200, other=404)
API_RESIDENT2_OBJECT = row(401, 404, 200, 200, other=404)

EXPECT = {
    ("home.index", "GET"): SIGNED_IN,
    ("home.healthz", "GET"): everyone(200),
    ("home.favicon", "GET"): everyone(301),
    ("home.set_language", "GET"): everyone(302),
    # Only company-wide staff have an estate to switch; the empty form is refused.
    ("home.switch_estate", "POST"): row(302, 403, 403, 403, manager=403, admin=400),
    ("static", "GET"): everyone(200),
    ("bootstrap.static", "GET"): everyone(200),
    ("auth.login", "GET"): row(200, 302, 302, 302),
    ("auth.login", "POST"): row(401, 302, 302, 302),
    ("auth.logout", "POST"): everyone(302),
    ("auth.password", "GET"): SIGNED_IN,
    ("auth.password", "POST"): row(302, 400, 400, 400),
    # Resident accounts: activation and reset by a one-time code (contracts §7).
    ("auth.activate", "GET"): row(200, 302, 302, 302),
    ("auth.activate", "POST"): row(400, 302, 302, 302),
    ("auth.activate_code", "GET"): everyone(302),
    ("auth.activate_code", "POST"): everyone(302),
    ("auth.reset", "GET"): row(200, 302, 302, 302),
    ("auth.reset", "POST"): row(400, 302, 302, 302),
    ("auth.reset_code", "GET"): everyone(302),
    ("auth.reset_code", "POST"): everyone(302),
    ("api.send_account_code", "POST"): everyone(400),
    ("api.activate_account", "POST"): everyone(400),
    ("api.reset_account_password", "POST"): everyone(400),
    # Staff two-step sign-in.
    ("auth.second_factor", "GET"): STAFF,
    ("auth.second_factor", "POST"): row(302, 403, 403, 400),
    ("auth.second_factor_off", "POST"): row(302, 403, 403, 302),
    ("auth.second_factor_check", "GET"): everyone(302),
    ("auth.second_factor_check", "POST"): everyone(302),
    ("units.index", "GET"): STAFF,
    ("units.detail", "GET"): RESIDENT2_OBJECT,
    ("units.add_resident", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("units.end_residency", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("units.correct_phone", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("units.change_occupancy", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("api.list_residencies", "GET"): row(401, 403, 403, 200, other=404),
    ("api.list_occupancy", "GET"): row(401, 403, 403, 200, other=404),
    ("api.add_resident", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.end_residency", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.change_occupancy", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.correct_phone", "PATCH"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    # Activation letters: the counter of the unit's estate (not the butler); resident2 has
    # activated, so printing their household's letters answers 303 (nobody to print for).
    ("units.household_letters", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 403),
    ("units.household_letters", "POST"): (302, 403, 403, 303, 403, 303, 303, 303, 404, 403),
    ("units.building_letters", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 403),
    ("units.building_letters", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 403),
    ("admin.imports", "GET"): MANAGERS_ONLY,
    ("admin.imports", "POST"): row(302, 403, 403, 403, manager=400, admin=400),
    ("admin.users", "GET"): ADMIN_ONLY,
    ("admin.users", "POST"): row(302, 403, 403, 403, manager=403, admin=400),
    ("admin.settings_index", "GET"): ADMIN_ONLY,
    ("admin.setting_edit", "GET"): ADMIN_ONLY,
    ("admin.setting_edit", "POST"): row(302, 403, 403, 403, manager=403, admin=400),
    ("admin.audit", "GET"): MANAGERS_ONLY,
    ("admin.user_detail", "GET"): ADMIN_ONLY,
    ("admin.change_role", "POST"): row(302, 403, 403, 403, manager=403, admin=400),
    ("admin.deactivate_user", "POST"): row(302, 403, 403, 403, manager=403, admin=302),
    ("admin.reactivate_user", "POST"): row(302, 403, 403, 403, manager=403, admin=302),
    ("admin.reset_password", "POST"): row(302, 403, 403, 403, manager=403, admin=200),
    ("admin.reset_second_factor", "POST"): row(302, 403, 403, 403, manager=403, admin=302),
    ("notices.index", "GET"): SIGNED_IN,
    # A company-wide admin composes for the estate chosen in the header (or the first).
    ("notices.new", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("notices.new", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("notices.detail", "GET"): row(302, 403, 403, 200, other=404),
    ("notices.print_building", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("notices.message", "GET"): (302, 404, 200, 404, 404, 404, 404, 404, 404, 404),
    ("notices.acknowledge", "POST"): (302, 404, 302, 404, 404, 404, 404, 404, 404, 404),
    ("jobs.result", "GET"): row(302, 404, 404, 200, other=404),
    ("admin.deliveries", "GET"): ADMIN_ONLY,
    ("admin.retry_delivery", "POST"): row(302, 403, 403, 403, manager=403, admin=302),
    ("api.list_inbox", "GET"): API_SIGNED_IN,
    ("api.read_inbox_item", "POST"): (401, 404, 200, 404, 404, 404, 404, 404, 404, 404),
    ("api.acknowledge_inbox_item", "POST"): (401, 404, 200, 404, 404, 404, 404, 404, 404, 404),
    ("api.create_notice", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.notice_receipts", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("api.get_job", "GET"): row(401, 404, 404, 200, other=404),
    ("repairs.index", "GET"): SIGNED_IN,
    ("repairs.new", "GET"): SIGNED_IN,
    ("repairs.new", "POST"): row(302, 400, 400, 400),
    ("repairs.detail", "GET"): RESIDENT2_OBJECT,
    # An action the state or role does not allow: flashed on the repair page (303).
    ("repairs.act", "POST"): row(302, 404, 303, 303, other=404),
    ("repairs.work_order", "GET"): row(302, 403, 403, 200, other=404),
    ("repairs.visits", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("files.download", "GET"): RESIDENT2_OBJECT,
    ("files.thumbnail", "GET"): RESIDENT2_OBJECT,
    ("complaints.index", "GET"): SIGNED_IN,
    ("reports.complaints", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.complaints_xlsx", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.complaints_pdf", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("complaints.new", "GET"): SIGNED_IN,
    ("complaints.new", "POST"): row(302, 400, 400, 400),
    ("complaints.detail", "GET"): RESIDENT2_OBJECT,
    ("complaints.act", "POST"): row(302, 404, 303, 303, other=404),
    ("api.create_complaint", "POST"): row(401, 400, 400, 400),
    ("api.list_complaints", "GET"): API_SIGNED_IN,
    ("api.get_complaint", "GET"): API_RESIDENT2_OBJECT,
    # "start" is no complaint action: 409 naming the allowed ones, for whoever may see it.
    ("api.complaint_action", "POST"): (401, 404, 409, 409, 409, 409, 409, 409, 404, 409),
    ("api.create_repair", "POST"): row(401, 400, 400, 400),
    ("api.list_repairs", "GET"): API_SIGNED_IN,
    ("api.get_repair", "GET"): API_RESIDENT2_OBJECT,
    # "start" on resident2's submitted repair: workers' roles get 409, others 403.
    ("api.repair_action", "POST"): (401, 404, 403, 403, 409, 409, 409, 403, 404, 403),
    # No from/to given: the roles that may see the report get 400 naming them.
    ("api.service_report", "GET"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.openapi", "GET"): everyone(200),
    ("api.create_token", "POST"): everyone(400),
    ("api.delete_token", "DELETE"): row(401, 400, 400, 400),
    ("api.me", "GET"): API_SIGNED_IN,
    ("api.list_units", "GET"): API_STAFF,
    ("api.get_unit", "GET"): API_RESIDENT2_OBJECT,
    ("api.list_staff", "GET"): API_STAFF,
    # Fees: the counter (cashiers), corrections, runs and items (managers), residents' bills.
    ("fees.unit_account", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("fees.take_payment", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 403),
    ("fees.take_prepayment", "POST"): (302, 403, 403, 303, 403, 303, 303, 303, 404, 403),
    ("fees.reverse_payment", "POST"): (302, 403, 403, 403, 403, 303, 303, 303, 403, 403),
    ("fees.withdraw_bill", "POST"): (302, 403, 403, 403, 403, 403, 303, 303, 403, 403),
    ("fees.receipt", "GET"): RESIDENT2_OBJECT,
    ("fees.refund_slip", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("reports.cash", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 403),
    ("reports.cash_pdf", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 403),
    ("fees.runs", "GET"): MANAGERS_ONLY,
    ("fees.runs", "POST"): row(302, 403, 403, 403, manager=400, admin=400),
    ("fees.run_detail", "GET"): MANAGERS_ONLY,
    ("fees.items", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 403),
    ("fees.items", "POST"): row(302, 403, 403, 403, manager=400, admin=400),
    ("fees.add_rate", "POST"): row(302, 403, 403, 403, manager=303, admin=303),
    ("fees.mine", "GET"): row(302, 200, 200, 403),
    ("fees.pay_online", "POST"): row(302, 303, 303, 403),
    ("fees.order", "GET"): row(302, 404, 200, 403),
    ("fees.sandbox_checkout", "GET"): row(302, 404, 200, 403),
    ("fees.sandbox_checkout", "POST"): row(302, 404, 200, 403),
    ("fees.pay_return", "GET"): row(302, 303, 303, 403),
    ("api.list_bills", "GET"): API_SIGNED_IN,
    ("api.create_billing_run", "POST"): row(401, 403, 403, 403, manager=400, admin=400),
    ("api.create_payment", "POST"): row(401, 400, 400, 400),
    ("api.reverse_payment", "POST"): (401, 403, 403, 403, 403, 400, 400, 400, 403, 403),
    ("api.create_online_payment", "POST"): row(401, 400, 400, 403),
    ("api.payment_callback", "POST"): everyone(400),
    ("api.get_receipt", "GET"): API_RESIDENT2_OBJECT,
    ("reports.fees", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.fees_xlsx", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.fees_pdf", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.arrears", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("reports.repairs", "GET"): (302, 403, 403, 403, 403, 200, 200, 200, 403, 403),
    ("reports.repairs_xlsx", "GET"): (302, 403, 403, 403, 403, 200, 200, 200, 403, 403),
    ("reports.repairs_pdf", "GET"): (302, 403, 403, 403, 403, 200, 200, 200, 403, 403),
    ("api.fee_report", "GET"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    # A company-wide admin names the estate (estate=): 400 without it.
    ("api.list_arrears", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("fees.collection_records", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("fees.collection_records", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("fees.calls", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("fees.review", "GET"): MANAGERS_ONLY,
    ("fees.slips", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("fees.slips", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    # Moves (contracts §8): the desk's pages and API; residents, technicians and the guard
    # are refused by role, another estate's desk gets 404 for a move.
    ("moves.index", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("moves.new_in", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("moves.new_in", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("moves.new_out", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("moves.new_out", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("moves.detail", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    # An unknown action ("start") is refused with a message: back to the move (303).
    ("moves.act", "POST"): (302, 403, 403, 303, 403, 303, 303, 303, 404, 303),
    # The empty form: the move-out's page again with the message (400).
    ("moves.goods_pass", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("api.create_move_in", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.list_move_ins", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("api.get_move_in", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("api.move_in_action", "POST"): (401, 403, 403, 409, 403, 409, 409, 409, 404, 409),
    ("api.create_move_out", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("api.list_move_outs", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("api.get_move_out", "GET"): (401, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("api.move_out_action", "POST"): (401, 403, 403, 409, 403, 409, 409, 409, 404, 409),
    # Moves and cards in figures (issue 15): the report readers; no period given → 400.
    ("api.move_report", "GET"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    # Passes (contracts §8): residents ask, the desk issues; the gate (desk and guard) checks.
    # The pass is resident2's visitor pass for their unit.
    ("passes.index", "GET"): (302, 200, 200, 200, 403, 200, 200, 200, 200, 200),
    ("passes.new", "GET"): (302, 200, 200, 200, 403, 200, 200, 200, 200, 200),
    ("passes.new", "POST"): (302, 400, 400, 400, 403, 400, 400, 400, 400, 400),
    ("passes.detail", "GET"): (302, 404, 200, 200, 403, 200, 200, 200, 404, 200),
    ("passes.pdf", "GET"): (302, 404, 200, 200, 403, 200, 200, 200, 404, 200),
    ("passes.approve", "POST"): (302, 404, 303, 303, 403, 303, 303, 303, 404, 303),
    ("passes.revoke", "POST"): (302, 404, 303, 303, 403, 303, 303, 303, 404, 303),
    ("passes.check", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("passes.check", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    ("passes.checks", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("api.create_pass", "POST"): (401, 400, 400, 400, 403, 400, 400, 400, 400, 400),
    ("api.list_passes", "GET"): (401, 200, 200, 200, 403, 200, 200, 200, 200, 200),
    ("api.get_pass", "GET"): (401, 404, 200, 200, 403, 200, 200, 200, 404, 200),
    ("api.get_pass_pdf", "GET"): (401, 404, 200, 200, 403, 200, 200, 200, 404, 200),
    ("api.approve_pass", "POST"): (401, 404, 409, 409, 403, 409, 409, 409, 404, 409),
    ("api.revoke_pass", "POST"): (401, 400, 400, 400, 403, 400, 400, 400, 400, 400),
    ("api.check_pass", "POST"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
    # Cards, meter readings and keys in custody: the desk of the unit's estate (and the
    # butler of its zone). resident2's key set is lent: the empty form takes it back.
    ("custody.unit", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("custody.issue_cards", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.return_cards", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.report_lost", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.replace_card", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.record_readings", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.take_keys", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.keys", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 200, 200),
    ("custody.key_set", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("custody.lend_keys", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.take_back_keys", "POST"): (302, 403, 403, 303, 403, 303, 303, 303, 404, 303),
    ("custody.hand_over_keys", "POST"): (302, 403, 403, 400, 403, 400, 400, 400, 404, 400),
    ("custody.custody_slip", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("custody.lending_slip", "GET"): (302, 403, 403, 200, 403, 200, 200, 200, 404, 200),
    ("api.unit_cards", "GET"): API_RESIDENT2_OBJECT,
    # `number` is a receipt number here: no such card, 404 once past the role check.
    ("api.report_card_lost", "POST"): (401, 404, 404, 404, 403, 404, 404, 404, 404, 404),
    # Renovation (contracts §9): residents see their units' renovations and the owner
    # applies; staff of the estate see them (the engineers review), the gate guard none.
    ("renovation.index", "GET"): (302, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("renovation.new", "GET"): (302, 200, 200, 200, 403, 200, 200, 200, 200, 200),
    ("renovation.new", "POST"): (302, 400, 400, 400, 403, 400, 400, 400, 400, 400),
    ("renovation.detail", "GET"): RESIDENT2_OBJECT,
    # An unknown action ("start") is refused with a message: back to the renovation (303).
    ("renovation.act", "POST"): (302, 404, 303, 303, 303, 303, 303, 303, 404, 303),
    # resident2's renovation is approved: its permit prints.
    ("renovation.permit", "GET"): RESIDENT2_OBJECT,
    # resident2's renovation is approved: its acceptance form (工程验收单) prints.
    ("renovation.acceptance", "GET"): RESIDENT2_OBJECT,
    ("api.create_renovation", "POST"): (401, 400, 400, 400, 403, 400, 400, 400, 400, 400),
    ("api.list_renovations", "GET"): API_SIGNED_IN,
    ("api.get_renovation", "GET"): API_RESIDENT2_OBJECT,
    ("api.renovation_action", "POST"): (401, 404, 409, 409, 409, 409, 409, 409, 404, 409),
    # Readers without from/to: 400.
    ("api.renovation_report", "GET"): (401, 403, 403, 400, 403, 400, 400, 400, 400, 400),
}

# An administrator of another company (tests.factories.make_other_company) acts for their
# own estate: they answer as the world's administrator, except that a route loading one of
# the world's objects (a URL with its id or number) answers 404 wherever the world's
# administrator gets past the role gate.
OTHER_COMPANY = "admin_other_company"
OBJECT_ARGUMENTS = frozenset(
    {"unit_id", "repair_id", "complaint_id", "notice_id", "item_id", "job_id", "outbox_id"}
    | {"file_id", "payment_id", "bill_id", "number", "receipt_number", "run_id", "fee_item_id"}
    | {"order_no", "user_id", "residency_id", "person_id"}
    | {"move_id", "move_in_id", "move_out_id", "pass_id", "card_id", "key_set_id"}
    | {"movement_id", "renovation_id", "refund_id"}
)
OTHER_COMPANY_EXCEPTIONS = {
    # The body is checked before the pass is loaded: the same 400 for any pass id.
    ("api.revoke_pass", "POST"): 400,
    # The body is checked before the payment is loaded: the same 400 for any payment id.
    ("api.reverse_payment", "POST"): 400,
    # The repair is loaded before the workflow checks the role: 404, not the admin's 403.
    ("api.repair_action", "POST"): 404,
    # The body is checked before the unit or the person is loaded.
    ("api.add_resident", "POST"): 400,
    ("api.end_residency", "POST"): 400,
    ("api.change_occupancy", "POST"): 400,
    ("api.correct_phone", "PATCH"): 400,
}


# The gate guard (门岗) of the world's estate is staff, but only what the gate needs opens
# to them: a route every signed-in login answers alike (public pages, the signed-in
# person's own pages) answers them alike too; a route open to residents and staff that
# loads one of the world's records answers 404 (they see no unit, ticket, bill or file:
# core/access.visible); any other route answers 403 unless it is declared here.
GUARD = "guard"
SIGNED_IN_COLUMNS = tuple(COLUMNS.index(c) for c in COLUMNS if c not in ("anon", "frontdesk_other"))
GUARD_EXPECT = {
    # Reporting a repair is for residents and the staff who serve them.
    ("repairs.new", "GET"): 403,
    ("repairs.new", "POST"): 403,
    # The repair is loaded before the workflow checks the role, and the guard sees none.
    ("api.repair_action", "POST"): 404,
    # A unit's cards are the desk's and the household's, not the gate's.
    ("api.unit_cards", "GET"): 403,
    ("api.report_card_lost", "POST"): 403,
    # Repairs and complaints are for residents and the staff who serve them.
    ("repairs.index", "GET"): 403,
    ("complaints.index", "GET"): 403,
    ("complaints.new", "GET"): 403,
    ("complaints.new", "POST"): 403,
    ("api.create_repair", "POST"): 403,
    ("api.list_repairs", "GET"): 403,
    ("api.create_complaint", "POST"): 403,
    ("api.list_complaints", "GET"): 403,
    # The gate checks passes (contracts §8): the page, the check and the log.
    ("passes.check", "GET"): 200,
    ("passes.check", "POST"): 400,
    ("passes.checks", "GET"): 200,
    ("api.check_pass", "POST"): 400,
    # Renovations are for residents and the staff who serve them: no route names the gate.
    ("renovation.index", "GET"): 403,
    ("renovation.detail", "GET"): 403,
    ("renovation.act", "POST"): 403,
    ("renovation.permit", "GET"): 403,
    ("renovation.acceptance", "GET"): 403,
    ("api.list_renovations", "GET"): 403,
    ("api.get_renovation", "GET"): 403,
    ("api.renovation_action", "POST"): 403,
}


def expected_for_guard(key, arguments):
    if key in GUARD_EXPECT:
        return GUARD_EXPECT[key]
    answers = {EXPECT[key][i] for i in SIGNED_IN_COLUMNS}
    if len(answers) == 1:
        return answers.pop()
    row = EXPECT[key]
    # A role gate: staff only, residents only, or not every staff role.
    gated = row[COLUMNS.index("resident")] in (401, 403) or 403 in (
        row[COLUMNS.index("frontdesk")],
        row[COLUMNS.index("technician")],
    )
    return 404 if OBJECT_ARGUMENTS & set(arguments) and not gated else 403


def expected(key, column, arguments=()):
    """The declared status of a route (with these URL arguments) for one login."""
    if column == GUARD:
        return expected_for_guard(key, arguments)
    if column != OTHER_COMPANY:
        return EXPECT[key][COLUMNS.index(column)]
    if key in OTHER_COMPANY_EXCEPTIONS:
        return OTHER_COMPANY_EXCEPTIONS[key]
    admin = EXPECT[key][COLUMNS.index("admin")]
    loads_an_object = OBJECT_ARGUMENTS & set(arguments)
    return 404 if loads_an_object and admin not in (401, 403, 404) else admin


def resident2_residency(world):
    from sqlalchemy import select

    from portal.core.people import Residency
    from portal.extensions import db

    return db.session.scalar(select(Residency.id).where(Residency.user_id == world.resident2.id))


def resident2_objects(world, tmp_path):
    """A notice to resident2's unit (in their inbox), a finished print job of the estate
    with its file, and a failed delivery: the ids the object routes are called with."""
    from portal.blueprints.notices.services import compose_notice
    from portal.core import clock
    from portal.extensions import db
    from portal.jobs import Job, JobStatus
    from portal.notify.models import InboxMessage, OutboxMessage
    from portal.notify.outbox import relay_due

    notice = compose_notice(
        world.frontdesk,
        estate=world.estate,
        title="停水通知",
        body="明天停水",
        channels=["app", "sms"],
        unit_ids=[world.unit2.id],
        requires_ack=True,
    )
    db.session.commit()
    relay_due()
    item = db.session.query(InboxMessage).filter_by(user_id=world.resident2.id).one()
    result = tmp_path / "job.pdf"
    result.write_bytes(b"%PDF-1.4 test")
    job = Job(
        kind="notice_print",
        status=JobStatus.finished,
        progress=100,
        params={"notice_id": notice.id},
        estate_id=world.estate.id,
        created_by_id=world.frontdesk.id,
        result_path=str(result),
        result_name="n.pdf",
    )
    failed = OutboxMessage(
        estate_id=world.estate.id,
        recipient_id=world.resident2.id,
        unit_id=world.unit2.id,
        channel="sms",
        kind="notice",
        address="13800000003",
        subject="x",
        body="y",
        status="failed",
        attempts=5,
        last_error="SMS gateway answered 500",
        failed_at=clock.now(),
    )
    db.session.add_all([job, failed])
    db.session.commit()
    from portal.blueprints.repairs.services import submit_repair

    repair = submit_repair(
        world.resident2, category="civil", location="unit", description="门锁坏了"
    )
    from flask import current_app

    from portal.blueprints.complaints.services import register_complaint
    from portal.core import uploads
    from tests.factories import png_upload

    complaint = register_complaint(
        world.resident2, category="neighbours_noise", content="楼上装修太吵"
    )
    current_app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    (photo,) = uploads.store(
        uploads.check_images([png_upload()], limit=6),
        entity=repair,
        purpose="report",
        actor=world.resident2,
    )
    from portal.blueprints.fees import ledger, online
    from portal.blueprints.fees.models import BillingRun
    from tests.fees.helpers import standard_items

    items = standard_items(world)
    bill = ledger.issue_bill(
        world.unit2,
        items["debris"],
        amount_fen=30000,
        due_on=world.unit2.occupancy_since,
        source="manual",
        source_key="access",
    )
    payment, _ = ledger.record_payment(
        world.unit2, 10000, "cash", actor=world.frontdesk, source="counter"
    )
    run = BillingRun(estate_id=world.estate.id, period="2026-12", summary={})
    db.session.add(run)
    order = online.create_order(world.resident2, world.unit2, 1000)
    from datetime import timedelta

    from portal.blueprints.passes.services import issue_pass

    pass_ = issue_pass(
        kind="visitor",
        unit=world.unit2,
        valid_from=clock.now(),
        valid_until=clock.now() + timedelta(hours=4),
        actor=world.resident2,
        people=[{"name": "王五"}],
    )
    db.session.commit()
    from portal.blueprints.moves.services import register_move_in, register_move_out

    move_in = register_move_in(
        world.frontdesk,
        unit_id=world.unit2.id,
        on=world.unit2.occupancy_since,
        people=[{"name": "林家人", "phone": "13900004444", "relation": "family"}],
    )
    move_out = register_move_out(world.frontdesk, unit_id=world.unit2.id, on=clock.local_today())
    db.session.commit()
    renovation = renovation_of(world.unit2, world.resident2, world, approve=True)
    return {
        "renovation_id": renovation.id,
        **custody_objects(world, world.unit2),
        "pass_id": pass_.id,
        "kind": "in",
        "move_id": move_in.id,
        "move_in_id": move_in.id,
        "move_out_id": move_out.id,
        "bill_id": bill.id,
        "payment_id": payment.id,
        "number": payment.receipt_number,
        "receipt_number": payment.receipt_number,
        "refund_id": deposit_refund(world, world.unit2).id,
        "run_id": run.id,
        "fee_item_id": items["debris"].id,
        "order_no": order.order_no,
        "provider": "sandbox",
        "notice_id": notice.id,
        "item_id": item.id,
        "job_id": job.id,
        "outbox_id": failed.id,
        "repair_id": repair.id,
        "action": "start",
        "file_id": photo.id,
        "complaint_id": complaint.id,
    }


def renovation_of(unit, applicant, world, *, approve=False):
    """A renovation of `unit` (reviewed and approved by the supervisor with `approve`)."""
    from datetime import timedelta

    from portal.blueprints.renovation import services as renovations
    from portal.core import clock, workflow
    from portal.extensions import db

    start = clock.local_today() + timedelta(days=2)
    renovation = renovations.submit_renovation(
        applicant,
        unit_id=unit.id,
        contractor="好家装饰",
        foreman="王工长",
        foreman_phone="13700000010",
        starts_on=start,
        ends_on=start + timedelta(days=30),
        scope=["walls"],
        workers=[{"name": "张师傅", "id_number": "11010519491231002X", "phone": "13700000011"}],
        hours_accepted=True,
        statement_signed=True,
    )
    if approve:
        workflow.apply(renovation, "review", actor=world.technician, data={"notes": "可以"})
        workflow.apply(renovation, "approve", actor=world.supervisor)
    db.session.commit()
    return renovation


def custody_objects(world, unit):
    """A card issued to `unit` and a key set kept for it, lent out until tomorrow."""
    from datetime import timedelta

    from portal.blueprints.custody import services as custody
    from portal.core import clock
    from portal.extensions import db

    (card,) = custody.issue_cards(
        unit, [{"number": f"M{unit.id}", "kind": "access"}], clock.local_today(), actor=None
    )
    keyset = custody.take_keys(unit, count=2, label=f"K{unit.id}", actor=None)
    loan = custody.lend_keys(
        keyset,
        name="李师傅",
        phone="13700000000",
        reason="量房",
        due_back_at=clock.now() + timedelta(days=1),
        actor=None,
    )
    db.session.commit()
    return {"card_id": card.id, "key_set_id": keyset.id, "movement_id": loan.id}


def other_zone_objects(world, tmp_path):
    """A repair (with a photo), a complaint, a bill and a payment of the vacant unit, which
    is in B区: another zone than the butler's (tests.factories.make_zone_butler)."""
    from flask import current_app

    from portal.blueprints.complaints.services import register_complaint
    from portal.blueprints.fees import ledger
    from portal.blueprints.repairs.services import submit_repair
    from portal.core import uploads
    from portal.extensions import db
    from tests.factories import png_upload
    from tests.fees.helpers import standard_items

    unit = world.vacant
    repair = submit_repair(
        world.frontdesk,
        category="civil",
        location="unit",
        description="空置房漏水",
        unit_id=unit.id,
    )
    complaint = register_complaint(
        world.frontdesk, category="fees", content="空置房收费", unit_id=unit.id
    )
    current_app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    (photo,) = uploads.store(
        uploads.check_images([png_upload()], limit=6),
        entity=repair,
        purpose="report",
        actor=world.frontdesk,
    )
    bill = ledger.issue_bill(
        unit,
        standard_items(world)["debris"],
        amount_fen=20000,
        due_on=unit.occupancy_since,
        source="manual",
        source_key="other-zone",
    )
    payment, _ = ledger.record_payment(unit, 5000, "cash", actor=world.frontdesk, source="counter")
    from portal.blueprints.moves.services import register_move_in, register_move_out
    from portal.core import clock
    from tests.factories import make_resident

    make_resident(unit, name="空置房业主", phone="13900005000")
    move_in = register_move_in(
        world.frontdesk,
        unit_id=unit.id,
        on=clock.local_today(),
        people=[{"name": "乙", "phone": "13900005001", "relation": "tenant"}],
    )
    move_out = register_move_out(world.frontdesk, unit_id=unit.id, on=clock.local_today())
    db.session.commit()
    renovation = renovation_of(unit, world.frontdesk, world)
    return {
        "renovation_id": renovation.id,
        **custody_objects(world, unit),
        "kind": "in",
        "move_id": move_in.id,
        "move_in_id": move_in.id,
        "move_out_id": move_out.id,
        "unit_id": unit.id,
        "repair_id": repair.id,
        "complaint_id": complaint.id,
        "file_id": photo.id,
        "bill_id": bill.id,
        "payment_id": payment.id,
        "number": payment.receipt_number,
        "receipt_number": payment.receipt_number,
        "refund_id": deposit_refund(world, unit).id,
    }


def deposit_refund(world, unit):
    """A renovation deposit of `unit`, paid and refunded less one deduction."""
    from portal.blueprints.fees import ledger
    from portal.blueprints.fees.rules import item_by_code
    from portal.extensions import db

    key = f"renovation:access-{unit.id}:deposit"
    deposit = ledger.issue_bill(
        unit,
        item_by_code(world.estate.id, "renovation_deposit"),
        amount_fen=200000,
        due_on=unit.occupancy_since,
        source="renovation",
        source_key=key,
    )
    ledger.record_payment(
        unit, 200000, "cash", actor=world.frontdesk, source="counter", bill_ids=[deposit.id]
    )
    refund = ledger.refund_deposit(
        unit,
        key,
        deductions=[{"reason": "公共区域损坏", "amount_fen": 10000}],
        method="cash",
        actor=world.frontdesk,
    )
    db.session.commit()
    return refund


# A zone butler opening another zone's unit, ticket, photo, bill or payment gets 404 wherever
# the table lets them past the role gate with resident2's (their zone's) objects.
ZONE_OBJECT_ARGUMENTS = frozenset(
    {"unit_id", "repair_id", "complaint_id", "file_id", "bill_id", "payment_id", "number"}
    | {"receipt_number", "move_id", "move_in_id", "move_out_id", "card_id", "key_set_id"}
    | {"movement_id", "renovation_id", "refund_id"}
)
OTHER_ZONE_EXCEPTIONS = {
    # The repair is loaded before the workflow checks the role: 404, not the butler's 403.
    ("api.repair_action", "POST"): 404,
    # The body is checked before the unit is loaded: the same 400 for any unit.
    ("api.add_resident", "POST"): 400,
    ("api.end_residency", "POST"): 400,
    ("api.change_occupancy", "POST"): 400,
}


def test_a_zone_butler_gets_404_for_another_zone_s_objects(app, client, world, login_as, tmp_path):
    """Every route that loads a unit, a ticket, a photo, a bill or a payment, called by a
    zone butler of A区 with the ids of B区's: 404, as for another estate's."""
    from tests.factories import make_zone_butler

    values = {
        "key": "centre.hotline",
        "code": "en",
        "user_id": world.frontdesk.id,
        "person_id": world.resident2.id,
        "residency_id": resident2_residency(world),
        **resident2_objects(world, tmp_path),
        **other_zone_objects(world, tmp_path),
    }
    make_zone_butler(world)
    login_as("zone_butler")
    adapter = app.url_map.bind("localhost")
    checked, mismatches = 0, []
    for rule, method in route_methods(app):
        key = (rule.endpoint, method)
        if not ZONE_OBJECT_ARGUMENTS & set(rule.arguments) or key not in EXPECT:
            continue
        url = adapter.build(rule.endpoint, {n: values[n] for n in rule.arguments}, method=method)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        allowed = EXPECT[key][COLUMNS.index("zone_butler")]
        want = OTHER_ZONE_EXCEPTIONS.get(key, 404 if allowed not in (401, 403, 404) else allowed)
        checked += 1
        if response.status_code != want:
            mismatches.append(
                f"{method} {url} ({rule.endpoint}): {response.status_code}, expected {want}"
            )
    assert not mismatches, "\n".join(mismatches)
    assert checked >= 20


def route_methods(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.mark.parametrize("column", (*COLUMNS, OTHER_COMPANY, GUARD))
def test_every_route_answers_as_declared(app, client, world, login_as, column, tmp_path):
    """Walk url_map as one login; every answer must match the table."""
    if column == GUARD:
        from tests.factories import make_staff

        make_staff("guard", world.estate, username=GUARD, name="门岗")
    if column == OTHER_COMPANY:
        from tests.factories import make_other_company

        make_other_company()
    if column == "zone_butler":
        from tests.factories import make_zone_butler

        make_zone_butler(world)
    values = {
        "unit_id": world.unit2.id,
        "key": "centre.hotline",
        "code": "en",
        "user_id": world.frontdesk.id,
        "person_id": world.resident2.id,
        "residency_id": resident2_residency(world),
        "filename": "css/bootstrap.min.css",
        **resident2_objects(world, tmp_path),
    }
    if column != "anon":
        login_as(column)
    adapter = app.url_map.bind("localhost")
    checked, mismatches = 0, []
    routes = sorted(route_methods(app), key=lambda rm: rm[0].endpoint == "auth.logout")
    for rule, method in routes:
        key = (rule.endpoint, method)
        assert key in EXPECT, f"no row in the access table for {key} ({rule.rule})"
        args = {name: values[name] for name in rule.arguments}
        if rule.endpoint == "static":
            args["filename"] = "css/portal.css"
        url = adapter.build(rule.endpoint, args, method=method)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        want = expected(key, column, rule.arguments)
        checked += 1
        if response.status_code != want:
            mismatches.append(
                f"{method} {url} ({rule.endpoint}): {response.status_code}, expected {want}"
            )
    assert not mismatches, "\n".join(mismatches)
    assert checked >= len(EXPECT) - 1


def test_table_has_no_stale_rows(app):
    """Rows for routes that no longer exist would hide a missing check."""
    live = {(rule.endpoint, method) for rule, method in route_methods(app)}
    assert set(EXPECT) - live == set()


@pytest.mark.parametrize("path", ["/api/v1/repairs", "/api/v1/complaints"])
def test_staff_cannot_name_another_estates_resident_as_reporter(client, world, api_token, path):
    """The reporter gets the notices: naming someone outside the unit answers 404."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.notify.models import OutboxMessage
    from tests.factories import make_resident

    stranger = make_resident(world.other_unit, name="别的住户", phone="13900000008")
    db.session.commit()
    body = {
        "category": "civil" if "repairs" in path else "fees",
        "location": "unit",
        "description": "x",
        "content": "x",
        "unit_id": world.unit.id,
        "reporter_id": stranger.id,
    }
    if "complaints" in path:
        body = {k: v for k, v in body.items() if k not in ("location", "description")}
    else:
        body.pop("content")
    response = client.post(path, json=body, headers=api_token("frontdesk"))
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
