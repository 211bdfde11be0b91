"""Independent disguises: each kind does what it says, from its public source, reproducibly."""

from __future__ import annotations

import ast
import random
import unicodedata
from pathlib import Path

import pytest

from fixtures.marketplaces import disguises as d
from fixtures.marketplaces import generate

MARKS = ("KESTREL", "Kestrel", "AURELIA", "Aurelia", "VOLTARIS", "Voltaris", "MOLANG", "Molang")
DRAWS = 150
INVISIBLE = {cp for family in d.INVISIBLE for cp in family}


def _draws(kind: str, word: str, seed: int = 1) -> list[str]:
    rng = random.Random(f"{seed}:{kind}:{word}")
    return [d.disguise(word, kind, rng) for _ in range(DRAWS)]


def test_knows_nothing_of_the_matcher() -> None:
    src = Path(d.__file__).read_text(encoding="utf-8")
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(ast.parse(src))
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert not {m for m in imported if m.split(".")[0] == "matcher"}
    assert "matcher/data" not in src and "allowed_edits" not in src


def test_same_rng_same_disguises() -> None:
    for kind in d.INDEPENDENT_DISGUISES:
        assert _draws(kind, "KESTREL") == _draws(kind, "KESTREL")
        assert _draws(kind, "KESTREL") != _draws(kind, "KESTREL", seed=2)


@pytest.mark.parametrize("word", MARKS)
def test_typos_are_one_or_two_random_edits(word: str) -> None:
    seen = set()
    for out in _draws("indep_typo", word):
        n = d.edit_distance(word.lower(), out.lower())
        assert 1 <= n <= d.max_edits(word), (word, out)
        assert out.isalpha() and out.isascii()
        assert out.isupper() if word.isupper() else out[0].isupper() and out[1:].islower()
        seen.add(n)
    # one edit on 4-6 letters, up to two on longer marks, both drawn
    assert seen == ({1} if len(word) <= 6 else {1, 2})


def test_typos_use_every_edit_and_keyboard_neighbours() -> None:
    outs = _draws("indep_typo", "molang")
    assert any(len(o) == 7 for o in outs)  # insertion
    assert any(len(o) == 5 for o in outs)  # deletion
    same_len = [o for o in outs if len(o) == 6]
    assert any(sorted(o) == sorted("molang") for o in same_len)  # transposition
    subs = [o for o in same_len if sorted(o) != sorted("molang")]
    near = d.keyboard_neighbours()
    assert any(any(a != b and b in near[a] for a, b in zip("molang", o, strict=True))
               for o in subs)
    assert d.max_edits("KIA") == 0
    with pytest.raises(ValueError):
        d.disguise("KIA", "indep_typo", random.Random(1))
    assert "indep_typo" not in d.possible("KIA")


def test_edit_distance() -> None:
    assert d.edit_distance("kestrel", "kestrel") == 0
    assert d.edit_distance("kestrel", "ketsrel") == 1  # adjacent transposition
    assert d.edit_distance("kestrel", "kestrl") == 1
    assert d.edit_distance("kestrel", "kxestrel") == 1
    assert d.edit_distance("kestrel", "kestral") == 1
    assert d.edit_distance("kestrel", "ektsrel") == 2
    assert d.edit_distance("", "abc") == 3


@pytest.mark.parametrize("word", MARKS)
def test_splits_put_separators_inside_the_mark(word: str) -> None:
    singles = spaced = 0
    for out in _draws("indep_split", word):
        letters = "".join(c for c in out if c.isalpha())
        assert letters == word, out
        assert out[0] == word[0] and out[-1] == word[-1]
        if len(out) - len(word) >= len(word) - 1:
            spaced += 1
        else:
            singles += 1
    assert singles > spaced > 0


@pytest.mark.parametrize("word", MARKS)
def test_confusables_come_from_the_unicode_data(word: str) -> None:
    outs = _draws("indep_confusable", word)
    for out in outs:
        assert len(out) == len(word) and out != word
        for a, b in zip(word, out, strict=True):
            if a != b:
                assert b in {*d.look_alikes(a), *d.look_alikes(a.upper()), *d.look_alikes(a.lower())}
    assert len(set(outs)) > DRAWS * 0.6  # drawn at random, not from a short list
    scripts = d.whole_script_spellings(word)
    whole = [o for o in outs if all(d._script(c) for c in o)]
    assert bool(whole) == bool(scripts)


