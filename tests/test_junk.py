"""Junk expansions (issue 10), each a class: a gloss of a longer phrase read as the gloss of
its last word, an identifier fused from a look-alike and another word read as the word, and
a pair learned from a fixed phrase read as a pair of words."""

from __future__ import annotations

from pathlib import Path

from indexed import indexed

from kb.search import search


def _variants(nb, ix, query: str) -> set[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    r = search(nb, query, limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    return {v.terms for w in r.explanation.words for v in w.variants}


def test_a_gloss_of_a_longer_phrase_is_not_the_words_gloss(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, {
        "agile.md": "# 애자일\n\n### Agile이 될 조건 (Agile Manifesto)\n\n선언문 이야기.\n",
        "perturb.md": "# 섭동\n\n섭동법(perturbation method)은 근사 기법이다. 조건 설명.\n",
        "other.md": "# 기타\n\nmanifesto 와 agile 이야기. perturbation method 정리.\n",
    })
    assert ("agile", "manifesto") not in _variants(nb, ix, "조건")
    # a Korean word that packs the phrase keeps its gloss
    assert ("perturbation", "method") in _variants(nb, ix, "섭동법")


def test_phrase_gloss_rule() -> None:
    from kb.expand import phrase_gloss

    assert phrase_gloss("조건", "agile manifesto")
    assert phrase_gloss("agile manifesto", "조건")
    assert not phrase_gloss("섭동법", "perturbation method")
    assert not phrase_gloss("교착", "deadlock")
    assert not phrase_gloss("서비스어카운트", "service account")  # sounds alike


def test_an_identifier_fused_with_another_word_is_no_form() -> None:
    from kb.expand import fused

    df = {"timeout": 50, "timeoutid": 2, "id": 800, "timeouts": 10, "s": 900,
          "condition": 80, "conditional": 85, "al": 20, "example": 300, "examplegen": 12, "gen": 64}.get

    def count(t: str) -> int:
        return df(t) or 0

    assert fused("timeoutid", "timeout", count)
    assert fused("examplegen", "example", count)
    assert not fused("timeouts", "timeout", count)  # a form: same stem
    assert not fused("conditional", "condition", count)  # al: rarer than the word
    assert not fused("timeout", "timeout", count)


def test_a_pair_learned_from_a_fixed_phrase_goes_with_its_best_word() -> None:
    from kb.assoc import table_lines

    # 예를 들어 ~ for example in four sections, 들어 slightly less consistent than 예를.
    units = [(("예를", "들어", f"주제{i}"), ("example", f"topic{i}")) for i in range(4)]
    units.append((("들어", "가다"), ("enter",)))
    units += [((f"낱말{i}",), (f"word{i}",)) for i in range(30)]
    pairs = {tuple(line.split("\t")[:2]) for line in table_lines(units)}
    assert ("예를", "example") in pairs
    assert ("들어", "example") not in pairs and ("example", "들어") not in pairs


def test_a_cited_address_or_file_is_no_gloss() -> None:
    from kb.expand import cited

    assert cited("thestartupbible.com") and cited("chat.openai.com") and cited("facebook-logo.png")
    assert not cited("node.js") and not cited("deadlock")


def test_a_stem_fragment_is_no_form(tmp_path: Path) -> None:
    # time is everywhere; `tim` is a name in one code block: filed under time's stem, not a form
    notes = {f"t{i}.md": f"# 시간 {i}\n\ntime and times, timing {i}.\n" for i in range(12)}
    notes["code.md"] = "# 코드\n\n```\ntim = 3\n```\n"
    nb, ix = indexed(tmp_path, notes)
    found = _variants(nb, ix, "time")
    assert ("times",) in found
    assert ("tim",) not in found
