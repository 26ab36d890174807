"""The navigation: one list of pages per audience, shown to whoever passes each page's gate.

Who may open a page is declared once, on its route (`access.roles_required`); the menu and
the links of the staff homes (`can_open`) read those gates, so they can never show a page
its reader is refused or hide one they may use.

On a desk the staff bar groups the pages (fees, reports, administration) under menus, so it
stays one line at 1024 px; a group shows only when its reader may open one of its pages.
"""

from typing import NamedTuple

from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.core.access import may_open


class NavEntry(NamedTuple):
    endpoint: str
    label: str
    description: str = ""
    group: str | None = None  # the bar's menu it sits in (GROUPS); None: on the bar itself


# The bar's menus, in the order they appear after the entries on the bar itself.
GROUPS = {
    "desk": _l("Front desk"),
    "fees": _l("Fees"),
    "reports": _l("Reports"),
    "admin": _l("Admin"),
}


class NavGroup(NamedTuple):
    """One menu of the bar: its key, its label and the entries its reader may open."""

    key: str
    label: str
    entries: list[NavEntry]


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
        group="desk",
    ),
    NavEntry(
        "complaints.index",
        _l("Complaints"),
        _l("Complaints, inquiries and suggestions: the closed loop with return visits."),
    ),
    NavEntry(
        "moves.index",
        _l("Move-ins and move-outs"),
        _l(
            "Register a household's move-in (documents, inspection, keys, cards and readings)"
            " or move-out (the clearance checklist)."
        ),
        group="desk",
    ),
    NavEntry(
        "renovation.index",
        _l("Renovations"),
        _l(
            "Renovation applications: the engineering review, the approval, the workers'"
            " passes and the permit."
        ),
        group="desk",
    ),
    NavEntry(
        "custody.keys",
        _l("Key custody"),
        _l("Keys the centre holds for units: held, lent out, overdue, handed over."),
        group="desk",
    ),
    NavEntry(
        "passes.index",
        _l("Passes"),
        _l("Goods release, visitor and worker passes: issue, approve, revoke."),
        group="desk",
    ),
    NavEntry(
        "passes.check",
        _l("Check a pass"),
        _l("Check a pass at the gate: type its number or scan its code."),
        group="desk",
    ),
    NavEntry("passes.checks", _l("The gate's log"), group="desk"),
    NavEntry("notices.index", _l("Notices"), _l("Send notices and see who has read them.")),
    NavEntry(
        "reports.cash",
        _l("Daily cash report"),
        _l("The day's takings per cashier and method. Payments are taken on a unit's account."),
        group="reports",
    ),
    NavEntry(
        "reports.fees",
        _l("Fee collection report"),
        _l("Receivable, received, arrears and collection rate by category and zone."),
        group="reports",
    ),
    NavEntry(
        "reports.arrears", _l("Arrears"), _l("Units that owe, by age of the debt."), group="reports"
    ),
    NavEntry(
        "fees.calls", _l("Call list"), _l("Households to call about overdue fees."), group="fees"
    ),
    NavEntry("fees.review", _l("Arrears review"), _l("Households long overdue."), group="fees"),
    NavEntry(
        "fees.slips",
        _l("Payment notice slips"),
        _l("Print payment notice slips for a zone or building."),
        group="fees",
    ),
    NavEntry(
        "fees.runs",
        _l("Billing runs"),
        _l("Bill a month for every unit; see what was billed and why."),
        group="fees",
    ),
    NavEntry(
        "fees.items",
        _l("Fee items and rates"),
        _l("What the centre charges, with rates by category and date."),
        group="fees",
    ),
    NavEntry(
        "admin.imports",
        _l("Imports"),
        _l("Load units and residents from a spreadsheet."),
        group="admin",
    ),
    NavEntry(
        "admin.users",
        _l("Staff accounts"),
        _l("Create staff accounts and assign roles."),
        group="admin",
    ),
    NavEntry(
        "admin.settings_index",
        _l("Settings"),
        _l("Service hotline and other settings, with their change history."),
        group="admin",
    ),
    NavEntry(
        "admin.deliveries",
        _l("Failed deliveries"),
        _l("SMS and e-mail that could not be delivered, with a retry button."),
        group="admin",
    ),
    NavEntry("admin.audit", _l("Audit log"), _l("Who changed what, and when."), group="admin"),
]

RESIDENT_NAV = [
    NavEntry("home.index", _l("Home")),
    NavEntry("repairs.index", _l("My repairs")),
    NavEntry("complaints.index", _l("Complaints & suggestions")),
    NavEntry("fees.mine", _l("My bills")),
    NavEntry("passes.index", _l("My passes")),
    NavEntry("renovation.index", _l("My renovations")),
    NavEntry("notices.index", _l("My notices")),
]


def nav_for(user) -> list[NavEntry]:
    """The navigation entries a signed-in person sees: the pages whose gate lets them in."""
    if not user.is_authenticated:
        return []
    views = current_app.view_functions
    entries = STAFF_NAV if user.is_staff else RESIDENT_NAV
    return [entry for entry in entries if may_open(user, views[entry.endpoint])]


def can_open(endpoint: str, user=None) -> bool:
    """Whether a person (the signed-in one by default) may open a page: its gate's answer,
    for the links a page shows beside the menu."""
    view = current_app.view_functions.get(endpoint)
    return view is not None and may_open(user if user is not None else current_user, view)


def menu_for(user) -> list[NavEntry | NavGroup]:
    """The bar: the entries on it, then its menus, each only with what the reader may open
    (a menu with nothing to open is left out)."""
    top, groups = [], {key: NavGroup(key, label, []) for key, label in GROUPS.items()}
    for entry in nav_for(user):
        (groups[entry.group].entries if entry.group else top).append(entry)
    return top + [group for group in groups.values() if group.entries]


# Rendered bars kept per process: roles × languages × pages × application roots at most.
MENU_HTML_LIMIT = 5000


def menu_html(user) -> Markup:
    """The bar's entries and menus as HTML (templates/_menu.html), rendered once per role,
    language, page (which entry is active) and application root: the gates read only the
    role (`may_open`), and each link is its endpoint's URL under that root."""
    if not user.is_authenticated:
        return Markup("")
    key = (user.role, str(get_locale()), request.endpoint, request.script_root)
    rendered = current_app.extensions.setdefault("portal.menu_html", {})
    html = rendered.get(key)
    if html is None:
        template = current_app.jinja_env.get_template("_menu.html")
        # The template escapes what it writes (autoescape, as every .html template).
        html = Markup(template.render(menu=menu_for(user), endpoint=request.endpoint))  # noqa: S704
        if len(rendered) < MENU_HTML_LIMIT:
            rendered[key] = html
    return html
