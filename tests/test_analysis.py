"""The analyzer as a table: input -> tokens (index mode and query mode)."""

from __future__ import annotations

import unicodedata

import pytest

from kb.analysis import analyze, query_terms, strip_suffix

INDEX_TABLE = [
    ("파드가 생성된다", ["파드", "생성"]),
    ("쿠버네티스의 API를", ["쿠버네티스", "api"]),
    ("Airflow의 CeleryExecutor", ["airflow", "celeryexecutor", "celery", "executor"]),
    ("pod-reader", ["pod-reader", "pod", "reader"]),
    ("max_active_runs", ["max_active_runs", "max", "active", "runs"]),
    ("서비스어카운트를 만든다", ["서비스어카운트", "만든다"]),
    ("워크플로를", ["워크플로"]),
    ("정의 평가 결과", ["정의", "평가", "결과"]),  # two syllables stay whole
    ("집에서", ["집"]),  # one syllable before a two-syllable particle
    ("파드들에게는", ["파드"]),
    ("알고리즘으로는", ["알고리즘"]),
    ("사용하려면 정의되었다", ["사용", "정의"]),
    ("deploy한다 DAG파일을", ["deploy", "dag", "파일"]),
    ("kubectl create serviceaccount", ["kubectl", "create", "serviceaccount"]),
    ("HTTPServer k8s", ["httpserver", "http", "server", "k8s"]),
    ("RAG는 LLM이", ["rag", "llm"]),
    ("교착상태에서", ["교착상태"]),
    ("", []),
    ("!!! --- ...", []),
    # names with a symbol are terms of their own, beside their word
    ("C#과 F#", ["c#", "c", "f#", "f"]),
    ("C++를 배운다", ["c++", "c", "배운다"]),
    (".NET 런타임", [".net", "net", "런타임"]),
    ("ASP.NET Node.js", ["asp.net", "asp", "net", "node.js", "node", "js"]),
    ("a+b c++17 foo#bar x.md", ["a", "b", "c", "17", "foo", "bar", "x.md", "x", "md"]),
    # question endings
    ("확인하나요 설치할까요 되나요", ["확인", "설치", "되나요"]),
]


@pytest.mark.parametrize(("text", "tokens"), INDEX_TABLE)
def test_index_tokens(text: str, tokens: list[str]) -> None:
    assert analyze(text) == tokens


QUERY_TABLE = [
    ("CeleryExecutor", ["celeryexecutor"]),  # no parts in query mode
    ("파드", ["파드"]),
    ("파드가", ["파드"]),
    ("API를", ["api"]),
    ("api", ["api"]),
    ("서비스어카운트", ["서비스어카운트"]),
    ("을", ["을"]),  # a lone particle stays a (rare) word, not an empty query
    ("C#", ["c#"]),  # not "c": every note with a C in it
    ("@Getter", ["@getter"]),  # an annotation, not every getter
    ("user@example.com", ["user", "example.com"]),
    ("C++", ["c++"]),
    (".NET", [".net"]),
    ("C#은", ["c#"]),
]


@pytest.mark.parametrize(
    ("word", "asks"),
    [("어떻게", True), ("왜", True), ("바뀌나요", True), ("되돌리려면", True), ("다른가요", True),
     ("how", True), ("파드", False), ("쿠버네티스", False), ("하나", False), ("요청", False)],
)
def test_question_words(word: str, asks: bool) -> None:
    from kb.analysis import is_question_word

    assert is_question_word(word) is asks


@pytest.mark.parametrize(("text", "tokens"), QUERY_TABLE)
def test_query_tokens(text: str, tokens: list[str]) -> None:
    assert query_terms(text) == tokens


def test_query_and_index_meet_on_the_same_stem() -> None:
    for word in ["파드가", "파드를", "파드의", "파드는", "파드에", "파드"]:
        assert analyze(word) == ["파드"], word
    assert set(query_terms("파드")) <= set(analyze("파드를 만든다"))


def test_nfd_input_is_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "파드가")
    assert analyze(nfd) == ["파드"]
    assert query_terms(nfd) == ["파드"]


def test_positions_and_chars() -> None:
    from kb.analysis import KoreanTokenizer

    text = "API를 pod-reader 파드가"
    toks = [
        (t.text, t.pos, t.startchar, t.endchar) for t in KoreanTokenizer()(text, positions=True, chars=True)
    ]
    assert toks == [
        ("api", 0, 0, 3),
        ("pod-reader", 1, 5, 15),
        ("pod", 1, 5, 15),
        ("reader", 2, 5, 15),
        ("파드", 3, 16, 19),
    ]


def test_strip_suffix_never_empties_a_word() -> None:
    for word in ["이", "가", "를", "에서", "하다", "된다", "이다"]:
        assert strip_suffix(word), word


def _prints_ok(code: str) -> None:
    """Run ``code`` in a fresh interpreter (kb's import tricks act once per process)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_urllib_request_still_works_after_kb_imports_whoosh() -> None:
    code = (
        "import sys\n"
        "from kb.analysis import prepare_whoosh_import\n"
        "prepare_whoosh_import()\n"
        "import whoosh.index\n"
        "assert 'http.client' not in sys.modules\n"
        "import urllib.request\n"
        "assert callable(urllib.request.urlopen)\n"
        "from urllib.request import Request\n"
        "assert Request('http://example.invalid').host == 'example.invalid'\n"
        "assert 'http.client' in sys.modules\n"
        "print('ok')\n"
    )
    _prints_ok(code)


def test_whoosh_variations_still_work_behind_the_placeholder() -> None:
    code = (
        "import sys\n"
        "from kb.analysis import prepare_whoosh_import\n"
        "prepare_whoosh_import()\n"
        "import whoosh.query\n"
        "assert 'whoosh.lang.morph_en' not in sys.modules or "
        "'placeholder' in (sys.modules['whoosh.lang.morph_en'].__doc__ or '')\n"
        "from whoosh.lang.morph_en import variations\n"
        "assert 'rendering' in variations('render')\n"
        "print('ok')\n"
    )
    _prints_ok(code)
