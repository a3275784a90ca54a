"""Korean-aware text analysis: the tokenizer both the index and the query use.

Korean words carry particles (josa) and endings (eomi): ``파드가``, ``쿠버네티스의``,
``워크플로를``, ``생성된다``. A token engine that keeps ``파드가`` whole cannot find it
for ``파드``. kb splits text at script boundaries, lowercases Latin words, splits
identifiers into their parts, and strips a known particle or ending from the end
of each Hangul word. The same function runs on the query, so both sides meet on
the same stem; the search module adds prefix matching on top for endings this
table does not know.

The stripper is a table, not a dictionary: no model to load, nothing to download,
and it is fast enough for a one-shot CLI. Its rule of thumb is to leave a stem of
at least two syllables (``정의`` and ``평가`` stay whole), or one syllable before a
particle of two or more (``집에서`` -> ``집``).

=========================  ===========================================
input                      tokens (index mode)
=========================  ===========================================
``파드가 생성된다``          ``파드``, ``생성``
``쿠버네티스의 API를``       ``쿠버네티스``, ``api``
``Airflow의 CeleryExecutor``  ``airflow``, ``celeryexecutor``, ``celery``, ``executor``
``pod-reader``               ``pod-reader``, ``pod``, ``reader``
``max_active_runs``          ``max_active_runs``, ``max``, ``active``, ``runs``
``서비스어카운트를``          ``서비스어카운트``
``정의``                     ``정의``
``C#과 .NET``                ``c#``, ``c``, ``.net``, ``net``
``확인하나요``                ``확인``
=========================  ===========================================

In query mode identifiers are not split into parts: ``CeleryExecutor`` searches
for the whole identifier, ``executor`` finds it through its part; likewise ``C#``
searches for ``c#`` alone, not for every note with a C in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

#: Stored in the index; a different value makes kb rebuild it.
ANALYZER_VERSION = "ko-6"  # 2: c#/c++/.net terms, question endings; 3: predicate stems (늘리-); 4: @names;
# 5: sound keys of English plurals as Korean writes them (kb.jamo: stores -> 스토어); 6: of
# silent letters (knife, thumb, column, sign, castle, listen), t as sh (initial), soft ng (engine)

#: Tokens longer than this are not words (hashes, base64, minified code).
MAX_TOKEN_CHARS = 48

# A word: letters/digits joined by _ - . ' (so pod-reader, max_active_runs and
# v1.2 stay together and are then split into parts). Linear on any text: the
# quantifiers are possessive (letters and joiners never overlap, so nothing is lost),
# and a word starts only at the first `_` of a run, not at each one again.
_WORD_RE = re.compile(r"[^\W_]++(?:['’_\-.]*+[^\W_]++)*+|(?<!_)_++[^\W_]++(?:[_\-.]*+[^\W_]++)*+")
_PART_SPLIT_RE = re.compile(r"['’_\-.]+")
# camelCase and HTTPServer boundaries; digits stay with their letters (k8s, ec2, gpt4).
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z0-9]+")


def _josa() -> set[str]:
    base = [
        "이",
        "가",
        "을",
        "를",
        "은",
        "는",
        "의",
        "에",
        "에서",
        "에게",
        "에게서",
        "께",
        "께서",
        "한테",
        "으로",
        "로",
        "와",
        "과",
        "도",
        "만",
        "까지",
        "부터",
        "처럼",
        "보다",
        "마다",
        "이나",
        "나",
        "이랑",
        "랑",
        "하고",
        "에서부터",
        "으로부터",
        "로부터",
        "으로서",
        "로서",
        "으로써",
        "로써",
        "이라는",
        "라는",
        "이란",
        "란",
        "이라고",
        "라고",
        "이며",
        "이고",
        "이다",
        "이지만",
        "입니다",
        "이에요",
        "예요",
        "인",
        "인데",
        "이라서",
        "이므로",
        "이라면",
        "이든",
        "든",
        "조차",
        "마저",
        "밖에",
        "이야",
        "야",
        "같이",
        "같은",
        "대로",
        "이라도",
        "라도",
        "뿐",
        "만큼",
        "에선",
        "에겐",
        "엔",
        "으론",
        "론",
        "이죠",
        "죠",
        "이나마",
        "인가요",
        "인가",
        "일까요",
        "일까",
        "인지",
        "인지요",
    ]
    out = set(base)
    # Particles that stack: 에서는, 으로도, 까지만, 만을; not every pair is Korean (로를).
    stackable = [
        "에",
        "에서",
        "에게",
        "에게서",
        "께",
        "한테",
        "으로",
        "로",
        "와",
        "과",
        "까지",
        "부터",
        "보다",
        "처럼",
        "마다",
        "만",
        "으로부터",
        "로부터",
        "으로서",
        "로서",
    ]
    for b in stackable:
        for t in ("는", "도", "만", "의", "은"):
            out.add(b + t)
    for t in ("을", "를", "이", "은", "의", "으로", "에"):
        out.add("만" + t)
    out |= {"들" + x for x in out} | {"들"}
    return out


def _verb_endings() -> set[str]:
    # Sino-Korean noun + 하다 / 되다 / 시키다: 생성한다, 사용되는, 실행시켜서 -> the noun.
    endings = {
        "하": [
            "하다",
            "한다",
            "하는",
            "한",
            "할",
            "함",
            "하고",
            "하며",
            "하면",
            "하여",
            "해",
            "해서",
            "했다",
            "했던",
            "했고",
            "했지만",
            "합니다",
            "하기",
            "하게",
            "하지",
            "하도록",
            "하려면",
            "하려고",
            "하므로",
            "하는데",
            "하지만",
            "하는지",
            "하였다",
            "하던",
            "하세요",
            "해야",
            "해도",
            "하기도",
            "합시다",
            "할까",
            "한다면",
            "했을",
            "하였고",
            "함으로써",
            "하기에",
            "하기를",
            "하기는",
            "하면서",
            "해요",
            "했습니다",
            "할수",
            # questions: 확인하나요, 설치할까요, 사용하는지
            "하나요",
            "했나요",
            "할까요",
            "하죠",
            "하는지요",
            "한가요",
            "하는가",
            "하려나",
            "하는법",
            "하는방법",
        ],
        "되": [
            "되다",
            "된다",
            "되는",
            "된",
            "될",
            "됨",
            "되고",
            "되며",
            "되면",
            "되어",
            "돼",
            "돼서",
            "되어서",
            "됐다",
            "되었다",
            "되었고",
            "됩니다",
            "되기",
            "되게",
            "되지",
            "되도록",
            "되므로",
            "되는데",
            "되지만",
            "되는지",
            "되던",
            "되어야",
            "돼야",
            "되기도",
            "되었습니다",
            "됐습니다",
            "될까",
            "되면서",
            "되나요",
            "됐나요",
            "되었나요",
            "될까요",
            "되려면",
            "되죠",
            "되는가",
        ],
        "시키": [
            "시키다",
            "시킨다",
            "시키는",
            "시킨",
            "시킬",
            "시킴",
            "시키고",
            "시키면",
            "시켜",
            "시켜서",
            "시켰다",
            "시킵니다",
            "시키기",
            "시키지",
        ],
    }
    return {e for group in endings.values() for e in group}


_JOSA = frozenset(_josa())
_VERB = frozenset(_verb_endings())
_SUFFIXES = sorted(_JOSA | _VERB, key=len, reverse=True)
_MAX_SUFFIX = max(len(s) for s in _SUFFIXES)
_SUFFIX_SET = frozenset(_SUFFIXES)
_VERB_ONLY = _VERB - _JOSA
#: 하다 and 되다 with an ending fused in or contracted (할, 한, 했, 해; 될, 됐, 돼).
_DO_SYLLABLES = frozenset("하할한함합했해되될된됨됩됐돼")


#: Words that ask rather than name: in a question typed into a search box they carry no
#: topic (``파드가 재시작되면 어떻게 확인하나요``). A closed class of Korean grammar, like
#: the particles: interrogatives, and the endings of a predicate that asks or wants.
QUESTION_WORDS = frozenset(
    "어떻게 어떡해 왜 왜요 무엇 무엇이 무엇을 무엇인가요 무엇인가 뭐 뭐가 뭐야 뭔가요 뭔지 뭘 뭘까 뭘까요 "
    "어디 어디서 어디에 언제 누가 누구 어느 어떤 무슨 얼마나 몇 어째서 "
    "how why what when where which who whom whose".split()
)
_PREDICATE_ENDINGS = tuple(
    "나요 까요 가요 려면 으려면 는지 은지 을지 을까 는가 은가 는데 던데 어요 아요 해요 세요 니까 습니까 "
    "ㅂ니까 나여 냐고 는걸 을래 ㄹ래 려고 으려고 고파 싶어 싶다 싶은데".split()
)


#: Interrogatives that begin a word asking with its ending fused in (``뭐였지``, ``언제였더라``,
#: ``누구한테``); not 왜 nor 몇, which also begin nouns (왜곡, 몇몇).
_ASKING_HEADS = ("뭐", "무엇", "언제", "어디", "누구", "어떻게", "얼마나", "어느", "어떤", "무슨")


def is_question_word(term: str) -> bool:
    """An interrogative (``어떻게``, ``왜``, ``how``), one with an ending (``뭐였지``), or a
    predicate that ends like a question or a wish (``바뀌나요``, ``되돌리려면``, ``다른가요``):
    no topic of its own."""
    if term in QUESTION_WORDS:
        return True
    if not term or not "\uac00" <= term[0] <= "\ud7a3":
        return False
    return (len(term) >= 3 and (term.endswith(_PREDICATE_ENDINGS) or polite_ending(term))
            or term.startswith(_ASKING_HEADS))


#: The vowels a verb's 아/어 form leaves in its last open syllable (보여, 떠, 해, 와, 줘, 돼, 세).
_INFINITIVE_VOWELS = frozenset("ㅏㅐㅓㅔㅕㅘㅙㅝ")


def casual_ending(term: str) -> bool:
    """Whether a Hangul word ends as a verb's 아/어 form, an open syllable (해, 맞아, 보여,
    달라져, 줄래): the casual style's last word. Nouns end so too (서버, 개): the caller
    knows more."""
    from .jamo import is_syllable, split_syllable

    if not term or not is_syllable(term[-1]):
        return False
    _, vowel, final = split_syllable(term[-1])
    return not final and vowel in _INFINITIVE_VOWELS


def polite_ending(term: str) -> bool:
    """Whether a Hangul word ends as a predicate in the polite style: 요 after a verb's
    아/어 form, an open syllable (보여요, 떠요, 돼요, 먹혀요); 필요, 중요, 수요 end otherwise."""
    return len(term) >= 2 and term.endswith("요") and casual_ending(term[:-1])


def ends_as_predicate(term: str) -> bool:
    """Whether a Hangul word ends as a predicate in the casual or the polite style (해, 맞아,
    먹혀요): one test for a word typed with ``?`` and for a question's last word."""
    return casual_ending(term) or polite_ending(term)


