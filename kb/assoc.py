"""Words the notebook translates, learned at index time from its translated notes.

A Korean question for a note written in English shares no word with it: ``실패한
스텝을 다시 실행하려면`` and *Argo Workflows offers options for retrying failed steps*.
No gloss says ``실패(fail)``, and the two do not sound alike. But a notebook of
Korean technical notes often holds the same text in both languages: a document kept
with its Korean translation (helm's docs and ``i18n/ko``, a glossary in ``en/`` and
``ko/``), a note and its translated copy. Those twins are a parallel corpus, and
word pairs fall out of it by counting.

**Twins.** A translation keeps what is not prose: the code blocks' lines and the
links' targets. Each note's *fingerprints* (a CRC of each such line or target) and
its share of Hangul letters are taken as it is indexed. Two notes are twins when one
is Korean prose (:data:`KOREAN_SHARE`) and the other is not (:data:`LATIN_SHARE`),
and they share at least :data:`MIN_SHARED` fingerprints that few notes have, and at
least :data:`MIN_SHARED_PART` of the smaller note's.

**Pairs.** The twins are cut at their headings; when both have as many sections,
section *i* of one is aligned with section *i* of the other (else only the titles
are), and the titles are a unit. A unit gives the Hangul terms of its Korean
side and the Latin terms of the other, as the index analyzes them. A Korean and an
English term are associated when they share units far more than their own counts
would have them: the Dice coefficient ``2 c(h, l) / (c(h) + c(l))`` (at least
:data:`MIN_PAIR` shared units), and each among the other's best :data:`TOP_K`
(``실패``/``fail``, ``조건``/``condition``, ``롤백``/``rollback``; a word in every unit
pairs with nothing in particular).

``assoc.tbl`` (beside Whoosh's files, a sorted table read in place, see
:class:`kb.vocab.Table`) holds ``a<TAB>b<TAB>dice``, both ways. ``assoc.bin`` (marshal)
keeps each note's Hangul share and fingerprints and the twins found, so a sync
counts again only when a note it re-read is, or may now be, a twin; it then reads
the twins' files again (a few hundred at most, not the notebook). A notebook without
twins learns nothing. A stale table makes search find less, never wrong: a partner is
searched only if the index has it.

No word list: every pair comes from the notebook's own translations.
"""

from __future__ import annotations

import os
import re
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any

from .analysis import unique_terms
from .index.manifest import ASSOC_NOTES, ASSOCIATIONS

#: Least share of a note's letters that are Hangul for it to be the Korean twin...
KOREAN_SHARE = 0.3
#: ...and most for it to be the other one.
LATIN_SHARE = 0.05
#: Least fingerprints two twins share, and least share of the smaller note's.
MIN_SHARED = 3
MIN_SHARED_PART = 0.3
#: A fingerprint in more notes than this is boilerplate (a licence link, ``npm install``).
MAX_FINGERPRINT_NOTES = 4
#: Shortest code line that counts as a fingerprint, and most fingerprints of one note.
MIN_FINGERPRINT_CHARS = 10
MAX_FINGERPRINTS = 2000
#: Least units two terms must share to be associated.
MIN_PAIR = 3
#: Least Dice coefficient of an associated pair.
MIN_DICE = 0.05
#: ...and this many times more units than chance would give them (``모든`` and ``from``,
#: both in a quarter of the sections, share many by chance).
MIN_LIFT = 3.0
#: A pair is kept if each is among the other's best TOP_K.
TOP_K = 2
#: A term in more than this share of the units is in every section: it names nothing.
MAX_SHARE = 0.3

Unit = tuple[tuple[str, ...], tuple[str, ...]]  # (Hangul terms, Latin terms)
Traits = tuple[float, list[int]]  # (Hangul share of the letters, fingerprints)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled on first use (a class over the Hangul block costs ~1 ms to compile)."""
    return (
        re.compile(r"[가-힣]"),
        re.compile(r"^#{1,6} ", re.M),
    )


def _is_hangul_term(term: str) -> bool:
    return "\uac00" <= term[0] <= "\ud7a3" and 2 <= len(term) <= 12


def _is_latin_term(term: str) -> bool:
    return 3 <= len(term) <= 30 and term.isascii() and term.isalpha()


