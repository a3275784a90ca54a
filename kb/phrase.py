"""A loanword phrase typed as several Hangul words, for the English the notes write as one.

``휴먼 인 더 루프`` is ``human-in-the-loop``, ``스트레스 테스팅`` is ``stress testing``,
``제로 트러스트 아키텍처`` is ``zero trust architecture``: a run of adjacent Hangul words
of the query whose joined sound is an English compound or phrase of the notes. Word by
word kb reads such a run poorly: a short word (``인``, ``더``, ``오브``) matches anything or
nothing, a two-syllable word's look-alike must turn up beside it (``제로`` ~ ``zero``), a
word of Korean prose in its own right (``스트레스``) keeps its Korean sense. The run as a
whole is the test: its joined sound must be the English words' joined sound
(:func:`kb.jamo.sounds_like`), and the English words must be written in a row in some
note (a hyphenated compound is indexed with its parts at successive positions, so
``human in the loop`` in a row finds ``human-in-the-loop`` too).

A run is found three ways, each from the notebook's own words:

* word by word: every word of the run has English look-alikes (by sound key, no
  co-occurrence test), and some choice of them is written in a row in a note;
* a compound: the run's first word has a look-alike ``e``, and a hyphenated term of the
  notes that starts with ``e-`` sounds like the whole run (the short words in between,
  ``인 더``, ``오브``, need no look-alike of their own).

A run some word of which does not already search its English word (``휴먼 인 더 루프``:
``인``, ``더``; ``스트레스``, whose look-alike by itself is ``stories``) has the phrase
searched by every word of it, at :data:`RUN_WEIGHT` shared among them (the phrase scores
about as its words together): a note writing the phrase holds all of them. A run whose
words each search their English word already (``데이터 모델링``: data, modeling) only
ranks higher the notes where those stand in a row (:data:`ROW_BOOST`), as the typed
words in a row do. ``kb search --explain`` shows the run as a line of its own
(``휴먼 인 더 루프 -> human in the loop 0.80 sounds alike, as one phrase``).

Cost: at most the first :data:`MAX_RUN_WORDS` words are read, runs of up to
:data:`MAX_RUN` words, a few sound-key lookups per word (kept across searches with the
plans), and at most :data:`MAX_CHECKS` phrase checks a query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

from .analysis import is_hangul_word
from .expand import LEXICON_FIELDS, MAX_FORM_SCAN, Variant, WordPlan, kept
from .jamo import hangul_sound_key, sounds_like

#: Most words a run has, and fewest.
MAX_RUN = 4
MIN_RUN = 2
#: Words of a query read for runs (from the first).
MAX_RUN_WORDS = 12
#: English look-alikes of one word tried in a run (the commonest first).
MAX_WORD_SOUNDS = 4
#: Choices of look-alikes tried per run, and phrase checks (a note reading) per query.
MAX_COMBOS = 8
MAX_CHECKS = 16
#: Consonant classes of a word's sound key from which its look-alikes are partners in a
#: run if the notes do not prefer the Hangul word, and from which they are partners always.
MIN_KEY = 2
LONG_KEY = 4
#: Partners of a run's first word whose hyphenated compounds are read (any sound key:
#: the whole run's sound is the test).
MAX_HEADS = 4
#: Most parts of a hyphenated compound matched against a run.
MAX_PARTS = 6
#: Weight of the English phrase for the words of the run: a sound-alike's.
RUN_WEIGHT = 0.8
#: ...and the boost of a note where it stands, for a run whose words each search their
#: English word already (as kb.search.PAIR_BOOST for two typed words in a row).
ROW_BOOST = 0.25


EACH = "each word sounds alike"


@dataclass(frozen=True)
class Run:
    """Words ``start`` to ``end`` (exclusive) of the query, and the English searched for them."""

    start: int
    end: int
    terms: tuple[str, ...]
    why: str
    #: Which English word stands for each word of the run (word by word), or ().
    each: tuple[str, ...] = ()

    def covered(self, plans: list[WordPlan]) -> bool:
        """Whether every word of the run (``plans``, its words' plans) already searches the
        English word the run has for it, or a form of it."""
        from .english import light_stem

        if len(self.each) != len(plans):
            return False
        for word, plan in zip(self.each, plans, strict=True):
            stems = {light_stem(t) for t in plan.terms}
            stems.update(light_stem(v.terms[0]) for v in plan.variants if len(v.terms) == 1)
            if light_stem(word) not in stems:
                return False
        return True

    def plan(self, texts: list[str], weight: float = RUN_WEIGHT, how: str = "") -> WordPlan:
        """The run as a line of ``kb search --explain``."""
        text = " ".join(texts[self.start:self.end])
        plan = WordPlan(text, tuple(text.split()))
        why = f"{self.why}; {how}" if how else self.why
        plan.variants.append(Variant(self.terms, weight, "phrase", why))
        return plan


@dataclass
class Word:
    """A query word as a run reads it: its Hangul term, and whether a run may start or
    end with it (not a question or grammar word: ``인 더`` in the middle only)."""

    term: str
    end_ok: bool
    #: Typed with a particle or an ending (리액트에서): it may only end a run, as in Korean
    #: only a noun phrase's last word takes one (리액트에서 서버 is no compound).
    last_only: bool = False
    #: The English words its plan already searches (alias, sound-alike, gloss...).
    known: tuple[str, ...] = ()


class RunFinder:
    """Finds the runs of one query against one searcher (and the expander's vocab)."""

    def __init__(self, searcher: Any, expander: Any) -> None:
        self.searcher = searcher
        self.reader = expander.reader
        self.expander = expander
        self.vocab = expander.vocab
        self.stop: Callable[[], None] | None = expander.stop
        #: A run's answer, and a word's hyphenated compounds, kept with the plans.
        self._runs: dict[tuple[str, ...], tuple[tuple[str, ...], str] | None] = kept(
            expander.plans, "#runs")
        self._compounds: dict[str, list[tuple[int, str, str]]] = kept(expander.plans, "#run-compounds")
        self.checks = 0

    def find(self, words: list[Word | None]) -> list[Run]:
        """The runs of ``words`` (None: a word no run goes through), the longest first,
        not overlapping."""
        if self.vocab is None:
            return []
        words = words[:MAX_RUN_WORDS]
        n = len(words)
        if sum(w is not None for w in words) < MIN_RUN:
            return []
        out: list[Run] = []
        start = 0
        while start < n:
            found = None
            for end in range(min(n, start + MAX_RUN), start + MIN_RUN - 1, -1):
                span = words[start:end]
                if any(w is None for w in span):
                    continue
                first, last = span[0], span[-1]
                if first is None or last is None or not first.end_ok or not last.end_ok:
                    continue
                if any(w is not None and w.last_only for w in span[:-1]):
                    continue
                got = self._run(tuple(w for w in span if w is not None))
                if got is not None:
                    found = Run(start, end, got[0], got[1], got[0] if got[1] == EACH else ())
                    break
            if found is None:
                start += 1
            else:
                out.append(found)
                start = found.end
        return out

    def _run(self, words: tuple[Word, ...]) -> tuple[tuple[str, ...], str] | None:
        key = tuple(x for w in words for x in (w.term, *w.known, ""))
        if key in self._runs:
            return self._runs[key]
        if self.stop is not None:
            self.stop()
        got = self._read(words)
        if got is not None or self.checks < MAX_CHECKS:  # a run cut short by the budget is not kept
            self._runs[key] = got
        return got

    def _read(self, words: tuple[Word, ...]) -> tuple[tuple[str, ...], str] | None:
        """The English a run is, if any: its words' English partners in a row in some note,
        one of them at least a word the notebook already knows the Hangul word by (its plan
        searches it: a run of words known only by their sound, 사이퍼 스위트 ~ super set, is
        too loose a guess); or a hyphenated compound of the notes that sounds like the whole
        run, its first part a partner of the run's first word."""
        joined = "".join(w.term for w in words)
        sounds: list[list[str]] = []
        for w in words:  # up to the first word with none
            sounds.append(self.candidates(w))
            if not sounds[-1]:
                break
        if len(sounds) == len(words) and all(sounds) and any(w.known for w in words):
            rank = [{o: i for i, o in enumerate(s)} for s in sounds]
            combos = sorted(product(*sounds), key=lambda c: sum(r[o] for r, o in zip(rank, c, strict=True)))
            for combo in combos[:MAX_COMBOS]:
                if len(set(combo)) < len({w.term for w in words}):
                    continue  # 자연 조인 is no john john: two words, two partners
                if (any(o in w.known for o, w in zip(combo, words, strict=True))
                        and sounds_like(joined, "".join(combo)) and self.in_a_row(combo)):
                    return combo, EACH
        if len(sounds) == len(words) and all(sounds[1:]):
            return None  # every word has partners: the compound is their phrase (above)
        best = self._compound(joined, self.candidates(words[0], loose=True)[:MAX_HEADS])
        if best:
            return tuple(best.split("-")), best
        return None

    def candidates(self, word: Word, loose: bool = False) -> list[str]:
        """A word's English partners: those its plan searches, then its look-alikes the
        notebook does not speak against (:meth:`supported`; any, ``loose``)."""
        out = list(word.known)
        if loose or len(hangul_sound_key(word.term)) >= MIN_KEY:
            out += [o for o in self.word_sounds(word.term) if o not in out
                    and (loose or self.supported(word.term, o))]
        return out[:MAX_WORD_SOUNDS]

    def supported(self, term: str, other: str) -> bool:
        """Whether a look-alike may stand for a Hangul word in a run: the word has a long
        skeleton (four consonant classes: 스트레스 ~ stress), or is not in the notes (밸류),
        or the notes use the English word more (제로 in 8 notes, zero in 177), or write the
        two together beyond chance (:meth:`kb.expand.Expander._together`). Not 연관 ~ engine
        (77 notes against 61). A word of a shorter skeleton than MIN_KEY has none (애즈 ~ aws
        by one ㅈ says little): only the English its plan searches (데이터: data)."""
        df = self.expander.df(term)
        if len(hangul_sound_key(term)) >= LONG_KEY or not df or self.expander.df(other) > df:
            return True
        return self.expander._together(term, other)

    def word_sounds(self, term: str) -> list[str]:
        """English words of the notes that sound like a Hangul word of two syllables or
        more, the commonest first (:meth:`kb.expand.Expander.english_sounds`: no test of
        being written beside it, the run is the test); none for a shorter word."""
        if len(term) < 2 or not is_hangul_word(term):
            return []
        return [o for o in self.expander.english_sounds(term) if o.isalpha()][:MAX_WORD_SOUNDS]

    def _compound(self, joined: str, heads: list[str]) -> str:
        """The commonest hyphenated term of the notes that starts with one of ``heads``
        and sounds like ``joined`` written without its hyphens."""
        best: tuple[int, str] | None = None
        for head in heads:
            for df, t, plain in self.compounds(head):
                if (best is None or (df, t) > best) and sounds_like(joined, plain):
                    best = (df, t)
        return best[1] if best else ""

    def compounds(self, head: str) -> list[tuple[int, str, str]]:
        """``(notes, term, term without hyphens)`` of the notes' hyphenated terms of plain
        words that start with ``head-`` (read once a query, or kept with the plans)."""
        got = self._compounds.get(head)
        if got is None:
            found: dict[str, int] = {}
            for f in LEXICON_FIELDS:
                for i, btext in enumerate(self.reader.expand_prefix(f, head + "-")):
                    if i >= MAX_FORM_SCAN:
                        break
                    t = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                    parts = t.split("-")
                    if (t not in found and len(parts) <= MAX_PARTS
                            and all(p.isalpha() and p.isascii() for p in parts)):
                        found[t] = self.expander.df(t)
            got = self._compounds[head] = [(df, t, t.replace("-", "")) for t, df in found.items() if df]
        return got

    def in_a_row(self, terms: tuple[str, ...]) -> bool:
        """Whether some note's title or body has ``terms`` in a row."""
        from whoosh.query import Phrase

        for f in LEXICON_FIELDS:
            if not all((f, t) in self.reader for t in terms):
                continue
            if self.checks >= MAX_CHECKS:
                return False
            self.checks += 1
            if Phrase(f, list(terms)).matcher(self.searcher).is_active():
                return True
        return False