def strip_suffix(word: str) -> str:
    """The stem of a Hangul word: the longest known particle/ending removed.

    >>> strip_suffix("파드가"), strip_suffix("생성된다"), strip_suffix("정의")
    ('파드', '생성', '정의')
    """
    n = len(word)
    if n < 2:
        return word
    for k in range(min(_MAX_SUFFIX, n - 1), 0, -1):
        tail = word[n - k :]
        if tail in _SUFFIX_SET:
            stem_len = n - k
            # Keep two syllables, or one before a particle of two or more
            # (집에서 -> 집, but 정의/평가/결과 stay whole).
            if stem_len >= 2 or (k >= 2 and tail in _JOSA):
                return word[:stem_len]
    return word


#: Marks a predicate's stem in the index (``~늘리``): a term of its own, apart from the words,
#: so a noun that looks like a form of a verb (``고려`` ~ ``~고리``) never matches the other
#: noun; in front, so no Hangul prefix (``늘리*``) reaches it.
STEM_MARK = "~"


def stem_term(stem: str) -> str:
    """The index term of a predicate's stem: ``늘리`` -> ``~늘리``."""
    return STEM_MARK + stem


def predicate_stem(word: str, stripped: str | None = None) -> str:
    """The stem a Hangul word shares with the other forms of its verb or adjective
    (:func:`kb.jamo.verb_stem`), or ``""``; none when the particle table already read it as
    a Sino-Korean noun with 하다/되다 (``확인하고`` is ``확인``).

    >>> predicate_stem("늘리고"), predicate_stem("늘려도"), predicate_stem("확인하고")
    ('늘리', '늘리', '')
    """
    from .jamo import verb_stem

    if stripped is None:
        stripped = strip_suffix(word)
    if stripped != word and word[len(stripped):] in _VERB_ONLY:
        return ""
    stem = verb_stem(stripped)
    if len(stripped) > len(stem) >= 2 and stripped.startswith(stem) and stripped[len(stem)] in _DO_SYLLABLES:
        return ""  # 렌더링할지: a noun with 하다 (the word stays as it is, as in the table's absence)
    return stem


