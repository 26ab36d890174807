"""The home pages (resident and staff) and the language switch."""

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.home import services, work
from portal.blueprints.home.forms import EstateSwitchForm
from portal.blueprints.home.navigation import can_open, menu_html
from portal.blueprints.notices import services as notices
from portal.blueprints.passes.services import gate_home
from portal.core import access, settings
from portal.core.people import Relation
from portal.core.places import Occupancy
from portal.extensions import db
from portal.i18n import LANG_COOKIE
from portal.security import safe_next

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """The resident's home on a phone, or the staff member's work for their role."""
    hotline = settings.get("centre.hotline", current_user.estate_id)
    if current_user.is_staff:
        kind = work.home_kind(current_user.role)
        return render_template(
            f"home/{kind}.html", hotline=hotline, can_open=can_open, **staff_home(kind)
        )
    units = services.my_units(current_user)
    return render_template(
        "home/resident.html",
        units=units,
        balances={u["unit"].id: u["balance"] for u in units},
        inbox=notices.latest_inbox(current_user),
        requests=services.latest_requests(current_user),
        hotline=hotline,
        Occupancy=Occupancy,
        Relation=Relation,
    )


def staff_home(kind) -> dict:
    """What a staff home of this kind shows, for the signed-in person."""
    if kind == "desk":
        return {"day": work.desk_day(current_user)}
    if kind == "orders":
        return work.my_orders(current_user)
    if kind == "oversight":
        return {"figures": work.oversight(current_user)}
    if kind == "gate":
        return {"gate": gate_home(current_user)}
    summary, breakdown = services.estate_figures(current_user)
    return {"month": work.month_figures(current_user), "summary": summary, "breakdown": breakdown}


@bp.route("/lang/<code>")
def set_language(code):
    """Switch the interface language and go back where the user was."""
    from flask import current_app

    response = make_response(redirect(safe_next(request.args.get("next"))))
    if code in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/estate", methods=["POST"])
@access.roles_required(access.STAFF)
def switch_estate():
    """A company-wide user chooses the estate they act for (the header's switcher)."""
    if not current_user.is_company_wide:
        abort(403)  # staff of one estate act for it; there is nothing to switch
    form = EstateSwitchForm()
    if not form.validate_on_submit():
        abort(400)
    access.choose_estate(current_user, form.estate.data)
    return redirect(safe_next(form.next.data), 303)


@bp.app_context_processor
def layout_context():
    """What the layout needs on every page: the navigation for the signed-in role and, for
    company-wide staff, the estate switcher."""
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated:
        return {"menu_html": ""}
    context = {"menu_html": menu_html(user)}
    if user.is_company_wide:
        context["estate_switch"] = {
            "estates": access.estates_for(user),
            "current": access.acting_estate_id(user),
        }
    return context


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: send them the icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/healthz")
def healthz():
    """A liveness probe for the proxy: answers without touching the database."""
    return {"status": "ok"}
