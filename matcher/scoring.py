"""From check hits to scored, explained findings.

For each mark found in a listing: how the words around it use it (``matcher.usage``), the
listing's category against the mark's Nice classes, counterfeit cue phrases, the price against
the rights holder's retail price, authorised sellers. These decide the finding's kind (only
trademark and product findings alert; referential, ordinary-word, other-class and authorised
uses never do) and its features, which ``matcher.calibration`` turns into the score: the chance
that a reviewer confirms it. Every step leaves a ``Reason`` a reviewer can read.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from matcher import calibration
from matcher.calibration import REASON_OF, family_of
from matcher.crossscript import kana_roman
from matcher.cues import Cue
from matcher.data_files import DATA_DIR, category_classes, fashion_classes
from matcher.index import Hit, MarkIndex, prepare_text
from matcher.language import head_first
from matcher.normalise import (
    FOLD_TABLE,
    KANA_RE,
    MAX_TITLE_CHARS,
    RUN_RE,
    THAI_RE,
    bound,
    describe_span,
    fold,
)
from matcher.photos import PhotoHit
from matcher.types import Kind, ListingText, MarkRecord, Match, Reason
from matcher.usage import TextView, Usage, usage_of

DISGUISE_POINTS = 5  # ranks a disguised hit above a plain one when choosing a mark's best hit

#: checks that name a disguise of the mark (the seller unfolded nothing by accident)
DISGUISES = frozenset({"invisible", "compatibility", "diacritic", "confusable", "leetspeak",
                       "lookalike", "separators", "split", "loose"})

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
def _expressive_categories() -> frozenset[str]:
    with (DATA_DIR / "expressive_categories.txt").open(encoding="utf-8") as fh:
        return frozenset(w.strip().casefold() for w in fh if w.strip() and not w.startswith("#"))


def _expressive_category(category: str | None) -> bool:
    """A category of books, art, music or film (any segment of its path)."""
    if not category:
        return False
    c = " ".join(category.casefold().split())
    names = _expressive_categories()
    return c in names or any(p in names for p in _CATEGORY_SPLIT.split(c) if p)


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

    def __init__(self, index: MarkIndex, listing: ListingText, text: str, folded: str,
                 toks: list, alertable_only: bool = False) -> None:
        self.index = index
        self.alertable_only = alertable_only
        self.listing = listing
        self.folded = folded
        self.spans = SpanMapper(text, folded)
        self.classes = listing_classes(listing.category)
        self.fx = {k.upper(): v for k, v in index.config.fx_per_usd}
        self.price_usd = _price_usd(listing, self.fx)
        self.toks = toks
        self.title_end = len(fold(bound(listing.title, MAX_TITLE_CHARS)))
        self._cues: list[Cue] | None = None
        self._view: TextView | None = None
        self._usage: dict[tuple[int, int, bool], Usage] = {}
        self.photos: dict[int, PhotoHit] = {}  # mark index -> an official photo the listing shows
        self.supported: dict[int, bool] = {}  # mark index -> ``_supports``, asked once per mark
        self._head_first: bool | None = None

    @property
    def head_first(self) -> bool:
        """The title is in a head-first language of South-East Asia (``matcher.language``)."""
        if self._head_first is None:
            self._head_first = head_first(bound(self.listing.title, MAX_TITLE_CHARS),
                                          self.folded[: self.title_end])
        return self._head_first

    @property
    def cues(self):
        if self._cues is None:
            from matcher.cues import cue_finder

            self._cues = cue_finder().find(self.folded)
        return self._cues

    @property
    def view(self) -> TextView:
        if self._view is None:
            title = self.folded[: self.title_end]
            self._view = TextView(self.folded, self.toks, self.title_end,
                                  [(c.start, c.end) for c in self.cues],
                                  self.head_first or THAI_RE.search(title) is not None)
        return self._view

    def usage(self, start: int, end: int, product: bool = False) -> Usage:
        """How the words around [start, end) use it (the same for every mark found there)."""
        found = self._usage.get((start, end, product))
        if found is None:
            found = self._usage[(start, end, product)] = usage_of(self.index, self.view, start,
                                                                   end, product)
        return found


def _fashion_goods(ctx: _Context, mark: MarkRecord) -> bool:
    """Referential use is no defence: the mark is a fashion or jewellery mark and the listing's
    goods are in those classes (or unknown, and the mark covers nothing else)."""
    fashion = mark.nice_classes & fashion_classes()
    if not fashion:
        return False
    if ctx.classes is None:
        return mark.nice_classes <= fashion
    return bool(ctx.classes & fashion)


def _finish(ctx: _Context, mark: MarkRecord, midx: int, kind: Kind, reasons: list[Reason],
            start: int, end: int, retail_usd: float | None, family: str,
            product_id: str | None = None, disguised: bool = False,
            product_with_mark: bool = False, cleared: bool | None = None) -> Match | None:
    """The finding, explained and scored. ``cleared``: the ``disguised`` value with which the
    caller has already found that ``_never_alerts`` is false for this finding (not asked twice)."""
    index, listing = ctx.index, ctx.listing
    usage = ctx.usage(start, end, kind is Kind.PRODUCT)
    cues = ctx.cues
    dictionary = index.is_dictionary_mark(midx)
    brand_signal = bool(disguised or cues or usage.abuse or usage.marked or product_with_mark)
    if ctx.alertable_only and cleared != disguised and _never_alerts(
            ctx, mark, midx, kind, start, end, disguised, product_with_mark):
        return None
    # referential (nominative / compatibility) use
    referential = False
    if usage.referential:
        if _fashion_goods(ctx, mark):
            reasons.append(Reason("nominative_forbidden", f'"{usage.referential}" ({usage.how}): '
                                  "referential use of a fashion or jewellery mark on such goods is "
                                  "not allowed by marketplaces", usage.referential, 0))
        else:
            referential = True
            kind = Kind.NOMINATIVE
            reasons.append(Reason("nominative", f'"{usage.referential}" ({usage.how}): the mark names '
                                  "the product this fits", usage.referential, 0))
    if usage.leading and kind is not Kind.NOMINATIVE:
        reasons.append(Reason("leading", "the mark opens the title, where sellers put the brand",
                              None, 0))
    if usage.abuse:
        reasons.append(Reason("brand_abuse", f'"{usage.abuse}" next to the mark: used as a keyword',
                              usage.abuse, 0))
    # a dictionary-word mark used as that word
    if (dictionary and kind is Kind.TRADEMARK and not brand_signal and not usage.referential
            and not _han_context(ctx, start) and (usage.describes or not usage.leading)):
        kind = Kind.GENERIC
        plain = (f'followed by "{usage.describes}": it describes the goods' if usage.describes
                 else "it does not open the title and nothing marks it as a brand")
        reasons.append(Reason("generic", f"an ordinary word here: {plain}", usage.describes, 0))
    # Nice classes: the listing's category against the mark's classes
    if ctx.classes is not None and mark.nice_classes:
        overlap = ctx.classes & mark.nice_classes
        if overlap:
            reasons.append(Reason("nice_class", f"category {listing.category!r} is in class "
                                  f"{', '.join(map(str, sorted(overlap)))} where the mark is registered",
                                  listing.category, 0))
        elif (mark.famous and not dictionary and not ctx.classes <= _expressive_classes()):
            reasons.append(Reason("famous", "famous mark: protected outside its classes "
                                  f"(category {listing.category!r})", listing.category, 0))
        else:
            if _other_class_hard(ctx, mark, dictionary, brand_signal) and kind.alertable:
                kind = Kind.OTHER_CLASS
            reasons.append(Reason("other_class", f"category {listing.category!r} (classes "
                                  f"{', '.join(map(str, sorted(ctx.classes)))}) is outside the mark's "
                                  f"classes {', '.join(map(str, sorted(mark.nice_classes)))}",
                                  listing.category, 0))
    # counterfeit cue phrases
    if cues:
        reasons.append(Reason("cue_phrase", "counterfeit cue: " + ", ".join(sorted({c.phrase for c in cues})),
                              ctx.spans.span(cues[0].start, cues[0].end) or cues[0].span, 0))
    # price far below retail for a new item (an accessory's price says nothing of the product's)
    if ctx.price_usd is not None and retail_usd and _is_new(listing) and not usage.referential:
        ratio = ctx.price_usd / retail_usd
        if ratio < index.config.low_price_ratio:
            reasons.append(Reason("price", f"price {listing.price} {listing.currency} is {ratio:.0%} of "
                                  "retail", str(listing.price), 0))
    del referential
    # the rights holder's official product photo, shown in the listing
    photo = ctx.photos.get(midx)
    if photo is not None:
        reasons.append(_photo_reason(index, photo))
    # authorised sellers come last and override everything
    why = index.authorised(mark, listing)
    if why:
        kind = Kind.AUTHORISED
        reasons.append(Reason("authorised", f"listed by {listing.seller!r}: {why}", listing.seller, 0))
    present = {family}
    checks = {r.check for r in reasons}
    present |= {f for f, check in REASON_OF.items() if check in checks}
    if ctx.classes is None or not mark.nice_classes:
        present.add("class_unknown")
    if dictionary:
        present.add("dictionary_mark")
    if index.is_short_mark(midx):
        present.add("short_mark")
    if start >= ctx.title_end:
        present.add("description_only")
    return scored(index, listing.listing_id, mark, kind, reasons, present, product_id)


def scored(index: MarkIndex, listing_id: str, mark: MarkRecord, kind: Kind, reasons: list[Reason],
           present: set[str], product_id: str | None = None) -> Match | None:
    """The finding with its calibrated score; each reason's points are its share of the
    log-odds (the first reason carries the base rate and the mark's own traits)."""
    model = calibration.model()
    coef = model.coef
    score = max(0, min(100, round(100 * model.probability(present))))
    tier = index.config.tier_for(score)
    if tier is None:
        return None  # decided before the reasons are worded
    own = {REASON_OF[f] for f in present if f in REASON_OF}
    first = model.intercept + sum(coef.get(f, 0.0) for f in present
                                  if f not in REASON_OF)
    out = []
    for i, r in enumerate(reasons):
        if i == 0:
            pts = calibration.points(first)
        elif r.check in own:
            f = next(f for f, c in REASON_OF.items() if c == r.check and f in present)
            pts = calibration.points(coef.get(f, 0.0))
            own.discard(r.check)
        else:
            pts = 0
        out.append(Reason(r.check, r.detail, r.span, pts))
    return Match(listing_id, mark.mark_id, kind, score, tier, tuple(out), product_id,
                 frozenset(present))


_APPROXIMATE = frozenset({"typo", "phonetic"})


def _nearest(index: MarkIndex, hits: list[Hit]) -> list[Hit]:
    """On each stretch of text, an approximate hit (a typo or a sound-alike) stands only if no
    mark is written there more exactly: the nearest marks win. A word that is one mark exactly,
    or one edit from it, is not also reported as two edits from others."""
    if len(hits) < 2:
        return hits
    best: dict[tuple[int, int], int] = {}
    for h in hits:
        rank = h.base + (DISGUISE_POINTS if h.disguise else 0)
        key = (h.start, h.end)
        if rank > best.get(key, -1):
            best[key] = rank
    return [h for h in hits if h.check not in _APPROXIMATE
            or h.base + (DISGUISE_POINTS if h.disguise else 0) >= best[(h.start, h.end)]]


def _never_alerts(ctx: _Context, mark: MarkRecord, midx: int, kind: Kind, start: int, end: int,
                  disguised: bool, product_with_mark: bool) -> bool:
    """Whatever else the listing says, this finding cannot become an alert: an authorised seller,
    a bare use outside the mark's classes, or a dictionary-word mark used as a word (or named by
    an allowed referential use). Cheap tests only; the pipeline then skips explaining it."""
    index = ctx.index
    usage = ctx.usage(start, end, kind is Kind.PRODUCT)
    dictionary = index.is_dictionary_mark(midx)
    brand_signal = bool(disguised or ctx.cues or usage.abuse or usage.marked or product_with_mark)
    return bool(
        index.authorised(mark, ctx.listing)
        or _other_class_hard(ctx, mark, dictionary, brand_signal)
        or (dictionary and kind is Kind.TRADEMARK and not brand_signal
            and (usage.describes or not usage.leading) and not _han_context(ctx, start)
            and not _fashion_goods(ctx, mark)))


def _other_class_hard(ctx: _Context, mark: MarkRecord, dictionary: bool, brand_signal: bool) -> bool:
    """The listing's goods are outside the mark's classes and that settles it: a bare use is
    another meaning or another company's mark (unless the mark is famous); a disguise, a cue
    phrase, a brand-abuse word or the holder's product shows it is this brand. Books, art and
    film: never."""
    if ctx.classes is None or not mark.nice_classes or ctx.classes & mark.nice_classes:
        return False
    if mark.famous and not dictionary and not ctx.classes <= _expressive_classes():
        return False
    return not brand_signal or _expressive_category(ctx.listing.category)


def _supports(ctx: _Context, midx: int) -> bool:
    """The rest of the listing supports a heavier typo of the mark: goods in its classes, a
    counterfeit cue phrase, or a price far below its products' retail price."""
    found = ctx.supported.get(midx)
    if found is None:
        found = ctx.supported[midx] = _supported(ctx, midx)
    return found


def _supported(ctx: _Context, midx: int) -> bool:
    mark = ctx.index.marks[midx]
    if ctx.classes is not None and ctx.classes & mark.nice_classes:
        return True
    if ctx.cues:
        return True
    retail = ctx.index.retail_usd(midx)
    return bool(ctx.price_usd is not None and retail
                and ctx.price_usd / retail < ctx.index.config.low_price_ratio)


def _han_context(ctx: _Context, start: int) -> bool:
    """The mark stands in Chinese, Thai or Japanese text, or in a title in Vietnamese,
    Indonesian, Malay or Filipino: a Latin word there is a name, not an English word."""
    window = ctx.folded[max(0, start - 6) : start + 12]
    return sum(1 for ch in window if RUN_RE.match(ch)) >= 2 or ctx.head_first


def _hit_points(hit: Hit) -> int:
    return hit.base + (DISGUISE_POINTS if hit.disguise else 0)


def _letters(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFC", s).casefold() if ch.isalnum())


@cache
def _accented_forms(mark: MarkRecord) -> frozenset[str]:
    """The letters of the mark's registered forms that are not plain ASCII ("trungnguyên")."""
    return frozenset(_letters(f) for f in (mark.mark, *mark.aliases) if not f.isascii())


def _as_registered(ctx: _Context, hit: Hit, span: str) -> bool:
    """The span is the registered form letter for letter, accents included: "Trung Nguyên" for
    a registered "Trung Nguyên" is the mark, not a diacritic disguise of it."""
    forms = _accented_forms(ctx.index.marks[ctx.index.variants[hit.vid].mark_idx])
    return bool(forms) and _letters(span) in forms


def _is_disguised(ctx: _Context, hit: Hit) -> bool:
    """The hit needed unfolding a disguise (what ``_main_reason`` will name)."""
    if hit.check in ("loose", "separators", "split"):
        return True
    if hit.check not in ("exact", "fused"):
        return False
    span = ctx.spans.span(hit.start, hit.end)
    if span.isascii() and span.isalnum():
        return False
    return bool(describe_span(span).names()) and not _as_registered(ctx, hit, span)


def _main_reason(ctx: _Context, hit: Hit) -> tuple[Reason, list[Reason]]:
    span = ctx.spans.span(hit.start, hit.end)
    extra: list[Reason] = []
    check = hit.check
    points = hit.base
    if check in ("exact", "loose", "separators", "fused"):
        names = [] if _as_registered(ctx, hit, span) else describe_span(span).names()
        if names:
            points += DISGUISE_POINTS
            if check in ("exact", "loose"):
                check = names[0]
                names = names[1:]
            extra = [Reason(n, f"{n} characters in {span!r}", span, 0) for n in names]
        elif check == "loose":
            check = "lookalike"
            points += DISGUISE_POINTS
    detail = hit.detail
    if check == "transliteration" and KANA_RE.search(kana := unicodedata.normalize("NFKC", span)):
        # the index read the folded kana, which have lost their voicing marks (ダ is タ): the
        # reviewer is shown the reading of the listing's own spelling (halfwidth ｱﾃﾞｨﾀﾞｽ too)
        v = ctx.index.variants[hit.vid]
        detail = f'katakana spelling of "{v.text}" (romanised "{kana_roman(kana)}")'
    return Reason(check, f"{detail}: {span!r}", span, points), extra


def score_listing(index: MarkIndex, listing: ListingText, alertable_only: bool = False) -> list[Match]:
    """Every finding for one listing, best first; with ``alertable_only``, only the findings that
    can become alerts (the pipeline needs no others, and skips explaining them)."""
    text, folded = prepare_text(listing)
    hits, product_hits, toks = index.find_hits(folded)
    photos = _photo_hits(index, listing)
    if not hits and not product_hits and not photos:
        if listing.image_text:
            return _with_image_text(index, listing, [], alertable_only)
        return []
    ctx = _Context(index, listing, text, folded, toks, alertable_only)
    ctx.photos = photos
    product_marks = {index._mark_by_id.get(index.products[ph[0]].mark_id) for ph in product_hits}
    hits = _nearest(index, [h for h in hits
                            if not h.stretch or _supports(ctx, index.variants[h.vid].mark_idx)])
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
        cleared = _is_disguised(ctx, hit) if alertable_only else None
        if cleared is not None and _never_alerts(ctx, mark, midx, Kind.TRADEMARK, hit.start,
                                                 hit.end, cleared, midx in product_marks):
            continue
        main, extra = _main_reason(ctx, hit)
        reasons = [main, *extra]
        for o in {o.check: o for o in others.get(midx, [])}.values():
            if o.check != hit.check and len(reasons) < 6:
                reasons.append(Reason(o.check, o.detail, ctx.spans.span(o.start, o.end), 0))
        disguised = main.check in DISGUISES or any(e.check in DISGUISES for e in extra)
        family = "disguised" if disguised else family_of(hit.check, hit.base, hit.stretch)
        m = _finish(ctx, mark, midx, Kind.TRADEMARK, reasons, hit.start, hit.end,
                    index.retail_usd(midx), family, disguised=disguised,
                    product_with_mark=midx in product_marks, cleared=cleared)
        if m:
            results.append(m)
    prod_best: dict[int, tuple[int, str, int, int, int]] = {}
    for ph in product_hits:
        prev = prod_best.get(ph[0])
        if prev is None or ph[4] > prev[4]:
            prod_best[ph[0]] = ph
    for pidx, check, start, end, base in prod_best.values():
        p = index.products[pidx]
        owner_idx = index._mark_by_id.get(p.mark_id)
        if owner_idx is None:
            continue
        midx = owner_idx
        mark = index.marks[midx]
        span = ctx.spans.span(start, end)
        label = {"model_number": "model number", "product_name": "product name",
                 "product_word": "word of the product name"}[check]
        reasons = [Reason(check, f'{label} of "{p.name}": {span!r}', span, base)]
        if midx in best:
            reasons.append(Reason("with_mark", "the mark is in the same listing", None, 0))
        # "compatible with Voltaris PowerCell": the phrase stands before the mark, not the product
        nom_at = start
        for h in [best[midx], *others.get(midx, [])] if midx in best else []:
            if h.end <= start and start - h.end <= 3:
                nom_at = min(nom_at, h.start)
        retail = None
        if p.retail_price is not None and p.currency and p.currency.upper() in ctx.fx:
            retail = float(p.retail_price) / ctx.fx[p.currency.upper()]
        m = _finish(ctx, mark, midx, Kind.PRODUCT, reasons, nom_at, end, retail,
                    family_of(check), p.product_id, product_with_mark=True)
        if m:
            results.append(m)
    if listing.image_text:
        results = _with_image_text(index, listing, results, alertable_only)
    in_text = set(best) | {index._mark_by_id.get(index.products[ph[0]].mark_id)
                           for ph in product_hits}
    for midx, photo in photos.items():
        if midx not in in_text:
            m = _photo_only(ctx, midx, photo)
            if m:
                results.append(m)
    if alertable_only:
        results = [m for m in results if m.alertable]
    results.sort(key=lambda m: (-m.alertable, -m.score, m.mark_id, m.product_id or ""))
    return results


def _photo_hits(index: MarkIndex, listing: ListingText) -> dict[int, PhotoHit]:
    """Per mark, the nearest official photo of one of its products that the listing shows."""
    if not listing.photos or not len(index.photo_index):
        return {}
    out: dict[int, PhotoHit] = {}
    for hit in index.photo_index.hits(listing.photos):
        product = index.products[index._product_by_id[hit.official.product_id]]
        midx = index._mark_by_id.get(product.mark_id)
        if midx is None:
            continue
        cur = out.get(midx)
        if cur is None or (hit.distance, hit.dhash_distance) < (cur.distance, cur.dhash_distance):
            out[midx] = hit
    return out


def _photo_reason(index: MarkIndex, hit: PhotoHit) -> Reason:
    product = index.products[index._product_by_id[hit.official.product_id]]
    how = f", {hit.official.form}" if hit.official.form else ""
    return Reason("official_photo", f'{hit.listing_photo.ref} is the official photo '
                  f'"{hit.official.name}" of {product.name} (pHash {hit.distance} of 64 bits '
                  f"apart{how})", hit.listing_photo.ref, 0)


def _photo_only(ctx: _Context, midx: int, hit: PhotoHit) -> Match | None:
    """A listing whose text never names the mark but which shows the rights holder's official
    product photo: a product finding, made by the photo alone."""
    index, listing = ctx.index, ctx.listing
    mark = index.marks[midx]
    kind = Kind.PRODUCT
    reasons = [_photo_reason(index, hit),
               Reason("photo_only", "the mark is nowhere in the text: found by the photo alone",
                      None, 0)]
    why = index.authorised(mark, listing)
    if why:
        kind = Kind.AUTHORISED
        reasons.append(Reason("authorised", f"listed by {listing.seller!r}: {why}", listing.seller, 0))
    return scored(index, listing.listing_id, mark, kind, reasons, {"photo"},
                  hit.official.product_id)


def _with_image_text(index: MarkIndex, listing: ListingText, results: list[Match],
                     alertable_only: bool) -> list[Match]:
    """Text read in the listing's photos, matched as a title of its own: a mark found only there
    is a finding whose reasons say in which photo; one also in the text gains a reason."""
    from dataclasses import replace

    by_key = {(m.mark_id, m.kind, m.product_id): i for i, m in enumerate(results)}
    out = list(results)
    lines = [(ref, text, ln) for ref, text in listing.image_text
             for ln in text.splitlines() if ln.strip()]
    for ref, text, line in lines:
        # each line read is a title of its own: a label, a slogan, a watermark
        snippet = " ".join(text.split())[:120]
        sub = replace(listing, title=line, description="", photos=(), image_text=())
        for m in score_listing(index, sub, alertable_only):
            seen = f'text read in {ref}: "{snippet}"'
            key = (m.mark_id, m.kind, m.product_id)
            if key in by_key:
                i = by_key[key]
                if len(out[i].reasons) < 10 and "in_image" not in {r.check for r in out[i].reasons}:
                    out[i] = replace(out[i], reasons=(*out[i].reasons,
                                                      Reason("in_image", seen, ref, 0)))
                continue
            first, *rest = m.reasons
            reasons = [Reason(first.check, f"in {ref}: {first.detail}", first.span, 0),
                       Reason("in_image", seen, ref, 0), *rest]
            mark = index.marks[index._mark_by_id[m.mark_id]]
            rescored = scored(index, listing.listing_id, mark, m.kind, reasons,
                              set(m.features) | {"in_image"}, m.product_id)
            if rescored is not None:
                by_key[key] = len(out)
                out.append(rescored)
    return out
