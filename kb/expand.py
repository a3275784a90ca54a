"""What else a query word may have meant: spellings the notes use instead of the typed one.

For each plain query word, a :class:`WordPlan`: the analyzed terms as typed, then the
variants kb also searches, each with a weight below the typed word's and a kind that
says where it came from:

==============  =================================================================
kind            example
==============  =================================================================
``stem``        ``parsing`` -> ``parse``, ``parsed`` (the same English stem)
``gloss``       ``ingress`` -> ``인그레스``: a note wrote ``인그레스(Ingress)``
``sound``       ``레플리카셋`` -> ``replicaset``: the same word in the other script
``typo``        ``메세지`` -> ``메시지``: one slip away and far more common in the notes
``fix``         ``리엑트`` -> ``리액트``, ``kuberentes`` -> ``kubernetes``: the typed word
                matches nothing, the fix is searched instead (and kb says so)
``layout``      ``znqjspxltm`` -> ``쿠버네티스``: typed with the keyboard in the other mode
``initials``    ``ㅋㅂㄴㅌㅅ`` -> ``쿠버네티스``; ``쿠버네ㅌ`` -> ``쿠버네티스``
``shorter``     ``확인하나요`` -> ``확인``: the longest start of an unknown word the notes have
``verb``        ``줄이려면`` -> ``줄이기``, ``줄일``, ``줄여``: the other forms of a predicate
                (its stem by the grammar's endings, :func:`kb.jamo.predicate_stems`)
==============  =================================================================

Every candidate comes from the notebook itself (its lexicon, and the tables of
:mod:`kb.vocab`), never from a list of words, and is searched only if the index has it.
An expansion never scores more than the typed word would: its weight is scaled down by
how much rarer it is (a rare term's BM25 idf is higher).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .analysis import (
    QUESTION_WORDS,
    analyze,
    ends_as_predicate,
    is_hangul_word,
    is_question_word,
    predicate_stem,
    query_terms,
    stem_term,
)
from .english import derived_lookups, letters_key, light_stem
from .jamo import (
    choseong,
    choseong_variants,
    could_be_loanword,
    hangul_sound_key,
    is_choseong_only,
    latin_lookup_keys,
    latin_sound_keys,
    partial_tail,
    predicate_heads,
    predicate_stems,
    romanize,
    sounds_like,
    syllable_distance,
    to_hangul_layout,
    to_latin_layout,
    typo_distance,
    vowel_misfits,
)

#: An inflection is nearly the word itself (parse/parsing), a little below it all the same.
STEM_WEIGHT = 0.9
GLOSS_WEIGHT = 0.8
SOUND_WEIGHT = 0.8
#: ...for a word the notes do not have at all: the other script is all there is.
ABSENT_SOUND_WEIGHT = 0.8
TYPO_WEIGHT = 0.6
#: ...a look-alike that sounds like the same English word (디렉토리/디렉터리: directory).
SPELLING_WEIGHT = 0.9
SHORTER_WEIGHT = 0.8
PARTS_WEIGHT = 0.8
#: A variant must be this many times more common than the typed word to count as
#: its likelier spelling (``메세지`` 26 notes, ``메시지`` 359).
TYPO_MIN_RATIO = 4.0
#: ...and the typed word this rare (share of notes).
TYPO_MAX_SHARE = 0.01
#: Most notes a term may be in for :meth:`Expander._together` to read its postings.
MAX_TOGETHER = 5000
#: How many times more often than chance two spellings must share notes to be linked...
TOGETHER_LIFT = 2.0
#: ...and how unlikely that many shared notes must be by chance alone (a Poisson tail):
#: 따라 (in 863 notes) shares dali's one note, 2.6 times chance, which chance does one
#: time in five; 폴링 shares 3 of polling's 9 notes, which it does one time in ten million.
TOGETHER_P = 0.005
#: ...or, for a short word's look-alike (a two-syllable word, a skeleton of two consonants:
#: 쉘 ~ shell in 4 of its 15 notes), this unlikely.
LOOSE_P = 0.05
#: A Hangul word the notes write in this many forms with a verb's endings, together at
#: least this share as common as the word, is a verb (줄이: 줄일, 줄이기, 줄여, 줄인다).
INFLECTED_FORMS = 3
INFLECTED_SHARE = 0.2
#: Longest stem (syllables) read as a possible verb: 줄이, 따라, 늘리, 되돌리.
MAX_VERB_STEM = 3
#: A sound-alike of a word the notes use, not found beside it, is kept only if the notes
#: use it at least this share as often as the typed word (사용량 in 55 notes is not the
#: singling of one note; 레플리카셋 in 2 notes may well be the replicaset of 9).
APART_SHARE = 0.1
#: ...and a far rarer one, or one of a verb, must be found beside it this many times more
#: often than chance (a common word shares notes with any word of the same documents:
#: 따라 turns up in 16 of taylor's 30 notes, 2.4 times chance).
APART_LIFT = 5.0
MAX_STEMS = 12
#: Forms of a compound's last part searched with the other parts in a row (never-returned).
MAX_PART_FORMS = 2
MAX_SOUNDS = 3
#: Most look-alikes with a word's consonants but not its vowels checked for being written
#: beside it (:meth:`Expander._near_sounds`).
MAX_NEAR = 60
#: ...and how alike the two must be spelled (difflib's ratio, the Hangul romanized).
NEAR_RATIO = 0.6
#: Most other forms of an English sound-alike searched with it (timeout: timeouts).
MAX_SOUND_FORMS = 2
MAX_INITIALS = 6
#: Korean words of grammar that name no topic, a closed class like the particles: bound
#: nouns (``수``, ``것``/``걸``, ``때``, ``데``), negation and degree adverbs (``안``, ``못``, ``더``,
#: ``잘``, ``좀``). In a question they weigh as little as its question words.
GRAMMAR_WORDS = frozenset("것 걸 게 거 수 때 데 줄 뿐 등 및 안 못 더 잘 좀 꼭 또 늘 왜".split())
#: Forms of a predicate searched (the most common first), and their weight.
MAX_FORMS = 8
FORM_WEIGHT = 0.8
#: Weight of a predicate's stem term (every form of the verb, :meth:`Expander._verb`).
VERB_WEIGHT = 0.8
#: Lexicon terms read per place a predicate's forms may start (``막`` starts many words).
MAX_FORM_SCAN = 200
#: A predicate whose forms are in more than this share of the notes names no topic
#: (``하나요``, ``있나요``, ``되나요``): it stays a question word.
COMMON_STEM_SHARE = 0.1
#: Particles of one letter after a noun (큐에, 훅을, 풀로).
ONE_LETTER_PARTICLES = frozenset("이 가 을 를 은 는 의 에 로 와 과 도 만".split())
#: Fields whose lexicon the variants are checked against.
LEXICON_FIELDS = ("title", "body")


@dataclass
class Variant:
    """One other form searched for a query word."""

    terms: tuple[str, ...]
    weight: float
    kind: str
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"terms": list(self.terms), "weight": round(self.weight, 3), "kind": self.kind,
                "why": self.why}


@dataclass
class WordPlan:
    """A query word as kb understood it: its terms, and what else it searches for."""

    text: str
    terms: tuple[str, ...]
    found: bool = True  # the typed terms are in the index
    #: An interrogative or a predicate that asks (``어떻게``, ``바뀌나요``): no topic, weighs little.
    question: bool = False
    variants: list[Variant] = field(default_factory=list)
    #: The form searched instead of the typed one, which matched nothing ("showing results for").
    correction: str = ""
    #: A predicate's stem (``줄이려면`` -> ``줄이``) and the most notes one of its forms is in.
    stem: str = ""
    stem_df: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.text,
            "terms": list(self.terms),
            "found": self.found,
            "question": self.question,
            "correction": self.correction,
            "stem": self.stem,
            "variants": [v.to_dict() for v in self.variants],
        }


#: Most entries of a table a long-lived caller keeps across searches (see :func:`kept`).
MAX_KEPT = 50_000


def kept(plans: dict[Any, Any] | None, name: str, most: int = MAX_KEPT) -> dict[Any, Any]:
    """A table a long-lived caller keeps across searches of one index version, beside the
    words' plans in the dict it passes as ``plans`` (``kb find``, ``kb lsp``, the server:
    :meth:`kb.core.Notebook.search`, which empties it when the index changes); started
    over when it holds more than ``most`` entries. A new table when there is no ``plans``."""
    if plans is None:
        return {}
    table = plans.get(name)
    if table is None or len(table) > most:
        table = plans[name] = {}
    return table


def poisson_tail(k: int, mean: float) -> float:
    """The chance of ``k`` or more events where ``mean`` are expected (Poisson)."""
    if k <= 0:
        return 1.0
    if k > mean + 12 * math.sqrt(mean) + 12:
        return 0.0  # far out in the tail (and the sum below would lose it in rounding)
    term = math.exp(-mean)
    below = 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return max(0.0, 1.0 - below)


def drop_narrower(plan: WordPlan) -> None:
    """Drop the glosses of a word that name something narrower: a phrase holding the word
    itself or another of its forms (``서버(dev server)``, ``서버(rust language server)`` when
    서버 is server; ``annotation(트레잇 어노테이션)`` beside ``annotation(어노테이션)``). The
    note glossed a kind of the thing, not its other spelling."""
    single = {plan.terms[0]} if len(plan.terms) == 1 else set()
    single.update(v.terms[0] for v in plan.variants if len(v.terms) == 1)
    if not single:
        return
    plan.variants[:] = [v for v in plan.variants if not (
        v.kind == "gloss" and len(v.terms) > 1 and not single.isdisjoint(v.terms))]


def posting_ids(m: Any) -> Any:
    """The ids of a fresh postings matcher, as ``m.all_ids()`` gives them, but read a block
    at a time from Whoosh's leaf matchers (its generator costs a few Python calls an id:
    ~0.2 ms a sound-alike's co-occurrence check at 1x); ``m.all_ids()`` itself for a kind
    of matcher not known here."""
    leaves = _leaves(m, 0)
    if leaves is None:
        return m.all_ids()
    out: list[int] = []
    for leaf, offset, excluded in leaves:
        ids: list[int] = []
        while not leaf._atend:  # from the start of its block: ids skipped so far were excluded
            if leaf._ids is None:
                leaf._read_ids()
            ids.extend(leaf._ids)
            leaf._i = leaf._blocklength
            leaf._next_block()
        if excluded:
            ids = [i for i in ids if i not in excluded]
        out.extend([i + offset for i in ids] if offset else ids)
    return out


def _leaves(m: Any, offset: int) -> list[tuple[Any, int, Any]] | None:
    """``(leaf matcher, id offset, ids it excludes)`` of a postings matcher: a segment's
    block matcher, maybe behind the filter of deleted documents, or several of those
    (a multi-segment index); None for any other kind."""
    from whoosh.matching.wrappers import FilterMatcher, MultiMatcher

    if isinstance(m, MultiMatcher):
        out = []
        for sub, more in zip(m.matchers, m.offsets, strict=True):
            found = _leaves(sub, offset + more)
            if found is None:
                return None
            out += found
        return out
    excluded = None
    if type(m) is FilterMatcher:
        if not m._exclude:
            return None
        excluded, m = m._ids, m.child
    if not all(hasattr(m, a) for a in ("_atend", "_ids", "_read_ids", "_next_block", "_blocklength")):
        return None
    return [(m, offset, excluded)]


def bm25_idf(df: int, n: int) -> float:
    """Whoosh's BM25 idf."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _typed_asking(text: str, term: str) -> bool:
    """A Hangul word typed with a question mark, analyzed whole, that ends as a predicate in
    the casual or polite style (``해?``, ``맞아?``, ``달라져?``, ``구해요?``): it asks. The notes,
    written in 합니다 or 한다, seldom use these forms, so by rarity they weighed as the topic.
    Not a noun with its particle (``도커란?`` is analyzed to ``도커``) nor one ending in a
    consonant (``롤백?``); the caller rules out loanwords (``서버?``)."""
    typed = text.strip()
    return (typed.endswith("?") and is_hangul_word(term) and typed.rstrip("?!.~") == term
            and ends_as_predicate(term))


