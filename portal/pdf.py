"""render_pdf(): the only module that imports WeasyPrint.

Every PDF comes from a template under templates/pdf/ with the CJK font stack of
templates/pdf/_base.html. It fetches nothing from the network: the only resources a PDF may
load are the portal's own static files.
"""

from pathlib import Path

from flask import current_app, render_template


def _fetcher_for(static_root: Path):
    from weasyprint.urls import default_url_fetcher

    def fetch(url, *args, **kwargs):
        if url.startswith("data:"):
            return default_url_fetcher(url, *args, **kwargs)
        if url.startswith("file://"):
            path = Path(url[len("file://") :]).resolve()
            if path.is_relative_to(static_root):
                return default_url_fetcher(url, *args, **kwargs)
        raise ValueError(f"PDF may not fetch {url[:80]}")

    return fetch


def render_pdf(template: str, **context) -> bytes:
    """Render templates/pdf/<template> to PDF bytes."""
    from weasyprint import HTML

    html = render_template(f"pdf/{template}", **context)
    static_root = Path(current_app.static_folder).resolve()
    return HTML(
        string=html, base_url=str(static_root) + "/", url_fetcher=_fetcher_for(static_root)
    ).write_pdf()
