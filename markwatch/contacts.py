"""Contacts sellers leave in listings (descriptions, seller pages, text read in photos): phone
numbers normalised to E.164 with phonenumbers (Google's libphonenumber), e-mail addresses, and
WeChat / WhatsApp / Line / Telegram handles. Two seller accounts that leave the same contact are
one seller network's (``markwatch.networks``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)")
# "WeChat: abc_123", "微信：abc", "wechat id abc", "t.me/abc", "line.me/ti/p/~abc", "Line ID abc"
_HANDLES = (
    ("wechat", re.compile(r"(?:wechat|weixin|wx|微信(?:号)?)\s*(?:id)?\s*[:：]?\s*(?:our\s+wechat\s+)?"
                          r"([A-Za-z][\w-]{5,19})", re.IGNORECASE)),
    ("telegram", re.compile(r"(?:t\.me/|telegram\s*[:：@]?\s*@?)([A-Za-z]\w{4,31})", re.IGNORECASE)),
    ("line", re.compile(r"(?:line\.me/ti/p/~|\bline\s*id\s*[:：]?\s*)([\w.-]{4,20})", re.IGNORECASE)),
    ("whatsapp", re.compile(r"wa\.me/(\d{7,15})", re.IGNORECASE)),
)
_ADD_OUR = re.compile(r"add our wechat\s+([A-Za-z][\w-]{5,19})", re.IGNORECASE)
MAX_TEXT = 20_000


@dataclass(frozen=True, order=True)
class Contact:
    kind: str  # "phone", "email", "wechat", "telegram", "line"
    value: str  # normalised: E.164 for phones, lower case for the rest

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def contacts_in(text: str, region: str | None = None) -> set[Contact]:
    """Every contact in ``text``; ``region`` (ISO 3166, the marketplace's country) reads
    national numbers ("07700 900123" in GB)."""
    text = (text or "")[:MAX_TEXT]
    found: set[Contact] = set()
    for pm in phonenumbers.PhoneNumberMatcher(text, (region or "ZZ").upper(),
                                              leniency=phonenumbers.Leniency.VALID):
        found.add(Contact("phone", phonenumbers.format_number(
            pm.number, phonenumbers.PhoneNumberFormat.E164)))
    for m in _EMAIL.finditer(text):
        found.add(Contact("email", m.group(1).lower().rstrip(".")))
    for kind, pattern in _HANDLES:
        for m in pattern.finditer(text):
            value = m.group(1)
            if kind == "whatsapp":
                try:
                    n = phonenumbers.parse("+" + value)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(n):
                    found.add(Contact("phone", phonenumbers.format_number(
                        n, phonenumbers.PhoneNumberFormat.E164)))
                continue
            found.add(Contact(kind, value.lower()))
    for m in _ADD_OUR.finditer(text):
        found.add(Contact("wechat", m.group(1).lower()))
    return found
