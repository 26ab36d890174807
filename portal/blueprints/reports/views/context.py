"""What every report page starts from: the estate it is about and the estates to choose."""

from flask import abort, request
from flask_login import current_user

from portal.core.access import acting_estate, as_id, estates_for
from portal.core.places import Estate


def report_estate() -> tuple[Estate, list[Estate]]:
    """The estate a report is for (core/access: ?estate= for company-wide staff, else the
    header's choice, else their first; staff of one estate: their own), and the estates a
    company-wide user may switch to on the page (none for anyone else)."""
    estate = acting_estate(current_user, request.args.get("estate", type=as_id)) or abort(404)
    return estate, estates_for(current_user) if current_user.is_company_wide else []
