"""Marks in domain names: combosquats ("applesupport-icloud", "recovery-coinbase") and
typosquats ("amgz0n", "shrepointonline", "whats-app").

A host name has its own word boundaries: hyphens, dots and digits split it into segments, and
inside a segment words run together without spaces. So the checks differ from a title's:

``combosquat``  the mark is a whole segment ("amazon-developments"), or it begins or ends a
                segment with the rest made of affix words ("apple" + "care" + "connect") or, for a
                coined mark, anything that does not turn the mark into a longer dictionary word
                ("intelligentsoccer" is not INTEL, "pakmediarevolution" is not REVOLUT). A coined
                mark of 7 letters or more may also stand inside a segment.
``typosquat``   a segment, or a segment with affix words cut off its ends ("docosign" from
                "docosignonline"), or the segments joined ("whatsapp" from "whats-app"), is a
                look-alike or a typo of the mark, by the index's own typo rules; a short mark (up to
                6 letters) is not typosquatted by dropping letters ("casi" is not CASIO).

Dictionary-word marks (APPLE, LEDGER, SHELL) count only with affix words from
``data/domain_affixes.txt``: "jewishledger" names a newspaper.
"""

from __future__ import annotations

import re
from functools import cache

from matcher.data_files import _lines
from matcher.index import MarkIndex, allowed_edits, deletes, typo_distance
from matcher.normalise import compact, fold, fuzzy_key, loose
from matcher.types import Kind, Match, Reason

MAX_HOST_CHARS = 253
_SPLIT = re.compile(r"[^0-9a-z\u00c0-\uffff@$]+")
# leetspeak digits and signs read as letters, keeping "l" and "i" apart (dictionary look-ups)
_DELEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                         "9": "g", "@": "a", "$": "s"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
MIN_AFFIX = 2

# ranks among a domain's findings for one mark (the score itself is calibrated)
COMBO_POINTS = 80
EXACT_POINTS = 85
TYPO_POINTS = 72
FAMILY = {"exact": "registered", "combosquat": "combosquat", "typosquat": "typosquat"}


@cache
def affixes() -> frozenset[str]:
    return frozenset(fold(w.strip()) for w in _lines("domain_affixes.txt"))


def host_label(host: str) -> str:
    """The registrable part of a host name without scheme, path, "www" and top-level domain:
    "https://www.apple-support.com/x" -> "apple-support". A bare label is kept as it is."""
    h = fold(host.strip())[:MAX_HOST_CHARS]
    h = _SCHEME.sub("", h).split("/", 1)[0].split("?", 1)[0].split("@")[-1].split(":", 1)[0]
    parts = [p for p in h.split(".") if p]
    if parts and parts[0] == "www":
        parts = parts[1:]
    if len(parts) > 1:
        parts = parts[:-1]  # the top-level domain
        if len(parts) > 1 and parts[-1] in ("co", "com", "net", "org", "gov", "ac", "edu"):
            parts = parts[:-1]  # a second-level domain: example.co.uk
    return ".".join(parts)


def segments(label: str) -> list[str]:
    """Hyphen- and dot-separated parts, without leading or trailing numbers ("mercadolibre889"),
    plus the parts of a segment that digits cut in two ("smkn2batam")."""
    out: list[str] = []
    for raw in _SPLIT.split(label):
        seg = raw.strip("0123456789")
        if not seg:
            continue
        out.append(seg)
        inner = [x for x in re.split(r"\d+", seg) if len(x) >= 3]
        if len(inner) > 1:
            out.extend(inner)
    return list(dict.fromkeys(out))


def deleet(form: str) -> str:
    return form.translate(_DELEET)


def _segmentable(index: MarkIndex, rest: str, vocab_only: bool) -> bool:
    """``rest`` is made of affix words (and, unless ``vocab_only``, dictionary words)."""
    if not rest:
        return True
    vocab = affixes()
    n = len(rest)
    ok = [False] * (n + 1)
    ok[0] = True
    for i in range(n):
        if not ok[i]:
            continue
        for j in range(i + MIN_AFFIX, n + 1):
            w = rest[i:j]
            if w in vocab or (not vocab_only and len(w) >= 3 and index.is_common(w)):
                ok[j] = True
    return ok[n]


def _covered(index: MarkIndex, seg: str, start: int, end: int) -> bool:
    """A dictionary word runs over the mark's edge and the segment reads on without it:
    "intel|ligent|soccer", "revolut|ion", "coach|es", "audi|o" -- but not "apple|s|upport"."""
    for a in range(0, start + 1):
        for b in range(end, len(seg) + 1):
            if (a, b) == (start, end) or not index.is_word(seg[a:b]):
                continue
            if b > end and _segmentable(index, seg[b:], False):
                return True
            if a < start and _segmentable(index, seg[:a], False):
                return True
    return False


def _cores(index: MarkIndex, seg: str) -> set[str]:
    """The segment with affix or dictionary words cut off its start and its end."""
    out = {seg}
    vocab = affixes()
    for i in range(MIN_AFFIX, len(seg) - 2):
        head, tail = seg[:i], seg[i:]
        if head in vocab or (len(head) >= 3 and index.is_word(head)):
            out.add(tail)
        head, tail = seg[: len(seg) - i], seg[len(seg) - i :]
        if tail in vocab or (len(tail) >= 3 and index.is_word(tail)):
            out.add(head)
    return out


