"""No SSRF outside the crawl either: case re-checks and the webhook notice sender go through the
same guard (``crawler/outbound.py``). A canary on loopback receives nothing, whether the URL
names it, a name resolves to it, or an allowed host redirects to it; every refusal is recorded.
And no module opens HTTP connections any other way."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.enforcement import (
    Case,
    CaseAlert,
    CaseStatus,
    ListingCheck,
    Notice,
    NoticeStatus,
)
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from db.types import utcnow
from markwatch.notices import OutgoingNotice, RejectedNotice, WebhookSender
from tests.conftest import DEMO_REGISTRY, REPO
from tests.faults.helpers import record
from tests.faults.servers import FaultServer, Handler, serving, static


def _canary() -> FaultServer:
    return FaultServer({}, [("/", static(200, b"canary"))], ipv6=True)


def _tricks(c: int) -> list[str]:
    """Listing URLs that point at the canary (port ``c``) directly, in several spellings."""
    return [
        f"http://127.0.0.1:{c}/item/plain",
        f"http://2130706433:{c}/item/decimal",
        f"http://0x7f.1:{c}/item/hex",
        f"http://[::1]:{c}/item/v6",
        f"http://[::ffff:127.0.0.1]:{c}/item/mapped",
        f"http://localhost:{c}/item/name",  # a name that resolves to loopback
        f"http://user@127.0.0.1:{c}/item/userinfo",
        "http://169.254.169.254/latest/meta-data/iam/",
        f"file:///etc/passwd#{c}",
    ]


def _shop(canary_port: int) -> FaultServer:
    """An allowed marketplace host whose listings redirect to the canary, one way or another."""
    c = canary_port

    def intake(h: Handler) -> None:
        h.rfile.read(int(h.headers.get("Content-Length") or 0))
        h.send(200, json.dumps({"reference": "MP-1"}).encode(), "application/json")

    return FaultServer({
        "/item/up": static(200, b"<html>still here</html>"),
        "/item/gone": static(404, b"gone"),
        "/item/redirect": static(302, b"", headers={"Location": f"http://127.0.0.1:{c}/redirected"}),
        "/item/redirect-decimal": static(
            301, b"", headers={"Location": f"http://2130706433:{c}/redirected"}),
        "/item/redirect-name": static(
            307, b"", headers={"Location": f"http://localhost:{c}/redirected"}),
        "/item/redirect-relative": static(302, b"", headers={"Location": "/item/redirect"}),
        "/item/redirect-metadata": static(
            302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        "/intake": intake,
        "/intake-redirect": static(307, b"", headers={"Location": f"http://[::1]:{c}/intake"}),
    })


REDIRECTING = ["/item/redirect", "/item/redirect-decimal", "/item/redirect-name",
               "/item/redirect-relative", "/item/redirect-metadata"]


def _case_with_listings(store_url: str, urls: list[str]) -> session_factory:
    """A case whose notice went out, one listing (and alert) per URL: what re-checks fetch."""
    from db.alerts import Finding, record_findings
    from db.listings import ListingFields, upsert_listing
    from db.models import Mark, Marketplace

    factory = session_factory(make_engine(store_url))
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        mark = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        shop = s.scalar(sa.select(Marketplace).filter_by(code="shopa"))
        case = Case(rights_holder_id=mark.rights_holder_id, marketplace_id=shop.id,
                    seller="s", title="t", grouping="seller", created_by="test",
                    status=CaseStatus.NOTICE_SENT)
        s.add(case)
        s.flush()
        for i, url in enumerate(urls):
            lid = upsert_listing(s, shop.id, ListingFields(external_id=f"X{i}", url=url,
                                                           title=f"KESTREL {i}"),
                                 seen_at=utcnow(), crawl_run_id=None).listing_id
            aid = record_findings(s, lid, [Finding(mark.rights_holder_id, mark.id, "trademark",
                                                   90, "high")], snapshot_id=None).created[0]
            s.add(CaseAlert(case_id=case.id, alert_id=aid, listing_id=lid, added_by="test"))
    return factory


def test_case_rechecks_never_reach_the_canary(sqlite_url: str, monkeypatch) -> None:
    from tasks.enforcement import recheck

    canary = _canary()
    with serving(canary):
        shop = _shop(canary.port)
        with serving(shop):
            monkeypatch.setenv("MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS", shop.netloc)
            from markwatch.settings import get_settings

            get_settings.cache_clear()
            tricks = _tricks(canary.port)
            redirecting = [shop.base_url + p for p in REDIRECTING]
            healthy = [shop.base_url + "/item/up", shop.base_url + "/item/gone"]
            factory = _case_with_listings(sqlite_url, tricks + redirecting + healthy)
            out = recheck(factory)
            shop_hits = shop.paths()
        canary_hits = canary.paths()
    assert canary_hits == [], canary_hits
    injected = len(tricks) + len(redirecting)
    assert out["checked"] == injected + 2
    assert out["up"] == 1 and out["gone"] == 1  # the guard lets the allowed host through
    assert out["blocked"] == injected, out
    with factory() as s:
        errors = s.scalars(sa.select(ListingCheck.error).where(ListingCheck.error.is_not(None)))
        reasons = sorted({e.split(")")[0].removeprefix("blocked (") for e in errors})
    assert {"loopback", "metadata", "userinfo", "scheme"} <= set(reasons), reasons
    assert set(REDIRECTING) <= set(shop_hits)  # the first hop was asked, the redirect refused
    record("9 no SSRF: case re-checks", injected, None, None,
           f"canary requests {len(canary_hits)}; {out['blocked']} re-checks blocked "
           f"({', '.join(reasons)}); {out['up']} up and {out['gone']} gone on the allowed host")


def _outgoing() -> OutgoingNotice:
    return OutgoingNotice(notice_id=1, idempotency_key="k-1", marketplace_code="shopa",
                          rights_holder_slug="kestrel-outdoor", html="<p>n</p>", csv="url\n",
                          attachments=())


def test_the_webhook_sender_never_reaches_the_canary(sqlite_url: str, monkeypatch) -> None:
    from markwatch.settings import get_settings
    from tasks.enforcement import deliver_notice

    canary = _canary()
    with serving(canary):
        shop = _shop(canary.port)
        with serving(shop):
            monkeypatch.setenv("MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS", shop.netloc)
            get_settings.cache_clear()
            refused = []
            for url in [*(u for u in _tricks(canary.port) if "/item/" in u),
                        shop.base_url + "/intake-redirect"]:
                with pytest.raises(RejectedNotice) as exc:
                    WebhookSender(url, timeout=5).send(_outgoing())
                refused.append(str(exc.value))
            # the allowed intake itself is reached (the guard is not simply shut)
            assert WebhookSender(shop.base_url + "/intake").send(_outgoing()) == "MP-1"
            # the whole sending path, through the settings: the notice fails, nothing is sent
            monkeypatch.setenv("MARKWATCH_NOTICE_SENDER", "webhook")
            monkeypatch.setenv("MARKWATCH_NOTICE_WEBHOOK_URL",
                               f"http://localhost:{canary.port}/intake")
            get_settings.cache_clear()
            factory = _case_with_listings(sqlite_url, [shop.base_url + "/item/up"])
            with transaction(factory) as s:
                case = s.scalar(sa.select(Case))
                n = Notice(rights_holder_id=case.rights_holder_id, case_id=case.id,
                           marketplace_id=case.marketplace_id, idempotency_key="k-2",
                           status=NoticeStatus.QUEUED, alert_ids=[], document_ids=[],
                           listing_count=0, html="<p>n</p>", csv="url\n", created_by="t",
                           queued_by="t", queued_at=utcnow())
                s.add(n)
                s.flush()
                notice_id = n.id
            assert deliver_notice(factory, notice_id) is None
            with factory() as s:
                notice = s.get(Notice, notice_id)
                status, error = notice.status, notice.send_error
        canary_hits = canary.paths()
    assert canary_hits == [], canary_hits
    assert status == NoticeStatus.FAILED and "blocked (loopback)" in error, (status, error)
    assert all("blocked (" in r for r in refused[:-1]), refused
    assert "redirects" in refused[-1] and "not followed" in refused[-1], refused[-1]
    record("9 no SSRF: webhook notice sender", len(refused) + 1, None, None,
           f"canary requests {len(canary_hits)}; {len(refused)} webhook URLs refused, the "
           "configured one too (notice failed, not sent); the allowed intake answered")


HTTP_CLIENTS = {"urllib.request", "http.client", "httpx", "httpcore", "requests", "urllib3",
                "aiohttp", "pycurl", "smtplib"}
#: the guarded client itself; and process health checks of our own children on loopback
UNGUARDED_OK = {"crawler/outbound.py", "markwatch/processes.py"}


def test_no_module_fetches_around_the_guard() -> None:
    bad = []
    for path in REPO.glob("*/**/*.py"):
        rel = path.relative_to(REPO).as_posix()
        if rel.split("/")[0] in ("tests", "benchmarks", ".venv") or rel in UNGUARDED_OK:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{rel}: {n}" for n in names
                    if n in HTTP_CLIENTS or n.split(".")[0] in HTTP_CLIENTS - {"urllib", "http"}]
    assert not bad, bad
    assert Path(REPO / "crawler/outbound.py").exists()
