"""Takedown notices: the document a person sends (HTML plus a CSV of listings), the
per-marketplace limits, and the small interface every sender implements.

Senders: ``FileSender`` (default; writes the notice, its CSV and its attachments to an outbox
directory), ``ConsoleSender`` (logs it). Production plugs in an e-mail or webhook sender with
``register_sender``. A sender returns a reference (a file path, a message id) or raises.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, select_autoescape

from db.jurisdictions import describe

log = logging.getLogger(__name__)

#: Listings one notice may carry, per marketplace code, for marketplaces whose profile does not
#: say (``notice_limit``). Alibaba's IPP takes up to 300 per request.
NOTICE_LIMITS: dict[str, int] = {"alibaba": 300}
DEFAULT_LIMIT = 300

CSV_COLUMNS = ["alert_id", "url", "title", "seller", "price", "currency", "mark",
               "registration_number", "office", "snapshot_sha256", "fetched_at", "reasons"]


def limit_for(marketplace_code: str, profile: dict[str, Any] | None = None) -> int:
    """Listings one notice to this marketplace may carry: its profile's ``notice_limit``, else
    the table above, else 300."""
    limit = (profile or {}).get("notice_limit")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    return NOTICE_LIMITS.get(marketplace_code, DEFAULT_LIMIT)


#: what a spreadsheet program reads as the start of a formula (or a DDE call)
_FORMULA_START = frozenset("=+-@|")


def neutralise_csv_cell(value: Any) -> Any:
    """Spreadsheet programs run cells that start with = + - @ as formulas, also after leading
    spaces, tabs or line breaks (which they trim) and in full-width or small forms (＝ ﹦ ＋ －
    ＠, which they fold). Such a cell, and any cell starting with a control character, gets a
    leading apostrophe, which makes it text."""
    if not isinstance(value, str) or not value:
        return value
    if unicodedata.category(value[0]).startswith("C"):
        return "'" + value
    folded = unicodedata.normalize("NFKC", value)
    first = next((ch for ch in folded if not _is_blank(ch)), "")
    return "'" + value if first in _FORMULA_START else value


def _is_blank(ch: str) -> bool:
    """Whitespace, separators (no-break and ideographic spaces) and format/control characters
    (a byte-order mark): what may stand before a formula and be trimmed."""
    return ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z")


def write_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([neutralise_csv_cell("" if r.get(c) is None else r.get(c)) for c in columns])
    return buf.getvalue()


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_env.filters["jurisdictions"] = describe  # "EU, TH (Madrid)": a designation said in words

NOTICE_TEMPLATE = _env.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Notice of infringement — {{ holder.name }} — {{ marketplace.name }}</title>
<style>
body{font-family:Georgia,serif;max-width:60em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse;width:100%;font-size:.85em}td,th{border:1px solid #999;padding:.3em;vertical-align:top;word-break:break-all}
</style></head><body>
<h1>Notice of trademark infringement</h1>
<p>To: {{ marketplace.name }} intellectual property protection team<br>
From: {{ holder.name }}{% if holder.country %} ({{ holder.country }}){% endif %}{% if holder.contact_email %}, {{ holder.contact_email }}{% endif %}<br>
Date: {{ date }}<br>Reference: notice {{ reference }}, case {{ case.id }}</p>
<p>{{ holder.name }} owns the trademark registrations listed below. The {{ lines|length }}
listing(s) that follow use these marks without authorisation on goods covered by the
registrations. We ask that you remove them.</p>
<h2>Registered rights</h2>
<ul>{% for m in marks %}<li><strong>{{ m.word_mark }}</strong>{% if m.aliases %} ({{ m.aliases|join(", ") }}){% endif %}:
registration {{ m.registration_number }} at {{ m.office }}, Nice classes {{ m.nice_classes|join(", ") }}{% if m.jurisdictions %}, in force in {{ m.jurisdictions|jurisdictions }}{% endif %}{% if m.expires_on %}, valid until {{ m.expires_on }}{% endif %}</li>{% endfor %}</ul>
<h2>Attached documents</h2>
{% if documents %}<ul>{% for d in documents %}<li>{{ d.title }} — {{ d.filename }} (SHA-256 {{ d.sha256 }})</li>{% endfor %}</ul>
{% else %}<p>None on file.</p>{% endif %}
<h2>Infringing listings</h2>
<table><thead><tr><th>#</th><th>Listing</th><th>Seller</th><th>Price</th><th>Mark</th><th>Evidence (SHA-256, captured)</th></tr></thead><tbody>
{% for ln in lines %}<tr><td>{{ loop.index }}</td><td>{{ ln.title }}<br>{{ ln.url }}</td><td>{{ ln.seller or "" }}</td>
<td>{{ ln.price or "" }} {{ ln.currency or "" }}</td><td>{{ ln.mark }} ({{ ln.registration_number }})</td>
<td>{{ ln.snapshot_sha256 or "" }}<br>{{ ln.fetched_at or "" }}</td></tr>{% endfor %}
</tbody></table>
<p>I have a good-faith belief that the use described above is not authorised by the trademark
owner, its agent or the law. The information in this notice is accurate, and I am authorised to
act on behalf of the owner.</p>
<p>Signed: {{ signer }}, for {{ holder.name }}</p>
</body></html>
""")


