"""A notice as PDF, printed by WeasyPrint from the notice's own HTML.

Marketplaces' intake forms ask for a PDF. The HTML holds only our markup and escaped listing
text, and the printer is given a URL fetcher that refuses every fetch, so printing a notice never
makes a request (no SSRF through a listing's text). Chinese, Japanese and Korean text prints with
Debian's Noto CJK fonts (``fonts-noto-cjk``, installed by the Makefile).
"""

from __future__ import annotations

from typing import Any

#: the notice's fonts for print: Latin first, then CJK; fontconfig falls back per character
PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm; @bottom-right { content: counter(page) " / " counter(pages);
  font-size: 8pt; } }
body { font-family: "DejaVu Serif", "Noto Serif CJK SC", "Noto Sans CJK SC", serif !important;
  max-width: none; margin: 0; font-size: 10pt; }
table { font-size: 8pt; }
td, th { word-break: break-all; }
"""


class PdfUnavailable(RuntimeError):
    pass


def notice_pdf(html: str) -> bytes:
    """The notice's HTML printed to PDF."""
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise PdfUnavailable(f"PDF printing is unavailable: {exc}") from exc
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):
        """Refuses every URL: a printed notice makes no request."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"a notice fetches nothing when printed ({url[:80]})")

    doc = HTML(string=html, url_fetcher=NoFetch(allowed_protocols=()), base_url=None)
    out: bytes = doc.write_pdf(stylesheets=[CSS(string=PRINT_CSS)])
    return out
