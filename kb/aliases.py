"""Korean-English aliases: the same term written as a loanword, in English, or abbreviated.

A person writes ``쿠버네티스`` in one note and ``Kubernetes`` or ``k8s`` in the next, and
searches with any of them. kb expands a query word to its aliases, weighted a little
below the word itself. Three sources, merged:

1. the built-in table below (loanwords and their English originals, nothing that
   is an ordinary Korean word with a broader meaning);
2. ``aliases:`` in a note's frontmatter (indexed with the note, weighted like a title);
3. a user file, ``.kb/synonyms.txt`` in the notebook: one group per line, terms
   separated by commas, ``#`` starts a comment::

       쿠버네티스, kubernetes, k8s
       서비스 어카운트, serviceaccount, sa
"""

from __future__ import annotations

from pathlib import Path

from .analysis import query_terms

BUILTIN: tuple[tuple[str, ...], ...] = (
    ("쿠버네티스", "kubernetes", "k8s"),
    ("파드", "pod"),
    ("서비스어카운트", "서비스 어카운트", "serviceaccount"),
    ("네임스페이스", "namespace"),
    ("디플로이먼트", "deployment"),
    ("클러스터롤", "clusterrole"),
    ("롤바인딩", "rolebinding"),
    ("컨테이너", "container"),
    ("도커", "docker"),
    ("데드락", "deadlock", "교착상태", "교착 상태"),
    ("트랜잭션", "transaction"),
    ("스레드", "쓰레드", "thread"),
    ("프로세스", "process"),
    ("익스큐터", "executor"),
    ("워크플로", "워크플로우", "workflow"),
    ("스케줄러", "scheduler"),
    ("에어플로", "에어플로우", "airflow"),
    ("임베딩", "embedding"),
    ("프롬프트", "prompt"),
    ("에이전트", "agent"),
    ("리트리버", "retriever"),
    ("랭체인", "langchain"),
    ("파이썬", "python"),
    ("자바스크립트", "javascript"),
    ("타입스크립트", "typescript"),
    ("리액트", "react"),
    ("컴포넌트", "component"),
    ("퀵정렬", "퀵 정렬", "퀵소트", "quicksort", "quick sort"),
    ("병합정렬", "병합 정렬", "합병정렬", "mergesort", "merge sort"),
    ("힙정렬", "힙 정렬", "heapsort", "heap sort"),
    ("해시", "hash"),
    ("캐시", "cache"),
    ("알고리즘", "algorithm"),
    ("데이터베이스", "database"),
    ("인덱스", "index"),
    ("레디스", "redis"),
    ("카프카", "kafka"),
    ("리베이스", "rebase"),
    ("깃", "git"),
    ("정규화", "normalization"),
    ("가상화", "virtualization"),
    ("하이퍼바이저", "hypervisor"),
    ("마이크로서비스", "microservice", "microservices"),
    ("로드밸런서", "로드 밸런서", "load balancer"),
    ("멱등성", "idempotence", "idempotency"),
)


def _key(text: str) -> tuple[str, ...]:
    return tuple(query_terms(text))


def load_groups(notebook: Path | None = None) -> list[tuple[str, ...]]:
    """The built-in groups plus the notebook's ``.kb/synonyms.txt`` (if any)."""
    groups = list(BUILTIN)
    if notebook is not None:
        path = notebook / ".kb" / "synonyms.txt"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            terms = tuple(t.strip() for t in line.split(",") if t.strip())
            if len(terms) > 1:
                groups.append(terms)
    return groups


class AliasTable:
    """Lookup from a query term to the analyzed forms of its aliases."""

    def __init__(self, groups: list[tuple[str, ...]]) -> None:
        self._map: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for group in groups:
            keys = [k for k in (_key(t) for t in group) if k]
            for k in keys:
                self._map.setdefault(k, set()).update(o for o in keys if o != k)

    def aliases(self, terms: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Analyzed aliases of an analyzed query word (``("파드",)`` -> ``[("pod",)]``)."""
        return sorted(self._map.get(terms, ()))
