"""render_pdf(): the only module that imports WeasyPrint.

Every PDF comes from a template under templates/pdf/ with the CJK font stack of
templates/pdf/_base.html. It fetches nothing from the network: the only resources a PDF may
load are data: URLs and the portal's own static files.
"""

import shutil
import subprocess
from pathlib import Path

from flask import current_app, render_template

# The font stack of templates/pdf/_base.html, and the Debian/Ubuntu package of its first.
PDF_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei")
CJK_FONT_PACKAGE = "fonts-noto-cjk"


def _fetcher_for(static_root: Path):
    """A URL fetcher that only reads data: URLs and the portal's static files."""
    from weasyprint.urls import URLFetcher

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = Path(url[len("file://") :].split("?")[0]).resolve()
                if not path.is_relative_to(static_root):
                    raise ValueError(f"PDF may not read {path}")
            elif not url.startswith("data:"):
                raise ValueError(f"PDF may not fetch {url[:80]}")
            return super().fetch(url, headers)

    return StaticOnly(allowed_protocols=("file", "data"))


def render_pdf(template: str, **context) -> bytes:
    """Render templates/pdf/<template> to PDF bytes."""
    from weasyprint import HTML

    html = render_template(f"pdf/{template}", **context)
    static_root = Path(current_app.static_folder).resolve()
    return HTML(
        string=html, base_url=str(static_root) + "/", url_fetcher=_fetcher_for(static_root)
    ).write_pdf()


def cjk_fonts() -> list[str]:
    """The font families fontconfig offers for Chinese text (those of the PDFs' stack
    first): where WeasyPrint finds the glyphs of every PDF. Empty when there is none (or no
    fontconfig to ask): Chinese then prints as empty boxes."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return []
    families = {line.split(",")[0].strip() for line in found.stdout.splitlines()} - {""}
    return sorted(families, key=lambda f: (PDF_FONTS.index(f) if f in PDF_FONTS else 99, f))
