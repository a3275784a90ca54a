"""Recall and precision of :func:`kb.jamo.sounds_like` on the pairs a notebook glosses.

Offline (no search, no Whoosh): reads an index's ``gloss.tbl`` and ``vocab.tbl``
(:mod:`kb.vocab`) and judges the code on ``PYTHONPATH`` (the keys are worked out again
with it, so a change to the sound keys is measured without rebuilding the index).

Ground truth: the notes' glosses (``인그레스(Ingress)``, ``Ingress(인그레스)``) whose sides
are one Hangul word (2+ syllables) and one English word (3+ letters). Most glosses are
translations (``상태(state)``), so a pair counts as a *loanword* pair if the English word
and the Hangul word romanized (:func:`kb.jamo.romanize`, not changed by sound work), both
folded to rough sound classes (:func:`fold`), are spelled much alike (difflib ratio >=
``--ratio``, 0.8), or ``sounds_like`` accepts it. The judge is crude: read the list. Then:

recall
    of the loanword pairs, how many ``sounds_like(hangul, english)`` accepts; ``--show``
    lists the rejected ones (to read: some are translations that happen to look alike, or
    foreign words Korean spells by another language) and the accepted ones that look
    unlike (likely wrong accepts).
precision
    for each Hangul word of a pair the judge passes (the same words whatever the code),
    the English words of the vocabulary (its ``m`` lines, every title/body term of 3-30
    letters) filed under the Hangul word's sound key that ``sounds_like`` accepts, as
    :meth:`kb.expand.Expander._loan_sounds` looks them up; *wrong* = not a form of a word
    the notes gloss it with (another :func:`kb.english.light_stem`). The other way too:
    for each English word of those pairs, the Hangul words of the vocabulary under its
    lookup keys (:func:`kb.jamo.latin_lookup_keys`) that sound like it, as
    ``Expander._sounds`` does.
vocabulary
    every (Hangul word, English word) pair of the whole vocabulary that shares a key and
    that ``sounds_like`` accepts: a global count of what a change lets in.

Usage (from the worktree whose code is judged)::

    PYTHONPATH=$PWD python benchmarks/sound_pairs.py --index IDX [--show] [--dump FILE]
    python benchmarks/sound_pairs.py --diff A.json B.json    # which pairs moved

``--dump`` writes the accepted pairs and each word's wrong candidates as JSON, for
``--diff`` between two variants.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

if not os.environ.get("PYTHONPATH"):  # else judge the code PYTHONPATH names
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.english import light_stem  # noqa: E402
from kb.jamo import (  # noqa: E402
    hangul_sound_key,
    latin_lookup_keys,
    latin_sound_keys,
    romanize,
    sounds_like,
)

_HANGUL = re.compile("[가-힣]{2,}")
_LATIN = re.compile("[a-z]{3,30}")


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split("\n")
    except OSError:
        sys.exit(f"cannot read {path}")


def gloss_pairs(index: Path) -> list[tuple[str, str]]:
    pairs = set()
    for line in read_lines(index / "gloss.tbl"):
        parts = line.split("\t")
        if len(parts) == 3 and _LATIN.fullmatch(parts[0]) and _HANGUL.fullmatch(parts[1]):
            pairs.add((parts[1], parts[0]))
    return sorted(pairs)


def vocabulary(index: Path) -> tuple[list[str], list[str]]:
    latin, hangul = set(), set()
    for line in read_lines(index / "vocab.tbl"):
        kind, _, rest = line.partition("\t")
        term = rest.partition("\t")[2]
        if kind == "m" and _LATIN.fullmatch(term):
            latin.add(term)
        elif kind == "c" and _HANGUL.fullmatch(term):
            hangul.add(term)
    return sorted(latin), sorted(hangul)


_FOLD = {"r": "l", "f": "p", "v": "p", "b": "p", "g": "k", "c": "k", "q": "k", "d": "t", "z": "s", "j": "s",
         "x": "ks"}


def fold(word: str) -> str:
    """A spelling reduced to rough sound classes, every vowel ``a``, h and w dropped, runs
    squeezed: ``fold(romanize("레이블")) == "lapl"``, ``fold("label") == "lapal"``."""
    for a, b in (("ch", "s"), ("sh", "s"), ("ph", "p"), ("th", "t"), ("ng", "n")):
        word = word.replace(a, b)
    out: list[str] = []
    for c in word:
        c = "a" if c in "aeiouy" else _FOLD.get(c, c)
        if c not in "hw" and (not out or out[-1] != c):
            out.append(c)
    return "".join(out)


def looks_alike(hangul: str, latin: str, ratio: float) -> bool:
    """The judge of a loanword pair, independent of :mod:`kb.jamo`'s sound rules."""
    return SequenceMatcher(None, fold(romanize(hangul)), fold(latin)).ratio() >= ratio


