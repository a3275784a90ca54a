"""Issue 5, the slow part: real kb processes killed, interrupted or run side by side.

``kill -9`` during ``kb index --rebuild`` on the 1x corpus (``../shared/corpus``, skipped
if it is missing), Ctrl-C during a multi-process rebuild, a search during a rebuild,
two ``kb add`` at the same moment. Marked ``slow``; plain ``pytest`` runs them too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.index.lock import lock_path

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
FIXTURE = Path(__file__).parent / "fixtures" / "notebook"
LINUX = sys.platform.startswith("linux")

# Start a kb command at an agreed moment, imports done: two of them race for real.
AT = (
    "import sys, time\n"
    "from kb.cli import run\n"
    "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
    "sys.argv = ['kb', *sys.argv[2:]]\n"
    "run()\n"
)


def env_for(root: Path, index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KB_DEBUG", "NO_COLOR")}
    env.update(KB_DIR=str(root), KB_INDEX_DIR=str(index_dir), COLUMNS="200")
    return env


def kb(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def kb_popen(env: dict[str, str], *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kb", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, **kw
    )


def kb_at(when: float, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", AT, str(when), *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True
    )


def lock_is_free(index_dir: Path) -> bool:
    import fcntl

    fd = os.open(lock_path(index_dir), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def wait_for(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


WORDS = (
    "파드가 서비스를 노드에서 컨테이너를 배포한다 쿠버네티스 인그레스 볼륨을 정족수를 교착상태 "
    "트랜잭션이 인덱스를 검색 증강 생성 임베딩 벡터 kubernetes helm chart values deployment "
    "retriever airflow executor scheduler react hook state effect render typescript generic"
).split()


def make_notebook(root: Path, n: int, words_per_note: int, seed: int = 5) -> None:
    """``n`` notes in a few folders, each with a word only it has (``uniq<i>``)."""
    rng = random.Random(seed)
    for i in range(n):
        folder = root / f"part{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        body = " ".join(rng.choice(WORDS) for _ in range(words_per_note))
        tags = ", ".join(rng.sample(["k8s", "rag", "db", "web", "ops"], 2))
        (folder / f"note-{i:04d}.md").write_text(
            f"---\ntitle: 노트 {i} {rng.choice(WORDS)}\ntags: [{tags}]\n---\nuniq{i} {body}\n"
        )
    time.sleep(0.03)  # past kb's racy window


def search_all(env: dict[str, str], query: str) -> list[tuple[float, str]]:
    p = kb(env, "search", "--json", "-n", "1000", "--", query)
    assert p.returncode == 0, p.stderr
    return sorted((-round(h["score"], 4), h["slug"]) for h in json.loads(p.stdout))


# --------------------------------------------------------------------------- kill -9


def _kill_during_rebuild_then_heal(root: Path, tmp_path: Path, queries: list[str], after: float) -> None:
    """kill -9 a `kb index --rebuild` ``after`` seconds in; the next kb search must work,
    find no stale lock, and answer like an index built from scratch."""
    env = env_for(root, tmp_path / "index")
    ref_env = env_for(root, tmp_path / "ref-index")
    reference = kb_popen(ref_env, "index", "--rebuild")  # meanwhile, on the other core
    victim = kb_popen(env, "index", "--rebuild")
    helpers: list[int] = []
    try:
        time.sleep(after)
        assert victim.poll() is None, "the rebuild ended before it could be killed"
        if LINUX:
            helpers = children_of(victim.pid)
        victim.kill()  # SIGKILL
        victim.wait()
        # No stale lock: nothing kb started outlives it and keeps the lock.
        assert wait_for(lambda: lock_is_free(tmp_path / "index"), 3.0), "the index lock is still held"
        if LINUX:
            assert wait_for(lambda: not any(alive(p) for p in helpers), 3.0), "orphaned sub-writers"
        healed = kb(env, "search", "--json", "--", queries[0])
        assert healed.returncode == 0, healed.stderr
        assert "building the index (first run)" in healed.stderr  # the killed one was the first
        assert "Traceback" not in healed.stderr
        assert reference.wait(timeout=600) == 0, reference.stderr.read() if reference.stderr else ""
        for q in queries:
            got, want = search_all(env, q), search_all(ref_env, q)
            assert got and got == want, q
        info = json.loads(kb(env, "info", "--json").stdout)
        assert info["fresh"] and info["indexed"] == info["notes"]
    finally:
        kill_all(helpers)
        for p in (victim, reference):
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the 1x corpus (../shared/corpus) is not here")
def test_kill_9_during_rebuild_of_the_1x_corpus(tmp_path: Path) -> None:
    root = tmp_path / "corpus"

    def only_notes(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if not n.endswith(".md") and not os.path.isdir(os.path.join(folder, n))]

    shutil.copytree(CORPUS, root, ignore=only_notes)  # every .md file, ~42 MB
    time.sleep(0.03)
    queries = ["파드", "쿠버네티스 RBAC", "useEffect", "교착상태", "helm chart", "트랜잭션 격리"]
    _kill_during_rebuild_then_heal(root, tmp_path, queries, 3.0)


@pytest.mark.skipif(not LINUX or (os.cpu_count() or 1) < 2, reason="needs Linux and two cores")
def test_kill_9_of_a_multiprocess_rebuild_leaves_no_lock_and_no_orphans(tmp_path: Path) -> None:
    """Above 500 notes kb rebuilds with Whoosh's sub-writer processes: they must not
    outlive a killed kb, nor keep its lock."""
    root = tmp_path / "nb"
    make_notebook(root, 700, 300)
    env = env_for(root, tmp_path / "index")
    victim = kb_popen(env, "index", "--rebuild")
    helpers: list[int] = []
    try:
        assert wait_for(lambda: len(children_of(victim.pid)) >= 2 or victim.poll() is not None, 30)
        helpers = children_of(victim.pid)
        assert victim.poll() is None and helpers, "no sub-writers seen"
        victim.kill()
        victim.wait()
        assert wait_for(lambda: lock_is_free(tmp_path / "index"), 3.0), "the index lock is still held"
        assert wait_for(lambda: not any(alive(p) for p in helpers), 3.0), "orphaned sub-writers"
    finally:
        kill_all(helpers)
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    p = kb(env, "search", "--json", "uniq123", timeout=120)
    assert p.returncode == 0 and "building the index (first run): 700 notes" in p.stderr, p.stderr
    assert [h["slug"] for h in json.loads(p.stdout)] == ["part4/note-0123"]


# --------------------------------------------------------------------------- Ctrl-C


@pytest.mark.skipif(not LINUX or (os.cpu_count() or 1) < 2, reason="needs Linux and two cores")
def test_ctrl_c_in_the_terminal_during_a_multiprocess_rebuild(tmp_path: Path) -> None:
    """Ctrl-C sends SIGINT to the whole foreground group: kb and its sub-writers."""
    root = tmp_path / "nb"
    make_notebook(root, 700, 300)
    env = env_for(root, tmp_path / "index")
    victim = kb_popen(env, "index", "--rebuild", start_new_session=True)
    helpers: list[int] = []
    try:
        assert wait_for(lambda: len(children_of(victim.pid)) >= 2 or victim.poll() is not None, 30)
        helpers = children_of(victim.pid)
        assert victim.poll() is None and helpers
        os.killpg(victim.pid, signal.SIGINT)
        _, err = victim.communicate(timeout=20)
        assert victim.returncode == 130 and "interrupted" in err, err
        assert "Traceback" not in err, err
        assert wait_for(lambda: not any(alive(p) for p in helpers), 3.0), "orphaned sub-writers"
    finally:
        kill_all(helpers)
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
    p = kb(env, "search", "--json", "uniq123", timeout=120)
    assert p.returncode == 0, p.stderr
    assert [h["slug"] for h in json.loads(p.stdout)] == ["part4/note-0123"]


INTERRUPT_MIDWAY = """
import multiprocessing, sys, time
from pathlib import Path
import kb.index.sync
from kb.config import Notebook
real, calls = kb.index.sync.read_note, [0]
def read_note(root, rel, *args, **kw):
    calls[0] += 1
    if calls[0] == 190:  # the first job of 100 notes is done: its sub-writer waits for more
        time.sleep(1.0)
        raise KeyboardInterrupt
    return real(root, rel, *args, **kw)
