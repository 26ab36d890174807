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
