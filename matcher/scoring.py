"""From check hits to scored, explained findings: context (Nice classes, nominative use, price,
cue phrases, authorised sellers) and the tier.

Points (see ``BASE`` in the checks and the constants here) add up to a score of 0..100; every
addition is a ``Reason`` a reviewer can read.
"""

from __future__ import annotations

import re
from functools import cache

from matcher.data_files import DATA_DIR, category_classes, fashion_classes, nominative_phrases
from matcher.index import Hit, MarkIndex, prepare_text
from matcher.normalise import FOLD_TABLE, HAN_RE, compact, describe_span, fold, word_tokens
from matcher.types import Kind, ListingText, MarkRecord, Match, Reason

DISGUISE_POINTS = 5  # the seller went out of their way to hide the mark: that shows intent
CLASS_POINTS = 10
OTHER_CLASS_POINTS = -25
NOMINATIVE_POINTS = -25
CUE_POINTS = 15
PRICE_POINTS = 10
WITH_MARK_POINTS = 10  # a product name or model number next to the mark itself

_CATEGORY_SPLIT = re.compile(r"\s*(?:>|›|»|\||\\|/|,)\s*")


def listing_classes(category: str | None) -> frozenset[int] | None:
    """Nice classes of a marketplace category; None when the category is unknown."""
    if not category:
        return None
    table = category_classes()
    c = " ".join(category.casefold().split())
    if c in table:
        return table[c]
    parts = [p for p in _CATEGORY_SPLIT.split(c) if p]
    joined = " > ".join(parts)
    if joined in table:
        return table[joined]
    for part in reversed(parts):
        if part in table:
            return table[part]
    return None


@cache
def _expressive_classes() -> frozenset[int]:
    with (DATA_DIR / "expressive_classes.txt").open(encoding="utf-8") as fh:
        return frozenset(int(w) for line in fh if not line.startswith("#") for w in line.split())


@cache
def _fillers() -> frozenset[str]:
    with (DATA_DIR / "nominative_fillers.txt").open(encoding="utf-8") as fh:
        return frozenset(w.strip() for w in fh if w.strip() and not w.startswith("#"))


@cache
def _postfix() -> tuple[str, ...]:
    with (DATA_DIR / "nominative_postfix.txt").open(encoding="utf-8") as fh:
        return tuple(w.strip().casefold() for w in fh if w.strip() and not w.startswith("#"))


def nominative_after(folded: str, end: int) -> str | None:
    """A compatibility word right after the mark ("Samsung compatible", "华为专用")."""
    after = folded[end : end + 40]
    words = word_tokens(after)
    if not words:
        return None
    first = words[0]
    for phrase in _postfix():
        if HAN_RE.match(phrase[:1]):
            # within the same run of Chinese, up to 4 characters of product noun in between
            if not after[:1].isspace() and HAN_RE.match(first[:1]) and phrase in first[: 4 + len(phrase)]:
                return phrase
        elif first == phrase and after[:1] in (" ", "-"):
            return phrase
    return None


def nominative_phrase(folded: str, start: int, end: int | None = None) -> str | None:
    """The nominative phrase ("compatible with", "for"...) right before ``start`` (or a
    compatibility word right after ``end``), if any."""
    if end is not None:
        found = nominative_after(folded, end)
        if found:
            return found
    window = folded[max(0, start - 80) : start]
    stripped = window.rstrip()
    for phrase in nominative_phrases():
        if HAN_RE.match(phrase[:1]) and stripped.endswith(phrase):
            return phrase
    words = word_tokens(window)
    if words and HAN_RE.match(words[-1][:1]) and not window.endswith((" ", "\t", "\n")):
        # the mark sits inside a Han run: the run before it is "words[-1]"
        for phrase in nominative_phrases():
            if words[-1].endswith(phrase):
                return phrase
    fillers = _fillers()
    while words and words[-1] in fillers:
        words.pop()
    tail = " ".join(words[-4:])
    for phrase in nominative_phrases():
        if tail == phrase or tail.endswith(" " + phrase):
            return phrase
    return None


