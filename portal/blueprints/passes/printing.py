"""The pass as a PDF and its QR code: the code only, drawn here (segno), nothing fetched."""

import segno
from sqlalchemy import select

from portal.core import clock
from portal.core.places import Estate
from portal.core.units import labels_for
from portal.extensions import db
from portal.pdf import render_pdf

from .models import Pass


def qr_data_uri(pass_: Pass, scale: int = 6) -> str:
    """The QR code of the pass's code as an SVG data: URL (for the page and the PDF)."""
    return segno.make(pass_.code, error="m").svg_data_uri(scale=scale, border=2)


# The PDF's QR code is a PNG of this many pixels a module (a printer's crisp squares) with
# the quiet zone of this many modules around it.
PDF_QR_SCALE = 8
PDF_QR_BORDER = 4


def qr_png_data_uri(pass_: Pass) -> str:
    """The QR code of the pass's code as a PNG data: URL (the PDF's image)."""
    return segno.make(pass_.code, error="m").png_data_uri(scale=PDF_QR_SCALE, border=PDF_QR_BORDER)


def estate_of(pass_: Pass) -> Estate:
    return db.session.scalar(select(Estate).where(Estate.id == pass_.estate_id))


def pass_pdf(pass_: Pass) -> bytes:
    """The printable pass: number, unit, window, items or people, plate and the QR code."""
    estate = estate_of(pass_)
    return render_pdf(
        "passes/pass.html",
        pass_=pass_,
        estate=estate,
        unit_label=labels_for([pass_.unit_id]).get(pass_.unit_id, ""),
        qr=qr_png_data_uri(pass_),
        printed_at=clock.now(),
    )