def test_whole_word_in_another_script_where_it_can_be_spelt() -> None:
    assert set(d.whole_script_spellings("KESTREL")) == {"CYRILLIC"}
    assert set(d.whole_script_spellings("AURELIA")) == {"GREEK"}
    assert d.whole_script_spellings("MOLANG") == {}  # neither script has an N-like and a G-like
    cyr = [o for o in _draws("indep_confusable", "KESTREL") if all(
        unicodedata.name(c).startswith("CYRILLIC") for c in o)]
    assert cyr


def test_confusables_file_is_the_unicode_source_with_its_version() -> None:
    head = d.CONFUSABLES_FILE.read_text(encoding="utf-8").splitlines()[:12]
    assert "# Version: 13.0.0" in head and any("Unicode" in h for h in head)
    assert "\u0430" in d.confusables()["a"]  # CYRILLIC SMALL LETTER A
    assert "\u041a" in d.look_alikes("K")  # CYRILLIC CAPITAL LETTER KA
    assert "l" in d.look_alikes("I") and "I" in d.look_alikes("l")  # one prototype


@pytest.mark.parametrize("word", MARKS)
def test_leet_draws_random_subsets_of_the_public_table(word: str) -> None:
    table = d.leet_table()
    outs = _draws("indep_leet", word)
    for out in outs:
        assert out != word
    # each letter is replaced only by one of its table entries: re-derive by greedy parse
    used: dict[str, set[str]] = {}
    for out in outs:
        i = j = 0
        while i < len(word):
            c = word[i]
            if out[j] == c:
                i, j = i + 1, j + 1
                continue
            sub = next(s for s in sorted(table.get(c.lower(), ()), key=len, reverse=True)
                       if out.startswith(s, j))
            used.setdefault(c.lower(), set()).add(sub)
            i, j = i + 1, j + len(sub)
        assert j == len(out)
    # over many draws, more than one substitute of a letter appears: random tables
    assert any(len(v) > 1 for v in used.values())


def test_leet_table_is_recorded_with_its_source() -> None:
    import json

    data = json.loads(d.LEET_FILE.read_text(encoding="utf-8"))
    assert "zxcvbn" in data["source"] and "MIT" in data["license"]
    assert data["table"]["a"] == ["4", "@"] and len(data["table"]) >= 20


@pytest.mark.parametrize("word", MARKS)
def test_invisible_characters_inside_the_mark(word: str) -> None:
    families = set()
    for out in _draws("indep_invisible", word):
        hidden = [c for c in out if ord(c) in INVISIBLE]
        assert 1 <= len(hidden) <= 3
        assert "".join(c for c in out if ord(c) not in INVISIBLE) == word
        assert out[0] == word[0] and out[-1] == word[-1]
        families |= {i for i, f in enumerate(d.INVISIBLE) for c in hidden if ord(c) in f}
    assert len(families) >= len(d.INVISIBLE) - 3


def test_invisible_characters_are_default_ignorable() -> None:
    for cp in INVISIBLE:
        cat = unicodedata.category(chr(cp))
        assert cat in {"Cf", "Mn", "Lo"}, hex(cp)  # Lo: the Hangul fillers
        assert not (0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069), "reorders text"


@pytest.mark.parametrize("word", MARKS)
def test_diacritics_precomposed_and_combining(word: str) -> None:
    kinds = set()
    for out in _draws("indep_diacritic", word):
        base = "".join(c for c in unicodedata.normalize("NFD", out)
                       if not unicodedata.combining(c))
        assert base == word, out
        kinds.add("combining" if any(unicodedata.combining(c) for c in out) else "precomposed")
        nfd = unicodedata.normalize("NFD", out)
        accented = [i for i, c in enumerate(nfd[:-1])
                    if not unicodedata.combining(c) and unicodedata.combining(nfd[i + 1])]
        assert 1 <= len(accented) <= 2, out  # one or two letters
    assert kinds == {"combining", "precomposed"}


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        d.disguise("KESTREL", "nope", random.Random(1))


def test_generated_listings_carry_the_disguise_in_the_title() -> None:
    cat = generate(5, 1200)
    labels = cat.labels_by_key()
    checked = 0
    for li in cat.listings:
        lab = labels[(li.marketplace, li.listing_id)]
        if not (lab.disguise or "").startswith("indep_"):
            continue
        checked += 1
        word = {"018245771": "kestrel", "UK00003512345": "aurelia", "40201912345Q": "voltaris",
                "41234567": "molang"}[lab.mark_registration]
        # the plain mark is not in the title (a split or a typo changes it)
        if lab.disguise in ("indep_split", "indep_typo", "indep_leet", "indep_confusable"):
            assert word not in li.title.lower().split(), (lab, li.title)
    assert checked > 60
