"""Search: a forgiving query parser, Korean-aware term expansion, ranking (snippets: kb/snippets.py).

Query syntax (never raises; what it cannot read is searched as plain words):

==================  ===================================================
``rag 파드``         every word must match (if fewer than a page have both, then notes with
                     one, the rarer counting more; if none has all, any word; with a notice)
``"exact phrase"``   the words in this order
``exec*``            prefix
``-word``, ``NOT w``  exclude (``-l``, ``-it``, ``--as`` are flags: code; so is
                     ``-outform`` if the notes write it, see _written_flags)
``a OR b``           either (binds the two neighbouring words)
``tag:rag``          notes with this tag (``tags:`` too)
``title:word``       only in titles (``body:``, ``path:`` likewise)
==================  ===================================================

Each word goes through the same analyzer as the notes (``API를`` -> ``api``,
``파드가`` -> ``파드``). A Hangul term then also matches the indexed terms that
start with it (``워크플로`` finds ``워크플로우``), weighted below the exact stem, so
endings the particle table does not know are still found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import proximity
from .aliases import AliasTable, load_groups
from .analysis import STEM_MARK, iter_terms, query_terms
from .expand import WordPlan, kept
from .index.schema import TEXT_FIELDS, stored_listed, stored_row
from .index.sync import open_index
from .notes import read_body_at
from .plain import line_at, snippet_lines
from .snippets import SNIPPET_CHARS, snippet_and_first, starts_hangul
from .topic import HEADING_POOL

if TYPE_CHECKING:
    from whoosh.searching import Searcher

    from .config import Notebook
    from .noterow import NoteRow
    from .notes import Note

#: Weight of a prefix expansion against the exact stem.
PREFIX_WEIGHT = 0.5
#: Weight of an alias (쿠버네티스 for k8s) and of a compound split (퀵 정렬 for 퀵정렬).
ALIAS_WEIGHT = 0.8
COMPOUND_WEIGHT = 0.9
#: Fields where the other forms of a word (:mod:`kb.expand`) are searched.
VARIANT_FIELDS = ("title", "body", "pathtext", "tagtext")
#: Variants that are other forms of the typed word: a note scores by its best form, and
#: this share of the others (one that uses two forms is a little more about the word).
FORM_KINDS = frozenset(("stem", "verb", "learned"))
FORMS_TIEBREAK = 0.2
#: In a query written all in Latin letters, a word found in several fields of a note (the
#: title, the path that repeats it, the tags, the body) scores as its best field plus this
#: share of the others, not their sum: a word's evidence saturates across a note's fields
#: (as BM25F, and FTS5's bm25 over weighted columns, count it), so a common word in a
#: sibling's title and path does not outweigh a rarer word the answer holds.
FIELDS_TIEBREAK = 0.5
#: Extra weight of notes where the query's words stand together as a phrase.
PHRASE_BOOST = 1.5
#: ...and, in a longer query, where two neighbouring words do.
PAIR_BOOST = 0.5
#: Most terms one Hangul prefix expands to (the most frequent are kept).
MAX_EXPANSIONS = 64
#: A longer query is cut, with a notice: a pasted page must not take seconds, nor
#: build a query deep enough to exhaust Python's recursion limit in Whoosh.
MAX_QUERY_WORDS = 32
MAX_QUERY_CHARS = 500
#: A related note scores at least this share of the most related one.
RELATED_MIN_SHARE = 0.2
_FIELD_ALIASES = {"tag": "tag", "tags": "tag", "title": "title", "body": "body", "path": "pathtext"}


#: Most notes' snippet text a long-lived caller keeps (see :func:`kb.expand.kept`), and the
#: longest note kept (with its text: a few MB at most).
MAX_KEPT_LINES = 128
MAX_KEPT_CHARS = 64_000


@dataclass
class Hit:
    """One ranked note. ``snippet`` is plain text; ``highlights`` are spans in it."""

    slug: str
    path: str
    title: str
    tags: list[str]
    score: float
    snippet: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    #: The line of the file (frontmatter counted, from 1) where the snippet's first match is.
    line: int | None = None

    @classmethod
    def from_result(cls, r: Any) -> Hit:
        """A hit from one Whoosh result (its stored fields and score)."""
        return cls.of_row(stored_row(r.fields()), r.score)

    @classmethod
    def of_row(cls, row: NoteRow, score: float | None) -> Hit:
        return cls(slug=row.slug, path=row.path, title=row.title, tags=list(row.tags),
                   score=float(score or 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "path": self.path,
            "tags": self.tags,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "line": self.line,
        }


@dataclass
class ExplainedHit:
    """A top hit and the indexed terms of the query it holds, as ``(field, term)``."""

    slug: str
    score: float
    matched: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "score": round(self.score, 4),
                "matched": [{"field": f, "term": t} for f, t in self.matched]}


@dataclass
class Explanation:
    """How kb understood a query (``kb search --explain``): each word with what else it
    searched for, how the words were combined, and the terms each top hit matched."""

    words: list[WordPlan]
    combined: str
    hits: list[ExplainedHit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"words": [w.to_dict() for w in self.words], "combined": self.combined,
                "hits": [h.to_dict() for h in self.hits]}


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    notice: str = ""
    terms: set[str] = field(default_factory=set)
    suggestions: list[str] = field(default_factory=list)
    #: Nothing to search for (``''``, only excluded words): a bad query, not "nothing found".
    no_words: bool = False
    explanation: Explanation | None = None


NO_WORDS = "the query has no words to search for"


# --------------------------------------------------------------------------- parsing


@dataclass
class Clause:
    """One parsed piece of a query."""

    kind: str  # "word", "phrase", "prefix", "tag", "meta" (a frontmatter field)
    text: str
    fieldname: str | None = None
    negated: bool = False
    alternatives: list[Clause] = field(default_factory=list)  # OR-ed with this one
    #: Excluded as ``-word`` where ``word`` could be a command's option (``-outform``):
    #: read as a flag instead if the notes write it (:func:`_written_flags`).
    dashed: bool = False


_TOKEN_RE = re.compile(r'"([^"]*)"|(\S+)')


def parse_query(text: str) -> list[Clause]:
    """Clauses of a query string. Total: any text gives a (maybe empty) list."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if text.count('"') % 2:
        text = text.replace('"', " ")
    clauses: list[Clause] = []
    pending_or = False
    negate_next = False
    for m in _TOKEN_RE.finditer(text):
        phrase, raw = m.group(1), m.group(2)
        if phrase is not None:
            clause: Clause | None = Clause("phrase", phrase) if phrase.strip() else None
        else:
            assert raw is not None
            if raw == "OR":
                pending_or = bool(clauses)
                continue
            if raw in ("AND", "&&"):
                continue
            if raw in ("NOT", "-"):
                negate_next = True
                continue
            clause = _parse_word(raw)
        if clause is None:
            continue
        if negate_next:
            clause.negated = True
            negate_next = False
        if pending_or and clauses and not clause.negated and not clauses[-1].negated:
            clauses[-1].alternatives.append(clause)
        else:
            clauses.append(clause)
        pending_or = False
    return clauses


def _is_flag(raw: str) -> bool:
    """Whether ``-…`` is a command-line flag (code, searched as written) rather than an
    excluded word: ``--dry-run``; a short flag of one or two ASCII letters or digits
    (``-l``, ``-m``, ``-it``, ``-9``: excluding a letter or a number means nothing); a
    flag with a value (``-n=kube-system``) or starting with a digit (``-9``, ``-1d``)."""
    rest = raw[1:]
    return (rest.startswith("-") or "=" in rest or rest[:1].isdigit()
            or (len(rest) <= 2 and rest.isascii() and rest.isalnum()))


