"""Hangul at the level of its letters (jamo): 초성 keys, typo distance, keyboard layouts, sound keys.

A Hangul syllable is an initial consonant, a vowel and an optional final consonant
(``각`` = ㄱ ㅏ ㄱ), encoded arithmetically from U+AC00. Working on those letters
instead of whole syllables is what lets kb see that ``리엑트`` and ``리액트`` differ by
one vowel, that ``ㅋㅂㄴㅌㅅ`` is the initials of ``쿠버네티스``, that ``znqjspxltm`` is
``쿠버네티스`` typed with the keyboard in English mode, and that ``레플리카셋`` sounds
like ``replicaset``. Pure functions, no tables to load, no Whoosh.

==========================  =====================================
call                         result
==========================  =====================================
``choseong("쿠버네티스")``     ``"ㅋㅂㄴㅌㅅ"``
``typo_distance("리엑트", "리액트")``  ``0.5`` (ㅔ/ㅐ is a cheap slip)
``to_hangul_layout("znqjspxltm")``  ``"쿠버네티스"``
``to_latin_layout("ㅏㅕㅠㄷㅊ시")``  ``"kubectl"``
``sound_keys("replicaset")``   ``{"LPLKST"}``, as ``sound_keys("레플리카셋")``
==========================  =====================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_BASE = 0xAC00
_LAST = 0xD7A3
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
        "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
_CONSONANTS = frozenset("ㄱㄲㄳㄴㄵㄶㄷㄸㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅃㅄㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ")


def is_syllable(ch: str) -> bool:
    return _BASE <= ord(ch) <= _LAST


def split_syllable(ch: str) -> tuple[str, str, str]:
    """``"각"`` -> ``("ㄱ", "ㅏ", "ㄱ")``; a lone jamo is returned as its own part."""
    code = ord(ch) - _BASE
    if not 0 <= code <= _LAST - _BASE:
        return (ch, "", "") if ch in _CONSONANTS else ("", ch, "")
    return CHO[code // 588], JUNG[(code // 28) % 21], JONG[code % 28]


#: Initials and finals Korean's rules for loanwords never write (외래어 표기법: the tense
#: ㄲ ㄸ ㅃ ㅉ for no English sound; a final only ㄱ ㄴ ㄹ ㅁ ㅂ ㅅ ㅇ). ㅆ stays: 파이썬, 쓰레드.
_NO_LOAN_INITIALS = frozenset("ㄲㄸㅃㅉ")
_LOAN_FINALS = frozenset(("", "ㄱ", "ㄴ", "ㄹ", "ㅁ", "ㅂ", "ㅅ", "ㅇ"))


def could_be_loanword(word: str) -> bool:
    """Whether a Hangul word is spelled as Korean writes English words: no syllable with a
    tense initial but ㅆ, no final outside the seven (짜느라, 떠나자는, 넣었더니 are Korean
    words; 파이썬, 쿠버네티스, 인그레스 may be English). Of the 530 sound-alike glosses of
    the corpus (``레플리카셋(ReplicaSet)``), 1 breaks it (꾸브레, Coupvray)."""
    for ch in word:
        if is_syllable(ch):
            initial, _, final = split_syllable(ch)
            if initial in _NO_LOAN_INITIALS or final not in _LOAN_FINALS:
                return False
    return True


def join_syllable(cho: str, jung: str, jong: str = "") -> str:
    return chr(_BASE + (CHO.index(cho) * 21 + JUNG.index(jung)) * 28 + JONG.index(jong))


def choseong(word: str) -> str:
    """The initial consonants of a word (``쿠버네티스`` -> ``ㅋㅂㄴㅌㅅ``); other characters kept."""
    return "".join(CHO[(ord(c) - _BASE) // 588] if is_syllable(c) else c for c in word)


def is_choseong_only(word: str) -> bool:
    """A word typed as initials only: ``ㅋㅂㄴㅌㅅ`` (two consonants or more)."""
    return len(word) >= 2 and all(c in _CONSONANTS for c in word)


def partial_tail(word: str) -> tuple[str, str] | None:
    """``쿠버네ㅌ`` (a last syllable half typed) -> ``("쿠버네", "ㅌ")``, else None."""
    if len(word) >= 2 and word[-1] in _CONSONANTS and all(is_syllable(c) for c in word[:-1]):
        return word[:-1], word[-1]
    return None


# --------------------------------------------------------------------------- typo distance

# Letters Korean typists confuse, as groups; a substitution inside a group is cheap.
_VOWEL_GROUPS = ("ㅐㅔㅒㅖ", "ㅓㅕㅗ", "ㅜㅠㅡ", "ㅣㅔㅢㅟ", "ㅏㅑㅓ", "ㅗㅛ", "ㅘㅏ", "ㅝㅓ", "ㅞㅙㅚㅔㅖ")
_CONSONANT_GROUPS = ("ㅅㅈㅆㅉㅊ", "ㄱㅋㄲ", "ㄷㅌㄸ", "ㅂㅍㅃ", "ㄴㄹ")
_CHEAP = frozenset(
    (a, b) for group in _VOWEL_GROUPS + _CONSONANT_GROUPS for a in group for b in group if a != b
)
#: A confusion from the tables above; a 받침 dropped or doubled; any other letter.
CHEAP_EDIT = 0.5
FINAL_EDIT = 0.5
OTHER_EDIT = 1.0


def _letters(word: str) -> list[str]:
    """Jamo of a word, each tagged with its slot (``i``/``v``/``f``) so an initial ㄱ and
    a final ㄱ are different letters; a non-Hangul character stands for itself."""
    out: list[str] = []
    for ch in word:
        if is_syllable(ch):
            cho, jung, jong = split_syllable(ch)
            out.append("i" + cho)
            out.append("v" + jung)
            if jong:
                out.append("f" + jong)
        else:
            out.append("x" + ch)
    return out


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if a[0] == b[0] and (a[1:], b[1:]) in _CHEAP:
        return CHEAP_EDIT
    if a[0] == "f" and b[0] == "f":
        return CHEAP_EDIT  # one 받침 for another
    return OTHER_EDIT


def _indel_cost(a: str) -> float:
    return FINAL_EDIT if a[0] == "f" else OTHER_EDIT


@lru_cache(maxsize=4096)
def typo_distance(a: str, b: str) -> float:
    """Weighted Damerau-Levenshtein distance between two words over their jamo.

    Typists' confusions (ㅐ/ㅔ, ㅓ/ㅕ/ㅗ, ㅅ/ㅈ, ㄱ/ㅋ...) and a dropped or added 받침 cost
    0.5, any other letter 1, two neighbouring letters swapped 1; Latin letters count as
    letters too, so ``kuberentes`` is 1 from ``kubernetes``.
    """
    x, y = _letters(a), _letters(b)
    n, m = len(x), len(y)
    prev2: list[float] = []
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + _indel_cost(y[j - 1])
    for i in range(1, n + 1):
        cur = [prev[0] + _indel_cost(x[i - 1])] + [0.0] * m
        for j in range(1, m + 1):
            best = min(
                prev[j] + _indel_cost(x[i - 1]),
                cur[j - 1] + _indel_cost(y[j - 1]),
                prev[j - 1] + _sub_cost(x[i - 1], y[j - 1]),
            )
            if i > 1 and j > 1 and x[i - 1] == y[j - 2] and x[i - 2] == y[j - 1] and x[i - 1] != x[i - 2]:
                best = min(best, prev2[j - 2] + OTHER_EDIT)
            cur[j] = best
        prev2, prev = prev, cur
    return prev[m]


def syllable_distance(a: str, b: str, limit: float = 9.0) -> float:
    """:func:`typo_distance` for two Hangul words of the same length, syllable by syllable
    (no letters shifted between syllables): the quick check for candidates that share
    their initials. Stops counting past ``limit``."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if not (is_syllable(x) and is_syllable(y)):
            return OTHER_EDIT + total
        c1, v1, f1 = split_syllable(x)
        c2, v2, f2 = split_syllable(y)
        if c1 != c2:
            total += CHEAP_EDIT if (c1, c2) in _CHEAP else OTHER_EDIT
        if v1 != v2:
            total += CHEAP_EDIT if (v1, v2) in _CHEAP else OTHER_EDIT
        if f1 != f2:
            total += FINAL_EDIT
        if total > limit:
            return total
    return total


