"""The slips the desk prints for keys: the custody slip (钥匙保管单) when keys are taken in,
signed by whoever left them and by the desk, and the lending slip (钥匙借用单) of a loan,
signed by the borrower. Their templates are templates/custody/pdf/*.html (the custody
blueprint's template folder is templates/custody, so render_pdf finds them as pdf/…)."""

from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.blueprints.custody.models import KeyMovement, KeySet
from portal.core import clock
from portal.core.downloads import pdf_response
from portal.core.people import User
from portal.core.places import Estate
from portal.extensions import db


def _estate(keyset: KeySet) -> Estate:
    return db.session.get(Estate, keyset.estate_id)


def _local(moment, estate: Estate):
    return moment.astimezone(ZoneInfo(estate.timezone)) if moment else None


def _staff_name(user_id):
    if user_id is None:
        return ""
    return db.session.scalar(select(User.name).where(User.id == user_id)) or ""


def custody_slip_pdf(keyset: KeySet) -> bytes:
    from portal.pdf import render_pdf

    estate = _estate(keyset)
    return render_pdf(
        "custody_slip.html",
        estate=estate,
        keyset=keyset,
        taken_by=_staff_name(keyset.created_by_id),
        taken_at=_local(keyset.created_at, estate),
        printed_at=_local(clock.now(), estate),
    )


def custody_slip(keyset: KeySet):
    response = pdf_response(custody_slip_pdf(keyset), f"key-custody-{keyset.id}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


def lending_slip_pdf(keyset: KeySet, loan: KeyMovement) -> bytes:
    from portal.pdf import render_pdf

    estate = _estate(keyset)
    return render_pdf(
        "custody_loan.html",
        estate=estate,
        keyset=keyset,
        loan=loan,
        lent_by=_staff_name(loan.actor_id),
        lent_at=_local(loan.at, estate),
        due_at=_local(loan.due_back_at, estate),
        back_at=_local(loan.back_at, estate),
        printed_at=_local(clock.now(), estate),
    )


def lending_slip(keyset: KeySet, loan: KeyMovement):
    response = pdf_response(lending_slip_pdf(keyset, loan), f"key-loan-{loan.id}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response
