"""The mark index: built once from the registry, then asked about one listing at a time.

The hot path never loops over every mark. Each check looks its candidates up in a hash table:

====================  ===========================================================================
check                 table (key -> registered forms)
====================  ===========================================================================
exact                 folded compact form ("kestreltrail")
confusable/leetspeak  loose form (UTS #39 skeleton + look-alikes + leetspeak)
/lookalike/...
typo                  deletion neighbourhood of the fuzzy key (SymSpell): every string reachable
                      by deleting up to k characters, k from the mark's length; RapidFuzz then
                      verifies the few candidates
phonetic              Metaphone key
fused                 the same exact/loose tables, probed with the substrings of a long word
word_substitution     each word of a multi-word mark
alias (Chinese, Thai, first two characters of each alias written without spaces; pinyin of the
kana)                 first two syllables of a Chinese one
transliteration       (script, first two letters of the consonant skeleton) of each coined Latin
(Thai, kana)          mark, as Thai and Japanese would borrow it; RapidFuzz then compares
product               compact model numbers, compact product names, distinctive name words
====================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jellyfish
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from matcher.candidates import Candidate, Token, candidates, tokens
from matcher.candidates import may_join as _may_join
from matcher.crossscript import (
    kana_roman,
    kana_skeleton,
    latin_skeleton,
    pinyin_of,
    respelled,
    thai_consonant_letters,
    thai_roman_words,
    thai_skeleton_of_roman,
)
from matcher.data_files import dictionary_words, known_brands, korean_particles
from matcher.forms import Hit, Variant
from matcher.forms import add as _add
from matcher.forms import get as _get
from matcher.normalise import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    bound,
    compact,
    fold,
    fuzzy_key,
    has_digraph,
    is_han,
    is_run_char,
    loose,
    normalise_seller,
    word_tokens,
)
from matcher.segment import is_common_word, is_thai_word, script_of, word_breaks, words_of
from matcher.substitution import SubstitutionTable
from matcher.types import (
    AuthorisedSeller,
    ListingText,
    MarkRecord,
    Match,
    MatcherConfig,
    OfficialPhoto,
    ProductRecord,
)

MIN_FUSED_LEN = 4  # a mark shorter than this is never looked for inside a longer word
TOKEN_CACHE_SIZE = 200_000  # one-word candidates remembered: marketplace titles repeat words
MAX_PHRASE = 6
MAX_THAI_SPAN = 3  # Thai words read together as one borrowed name (an unknown name falls apart)
MIN_ROMAN_RATIO = 60  # RapidFuzz ratio of a romanised Thai or kana word and a respelled mark


def allowed_edits(length: int) -> int:
    """Typos a mark tolerates anywhere, by its length in letters: up to 4 letters none (only
    doubled letters and mirror letters), 5-6 letters one, 7 or more two (a keyboard neighbour
    and a transposition: "NTVEAR" for NETGEAR)."""
    if length <= 4:
        return 0
    if length <= 6:
        return 1
    return 2


MAX_STRETCH = 2  # the most edits ``stretch_edits`` allows, at any length


def stretch_edits(length: int) -> int:
    """Typos a mark tolerates where the rest of the listing supports it (goods in the mark's
    classes, a cue phrase, a price far below retail): one more for marks of 4 to 6 letters
    ("Pumka" for PUMA in a clothing listing). Never on dictionary words or other brands: those
    candidates are not looked up at all."""
    if length <= 3:
        return 0
    if length <= 6:
        return allowed_edits(length) + 1
    return allowed_edits(length)


def deletes(word: str, depth: int) -> set[str]:
    """All strings reachable from ``word`` by deleting up to ``depth`` characters (incl. itself)."""
    out = {word}
    frontier = out
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier if len(w) > 1 for i in range(len(w))}
        out = out | frontier
    return out


class MarkIndex:
    """Registered marks, products and authorised sellers, ready to match listings."""

    def __init__(
        self,
        marks: Iterable[MarkRecord],
        products: Iterable[ProductRecord] = (),
        sellers: Iterable[AuthorisedSeller] = (),
        config: MatcherConfig | None = None,
        photos: Iterable[OfficialPhoto] = (),
    ) -> None:
        from matcher.photos import PhotoIndex

        self.config = config or MatcherConfig()
        self.marks: list[MarkRecord] = list(marks)
        self.products: list[ProductRecord] = list(products)
        self.variants: list[Variant] = []
        self._words = dictionary_words()
        self._brands = known_brands()
        self._by_key: dict[str, object] = {}
        self._by_loose: dict[str, object] = {}
        self._by_phon: dict[str, object] = {}
        self._substitutions = SubstitutionTable()  # words of multi-word marks
        self._deletes: dict[str, object] = {}
        self._han_bigram: dict[str, object] = {}
        self._han_py: dict[tuple[str, str], object] = {}
        self._by_skel: dict[tuple[str, str], object] | None = None  # built on first use
        self._thai_forms: set[str] = set()  # registered Thai forms: newmm keeps them whole
        self._hangul: dict[str, object] = {}  # first two syllables of Korean forms -> vid
        self._key_lengths: set[int] = set()
        self._max_fuzzy_len = 0
        self.max_phrase = 2  # two-word candidates also find a one-word mark split by a space
        self._mark_by_id: dict[str, int] = {}
        self._dictionary_marks: dict[int, bool] = {}
        self._short_marks: dict[int, bool] = {}
        self._tok_info: dict[str, tuple] = {}  # word -> what it finds on its own (``_word``)
        self._cand_cache: dict[tuple, tuple[Hit, ...]] = {}  # joined candidates, the same way
        self._run_cache: dict[str, tuple[Hit, ...]] = {}  # runs of Chinese, Thai, kana
        self._phrase_starts: set[str] = set()  # first words of multi-word marks and products
        for idx, mark in enumerate(self.marks):
            self._mark_by_id[mark.mark_id] = idx
            forms = [(mark.mark, "mark")] + [(a, "alias") for a in mark.aliases]
            seen: set[tuple[str, bool]] = set()
            for text, source in forms:
                self._add_variant(idx, text, source, seen)
            for text, _ in list(forms):  # a registered Chinese form also stands for its pinyin
                han = "".join(ch for ch in fold(text) if is_han(ch))
                if han and len(han) == len(compact(fold(text))):
                    py = pinyin_of(han)
                    if all(py):
                        self._add_variant(idx, " ".join(py), "romanised", seen, origin=text)
                    # a long transliteration is shortened to its first two characters (阿迪 for
                    # 阿迪达斯), unless those are an ordinary word
                    if len(han) >= 4 and not is_common_word(han[:2]):
                        self._add_variant(idx, han[:2], "short", seen, origin=text)
        self.thai_forms = frozenset(self._thai_forms)
        self._build_products()
        self._build_sellers(sellers)
        self._product_by_id = {p.product_id: i for i, p in enumerate(self.products)}
        self.photo_index = PhotoIndex(
            (ph for ph in photos if ph.product_id in self._product_by_id),
            phash_max=self.config.photo_phash_max, dhash_max=self.config.photo_dhash_max,
        )

    # ----- building -----

    def _add_variant(self, idx: int, text: str, source: str, seen: set[tuple[str, bool]],
                     origin: str = "") -> None:
        folded = fold(text)
        key = compact(folded)
        multi = len(word_tokens(folded)) > 1  # "Mo Lang" also matches as two words, "MOLANG" not
        if not key or (key, multi) in seen:
            return
        seen.add((key, multi))
        vid = len(self.variants)
        run = any(is_run_char(ch) for ch in key)
        v = Variant(vid, idx, origin or text, source, key, tuple(word_tokens(folded)), run)
        self.variants.append(v)
        if run:
            if len(key) < 2 or not all(is_run_char(ch) for ch in key):
                _add(self._by_key, key, vid)
                return
            _add(self._han_bigram, key[:2], vid)
            if any(script_of(ch) == "thai" for ch in key):
                self._thai_forms.add(key)
            v.pinyin = pinyin_of(key)
            if all(v.pinyin):
                _add(self._han_py, v.pinyin[:2], vid)
            return
        if len(key) >= 2 and all(map(_is_hangul, key)):
            _add(self._hangul, key[:2], vid)
        v.loose = loose(key)
        v.fz = fuzzy_key(v.loose)
        _add(self._by_key, key, vid)
        _add(self._by_loose, v.loose, vid)
        if has_digraph(key):  # "cl" in the mark may also be read as "c" + "l"
            _add(self._by_loose, loose(key, digraphs=False), vid)
            v.loose2 = loose(key, digraphs=False)
            v.fz2 = fuzzy_key(v.loose2)
        self._key_lengths.add(len(key))
        if len(v.loose) != len(key):
            self._key_lengths.add(len(v.loose))
        if len(v.words) > 1:
            self.max_phrase = max(self.max_phrase, min(len(v.words), MAX_PHRASE))
        if len(v.words) > 1:  # phrases start at the first word, or a piece of it ("Ver.o Moda")
            for w in (v.words[0], loose(v.words[0])):
                self._phrase_starts.update(w[:i] for i in range(1, len(w) + 1))
            v.loose_words = tuple(loose(w) for w in v.words)
            self._substitutions.add(vid, v.loose_words)
        self._max_fuzzy_len = max(self._max_fuzzy_len, len(v.fz) + 2)
        depth = stretch_edits(len(key))
        if len(key) >= 4 and depth:
            for fz in {v.fz, v.fz2} - {""}:
                for d in deletes(fz, depth):
                    _add(self._deletes, d, vid)
        if key.isascii() and key.isalpha() and len(key) >= 4:
            v.phon = jellyfish.metaphone(key)
            if len(v.phon) >= 2:
                _add(self._by_phon, v.phon, vid)

    def _build_products(self) -> None:
        self._models: dict[str, object] = {}
        self._product_names: dict[str, object] = {}
        self._product_words: dict[str, object] = {}
        self._retail_usd: dict[int, float] = {}
        priced: dict[str, list[tuple[str, float]]] = {}  # owner -> (product name's words, USD)
        fx = dict(self.config.fx_per_usd)
        for pidx, p in enumerate(self.products):
            for model in p.model_numbers:
                key = compact(fold(model))
                # "KT-2201", "AS-MINI": a code, not an ordinary word ("MINI" alone would be)
                if len(key) >= 4 and (any(ch.isdigit() for ch in key) or not self.is_common(key)):
                    _add(self._models, key, pidx)
            name_words = word_tokens(fold(p.name))
            if len(name_words) > 1:
                self._phrase_starts.add(name_words[0])
            for model in p.model_numbers:
                parts = word_tokens(fold(model))
                if len(parts) > 1:
                    self._phrase_starts.add(parts[0])
            if name_words:
                _add(self._product_names, "".join(name_words), pidx)
                if len(name_words) > 1:
                    self.max_phrase = max(self.max_phrase, min(len(name_words), MAX_PHRASE))
            midx = self._mark_by_id.get(p.mark_id)
            mark_words: set[str] = set()
            if midx is not None:
                m = self.marks[midx]
                for form in (m.mark, *m.aliases):
                    mark_words.update(word_tokens(fold(form)))
            for w in name_words:
                if (len(w) >= 5 and w not in mark_words and w not in self._words
                        and not w.isdigit() and not all(is_run_char(ch) for ch in w)):
                    _add(self._product_words, w, pidx)
            if midx is not None and p.retail_price is not None and p.currency in fx:
                usd = float(p.retail_price) / fx[p.currency]
                self._retail_usd[midx] = min(self._retail_usd.get(midx, usd), usd)
                priced.setdefault(self.marks[midx].owner_id, []).append((" ".join(name_words), usd))
        # a mark with no product of its own is priced by its owner's products whose name carries
        # it ("Kestrel Trail Runner 2", registered under KESTREL, is sold as KESTREL TRAIL)
        for midx, m in enumerate(self.marks):
            if midx in self._retail_usd:
                continue
            words = " ".join(word_tokens(fold(m.mark)))
            named = [usd for name, usd in priced.get(m.owner_id, ())
                     if words and f" {words} " in f" {name} "]
            if named:
                self._retail_usd[midx] = min(named)

    def _build_sellers(self, sellers: Iterable[AuthorisedSeller]) -> None:
        self._sellers: dict[str, list[tuple[str, str | None]]] = {}
        for s in sellers:
            self._sellers.setdefault(s.owner_id, []).append((normalise_seller(s.seller), s.marketplace))
        self._owner_names: dict[str, set[str]] = {}
        for m in self.marks:
            if m.owner_id and m.owner:
                self._owner_names.setdefault(m.owner_id, set()).add(normalise_seller(m.owner))

    # ----- matching -----

    def match(self, listing: ListingText, *, alertable_only: bool = False) -> list[Match]:
        """Every finding for one listing (alertable or not; with ``alertable_only``, only those
        that can become alerts, which is cheaper), best first."""
        from matcher.scoring import score_listing

        return score_listing(self, listing, alertable_only)

    def match_domain(self, host: str) -> list[Match]:
        """Findings for a host name or domain label: combosquats and typosquats of the marks."""
        from matcher.domains import match_domain

        return match_domain(self, host)

    def match_many(self, listings: Iterable[ListingText], *, alertable_only: bool = False
                   ) -> Iterator[tuple[ListingText, list[Match]]]:
        for listing in listings:
            yield listing, self.match(listing, alertable_only=alertable_only)

    def is_word(self, word: str) -> bool:
        """An ordinary dictionary word."""
        return word in self._words

    def is_common(self, word: str) -> bool:
        """A dictionary word or a real brand: not a typo, disguise or sound-alike of a mark."""
        return word in self._words or word in self._brands

    def is_brand(self, word: str) -> bool:
        """A real brand or a registered mark (one word, folded compact form)."""
        return word in self._brands or word in self._by_key

    def is_dictionary_mark(self, mark_idx: int) -> bool:
        """The mark is an ordinary word (or words): KESTREL, POLO, PARK AVENUE; not VOLTARIS, and
        not FISHER-PRICE (hyphenated words make one coined name)."""
        cached = self._dictionary_marks.get(mark_idx)
        if cached is None:
            words = fold(self.marks[mark_idx].mark).split()
            keys = [compact(w) for w in words]
            cached = bool(keys) and all(k and k in self._words for k in keys)
            self._dictionary_marks[mark_idx] = cached
        return cached

    def is_short_mark(self, mark_idx: int) -> bool:
        """The mark has four letters or fewer (compact folded form)."""
        cached = self._short_marks.get(mark_idx)
        if cached is None:
            cached = self._short_marks[mark_idx] = len(compact(fold(self.marks[mark_idx].mark))) <= 4
        return cached

    def authorised(self, mark: MarkRecord, listing: ListingText) -> str | None:
        """The authorised seller entry (or own store) that covers this listing, if any."""
        if not listing.seller:
            return None
        name = normalise_seller(listing.seller)
        if not name:
            return None
        for seller, market in self._sellers.get(mark.owner_id, ()):  # owner_id "" matches ""
            if seller == name and (market is None or market == listing.marketplace):
                return "authorised seller"
        if name in self._owner_names.get(mark.owner_id, ()):  # the rights holder's own store
            return "the rights holder's own store"
        return None

    def retail_usd(self, mark_idx: int) -> float | None:
        return self._retail_usd.get(mark_idx)

    # --- the checks: each returns hits for one listing text ---

    def find_hits(self, folded: str) -> tuple[list[Hit], list[tuple[int, str, int, int, int]], list[Token]]:
        """Hits on registered marks, and product hits (product idx, check, start, end, base).

        One pass over the words first: what a word finds on its own is remembered per word
        (``_word``), so a title of known words costs a few look-ups. Only then the candidates
        that join words (punctuation, spaced letters, phrases, one-space splits)."""
        toks = tokens(folded)
        hits: list[Hit] = []
        products: list[tuple[int, str, int, int, int]] = []
        common: list[bool] = []
        ltoks: list[str] = []
        starts: set[int] = set()
        anchors = False
        runs = False
        info = self._tok_info
        for i, t in enumerate(toks):
            if t.run:
                runs = True
                common.append(False)
                ltoks.append(t.text)
                continue
            rec = info.get(t.text)
            if rec is None:
                rec = self._word(t, toks, i)
            common.append(rec[0])
            ltoks.append(rec[1])
            for h in rec[2]:
                hits.append(h if h.start == t.start else h._replace_span(t.start, t.end))
            if rec[3]:
                starts.add(i)
            anchors = anchors or rec[4]
            for pidx, check, base in rec[5]:
                products.append((pidx, check, t.start, t.end, base))
        pairs = {i for i in range(len(toks) - 1) if not (common[i] and common[i + 1])}
        if starts or pairs or _may_join(folded, toks):
            cands = candidates(folded, toks, self.max_phrase, starts, pairs, words=False)
            cache = self._cand_cache
            for c in cands:
                # what a joined candidate finds depends only on its kind, its key and its
                # stretch of text (words, punctuation, spaces): remembered like single words
                key = (c.kind, c.key, folded[c.start : c.end])
                found = cache.get(key)
                if found is None:
                    found = tuple(self._latin_hits(c, toks, common, ltoks))
                    if len(cache) >= TOKEN_CACHE_SIZE:
                        cache.clear()
                    cache[key] = found
                for h in found:
                    hits.append(h if h.start == c.start else h._replace_span(c.start, c.end))
            if self.products:
                products.extend(self._product_hits(cands))
        if anchors:
            hits.extend(self._substitutions.hits(self.variants, toks, folded, ltoks))
        if runs:
            for t in toks:
                if t.run:
                    found = self._run_cache.get(t.text)
                    if found is None:  # what a run finds depends only on its text
                        found = tuple(self._han_hits(Token(t.text, 0, len(t.text), True)))
                        if len(self._run_cache) >= TOKEN_CACHE_SIZE:
                            self._run_cache.clear()
                        self._run_cache[t.text] = found
                    for h in found:
                        hits.append(h._replace_span(t.start + h.start, t.start + h.end))
        if len(products) > 1:  # one finding per product and check
            unique: dict[tuple[int, str], tuple] = {}
            for p in products:
                unique.setdefault((p[0], p[1]), p)
            products = list(unique.values())
        return hits, products, toks

    def _word(self, t: Token, toks: list[Token], i: int) -> tuple:
        """What one word finds on its own, remembered: (common, loose form, hits, may start a
        phrase, anchors a substitution, product hits)."""
        text = t.text
        common = self.is_common(text)
        lt = loose(text)
        c = Candidate(text, t.start, t.end, "token", 1, i)
        found = tuple(self._latin_hits(c, toks, [common] * len(toks), [lt] * len(toks)))
        if not found and self._hangul and _is_hangul(text[0]):
            found = tuple(self._hangul_hits(c))
        anchor = self._substitutions.anchors(lt)
        prods = tuple((pidx, check, base) for pidx, check, _s, _e, base in self._product_hits([c]))
        rec = (common, lt, found, text in self._phrase_starts or lt in self._phrase_starts,
               anchor, prods)
        if len(self._tok_info) >= TOKEN_CACHE_SIZE:
            self._tok_info.clear()
        self._tok_info[text] = rec
        return rec

    def _hangul_hits(self, c: Candidate) -> list[Hit]:
        """A registered Korean form opening a Korean word (eojeol): followed by nothing, by a
        particle ("나이키의", of Nike) or by another noun of two syllables or more, as Korean
        writes compounds ("나이키운동화", Nike sneakers); never with one other syllable after
        it ("삼성동" is a district of Seoul, not SAMSUNG), nor inside a word."""
        out: list[Hit] = []
        text = c.key
        for vid in _get(self._hangul, text[:2]):
            v = self.variants[vid]
            if not text.startswith(v.key) or len(text) == len(v.key):
                continue  # a whole word is an exact match, found already
            rest = text[len(v.key):]
            if rest in korean_particles() or (len(rest) >= 2 and all(map(_is_hangul, rest))
                                               and rest[:2] not in korean_particles()):
                out.append(Hit(vid, "alias", c.start, c.end, 72,
                               f'registered Korean form "{v.text}" opening the word'))
        return out

    def _cand_common(self, c: Candidate, toks: list[Token], common: list[bool]) -> bool:
        if c.kind == "token":
            return common[c.first]
        if c.kind == "phrase":
            return all(common[c.first : c.first + c.ntok])
        return self.is_common(c.key)

    def _latin_hits(self, c: Candidate, toks: list[Token], common: list[bool],
                    ltoks: list[str]) -> list[Hit]:
        out: list[Hit] = []
        key = c.key
        phrase = c.kind == "phrase"
        sep = c.kind in ("joined", "spaced")
        found: set[int] = set()
        # one space inside a one-word mark ("Raym ond", "S amsung"): two words joined, exact or
        # look-alike only, and not two ordinary words ("Red Mi" is not REDMI)
        split = (phrase and c.ntok == 2 and c.end - c.start == len(key) + 1
                 and any(not common[i] and len(toks[i].text) >= 2 for i in (c.first, c.first + 1)))
        for vid in _get(self._by_key, key):
            v = self.variants[vid]
            if phrase and len(v.words) < 2 and not split:
                continue
            if v.source == "romanised" and (c.kind == "token" and self.is_word(key)):
                continue  # "lining" is a word before it is the pinyin of 李宁
            found.add(vid)
            check = "split" if phrase and len(v.words) < 2 else "separators" if sep else "exact"
            out.append(Hit(vid, check, c.start, c.end, 75, f'"{v.text}" written out',
                           sep or check == "split"))
        if key.isdigit() or len(key) < 3:
            return out
        is_common = self._cand_common(c, toks, common)
        if is_common:
            return out
        lkey = ltoks[c.first] if c.kind == "token" else loose(key)
        lkeys = loose_forms(key, lkey)
        for vid in [x for lk in lkeys for x in _get(self._by_loose, lk)]:
            if vid in found:
                continue
            v = self.variants[vid]
            if phrase and len(v.words) < 2 and not split:
                continue
            found.add(vid)
            check = "split" if phrase and len(v.words) < 2 else "separators" if sep else "loose"
            out.append(Hit(vid, check, c.start, c.end, 75,
                           f'look-alike spelling of "{v.text}"', True))
        if found:
            # a registered form itself: not a typo of another mark, and fused only with the
            # same rights holder's other marks ("KestrelTrail" is KESTREL TRAIL and KESTREL)
            if not phrase and len(key) > MIN_FUSED_LEN:
                owners = {self.marks[self.variants[v].mark_idx].owner_id for v in found}
                out.extend(h for h in self._fused_hits(c, key, lkey, set(found), toks)
                           if self.marks[self.variants[h.vid].mark_idx].owner_id in owners)
            return out
        if len(key) >= 3 and not phrase and len(key) <= self._max_fuzzy_len:
            # phrases are left to word_substitution: their typos are per word
            fzs = {fuzzy_key(lk): lk for lk in lkeys}
            for fz, lk in fzs.items():
                for vid in self._near(fz):
                    if vid in found:
                        continue
                    hit = self._verify_typo(self.variants[vid], lk, fz, c)
                    if hit:
                        found.add(vid)
                        out.append(hit)
            if key.isascii() and key.isalpha():
                phon = jellyfish.metaphone(key)
                for vid in _get(self._by_phon, phon):
                    if vid in found:
                        continue
                    v = self.variants[vid]
                    if phrase and len(v.words) < 2:
                        continue
                    if fuzz.ratio(key, v.key) >= 70:
                        found.add(vid)
                        out.append(Hit(vid, "phonetic", c.start, c.end, 62,
                                       f'sounds like "{v.text}" ({phon})'))
        if not phrase and len(key) > MIN_FUSED_LEN:
            out.extend(self._fused_hits(c, key, lkey, found, toks))
        return out

    def _near(self, fz: str) -> list[int]:
        """Registered forms whose fuzzy key (or its letter-pair reading) is at most
        ``MAX_STRETCH`` edits (OSA) from ``fz``, in the order the deletion table gives them: the
        candidates of ``typo_distance``, which allows no more. The deletion neighbourhoods
        (depth 2 on each side) also bring forms up to four edits away, the more of them the
        larger the registry: RapidFuzz's ``cdist`` drops those in one call, rather than
        ``typo_distance`` one by one."""
        vids: list[int] = []
        seen: set[int] = set()
        for d in deletes(fz, 2 if len(fz) >= 4 else 1):
            for vid in _get(self._deletes, d):
                if vid not in seen:
                    seen.add(vid)
                    vids.append(vid)
        if len(vids) < 2:
            return vids
        variants = self.variants
        keys = [variants[v].fz for v in vids] + [variants[v].fz2 for v in vids]
        dist = process.cdist([fz], keys, scorer=OSA.distance, score_cutoff=MAX_STRETCH)[0].tolist()
        n = len(vids)
        return [v for k, v in enumerate(vids)
                if dist[k] <= MAX_STRETCH or (keys[n + k] and dist[n + k] <= MAX_STRETCH)]

    def _verify_typo(self, v: Variant, lkey: str, fz: str, c: Candidate) -> Hit | None:
        dist = typo_distance(v, lkey, fz)
        if dist is None:
            return None
        stretch = dist > allowed_edits(len(v.key))
        if dist == 0:
            return Hit(v.vid, "typo", c.start, c.end, 72,
                       f'"{v.text}" with doubled or mirrored letters', False)
        return Hit(v.vid, "typo", c.start, c.end, 68 if dist == 1 else 64,
                   f'{dist} typo{"s" if dist > 1 else ""} away from "{v.text}"', False, stretch)

    def _fused_hits(self, c: Candidate, key: str, lkey: str, found: set[int],
                    toks: list[Token]) -> list[Hit]:
        out: list[Hit] = []
        # words joined across punctuation: the mark must be whole words of them ("paypal" in
        # "paypal-merchant"), never cut through one ("Boro-Silicate" is not BOROSIL)
        bounds: set[int] | None = None
        if c.ntok > 1:
            bounds, at = {0}, 0
            for t in toks[c.first : c.first + c.ntok]:
                at += len(t.text)
                bounds.add(at)
        for form, table in ((key, self._by_key), (lkey, self._by_loose)):
            if form is lkey and lkey == key:
                break
            n = len(form)
            for length in self._key_lengths:
                if length < MIN_FUSED_LEN or length >= n:
                    continue
                for s in range(n - length + 1):
                    if bounds is not None and (s not in bounds or s + length not in bounds):
                        continue
                    for vid in _get(table, form[s : s + length]):
                        if vid in found:
                            continue
                        v = self.variants[vid]
                        rest = [form[:s], form[s + length :]]
                        if rest[1] in DERIVED_ENDINGS and not rest[0]:
                            continue  # "Himalayan": a word made from the name
                        strong = all(self._affix_ok(r, len(v.key)) for r in rest)
                        if not strong and len(v.key) < 6:
                            continue
                        found.add(vid)
                        base = 70 if strong else 62
                        out.append(Hit(vid, "fused", c.start, c.end, base,
                                       f'"{v.text}" fused into a longer word', form is lkey))
        return out

    def _affix_ok(self, rest: str, mark_len: int) -> bool:
        """What stands fused to a mark is harmless: nothing, digits, an ordinary word, or (for
        marks of 5 letters or more) one or two letters ("Kestrel2", "iKestrel")."""
        return (not rest or rest.isdigit() or self.is_common(rest)
                or (len(rest) <= 2 and mark_len >= 5))

    def _han_hits(self, t: Token) -> list[Hit]:
        out: list[Hit] = []
        run = t.text
        found: set[tuple[int, int]] = set()
        breaks: frozenset[int] | None = None

        def whole_word(i: int, n: int) -> bool:
            """A form must be a word of the run, not part of one (小米 in 小米粥): for Chinese
            a short form of two characters; for Thai every form (Thai names are written
            inside the words around them); for kana the form must start a word, and end one
            unless it is a katakana name of three or more (ナイキスニーカー: katakana compounds
            are written without a break)."""
            nonlocal breaks
            if len(run) == n:
                return True
            script = script_of(run[i])
            if script == "han" and n > 2:
                return True
            if breaks is None:
                breaks = word_breaks(run, self.thai_forms)
            if i not in breaks:
                return False
            return i + n in breaks or (script == "katakana" and n >= 3)

        for i in range(len(run) - 1):
            for vid in _get(self._han_bigram, run[i : i + 2]):
                v = self.variants[vid]
                if run.startswith(v.key, i) and whole_word(i, len(v.key)):
                    found.add((vid, i))
                    if v.source == "short":
                        out.append(Hit(vid, "short_form", t.start + i, t.start + i + len(v.key), 68,
                                       f'the first characters of "{v.text}"'))
                        continue
                    out.append(Hit(vid, "alias" if v.source == "alias" else "exact",
                                   t.start + i, t.start + i + len(v.key), 75,
                                   f'registered {_SCRIPT_NAMES[script_of(v.key[0])]} form "{v.text}"'))
        if any(script_of(ch) in ("thai", "katakana", "hiragana") for ch in run) and self._skeletons():
            out.extend(self._skeleton_hits(run, {self.variants[v].mark_idx for v, _ in found}))
        if not _has_han(run) or not (self._han_py or self._by_phon or self._by_key):
            return out
        py = pinyin_of(run)
        for i in range(len(run) - 1):
            for vid in _get(self._han_py, py[i : i + 2]):
                v = self.variants[vid]
                n = len(v.pinyin)
                if ((vid, i) in found or py[i : i + n] != v.pinyin or v.source == "short"
                        or not whole_word(i, n)):
                    continue
                found.add((vid, i))
                out.append(Hit(vid, "homophone", t.start + i, t.start + i + n, 70,
                               f'reads "{" ".join(v.pinyin)}", like "{v.text}"'))
        # transliteration of a Latin mark: the pinyin of 2..6 characters spells or sounds like it
        for i in range(len(run) - 1):
            for n in range(2, min(6, len(run) - i) + 1):
                syl = py[i : i + n]
                if not all(syl):
                    break
                s = "".join(syl)
                vids = [x for x in _get(self._by_key, s) if not self.variants[x].run]
                check = "transliteration"
                if not vids and len(s) >= 4:
                    vids = [x for x in _get(self._by_phon, jellyfish.metaphone(s))
                            if fuzz.ratio(s, self.variants[x].key) >= 75]
                for vid in vids:
                    v = self.variants[vid]
                    same_mark = any(self.variants[f[0]].mark_idx == v.mark_idx and f[1] <= i
                                    for f in found)
                    if same_mark or v.source == "romanised" or not whole_word(i, n):
                        continue
                    found.add((vid, i))
                    out.append(Hit(vid, check, t.start + i, t.start + i + n, 64,
                                   f'pinyin "{" ".join(syl)}" transliterates "{v.text}"'))
        return out

    def _skeletons(self) -> dict[tuple[str, str], object]:
        """(script, first two skeleton letters) -> coined Latin marks, built when the first
        Thai or kana text comes (a registry that never meets one never pays for it)."""
        table = self._by_skel
        if table is None:
            table = {}
            for v in self.variants:
                key = v.key
                if v.source in ("mark", "alias") and key.isascii() and key.isalpha() and len(key) >= 3:
                    # a Latin mark or alias may be borrowed into Thai or katakana (ไนกี้, ナイキ).
                    # An English word is only looked for in Thai, where a word of the Thai
                    # dictionary is passed over (แอปเปิ้ล is an apple; เคสเตรล is KESTREL)
                    v.skel = (latin_skeleton(key, "th"),
                              "" if self.is_word(key) else latin_skeleton(key, "ja"))
                    for script, sk in zip(("th", "ja"), v.skel, strict=True):
                        if len(sk) >= 2:
                            _add(table, (script, sk[:2]), v.vid)
            self._by_skel = table  # one assignment: a concurrent first use builds the same
        return table

    def _skeleton_hits(self, run: str, marks_found: set[int]) -> list[Hit]:
        """Unregistered Thai or kana spellings of a coined Latin mark: one to three Thai words
        (an unknown name falls apart under newmm: ไน + กี้), or a whole katakana word, whose
        romanised consonant skeleton agrees with the mark's and whose romanisation is close to
        the mark respelled (RapidFuzz). A word of the Thai dictionary is a borrowing only when
        its skeleton has three consonants or more (the dictionary has อาดิดาส and ซัมซุง; นก
        "nok" is a bird, not NIKE)."""
        out: list[Hit] = []
        words = words_of(run, self.thai_forms)
        spans: list[tuple[str, int, int, tuple[str, ...]]] = []
        for k, (at, w) in enumerate(words):
            script = script_of(w[0])
            if script == "katakana":
                spans.append(("ja", at, at + len(w), (w,)))
            elif script == "thai":
                end = at
                for j in range(k, min(len(words), k + MAX_THAI_SPAN)):
                    nxt_at, nxt = words[j]
                    if nxt_at != end or script_of(nxt[0]) != "thai":
                        break
                    end = nxt_at + len(nxt)
                    spans.append(("th", at, end, tuple(x for _, x in words[k : j + 1])))
        taken: list[tuple[int, int]] = []
        for script, a, b, parts in spans:
            text = run[a:b]
            if len(text) < 2 or any(x < b and a < y for x, y in taken):
                continue
            if script == "th":
                # a skeleton has at most one consonant per consonant letter: most ordinary
                # words are passed over before anything is romanised
                letters = thai_consonant_letters(text)
                if letters < 2 or (letters < 3 and is_thai_word(text)):
                    continue
                roman = thai_roman_words(parts)
                skel = thai_skeleton_of_roman(roman)
                ordinary = is_thai_word(text)
            else:
                roman, skel = kana_roman(text), kana_skeleton(text)
                ordinary = False
            if len(skel) < 2 or (ordinary and len(skel) < 3):
                continue
            mine = respelled(roman, script, latin=False)
            slot = 0 if script == "th" else 1
            for vid in _get(self._skeletons(), (script, skel[:2])):
                v = self.variants[vid]
                if v.mark_idx in marks_found:
                    continue
                vs = v.skel[slot]
                if (vs != skel if min(len(vs), len(skel)) <= 3 else fuzz.ratio(vs, skel) < 80):
                    continue
                if ordinary and self.is_word(v.key):
                    continue  # a Thai word for an English-word mark: the word itself
                # vowels tell little once four consonants agree ("khetteron" for KESTREL)
                need = MIN_ROMAN_RATIO if len(vs) <= 3 or vs != skel else MIN_ROMAN_RATIO - 10
                if fuzz.ratio(mine, respelled(v.key, script, latin=True)) < need:
                    continue
                marks_found.add(v.mark_idx)
                taken.append((a, b))
                lang = "Thai" if script == "th" else "katakana"
                out.append(Hit(vid, "transliteration", a, b, 64,
                               f'{lang} spelling of "{v.text}" (romanised "{roman}")'))
        return out

    def _product_hits(self, cands: list[Candidate]) -> list[tuple[int, str, int, int, int]]:
        out: list[tuple[int, str, int, int, int]] = []
        if not self.products:
            return out
        for c in cands:
            for pidx in _get(self._models, c.key):
                out.append((pidx, "model_number", c.start, c.end, 70))
            for pidx in _get(self._product_names, c.key):
                out.append((pidx, "product_name", c.start, c.end, 70))
            if c.kind == "token":
                for pidx in _get(self._product_words, c.key):
                    out.append((pidx, "product_word", c.start, c.end, 58))
        return out


_SCRIPT_NAMES = {"han": "Chinese", "thai": "Thai", "katakana": "Japanese", "hiragana": "Japanese",
                 "other": "Lao"}


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def _has_han(run: str) -> bool:
    return any(is_han(ch) for ch in run)


def loose_forms(key: str, lkey: str) -> tuple[str, ...]:
    """The loose forms of a folded candidate: letter pairs read as one letter and one by one
    ("GUCCl"), and "7" read as "t" and as "l" (leetspeak uses it for both)."""
    forms = [lkey]
    if has_digraph(key):
        forms.append(loose(key, digraphs=False))
    if "7" in key:
        forms.extend(loose(f.replace("7", "l")) for f in (key,))
    return tuple(dict.fromkeys(forms))


# endings that make an adjective or a demonym of a name: "Himalayan" is not a typo of HIMALAYA
DERIVED_ENDINGS = ("n", "an", "ian", "ese", "ish", "ean")


def typo_distance(v: Variant, lkey: str, fz: str, raw_limit: bool = True) -> int | None:
    """Edits between a candidate (loose form ``lkey``, fuzzy key ``fz``) and a registered form,
    if within the stretched allowance; None otherwise. Short marks keep their first letter."""
    n = len(v.key)
    if n < 7 and fz[:1] != v.fz[:1] and fz[:1] != (v.fz2 or v.fz)[:1]:
        return None  # short marks: typosquats keep the first letter
    vl = v.loose
    if lkey.startswith(vl) and (lkey[len(vl):] in DERIVED_ENDINGS or len(lkey) >= len(vl) + 2):
        return None  # a word made from the name, or the whole mark plus letters (a fused form)
    if len(lkey) >= len(vl) + 2 and lkey.endswith(vl):
        return None
    k = stretch_edits(n)
    best = None
    for vfz in (v.fz, v.fz2):
        if not vfz or abs(len(vfz) - len(fz)) > k:
            continue
        dist = OSA.distance(fz, vfz, score_cutoff=k)
        if dist <= k and (best is None or dist < best):
            best = dist
    if best is None:
        return None
    raw = OSA.distance(lkey, vl)
    if v.loose2:
        raw = min(raw, OSA.distance(lkey, v.loose2))
    if raw == 0 or (raw_limit and raw > k + 1):
        return None
    return best


def prepare_text(listing: ListingText) -> tuple[str, str]:
    """The bounded original text (title, newline, description) and its folded form."""
    text = bound(listing.title, MAX_TITLE_CHARS)
    desc = bound(listing.description, MAX_DESCRIPTION_CHARS)
    if desc:
        text = text + "\n" + desc
    return text, fold(text)


def build_index(
    marks: Iterable[MarkRecord],
    products: Iterable[ProductRecord] = (),
    sellers: Iterable[AuthorisedSeller] = (),
    config: MatcherConfig | None = None,
    photos: Iterable[OfficialPhoto] = (),
) -> MarkIndex:
    """Build the index once; reuse it for every listing. ``photos``: the hashed forms of the
    products' official photos (``matcher.photos``)."""
    return MarkIndex(marks, products, sellers, config or MatcherConfig(), photos)