def split_identifier(word: str) -> list[str]:
    """Lowercased parts of an identifier, or [] when it has only one part.

    >>> split_identifier("CeleryExecutor"), split_identifier("max_active_runs")
    (['celery', 'executor'], ['max', 'active', 'runs'])
    """
    parts: list[str] = []
    for chunk in _PART_SPLIT_RE.split(word):
        if chunk:
            parts.extend(p.lower() for p in _CAMEL_RE.findall(chunk))
    return parts if len(parts) > 1 else []


_Entry = tuple[tuple[tuple[str, int, int, int], ...], int]
#: Per-word analysis, cached: words repeat (Zipf), so most are analyzed once per process.
_CACHE: dict[bool, dict[str, _Entry]] = {True: {}, False: {}}
_CACHE_MAX = 200_000


def _is_hangul(ch: str) -> bool:
    """A Hangul syllable or compatibility jamo (``가``-``힣``, ``ㄱ``-``ㆎ``)."""
    return "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e"


def _script_runs(word: str) -> list[tuple[str, int]]:
    """``word`` cut where it changes between Hangul and other characters, as ``(run, start)``.

    A loop, not a regex: a character class over the Hangul block takes ~0.6 ms to
    compile, paid by every kb process; this is as fast per word (and words are cached).
    """
    runs: list[tuple[str, int]] = []
    start = 0
    prev = _is_hangul(word[0])
    for i in range(1, len(word)):
        hangul = _is_hangul(word[i])
        if hangul is not prev:
            runs.append((word[start:i], start))
            start, prev = i, hangul
    runs.append((word[start:], start))
    return runs