kb.index.sync.read_note = read_note
try:
    kb.index.sync.sync_index(Notebook(Path(sys.argv[1]), Path(sys.argv[2]), "test"), rebuild=True, procs=2)
except KeyboardInterrupt:
    print("interrupted", len(multiprocessing.active_children()), flush=True)
"""


def test_interrupted_multiprocess_rebuild_does_not_hang(tmp_path: Path) -> None:
    """Whoosh's MpWriter.cancel() leaves its sub-writers waiting on their queue, and
    Python waits for them at exit: kb must end them itself."""
    root = tmp_path / "nb"
    make_notebook(root, 300, 50)
    p = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_MIDWAY, str(root), str(tmp_path / "index")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail("kb hung after Ctrl-C: its sub-writers were left running")
    assert p.returncode == 0 and out.strip() == "interrupted 0", (out, err)
    assert "Traceback" not in err, err
    env = env_for(root, tmp_path / "index")
    r = kb(env, "search", "--json", "uniq42", timeout=120)
    assert [h["slug"] for h in json.loads(r.stdout)] == ["part0/note-0042"]


# --------------------------------------------------------------------------- two kb processes at once


def test_search_while_a_long_rebuild_runs(tmp_path: Path) -> None:
    root = tmp_path / "nb"
    make_notebook(root, 450, 1500)
    env = env_for(root, tmp_path / "index")
    assert kb(env, "index").returncode == 0
    rebuild = kb_popen(env, "index", "--rebuild")
    try:
        assert wait_for(lambda: not lock_is_free(tmp_path / "index"), 20), "the rebuild never took the lock"
        search = kb(env, "search", "--json", "uniq77", timeout=120)
        assert rebuild.wait(timeout=120) == 0, rebuild.stderr.read() if rebuild.stderr else ""
    finally:
        if rebuild.poll() is None:
            rebuild.kill()
            rebuild.wait()
    assert search.returncode == 0, search.stderr
    assert [h["slug"] for h in json.loads(search.stdout)] == ["part0/note-0077"]
    # Answered at once from the previous index (issue 16), saying so, without waiting.
    assert "a rebuild of the index is running" in search.stderr
    assert "waiting for another kb process" not in search.stderr
    assert "Traceback" not in search.stderr


@pytest.fixture
def small(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A copy of the fixture notebook, indexed."""
    root = tmp_path / "nb"
    shutil.copytree(FIXTURE, root)
    env = env_for(root, tmp_path / "index")
    assert kb(env, "index").returncode == 0
    return env, root


