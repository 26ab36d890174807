"""The staff navigation per role: one list, read by the layout and the staff home."""

from flask_babel import lazy_gettext as _l

from portal.core.people import STAFF_ROLES, Role

ALL_STAFF = frozenset(STAFF_ROLES)
MANAGERS = frozenset({Role.manager, Role.admin})

# (endpoint, label, roles that see it, description)
STAFF_NAV = [
    ("home.index", _l("Home"), ALL_STAFF, _l("Today's overview of the estate.")),
    (
        "units.index",
        _l("Units & residents"),
        ALL_STAFF,
        _l("Find a unit by room number, resident name or phone."),
    ),
    (
        "repairs.index",
        _l("Repairs"),
        ALL_STAFF,
        _l("Register, dispatch and follow repairs; technicians see their orders."),
    ),
    (
        "repairs.visits",
        _l("Return visits"),
        frozenset(
            {
                Role.frontdesk,
                Role.zone_butler,
                Role.supervisor,
                Role.manager,
                Role.admin,
                Role.inspector,
            }
        ),
        _l("Completed repairs waiting for a return visit."),
    ),
    (
        "complaints.index",
        _l("Complaints"),
        ALL_STAFF - {Role.technician},
        _l("Complaints, inquiries and suggestions: the closed loop with return visits."),
    ),
    ("notices.index", _l("Notices"), ALL_STAFF, _l("Send notices and see who has read them.")),
    (
        "fees.cash",
        _l("Daily cash report"),
        frozenset({Role.frontdesk, Role.supervisor, Role.manager, Role.admin}),
        _l("The day's takings per cashier and method. Payments are taken on a unit's account."),
    ),
    (
        "fees.report",
        _l("Fee collection report"),
        frozenset(
            {
                Role.frontdesk,
                Role.zone_butler,
                Role.supervisor,
                Role.manager,
                Role.inspector,
                Role.admin,
            }
        ),
        _l("Receivable, received, arrears and collection rate by category and zone."),
    ),
    (
        "fees.arrears",
        _l("Arrears"),
        frozenset({Role.frontdesk, Role.zone_butler, Role.supervisor, Role.manager, Role.admin}),
        _l("Units that owe, by age of the debt."),
    ),
    (
        "fees.calls",
        _l("Call list"),
        frozenset({Role.frontdesk, Role.zone_butler, Role.supervisor, Role.manager, Role.admin}),
        _l("Households to call about overdue fees."),
    ),
    ("fees.review", _l("Arrears review"), MANAGERS, _l("Households long overdue.")),
    (
        "fees.slips",
        _l("Payment notice slips"),
        frozenset({Role.frontdesk, Role.zone_butler, Role.supervisor, Role.manager, Role.admin}),
        _l("Print payment notice slips for a zone or building."),
    ),
    (
        "fees.runs",
        _l("Billing runs"),
        MANAGERS,
        _l("Bill a month for every unit; see what was billed and why."),
    ),
    (
        "fees.items",
        _l("Fee items and rates"),
        frozenset({Role.frontdesk, Role.supervisor, Role.manager, Role.admin}),
        _l("What the centre charges, with rates by category and date."),
    ),
    ("admin.imports", _l("Imports"), MANAGERS, _l("Load units and residents from a spreadsheet.")),
    (
        "admin.users",
        _l("Staff accounts"),
        frozenset({Role.admin}),
        _l("Create staff accounts and assign roles."),
    ),
    (
        "admin.settings_index",
        _l("Settings"),
        frozenset({Role.admin}),
        _l("Service hotline and other settings, with their change history."),
    ),
    (
        "admin.deliveries",
        _l("Failed deliveries"),
        frozenset({Role.admin}),
        _l("SMS and e-mail that could not be delivered, with a retry button."),
    ),
    ("admin.audit", _l("Audit log"), MANAGERS, _l("Who changed what, and when.")),
]


RESIDENT_NAV = [
    ("home.index", _l("Home"), frozenset({Role.resident}), ""),
    ("repairs.index", _l("My repairs"), frozenset({Role.resident}), ""),
    ("complaints.index", _l("Complaints & suggestions"), frozenset({Role.resident}), ""),
    ("fees.mine", _l("My bills"), frozenset({Role.resident}), ""),
    ("notices.index", _l("My notices"), frozenset({Role.resident}), ""),
]


def nav_for(user):
    """The navigation entries a signed-in person sees."""
    if not user.is_authenticated:
        return []
    if not user.is_staff:
        return RESIDENT_NAV
    return [entry for entry in STAFF_NAV if user.role in entry[2]]