#: Initials a typist may hit for one another: ``쿠버네티즈`` has the 초성 of ``쿠버네티스``
#: once ㅈ may stand for ㅅ. Used to look up typo candidates by their 초성.
_INITIAL_ALTS = {c: g for g in _CONSONANT_GROUPS[:4] for c in g}


def choseong_variants(key: str, limit: int = 16) -> list[str]:
    """``key`` and the 초성 keys one confusable initial away (``ㅋㅂㄴㅌㅈ`` -> ``ㅋㅂㄴㅌㅅ``...)."""
    out = [key]
    for i, c in enumerate(key):
        for alt in _INITIAL_ALTS.get(c, ""):
            if alt != c:
                out.append(key[:i] + alt + key[i + 1:])
                if len(out) >= limit:
                    return out
    return out


# --------------------------------------------------------------------------- keyboard layout

#: The standard Korean keyboard (두벌식): the jamo on each key of an English keyboard.
_DUBEOLSIK = {
    "q": "ㅂ", "w": "ㅈ", "e": "ㄷ", "r": "ㄱ", "t": "ㅅ", "y": "ㅛ", "u": "ㅕ", "i": "ㅑ", "o": "ㅐ",
    "p": "ㅔ",
    "a": "ㅁ", "s": "ㄴ", "d": "ㅇ", "f": "ㄹ", "g": "ㅎ", "h": "ㅗ", "j": "ㅓ", "k": "ㅏ", "l": "ㅣ",
    "z": "ㅋ", "x": "ㅌ", "c": "ㅊ", "v": "ㅍ", "b": "ㅠ", "n": "ㅜ", "m": "ㅡ",
    "Q": "ㅃ", "W": "ㅉ", "E": "ㄸ", "R": "ㄲ", "T": "ㅆ", "O": "ㅒ", "P": "ㅖ",
}
_KEY_OF = {jamo: key for key, jamo in _DUBEOLSIK.items() if key.islower()}
_KEY_OF.update({"ㅃ": "q", "ㅉ": "w", "ㄸ": "e", "ㄲ": "r", "ㅆ": "t", "ㅒ": "o", "ㅖ": "p"})
_VOWEL_PAIRS = {("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ",
                ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ"}
_FINAL_PAIRS = {("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
                ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
                ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ"}
_SPLIT_VOWEL = {v: a + b for (a, b), v in _VOWEL_PAIRS.items()}
_SPLIT_FINAL = {v: a + b for (a, b), v in _FINAL_PAIRS.items()}


def to_hangul_layout(text: str) -> str | None:
    """What ``text`` types with the keyboard in Korean mode (``dkssud`` -> ``안녕``),
    composed into syllables as an input method does; None if a key is not a letter."""
    jamo = []
    for ch in text:
        j = _DUBEOLSIK.get(ch) or _DUBEOLSIK.get(ch.lower())
        if j is None:
            return None
        jamo.append(j)
    return compose(jamo)


def compose(jamo: list[str]) -> str:
    """Jamo keystrokes composed into syllables (the 두벌식 input automaton)."""
    out: list[str] = []
    cho = jung = jong = ""

    def flush() -> None:
        nonlocal cho, jung, jong
        if cho and jung:
            out.append(join_syllable(cho, jung, jong))
        else:
            out.extend(x for x in (cho, jung) if x)
        cho = jung = jong = ""

    for j in jamo:
        vowel = j in JUNG
        if not vowel:
            if cho and jung:
                if not jong and j in JONG:
                    jong = j
                    continue
                if jong and (jong, j) in _FINAL_PAIRS:
                    jong = _FINAL_PAIRS[(jong, j)]
                    continue
            flush()
            cho = j if j in CHO else ""
            if not cho:
                out.append(j)
            continue
        if jong:  # the final consonant (or the last of a pair) starts the next syllable
            if jong in _SPLIT_FINAL:
                first, second = _SPLIT_FINAL[jong]
                jong = first
                flush()
                cho = second
            else:
                moved = jong
                jong = ""
                flush()
                cho = moved
            jung = j
            continue
        if cho and jung and (jung, j) in _VOWEL_PAIRS:
            jung = _VOWEL_PAIRS[(jung, j)]
            continue
        if cho and not jung:
            jung = j
            continue
        flush()
        out.append(j)
    flush()
    return "".join(out)


def to_latin_layout(text: str) -> str | None:
    """The keys that type ``text`` on a Korean keyboard, read in English mode
    (``ㅏㅕㅠㄷㅊ시`` -> ``kubectl``); None if a character is not Hangul."""
    keys: list[str] = []
    for ch in text:
        if is_syllable(ch):
            cho, jung, jong = split_syllable(ch)
            parts = [cho, *_SPLIT_VOWEL.get(jung, jung), *_SPLIT_FINAL.get(jong, jong)]
        else:
            parts = list(_SPLIT_VOWEL.get(ch) or _SPLIT_FINAL.get(ch) or ch)
        for p in parts:
            key = _KEY_OF.get(p)
            if key is None:
                return None
            keys.append(key)
    return "".join(keys)


# --------------------------------------------------------------------------- sound keys

# A coarse consonant skeleton both scripts map to: vowels, h, w and y are dropped, and
# consonants fall into the classes Korean loanword spelling merges (b/p/f/v -> ㅂ/ㅍ,
# s/z/j/sh/ch -> ㅅ/ㅈ/ㅊ, ...).
_CHO_CLASS = {"ㄱ": "K", "ㄲ": "K", "ㅋ": "K", "ㄴ": "N", "ㄷ": "T", "ㄸ": "T", "ㅌ": "T", "ㄹ": "L",
              "ㅁ": "M", "ㅂ": "P", "ㅃ": "P", "ㅍ": "P", "ㅅ": "S", "ㅆ": "S", "ㅈ": "S", "ㅉ": "S",
              "ㅊ": "S", "ㅇ": "", "ㅎ": ""}
_JONG_CLASS = {"": "", "ㄱ": "K", "ㄲ": "K", "ㄳ": "KS", "ㄴ": "N", "ㄵ": "NS", "ㄶ": "N", "ㄷ": "T",
               "ㄹ": "L", "ㄺ": "LK", "ㄻ": "LM", "ㄼ": "LP", "ㄽ": "LS", "ㄾ": "LT", "ㄿ": "LP",
               "ㅀ": "L", "ㅁ": "M", "ㅂ": "P", "ㅄ": "PS", "ㅅ": "T", "ㅆ": "T", "ㅇ": "N", "ㅈ": "T",
               "ㅊ": "T", "ㅋ": "K", "ㅌ": "T", "ㅍ": "P", "ㅎ": ""}
_LATIN_CLASS = {"b": "P", "p": "P", "f": "P", "v": "P", "d": "T", "t": "T", "s": "S", "z": "S",
                "j": "S", "k": "K", "q": "K", "g": "K", "c": "K", "m": "M", "n": "N", "l": "L",
                "r": "L", "x": "KS"}
_VOWELS = frozenset("aeiouy")
#: Most alternative keys one English spelling gets (``th`` is ㅅ or ㄷ, ``ch`` ㅊ or ㅋ...).
MAX_SOUND_KEYS = 4


def _squeeze(key: str) -> str:
    out = []
    for c in key:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def hangul_sound_shape(word: str) -> str:
    """Consonant classes and vowels (``V``) of a Hangul word as a loanword: ``레플리카셋``
    -> ``LVPLVKVSVT``; ㅡ, the vowel Korean adds between English consonants, counts as none."""
    out = []
    for ch in word:
        if not is_syllable(ch):
            return ""
        cho, jung, jong = split_syllable(ch)
        out.append(_CHO_CLASS[cho])
        if jung != "ㅡ":
            out.append("V")
        out.append(_JONG_CLASS[jong])
    return _squeeze("".join(out))


def hangul_sound_key(word: str) -> str:
    """Consonant skeleton of a Hangul word as a loanword (``레플리카셋`` -> ``LPLKST``)."""
    return _squeeze(hangul_sound_shape(word).replace("V", ""))


def latin_sound_keys(word: str) -> set[str]:
    """Consonant skeletons of an English word as Korean would spell it (a few when the
    spelling is ambiguous): ``kubernetes`` -> ``{"KPNTS"}``."""
    return {k for k in (_squeeze(s.replace("V", "")) for s in latin_sound_shapes(word)) if k}


_SPELLINGS = (("ph", "f"), ("ck", "k"), ("qu", "k"), ("wh", "w"), ("gh", ""), ("tch", "ch"),
              ("sch", "sk"), ("stion", "sjon"), ("tion", "shon"), ("sion", "shon"), ("ture", "cher"),
              ("dge", "ji"), ("ce", "se"), ("ci", "si"), ("cy", "sy"))
#: Spellings whose sound depends on the letters around them, before :data:`_SPELLINGS`:
#: a u after q that no vowel follows is the vowel (qubit, 큐비트); a u after a first g, or
#: after b before i or y, is silent (guide 가이드, guest 게스트, build 빌드, buy 바이); -sion
#: after a vowel or r is voiced, 전 (vision 비전, version 버전); a before ll is the vowel of
#: call, fall, install (콜, 폴, 인스톨): ``aull`` keeps every reading of the a and adds ㅗ.
_CONTEXT_SPELLINGS = (
    (re.compile(r"qu(?![aeiouy])"), "ku"),
    (re.compile(r"^gu(?=[aeiy])"), "gw"),  # a g before w stays hard
    (re.compile(r"(?<=b)u(?=[iy])"), ""),
    (re.compile(r"(?<=[aeiouyr])sion"), "jon"),
    (re.compile(r"all(?=[^aeiouy]|$|ing|ers?$)"), "aull"),
    # letters English writes and does not say: knife 나이프, pseudo 수도, thumb 썸, column
    # 칼럼, sign 사인, designer 디자이너, castle 캐슬, listen 리슨
    (re.compile(r"^kn"), "n"),
    (re.compile(r"^ps(?=[aeiouy])"), "s"),
    (re.compile(r"mb(?=$|[^aeiouylr])"), "m"),
    (re.compile(r"mn(?=$|[^aeiouy])"), "m"),
    (re.compile(r"(?<=i)gn(?=$|[^aeiouy]|e[^aeiouy]|e$|ing)"), "n"),
    (re.compile(r"(?<=[aeiouy])st(?=le|ling)"), "s"),
    (re.compile(r"(?<=[aeiouy])sten(?=$|ers?$|ing|s$|ed$)"), "sen"),
    # t before an unstressed i and a vowel is sh, as in -tion (initial 이니셜, credential
    # 크리덴셜, patient 페이션트)
    (re.compile(r"(?<=[aeiouynr])ti(?=a[lt]|ous|en[tc])"), "sh"),
)
#: sh after a vowel and before a consonant: Korean adds the vowel it adds to a final sh
#: (hashmap 해시맵, dashboard 대시보드, as cache 캐시).
_SH_BEFORE_CONSONANT = re.compile(r"(?<=[aeiouy])sh(?=[^aeiouy])")
#: ...and ch there, which may be a k (technology 테크놀로지): a second spelling, as 치
#: (matched 매치드, sketchbook 스케치북).
_CH_BEFORE_CONSONANT = re.compile(r"(?<=[aeiouyr])ch(?=[^aeiouyhlr])")
#: An unstressed vowel between a consonant Korean spells with ㅡ after it and a final l or
#: n, with an English ending or none: Korean writes no vowel there (label 레이블, travel
#: 트래블, button 버튼, token 토큰, lesson 레슨, curtain 커튼, opening 오프닝): a second
#: spelling without it. A vowel must come before (open -> opn, not on -> n).
_SCHWA = re.compile(r"^(.*[aeiouy][^aeiouy]*[bcdfgkpstvxz])(?:[aeo]|i(?=l)|ai(?=n))"
                    r"([ln](?:s|d|ing|ings|er|ers|iz|izer|izers|izd)?)$")
#: Most spellings :func:`_respell` gives one word.
MAX_SPELLINGS = 8


def _respell_one(word: str) -> str:
    """The main spelling of :func:`_respell`."""
    w = word
    for pattern, repl in _CONTEXT_SPELLINGS:
        w = pattern.sub(repl, w)
    for a, b in _SPELLINGS:
        if a in w:
            w = w.replace(a, b)
    if w.endswith("ge"):
        w = w[:-2] + "ji"
    elif len(w) > 4 and w.endswith("ed") and w[-3] not in _VOWELS and w[-3] not in "td":
        w = w[:-2] + "d"  # interned -> 인턴드: no vowel in -ed
    elif len(w) > 3 and w[-1] == "e" and w[-2] not in _VOWELS:
        w = w[:-1]  # silent e
    if w.endswith(("sh", "ch")):
        w += "i"
    return _SH_BEFORE_CONSONANT.sub("shi", w)


def _without_silent_e(w: str) -> str | None:
    """pipe|line, name|space, byte|code: a vowel, a consonant, e, a consonant, a vowel
    (pipeline -> pipline, 파이프라인); None if there is no such e."""
    n = len(w)
    for i in range(2, n - 2):
        if (w[i] == "e" and w[i - 1] not in _VOWELS and w[i - 2] in _VOWELS and w[i + 1] not in _VOWELS
                and w[i - 1] != w[i + 1] and (w[i + 2] in _VOWELS or i + 3 < n and w[i + 3] in _VOWELS)):
            return w[:i] + w[i + 1:]
    return None


def _respell(word: str) -> list[str]:
    """An English word spelled closer to how Korean writes it: ``ph`` -> ``f``, a silent
    final e dropped, ``-ge``/``-sh``/``-ch`` at the end given the vowel Korean adds
    (image -> 이미지, cache -> 캐시), -ture as 처 (capture 캡처); and other spellings
    Korean may write: without a silent e inside a compound (pipeline -> pipline,
    파이프라인), without an unstressed vowel before a last l or n (:data:`_SCHWA`), ch
    before a consonant as 치; a plural as its singular, and with the singular's silent e
    gone (rules -> rule, rul, ruls: 룰스; scopes -> 스코프)."""
    return [spelling for spelling, _ in _spellings(word)]


def _spellings(word: str) -> list[tuple[str, bool]]:
    """:func:`_respell`'s spellings, each with whether it ends in a consonant and l or n
    with no vowel between (an unstressed vowel dropped, :data:`_SCHWA`, or a silent e:
    :data:`_CLUSTER_END`), which only a Hangul word that writes ㅡ there may have
    (:func:`_writes_schwa`: 애플, not 앱을)."""
    bases = [_respell_one(word)]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        singular = _respell_one(word[:-3] + "y" if word.endswith("ies") else word[:-1])
        bases.append(singular)
        if not singular.endswith(("s", "x", "z")):
            bases.append(singular + "s")
    out: dict[str, bool] = {}
    for w in bases:
        for spelling, schwa in ((w, False), (_without_silent_e(w), False), (_SCHWA.sub(r"\1\2", w), True),
                                (_CH_BEFORE_CONSONANT.sub("ji", w), False)):
            if spelling and spelling not in out:
                out[spelling] = schwa or bool(_CLUSTER_END.search(spelling))
    return list(out.items())[:MAX_SPELLINGS]


#: A spelling that ends in a consonant and l or n with no vowel between (table -> tabl,
#: bundle -> bundl): Korean writes ㅡ between them too (테이블, 번들).
_CLUSTER_END = re.compile(r"[bcdfgkpstvxz][ln][sd]?$")
_OBSTRUENTS = frozenset("ㄱㄲㅋㄷㄸㅌㅂㅃㅍㅅㅆㅈㅉㅊ")


def _writes_schwa(word: str) -> bool:
    """Whether a Hangul word has the syllable Korean writes for an unstressed vowel
    before l or n: a consonant, ㅡ, and ㄴ/ㄹ after it (버튼, 레이블, 오프닝); not a
    particle or ending's 은, 을, 는 after a 받침 (같은, 맛을, 받는), which sound alike."""
    parts = [split_syllable(ch) for ch in word if is_syllable(ch)]
    for i, (cho, jung, jong) in enumerate(parts):
        if jung == "ㅡ" and cho in _OBSTRUENTS and (
                jong in ("ㄴ", "ㄹ") or not jong and i + 1 < len(parts) and parts[i + 1][0] in "ㄴㄹ"):
            return True
    return False


_PLAIN = {c: ("V",) for c in "aeiouy"} | {"h": ("",), "w": ("",)} | {
    c: (k,) for c, k in _LATIN_CLASS.items() if c not in "rcgdnst"}


def latin_sound_shapes(word: str) -> set[str]:
    """:func:`hangul_sound_shape` for an English word, a few when its spelling is ambiguous."""
    w = word.lower()
    if not w.isalpha() or not w.isascii():
        return set()
    out: set[str] = set()
    for spelling in _respell(w):
        out |= _latin_shapes(spelling)
    return out


def _latin_shapes(w: str) -> set[str]:
    keys = [""]
    i, n = 0, len(w)
    plain = _PLAIN
    while i < n:
        c = w[i]
        choices = plain.get(c)
        step = 1
        if choices is None:
            nxt = w[i + 1] if i + 1 < n else ""
            if c == "r":
                # Korean drops an r that no vowel follows (server -> 서버, docker -> 도커).
                choices = ("L",) if nxt in _VOWELS and nxt else ("",)
            elif c == "n" and nxt == "g":
                # -ng is ㅇ; before a vowel or l/r the g is heard too (ingress -> 인그레스),
                # before e, i or y maybe as j (engine -> 엔진).
                after = w[i + 2] if i + 2 < n else ""
                choices = ("NK", "N") if after and (after in _VOWELS or after in "lr") else ("N",)
                if after and after in "eiy" and w[i + 2:] not in ("ing", "ings"):
                    choices = ("NK", "N", "NS")  # not the -ing of hanging
                step = 2
            elif c == "n":
                choices = ("N",)
            elif c in "sc" and nxt == "h":
                choices = ("S", "K") if c == "c" else ("S",)
                step = 2
            elif c == "t" and nxt == "h":
                choices = ("S", "T")
                step = 2
            elif c == "s":
                choices = ("S",)
            elif c == "c":
                choices = ("K",)
            elif c == "g":
                choices = ("K", "S") if nxt and nxt in "eiy" else ("K",)
            elif c == "d":
                choices = ("T", "S") if nxt == "u" else ("T",)
            elif c == "t":
                choices = ("T", "S") if nxt == "u" else ("T",)  # virtual -> 버추얼
            else:
                choices = ("",)
        if len(choices) == 1:
            ch = choices[0]
            keys = [k + ch for k in keys] if len(keys) > 1 else [keys[0] + ch]
        else:
            keys = [k + ch for k in keys for ch in choices][:MAX_SOUND_KEYS]
        i += step
    return {k for k in (_squeeze(k) for k in keys) if k.strip("V")}


_VOWEL_CORE = {"ㅑ": "ㅏ", "ㅒ": "ㅐ", "ㅕ": "ㅓ", "ㅖ": "ㅔ", "ㅛ": "ㅗ", "ㅠ": "ㅜ", "ㅘ": "ㅏ", "ㅙ": "ㅐ",
               "ㅚ": "ㅔ", "ㅝ": "ㅓ", "ㅞ": "ㅔ", "ㅢ": "ㅣ"}
# How the English vowels a Korean vowel writes in loanwords begin (ㅓ stands for nearly any).
_VOWEL_LETTERS = {
    "ㅏ": ("a", "o", "u", "i", "y"),
    "ㅐ": ("a", "e"),
    "ㅔ": ("e", "a"),
    "ㅓ": ("a", "e", "i", "o", "u", "y"),
    "ㅗ": ("o", "au", "aw"),
    "ㅜ": ("u", "o", "ew", "eu"),
    "ㅣ": ("i", "y", "e", "a"),
    "ㅟ": ("u", "i", "e"),  # suite, sweet (the w is not a vowel letter here)
}


def hangul_vowel_slots(word: str) -> list[str]:
    """The first vowel of each vowel stretch of :func:`hangul_sound_shape` (``미들웨어``
    -> ``["ㅣ", "ㅔ"]``), as its simple core (ㅞ -> ㅔ)."""
    slots: list[str] = []
    open_slot = False
    for ch in word:
        if not is_syllable(ch):
            return []
        cho, jung, jong = split_syllable(ch)
        if _CHO_CLASS[cho]:
            open_slot = False
        if jung != "ㅡ":
            if not open_slot:
                slots.append(_VOWEL_CORE.get(jung, jung))
            open_slot = True
        if _JONG_CLASS[jong]:
            open_slot = False
    return slots


def latin_vowel_slots(word: str) -> list[list[str]]:
    """The vowel stretches of an English word as :func:`latin_sound_shapes` reads it
    (``middleware`` -> ``[["i", "ea"]]``), one list per spelling."""
    return [_latin_slots(w) for w in _respell(word.lower())]


def _latin_slots(w: str) -> list[str]:
    slots: list[str] = []
    stretch = ""
    n = len(w)
    for i, c in enumerate(w):
        if c in _VOWELS:
            stretch += c
        elif c in "hw" or (c == "r" and not (i + 1 < n and w[i + 1] in _VOWELS)):
            continue
        elif stretch:
            slots.append(stretch)
            stretch = ""
    if stretch:
        slots.append(stretch)
    # a y gliding into a vowel (ya, yo) is read by the vowel
    return [x[1:] if len(x) > 1 and x[0] == "y" else x for x in slots]


def _latin_dropped_r(w: str) -> list[bool]:
    """For each vowel stretch of :func:`_latin_slots`, whether an r Korean drops follows
    it (``internd``: ``[False, True]``, the r-coloured vowel of in-*ter*-ned)."""
    flags: list[bool] = []
    stretch = False
    r = False
    n = len(w)
    for i, c in enumerate(w):
        if c in _VOWELS:
            stretch = True
        elif c == "r" and not (i + 1 < n and w[i + 1] in _VOWELS):
            r = r or stretch
        elif c in "hw":
            continue
        elif stretch:
            flags.append(r)
            stretch = r = False
    if stretch:
        flags.append(r)
    return flags


def _misfit(hangul: str, latin: str, dropped_r: bool) -> bool:
    """A vowel pairing :func:`sounds_like` allows but Korean usage does not make: ㅓ is
    the r-coloured vowel (서버, 인턴드 interned), an e or i not before an r is ㅔ or ㅣ
    (인텐드 intend, 인덴트 indent); and ㅔ/ㅐ is no r-coloured e."""
    if hangul == "ㅓ":
        return latin[:1] in ("e", "i", "y") and not dropped_r
    if hangul in ("ㅔ", "ㅐ"):
        return latin[:1] == "e" and dropped_r
    return False


def vowel_misfits(hangul: str, latin: str) -> int:
    """How many vowels of a Hangul word and an English word that sound alike
    (:func:`sounds_like`) pair against Korean usage (:func:`_misfit`): the fewer, the
    likelier the one is the other's spelling (인턴드 is interned, not indent or intend)."""
    vowels = hangul_vowel_slots(hangul)
    best: int | None = None
    for w in latin_sound(latin).spellings:
        slots, rs = _latin_slots(w), _latin_dropped_r(w)
        for s, r in ((slots, rs), (slots[:-1], rs[:-1])):
            if len(s) == len(vowels) and len(r) == len(s):
                m = sum(_misfit(x, y, f) for x, y, f in zip(vowels, s, r, strict=True))
                best = m if best is None else min(best, m)
    return len(vowels) if best is None else best


def _slots_agree(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and all(
        y.startswith(_VOWEL_LETTERS.get(x, ("",))) for x, y in zip(a, b, strict=True))


def sounds_like(hangul: str, latin: str) -> bool:
    """Whether a Hangul word is the English word written in Hangul: the same consonant
    classes and syllable shape, and vowels that can spell each other (``레플리카셋`` /
    ``replicaset`` yes, ``받나요``/``partner`` no). A last syllable the analyzer took for a
    particle may be missing from the Hangul (``그라파나`` is indexed as ``그라파``)."""
    return latin_sound(latin).matches(hangul)


# Which Hangul sibilant an English spelling can be: ㅅ (S) or ㅈ/ㅊ (J); None: it may be
# no sibilant at all (ch as in cache, th as in the).
_SIBILANT_UNITS = {"sh": {"S"}, "ch": {"J", "S", None}, "th": {"S", None}, "du": {"J", None},
                   "tu": {"J", None}, "j": {"J"}, "z": {"J"}, "s": {"S", "J"}, "x": {"S"}}


def _latin_sibilants(w: str) -> list[set[str | None]]:
    out: list[set[str | None]] = []
    i, n = 0, len(w)
    while i < n:
        pair = w[i:i + 2]
        if pair in _SIBILANT_UNITS:
            out.append(_SIBILANT_UNITS[pair])
            i += 2
            continue
        if w[i] == "g" and i + 1 < n and w[i + 1] in "eiy":
            out.append({"J", None})
        elif w[i] in _SIBILANT_UNITS:
            out.append(_SIBILANT_UNITS[w[i]])
        i += 1
    return out


def _hangul_sibilants(word: str) -> list[str]:
    out = []
    for ch in word:
        if is_syllable(ch):
            cho, _, jong = split_syllable(ch)
            if cho in "ㅅㅆ":
                out.append("S")
            elif cho in "ㅈㅉㅊ":
                out.append("J")
            if jong in ("ㄳ", "ㄵ", "ㄽ", "ㅄ"):
                out.append("S")
    return out


def _sibilants_agree(hangul: list[str], latin: list[set[str | None]]) -> bool:
    """ㅅ is never j or z, ㅈ/ㅊ never sh (사이퍼 is not java): the sibilants in order."""
    i = 0
    for allowed in latin:
        if i < len(hangul) and hangul[i] in allowed:
            i += 1
        elif None not in allowed and i < len(hangul):
            return False
    return i == len(hangul)


# Korean writes an English b or v as ㅂ, p or f as ㅍ, d as ㄷ, t as ㅌ, g as ㄱ, k, c or q
# as ㅋ when it starts a syllable (a tense ㄲ, ㄸ, ㅃ for either: 깃 git); th as ㄷ or ㅌ.
_STOP_UNITS = {"b": "ㅂㅃ", "v": "ㅂㅃ", "p": "ㅍㅃ", "f": "ㅍㅃ", "d": "ㄷㄸ", "t": "ㅌㄸ", "th": "ㄷㅌㄸ",
               "g": "ㄱㄲ", "k": "ㅋㄲ", "c": "ㅋㄲ", "q": "ㅋㄲ", "ch": "ㅋㄲ"}
_HANGUL_STOPS = frozenset("ㄱㄲㅋㄷㄸㅌㅂㅃㅍ")


def _latin_stops(w: str) -> list[str]:
    """The Hangul initials each stop consonant of a spelling may be written with, in order."""
    out: list[str] = []
    i, n = 0, len(w)
    while i < n:
        pair = w[i:i + 2]
        if pair in ("th", "ch"):
            out.append(_STOP_UNITS[pair])
            i += 2
            continue
        unit = _STOP_UNITS.get(w[i])
        if unit and i + 1 < n and w[i + 1] in _VOWELS:
            out.append(unit)
        elif unit:
            # no vowel after it: the d of -ed after a voiceless consonant may be ㅌ (dropped
            # 드롭트), the f of "of" ㅂ (오브: English's one f said v, also inside a phrase
            # written as one word)
            of = w[i] == "f" and w[i - 1:i] == "o" and w[i - 2:i - 1] not in _VOWELS | {"f"} and (
                i + 1 == n or w[i + 1] not in "lrf")
            ed = w[i] == "d" and i == n - 1 and w[i - 1:i] in ("p", "k", "c", "f", "s", "x", "h")
            out.append(unit + ("ㅂ" if of else "ㅌ" if ed else ""))
        i += 1
    return out


def _hangul_stops(word: str) -> str:
    """The stop consonants a Hangul word starts its syllables with (not its 받침)."""
    return "".join(c for c in (split_syllable(ch)[0] for ch in word if is_syllable(ch)) if c in _HANGUL_STOPS)


def _stops_agree(hangul: str, latin: list[str]) -> bool:
    """Each of the Hangul word's initial stops is one of the English word's stops, in
    order, written as Korean writes it (필드 is field, not build; 포럼 is forum, not
    volume); an English stop may be a 받침 instead, or silent."""
    i = 0
    for allowed in latin:
        if i < len(hangul) and hangul[i] in allowed:
            i += 1
    return i == len(hangul)


class LatinSound:
    """An English word's shapes and vowels, worked out once for :func:`sounds_like`: the
    shapes first, its vowels and sibilants only when a Hangul word has one of them (most
    of the words filed under a sound key do not)."""

    def __init__(self, latin: str) -> None:
        # The spellings that have each shape; the shape without its last consonant and
        # vowel too, for a Hangul word whose last syllable was cut.
        marked = _spellings(latin.lower())
        self.spellings = [spelling for spelling, _ in marked]
        self.schwa = frozenset(k for k, (_, schwa) in enumerate(marked) if schwa)
        self.whole: dict[str, list[int]] = {}
        self.cut: dict[str, list[int]] = {}
        self._slots: list[list[str]] | None = None
        self._sibilants: list[list[set[str | None]]] | None = None
        self._stops: list[list[str]] | None = None
        for k, spelling in enumerate(self.spellings):
            for shape in _latin_shapes(spelling):
                self.whole.setdefault(shape, []).append(k)
                if shape.endswith("V") and len(shape) >= 3 and shape[-2] in "KTLMN":
                    self.cut.setdefault(shape[:-2], []).append(k)

    def matches(self, hangul: str) -> bool:
        shape = hangul_sound_shape_cached(hangul)
        if not shape or (shape not in self.whole and shape not in self.cut):
            return False
        _, sibilants, vowels, stops, schwa = _hangul_sound(hangul)
        if self._sibilants is None:
            self._sibilants = [_latin_sibilants(w) for w in self.spellings]
        if not any(_sibilants_agree(sibilants, x) for x in self._sibilants) and shape in self.whole:
            return False
        if self._stops is None:
            self._stops = [_latin_stops(w) for w in self.spellings]
        if stops and not any(_stops_agree(stops, x) for x in self._stops):
            return False
        if self._slots is None:
            self._slots = [_latin_slots(w) for w in self.spellings]
        slots = self._slots
        if self.schwa and not schwa:
            whole = [k for k in self.whole.get(shape, ()) if k not in self.schwa]
            cut = [k for k in self.cut.get(shape, ()) if k not in self.schwa]
        else:
            whole, cut = self.whole.get(shape, []), self.cut.get(shape, [])
        return any(_slots_agree(vowels, slots[k]) for k in whole) or any(
            _slots_agree(vowels, slots[k][:-1]) for k in cut)


#: A query word's sounds are matched against every word of the notebook filed under its
#: sound key (hundreds on a big notebook): both sides are worked out once per word.
SOUND_CACHE = 8192


@lru_cache(maxsize=SOUND_CACHE)
def latin_sound(latin: str) -> LatinSound:
    return LatinSound(latin)


@lru_cache(maxsize=SOUND_CACHE)
def hangul_sound_shape_cached(hangul: str) -> str:
    """:func:`hangul_sound_shape`, kept per word (a pure function of it)."""
    return hangul_sound_shape(hangul)


@lru_cache(maxsize=SOUND_CACHE)
def _hangul_sound(hangul: str) -> tuple[str, list[str], list[str], str, bool]:
    """A Hangul word's shape, sibilants, vowel slots, initial stops and whether it writes
    ㅡ before l or n, as :meth:`LatinSound.matches` reads them."""
    return (hangul_sound_shape_cached(hangul), _hangul_sibilants(hangul), hangul_vowel_slots(hangul),
            _hangul_stops(hangul), _writes_schwa(hangul))


def latin_lookup_keys(latin: str) -> set[str]:
    """The sound keys under which :func:`sounds_like` candidates of an English word are
    filed, the key without a last consonant too (그라파나 indexed as 그라파)."""
    out = set()
    for spelling in _respell(latin.lower()):
        for shape in _latin_shapes(spelling):
            out.add(_squeeze(shape.replace("V", "")))
            if shape.endswith("V") and len(shape) >= 3 and shape[-2] in "KTLMN":
                out.add(_squeeze(shape[:-2].replace("V", "")))
    return {k for k in out if k}


def sound_keys(term: str) -> set[str]:
    """The sound keys of an index term in either script (empty for anything else)."""
    if term.isascii():
        return latin_sound_keys(term)
    key = hangul_sound_key(term)
    return {key} if key else set()


def romanize(word: str) -> str:
    """A rough Latin spelling of a Hangul loanword (``레플리카셋`` -> ``replikaset``),
    for judging how close it sounds to an English word."""
    vowels = {"ㅏ": "a", "ㅐ": "e", "ㅑ": "ya", "ㅒ": "ye", "ㅓ": "o", "ㅔ": "e", "ㅕ": "yo", "ㅖ": "ye",
              "ㅗ": "o", "ㅘ": "wa", "ㅙ": "we", "ㅚ": "we", "ㅛ": "yo", "ㅜ": "u", "ㅝ": "wo", "ㅞ": "we",
              "ㅟ": "wi", "ㅠ": "yu", "ㅡ": "", "ㅢ": "ui", "ㅣ": "i"}
    initials = {"ㄱ": "g", "ㄲ": "k", "ㄴ": "n", "ㄷ": "d", "ㄸ": "t", "ㄹ": "r", "ㅁ": "m", "ㅂ": "b",
                "ㅃ": "p", "ㅅ": "s", "ㅆ": "s", "ㅇ": "", "ㅈ": "j", "ㅉ": "j", "ㅊ": "ch", "ㅋ": "k",
                "ㅌ": "t", "ㅍ": "p", "ㅎ": "h"}
    finals = {"ㄱ": "k", "ㄴ": "n", "ㄹ": "l", "ㅁ": "m", "ㅂ": "p", "ㅅ": "t", "ㅇ": "ng", "ㄷ": "t",
              "ㅌ": "t", "ㅍ": "p", "ㅋ": "k", "ㅆ": "t", "ㅈ": "t", "ㅊ": "t"}
    out = []
    for ch in word:
        if not is_syllable(ch):
            out.append(ch)
            continue
        cho, jung, jong = split_syllable(ch)
        out.append(initials[cho] + vowels[jung] + finals.get(jong, ""))
    return "".join(out)


# --------------------------------------------------------------------------- predicates

#: Endings joined straight to a predicate's stem (``늘리`` + ``고``, ``막`` + ``는데``). The
#: one-syllable ones are also the last syllable of many nouns (사고, 크기, 화면, 이미지):
#: they leave a stem only under :func:`verb_stem`'s stricter rules.
_BARE_ENDINGS = frozenset(
    "고 게 기 면 며 는 던 다 도록 려면 려고 려는 려다 니까 는데 지만 는지 나요 네요 세요 면서 더라도 "
    "거나 든지 다가 는다 고서 기로 게요 는가 던데 지요 죠 게끔 는가요 는데요 겠 겠다 겠고 던지 려나 려니 "
    "니 냐 자마자 다고 다는 다면".split()
)
#: ...of which these end many nouns after one syllable (광고, 분기, 측면, 람다).
_WEAK_ENDINGS = frozenset("고 기 면 다".split())
#: Endings after a stem that ends in a consonant (``막`` + ``으려면``, ``읽`` + ``은``).
_EU_ENDINGS = frozenset(
    "으면 으려면 으려고 으려는 으며 으니까 으면서 으세요 으니 은 을 음 은지 을지 을까 을까요 은데 은가 "
    "은가요 을수 습니다 습니까 습니다만".split()
)
#: What follows 어/아, alone or contracted into the stem's last syllable (``늘려``+``서``).
_AFTER_EO = frozenset("서 도 야 요 서는 서도 야지 야만 야죠 야해".split())
#: What follows a past ㅆ (``늘렸``+``다``, ``바꿨``+``는데``).
_AFTER_PAST = frozenset(
    "다 고 는데 지만 던 을 어요 습니다 습니까 으니까 나요 는지 으면 으니 죠 지 기 거나 을까 었다 어서 "
    "는지요".split()
)
#: What follows an ending fused into the stem's last syllable as its 받침: ㄴ (``되돌린``+``다``,
#: ``느린``+``가요``), ㄹ (``돌릴``+``까``), ㅂ (``줄입``+``니다``).
_AFTER_FUSED_FINAL = {
    "ㄴ": frozenset("다 데 지 가 가요 지요 걸 데도 다면 다고 다는".split()),
    "ㄹ": frozenset("까 까요 수 게 게요 래 지 때 지도 지요 거야".split()),
    "ㅂ": frozenset("니다 니까 시다".split()),
}
#: 받침 an ending fuses into a stem's last syllable: ㄴ ㄹ ㅁ ㅂ (돌릴, 늘림, 줍니다) and the past ㅆ.
_FUSED_FINALS = ("ㄴ", "ㄹ", "ㅁ", "ㅂ", "ㅆ")
#: A vowel contracted from a stem's last vowel and the ending's 어/아 (``리``+``어`` = ``려``,
#: ``꾸``+``어`` = ``꿔``, ``쓰``+``어`` = ``써``): the stem's vowel, and the initials after
#: which the index's one reading (:func:`verb_stem`) undoes it: 과, 화 end Sino-Korean nouns
#: (결과, 최적화), 와, 봐, 놔 and 돼 are verbs; 서, 거 end too many nouns (문서, 근거).
_UNDO = {"ㅕ": ("ㅣ", CHO), "ㅝ": ("ㅜ", CHO), "ㅘ": ("ㅗ", "ㅇㅂㄴ"), "ㅙ": ("ㅚ", "ㄷ"), "ㅓ": ("ㅡ", "")}
#: ...and the other way: a stem's last vowel and what 어/아 makes of it.
_CONTRACTED = {stem: contracted for contracted, (stem, _) in _UNDO.items()}
#: Last syllables of stems that take a fused ending with nothing after it (``가린``, ``돌릴``,
#: ``늘림``): the causative and passive 리/기/히/우 and 꾸. A noun ends in ``인``, ``일``, ``준``
#: far more often than a verb does (확인, 파일, 기준), so those need an ending after them.
_FUSE_ALONE = frozenset("리기히우꾸")
#: 받침 a Sino-Korean syllable can have: a one-syllable stem with one of these and a short
#: ending is most often a noun (측면, 광고, 분기); 맺고, 끊고, 읽기, 찾는 are verbs.
_SINO_FINALS = frozenset("ㄱㄴㄹㅁㅂㅇ")
_MAX_VERB_ENDING = 4

#: What follows a verb or adjective stem (``막`` + ``으려면``, ``줄이`` + ``려면``, ``바꾸`` + ``기``):
#: Korean grammar's endings, a closed class like the particles of :mod:`kb.analysis`; the
#: tables above, and endings that start with the ending's own 어/아 or a past 었/았.
PREDICATE_ENDINGS = frozenset(
    "다 고 게 기 지 는 은 을 면 으면 려면 으려면 려고 으려고 도록 는데 은데 어 아 어서 아서 어야 아야 "
    "어도 아도 었다 았다 었 았 어요 아요 습니다 니다 며 으며 면서 으면서 기도 기를 기는 기에 기가 지만 "
    "는지 은지 을지 을까 나요 까요 네 네요 죠 지요 니 냐 음 음을 음이 기로 자 세요 으세요 던 더라도 "
    "는가 은가 가요 데 까 수 서 야 도 요 라 려 ".split()
)


def _syllables(word: str) -> bool:
    return all(_BASE <= ord(c) <= _LAST for c in word)


def _split_stems(word: str, strict: bool) -> Iterator[str]:
    """The one core of both readings of a predicate: ``word`` cut before each ending of the
    grammar, the longest first, and the stems each cut leaves by the tables above (an ending
    fused into the last syllable's 받침 taken out, a contraction undone).

    ``strict`` (the index, :func:`verb_stem`): only the readings the tables allow in full,
    each a stem in its normal shape (:func:`_checked`), ``""`` for a cut that fits but leaves
    none; its first answer decides. Else (the query, :func:`predicate_stems`): every
    candidate, a guess the notes must confirm."""
    n = len(word)
    longest = range(min(_MAX_VERB_ENDING, n - 1), -1, -1)
    # the query's guesses start with the word as it is (돌릴 -> 돌리), then the longest ending
    for k in longest if strict else (0, *longest[:-1]):
        ending = word[n - k:] if k else ""
        if strict:
            stem = _stem_before(word[: n - k], ending)
            if stem is not None:
                yield stem
                return
        elif not k or ending in PREDICATE_ENDINGS:
            yield from _candidates(word[: n - k], ending)


def _candidates(rest: str, ending: str) -> Iterator[str]:
    """Every stem ``rest`` + ``ending`` may be a form of (see :func:`_split_stems`)."""
    cho, jung, jong = split_syllable(rest[-1])
    head = rest[:-1]
    if ending:
        yield rest
    undo = _UNDO.get(jung)
    if jong in _FUSED_FINALS and (not ending or jong == "ㅆ" or ending in _AFTER_FUSED_FINAL.get(jong, ())):
        # 돌릴, 느린가요 = 느리 + ㄴ가요, 줍니다 = 주 + ㅂ니다, a past ㅆ (바꿨는데); 점을 is
        # 점 + 을, not 저 + ㅁ + 을.
        yield head + join_syllable(cho, jung)
        if jong == "ㅆ":  # past: 바꿨 -> 바꿔 -> 바꾸, 했 -> 해 -> 하
            if undo:
                yield head + join_syllable(cho, undo[0])
            elif jung == "ㅐ" and cho == "ㅎ":
                yield head + "하"
    elif not jong and ending and undo:
        yield head + join_syllable(cho, undo[0])  # 줄여(서) -> 줄이
    elif not jong and ending and jung == "ㅐ" and cho == "ㅎ":
        yield head + "하"  # 해(야) -> 하


def predicate_stems(word: str) -> list[str]:
    """Candidate stems of a Hangul predicate: an ending fused into its last syllable, then an ending of
    :data:`PREDICATE_ENDINGS` stripped, and an ending fused into the last syllable
    undone (``돌릴`` -> ``돌리``, ``바꿨는데`` -> ``바꾸``, ``줄여서`` -> ``줄이``).
    A guess: :meth:`kb.expand.Expander` keeps a stem only if the notes use its forms.
    The query's reading of the grammar :func:`verb_stem` reads for the index.

    >>> predicate_stems("막으려면")
    ['막']
    """
    if len(word) < 2 or not _syllables(word):
        return []
    out: list[str] = []
    for stem in _split_stems(word, strict=False):
        if stem and stem != word and stem not in out:
            out.append(stem)
    return out


def predicate_heads(stem: str) -> list[str]:
    """Where the forms of a stem start in a lexicon: the stem itself (``줄이`` -> ``줄이기``,
    ``줄이는``), and its last syllable with an ending fused in (``줄일``, ``줄인``, ``줄여``,
    ``줄였``)."""
    cho, jung, jong = split_syllable(stem[-1])
    heads = [stem]
    if not jong:
        for final in _FUSED_FINALS:
            heads.append(stem[:-1] + join_syllable(cho, jung, final))
        other = _CONTRACTED.get(jung)
        if other and other != jung:
            heads.append(stem[:-1] + join_syllable(cho, other))
            heads.append(stem[:-1] + join_syllable(cho, other, "ㅆ"))
    return heads


# --------------------------------------------------------------------------- one stem for the index


def verb_stem(word: str) -> str:
    """The stem of a native Korean predicate form, or ``""``: its ending stripped, an ending
    fused into the last syllable's 받침 taken out, a contraction undone, so the forms of one
    verb meet (``늘리고``, ``늘려``, ``늘린다``, ``늘렸다`` -> ``늘리``; ``바꿔``, ``바꾸면`` ->
    ``바꾸``; ``가린``, ``가려진`` -> ``가리``; ``남게``, ``남아`` -> ``남``...). Rules of the grammar at
    the level of jamo, no list of verbs: a guess, so the index adds the stem beside the
    word (as an identifier's parts) and a query searches it as another form of the word.

    ======================  ==========
    word                     stem
    ======================  ==========
    ``되돌리려면``            ``되돌리``
    ``되돌린다``              ``되돌리``
    ``넘겨``                  ``넘기``
    ``막으려면``              ``막``
    ``메모리``, ``측면``      ``""``
    ======================  ==========
    """
    if len(word) < 2 or not _syllables(word):
        return ""
    # the longest ending that fits decides, even when it leaves no stem
    return next(_split_stems(word, strict=True), "")


def _stem_before(rest: str, ending: str) -> str | None:
    """The stem of ``rest`` followed by ``ending`` (maybe ``""``); ``""`` when the shape fits
    but leaves no stem to index, None when it does not fit."""
    cho, jung, jong = split_syllable(rest[-1])
    head = rest[:-1]
    if ending in _EU_ENDINGS and not (jong == "ㅆ" and jung in "ㅓㅏㅕㅝㅘㅙㅐ"):  # not a past 었, 았, 했
        # 막으려면, 읽은: after a consonant (not ㄹ: 만들면, not 만들으면)
        return _checked(rest, ending) if jong and jong != "ㄹ" else None
    if cho == "ㅇ" and jung in "ㅓㅏㅕ" and head and (
            split_syllable(head[-1])[2] if jung != "ㅕ" else head[-1] == "하"):
        # 남아, 막아서, 읽었다: the ending's own 어/아 after a stem (되어, 하여 uncontracted)
        if (not jong and (not ending or ending in _AFTER_EO)) or (jong == "ㅆ" and ending in _AFTER_PAST):
            return _checked(head, "어")
        return None
    if jung in _UNDO and cho in _UNDO[jung][1] and (
            (not jong and (not ending or ending in _AFTER_EO)) or (jong == "ㅆ" and ending in _AFTER_PAST)):
        # 늘려(서), 바꿨는데: 리+어 = 려, 꾸+어 = 꿔
        return _checked(head + join_syllable(cho, _UNDO[jung][0]), "어")
    if cho == "ㅎ" and jung == "ㅐ" and (
            (not jong and ending in _AFTER_EO) or (jong == "ㅆ" and ending in _AFTER_PAST)):
        return _checked(head + "하", "어")  # 이해했는지, 정리해서: 하 + 여 = 해
    if jong in _AFTER_FUSED_FINAL and ending in _AFTER_FUSED_FINAL[jong] or (
            not ending and jong in "ㄴㄹㅁ" and jong and (
                join_syllable(cho, jung) in _FUSE_ALONE or _is_aux_ji(head, cho, jung))):
        # 되돌린다, 돌릴까, 줄입니다; 가린, 늘림; 가려진 (가리 + 어지 + ㄴ)
        return _checked(head + join_syllable(cho, jung), "ㄴ")
    if ending in _BARE_ENDINGS:
        if ending[0] == "려" and jong and jong != "ㄹ":
            return None  # 려면 follows a vowel or ㄹ: 막려면 is no Korean
        return _checked(rest, ending)
    return None


def _is_aux_ji(head: str, cho: str, jung: str) -> bool:
    """``가려지``: the passive 어지 after a contracted stem (or 아/어 after a consonant)."""
    if cho != "ㅈ" or jung != "ㅣ" or not head:
        return False
    c, j, f = split_syllable(head[-1])
    if j in _UNDO and c in _UNDO[j][1] and not f:
        return True
    return c == "ㅇ" and j in "ㅓㅏ" and not f and len(head) >= 2


def _checked(stem: str, ending: str) -> str:
    """``stem`` in a normal shape, if it can be one: the passive 어지 folded into its verb
    (``가려지`` -> ``가리``), a final ㄹ dropped (``만들``, ``만든`` -> ``만드``: ㄹ falls before ㄴ,
    ㅂ, ㅅ), and a one-syllable stem kept only when it is no likely noun (see _SINO_FINALS)."""
    if len(stem) >= 2 and stem[-1] == "지":
        c, j, f = split_syllable(stem[-2])
        if j in _UNDO and c in _UNDO[j][1] and not f:
            stem = stem[:-2] + join_syllable(c, _UNDO[j][0])  # 가려지 -> 가리
        elif c == "ㅇ" and j in "ㅓㅏ" and not f and len(stem) >= 3 and split_syllable(stem[-3])[2]:
            stem = stem[:-2]  # 막아지 -> 막
    if len(stem) >= 3 and stem[-1] in "하되":
        stem = stem[:-1]  # 렌더링할지: a noun with 하다, as the particle table reads it
    if not stem:
        return ""
    c, j, f = split_syllable(stem[-1])
    if len(stem) >= 2 and f == "ㄹ":
        stem = stem[:-1] + join_syllable(c, j)
    if len(stem) == 1:
        if not f or f == "ㄹ":
            return ""  # 사고, 화면, 가게: 사, 화, 가 are no stems to index
        if f in _SINO_FINALS and ending in _WEAK_ENDINGS:
            return ""  # 측면, 광고, 분기
    return stem