def render_notice(*, holder: Any, marketplace: Any, case: Any, marks: Sequence[Any],
                  documents: Sequence[Any], lines: Sequence[Any], signer: str,
                  reference: str, when: datetime | None = None) -> tuple[str, str]:
    """The notice as (HTML document, CSV of listings). Every scraped string is escaped."""
    when = when or datetime.now(UTC)
    html = NOTICE_TEMPLATE.render(holder=holder, marketplace=marketplace, case=case, marks=marks,
                                  documents=documents, lines=lines, signer=signer,
                                  reference=reference, date=when.date().isoformat())
    rows = [ln.__dict__ for ln in lines]
    return html, write_csv(CSV_COLUMNS, rows)


# --- senders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class OutgoingNotice:
    notice_id: int
    idempotency_key: str
    marketplace_code: str
    rights_holder_slug: str
    html: str
    csv: str
    attachments: tuple[Attachment, ...]


class NoticeSender(Protocol):
    name: str

    def send(self, notice: OutgoingNotice) -> str:
        """Deliver the notice; return a reference. Raise ``RejectedNotice`` when the recipient
        refused it for good; any other exception means "no clear answer" and the notice is tried
        again under the same idempotency key."""


class RejectedNotice(Exception):
    """The recipient answered and refused the notice (e.g. HTTP 400/403/422): do not retry."""