def match_domain(index: MarkIndex, host: str) -> list[Match]:
    """Findings for one host name (or a bare domain label), best first."""
    label = host_label(host)
    segs = segments(label)
    if not segs:
        return []
    best: dict[int, tuple[int, Reason]] = {}

    def found(vid: int, points: int, reason: Reason) -> None:
        midx = index.variants[vid].mark_idx
        if midx not in best or points > best[midx][0]:
            best[midx] = (points, reason)

    joined = "".join(_SPLIT.split(label)).strip("0123456789")
    forms = list(dict.fromkeys([*segs, joined]))
    for raw in forms:
        form = deleet(raw)
        lform = loose(raw, digraphs=False)
        # the mark as a whole segment, or the segments joined ("royal-mail")
        for vid in {*_lookup(index, index._by_key, form), *_lookup(index, index._by_loose, lform),
                    *_lookup(index, index._by_loose, loose(raw))}:
            v = index.variants[vid]
            if v.han:
                continue
            if raw == label or (len(segs) == 1 and raw == segs[0]):
                found(vid, EXACT_POINTS, Reason("exact", f'the domain is "{v.text}" itself', form,
                                                EXACT_POINTS))
            else:
                found(vid, COMBO_POINTS, Reason("combosquat", f'"{v.text}" as a word of the domain '
                                                f'"{label}"', form, COMBO_POINTS))
        # the mark fused with other words
        for vid, start, end in _inside(index, lform):
            v = index.variants[vid]
            dictionary = index.is_dictionary_mark(v.mark_idx)
            head, tail = form[:start], form[end:]
            if _covered(index, form, start, end):
                continue
            short = len(v.key) <= 4
            if head and tail:
                if (dictionary or short or len(v.key) < 7) and not (
                        _segmentable(index, head, dictionary) and _segmentable(index, tail, dictionary)):
                    continue
            elif dictionary or short:
                rest = head or tail
                if not (_segmentable(index, rest, dictionary)
                        or (not dictionary and len(rest) >= 4 and not head
                            and not any(index.is_word(form[start:b]) for b in range(end + 1, len(form) + 1)))):
                    continue
            found(vid, COMBO_POINTS, Reason("combosquat", f'"{v.text}" fused with '
                                            f'"{head}" "{tail}" in the domain "{label}"'.replace(' ""', ""),
                                            form, COMBO_POINTS))
        # typos of the mark, in the segment or its core
        for core in _cores(index, form):
            if len(core) < 4 or index.is_common(core):
                continue
            for vid, dist in _typos(index, loose(core)):
                v = index.variants[vid]
                if index.is_dictionary_mark(v.mark_idx) and core != form and not _affix_around(form, core):
                    continue
                if len(v.key) <= 6 and len(core) < len(v.key):
                    continue  # "casi" is not CASIO: short marks are not squatted by dropping letters
                found(vid, TYPO_POINTS - 4 * dist, Reason("typosquat", f'"{core}" is {dist} '
                      f'edit{"s" if dist != 1 else ""} from "{v.text}" (domain "{label}")', core,
                      TYPO_POINTS - 4 * dist))
    from matcher.scoring import scored

    out = []
    for midx, (_, reason) in best.items():
        mark = index.marks[midx]
        present = {FAMILY[reason.check], "class_unknown"}
        if index.is_dictionary_mark(midx):
            present.add("dictionary_mark")
        if len(compact(fold(mark.mark))) <= 4:
            present.add("short_mark")
        m = scored(index, host, mark, Kind.TRADEMARK, [reason], present)
        if m is not None:
            out.append(m)
    out.sort(key=lambda m: (-m.score, m.mark_id))
    return out


def _affix_around(form: str, core: str) -> bool:
    at = form.find(core)
    rest = [form[:at], form[at + len(core):]] if at >= 0 else [form]
    return all(not r or r in affixes() for r in rest)


def _lookup(index: MarkIndex, table: dict, key: str) -> list[int]:
    cur = table.get(key)
    if cur is None:
        return []
    return cur if isinstance(cur, list) else [cur]


def _inside(index: MarkIndex, form: str):
    """(variant, start, end) of registered forms found inside ``form`` (and not all of it)."""
    n = len(form)
    for length in sorted(index._key_lengths):
        if length < 3 or length >= n:
            continue
        for s in range(n - length + 1):
            for vid in _lookup(index, index._by_loose, form[s : s + length]):
                yield vid, s, s + length


def _typos(index: MarkIndex, core: str):
    fz = fuzzy_key(core)
    seen: set[int] = set()
    for d in deletes(fz, 2):
        for vid in _lookup(index, index._deletes, d):
            if vid in seen:
                continue
            seen.add(vid)
            v = index.variants[vid]
            if v.han:
                continue
            dist = typo_distance(v, core, fz, raw_limit=False)
            if dist is not None and (0 < dist <= allowed_edits(len(v.key)) or (dist == 0 and core != v.loose)):
                yield vid, dist