class SpanMapper:
    """Maps offsets in the folded text back to the original text."""

    def __init__(self, text: str, folded: str) -> None:
        self.text = text
        if len(text) == len(folded) and text.isascii():
            self._src = None
        else:
            src: list[int] = []
            for i, ch in enumerate(text):
                out = FOLD_TABLE[ord(ch)] if not ch.isascii() or not ch.isprintable() else ch
                if out:
                    src.extend([i] * len(out))
            self._src = src

    def span(self, start: int, end: int) -> str:
        if self._src is None:
            return self.text[start:end]
        if not self._src or start >= len(self._src):
            return ""
        a = self._src[start]
        b = self._src[min(end, len(self._src)) - 1] + 1
        return self.text[a:b]


def _price_usd(listing: ListingText, fx: dict[str, float]) -> float | None:
    if listing.price is None or not listing.currency:
        return None
    rate = fx.get(listing.currency.upper())
    if not rate:
        return None
    try:
        value = float(listing.price) / rate
    except (ValueError, OverflowError):
        return None
    return value if value > 0 else None


def _is_new(listing: ListingText) -> bool:
    cond = (listing.condition or "new").strip().casefold()
    return cond in ("new", "brand new", "new with tags", "全新", "")


class _Context:
    """What is known about the listing, independently of any mark."""

    def __init__(self, index: MarkIndex, listing: ListingText, text: str, folded: str) -> None:
        self.index = index
        self.listing = listing
        self.folded = folded
        self.spans = SpanMapper(text, folded)
        self.classes = listing_classes(listing.category)
        self.fx = {k.upper(): v for k, v in index.config.fx_per_usd}
        self.price_usd = _price_usd(listing, self.fx)
        self._cues = None

    @property
    def cues(self):
        if self._cues is None:
            from matcher.cues import cue_finder

            self._cues = cue_finder().find(self.folded)
        return self._cues


def _finish(ctx: _Context, mark: MarkRecord, kind: Kind, reasons: list[Reason], start: int,
            retail_usd: float | None, product_id: str | None = None,
            end: int | None = None) -> Match | None:
    index, listing = ctx.index, ctx.listing
    # Nice classes: the listing's category against the mark's classes
    if ctx.classes is not None and mark.nice_classes:
        overlap = ctx.classes & mark.nice_classes
        if overlap:
            reasons.append(Reason("nice_class", f"category {listing.category!r} is in class "
                                  f"{', '.join(map(str, sorted(overlap)))} where the mark is registered",
                                  listing.category, CLASS_POINTS))
        elif (mark.famous and not index.is_word(compact(fold(mark.mark)))
              and not ctx.classes <= _expressive_classes()):
            # a famous mark is protected outside its classes, unless it is an ordinary word used
            # as that word ("apple pie tin")
            reasons.append(Reason("famous", "famous mark: protected outside its classes "
                                  f"(category {listing.category!r})", listing.category, 0))
        else:
            kind = Kind.OTHER_CLASS
            reasons.append(Reason("other_class", f"category {listing.category!r} (classes "
                                  f"{', '.join(map(str, sorted(ctx.classes)))}) is outside the mark's "
                                  f"classes {', '.join(map(str, sorted(mark.nice_classes)))}",
                                  listing.category, OTHER_CLASS_POINTS))
    # nominative / compatibility use
    phrase = nominative_phrase(ctx.folded, start, end)
    if phrase:
        if mark.nice_classes & fashion_classes():
            reasons.append(Reason("nominative_forbidden", f'"{phrase}" before a fashion or jewellery '
                                  "mark: marketplaces do not allow this use", phrase, 0))
        elif kind is not Kind.OTHER_CLASS:
            kind = Kind.NOMINATIVE
            reasons.append(Reason("nominative", f'"{phrase}" before the mark: compatibility use',
                                  phrase, NOMINATIVE_POINTS))
    # counterfeit cue phrases
    cues = ctx.cues
    if cues:
        reasons.append(Reason("cue_phrase", "counterfeit cue: " + ", ".join(sorted({c.phrase for c in cues})),
                              ctx.spans.span(cues[0].start, cues[0].end) or cues[0].span, CUE_POINTS))
    # price far below retail for a new item
    if ctx.price_usd is not None and retail_usd and _is_new(listing):
        ratio = ctx.price_usd / retail_usd
        if ratio < index.config.low_price_ratio:
            reasons.append(Reason("price", f"price {listing.price} {listing.currency} is {ratio:.0%} of "
                                  "retail", str(listing.price), PRICE_POINTS))
    # authorised sellers come last and override everything
    why = index.authorised(mark, listing)
    if why:
        kind = Kind.AUTHORISED
        reasons.append(Reason("authorised", f"listed by {listing.seller!r}: {why}", listing.seller, 0))
    score = max(0, min(100, sum(r.points for r in reasons)))
    tier = index.config.tier_for(score)
    if tier is None:
        return None
    return Match(listing.listing_id, mark.mark_id, kind, score, tier, tuple(reasons), product_id)