def _prose(body: str, prints: set[int] | None = None) -> str:
    """The text of a note outside its code blocks; ``prints`` gets the CRCs of the code
    lines (without Hangul: a translated comment differs)."""
    if "```" not in body and "~~~" not in body:
        return body
    hangul_re = _patterns()[0]
    kept = []
    fenced = ""
    for line in body.split("\n"):
        s = line.strip()
        if s.startswith(("```", "~~~")):
            mark = s[:3]
            fenced = "" if fenced == mark else (fenced or mark)
        elif not fenced:
            kept.append(line)
        elif prints is not None and len(s) >= MIN_FINGERPRINT_CHARS and not hangul_re.search(s):
            prints.add(zlib.crc32(s.encode("utf-8", "replace")))
    return "\n".join(kept)


#: Longest link target read as a fingerprint.
MAX_TARGET_CHARS = 300


def _link_targets(body: str) -> list[tuple[int, int]]:
    """Spans of the link targets (``[text](target)``, no blanks) in a text, found with
    ``str.find`` (a regex retried at every ``](`` of ``](](](...`` is quadratic)."""
    spans = []
    i = body.find("](")
    while i >= 0:
        start = i + 2
        end = body.find(")", start, start + MAX_TARGET_CHARS + 1)
        if end - start >= 6 and len(body[start:end].split(None, 1)) == 1:
            spans.append((start, end))
        i = body.find("](", start)
    return spans


def note_traits(body: str) -> Traits:
    """A note's share of Hangul among the letters of its prose (code blocks left out: a
    translated tutorial is mostly code) and its fingerprints: the CRCs of its code
    blocks' lines and its link targets."""
    prints: set[int] = set()
    prose = _prose(body, prints)
    if "](" in body:
        for start, end in _link_targets(body):
            prints.add(zlib.crc32(body[start:end].encode("utf-8", "replace")))
        if "](" in prose:  # an address is no prose
            spans = _link_targets(prose)
            prose = "".join(prose[a:b] for a, b in zip([0] + [e for _, e in spans],
                                                       [s for s, _ in spans] + [len(prose)], strict=True))
    # Counted in C: a Hangul syllable is three bytes of UTF-8 (other non-ASCII letters are
    # rare in prose and only blur the share a little), an English letter one ASCII byte.
    hangul = (len(prose.encode("utf-8", "replace")) - len(prose)) / 2
    latin = len(prose.encode("ascii", "ignore").translate(None, _NOT_LETTERS))
    share = hangul / (hangul + latin + 1)
    return round(share, 3), sorted(prints)[:MAX_FINGERPRINTS]


_NOT_LETTERS = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalpha())


#: What is kept of a note that may be a twin: its side (``"k"``: Korean prose, ``"l"``:
#: not) and its fingerprints packed as 32-bit integers (marshal reads one ``bytes`` a note
#: in no time; a list of ints a note took a second at 40,000 notes).
Kept = tuple[str, bytes]


def kept_traits(traits: Traits) -> Kept | None:
    """What is kept of a note's traits; None for a note that cannot be a twin (prose of
    both scripts). A note with too few fingerprints may still be one by its path (see
    :func:`path_twins`). An edit of the prose changes nothing kept."""
    share, prints = traits
    if LATIN_SHARE < share < KOREAN_SHARE:
        return None
    if len(prints) < MIN_SHARED:
        prints = []
    return ("k" if share >= KOREAN_SHARE else "l"), array("I", prints).tobytes()


_ITEM = array("I").itemsize


def _prints(kept: Kept) -> array[int]:
    out = array("I")
    out.frombytes(kept[1])
    return out


def find_twins(notes: dict[str, Kept]) -> list[tuple[str, str]]:
    """``(Korean note, the other)`` pairs that are translations of each other."""
    holders: dict[int, list[str]] = {}
    for rel, kept in notes.items():
        for fp in _prints(kept):
            holders.setdefault(fp, []).append(rel)
    shared: Counter[tuple[str, str]] = Counter()
    for rels in holders.values():
        if 2 <= len(rels) <= MAX_FINGERPRINT_NOTES:
            korean = [r for r in rels if notes[r][0] == "k"]
            latin = [r for r in rels if notes[r][0] == "l"]
            shared.update(product(korean, latin))
    twins = []
    for (ko, en), n in sorted(shared.items()):
        smaller = min(len(notes[ko][1]), len(notes[en][1])) // _ITEM
        if n >= MIN_SHARED and n >= MIN_SHARED_PART * smaller:
            twins.append((ko, en))
    found = set(twins)
    twins.extend(pair for pair in path_twins(notes) if pair not in found)
    return twins


