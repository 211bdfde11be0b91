"""Marks in host names: combosquats and typosquats, with a domain's own word boundaries."""

from __future__ import annotations

import pytest

from matcher import MarkRecord, build_index
from matcher.domains import host_label, segments

MARKS = [MarkRecord(m.lower(), m, owner_id=m.lower()) for m in
         ("PAYPAL", "COINBASE", "APPLE", "TELEGRAM", "SHAREPOINT", "WHATSAPP", "INTEL", "SHELL",
          "LEDGER", "CASIO", "DHL", "VISA")]
INDEX = build_index(MARKS)

# (host, mark expected to be found or None, check, why)
TABLE = [
    ("paypal-secure-login.com", "paypal", "combosquat", "the mark as a word among affixes"),
    ("https://www.coinbaserewards.net/claim", "coinbase", "combosquat", "mark fused with an affix"),
    ("applesupport-icloud.com", "apple", "combosquat", "a dictionary-word mark with phishing affixes"),
    ("teiegram-web.org", "telegram", "combosquat", "l written as I: a look-alike, then an affix"),
    ("shrepointonline.com", "sharepoint", "typosquat", "a dropped letter, then an affix"),
    ("whats-app.info", "whatsapp", "separators", "the segments joined"),
    ("dhlexpresstracking.com", "dhl", "combosquat", "a short coined mark opening the name"),
    ("intelligentsoccer.com", None, None, "INTEL is the start of 'intelligent'"),
    ("madashelland.com", None, None, "SHELL inside other words, and SHELL is an ordinary word"),
    ("jewishledger.com", None, None, "LEDGER is an ordinary word: a newspaper, no phishing affix"),
    ("casi.es", None, None, "short marks are not squatted by dropping letters"),
    ("invisalign.com", None, None, "VISA inside a longer word"),
    ("telegraph.co.uk", None, None, "a dictionary word, not a typo of TELEGRAM"),
]


@pytest.mark.parametrize(("host", "mark", "check", "why"), TABLE,
                         ids=[f"{i:02d}-{row[3]}" for i, row in enumerate(TABLE)])
def test_domains(host, mark, check, why):
    found = {m.mark_id: m for m in INDEX.match_domain(host) if m.alertable}
    if mark is None:
        assert found == {}, why
        return
    assert mark in found, why
    assert found[mark].reasons[0].check == check, (why, found[mark].reasons)


@pytest.mark.parametrize(("host", "label"), [
    ("https://www.apple-support.com/path?x=1", "apple-support"),
    ("login.paypal.co.uk", "login.paypal"), ("user@www.example.org:8080", "example"),
    ("bare-label", "bare-label"),
])
def test_host_label(host, label):
    assert host_label(host) == label


def test_segments_strip_numbers():
    assert segments("mercadolibre889") == ["mercadolibre"]
    assert segments("smkn2batam") == ["smkn2batam", "smkn", "batam"]


def test_hostile_host_is_bounded():
    assert INDEX.match_domain("a" * 100_000 + ".com") == []
    assert INDEX.match_domain("\u202e\u0000--..--") == []