class Expander:
    """Plans the variants of query words against one index reader (and its vocab tables)."""

    def __init__(self, reader: Any, vocab: Any, fields: tuple[str, ...],
                 plans: dict[Any, Any] | None = None, stop: Callable[[], None] | None = None) -> None:
        self.reader = reader
        #: Called before each word's plan and between its sound-alike keys: it may raise to
        #: abandon the search (see search.search); a plan half made is not kept.
        self.stop = stop
        #: Plans kept across searches of this index by a long-lived caller (see search.search).
        self.plans = plans
        self.vocab = vocab
        self.fields = fields
        self.n = max(1, reader.doc_count())
        #: Each term's note count, kept with the plans (it depends on the index only).
        self._df: dict[str, int] = kept(plans, "#df")
        self._docs: dict[str, frozenset[int] | None] = {}
        #: The English words each Hangul term sounds like (:meth:`english_sounds`).
        self._loans: dict[str, dict[str, int]] = kept(plans, "#loans")

    # ----------------------------------------------------------------- lexicon

    def df(self, term: str) -> int:
        """Notes with ``term`` in a title or body (the larger of the two counts)."""
        got = self._df.get(term)
        if got is None:
            reader = self.reader
            got = 0
            for f in LEXICON_FIELDS:
                if (f, term) in reader:
                    got = max(got, reader.doc_frequency(f, term))
            if not got and any((f, term) in reader for f in self.fields if f not in LEXICON_FIELDS):
                got = 1
            self._df[term] = got
        return got

    def _capped(self, weight: float, typed_df: int, df: int) -> float:
        if typed_df > 0 and df < typed_df:
            return weight * bm25_idf(typed_df, self.n) / bm25_idf(df, self.n)
        return weight

    # ----------------------------------------------------------------- planning

    def plan(self, text: str, terms: list[str]) -> WordPlan:
        """What ``text`` (analyzed to ``terms``) searches for; a copy of a kept plan when
        there is one (the caller adds to its variants)."""
        if self.plans is None:
            return self._plan(text, terms)
        key = (text, tuple(terms))
        kept = self.plans.get(key)
        if kept is None:
            if self.stop is not None:
                self.stop()
            kept = self.plans[key] = self._plan(text, terms)
        return replace(kept, variants=list(kept.variants))

    def _plan_variants(self, text: str, terms: list[str]) -> WordPlan:
        terms_t = tuple(terms)
        plan = WordPlan(text, terms_t)
        dfs = [self.df(t) for t in terms]
        plan.found = all(dfs)
        typed_df = min(dfs) if dfs else 0
        if len(terms) != 1:
            self._glosses(plan, " ".join(terms), typed_df)
            return plan
        term = terms[0]
        # ...a casual predicate typed with '?', unless it may be an English word in Hangul
        # (컨테이너?, 데이터?: nouns end in open syllables too; one syllable sounds like anything).
        asks = is_question_word(term) or (_typed_asking(plan.text, term) and not (
            len(term) > 1 and self.english_sounds(term)))
        if asks and is_hangul_word(term):
            # A word that ends as a question (줄이려면, 바뀌나요) is read as a verb; other words
            # are not (a noun such as 연산자 or 용도 parses as stem + ending too, and reading
            # every word costs ~10 ms a query).
            self._predicate(plan, term, typed_df)
        if (is_hangul_word(term) and term not in QUESTION_WORDS and term not in GRAMMAR_WORDS
                and self._verb(plan, term, typed_df, asks) and not typed_df):
            return plan  # 늘리고: a verb the notes write in other forms, no typo
        if (asks or term in GRAMMAR_WORDS) and not plan.stem:
            plan.variants.clear()
            plan.question = True
            return plan
        if plan.stem:
            return plan
        if term.isascii():
            self._latin(plan, term, typed_df)
        elif is_hangul_word(term):
            head = "" if typed_df else self._noun_head(term)
            if head:
                self._head(plan, head)  # 풀로: 풀 with a particle, not a typo
            else:
                self._hangul(plan, term, typed_df)
        elif is_choseong_only(term):
            self._initials(plan, term)
        else:
            tail = partial_tail(term)
            if tail is not None:
                self._partial(plan, *tail)
            elif not typed_df:
                reading = self._layout_reading(plan.text, to_latin_layout)  # ㅏㅕㅠㄷㅊ시
                if reading:
                    self._correct(plan, reading, "layout", "typed in Korean mode")
        return plan

    def _plan(self, text: str, terms: list[str]) -> WordPlan:
        plan = self._plan_variants(text, terms)
        drop_narrower(plan)
        return plan

    def _add(self, plan: WordPlan, terms: tuple[str, ...], weight: float, kind: str, why: str = "") -> bool:
        if terms == plan.terms or any(v.terms == terms for v in plan.variants):
            return False
        plan.variants.append(Variant(terms, weight, kind, why))
        return True

    def _correct(self, plan: WordPlan, terms: tuple[str, ...], kind: str, why: str) -> None:
        """The typed word matches nothing: search ``terms`` in its place, at full weight."""
        plan.correction = " ".join(terms)
        self._add(plan, terms, 1.0, kind, why)

    def _latin(self, plan: WordPlan, term: str, typed_df: int) -> None:
        if term[0] == "@" and len(term) > 1:
            # @Getter: the annotation as written first, the bare name after it (or in its
            # place when no note writes the @)
            bare = term[1:]
            df = self.df(bare)
            if df and not typed_df:
                self._correct(plan, (bare,), "shorter", "the name without @")
            elif df:
                weight = self._capped(PARTS_WEIGHT, typed_df, df)
                self._add(plan, (bare,), weight, "shorter", "the name without @")
            return
        self._compound_stems(plan, term, typed_df)  # self-healed -> self-healing
        joined = not typed_df or any(c in plan.text for c in "._-:/")  # not useEffect: written whole
        parts = tuple(analyze(plan.text)[1:]) if joined else ()  # create_file_writer too
        if len(parts) > 1 and all(self.df(p) for p in parts):
            # TFLiteConverter.from_saved_model, also written inside a longer name in the
            # notes (tf.lite.TFLiteConverter.from_saved_model): its parts in a row.
            self._add(plan, parts, PARTS_WEIGHT if typed_df else 1.0, "parts", "inside a longer name")
            if not typed_df:
                return
        if not typed_df and self._stems(plan, term, 0):
            # files, configs: not in the notes as typed, but their stem is (file, config)
            self._glosses(plan, term, 0)
            return
        if not typed_df:
            reading = self._layout_reading(plan.text, to_hangul_layout)
            if reading:
                self._correct(plan, reading, "layout", "typed in English mode")
                return
            fix = self._latin_typo(term, 0)
            if fix:
                self._correct(plan, (fix[0],), "fix", f"{fix[1]:g} letter from {term}")
                term = fix[0]
                typed_df = self.df(term)
            elif self._sounds(plan, term, 0, min_key=2):
                self._glosses(plan, term, 0)
                return
        elif typed_df <= TYPO_MAX_SHARE * self.n:
            fix = self._latin_typo(term, typed_df)
            if fix:
                self._add(plan, (fix[0],), TYPO_WEIGHT, "typo", f"{self.df(fix[0])} notes against {typed_df}")
        self._stems(plan, term, typed_df)
        self._glosses(plan, term, typed_df)
        self._sounds(plan, term, typed_df)

    def _hangul(self, plan: WordPlan, term: str, typed_df: int) -> None:
        if not typed_df and not self._has_prefix(term) and not self._splits(term):
            fix = self._hangul_typo(term, 0)
            if fix:
                self._correct(plan, (fix[0],), "fix", f"{fix[1]:g} from {term}")
                term, typed_df = fix[0], self.df(fix[0])
            else:
                reading = self._layout_reading(plan.text, to_latin_layout)
                if reading:
                    self._correct(plan, reading, "layout", "typed in Korean mode")
                    return
                if self._sounds(plan, term, 0, min_key=2):
                    return  # 넉스트 -> nuxt, 앵귤러 -> angular: the notes write it in English
                shorter = self._shorter(term)
                if shorter:
                    self._correct(plan, (shorter,), "shorter", f"the start of {term}")
                    term, typed_df = shorter, self.df(shorter)
                else:
                    return
        elif len(term) < 3:
            pass  # two syllables: real words one letter apart abound (교착/교차, 상태/상대)
        elif typed_df <= TYPO_MAX_SHARE * self.n:
            fix = self._hangul_typo(term, typed_df)
            if fix:
                self._add(plan, (fix[0],), self._spelling_weight(term, fix[0]), "typo",
                          f"{self.df(fix[0])} notes against {typed_df}")
        else:
            # Loanwords are spelled two ways in common use (디렉토리/디렉터리, 메세지/메시지):
            # the other spelling, one slip away, if the notes use it too.
            fix = self._hangul_typo(term, typed_df, max(2, typed_df // 4), 0.5)
            if fix:
                self._capped_add(plan, fix[0], self._spelling_weight(term, fix[0]), typed_df, "typo",
                                 "another spelling")
        self._glosses(plan, term, typed_df)
        # A two-syllable word of the notes is most often not a loanword (상태 is not santa):
        # its English look-alike must turn up beside it in some note.
        self._sounds(plan, term, typed_df, together=len(term) < 3)

    # ----------------------------------------------------------------- the mechanisms

    def _forms(self, stem: str) -> dict[str, int]:
        """The notes' forms of a predicate stem: terms that are the stem (or its last
        syllable with an ending fused in) followed by an ending of the grammar."""
        from .jamo import PREDICATE_ENDINGS

        found: dict[str, int] = {}
        for head in predicate_heads(stem):
            for f in LEXICON_FIELDS:
                n = 0
                for btext in self.reader.expand_prefix(f, head):
                    t = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                    rest = t[len(head):]
                    if (not rest or rest in PREDICATE_ENDINGS) and t not in found:
                        found[t] = self.df(t)
                    n += 1
                    if n >= MAX_FORM_SCAN:
                        break
        return found

    def _verb(self, plan: WordPlan, term: str, typed_df: int, asks: bool) -> bool:
        """A verb or adjective (``늘리고``, ``되돌리려면``, ``바꿔``): its stem's term, which the
        index files beside every form of it (``~늘리`` for ``늘려``, ``늘린다``, ``늘리기``;
        :func:`kb.analysis.predicate_stem`), and the stem as a word (``늘리는`` is indexed
        ``늘리``). Whether it was read as one."""
        word = plan.text.strip().rstrip("?!.~")
        if not is_hangul_word(word):
            word = term
        stem = predicate_stem(word, term) or predicate_stem(word, word)
        if not stem or (typed_df and not asks):
            return False  # a word the notes write as typed is most often a noun (생명주기)
        token = stem_term(stem)
        df = self.df(token)
        if not df:
            return False
        if df > COMMON_STEM_SHARE * self.n:
            return False  # 있고, 하나요: a predicate that names no topic (a question word)
        if not plan.stem and (asks or not typed_df):
            plan.stem, plan.stem_df = stem, max(df, typed_df)
        why = f"every form of {stem}-"
        self._add(plan, (token,), self._capped(VERB_WEIGHT, typed_df, df), "verb", why)
        if len(stem) >= 2 and stem != term and self.df(stem):
            self._capped_add(plan, stem, VERB_WEIGHT, typed_df, "verb", why)
        return True

    def _predicate(self, plan: WordPlan, term: str, typed_df: int) -> None:
        """A verb or adjective as typed (``막으려면``, ``바꿨는데``, ``돌릴``): its stem, if
        the notes use more of its forms than this one, and those forms."""
        best: tuple[int, int, str, dict[str, int]] | None = None
        for stem in predicate_stems(term):
            if len(stem) > len(term) - 2:
                continue  # 하나요 asks with 나요 (하 + 나요), it is not 하나 + 요
            forms = self._forms(stem)
            forms.pop(term, None)
            # A stem is a stem if the notes write it with an ending, or alone (the index
            # strips 는 from 줄이는) at least as often as the typed form: 크론 is no 크로 + ㄴ,
            # though the notes have 크롬 and 크롭.
            if not any(t.startswith(stem) and len(t) > len(stem) for t in forms) and (
                    forms.get(stem, 0) < max(typed_df, 1)):
                continue
            # ...and use its other forms as much as this one.
            if max(forms.values()) < typed_df:
                continue
            key = (len(forms), len(stem), stem, forms)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None:
            return
        stem, forms = best[2], best[3]
        top = max(forms.values())
        if top > COMMON_STEM_SHARE * self.n:
            return
        plan.stem, plan.stem_df = stem, max(top, typed_df)
        for t, _ in sorted(forms.items(), key=lambda x: -x[1])[:MAX_FORMS]:
            self._add(plan, (t,), FORM_WEIGHT, "verb", f"a form of {stem}-")

    def _noun_head(self, term: str) -> str:
        """The noun of an unknown word of two syllables that is a one-syllable noun and a
        one-letter particle (``풀로``, ``큐에``: the index keeps such words whole, as ``정의`` is
        no ``정`` + ``의``), if the notes have the noun; or ``""``."""
        if len(term) != 2 or term[1] not in ONE_LETTER_PARTICLES:
            return ""
        return term[0] if self.df(term[0]) else ""

    def _head(self, plan: WordPlan, head: str) -> None:
        """Search the noun in place of the unknown word (``풀`` for ``풀로``), and what the noun
        searches (``pool``), before any typo guess (``풀로`` is not ``풀려``)."""
        plan.correction = head
        self._add(plan, (head,), 1.0, "shorter", f"{head} + {plan.terms[0][1:]}")
        for v in self.plan(head, [head]).variants:
            self._add(plan, v.terms, v.weight, v.kind, v.why)

    def _splits(self, term: str) -> bool:
        """Whether the notes write the word as two (메시지큐 -> 메시지 큐; searched by the caller)."""
        return len(term) >= 3 and any(self.df(term[:i]) and self.df(term[i:]) for i in range(1, len(term)))

    def _has_prefix(self, term: str) -> bool:
        return any(next(iter(self.reader.expand_prefix(f, term)), None) is not None for f in LEXICON_FIELDS)

    def _stems(self, plan: WordPlan, term: str, typed_df: int) -> int:
        """English words with the same stem (``parsing`` -> ``parse``, ``parsed``), and the
        derived words a Porter stemmer would join to it (``authenticating`` ->
        ``authentication``, ``conditions`` -> ``conditional``: see
        :func:`kb.english.derived_lookups`); how many."""
        if self.vocab is None or len(term) < 3 or (plan.variants and plan.variants[-1].kind == "stem"):
            return 0
        found = []
        family = set(self.vocab.by_stem(light_stem(term)))
        for stem, prefix, endings in derived_lookups(term):
            family.update(o for o in self.vocab.by_stem(stem)
                          if o.startswith(prefix) and (not endings or o.endswith(endings)))
        for other in sorted(family):
            if other != term:
                df = self.df(other)
                if df:
                    found.append((df, other))
        found.sort(reverse=True)
        typed = typed_df or self.df(term)
        found = [(df, o) for df, o in found if not fragment(o, term, df, typed)]
        for df, other in found[:MAX_STEMS]:
            self._add(plan, (other,), self._capped(STEM_WEIGHT, typed_df, df), "stem", light_stem(term))
        return len(found)

    def _compound_stems(self, plan: WordPlan, term: str, typed_df: int) -> int:
        """Hyphenated compounds of the notes whose parts have the typed compound's parts'
        stems (``self-healed`` -> ``self-healing``, ``trade-offs`` -> ``trade-off``), as
        stem variants; how many. The vocab files only plain words under their stems, so
        the index's terms are read from the typed compound's first parts and the start of
        its last part's stem (``self-heal``)."""
        parts = term.split("-")
        if (len(parts) < 2 or not all(p.isalpha() and p.isascii() for p in parts)
                or (plan.variants and plan.variants[-1].kind == "stem")):
            return 0
        stems = [light_stem(p) for p in parts]
        last = parts[-1]
        common = 0
        while common < min(len(last), len(stems[-1])) and last[common] == stems[-1][common]:
            common += 1
        if common < 3:
            return 0  # too short a start to read from (the stem is the part)
        head = "-".join(parts[:-1]) + "-" + last[:common]
        found: dict[str, int] = {}
        for f in LEXICON_FIELDS:
            for n, btext in enumerate(self.reader.expand_prefix(f, head)):
                if n >= MAX_FORM_SCAN:
                    break
                other = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                if other == term or other in found:
                    continue
                others = other.split("-")
                if len(others) == len(parts) and [light_stem(o) for o in others] == stems:
                    found[other] = self.df(other)
        picks = sorted(((df, o) for o, df in found.items() if df), reverse=True)[:MAX_STEMS]
        for df, other in picks:
            self._add(plan, (other,), self._capped(STEM_WEIGHT, typed_df, df), "stem", "-".join(stems))
        if self.vocab is None:
            return len(picks)
        if all(self.df(p) for p in parts[:-1]):
            # never-returned for a note that writes "never returns", load-balanced for "load
            # balancing": the parts in a row, the last in the notes' commonest forms of its stem
            forms = sorted(((self.df(o), o) for o in self.vocab.by_stem(stems[-1]) if o != last),
                           reverse=True)
            weight = PARTS_WEIGHT if typed_df else STEM_WEIGHT
            for df, other in forms[:MAX_PART_FORMS]:
                if df and self._add(plan, (*parts[:-1], other), weight, "stem", "-".join(stems)):
                    picks.append((df, other))
        # auto-scaled for a note that writes autoscaling: the compound written as one word
        joined = "".join(parts)
        for other in self.vocab.by_stem(light_stem(joined)):
            df = self.df(other)
            if df and self._add(plan, (other,), self._capped(STEM_WEIGHT, typed_df, df), "stem",
                                "-".join(stems)):
                picks.append((df, other))
        return len(picks)

    def _glosses(self, plan: WordPlan, side: str, typed_df: int) -> None:
        if self.vocab is None:
            return
        for other, share in self.vocab.glosses(side):
            if phrase_gloss(side, other) or cited(side) or cited(other):
                continue  # 조건(agile manifesto): the gloss of a longer phrase, not of 조건
            terms = tuple(other.split())
            dfs = [self.df(t) for t in terms]
            if all(dfs):
                weight = self._capped(GLOSS_WEIGHT * share, typed_df, min(dfs))
                self._add(plan, terms, weight, "gloss", f"glossed {side}({other})")

    def _unsupported(self, term: str, typed_df: int, found: dict[str, int]) -> None:
        """Drop from ``found`` the look-alikes of a word the notes use that the notebook
        does not support: one not found beside it (:meth:`_together`) that is far rarer
        than it (사용량 in 55 notes is not the singling of one), or any not found beside a
        word the notes inflect as a verb (줄이 is 줄이기, 줄여, 줄인다, not during: a
        loanword takes 하다, not endings of its own)."""
        for other in [o for o, df in found.items() if df < APART_SHARE * typed_df]:
            if not self._together(term, other, TOGETHER_P, APART_LIFT):
                del found[other]
        if found and not term.isascii() and len(term) <= MAX_VERB_STEM and self._inflected(term, typed_df):
            for other in [o for o in found if not self._together(term, o, TOGETHER_P, APART_LIFT)]:
                del found[other]

    def _inflected(self, term: str, typed_df: int) -> bool:
        """Whether the notes write a Hangul word with the endings of a verb, in at least
        INFLECTED_FORMS forms that together are INFLECTED_SHARE as common as the word."""
        forms = self._forms(term)
        forms.pop(term, None)
        return len(forms) >= INFLECTED_FORMS and sum(forms.values()) >= INFLECTED_SHARE * typed_df

    def _together(self, a: str, b: str, p: float = LOOSE_P, lift: float = TOGETHER_LIFT) -> bool:
        """Whether the two terms turn up in the same notes far more often than chance would
        have it (폴링 and polling do; 상태 and sunday, both common, only by chance). A term in
        more than MAX_TOGETHER notes is not read."""
        df_a, df_b = self.df(a), self.df(b)
        if min(df_a, df_b) == 0 or max(df_a, df_b) > MAX_TOGETHER:
            return False
        expected = df_a * df_b / self.n
        most = min(df_a, df_b)  # they cannot share more notes than the rarer one is in
        if most < lift * expected or poisson_tail(most, expected) >= p:
            return False
        docs, other = self._body_docs(a), self._body_docs(b)
        if docs is None or other is None:  # a term in the title only: no body postings
            return False
        both = len(docs & other)
        return both > 0 and both >= lift * expected and poisson_tail(both, expected) < p

    def _body_docs(self, term: str) -> frozenset[int] | None:
        """The notes whose body has ``term`` (None: no body postings), read once a plan
        (a word's sound candidates are each checked against it)."""
        if term in self._docs:
            return self._docs[term]
        try:
            docs: frozenset[int] | None = frozenset(posting_ids(self.reader.postings("body", term)))
        except Exception:
            docs = None
        self._docs[term] = docs
        return docs

    def _sounds(self, plan: WordPlan, term: str, typed_df: int, min_key: int = 2,
                together: bool = False) -> int:
        """The same word in the other script, by its consonants, syllable shape and vowels
        (:func:`kb.jamo.sounds_like`); how many. A short skeleton says little (정의 ~ json,
        스위트 ~ set): with fewer than three consonant classes (or ``together``) the two
        spellings must also share notes more often than chance (:meth:`_together`),
        unless the word is not in the notes at all. Of a word the notes use, the look-alikes
        the notebook does not support are dropped (:meth:`_unsupported`); if none is left,
        one with its consonants may do (:meth:`_near_sounds`)."""
        if self.vocab is None:
            return 0
        latin = term.isascii()
        if latin:
            keys = latin_lookup_keys(term)
            forms = [term]
        else:
            if not could_be_loanword(term):
                return 0  # 짜느라 is no sunrays, 떠나자는 no dinosaurs
            # 그라파나 is analyzed as 그라파 (나 read as a particle): try the word as typed too.
            forms = [term]
            typed = plan.text.strip()
            if typed != term and is_hangul_word(typed) and typed.startswith(term):
                forms.append(typed)
            keys = {hangul_sound_key(f) for f in forms}
        keys = {k for k in keys if len(k) >= min_key}
        found: dict[str, int] = {}
        near: list[str] = []  # the same consonants, vowels that do not agree
        for key in sorted(keys):  # in a fixed order: ties below keep the first found
            if self.stop is not None:
                self.stop()
            for other in self.vocab.by_sound(key):
                if other.isascii() == latin or other in plan.terms or other in found or (
                        latin and not could_be_loanword(other)):
                    continue
                if any(sounds_like(other, f) if latin else sounds_like(f, other) for f in forms):
                    df = self.df(other)
                    check = together or (typed_df and len(key) < 3)
                    if df and (not check or self._together(term, other)):
                        found[other] = df
                elif not latin and len(key) >= 3 and len(near) < MAX_NEAR:
                    near.append(other)
        if typed_df and not plan.correction and found:
            self._unsupported(term, typed_df, found)
        if typed_df and not plan.correction and not found and near and not latin:
            return self._near_sounds(plan, term, typed_df, near)
        # Spellings the notebook uses together with the typed word first, and then only
        # those (러스트 is rust, which shares the Rust book's notes, not the commoner list,
        # last or rest), else those whose vowels pair as Korean writes them (인턴드 is
        # interned: ㅓ is an r-coloured vowel, intend would be 인텐드; :func:`vowel_misfits`),
        # the closest in length (스위트 is suite, not set), then the most common.
        size = len(romanize(term)) if latin is False else len(term)
        paired = typed_df and not plan.correction  # the word as typed, not a guessed fix
        apart = {other: not (paired and self._together(term, other)) for other in found}

        def closeness(item: tuple[str, int]) -> tuple[bool, int, int, int]:
            other, df = item
            misfits = vowel_misfits(other, term) if latin else vowel_misfits(term, other)
            return (apart[other], misfits,
                    abs((len(other) if latin is False else len(romanize(other))) - size), -df)

        best = [(df, t) for t, df in sorted(found.items(), key=closeness)[:MAX_SOUNDS]]
        if best and not apart[best[0][1]]:  # the notebook says which spelling goes with it
            best = [(df, t) for df, t in best if not apart[t]]
        weight = SOUND_WEIGHT if typed_df else ABSENT_SOUND_WEIGHT
        for df, other in best:
            self._add(plan, (other,), self._capped(weight, typed_df, df), "sound", "sounds alike")
        return len(best)

    def _english_forms(self, plan: WordPlan, picks: list[str], weight: float, typed_df: int) -> None:
        """The notes' other forms of the English words a Hangul word was found to be
        (타임아웃 ~ timeout: timeouts too, the title of the note that says it), as a typed
        English word gets them (:meth:`_stems`), a little lower."""
        if self.vocab is None:
            return
        for pick in picks:
            if not pick.isascii() or len(pick) < 3:
                continue
            pick_df = self.df(pick)
            forms = sorted(((self.df(o), o) for o in self.vocab.by_stem(light_stem(pick)) if o != pick
                            and not fragment(o, pick, self.df(o), pick_df)), reverse=True)
            for df, other in forms[:MAX_SOUND_FORMS]:
                if df:
                    self._add(plan, (other,), self._capped(weight * STEM_WEIGHT, typed_df, df), "stem",
                              f"a form of {pick}")

    def _near_sounds(self, plan: WordPlan, term: str, typed_df: int, near: list[str]) -> int:
        """No look-alike sounds quite like the word, but these have its consonants: those
        spelled much like it (romanized, :data:`NEAR_RATIO`) that the notebook writes beside
        it far beyond chance are its other spelling all the same (타임아웃 ~ timeout, 버튼 ~
        button: vowels spelled by ear; not padding, which shares 버튼's consonants and
        notes, but not its letters)."""
        from difflib import SequenceMatcher

        latin = term.isascii()
        spelled = term if latin else romanize(term)
        linked = []
        for other in near:
            match = SequenceMatcher(None, spelled, romanize(other) if latin else other)
            if match.real_quick_ratio() < NEAR_RATIO or match.quick_ratio() < NEAR_RATIO:
                continue  # bounds of ratio(), cheaper
            ratio = match.ratio()
            if ratio >= NEAR_RATIO and self._together(term, other, TOGETHER_P, APART_LIFT):
                linked.append((-ratio, other))
        best = [other for _, other in sorted(linked)[:MAX_SOUNDS]]
        # timeoutid (timeoutId) beside timeout: an identifier made of the look-alike and
        # another word, not another spelling of the word
        best = [o for o in best if not any(fused(o, w, self.df) for w in best if w != o)]
        for other in best:
            self._add(plan, (other,), self._capped(SOUND_WEIGHT, typed_df, self.df(other)), "sound",
                      "its consonants, and written beside it")
        self._english_forms(plan, best, SOUND_WEIGHT, typed_df)
        return len(best)

    def english_sounds(self, term: str) -> dict[str, int]:
        """The English terms of the notes a Hangul word sounds like (:func:`sounds_like`),
        each with its note count, the commonest first (no test of being written beside it);
        kept per term."""
        got = self._loans.get(term)
        if got is None:
            key = hangul_sound_key(term)
            found = {o for o in self.vocab.by_sound(key) if o.isascii() and sounds_like(term, o)} if (
                self.vocab is not None and key and could_be_loanword(term)) else set()
            ranked = sorted(((self.df(o), o) for o in found), reverse=True)
            got = self._loans[term] = {o: df for df, o in ranked if df}
        return got

    def _loan_sounds(self, term: str) -> Any:
        """The English words a Hangul word is the Hangul spelling of, if it is a loanword
        (:meth:`english_sounds`; none for a skeleton of one consonant class)."""
        return self.english_sounds(term).keys() if len(hangul_sound_key(term)) >= 2 else {}.keys()

    def _spelling_weight(self, term: str, other: str) -> float:
        """The weight of a Hangul look-alike of a word the notes use: a guess at a slip
        (TYPO_WEIGHT), or, when both sound like the same English word of the notes, the
        word's other spelling (디렉토리/디렉터리: directory), nearly the word itself."""
        same = self._loan_sounds(term) & self._loan_sounds(other)
        return SPELLING_WEIGHT if same else TYPO_WEIGHT

    def _other_loanword(self, term: str, cand: str) -> bool:
        """Whether a Hangul look-alike of a Hangul word is another word, not its spelling:
        the typed word sounds like English words of the notes and the look-alike like none
        of them (스트링 is string, 스트림 stream; 메세지 and 메시지 are both message)."""
        typed = self._loan_sounds(term)
        return bool(typed) and typed.isdisjoint(self._loan_sounds(cand))

    def _best(self, term: str, candidates: list[str], max_dist: float,
              min_df: int) -> tuple[str, float] | None:
        best: tuple[float, int, str] | None = None
        hangul = is_hangul_word(term)
        for cand in set(candidates):
            if cand == term or abs(len(cand) - len(term)) > 2:
                continue
            if hangul and len(cand) == len(term):
                d = syllable_distance(term, cand, max_dist)
            else:
                d = typo_distance(term, cand)
            if d > max_dist:
                continue
            df = self.df(cand)
            if df < min_df:
                continue
            key = (d, -df, cand)
            if (best is None or key < best) and not (hangul and self._other_loanword(term, cand)):
                best = key
        return (best[2], best[0]) if best else None

    def _hangul_typo(self, term: str, typed_df: int, min_df: int | None = None,
                     max_dist: float | None = None) -> tuple[str, float] | None:
        """The closest Hangul term by jamo (ㅐ/ㅔ, 받침 and other slips cheaper), looked
        up by the word's initials and the initials a slip would change; far more common
        than the typed word unless ``min_df`` says otherwise."""
        if self.vocab is None or len(term) < 2:
            return None
        if max_dist is None:
            max_dist = 0.5 if len(term) <= 3 else 1.0
        candidates: list[str] = []
        for key in choseong_variants(choseong(term)):
            candidates.extend(t for _, t in self.vocab.by_initials(key))
        if min_df is None:
            min_df = max(1, int(TYPO_MIN_RATIO * typed_df)) if typed_df else 1
        return self._best(term, candidates, max_dist, min_df)

    def _capped_add(self, plan: WordPlan, term: str, weight: float, typed_df: int, kind: str,
                    why: str) -> None:
        self._add(plan, (term,), self._capped(weight, typed_df, self.df(term)), kind, why)

    def _latin_typo(self, term: str, typed_df: int) -> tuple[str, float] | None:
        """The closest English term one letter away (two swapped letters count as one),
        looked up by its sorted letters (swaps), with a letter more or less, and by sound."""
        if self.vocab is None or len(term) < 4 or not term.isalpha():
            return None
        key = letters_key(term)
        candidates = list(self.vocab.by_letters(key))
        for i in range(len(key)):
            if i == 0 or key[i] != key[i - 1]:
                candidates.extend(self.vocab.by_letters(key[:i] + key[i + 1:]))
        for k in latin_sound_keys(term):
            candidates.extend(self.vocab.by_sound(k))
        candidates = [c for c in candidates if c.isascii()]
        min_df = max(1, int(TYPO_MIN_RATIO * typed_df)) if typed_df else 1
        return self._best(term, candidates, 1.0, min_df)

    def suggest(self, term: str, limit: int = 3) -> list[str]:
        """Close words of the notes for a word that matched nothing (for "did you mean"):
        looser than a correction, and only for words long enough to be mistyped."""
        if self.vocab is None:
            return []
        if term.isascii():
            if len(term) < 4 or not term.isalpha():
                return []
            key = letters_key(term)
            cands = list(self.vocab.by_letters(key))
            for i in range(len(key)):
                cands.extend(self.vocab.by_letters(key[:i] + key[i + 1:]))
            for k in latin_sound_keys(term):
                cands.extend(self.vocab.by_sound(k))
            cands = [c for c in cands if c.isascii()]
            max_dist = 2.0 if len(term) >= 6 else 1.0
        elif is_hangul_word(term) and len(term) >= 2:
            cands = [t for key in choseong_variants(choseong(term)) for _, t in self.vocab.by_initials(key)]
            max_dist = 1.5
        else:
            return []
        scored = []
        for cand in set(cands):
            if cand != term and abs(len(cand) - len(term)) <= 2:
                d = typo_distance(term, cand)
                if d <= max_dist and self.df(cand):
                    scored.append((d, -self.df(cand), cand))
        return [c for _, _, c in sorted(scored)[:limit]]

    def _layout_reading(self, text: str, convert: Any) -> tuple[str, ...] | None:
        """The word typed with the keyboard in the other mode, if the notes have it. Four
        keys at least, and in Hangul whole syllables, two or more: a short acronym reads
        as some Korean word by chance (``CKA`` -> ``참``)."""
        word = text.strip()
        other = convert(word)
        if not other or len(other if other.isascii() else word) < 4:
            return None
        if not other.isascii() and (len(other) < 2 or not is_hangul_word(other)):
            return None
        terms = tuple(query_terms(other))
        if terms and all(self.df(t) for t in terms):
            return terms
        return None

    def _shorter(self, term: str) -> str | None:
        """The longest start (two syllables or more) of an unknown Hangul word that the
        notes have: an ending the particle table does not know (``확인하나요`` -> ``확인``)."""
        for k in range(len(term) - 1, 1, -1):
            if self.df(term[:k]):
                return term[:k]
        return None

    def _initials(self, plan: WordPlan, initials: str) -> None:
        """``ㅋㅂㄴㅌㅅ``: the notes' words with these initials, the most common first;
        words that only start with them if none has exactly these."""
        if self.vocab is None:
            return
        found = [(self.df(t), t) for _, t in self.vocab.by_initials(initials)]
        kind = "initials"
        if not any(df for df, _ in found):
            found = [(self.df(t), t) for _, t in self.vocab.by_initials(initials, whole=False, limit=200)]
        found = sorted((x for x in found if x[0]), reverse=True)[:MAX_INITIALS]
        if not found:
            return
        top = found[0][0]
        plan.correction = found[0][1]
        for df, t in found:
            self._add(plan, (t,), max(0.3, df / top), kind, f"{choseong(t)}")

    def _partial(self, plan: WordPlan, head: str, initial: str) -> None:
        """``쿠버네ㅌ``: words that start with ``쿠버네`` and go on with a syllable starting with ㅌ."""
        found: dict[str, int] = {}
        for f in LEXICON_FIELDS:
            for btext in self.reader.expand_prefix(f, head):
                t = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                if len(t) > len(head) and choseong(t[len(head)]) == initial:
                    found[t] = self.df(t)
                if len(found) >= 200:
                    break
        best = sorted(((df, t) for t, df in found.items() if df), reverse=True)[:MAX_INITIALS]
        if best:
            plan.correction = best[0][1]
            top = best[0][0]
            for df, t in best:
                self._add(plan, (t,), max(0.3, df / top), "initials", f"{head}{initial}")


def fused(longer: str, head: str, df: Any) -> bool:
    """Whether ``longer`` is ``head`` and another word of the notes written as one name
    (``timeoutid`` = timeout + id, ``examplegen`` = example + gen, from ``timeoutId``,
    ``ExampleGen``), not a form of ``head`` (``timeouts``, ``conditional``): it is not filed
    under ``head``'s stem, and the rest is a word at least as common as the whole
    (``df``: a term's number of notes)."""
    if len(longer) <= len(head) or not longer.startswith(head) or not longer.isascii():
        return False
    rest = longer[len(head):]
    return (len(rest) >= 2 and light_stem(longer) != light_stem(head)
            and df(rest) >= max(1, df(longer)))


#: Korean syllables an English word of a gloss takes at least (섭동법 (perturbation method),
#: 기계어 (machine code)); a gloss with more English words names a longer phrase.
SYLLABLES_PER_WORD = 2


def phrase_gloss(side: str, other: str) -> bool:
    """Whether a gloss pairs one Korean word with an English phrase too long for it, which
    glossed the phrase the word ends (``Agile이 될 조건 (Agile Manifesto)`` gives 조건 ~
    agile manifesto; ``순서 (total ordering)``, ``사고 (algorithmic thinking)``): more English
    words of three letters or more than the word has pairs of syllables, unless the two
    sound alike (a loanword: 서비스어카운트 ~ service account)."""
    hangul, latin = (side, other) if other.isascii() else (other, side)
    if " " in hangul or not latin.isascii() or not is_hangul_word(hangul):
        return False
    words = [w for w in latin.split() if len(w) >= 3]
    if len(words) <= max(1, -(-len(hangul) // SYLLABLES_PER_WORD)):
        return False
    from .vocab import sounds_alike

    return not sounds_alike(hangul, latin) and not sounds_alike(hangul, words[-1])


#: Endings of a web address or a file name: ``결과(thestartupbible.com)`` cites a source,
#: ``이미지(facebook-logo.png)`` names a file; neither glosses the word.
_CITED = frozenset("com org net io kr co dev html htm png jpg jpeg gif svg pdf".split())


def cited(side: str) -> bool:
    """Whether a gloss's side is a web address or a file name (``support.apple.com``)."""
    head, dot, tail = side.rpartition(".")
    return bool(dot) and head[-1:].isalnum() and tail in _CITED


#: A form of a word far rarer than it (this many times) and shorter is a fragment.
FRAGMENT_RATIO = 10


def fragment(other: str, term: str, df: int, term_df: int) -> bool:
    """Whether ``other``, filed under ``term``'s stem, is a fragment of it rather than a
    form: shorter and far rarer (``tim``, ``imag``, ``typ``, ``chang`` for time, image,
    type, change: the stemmer's stem, written as a name in some code), not the word a
    form is built on (``test`` for testing is commoner than it)."""
    return len(other) < len(term) and df * FRAGMENT_RATIO < term_df