#: What an option written with one dash looks like (``-outform``, ``-productVersion``).
_OPTION_RE = re.compile(r"-[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def _parse_word(raw: str) -> Clause | None:
    negated = dashed = False
    if raw.startswith("-") and len(raw) > 1 and not _is_flag(raw):
        negated, dashed, raw = True, bool(_OPTION_RE.fullmatch(raw)), raw[1:]
    raw = raw.strip("()[]{}")
    name, sep, value = raw.partition(":")
    field_name = _FIELD_ALIASES.get(name.lower()) if sep else None
    if sep and not field_name and value.strip('"') and name and name.isprintable():
        # Any other frontmatter field: `category:개념`, `status:draft`.
        return Clause("meta", value.strip('"'), fieldname=name.lower(), negated=negated)
    if field_name:
        value = value.strip('"')
        if not value:
            return None
        if field_name == "tag":
            return Clause("tag", value.lstrip("#").lower(), negated=negated)
        raw = value
    if raw.endswith("*") and len(raw.rstrip("*")) > 0:
        return Clause("prefix", raw.rstrip("*"), fieldname=field_name, negated=negated)
    raw = raw.strip("*")
    if not raw:
        return None
    return Clause("word", raw, fieldname=field_name, negated=negated, dashed=dashed and not field_name)


# --------------------------------------------------------------------------- query building


class _Builder:
    """Turns clauses into Whoosh queries against one searcher's lexicon."""

    def __init__(self, searcher: Searcher, aliases: AliasTable | None = None, vocab: Any = None,
                 expand: bool = True, plans: dict[Any, Any] | None = None,
                 learned: Any = None, stop: Callable[[], None] | None = None) -> None:
        from whoosh.query import Or

        from .expand import Expander

        # Whoosh preloads every posting of an OR into arrays on small segments
        # (PreloadedOr); the plain union tree gives the same scores ~15% faster here.
        Or.matcher_type = Or.DEFAULT_MATCHER
        self.searcher = searcher
        self.reader = searcher.reader()
        self.aliases = aliases
        self.terms: set[str] = set()  # every concrete term the query can match (for snippets)
        #: A term's prefix expansions per field, kept with the plans (they depend on the index only).
        self._expansions: dict[tuple[str, str], list[tuple[str, float]]] = kept(plans, "#expansions")
        #: How each plain query word was understood (``kb search --explain``), by its text.
        self.plans: dict[str, WordPlan] = {}
        #: Runs of Hangul words read as one English phrase (:mod:`kb.phrase`), for --explain.
        self.runs: list[WordPlan] = []
        #: ...and the phrases of those runs whose words search their English words already:
        #: notes where they stand in a row rank higher (by the clauses' key, as units).
        self.run_rows: dict[tuple[str, ...], list[Any]] = {}
        self.units: dict[tuple[str, ...], Any] = {}  # see _units
        self.expander = Expander(self.reader, vocab, TEXT_FIELDS, plans, stop) if expand else None
        #: The words the notebook uses together across scripts (:mod:`kb.assoc`), or None.
        self.learned = learned if expand else None
        #: Whether every word of the query is written in Latin letters (see _guess_kinds).
        self.latin_query = False

    def word_weight(self, clause: Clause) -> float:
        """A word's weight in a soft AND: the idf of its rarest typed term (or of the form
        searched in its place), so common words (``어떻게``, ``사용``) weigh little; an English
        word's, of its commonest form (``verified`` weighs as ``verify``)."""
        from .expand import bm25_idf

        plan = self.plans.get(clause.text)
        n = self.expander.n if self.expander is not None else max(1, self.reader.doc_count())
        if plan is None or self.expander is None:
            terms = query_terms(clause.text)
            dfs = [max(self.reader.doc_frequency(f, t) for f in ("title", "body")) for t in terms]
        elif plan.stem:
            dfs = [plan.stem_df]  # 줄이려면: as rare as the predicate, not as this form of it
        elif plan.found:
            dfs = [self.expander.df(t) for t in plan.terms]
            if len(dfs) == 1:
                # verified: as rare as its commonest form (verify), as Porter's one term for
                # them all weighs; a rare inflection typed does not make the word rarer.
                dfs = [max([dfs[0], *(self.expander.df(v.terms[0]) for v in plan.variants
                                      if v.kind == "stem" and len(v.terms) == 1)])]
        else:
            dfs = [self.expander.df(t) for t in plan.correction.split()] or [0]
        df = min(dfs) if dfs else 0
        weight = bm25_idf(df, n) if df else bm25_idf(1, n)
        if plan is not None and plan.question:
            return weight * QUESTION_WEIGHT
        if plan is not None and plan.stem:
            return weight * PREDICATE_WEIGHT
        return weight

    def explanation(self, q: Any) -> Explanation:
        """The plans of the query's words and how they were combined, for ``--explain``."""
        soft = _soft_node(q)
        if soft is not None:
            combined = ("notes holding at least half of the words' weight, ranked by how much of it "
                        "they hold (a word's weight is its rarity)")
            if not soft.min_share:
                combined = "notes with any of the words, ranked by how much of the words' weight they hold"
            elif soft.min_share >= 1.0:
                combined = "every word must match; notes whose title or path holds them first"
            words = ", ".join(f"{t} {w:.1f}" for t, w in zip(soft.labels, soft.weights, strict=False))
            combined += f": {words}" if words else ""
            from .scoring import COORD_POWER, LATIN_COORD_POWER

            if soft.coord == LATIN_COORD_POWER and soft.min_share < 1.0:
                combined += ("; all in Latin letters: a note missing a word ranks far lower (the share "
                             f"held counts to the power {LATIN_COORD_POWER:g}, not {COORD_POWER:g})")
        else:
            combined = "every word must match"
        if soft is not None and _asks(self):
            from .topic import HEADING_BONUS

            combined += ("; a question: a word the notes use once where they use it (the asker's "
                         "wording) weighs less than one they come back to (a topic), and a note "
                         f"whose headings hold the words' weight scores up to {1 + HEADING_BONUS:g} "
                         "times more (headings: the terms they hold)")
        kinds = _guess_kinds(self)
        guessed = [label for label in soft.labels if _guesses(self, label, kinds)] if soft and kinds else []
        if guessed:
            from .scoring import GUESS_CREDIT

            what = ("a guessed translation of it (gloss, learned)" if kinds == GUESS_KINDS
                    else "it in Hangul (alias, sound-alike, gloss, learned)")
            combined += (f"; {', '.join(guessed)}: held at {GUESS_CREDIT:g} of its weight by a note "
                         f"that has only {what}, not the word")
        return Explanation([*self.plans.values(), *self.runs], combined)

    def has_term(self, term: str, fields: Iterable[str] = ("title", "body")) -> bool:
        return any((f, term) in self.reader for f in fields)

    def word_query(self, terms: list[str], fields: tuple[str, ...], text: str | None = None) -> Any:
        """One query word (already analyzed): its terms, compound splits, aliases, and the
        variants :mod:`kb.expand` plans for it (``text``: the word as typed)."""
        from whoosh.query import And, DisjunctionMax, NullQuery, Or, Phrase

        from .expand import Variant, WordPlan

        parts = [self.term_query(t, fields) for t in terms]
        base = NullQuery if any(p is NullQuery for p in parts) else (
            parts[0] if len(parts) == 1 else And(parts))
        alts: list[Any] = [] if base is NullQuery else [base]
        plan = WordPlan(text or " ".join(terms), tuple(terms))
        if self.expander is not None and text is not None:
            plan = self.expander.plan(text, terms)
        if text is not None:
            self.plans.setdefault(text, plan)
        if len(terms) > 1 and base is not NullQuery and all(t.isascii() for t in terms):
            # Arc::clone, v-bind:class: the parts as written, side by side, rank first.
            alts.extend(Phrase(f, list(terms), boost=PHRASE_BOOST) for f in ("title", "body"))
        # 퀵정렬 typed for notes that write 퀵 정렬 (loadbalancer for load balancer, when the
        # notes lack it whole): split where both halves are words.
        latin_split = len(terms) == 1 and terms[0].isalpha() and terms[0].isascii() and not plan.found
        if len(terms) == 1 and (starts_hangul(terms[0]) or latin_split) and len(terms[0]) >= 3:
            t = terms[0]
            shortest = 3 if latin_split else 1
            for i in range(shortest, len(t) - shortest + 1):
                a, b = t[:i], t[i:]
                if self.has_term(a) and self.has_term(b):
                    for f in fields:
                        if f in ("title", "body"):
                            alts.append(Phrase(f, [a, b], boost=COMPOUND_WEIGHT))
                    self.terms.update((a, b))
                    plan.variants.append(Variant((a, b), COMPOUND_WEIGHT, "split"))
        if self.learned is not None and text is not None and fields == TEXT_FIELDS:
            from .assoc import add_learned

            add_learned(plan, self.learned, self.expander)
        seen = {plan.terms}
        if self.aliases is not None and fields == TEXT_FIELDS:
            # the aliases of the word, or of the form searched in its place (ㅋㅂㄴㅌㅅ -> 쿠버네티스)
            corrected = tuple(plan.correction.split())
            aliases = self.aliases.aliases(tuple(terms)) + (
                self.aliases.aliases(corrected) if corrected and corrected != tuple(terms) else [])
            for alias in aliases:
                if alias in seen:
                    continue
                sub = [self.term_query(t, fields, weight=ALIAS_WEIGHT) for t in alias]
                if all(q is not NullQuery for q in sub):
                    seen.add(alias)
                    plan.variants.append(Variant(alias, ALIAS_WEIGHT, "alias"))
                    if len(sub) == 1:
                        alts.append(sub[0])
                    else:
                        alts.extend(Phrase(f, list(alias), boost=ALIAS_WEIGHT)
                                    for f in ("title", "body"))
        forms: list[Any] = []
        named = _named_stems(plan)
        for v in list(plan.variants):
            if v.kind in ("split", "alias"):
                continue
            if v.terms in seen or (named and v.kind == "sound" and not _same_stem(v.terms, named)):
                plan.variants.remove(v)
                continue
            seen.add(v.terms)
            node = self.variant_query(v.terms, fields, v.weight)
            if node is not NullQuery:
                (forms if v.kind in FORM_KINDS else alts).append(node)
        if forms:
            # parse, parsing, parsed: one word in several forms scores as its best form, not
            # as their sum (a note is not more about parsing for using all three).
            if base is not NullQuery:
                alts.remove(base)
                forms.insert(0, base)
            alts.insert(0, forms[0] if len(forms) == 1 else DisjunctionMax(forms, tiebreak=FORMS_TIEBREAK))
        if not alts:
            return NullQuery
        return alts[0] if len(alts) == 1 else Or(alts)

    def variant_query(self, terms: tuple[str, ...], fields: tuple[str, ...], weight: float) -> Any:
        """Another form of a query word: one term, or the terms as a phrase; searched in the
        title and the body only, as it is (no prefix expansion: it is a guess already)."""
        from whoosh.query import NullQuery, Or, Phrase, Term

        self.terms.update(terms)
        if len(terms) == 1:
            subs = [Term(f, terms[0], boost=weight) for f in VARIANT_FIELDS
                    if f in fields and (f, terms[0]) in self.reader]
            if not subs:
                return NullQuery
            if self.latin_query and len(subs) > 1:
                return self.across_fields(subs)
            return subs[0] if len(subs) == 1 else Or(subs)
        phrases = [Phrase(f, list(terms), boost=weight) for f in ("title", "body") if f in fields]
        if not phrases:
            return NullQuery
        return phrases[0] if len(phrases) == 1 else Or(phrases)

    def expand(self, fieldname: str, term: str) -> list[tuple[str, float]]:
        """``(indexed term, weight)`` pairs a query term matches in a field."""
        key = (fieldname, term)
        if key in self._expansions:
            return self._expansions[key]
        out: list[tuple[str, float]] = []
        reader = self.reader
        if (fieldname, term) in reader:
            out.append((term, 1.0))
        if starts_hangul(term) and len(term) >= 2:  # 수 -> 수가, 수도, 수렴...: noise, not endings
            extra = []
            for btext in reader.expand_prefix(fieldname, term):
                t = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                if t != term:
                    extra.append(t)
            if len(extra) > MAX_EXPANSIONS:
                extra.sort(key=lambda t: -reader.doc_frequency(fieldname, t))
                extra = extra[:MAX_EXPANSIONS]
            out.extend((t, PREFIX_WEIGHT) for t in extra)
        self._expansions[key] = out
        return out

    def term_query(self, term: str, fields: Iterable[str], weight: float = 1.0) -> Any:
        from whoosh.query import NullQuery, Or, Term

        subs = []
        per_field = []
        for f in fields:
            here = []
            for t, w in self.expand(f, term):
                here.append(Term(f, t, boost=w * weight))
                self.terms.add(t)
            subs.extend(here)
            if here:
                per_field.append(here[0] if len(here) == 1 else Or(here))
        if not subs:
            return NullQuery
        if self.latin_query and len(per_field) > 1:
            return self.across_fields(per_field)
        return subs[0] if len(subs) == 1 else Or(subs)

    def across_fields(self, per_field: list[Any]) -> Any:
        """A word's queries on several fields, for an all-Latin query: the best field and
        a share of the others (:data:`FIELDS_TIEBREAK`), not their sum."""
        from whoosh.query import DisjunctionMax

        return DisjunctionMax(per_field, tiebreak=FIELDS_TIEBREAK)

    def prefix_query(self, text: str, fields: Iterable[str]) -> Any:
        from whoosh.query import NullQuery, Or, Prefix

        terms = query_terms(text)
        if not terms:
            return NullQuery
        stem = terms[0]
        subs = []
        for f in fields:
            found = [
                b.decode("utf-8") if isinstance(b, bytes) else b for b in self.reader.expand_prefix(f, stem)
            ]
            if found:
                self.terms.update(found[:MAX_EXPANSIONS])
                subs.append(Prefix(f, stem))
        if not subs:
            return NullQuery
        return Or(subs)

    def phrase_query(self, text: str, fields: Iterable[str]) -> Any:
        from whoosh.query import And, NullQuery, Or, Phrase, Term

        terms = query_terms(text)
        if not terms:
            return NullQuery
        self.terms.update(terms)
        if len(terms) == 1:
            return Or([Term(f, terms[0]) for f in fields])
        return Or(
            [Phrase(f, terms) for f in fields if f != "pathtext"]
            or [And([Term(f, t) for t in terms]) for f in fields]
        )

    def meta_query(self, clause: Clause) -> Any:
        """``key:value`` on a frontmatter field; an unknown key is searched as plain words."""
        from whoosh.query import And, NullQuery

        key = clause.fieldname or ""
        known = next(iter(self.reader.expand_prefix("meta", key + "=")), None) is not None
        if not known:
            plain = Clause("word", f"{key}:{clause.text}", negated=clause.negated)
            return self.clause_query(plain)
        terms = query_terms(clause.text)
        if not terms:
            return NullQuery
        subs = [self.term_query(f"{key}={t}", ("meta",)) for t in terms]
        if any(q is NullQuery for q in subs):
            return NullQuery
        return subs[0] if len(subs) == 1 else And(subs)

    def clause_query(self, clause: Clause) -> Any:
        from whoosh.query import NullQuery, Or, Term

        fields = (clause.fieldname,) if clause.fieldname else TEXT_FIELDS
        if clause.kind == "meta":
            return self.meta_query(clause)
        if clause.kind == "tag":
            q: Any = Term("tags", clause.text)
        elif clause.kind == "phrase":
            q = self.phrase_query(clause.text, fields)
        elif clause.kind == "prefix":
            q = self.prefix_query(clause.text, fields)
        else:
            terms = query_terms(clause.text)
            # An excluded word is excluded as written (and its aliases): a guessed form
            # must not silently drop notes.
            text = None if clause.negated else clause.text
            q = self.word_query(terms, fields, text) if terms else NullQuery
        if clause.alternatives:
            alts = [q, *(self.clause_query(a) for a in clause.alternatives)]
            q = (
                Or([a for a in alts if a is not NullQuery])
                if any(a is not NullQuery for a in alts)
                else NullQuery
            )
        return q


#: A gloss this strong names a word in the other script (``헬름(helm)``).
NAMING_GLOSS = 0.5


def _named_stems(plan: WordPlan) -> set[str]:
    """The English stems of what the notebook names the word as in the other script (an
    alias, a strong gloss): ``파드`` is ``pod``. A guess by sound that is another word
    (``port``, ``path``) is then left out; ``pods`` is kept."""
    from .english import light_stem

    latin = all(t.isascii() for t in plan.terms)
    return {light_stem(v.terms[-1]) for v in plan.variants
            if (v.kind == "alias" or (v.kind == "gloss" and v.weight >= NAMING_GLOSS))
            and all(t.isascii() for t in v.terms) != latin}


def _same_stem(terms: tuple[str, ...], stems: set[str]) -> bool:
    from .english import light_stem

    return light_stem(terms[-1]) in stems


def _plain_terms(clause: Clause) -> list[str] | None:
    """The analyzed terms of a plain word clause (no field, no OR, not negated), else None."""
    if clause.kind != "word" or clause.fieldname or clause.alternatives or clause.negated:
        return None
    return query_terms(clause.text) or None


def _searched_terms(builder: _Builder, clause: Clause) -> list[str] | None:
    """:func:`_plain_terms`, or for a mistyped word the notes lack, the terms searched in
    its place (``인터패이스`` -> ``인터페이스``: "showing results for" ranks as if typed so,
    the words standing together in a note too). Not for a word read another way (``풀로``
    -> ``풀``: the notes' phrase may well hold the word with its particle)."""
    terms = _plain_terms(clause)
    plan = builder.plans.get(clause.text) if terms else None
    if plan is not None and not plan.found and plan.correction:
        fixed = tuple(plan.correction.split())
        if any(v.terms == fixed and v.kind in TYPED_AS for v in plan.variants):
            return list(fixed)
    return terms


#: Corrections of a word mistyped (a slip, the keyboard in the other mode), which a query's
#: phrase boosts read as if typed so.
TYPED_AS = frozenset(("fix", "layout"))


#: From this many words on, a query is softly ANDed (:class:`kb.scoring.SoftAnd`): a note
#: may miss a word, and ranks lower the more (and the rarer) words it misses. Shorter
#: queries need every word, and fall back to any word when no note has them all.
SOFT_MIN_WORDS = 3
#: Share of a soft query's word weight a note must hold to match at all.
SOFT_MIN_SHARE = 0.5
#: A question word's weight in a soft query against its rarity (``어떻게``, ``바뀌나요``).
QUESTION_WEIGHT = 0.1
#: A predicate's weight against its rarity (``막으려면``, ``돌릴``): a question's verb is
#: the asker's wording more often than the note's, its nouns are the topic.
PREDICATE_WEIGHT = 0.1


def _units(builder: _Builder, positive: list[Clause]) -> list[tuple[Any, float, bool, bool, str]]:
    """The positive clauses as ``(query, weight, plain word, question word, text)``; two words
    the notes also write as one (``교착 상태``/``교착상태``) are one unit."""
    from whoosh.query import And, NullQuery, Or

    key = tuple(repr(c) for c in positive)
    cached = builder.units.get(key)
    if cached is not None:
        return cached
    units: list[tuple[Any, float, bool, bool, str]] = []
    queries = _with_runs(builder, positive, [builder.clause_query(c) for c in positive], key)
    # The last word of a question that no note holds nor corrects (뭐였지, 먹혀요, 나왔었나):
    # the asker's predicate, in a form the notes never use, not the rarest topic.
    last = len(positive) - 1 if len(positive) >= SOFT_MIN_WORDS and _asks(builder) else -1
    i = 0
    while i < len(positive):
        q_i = queries[i]
        a = _plain_terms(positive[i])
        b = _plain_terms(positive[i + 1]) if i + 1 < len(positive) else None
        if a and b and len(a) == 1 and len(b) == 1 and (
                starts_hangul(a[0]) and starts_hangul(b[0]) or a[0].isalpha() and b[0].isalpha()):
            # 교착 상태 typed for notes that write 교착상태 (data base, database): the two
            # words as one, too.
            joined = a[0] + b[0]
            if builder.has_term(joined, TEXT_FIELDS):
                q_j = queries[i + 1]
                both = NullQuery if NullQuery in (q_i, q_j) else And([q_i, q_j])
                whole = builder.word_query([joined], TEXT_FIELDS)
                weight = max(builder.word_weight(positive[i]), builder.word_weight(positive[i + 1]))
                units.append((Or([x for x in (both, whole) if x is not NullQuery]), weight, True, False,
                              f"{positive[i].text} {positive[i + 1].text}"))
                i += 2
                continue
        plan = builder.plans.get(positive[i].text)
        if plan is not None and i == last and _asked_with(plan):
            plan.question = True
            plan.variants.clear()
            q_i = NullQuery  # its look-alikes (뭐였지 ~ modsiw) are no topic either
        question = bool(plan and plan.question)
        if question and q_i is not NullQuery:
            q_i = q_i.with_boost(q_i.boost * QUESTION_WEIGHT)  # 바뀌나요 in an FAQ says nothing
        units.append((q_i, builder.word_weight(positive[i]), bool(a), question, positive[i].text))
        i += 1
    builder.units[key] = units
    return units


def _asked_with(plan: WordPlan) -> bool:
    """Whether a question's last word is its asking predicate in a form no note uses: a
    Hangul word the notes lack, that no typo or spelling fix found, and that is no English
    word in Hangul: spelled as Korean never writes one (뭐였지, 나왔었나), or ending as a
    predicate does (먹혀요, 보여?). A loanword the notes only write in English (어떻게
    서스펜드?) stays the topic."""
    from .analysis import ends_as_predicate, is_hangul_word
    from .jamo import could_be_loanword

    if plan.found or plan.correction or plan.stem or len(plan.terms) != 1:
        return False
    term = plan.terms[0]
    return is_hangul_word(term) and (not could_be_loanword(term) or ends_as_predicate(term))


def _with_runs(builder: _Builder, positive: list[Clause], queries: list[Any],
               key: tuple[str, ...]) -> list[Any]:
    """The clauses' queries, each word of a run of Hangul words that sounds like an English
    phrase of the notes searching that phrase too (:mod:`kb.phrase`: ``휴먼 인 더 루프`` ->
    ``human-in-the-loop``); or, when each word searches its English word already, the
    phrase in a row as a boost (``builder.run_rows``)."""
    from whoosh.query import NullQuery, Or, Phrase

    from .analysis import is_hangul_word
    from .phrase import ROW_BOOST, RUN_WEIGHT, RunFinder, Word

    if builder.expander is None or builder.expander.vocab is None or len(positive) < 2:
        return queries
    words: list[Word | None] = []
    for c in positive:
        terms = _plain_terms(c)
        plan = builder.plans.get(c.text)
        if terms and len(terms) == 1 and is_hangul_word(terms[0]) and plan is not None and not plan.stem:
            known = () if plan.correction else tuple(dict.fromkeys(  # 서치 -> 설치: not its words
                v.terms[0] for v in plan.variants
                if len(v.terms) == 1 and v.terms[0].isascii() and v.terms[0].isalpha()))
            words.append(Word(terms[0], not plan.question, known=known,
                              last_only=c.text.strip() != terms[0]))
        else:
            words.append(None)
    if sum(w is not None for w in words) < 2:
        return queries
    out = list(queries)
    texts = [c.text for c in positive]
    for run in RunFinder(builder.searcher, builder.expander).find(words):
        plans = [builder.plans[texts[i]] for i in range(run.start, run.end)]
        if run.covered(plans):
            builder.run_rows.setdefault(key, []).extend(
                Phrase(f, list(run.terms), boost=RUN_WEIGHT * ROW_BOOST) for f in ("title", "body"))
            builder.runs.append(run.plan(texts, RUN_WEIGHT * ROW_BOOST,
                                         "notes with them in a row rank higher"))
            continue
        # The phrase scores about as its words together: each word of the run takes its share.
        node = builder.variant_query(run.terms, TEXT_FIELDS, RUN_WEIGHT / (run.end - run.start))
        if node is NullQuery:
            continue
        builder.runs.append(run.plan(texts))
        for i in range(run.start, run.end):
            out[i] = node if out[i] is NullQuery else Or([out[i], node])
    return out


def _combine(builder: _Builder, clauses: list[Clause], any_word: bool) -> Any:
    from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Phrase

    from .scoring import LATIN_COORD_POWER, soft_and_class

    positive = [c for c in clauses if not c.negated]
    negative = [c for c in clauses if c.negated]
    units = _units(builder, positive)
    pos_q = [u[0] for u in units]
    live = [u for u in units if u[0] is not NullQuery]
    if _asks(builder):
        live = _topic_weighted(builder, live)
    soft = (len(units) >= SOFT_MIN_WORDS or len(units) == 2 and any(u[3] for u in units)) and all(
        u[2] for u in units)
    # Two words: every one must match, ranked like a soft query (where they are counts).
    pair = not soft and not any_word and len(units) == 2 and len(live) == 2 and all(
        u[2] for u in units)
    q: Any
    if pair:
        titles = [_field_part(u[0], TITLE_FIELDS) for u in live]
        q = soft_and_class()([u[0] for u in live], [u[1] for u in live], min_share=1.0,
                             titles=titles, focused=False)
        q.labels = [u[4] for u in live]
    elif any_word or (soft and live):
        if len(live) == 1:
            q = live[0][0]
        elif live:
            min_share = 0.0 if any_word else SOFT_MIN_SHARE
            titles = [_field_part(u[0], TITLE_FIELDS) for u in live]
            q = soft_and_class()([u[0] for u in live], [u[1] for u in live], min_share=min_share,
                                 titles=titles, needed=[not u[3] for u in live])
            q.labels = [u[4] for u in live]
            if builder.latin_query:
                q.coord = LATIN_COORD_POWER
            kinds = _guess_kinds(builder)
            if kinds:
                q.sure = [_sure_part(builder, u, kinds) for u in live]
                q.sure_keeps = kinds is LATIN_GUESS_KINDS
        else:
            q = NullQuery
    else:
        q = (
            NullQuery
            if any(p is NullQuery for p in pos_q) or not pos_q
            else (pos_q[0] if len(pos_q) == 1 else And(pos_q))
        )
    words = [_searched_terms(builder, c) for c in positive]
    together: list[Any] = []
    if q is not NullQuery and len(words) > 1 and all(w and len(w) == 1 for w in words):
        # Notes where the words stand together (as typed) rank higher.
        seq = [w[0] for w in words if w]
        together += [Phrase("title", seq, boost=PHRASE_BOOST),
                     Phrase("body", seq, slop=2, boost=PHRASE_BOOST)]
    if q is not NullQuery and soft and len(units) == len(positive) > 2:
        # ...and, in a question, where two neighbouring words of it do (미세 조정, GPU 메모리).
        for i in range(len(positive) - 1):
            a, b = words[i], words[i + 1]
            if a and b and not units[i][3] and not units[i + 1][3]:
                together.append(Phrase("body", [*a, *b], slop=1, boost=PAIR_BOOST))
                together.append(Phrase("title", [*a, *b], boost=PAIR_BOOST))
    if q is not NullQuery:
        together += builder.run_rows.get(tuple(repr(c) for c in positive), [])  # see _with_runs
    if together:
        q = AndMaybe(q, together[0] if len(together) == 1 else Or(together))
    neg = [n for n in (builder.clause_query(c) for c in negative) if n is not NullQuery]
    if neg and q is not NullQuery:
        q = AndNot(q, neg[0] if len(neg) == 1 else Or(neg))
    return q


#: A Hangul form of a typed English word that is a guess at its meaning (a gloss some note
#: gave, a pair learned from translated notes), not the word itself in the other script.
GUESS_KINDS = frozenset(("gloss", "learned"))


#: ...and in a query written all in Latin letters, any Hangul form of an English word: its
#: spelling by the alias table or by sound too (``container`` -> ``컨테이너``). An English
#: query is answered first by the notes that write its words; a Korean note that holds a
#: word only in Hangul holds it at GUESS_CREDIT (it still matches: ``register CPU`` may need
#: the note that says 레지스터).
LATIN_GUESS_KINDS = frozenset(("gloss", "learned", "alias", "sound"))


def _guess_kinds(builder: _Builder) -> frozenset[str]:
    """The kinds of variant a soft query holds a word by at GUESS_CREDIT only (see
    _sure_part): guessed translations in a question, any Hangul form in an all-Latin query."""
    if _asks(builder):
        return GUESS_KINDS
    return LATIN_GUESS_KINDS if builder.latin_query else frozenset()


def _guesses(builder: _Builder, label: str, kinds: frozenset[str] = GUESS_KINDS) -> set[tuple[str, ...]]:
    """The guessed Hangul translations (:data:`GUESS_KINDS`) a question searched for an
    English word typed as the notes write it (``base`` -> ``기본``); none for a Hangul word
    (its English partners are how a Korean question reaches an English note), a corrected
    word or a sound-alike (``베이스`` is the word itself)."""
    plan = builder.plans.get(label)
    if plan is None or not plan.found or plan.correction or not plan.terms or not all(
            t.isascii() for t in plan.terms):
        return set()
    return {v.terms for v in plan.variants
            if v.kind in kinds and not all(t.isascii() for t in v.terms)}


def _sure_part(builder: _Builder, u: Any, kinds: frozenset[str] = GUESS_KINDS) -> Any:
    """A question word's query without its guessed translations (:func:`_guesses`), or None
    when it has none: a note matching the word only through a guess holds it at
    :data:`kb.scoring.GUESS_CREDIT` of its weight. ``vite 설정에서 base 옵션은 뭘 하나요``:
    the note that writes ``base`` answers it, not the one that says ``기본`` throughout."""
    from whoosh.query import NullQuery, Or

    guessed = _guesses(builder, u[4], kinds) if u[2] else set()
    if not guessed:
        return None
    keep = []
    for leaf in [u[0]] if u[0].is_leaf() else u[0].leaves():
        words = getattr(leaf, "words", None)
        text = getattr(leaf, "text", None)
        if (tuple(words) if words else (text,)) not in guessed:
            keep.append(leaf)
    if not keep:
        return NullQuery
    return keep[0] if len(keep) == 1 else Or(keep)


def _topic_weighted(builder: _Builder, units: list[Any]) -> list[Any]:
    """A question's words, each weighted also by how much it names a topic
    (:func:`kb.topic.topic_share`): the asker's wording weighs less than the topic."""
    from .topic import topic_share

    out = []
    for u in units:
        plan = builder.plans.get(u[4])
        if plan is None or plan.question or not u[2]:
            out.append(u)
            continue
        terms = [*plan.terms, *(v.terms[0] for v in plan.variants
                                if len(v.terms) == 1 and v.kind in TOPIC_KINDS)]
        out.append((u[0], u[1] * topic_share(builder.reader, terms), *u[2:]))
    return out


#: The other forms of a word whose use counts for its topicality (not guesses by sound).
TOPIC_KINDS = frozenset(("alias", "gloss", "stem", "fix", "layout", "initials", "shorter"))


#: Where a word of a soft query counts as being in the note's title (see kb.scoring.TITLE_BONUS).
TITLE_FIELDS = frozenset(("title", "pathtext", "aliases", "tagtext"))


def _field_part(q: Any, fields: frozenset[str]) -> Any:
    """The leaves of a word's query (terms, phrases) on ``fields``, OR-ed; None if none."""
    from whoosh.query import Or

    leaves = [x for x in q.leaves() if getattr(x, "fieldname", None) in fields] if q.is_leaf() is False else (
        [q] if getattr(q, "fieldname", None) in fields else [])
    if not leaves:
        return None
    return leaves[0] if len(leaves) == 1 else Or(leaves)


def _soft_node(q: Any) -> Any:
    """The :class:`kb.scoring.SoftAnd` at the top of a query (under a phrase boost or a
    negation), or None."""
    from whoosh.query import AndMaybe, AndNot

    from .scoring import soft_and_class

    while isinstance(q, (AndMaybe, AndNot)):
        q = q.a
    return q if isinstance(q, soft_and_class()) else None


# --------------------------------------------------------------------------- search


def search(
    nb: Notebook,
    query: str,
    limit: int = 10,
    tags: Iterable[str] = (),
    ix: Any = None,
    explain: bool = False,
    snippets: bool = True,
    plans: dict[Any, Any] | None = None,
    searcher: Any = None,
    stop: Callable[[], None] | None = None,
) -> SearchResult:
    """Ranked hits for ``query`` in the notebook (the index is synced first); with
    ``explain``, how kb understood the query (:class:`Explanation`).

    A long-lived caller (``kb find``, a search per keystroke) may skip the snippets
    (``snippets=False``: no file is read; :func:`add_snippet` one hit later) and keep
    the words' plans in ``plans`` across searches of the same index (empty it when
    the index changes): planning a Hangul word's other forms is most of a search; and
    a ``searcher`` of that index kept open (opening one reads every segment's tables).
    ``stop``: called between the steps of the search (each word's plan, the ranking), it
    may raise to abandon a search the caller no longer needs (``kb lsp``'s completion
    when the next keystroke has come); nothing half-made is kept."""
    from contextlib import nullcontext

    from whoosh.query import Term

    if ix is None:
        ix, _ = open_index(nb)
    clauses = parse_query(query[:MAX_QUERY_CHARS])
    # A word typed twice is searched once (each word costs a plan of its other forms).
    firsts: dict[str, Clause] = {}
    for clause in clauses:
        firsts.setdefault(repr(clause), clause)
    clauses = list(firsts.values())
    tag_filter = [Term("tags", t.lower().lstrip("#")) for t in tags if t.strip()]
    notice = ""
    if len(query) > MAX_QUERY_CHARS or sum(1 + len(c.alternatives) for c in clauses) > MAX_QUERY_WORDS:
        clauses = _first_words(clauses)
        notice = (f"the query is long; only its first {MAX_QUERY_WORDS} words "
                  f"(at most {MAX_QUERY_CHARS} characters) were searched")
    if not any(not c.negated for c in clauses) and not tag_filter:
        return SearchResult(query, [], 0, notice=NO_WORDS, no_words=True)
    from .vocab import Vocab

    with nullcontext(searcher) if searcher is not None else ix.searcher() as searcher:
        clauses, flags = _written_flags(nb, searcher, clauses)
        if flags:
            read = ", ".join(flags)
            undo = " ".join(f"NOT {f[1:]}" for f in flags)
            it, option = ("them", "options") if len(flags) > 1 else ("it", "an option")
            said = f"{read} searched as written: the notes use {it} as {option} (to exclude {it}: {undo})"
            notice = _also(notice, said)
        builder = _Builder(searcher, _aliases(nb, plans), Vocab(nb.index_dir), plans=plans,
                           learned=_learned_for(nb, clauses), stop=stop)
        builder.latin_query = all(c.text.isascii() for c in clauses if not c.negated)
        unknown = _unknown_tags(searcher, [*(t.text for t in tag_filter),
                                           *(c.text for c in clauses if c.kind == "tag" and not c.negated)])
        if unknown:
            names = ", ".join(f"'{t}'" for t in unknown)
            why = f"no note has the tag {names}; run `kb tags` to see them all"
            return SearchResult(query, [], 0, notice=why)
        q = _combine(builder, clauses, any_word=False)
        if not [c for c in clauses if not c.negated]:
            from whoosh.query import Every

            q = Every()
        literal, in_code = _code_literal(query, clauses, builder.reader)
        # code: written with a symbol of code; words in a row (in_code) are code if a note has them so
        code = bool(literal) and not in_code
        soft = _soft_node(q)
        # A question: its first hits are read for their headings (see _headings_first).
        asks = not code and soft is not None and _asks(builder)
        literal = "" if asks else literal
        # Words near each other (see _near_first); not a code query, but English words that
        # are code only if a note has them so in a row (in_code) are words too.
        near = not code and soft is not None and sum(soft.needed) >= proximity.MIN_WORDS
        pool = max(limit, LITERAL_POOL) if literal else max(limit, HEADING_POOL) if asks else limit
        if near:
            pool = max(pool, proximity.POOL)
        if stop is not None:
            stop()
        results = _run(searcher, q, tag_filter, pool, plans)
        if stop is not None:
            stop()
        in_headings: dict[int, list[str]] = {}
        in_lists: dict[int, list[str]] = {}
        close: dict[int, tuple[float, list[str]]] = {}
        if near and results is not None and len(results) > 1:
            results, close = _near_first(searcher, results, soft)
        if literal and results is not None and len(results):
            results, held = _literal_first(nb, results, literal, limit, in_code, searcher.reader())
            code = code or held
        elif asks and results is not None and len(results):
            results, in_headings, in_lists = _headings_first(nb, searcher.reader(), results, soft, limit,
                                                             plans)
        if not asks and results is not None and len(results) > limit:
            from .scoring import Results

            results = Results(list(results[:limit]), len(results))
        if (soft is not None and soft.min_share >= 1.0 and not code and results is not None
                and 0 < len(results) < limit):
            filled = _filled(searcher, q, soft, results, tag_filter, limit, plans)
            if filled is not results:
                notice = _also(notice, f"only {len(results)} notes have both words; "
                                       "after them, notes with one of them")
                results = filled
        corrected = _corrected_query(builder, clauses)
        if corrected:
            notice = _also(notice, f"showing results for {corrected}")
        positives = [c for c in clauses if not c.negated and c.kind != "tag"]
        if results is not None and len(results) and soft is not None and not soft.complete:
            notice = _also(notice, "no note has every word; showing notes with most of them")
        elif results is None or (len(results) == 0 and len(positives) > 1):
            q_any = _combine(builder, clauses, any_word=True)
            any_results = _run(searcher, q_any, tag_filter, limit, plans)
            if any_results is not None and len(any_results):
                results, q = any_results, q_any
                notice = _also(notice, "no note has every word; showing notes with any of them")
        suggestions = did_you_mean(builder, clauses)
        explained = builder.explanation(q) if explain else None
        if results is None or len(results) == 0:
            return SearchResult(query, [], 0, notice=notice, terms=builder.terms,
                                suggestions=suggestions, explanation=explained)
        total = len(results)
        hits = _hits(results[:limit], plans)
        if explained is not None:
            explained.hits = _matched_terms(searcher, builder, results[:limit])
            for hit, r in zip(explained.hits, results[:limit], strict=False):
                hit.matched.extend(("headings", t) for t in in_headings.get(r.docnum, ()))
                hit.matched.extend(("only in lists", t) for t in in_lists.get(r.docnum, ()))
                if r.docnum in close:
                    factor, pairs = close[r.docnum]
                    hit.matched.extend(("near", p) for p in [f"x{factor:.2f}", *pairs])
    lines = kept(plans, "#lines", MAX_KEPT_LINES)  # at least the hits of this search share
    for hit in hits if snippets else ():
        add_snippet(nb, hit, builder.terms, lines)
    return SearchResult(query, hits, total, notice=notice, terms=builder.terms, suggestions=suggestions,
                        explanation=explained)


def _filled(searcher: Searcher, q: Any, soft: Any, results: Any, tag_filter: list[Any], limit: int,
            plans: dict[Any, Any] | None) -> Any:
    """A two-word query that few notes match in full: those notes, then the notes that hold
    most of the words' weight (the rarer word), as a longer query ranks them."""
    from .scoring import Results

    complete = soft.complete
    soft.min_share = SOFT_MIN_SHARE
    try:
        more = _run(searcher, q, tag_filter, limit, plans)
    finally:
        soft.min_share = 1.0
        soft.complete = complete
    if more is None:
        return results
    full = list(results[:limit])
    seen = {r.docnum for r in full}
    extra = [r for r in more if r.docnum not in seen][: limit - len(full)]
    if not extra:
        return results
    return Results(full + extra, max(len(more), len(full) + len(extra)))


def _also(notice: str, more: str) -> str:
    """A search's notice with one more thing said."""
    return f"{notice}; {more}" if notice else more


def _body_of(nb: Notebook, path: str) -> str:
    """The start of a note's body (at most :data:`MAX_LITERAL_BYTES`) as a hit's text is
    read for its headings or its options; "" when the file cannot be read."""
    try:
        body, _ = read_body_at(nb.root, path)
    except OSError:
        return ""
    return body[:MAX_LITERAL_BYTES]


def _aliases(nb: Notebook, plans: dict[Any, Any] | None) -> AliasTable:
    """The alias table of the built-in groups and the notebook's synonyms file (read at every
    search: an edit counts at once); a long-lived caller's (``plans``) is built again only
    when the groups changed."""
    groups = load_groups(nb.root)
    if plans is None:
        return AliasTable(groups)
    known = plans.get("#aliases")
    if known is None or known[0] != groups:
        known = plans["#aliases"] = (groups, AliasTable(groups))
    return known[1]


def _hits(results: Any, plans: dict[Any, Any] | None) -> list[Hit]:
    """The hits of Whoosh results; a long-lived caller (``plans``) keeps each note's stored
    fields, as read, by its document number in this index version."""
    if plans is None:
        return [Hit.from_result(r) for r in results]
    rows = kept(plans, "#rows")
    out = []
    for r in results:
        row = rows.get(r.docnum)
        if row is None:
            row = rows[r.docnum] = stored_row(r.fields())
        out.append(Hit.of_row(row, r.score))
    return out


#: Notes read (at most, for a whole query) to see whether an excluded ``-word`` is an
#: option the notes write.
FLAG_PROBE_NOTES = 20


def _written_flags(nb: Notebook, searcher: Searcher, clauses: list[Clause]) -> tuple[list[Clause], list[str]]:
    """The clauses with each ``-word`` the notes write as an option read as that option,
    not as an exclusion, and those options as typed. ``openssl x509 -outform DER`` and
    ``sw_vers -productVersion`` are commands: excluding ``outform`` would drop the very
    note that holds the command. A ``-word`` is an option when a note holding it and the
    query's other words (at most :data:`FLAG_PROBE_NOTES` of them are read) writes it
    with its dash, as a word of its own; ``kubernetes -cka`` still excludes."""
    from whoosh.query import And, Or, Term

    dashed = [c for c in clauses if c.dashed and c.negated]
    positives = [c for c in clauses if not c.negated and c.kind == "word" and not c.alternatives]
    if not dashed or not positives:
        return clauses, []

    def holding(text: str) -> Any:
        terms = query_terms(text)
        return And([Or([Term(f, t) for f in TEXT_FIELDS]) for t in terms]) if terms else None

    others = [q for q in (holding(c.text) for c in positives) if q is not None]
    words = {id(c): holding(c.text) for c in dashed}
    pending = [c for c in dashed if words[id(c)] is not None]
    if not others or not pending:
        return clauses, []
    written = {id(c): re.compile(rf"(?<![\w-])-{re.escape(c.text)}(?![\w-])", re.IGNORECASE)
               for c in pending}
    flags: list[str] = []
    bodies: dict[int, str] = {}  # at most FLAG_PROBE_NOTES notes read, whatever the query

    def probe(group: list[Clause]) -> None:
        # The notes holding the group's words and the others: `find -name -exec` reads the
        # notes with find, name and exec first, then each option alone.
        q = And([*(words[id(c)] for c in group), *others])
        for n, docnum in enumerate(q.docs(searcher)):
            if n >= FLAG_PROBE_NOTES or not group:
                break
            body = bodies.get(docnum)
            if body is None:
                if len(bodies) >= FLAG_PROBE_NOTES:
                    break
                body = bodies[docnum] = _body_of(nb, stored_row(searcher.stored_fields(docnum)).path)
            for clause in [c for c in group if written[id(c)].search(body)]:
                group.remove(clause)
                pending.remove(clause)
                flags.append(f"-{clause.text}")
                clause.negated, clause.dashed, clause.text = False, False, f"-{clause.text}"

    if len(pending) > 1:
        probe(list(pending))
    for clause in list(pending):
        probe([clause])
    return clauses, flags


def _learned_for(nb: Notebook, clauses: list[Clause]) -> Any:
    """The notebook's learned associations (:mod:`kb.assoc`) when the query is a question
    (its words are the asker's, seldom the note's) or has a Korean word (the note may say
    it in English only); else None: an English query searches the English words."""
    if not any(c.kind == "word" and not c.negated and (_asking(c.text) or starts_hangul(c.text))
               for c in clauses):
        return None
    from .assoc import Associations

    return Associations(nb.index_dir)


def _asks(builder: _Builder) -> bool:
    """Whether the query is a question (a word of it asks)."""
    return any(p.question or _asking(text) for text, p in builder.plans.items())


def _asking(word: str) -> bool:
    """Whether a query word asks: a trailing ``?``, or a word that asks (``어떻게``, ``되나요``)."""
    from .analysis import is_question_word

    return word.endswith("?") or is_question_word(word.rstrip("?!.~"))


def has_words(query: str, tags: Iterable[str] = ()) -> bool:
    """Whether a query has something to look for (a word that is not excluded, or a tag):
    the CLI's test for a bad query, made before it opens the index."""
    return any(t.strip() for t in tags) or any(not c.negated for c in parse_query(query[:MAX_QUERY_CHARS]))


def _unknown_tags(searcher: Searcher, tags: Iterable[str]) -> list[str]:
    """The tags of a filter that no note has (the filter can only find nothing)."""
    reader = searcher.reader()
    return [t for t in dict.fromkeys(tags) if ("tags", t) not in reader]


def _first_words(clauses: list[Clause]) -> list[Clause]:
    """The first ``MAX_QUERY_WORDS`` clauses of a query, OR-ed alternatives counted."""
    kept: list[Clause] = []
    room = MAX_QUERY_WORDS
    for clause in clauses:
        if room <= 0:
            break
        clause.alternatives = clause.alternatives[: room - 1]
        room -= 1 + len(clause.alternatives)
        kept.append(clause)
    return kept


def _matched_terms(searcher: Searcher, builder: _Builder, results: Any) -> list[ExplainedHit]:
    """For each hit, which of the query's indexed terms it holds (title first)."""
    reader = searcher.reader()
    wanted = {r.docnum: r for r in results}
    held: dict[int, list[tuple[str, str]]] = {d: [] for d in wanted}
    order = {f: i for i, f in enumerate(TEXT_FIELDS)}
    pairs = sorted({(f, t) for f in TEXT_FIELDS for t in builder.terms if (f, t) in reader},
                   key=lambda p: (order[p[0]], p[1]))
    for f, t in pairs:
        for d in reader.postings(f, t).all_ids():
            if d in held:
                held[d].append((f, t))
    return [ExplainedHit(stored_row(r.fields()).slug, float(r.score or 0.0), held[r.docnum]) for r in results]


#: A code query (``helm upgrade --install``, ``docker compose up``) looks for its text as
#: written among this many best hits, and puts the notes that hold it first.
LITERAL_POOL = 20
_CODE_MARKS = frozenset("-.:_@/=()#+<>[]{}$")


def _code_literal(query: str, clauses: list[Clause], reader: Any) -> tuple[str, bool]:
    """The query as a literal to look for, if it is code, and whether only code spans count:
    plain words only, all ASCII, with a symbol of code in it (``--install``,
    ``import.meta.glob``, ``notifyAll()``, ``Arc::clone``: a ``name:value`` whose name is no
    frontmatter field of the notes is code), found anywhere in a note; or two words or more
    without one (``docker compose up``, ``git rebase upstream``), found in a code block or
    span (prose holds English words in a row); else ``("", False)``."""
    text = " ".join(query.split())
    if (not text.isascii() or len(text) < 4 or '"' in text
            or any(c.negated or c.alternatives or (c.kind != "word" or c.fieldname)
                   and not _unknown_field(c, reader) for c in clauses)):
        return "", False
    if any(c in _CODE_MARKS for c in text):
        return text.lower(), False
    return (text.lower(), True) if len(clauses) > 1 else ("", False)


def _unknown_field(clause: Clause, reader: Any) -> bool:
    """``Arc::clone``, ``client:load``: read as ``key:value`` but no note has the field ``key``
    (:meth:`_Builder.meta_query` searches it as a word)."""
    return (clause.kind == "meta" and bool(clause.fieldname)
            and next(iter(reader.expand_prefix("meta", f"{clause.fieldname}=")), None) is None)


def _literal_first(nb: Notebook, results: Any, literal: str, limit: int, in_code: bool = False,
                   reader: Any = None) -> tuple[Any, bool]:
    """The hits that hold ``literal`` (case aside; ``in_code``: in a code block or span)
    first, those whose title or a heading names it before the rest of them (a note about
    ``notifyAll()``, a section on ``import.meta.glob()``), each group in its order, and
    whether any hit holds it. Words in a row (``in_code``) are looked for only in the notes
    the index says have them all."""
    from .scoring import Results
    from .topic import headings

    top = list(results[: max(limit, LITERAL_POOL)])
    may = _having_words(reader, literal, [r.docnum for r in top]) if reader is not None and in_code else None
    named, holding, rest = [], [], []
    for r in top:
        if may is not None and r.docnum not in may:
            rest.append(r)
            continue
        row = stored_row(r.fields())
        try:
            with open(nb.root / row.path, "rb") as fh:
                text = fh.read(MAX_LITERAL_BYTES).decode("utf-8", "replace")
        except OSError:
            text = ""
        lower = text.lower()
        if literal not in lower or (in_code and literal not in code_text(lower)):
            rest.append(r)
        elif literal in row.title.lower() or (
                "#" in lower and any(literal in h for h in headings(lower))):
            named.append(r)
        else:
            holding.append(r)
    return Results((named + holding + rest)[:limit], len(results)), bool(named or holding)


def _having_words(reader: Any, literal: str, docs: list[int]) -> set[int] | None:
    """Of ``docs``, the notes whose title or body has every word of ``literal``, words of
    letters and digits (``docker compose up``): the only ones that can hold them in a row as
    words. None when a word is not that plain. Each word's postings are skipped through to
    the notes asked about, the rarest word first."""
    from .scoring import docs_holding

    words = set(literal.split())
    if not all(w.isalnum() for w in words):
        return None
    keep = set(docs)
    for term in sorted(words, key=lambda t: reader.doc_frequency("body", t)):
        have: set[int] = set()
        for f in ("title", "body"):
            if (f, term) not in reader:
                continue
            have |= docs_holding(reader.postings(f, term), sorted(keep - have))
        keep = have
        if not keep:
            break
    return keep


def code_text(text: str) -> str:
    """The code of a Markdown text: its fenced blocks' lines and its inline code spans, one
    a line (linear in the text)."""
    from .notes import INLINE_CODE_RE
    from .topic import fenced

    out: list[str] = []
    for in_code, line in fenced(text.splitlines()):
        if in_code:
            out.append(line)
        else:
            out.extend(span[1:-1] for span in INLINE_CODE_RE.findall(line))
    return "\n".join(out)


def _headings_first(nb: Notebook, reader: Any, results: Any, soft: Any, limit: int,
                    plans: dict[Any, Any] | None
                    ) -> tuple[Any, dict[int, list[str]], dict[int, list[str]]]:
    """A question's first hits, each scored ``1 + HEADING_BONUS * share`` times higher,
    where ``share`` is the share of the question's word weight its headings hold
    (:func:`kb.topic.heading_share`: a heading names what its section answers), and
    ``1 - LIST_PENALTY * part`` times lower, where ``part`` is the share of the weight of
    the words it holds only in list items and table rows (:func:`kb.topic.listed_share`);
    the best ``limit`` of them, for each the query terms its headings hold, and for the
    notes made lower the words they only list. A note's heading terms are kept with the
    plans (one index version)."""
    from .scoring import Results
    from .topic import HEADING_BONUS, LIST_PENALTY, heading_share, heading_terms, listed_share, word_terms

    words = [(*word_terms(sub), w) for sub, w in zip(soft.subqueries, soft.weights, strict=True)]
    known = kept(plans, "#headings", MAX_KEPT_HEADINGS)
    # A note that holds a word of the question only in its lists (an index, a table of
    # contents) names it and explains it elsewhere: it scores less (kb.topic.listed_share).
    stored = {r.docnum: r.fields() for r in results}
    listed = listed_share(reader, {d: stored_listed(f) for d, f in stored.items()},
                          [(s, w) for s, _, w in words])
    labels = _labels(soft)
    scored: list[tuple[float, int, Any]] = []
    matched: dict[int, list[str]] = {}
    only_listed: dict[int, list[str]] = {}
    for r in results:
        path = stored_row(stored[r.docnum]).path
        found = known.get(path)
        if found is None:
            found = known[path] = heading_terms(_body_of(nb, path))
        share, matched[r.docnum] = heading_share(found, words)
        factor = 1.0 + HEADING_BONUS * share
        if r.docnum in listed:
            part, which = listed[r.docnum]
            factor *= 1.0 - LIST_PENALTY * part
            only_listed[r.docnum] = [labels[i] for i in which]
        scored.append((float(r.score or 0.0) * factor, r.docnum, r))
    return Results(_best_first(scored, limit), len(results)), matched, only_listed


def _near_first(searcher: Searcher, results: Any, soft: Any
                ) -> tuple[Any, dict[int, tuple[float, list[str]]]]:
    """The first hits of a query of :data:`kb.proximity.MIN_WORDS` or more content words, each scored
    ``1 + proximity.BONUS * share`` times higher, where ``share`` is how much of the query's
    pair weight stands close together in its body (:func:`kb.proximity.proximity`), best
    first; and for the notes it lifted, the factor and the pairs (``word~word``)."""
    from .scoring import Results

    top = list(results[: proximity.POOL])
    labels = _labels(soft)
    found = proximity.proximity(searcher.reader(), [r.docnum for r in top], soft.subqueries,
                                soft.weights, soft.needed)
    if not found:
        return results, {}
    scored: list[tuple[float, int, Any]] = []
    close: dict[int, tuple[float, list[str]]] = {}
    for r in top:
        got = found.get(r.docnum)
        factor = 1.0 + proximity.BONUS * got[0] if got else 1.0
        if got:
            close[r.docnum] = (factor, [f"{labels[i]}~{labels[j]}" for i, j in got[1]])
        scored.append((float(r.score or 0.0) * factor, r.docnum, r))
    return Results(_best_first(scored) + list(results[len(top):]), len(results)), close


def _labels(soft: Any) -> list[str]:
    """The words of a soft AND as typed, one a subquery (their places when it has none)."""
    labels = soft.labels
    return labels if len(labels) == len(soft.subqueries) else [str(i) for i in range(len(soft.subqueries))]


def _best_first(scored: list[tuple[float, int, Any]], limit: int | None = None) -> list[Any]:
    """Hits scored again, ``(score, docnum, hit)``: the best ``limit`` first (ties by note
    number), each with its new score (:class:`kb.scoring.Scored`; Whoosh's own hits as
    they are)."""
    from .scoring import Scored

    scored.sort(key=lambda x: (-x[0], x[1]))
    return [Scored(r._searcher, d, s) if isinstance(r, Scored) else r for s, d, r in scored[:limit]]


#: Notes whose heading terms a long-lived caller keeps (see :func:`_headings_first`).
MAX_KEPT_HEADINGS = 20_000


#: Bytes of a note read when looking for a code query as written.
MAX_LITERAL_BYTES = 2_000_000


def _corrected_query(builder: _Builder, clauses: list[Clause]) -> str:
    """The query with each word that matched nothing replaced by the form searched in its
    place (``리엑트 훅`` -> ``리액트 훅``), or "" when no word was replaced."""
    words = []
    changed = False
    for clause in clauses:
        plan = builder.plans.get(clause.text) if clause.kind == "word" and not clause.negated else None
        if plan is not None and plan.correction:
            words.append(plan.correction)
            changed = True
        else:
            words.append(("-" if clause.negated else "") + (f'"{clause.text}"' if clause.kind == "phrase"
                                                          else clause.text))
    return " ".join(words) if changed else ""


def did_you_mean(builder: _Builder, clauses: list[Clause], limit: int = 3) -> list[str]:
    """Queries with a word that matched nothing (and was not corrected) replaced by a
    close word of the notes. Nothing when every word matched: a query that found its
    notes needs no suggestion."""
    if builder.expander is None:
        return []
    fixes: dict[str, list[str]] = {}
    for clause in clauses:
        plan = builder.plans.get(clause.text)
        if (clause.negated or plan is None or plan.found or plan.correction or plan.variants
                or plan.question or len(plan.terms) != 1):
            continue  # matched as typed or in another form, or asks rather than names
        found = builder.expander.suggest(plan.terms[0], limit)
        if found:
            fixes[clause.text] = found
    if not fixes:
        return []
    out = []
    for i in range(limit):
        words = []
        for c in clauses:
            alts = fixes.get(c.text)
            words.append(alts[min(i, len(alts) - 1)] if alts else c.text)
        candidate = " ".join(words)
        if candidate not in out:
            out.append(candidate)
    return out


def _run(searcher: Searcher, q: Any, tag_filter: list[Any], limit: int,
         plans: dict[Any, Any] | None = None) -> Any:
    """The best ``limit`` hits (``len()``: all matches), scored by :mod:`kb.scoring`;
    ``KB_WHOOSH_COLLECTOR=1`` uses Whoosh's collector instead (same ranking, slower)."""
    import os

    from whoosh import collectors
    from whoosh.query import And, NullQuery

    if q is NullQuery:
        return None
    flt = None
    if tag_filter:
        flt = tag_filter[0] if len(tag_filter) == 1 else And(tag_filter)
    if not os.environ.get("KB_WHOOSH_COLLECTOR"):
        from .scoring import top_docs

        try:
            return top_docs(searcher, q, limit, allow=flt,
                            kept=None if plans is None else kept(plans, "#postings"))
        except (AttributeError, TypeError, ImportError):  # another Whoosh inside: its own way
            pass
    # Whoosh's TopCollector prunes with the matchers' max_quality() estimates
    # (replace() every 10 hits, block quality skipping); with field boosts and
    # weighted expansions those estimates are wrong and a true top hit can drop
    # out when a limit is set. No pruning: every match is scored.
    collector: Any = collectors.TopCollector(max(limit, 1), usequality=False, replace=0)
    if flt is not None:
        collector = collectors.FilterCollector(collector, allow=flt)
    searcher.search_with_collector(q, collector)
    return collector.results()


def add_snippet(nb: Notebook, hit: Hit, terms: set[str],
                lines: dict[tuple[str, str], tuple[str, list[tuple[int, int]]]] | None = None) -> None:
    """Fill in ``hit.snippet``, ``highlights`` and ``line`` from the note on disk
    (``terms``: the result's :attr:`SearchResult.terms`); a file gone leaves them empty.
    ``lines``: the :func:`snippet_lines` of texts read before, by text and title."""
    try:
        body, body_line = read_body_at(nb.root, hit.path)
    except OSError:
        return
    key = (body, hit.title)
    known = lines.get(key) if lines is not None else None
    if known is None:
        known = snippet_lines(body, hit.title)
        if lines is not None and len(body) <= MAX_KEPT_CHARS:
            lines[key] = known
    text, where = known
    hit.snippet, hit.highlights, first = snippet_and_first(text, terms, SNIPPET_CHARS)
    hit.line = line_at(where, body_line, first)


# --------------------------------------------------------------------------- related notes


def related(nb: Notebook, path: str, limit: int = 5, ix: Any = None,
            plans: dict[Any, Any] | None = None, searcher: Any = None, note: Note | None = None) -> list[Hit]:
    """Notes most like the note at ``path``: its most distinctive terms (Bo1), title
    and tags included, searched as one OR query; the note itself left out.
    ``plans``: the tables a long-lived caller keeps for one index version (see
    :func:`kb.expand.kept`): the terms' collection frequencies and postings' scores;
    ``searcher``: one of that index kept open (see :func:`search`); ``note``: the note
    as read from its file just now (``kb show`` has it), else it is read here."""
    from contextlib import nullcontext

    from .notes import read_note

    if ix is None:
        ix, _ = open_index(nb)
    if note is None or note.path != path:
        note = read_note(nb.root, path)
    text = "\n".join([note.title, note.title, " ".join(note.tags), note.body])
    with nullcontext(searcher) if searcher is not None else ix.searcher() as searcher:
        key_terms = _key_terms(searcher, "body", text, 20, kept(plans, "#related-cf"))
        if not key_terms:
            return []
        terms = [("body", t, w) for t, w in key_terms] + [("title", t, w) for t, w in key_terms]
        results = _related_top(searcher, terms, limit + 1, plans)
        hits = [h for h in map(Hit.from_result, results or []) if h.path != path]
    # Only notes with a real share of the best match: a long tail of one shared
    # common word is not "related".
    best = hits[0].score if hits else 0.0
    return [h for h in hits if h.score >= RELATED_MIN_SHARE * best][:limit]


def _related_top(searcher: Searcher, terms: list[tuple[str, str, float]], limit: int,
                 plans: dict[Any, Any] | None) -> Any:
    """The best ``limit`` notes for the OR of the weighted terms: :func:`kb.scoring.top_terms`
    (pruned, the same ranking), else (``KB_WHOOSH_COLLECTOR=1``, another Whoosh) :func:`_run`."""
    import os

    from whoosh.query import Or, Term

    if not os.environ.get("KB_WHOOSH_COLLECTOR"):
        from .scoring import Scored, top_terms

        try:
            top = top_terms(searcher, terms, limit, kept(plans, "#postings") if plans is not None else None)
        except (AttributeError, TypeError, ImportError):  # another Whoosh inside: its own way
            pass
        else:
            return [Scored(searcher, d, s) for s, d in top]
    q = Or([Term(f, t, boost=w) for f, t, w in terms])
    return _run(searcher, q, [], limit, plans)


def _key_terms(searcher: Searcher, fieldname: str, text: str, number: int,
               cfs: dict[str, int | None]) -> list[tuple[str, float]]:
    """Whoosh's ``searcher.key_terms_from_text(fieldname, text, number)`` (Bo1, normalized),
    the very same terms and weights, cheaper: the text's terms counted straight from
    :func:`kb.analysis.iter_terms` (what the field's analyzer yields, each weighing 1), and
    each term's collection frequency read once per segment from its term table, kept in
    ``cfs`` (one index version) for the next notes."""
    import heapq
    from collections import Counter
    from operator import itemgetter

    from whoosh.classify import Bo1Model

    reader = searcher.reader()
    field = reader.schema[fieldname]
    counts = Counter(map(itemgetter(0), iter_terms(text)))  # (a generator per term: ~20% slower)
    for term in [t for t in counts if t[0] == STEM_MARK]:  # not ~늘리
        del counts[term]
    if not counts:
        return []
    model = Bo1Model(reader.doc_count_all(), reader.field_length(fieldname))
    top_total = float(sum(counts.values()))
    segments = [reader] if reader.is_atomic() else list(reader.readers)
    tables = [getattr(r, "_terms", None) for r in segments]
    direct = all(t is not None and hasattr(t, "_range_for_key") for t in tables)
    # A term's Bo1 score falls as its collection frequency grows from 1 until it reaches
    # ``weight * N``, then rises: at most the larger of the two ends (1, the field's total).
    # The terms are looked up by their count in the text, highest first, until no term
    # left could beat the ``number``-th best score (strictly: ties are broken by the word).
    ends = (1, max(1, model.collection_total))
    def bound(weight: float) -> float:
        return max(model.score(weight, cf, top_total) for cf in ends) * (1 + 1e-9)

    tlist: list[tuple[float, str]] = []
    maxweight = 0
    found: list[float] = []  # the ``number`` best scores so far (a heap)
    last = None
    for word, weight in sorted(counts.items(), key=itemgetter(1), reverse=True):  # (stable: ties in order)
        if weight != last:
            last = weight
            if len(found) >= number and bound(float(weight)) < found[0]:
                break
        if word in cfs:
            cf = cfs[word]
        else:
            btext = field.to_bytes(word)
            cf = _collection_frequency(reader, tables, fieldname, btext, direct)
            cfs[word] = cf
        if cf is None:
            continue
        score = model.score(float(weight), cf, top_total)
        if score > maxweight:
            maxweight = score
        tlist.append((score, word))
        if len(found) < number:
            heapq.heappush(found, score)
        elif score > found[0]:
            heapq.heapreplace(found, score)
    if not tlist:  # no term of the text is in the index (Whoosh divides by zero here)
        return []
    norm = model.normalizer(maxweight, top_total)
    tlist = [(w / norm, t) for w, t in tlist]
    tlist.sort(key=lambda x: (0 - x[0], x[1]))
    return [(t, w) for w, t in tlist[:number]]


def _collection_frequency(reader: Any, tables: list[Any], fieldname: str, btext: bytes,
                          direct: bool) -> int | None:
    """The term's total weight over the segments (``reader.frequency``); None when no
    segment has it."""
    if not direct:
        if (fieldname, btext) not in reader:
            return None
        return reader.frequency(fieldname, btext)
    from whoosh.codec.whoosh3 import W3TermInfo

    total = 0
    found = False
    for table in tables:
        try:
            datapos = table._range_for_key(fieldname, btext)[0]
        except KeyError:
            continue
        found = True
        total += W3TermInfo.read_weight(table._dbfile, datapos)
    return total if found else None