def measure(index: Path, ratio: float) -> dict:
    t0 = time.perf_counter()
    pairs = gloss_pairs(index)
    latin_terms, hangul_terms = vocabulary(index)
    by_key: dict[str, list[str]] = defaultdict(list)
    for term in latin_terms:
        for key in latin_sound_keys(term):
            by_key[key].append(term)
    hangul_by_key: dict[str, list[str]] = defaultdict(list)
    for term in hangul_terms:
        key = hangul_sound_key(term)
        if key:
            hangul_by_key[key].append(term)

    accepted = [p for p in pairs if sounds_like(*p)]
    loan = [p for p in pairs if p in set(accepted) or looks_alike(*p, ratio)]
    rejected = [p for p in loan if p not in set(accepted)]
    unlike = [p for p in accepted if not looks_alike(*p, ratio)]

    glossed: dict[str, set[str]] = defaultdict(set)
    for h, latin in pairs:
        glossed[h].add(light_stem(latin))
        glossed[latin].add(h)

    wrong_en: dict[str, list[str]] = {}
    cands_en = []
    # over the words of the pairs the judge alone passes: the same words for every variant
    judged = [p for p in pairs if looks_alike(*p, ratio)]
    for h in sorted({h for h, _ in judged}):
        key = hangul_sound_key(h)
        found = [e for e in by_key.get(key, ()) if sounds_like(h, e)] if len(key) >= 2 else []
        cands_en.append(len(found))
        wrong_en[h] = [e for e in found if light_stem(e) not in glossed[h]]
    wrong_ko: dict[str, list[str]] = {}
    cands_ko = []
    for latin in sorted({e for _, e in judged}):
        found = sorted({h for k in latin_lookup_keys(latin) if len(k) >= 2
                        for h in hangul_by_key.get(k, ()) if sounds_like(h, latin)})
        cands_ko.append(len(found))
        wrong_ko[latin] = [h for h in found if h not in glossed[latin]]

    vocab_pairs = 0
    for key, hs in hangul_by_key.items():
        es = by_key.get(key)
        if es and len(key) >= 2:
            vocab_pairs += sum(1 for h in hs for e in es if sounds_like(h, e))

    def mean(xs: list[int]) -> float:
        return sum(xs) / len(xs) if xs else 0.0

    return {
        "pairs": len(pairs),
        "loanword_pairs": len(loan),
        "accepted": [list(p) for p in accepted],
        "rejected": [list(p) for p in rejected],
        "accepted_unlike": [list(p) for p in unlike],
        "recall": len(accepted) / len(loan) if loan else 0.0,
        "en_candidates_mean": mean(cands_en),
        "en_wrong_total": sum(len(v) for v in wrong_en.values()),
        "wrong_en": wrong_en,
        "ko_candidates_mean": mean(cands_ko),
        "ko_wrong_total": sum(len(v) for v in wrong_ko.values()),
        "wrong_ko": wrong_ko,
        "vocab_pairs": vocab_pairs,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def report(r: dict, show: bool) -> None:
    acc = len(r["accepted"])
    print(f"one-word gloss pairs: {r['pairs']}; "
          f"loanword pairs (look alike or accepted): {r['loanword_pairs']}")
    print(f"recall: {acc}/{r['loanword_pairs']} = {r['recall']:.3f}  "
          f"(accepted but spelled unlike: {len(r['accepted_unlike'])})")
    print(f"Hangul word -> English candidates: mean {r['en_candidates_mean']:.2f}, "
          f"wrong {r['en_wrong_total']} over {len(r['wrong_en'])} words")
    print(f"English word -> Hangul candidates: mean {r['ko_candidates_mean']:.2f}, "
          f"wrong {r['ko_wrong_total']} over {len(r['wrong_ko'])} words")
    print(f"vocabulary pairs accepted (same key): {r['vocab_pairs']}   [{r['seconds']} s]")
    if show:
        print("\nrejected:")
        for h, e in r["rejected"]:
            print(f"  {h} {e}  ({romanize(h)})")
        print("\naccepted, spelled unlike:")
        for h, e in r["accepted_unlike"]:
            print(f"  {h} {e}  ({romanize(h)})")


def diff(a_path: str, b_path: str) -> None:
    a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (a_path, b_path))
    for name in ("recall", "en_candidates_mean", "en_wrong_total", "ko_candidates_mean", "ko_wrong_total",
                 "vocab_pairs"):
        print(f"{name}: {a[name]:.3f} -> {b[name]:.3f}" if isinstance(a[name], float)
              else f"{name}: {a[name]} -> {b[name]}")
    sa, sb = ({tuple(p) for p in x["accepted"]} for x in (a, b))
    for label, got in (("newly accepted", sb - sa), ("no longer accepted", sa - sb)):
        print(f"{label} ({len(got)}):")
        for h, e in sorted(got):
            print(f"  {h} {e}")
    for side in ("wrong_en", "wrong_ko"):
        for word in sorted(set(a[side]) | set(b[side])):
            before, after = set(a[side].get(word, ())), set(b[side].get(word, ()))
            if before != after:
                gained, lost = sorted(after - before), sorted(before - after)
                print(f"{side} {word}: +{gained} -{lost}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=os.environ.get("KB_BENCH_LIB_INDEX"),
                    help="an index directory (default: $KB_BENCH_LIB_INDEX)")
    ap.add_argument("--ratio", type=float, default=0.8, help="romanized likeness of a loanword pair")
    ap.add_argument("--show", action="store_true", help="list rejected and unlike accepted pairs")
    ap.add_argument("--dump", help="write the measurement as JSON")
    ap.add_argument("--diff", nargs=2, metavar=("A", "B"), help="compare two --dump files")
    args = ap.parse_args()
    if args.diff:
        diff(*args.diff)
        return
    if not args.index:
        sys.exit("--index or KB_BENCH_LIB_INDEX is required")
    r = measure(Path(args.index), args.ratio)
    report(r, args.show)
    if args.dump:
        Path(args.dump).write_text(json.dumps(r, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