def _path_key(rel: str) -> tuple[str, str]:
    """A note's folder at the top of the notebook and its file name."""
    parts = rel.replace("\\", "/").split("/")
    return (parts[0] if len(parts) > 1 else "", parts[-1].lower())


def path_twins(notes: dict[str, Kept]) -> list[tuple[str, str]]:
    """``(Korean note, the other)`` pairs that a project keeps as translations by name: the
    only Korean note and the only other note of a file name within one top folder
    (``helm/docs/helm/helm_rollback.md`` and ``helm/i18n/ko/.../helm_rollback.md``,
    ``glossary/content/en/service-mesh.md`` and ``glossary/content/ko/service-mesh.md``);
    a translation need not keep code or links (a glossary entry has none). A name more
    notes share on either side (``README.md`` in every folder) pairs nothing."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for rel in notes:
        key = _path_key(rel)
        if key[0]:
            by_key.setdefault(key, []).append(rel)
    twins = []
    for rels in by_key.values():
        if len(rels) == 2:
            a, b = sorted(rels, key=lambda r: notes[r][0])  # "k" before "l"
            if notes[a][0] == "k" and notes[b][0] == "l":
                twins.append((a, b))
    twins.sort()
    return twins


def _unit(korean: str, latin: str) -> Unit | None:
    hangul = tuple(sorted(t for t in unique_terms(korean) if _is_hangul_term(t)))
    latin_terms = tuple(sorted(t for t in unique_terms(latin) if _is_latin_term(t)))
    return (hangul, latin_terms) if hangul and latin_terms else None


def twin_units(ko: tuple[str, str], en: tuple[str, str]) -> list[Unit]:
    """The aligned units of two twins, each given as ``(title, body)``: the titles, and
    section by section when both have as many headings (else only the titles: two
    whole notes pair every word with every other); code blocks left out."""
    heading_re = _patterns()[1]
    pieces = [(ko[0], en[0])]
    # the code is the same on both sides: it says nothing of which word is which
    ko_parts, en_parts = heading_re.split(_prose(ko[1])), heading_re.split(_prose(en[1]))
    if len(ko_parts) == len(en_parts):
        pieces += list(zip(ko_parts, en_parts, strict=True))
    return [u for u in (_unit(a, b) for a, b in pieces) if u is not None]


def table_lines(units: list[Unit]) -> list[str]:
    """``assoc.tbl`` lines: Dice-associated pairs that are each other's best, both ways."""
    ch: Counter[str] = Counter()
    cl: Counter[str] = Counter()
    for hangul, latin in units:
        ch.update(hangul)
        cl.update(latin)
    most = max(MIN_PAIR, MAX_SHARE * len(units))
    pairs: Counter[tuple[str, str]] = Counter()
    for hangul, latin in units:
        hs = [t for t in hangul if ch[t] <= most]
        ls = [t for t in latin if cl[t] <= most]
        pairs.update(product(hs, ls))
    n = len(units)
    best: dict[str, list[tuple[float, str]]] = {}
    for (h, lat), c in pairs.items():
        if c < MIN_PAIR or c * n < MIN_LIFT * ch[h] * cl[lat]:
            continue
        dice = 2 * c / (ch[h] + cl[lat])
        if dice >= MIN_DICE:
            best.setdefault(h, []).append((dice, lat))
            best.setdefault(lat, []).append((dice, h))
    top: dict[str, set[str]] = {}
    for term, partners in best.items():
        partners.sort(key=lambda x: (-x[0], x[1]))
        top[term] = {other for _, other in partners[:TOP_K]}
    dice_of = {(term, other): dice for term, partners in best.items() for dice, other in partners}
    idiom = _idiom_pairs(units, top, dice_of)
    lines = []
    for term, partners in best.items():
        # Mutual: 릴리스 is in most sections that say chart, but chart's best are 차트 and
        # the like: a topic shared, not the same word.
        lines.extend(f"{term}\t{other}\t{dice:.3f}" for dice, other in partners[:TOP_K]
                     if term in top[other] and (term, other) not in idiom and (other, term) not in idiom)
    return lines


#: Two Korean words in this share (Dice) of the same units or more stand together: a
#: fixed phrase (예를 들어).
PHRASE_DICE = 0.8