class WebhookSender:
    """POSTs the notice as JSON to a marketplace's (or an agent's) intake endpoint with an
    ``Idempotency-Key`` header, the convention such endpoints use to accept a retried request
    once. 2xx (and 409, "already received") is delivered; other 4xx, a redirect and an address
    the SSRF guard refuses are a refusal; everything else (timeouts, dropped connections, 429,
    5xx) is no clear answer, to be retried. It sends through the guarded client
    (``crawler/outbound.py``), so the URL can point at no private or metadata address."""

    name = "webhook"

    def __init__(self, url: str, *, timeout: float = 20.0, token: str = ""):
        self.url = url
        self.timeout = timeout
        self.token = token

    def send(self, notice: OutgoingNotice) -> str:
        import base64

        body = json.dumps({
            "notice_id": notice.notice_id,
            "idempotency_key": notice.idempotency_key,
            "marketplace": notice.marketplace_code,
            "rights_holder": notice.rights_holder_slug,
            "html": notice.html,
            "listings_csv": notice.csv,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type,
                 "body_base64": base64.b64encode(a.body).decode("ascii")}
                for a in notice.attachments
            ],
        }).encode("utf-8")
        headers = {"Content-Type": "application/json",
                   "Idempotency-Key": notice.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # under the SSRF guard like every outbound fetch; redirects are not followed
        from crawler.outbound import OutboundBlocked, outbound_client

        with outbound_client(timeout=self.timeout, max_body=64 * 1024) as client:
            try:
                resp = client.request("POST", self.url, headers=headers, body=body,
                                      follow_redirects=False)
            except OutboundBlocked as exc:
                raise RejectedNotice(f"the webhook address is refused: {exc}") from None
        if 200 <= resp.status < 300:
            return _reference(resp.body) or f"webhook:{notice.idempotency_key}"
        if resp.status == 409:
            return f"webhook:{notice.idempotency_key}"
        if 300 <= resp.status < 400:
            raise RejectedNotice(f"HTTP {resp.status}: the webhook redirects "
                                 f"({resp.headers.get('location', '')[:200]!r}); not followed")
        if 400 <= resp.status < 500 and resp.status not in (408, 425, 429):
            raise RejectedNotice(f"HTTP {resp.status}: {resp.body[:2000]!r}")
        raise ConnectionError(f"HTTP {resp.status} from the webhook: no clear answer")


def _reference(answer: bytes) -> str | None:
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    ref = data.get("reference") if isinstance(data, dict) else None
    return str(ref)[:500] if ref else None


class FileSender:
    """Writes each notice into ``outbox/<idempotency key>/``; an existing directory means the
    notice was sent already, and nothing is written twice."""

    name = "file"

    def __init__(self, outbox: Path):
        self.outbox = outbox

    def send(self, notice: OutgoingNotice) -> str:
        folder = self.outbox / f"notice-{notice.notice_id}-{notice.idempotency_key}"
        if folder.exists():
            return str(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "notice.html").write_text(notice.html, encoding="utf-8")
        (tmp / "listings.csv").write_text(notice.csv, encoding="utf-8")
        for i, a in enumerate(notice.attachments, 1):
            safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in a.filename)[:100]
            (tmp / f"attachment-{i}-{safe}").write_bytes(a.body)
        (tmp / "meta.json").write_text(json.dumps({
            "notice_id": notice.notice_id, "marketplace": notice.marketplace_code,
            "rights_holder": notice.rights_holder_slug, "idempotency_key": notice.idempotency_key,
        }), encoding="utf-8")
        tmp.rename(folder)
        return str(folder)


class ConsoleSender:
    name = "console"

    def send(self, notice: OutgoingNotice) -> str:
        log.info("notice %s to %s for %s: %d bytes of HTML, %d attachments",
                 notice.notice_id, notice.marketplace_code, notice.rights_holder_slug,
                 len(notice.html), len(notice.attachments))
        return f"console:{notice.idempotency_key}"


_SENDERS: dict[str, Callable[[], NoticeSender]] = {}


def register_sender(name: str, factory: Callable[[], NoticeSender]) -> None:
    """Plug in a sender (e-mail, webhook...); ``use_sender(name)`` makes it the default."""
    _SENDERS[name] = factory


_current: list[str] = []


def use_sender(name: str | None) -> None:
    _current[:] = [name] if name else []


def get_sender() -> NoticeSender:
    """The sender ``use_sender`` chose, else the one ``MARKWATCH_NOTICE_SENDER`` names."""
    from markwatch.settings import get_settings

    name = _current[0] if _current else get_settings().notice_sender
    if name not in _SENDERS:
        raise LookupError(f"no notice sender called {name!r}; known: {sorted(_SENDERS)}")
    return _SENDERS[name]()


def _file_sender() -> NoticeSender:
    from markwatch.settings import get_settings

    return FileSender(get_settings().data_dir / "outbox")


def _webhook_sender() -> NoticeSender:
    from markwatch.settings import get_settings

    s = get_settings()
    if not s.notice_webhook_url:
        raise LookupError("MARKWATCH_NOTICE_SENDER=webhook needs MARKWATCH_NOTICE_WEBHOOK_URL")
    return WebhookSender(s.notice_webhook_url)


register_sender("file", _file_sender)
register_sender("console", ConsoleSender)
register_sender("webhook", _webhook_sender)