def _analyze_word(word: str, split_parts: bool) -> _Entry:
    """Terms of one regex word as ``(term, position offset, start, end)`` and positions used."""
    if word.isascii():
        runs: list[tuple[str, int]] = [(word, 0)]
    else:
        runs = _script_runs(word)
    out: list[tuple[str, int, int, int]] = []
    pos = 0
    prev_latin = False
    for run, start in runs:
        end = start + len(run)
        if _is_hangul(run[0]):
            if prev_latin and run in _SUFFIX_SET:
                # API를, Airflow의, deploy한다: the particle belongs to the Latin word.
                prev_latin = False
                continue
            stem = strip_suffix(run)
            if len(stem) <= MAX_TOKEN_CHARS:
                out.append((stem, pos, start, end))
                if split_parts:
                    # 늘리고, 늘려, 늘린다 also as ~늘리 (at the word's position, as an
                    # identifier's parts): the query's form of the verb meets the note's.
                    verb = predicate_stem(run, stem)
                    if verb:
                        out.append((stem_term(verb), pos, start, end))
                pos += 1
            prev_latin = False
            continue
        prev_latin = True
        run = run.strip("'’_-.")
        if not run or len(run) > MAX_TOKEN_CHARS:
            continue
        out.append((run.lower(), pos, start, end))
        parts = split_identifier(run) if split_parts else []
        for i, part in enumerate(parts):
            out.append((part, pos + i, start, end))
        pos += len(parts) or 1
    return tuple(out), pos


# Names that end or start with a symbol: C#, F#, C++, g++, .NET, .env: a word followed
# by # or + / ++ (and no more word characters), or a dot before a word at a word start.
# Found with str.find and checked by hand: a regex scan of every note for them cost
# ~6% of the analysis, this ~1%.
_DOT_PREFIX_RE = re.compile(r"\.[A-Za-z][A-Za-z0-9]*")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NOT_BEFORE_NAME = _NAME_CHARS | frozenset("_.#+-")
_NOT_AFTER_SYMBOL = _NAME_CHARS | frozenset("_#+")
_BEFORE_DOT = frozenset(" \t\n\r([{<\"'`*,;:/|")


