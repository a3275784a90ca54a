"""English word forms: a light stemmer and a typo key, fast enough to run over a whole lexicon.

kb keeps English words whole in the index (``useEffect``, ``max_active_runs`` and
``parsing`` are indexed as written); what it stems is the lookup: at index time every
English term is filed under its stem (:mod:`kb.vocab`), and a query word finds the
terms filed under its own. The stemmer folds inflections and a few suffixes that derive one word from another,
and is consistent rather than linguistic (``parse``, ``parses``, ``parsed`` and
``parsing`` all give ``pars``); Whoosh's Porter stemmer does more but costs ~30 us a
word, this ~2 us.

======================  ==========
word                     stem
======================  ==========
``parsing``, ``parse``   ``pars``
``files``, ``filing``    ``fil``
``configuration``        ``configur`` (as ``configure``, ``configured``)
``studies``, ``study``   ``studi``
======================  ==========
"""

from __future__ import annotations

_VOWELS = frozenset("aeiouy")
# Suffixes that make one word of another (configuration/configure, recursion/recursive,
# loosely/loose, persistence/persist): (suffix, what it leaves, shortest word it applies to).
_DERIVATIONS = (
    ("ability", "", 9), ("ibility", "", 9), ("ation", "", 9), ("ition", "", 8), ("tion", "t", 7),
    ("sion", "s", 7), ("ence", "", 8), ("ance", "", 8), ("ment", "", 8), ("able", "", 8),
    ("ible", "", 8), ("ity", "", 7), ("ive", "", 7), ("ly", "", 6),
)
_NO_UNDOUBLE = frozenset("lsz")


def _has_vowel(text: str) -> bool:
    return any(c in _VOWELS for c in text)


def light_stem(word: str) -> str:
    """The stem a word is filed under (lowercase ASCII letters; anything else as it is)."""
    w = word
    if len(w) <= 3 or not w.isalpha() or not w.isascii():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("eed"):
        pass
    else:
        for suffix in ("ing", "ed"):
            if w.endswith(suffix):
                rest = w[: -len(suffix)]
                if len(rest) >= 3 and _has_vowel(rest):
                    w = rest
                    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in _VOWELS | _NO_UNDOUBLE:
                        w = w[:-1]
                break
    for suffix, keep, min_len in _DERIVATIONS:
        if w.endswith(suffix) and len(w) >= min_len:
            w = w[: len(w) - len(suffix)] + keep
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w.endswith("y"):
        w = w[:-1] + "i"
    return w


#: Forms of an ``-ate`` verb and of its ``-ation`` noun: :func:`light_stem` files them apart
#: (``migrating`` -> ``migrat``, ``migration`` -> ``migr``), as it must for ``configure`` /
#: ``configuration`` to meet.
_ATE_FORMS = ("ate", "ated", "ates", "ating")
_ATION_FORMS = ("ation", "ations")
#: Nouns that take ``-al`` (``conditional``, ``operational``, ``fundamental``, ``periodical``).
_AL_NOUNS = ("ion", "ment", "ic")
_AL_ENDINGS = ("ally", "als", "al")


def derived_lookups(word: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Where else to look for words derived from ``word`` that :func:`light_stem` files
    under another stem, though a Porter stemmer (SQLite FTS5's) joins them: an ``-ate``
    verb and its ``-ation`` noun (``authenticating`` / ``authentication``) and a noun and
    its ``-al`` adjective (``conditions`` / ``conditional``). Each answer is ``(stem,
    prefix, endings)``: the terms filed under ``stem`` that start with ``prefix`` and end
    with one of ``endings`` (any ending when empty).

    >>> derived_lookups("authenticating")
    [('authentic', '', ('ation', 'ations'))]
    >>> derived_lookups("conditions")
    [('conditional', 'conditional', ())]
    >>> derived_lookups("conditionals")
    [('cond', 'condition', ())]
    """
    w = word.lower()
    if len(w) < 6 or not w.isalpha() or not w.isascii():
        return []
    out: list[tuple[str, str, tuple[str, ...]]] = []
    stem = light_stem(w)
    if stem.endswith("at"):
        if len(stem) >= 6:  # creat: creation, creating are filed together already
            out.append((stem[:-2], "", _ATION_FORMS))
    elif w.endswith(_ATION_FORMS):
        out.append((stem + "at", "", _ATE_FORMS))
    for ending in _AL_ENDINGS:
        if w.endswith(ending):
            base = w[: -len(ending)]
            if base.endswith(_AL_NOUNS):
                out.append((light_stem(base), base, ()))
            break
    else:
        base = w[:-1] if w.endswith("s") and not w.endswith("ss") else w
        if base.endswith(_AL_NOUNS):
            out.append((light_stem(base + "al"), base + "al", ()))
    return out


def letters_key(word: str) -> str:
    """The letters of a word in order (``kuberentes`` and ``kubernetes`` -> ``beeeknrstu``):
    two neighbouring letters swapped leave it as it is."""
    return "".join(sorted(word))