def _idiom_pairs(units: list[Unit], top: dict[str, set[str]],
                 dice_of: dict[tuple[str, str], float]) -> set[tuple[str, str]]:
    """``(Korean, English)`` pairs learned from a fixed phrase: Korean words that stand in
    the same units (예를 들어, 부모 ... 상속) all paired with one English word (example, of
    *for example*). The English word goes with the ones that pair best (예를, 들어 ~
    example: 예를); when they pair as well, the units cannot tell which it translates and
    it stays with each (시작, 설치 ~ install in two sections that always say both). A word
    that sounds like it keeps its pair (가비지 ~ garbage)."""
    from .vocab import sounds_alike

    by_latin: dict[str, list[str]] = {}
    for lat, hs in top.items():
        if _is_latin_term(lat):
            for h in hs:
                if _is_hangul_term(h) and lat in top.get(h, ()):
                    by_latin.setdefault(lat, []).append(h)
    wanted = {h for hs in by_latin.values() if len(hs) > 1 for h in hs}
    if not wanted:
        return set()
    where: dict[str, set[int]] = {h: set() for h in wanted}
    for i, (hangul, _) in enumerate(units):
        for h in hangul:
            if h in where:
                where[h].add(i)
    out: set[tuple[str, str]] = set()
    for lat, hs in by_latin.items():
        group = {x for a, b in product(hs, hs) if a < b
                 and 2 * len(where[a] & where[b]) >= PHRASE_DICE * (len(where[a]) + len(where[b]))
                 for x in (a, b)}
        if not group:
            continue
        top_dice = max(dice_of[(h, lat)] for h in group)
        out.update((h, lat) for h in group if dice_of[(h, lat)] < top_dice and not sounds_alike(h, lat))
    return out


# --------------------------------------------------------------------------- index time


class Learner:
    """Collects each note's traits during a sync (see :mod:`kb.index.sync`)."""

    def __init__(self) -> None:
        self.notes: dict[str, Kept | None] = {}

    def note(self, rel: str, title: str, body: str) -> None:
        self.notes[rel] = kept_traits(note_traits(body))


def drop(index_dir: Path) -> None:
    for name in (ASSOCIATIONS, ASSOC_NOTES):
        try:
            os.unlink(index_dir / name)
        except OSError:
            pass


def _learn(index_dir: Path, root: Path, notes: dict[str, Kept]) -> None:
    """Find the twins, read them, write the table and the kept traits."""
    from .notes import read_note
    from .vocab import write_marshal, write_table

    twins = find_twins(notes)
    units: list[Unit] = []
    for ko, en in twins:
        try:
            a, b = read_note(root, ko), read_note(root, en)
        except OSError:
            continue
        units.extend(twin_units((a.title, a.body), (b.title, b.body)))
    write_marshal(index_dir / ASSOC_NOTES, {"notes": notes, "twins": twins})
    write_table(index_dir / ASSOCIATIONS, table_lines(units))


def save_rebuilt(index_dir: Path, root: Path, learner: Learner) -> None:
    """After a full rebuild: the kept traits, the twins and the table."""
    try:
        _learn(index_dir, root, {k: v for k, v in learner.notes.items() if v is not None})
    except OSError:
        drop(index_dir)


def save_updated(index_dir: Path, root: Path, learner: Learner, removed: Iterable[str]) -> None:
    """After an incremental sync: the kept traits of the notes read (and of removed ones)
    replaced; the twins and the table learned again if a note read or removed was a
    twin, or may be one now (it shares a fingerprint with another note). An edit of
    another note that changes none of its code lines or links writes nothing."""
    from .vocab import read_marshal, write_marshal

    removed = list(removed)
    if not learner.notes and not removed:
        return
    try:
        kept = read_marshal(index_dir / ASSOC_NOTES)
        if not isinstance(kept, dict) or not isinstance(kept.get("notes"), dict):
            return  # nothing kept (an index from before): learned at the next rebuild
        notes: dict[str, Kept] = kept["notes"]
        touched = [rel for rel in removed if notes.pop(rel, None) is not None]
        for rel, traits in learner.notes.items():
            if notes.get(rel) != traits:
                touched.append(rel)
                if traits is None:
                    del notes[rel]
                else:
                    notes[rel] = traits
        was_twin = {rel for pair in kept.get("twins", ()) for rel in pair}
        if not touched and was_twin.isdisjoint(learner.notes):
            return
        # a twin edited (its translation may have changed) or removed
        relearn = not was_twin.isdisjoint(learner.notes) or any(rel in was_twin for rel in touched)
        candidates = [rel for rel in touched if rel in notes]
        if candidates and not relearn:
            held: Counter[int] = Counter()
            for traits in notes.values():
                held.update(_prints(traits))
            relearn = any(held[fp] > 1 for rel in candidates for fp in _prints(notes[rel]))
        if candidates and not relearn:  # a twin by its name (see path_twins)?
            keys = Counter(_path_key(rel) for rel in notes)
            relearn = any(keys[_path_key(rel)] == 2 for rel in candidates)
        if relearn:
            _learn(index_dir, root, notes)
        else:
            write_marshal(index_dir / ASSOC_NOTES, {"notes": notes, "twins": kept.get("twins", [])})
    except OSError:
        drop(index_dir)