def _symbol_terms(text: str) -> dict[int, tuple[str, int]]:
    """Offset of a word -> ``(symbol term, end of the term)`` for names like ``C#``,
    ``C++``, ``.NET`` and ``@Getter`` (-> ``c#``, ``c++``, ``.net``, ``@getter``)."""
    out: dict[int, tuple[str, int]] = {}
    n = len(text)
    for sym in "#+":
        i = text.find(sym)
        while i > 0:
            end = i + 1
            if text[i - 1] in _NAME_CHARS:
                if sym == "+" and end < n and text[end] == "+":
                    end += 1
                if end == n or text[end] not in _NOT_AFTER_SYMBOL:
                    start = i - 1
                    while start > 0 and text[start - 1] in _NAME_CHARS:
                        start -= 1
                    if (start == 0 or text[start - 1] not in _NOT_BEFORE_NAME) and text[start].isalpha():
                        out[start] = (text[start:end].lower(), end)
            i = text.find(sym, end)
    if "." in text:
        for m in _DOT_PREFIX_RE.finditer(text):
            start = m.start()
            if start == 0 or text[start - 1] in _BEFORE_DOT:
                out[start + 1] = (m.group().lower(), m.end())
    at = text.find("@")
    while at >= 0:
        # @Getter, @router.get, @lru_cache: a decorator or an annotation (not user@host)
        end = at + 1
        while end < n and (text[end] in _NAME_CHARS or text[end] == "_"
                           or (text[end] == "." and end + 1 < n and text[end + 1] in _NAME_CHARS)):
            end += 1
        if end > at + 1 and text[at + 1].isalpha() and (at == 0 or text[at - 1] in _BEFORE_DOT):
            out[at + 1] = (text[at:end].lower(), end)
        at = text.find("@", end)
    return out


def iter_terms(text: str, split_parts: bool = True) -> Iterator[tuple[str, int, int, int]]:
    """Yield ``(term, position, startchar, endchar)`` for a (NFC) text.

    Parts of an identifier share the identifier's first position and follow it,
    so a phrase across an identifier still lines up. A name with a symbol (``C#``,
    ``C++``, ``.NET``) is a term of its own at the position of its word; the query
    searches for it alone (``C#`` is not ``c``), the index has both.
    """
    pos = 0
    cache = _CACHE[split_parts]
    symbols = _symbol_terms(text)
    # Offsets where a symbol name or the particle after one starts, in order: the loop
    # compares one integer per word and looks closer only there.
    stops = sorted(symbols)
    stops.append(1 << 62)
    next_stop = stops[0]
    k = 0
    particle_at = -1
    for m in _WORD_RE.finditer(text):
        word = m.group()
        entry = cache.get(word)
        if entry is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            entry = cache[word] = _analyze_word(word, split_parts)
        terms, used = entry
        base = m.start()
        if base >= next_stop:
            while stops[k] <= base:
                k += 1
            next_stop = stops[k]
            if base == particle_at and word in _SUFFIX_SET:
                continue  # C#을, C++를: the particle belongs to the name
            symbol = symbols.get(base)
            if symbol is not None and terms:
                term, end = symbol
                particle_at = end
                next_stop = min(next_stop, end)
                yield term, pos, base - (term[0] in ".@"), end
                if not split_parts and len(terms) == 1:
                    pos += used
                    continue
        if terms:
            for term, offset, start, end in terms:
                yield term, pos + offset, base + start, base + end
        pos += used


def is_hangul_word(term: str) -> bool:
    """Only Hangul syllables (``쿠버네티스``; not ``ㅋㅂ``, not ``k8s``)."""
    return all("\uac00" <= c <= "\ud7a3" for c in term)


def unique_terms(text: str) -> set[str]:
    """The distinct index terms of a text, cheaper than :func:`iter_terms` when only the
    vocabulary matters (each distinct word analyzed once; symbol names left out)."""
    out: set[str] = set()
    cache = _CACHE[True]
    for word in set(_WORD_RE.findall(text)):
        entry = cache.get(word)
        if entry is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            entry = cache[word] = _analyze_word(word, True)
        out.update(t for t, _, _, _ in entry[0])
    return out


def query_terms(text: str) -> list[str]:
    """The terms a query word searches for (NFC, no identifier parts)."""
    text = unicodedata.normalize("NFC", text)
    return [t for t, _, _, _ in iter_terms(text, split_parts=False)]


def analyze(text: str) -> list[str]:
    """Index-mode terms of ``text`` (without the predicates' stem terms), for tests, debugging
    and frontmatter values."""
    return [t for t, _, _, _ in iter_terms(unicodedata.normalize("NFC", text)) if t[0] != STEM_MARK]