def test_two_adds_at_the_same_moment(small: tuple[dict[str, str], Path]) -> None:
    env, root = small
    for round_ in range(3):
        start = time.time() + 1.0
        procs = [
            kb_at(start, env, "add", f"동시 노트 {round_} {who}", "--body", f"동시단어{round_}{who} 본문")
            for who in ("a", "b")
        ]
        results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, (out, err)
            assert "Traceback" not in err
        for who in ("a", "b"):
            assert (root / f"동시-노트-{round_}-{who}.md").is_file()
            p = kb(env, "search", "--json", f"동시단어{round_}{who}")
            assert [h["slug"] for h in json.loads(p.stdout)] == [f"동시-노트-{round_}-{who}"], p.stderr


def test_two_adds_of_the_same_slug_at_the_same_moment(small: tuple[dict[str, str], Path]) -> None:
    env, root = small
    for round_ in range(4):
        slug = f"race/same-{round_}"
        start = time.time() + 1.0
        procs = {
            who: kb_at(start, env, "add", f"제목 {who}", "--slug", slug, "--body", f"본문 {who} " * 2000)
            for who in ("a", "b")
        }
        results = {who: (p.wait(timeout=60), *p.communicate()) for who, p in procs.items()}
        codes = sorted(code for code, _, _ in results.values())
        assert codes == [0, 1], results
        loser = next(r for r in results.values() if r[0] == 1)
        assert "already exists" in loser[2] and "Traceback" not in loser[2], loser
        winner = next(who for who, r in results.items() if r[0] == 0)
        text = (root / f"{slug}.md").read_text()
        other = "b" if winner == "a" else "a"
        assert f"title: 제목 {winner}\n" in text and text.count(f"본문 {winner}") == 2000
        assert f"제목 {other}" not in text and f"본문 {other}" not in text
        assert sorted(p.name for p in (root / "race").iterdir() if p.name.startswith(".")) == []
        p = kb(env, "show", slug, "--json")
        assert json.loads(p.stdout)["title"] == f"제목 {winner}"