def _hit_points(hit: Hit) -> int:
    return hit.base + (DISGUISE_POINTS if hit.disguise else 0)


def _main_reason(ctx: _Context, hit: Hit) -> tuple[Reason, list[Reason]]:
    span = ctx.spans.span(hit.start, hit.end)
    extra: list[Reason] = []
    check = hit.check
    points = hit.base
    if check in ("exact", "loose", "separators", "fused"):
        names = describe_span(span).names()
        if names:
            points += DISGUISE_POINTS
            if check in ("exact", "loose"):
                check = names[0]
                names = names[1:]
            extra = [Reason(n, f"{n} characters in {span!r}", span, 0) for n in names]
        elif check == "loose":
            check = "lookalike"
            points += DISGUISE_POINTS
    return Reason(check, f"{hit.detail}: {span!r}", span, points), extra


def score_listing(index: MarkIndex, listing: ListingText) -> list[Match]:
    text, folded = prepare_text(listing)
    hits, product_hits, _ = index.find_hits(folded)
    if not hits and not product_hits:
        return []
    ctx = _Context(index, listing, text, folded)
    best: dict[int, Hit] = {}
    others: dict[int, list[Hit]] = {}
    for h in hits:
        midx = index.variants[h.vid].mark_idx
        cur = best.get(midx)
        if cur is None or (_hit_points(h), -h.start) > (_hit_points(cur), -cur.start):
            if cur is not None:
                others.setdefault(midx, []).append(cur)
            best[midx] = h
        else:
            others.setdefault(midx, []).append(h)
    results: list[Match] = []
    for midx, hit in best.items():
        mark = index.marks[midx]
        main, extra = _main_reason(ctx, hit)
        reasons = [main, *extra]
        for o in {o.check: o for o in others.get(midx, [])}.values():
            if o.check != hit.check and len(reasons) < 6:
                reasons.append(Reason(o.check, o.detail, ctx.spans.span(o.start, o.end), 0))
        m = _finish(ctx, mark, Kind.TRADEMARK, reasons, hit.start, index.retail_usd(midx), end=hit.end)
        if m:
            results.append(m)
    prod_best: dict[int, tuple[int, str, int, int, int]] = {}
    for ph in product_hits:
        cur = prod_best.get(ph[0])
        if cur is None or ph[4] > cur[4]:
            prod_best[ph[0]] = ph
    for pidx, check, start, end, base in prod_best.values():
        p = index.products[pidx]
        midx = index._mark_by_id.get(p.mark_id)
        if midx is None:
            continue
        mark = index.marks[midx]
        span = ctx.spans.span(start, end)
        label = {"model_number": "model number", "product_name": "product name",
                 "product_word": "word of the product name"}[check]
        reasons = [Reason(check, f'{label} of "{p.name}": {span!r}', span, base)]
        if midx in best:
            reasons.append(Reason("with_mark", "the mark is in the same listing", None, WITH_MARK_POINTS))
        # "compatible with Voltaris PowerCell": the phrase stands before the mark, not the product
        nom_at = start
        for h in [best[midx], *others.get(midx, [])] if midx in best else []:
            if h.end <= start and start - h.end <= 3:
                nom_at = min(nom_at, h.start)
        retail = None
        if p.retail_price is not None and p.currency and p.currency.upper() in ctx.fx:
            retail = float(p.retail_price) / ctx.fx[p.currency.upper()]
        m = _finish(ctx, mark, Kind.PRODUCT, reasons, nom_at, retail, p.product_id, end=end)
        if m:
            results.append(m)
    results.sort(key=lambda m: (-m.alertable, -m.score, m.mark_id, m.product_id or ""))
    return results