def prepare_whoosh_import() -> None:
    """Spare Whoosh's import of ``urllib.request`` (~20 ms: http.client, email, ssl).

    ``whoosh.compat`` imports it only to re-export ``urlretrieve``, which kb never
    calls. Until someone really uses it, ``urllib.request`` is a placeholder whose
    first attribute access imports the real module, so nothing else can tell.
    Call before the first ``import whoosh``.
    """
    import sys

    if "whoosh" in sys.modules:
        return
    _placeholder("whoosh.lang.morph_en", ["variations"])
    # whoosh.analysis.morph imports both for its stemming and phonetic filters (~1.5 ms).
    _placeholder("whoosh.lang.porter", ["stem"])
    _placeholder("whoosh.lang.dmetaphone", ["double_metaphone"])
    if "urllib.request" in sys.modules:
        return
    import types
    import urllib

    def real() -> types.ModuleType:
        import importlib

        if sys.modules.get("urllib.request") is placeholder:
            del sys.modules["urllib.request"]
        module = importlib.import_module("urllib.request")
        urllib.request = module  # type: ignore[attr-defined]
        return module

    def urlretrieve(*args: Any, **kwargs: Any) -> Any:
        return real().urlretrieve(*args, **kwargs)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):  # the import system probes __path__ and friends
            raise AttributeError(name)
        return getattr(real(), name)

    placeholder = types.ModuleType("urllib.request", "placeholder until first use (kb.analysis)")
    placeholder.urlretrieve = urlretrieve  # type: ignore[attr-defined]
    placeholder.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["urllib.request"] = placeholder
    urllib.request = placeholder  # type: ignore[attr-defined]


def _placeholder(name: str, functions: list[str]) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` whose ``functions`` import
    the real module on first call (``whoosh.query.terms`` imports
    ``whoosh.lang.morph_en.variations``, ~15 ms of regex compiling, for a query
    type kb never builds)."""
    import importlib
    import sys
    import types

    if name in sys.modules:
        return
    stand_in = types.ModuleType(name, f"placeholder until first use (kb.analysis): {name}")

    def real() -> types.ModuleType:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name)

    for fn in functions:
        def call(*args: Any, _fn: str = fn, **kwargs: Any) -> Any:
            return getattr(real(), _fn)(*args, **kwargs)

        # pickle finds a stand-in function by its name, as it would the real one
        call.__module__, call.__name__, call.__qualname__ = name, fn, fn
        setattr(stand_in, fn, call)

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(real(), attr)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = stand_in


#: The Whoosh classes of this module, built on first use (see :func:`_whoosh_class`).
_WHOOSH_CLASSES: dict[str, type] = {}


def _whoosh_class(name: str, build: Any) -> type:
    """The class ``name`` that ``build()`` makes, built once on first use, so importing this
    module does not import Whoosh (``kb --help`` and the freshness check never need it); named
    as a class of this module, where the index's pickled schema finds it."""
    cls = _WHOOSH_CLASSES.get(name)
    if cls is None:
        prepare_whoosh_import()
        cls = build()
        cls.__module__, cls.__qualname__ = __name__, name
        _WHOOSH_CLASSES[name] = cls
    return cls


def _tokenizer_class() -> type:
    return _whoosh_class("KoreanTokenizer", _build_tokenizer)


def _build_tokenizer() -> type:
    from whoosh.analysis import Token, Tokenizer

    class KoreanTokenizer(Tokenizer):  # type: ignore[misc]
        """Whoosh tokenizer around :func:`iter_terms` (index mode; query mode skips parts)."""

        def __eq__(self, other: object) -> bool:
            return other.__class__ is self.__class__

        def __hash__(self) -> int:
            return hash(self.__class__.__name__)

        def __call__(  # type: ignore[override]
            self,
            value: str,
            positions: bool = False,
            chars: bool = False,
            keeporiginal: bool = False,
            removestops: bool = True,
            start_pos: int = 0,
            start_char: int = 0,
            tokenize: bool = True,
            mode: str = "",
            **kwargs: object,
        ) -> Iterator[Any]:
            t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
            for term, pos, start, end in iter_terms(value, split_parts=(mode != "query")):
                t.text = term
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = value[start:end]
                if positions:
                    t.pos = start_pos + pos
                if chars:
                    t.startchar = start_char + start
                    t.endchar = start_char + end
                yield t

    return KoreanTokenizer


def __getattr__(name: str) -> Any:
    # The index's pickled schema names kb.analysis.KoreanTokenizer.
    if name == "KoreanTokenizer":
        return _tokenizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def korean_analyzer() -> Any:
    """The analyzer of every text field in kb's index (see the module table)."""
    return _tokenizer_class()()