# --------------------------------------------------------------------------- query time


class Associations:
    """The table of one index, for the query builder."""

    def __init__(self, index_dir: Path) -> None:
        from .vocab import Table

        self.table = Table(index_dir / ASSOCIATIONS)

    def partners(self, term: str) -> list[tuple[str, float]]:
        """``(term of the other script, Dice)`` for an analyzed term, best first."""
        out = []
        for rest in self.table.lookup(term + "\t", TOP_K):
            other, _, dice = rest.partition("\t")
            try:
                out.append((other, float(dice)))
            except ValueError:
                continue
        out.sort(key=lambda x: -x[1])
        return out


#: Weight of a learned partner against the typed word, for a pair at :data:`FULL_DICE`
#: or more (less for a weaker pair).
LEARNED_WEIGHT = 0.7
FULL_DICE = 0.2


def add_learned(plan: Any, learned: Associations, expander: Any) -> None:
    """Add a plain word's learned partners to its plan (kind ``learned``), each weighted
    below the typed word by the pair's strength and capped by its rarity (see
    :meth:`kb.expand.Expander._capped`). Not for code (``retry_limit``, ``a.b``) nor a
    question word."""
    from .expand import Variant, drop_narrower

    if expander is None or plan.question or len(plan.terms) != 1:
        return
    term = plan.terms[0] if plan.found or not plan.correction else plan.correction
    if " " in term or not (_is_latin_term(term) or ("\uac00" <= term[:1] <= "\ud7a3")):
        return
    if term.isascii() and any(c in plan.text for c in "._-:/()#@=<>[]{}$"):
        return
    typed_df = expander.df(term)
    for other, dice in learned.partners(term):
        why = f"{term} ~ {other}, from translated notes, {dice:.2f}"
        for form in _forms(other, expander):
            df = expander.df(form)
            if not df or any(v.terms == (form,) for v in plan.variants) or (form,) == plan.terms:
                continue
            weight = expander._capped(LEARNED_WEIGHT * min(1.0, dice / FULL_DICE), typed_df, df)
            plan.variants.append(Variant((form,), weight, "learned", why))
    drop_narrower(plan)


#: Other forms of a learned English partner searched with it (``fail``: ``failed``, ``failure``).
MAX_FORMS = 4


def _forms(term: str, expander: Any) -> list[str]:
    """``term`` and, for an English word, the notes' commonest words of its stem."""
    vocab = expander.vocab
    if not term.isascii() or vocab is None:
        return [term]
    from .english import light_stem
    from .expand import fragment, fused

    others = set(vocab.by_stem(light_stem(term)))
    if len(term) >= MIN_PREFIX_FORM:
        # condition -> conditional, conditionals: a word built on it (a longer stem of its own)
        for f in ("title", "body"):
            for n, btext in enumerate(expander.reader.expand_prefix(f, term)):
                t = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                if n >= MAX_PREFIX_SCAN:
                    break
                if len(t) <= len(term) + MAX_SUFFIX and t.isalpha() and not fused(t, term, expander.df):
                    others.add(t)  # not examplegen (ExampleGen) for example
    others.discard(term)
    term_df = expander.df(term)
    others = {o for o in others if not fragment(o, term, expander.df(o), term_df)}  # not chang for change
    ranked = sorted(others, key=lambda o: (-expander.df(o), o))
    return [term, *ranked[:MAX_FORMS]]


#: A learned English partner this long also brings the notes' words that extend it by at
#: most MAX_SUFFIX letters (read from the first MAX_PREFIX_SCAN terms of its prefix).
MIN_PREFIX_FORM = 6
MAX_SUFFIX = 4
MAX_PREFIX_SCAN = 50
