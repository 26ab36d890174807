"""The renovation permit (装修许可证) as a PDF with a QR code, to post at the door: the QR
holds the permit's number (the inspector and the guard read it), drawn here with segno."""

import segno

from portal.core import clock
from portal.core.places import Estate
from portal.core.units import labels_for
from portal.extensions import db
from portal.pdf import render_pdf

from . import services
from .models import SCOPE_LABELS, Renovation
from .rules import NOISY_HOURS, WORKING_HOURS


def qr_png_data_uri(renovation: Renovation) -> str:
    return segno.make(renovation.number, error="m").png_data_uri(scale=8, border=4)


def permit_pdf(renovation: Renovation) -> bytes:
    """The permit: unit, owner, contractor and foreman, scope, window, hours, workers and
    their pass numbers, and the QR code."""
    from portal.core import settings

    estate = db.session.get(Estate, renovation.estate_id)
    applicant = services.people_named([renovation.applicant_id]).get(renovation.applicant_id)
    return render_pdf(
        "renovation/permit.html",
        renovation=renovation,
        estate=estate,
        applicant=applicant,
        unit_label=labels_for([renovation.unit_id]).get(renovation.unit_id, ""),
        scope=[SCOPE_LABELS.get(s, s) for s in renovation.scope or []],
        passes=services.passes_of(renovation),
        working=settings.get(WORKING_HOURS.key, estate.id),
        noisy=settings.get(NOISY_HOURS.key, estate.id),
        qr=qr_png_data_uri(renovation),
        printed_at=clock.now(),
    )


def acceptance_pdf(renovation: Renovation) -> bytes:
    """The acceptance form (工程验收单): the works, the inspections and their violations,
    the hidden-works checks, the completion acceptance with its deductions, and the
    deposit as settled (the refund's number), with room for the signatures."""
    from portal.blueprints.fees.models import METHOD_LABELS, Method
    from portal.core.money import yuan

    from .works import works_record

    estate = db.session.get(Estate, renovation.estate_id)
    record = works_record(renovation)
    ids = {
        r.get("by") for key in ("inspections", "hidden_works", "acceptances") for r in record[key]
    }
    refund = services.refund_of(renovation)
    return render_pdf(
        "renovation/acceptance.html",
        renovation=renovation,
        estate=estate,
        applicant=services.people_named([renovation.applicant_id]).get(renovation.applicant_id),
        unit_label=labels_for([renovation.unit_id]).get(renovation.unit_id, ""),
        scope=[SCOPE_LABELS.get(s, s) for s in renovation.scope or []],
        works=record,
        people=services.people_named(ids - {None}),
        refund=refund,
        method_label=METHOD_LABELS.get(Method(refund.method)) if refund else None,
        deposit={k: yuan(v) for k, v in services.deposit_of(renovation).items()},
        printed_at=clock.now(),
    )
