"""The navigation: one list of pages per audience, shown to whoever passes each page's gate.

Who may open a page is declared once, on its route (`access.roles_required`); the menu and
the staff home's tiles read those gates, so they can never show a page its reader is refused
or hide one they may use.
"""

from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.core.access import may_open


class NavEntry(NamedTuple):
    endpoint: str
    label: str
    description: str = ""


STAFF_NAV = [
    NavEntry("home.index", _l("Home"), _l("Today's overview of the estate.")),
    NavEntry(
        "units.index",
        _l("Units & residents"),
        _l("Find a unit by room number, resident name or phone."),
    ),
    NavEntry(
        "repairs.index",
        _l("Repairs"),
        _l("Register, dispatch and follow repairs; technicians see their orders."),
    ),
    NavEntry(
        "repairs.visits",
        _l("Return visits"),
        _l("Repairs and complaints waiting for a return visit."),
    ),
    NavEntry(
        "complaints.index",
        _l("Complaints"),
        _l("Complaints, inquiries and suggestions: the closed loop with return visits."),
    ),
    NavEntry("notices.index", _l("Notices"), _l("Send notices and see who has read them.")),
    NavEntry(
        "reports.cash",
        _l("Daily cash report"),
        _l("The day's takings per cashier and method. Payments are taken on a unit's account."),
    ),
    NavEntry(
        "reports.fees",
        _l("Fee collection report"),
        _l("Receivable, received, arrears and collection rate by category and zone."),
    ),
    NavEntry("reports.arrears", _l("Arrears"), _l("Units that owe, by age of the debt.")),
    NavEntry("fees.calls", _l("Call list"), _l("Households to call about overdue fees.")),
    NavEntry("fees.review", _l("Arrears review"), _l("Households long overdue.")),
    NavEntry(
        "fees.slips",
        _l("Payment notice slips"),
        _l("Print payment notice slips for a zone or building."),
    ),
    NavEntry(
        "fees.runs",
        _l("Billing runs"),
        _l("Bill a month for every unit; see what was billed and why."),
    ),
    NavEntry(
        "fees.items",
        _l("Fee items and rates"),
        _l("What the centre charges, with rates by category and date."),
    ),
    NavEntry("admin.imports", _l("Imports"), _l("Load units and residents from a spreadsheet.")),
    NavEntry("admin.users", _l("Staff accounts"), _l("Create staff accounts and assign roles.")),
    NavEntry(
        "admin.settings_index",
        _l("Settings"),
        _l("Service hotline and other settings, with their change history."),
    ),
    NavEntry(
        "admin.deliveries",
        _l("Failed deliveries"),
        _l("SMS and e-mail that could not be delivered, with a retry button."),
    ),
    NavEntry("admin.audit", _l("Audit log"), _l("Who changed what, and when.")),
]

RESIDENT_NAV = [
    NavEntry("home.index", _l("Home")),
    NavEntry("repairs.index", _l("My repairs")),
    NavEntry("complaints.index", _l("Complaints & suggestions")),
    NavEntry("fees.mine", _l("My bills")),
    NavEntry("notices.index", _l("My notices")),
]


def nav_for(user) -> list[NavEntry]:
    """The navigation entries a signed-in person sees: the pages whose gate lets them in."""
    if not user.is_authenticated:
        return []
    views = current_app.view_functions
    entries = STAFF_NAV if user.is_staff else RESIDENT_NAV
    return [entry for entry in entries if may_open(user, views[entry.endpoint])]
