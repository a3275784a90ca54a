"""Served ``kb show`` output of many long notes, byte for byte, for two kb installations.

``dump`` runs in the installation it is run with (its ``kb`` package): a
:class:`kb.server.Server` in this process answers ``kb show NOTE --no-pager`` over a
socketpair, as it answers a client, for the ``--notes`` longest notes of the notebook
(the longest first), each at each of ``--widths`` columns, colour on (``FORCE_COLOR``,
truecolor) and off (piped): the rendered note, its backlinks and its related notes. Each
note is shown cold (its first show on that server) and once more (the view it kept); both
must be the same. The outputs are written to a folder, one file a case.

``compare`` says how many cases two such folders share, and shows the first lines that
differ for each case that does not match (exit 1 when any differs). Hyperlinks' ids are
left out: Rich draws them at random, a run never repeats them.

Run: ``python benchmarks/show_diff.py dump NOTEBOOK OUT [--notes 200] [--widths 80,123]``
(with ``KB_INDEX_DIR`` as for kb, the index up to date), once with each installation's
Python, then ``python benchmarks/show_diff.py compare OUT_A OUT_B``. Standard library and kb.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import socket
import sys
import threading
from pathlib import Path

COLOURS = {"plain": {}, "colour": {"FORCE_COLOR": "1", "COLORTERM": "truecolor", "TERM": "xterm-256color"}}


def longest_notes(notebook: Path, count: int) -> list[str]:
    """The ``count`` longest notes (by bytes, then path), as slugs."""
    sized = sorted((-p.stat().st_size, p.relative_to(notebook).as_posix()) for p in notebook.rglob("*.md"))
    return [rel[:-3] for _, rel in sized[:count]]


def _answer(server: object, request: bytes) -> tuple[bytes, bytes, int]:
    """What the server writes for one request: stdout, stderr, exit code."""
    from kb import wire

    a, b = socket.socketpair()
    got = bytearray()

    def drain() -> None:
        while chunk := a.recv(65536):
            got.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    a.sendall(request)
    server.handle(b)  # type: ignore[attr-defined]
    b.close()
    reader.join()
    a.close()
    out, err, code, pos = bytearray(), bytearray(), -1, 0
    while pos + 5 <= len(got):
        kind, size = got[pos], int.from_bytes(got[pos + 1 : pos + 5], "big")
        payload = bytes(got[pos + 5 : pos + 5 + size])
        pos += 5 + size
        if kind in (wire.OUT, wire.PAGE):
            out += payload
        elif kind == wire.ERR:
            err += payload
        elif kind == wire.EXIT:
            code = int(payload or b"0")
    return bytes(out), bytes(err), code


def dump(notebook: Path, out: Path, notes: int, widths: list[int]) -> int:
    for k in ("KB_SERVER", "PYTHONDONTWRITEBYTECODE", "NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        os.environ.pop(k, None)
    from kb import server as srv
    from kb import wire

    out.mkdir(parents=True, exist_ok=True)
    slugs = longest_notes(notebook, notes)
    server = srv.Server(300)
    server.warm_up()
    base = dict(os.environ)
    failed = 0
    cases = 0
    try:
        for width in widths:
            for colour, extra in COLOURS.items():
                os.environ.clear()
                os.environ.update(base, COLUMNS=str(width), **extra)
                for i, slug in enumerate(slugs):
                    request = wire.request(["--dir", str(notebook), "show", slug, "--no-pager"])
                    cold = _answer(server, request)
                    kept = _answer(server, request)
                    name = f"{width}-{colour}-{i:04d}-{hashlib.sha1(slug.encode()).hexdigest()[:10]}"
                    (out / name).write_bytes(cold[0] + b"\0ERR\0" + cold[1] + b"\0EXIT %d" % cold[2])
                    cases += 1
                    if kept != cold or cold[2] != 0:
                        failed += 1
                        again = "same" if kept == cold else "DIFFERS"
                        print(f"{name} {slug}: exit {cold[2]}, kept view {again}", file=sys.stderr)
    finally:
        os.environ.clear()
        os.environ.update(base)
        server.pool.close()
    print(f"{cases} cases ({len(slugs)} notes x {len(widths)} widths x {len(COLOURS)} colour settings) "
          f"written to {out}; {failed} failed or differed when shown again")
    return 1 if failed else 0


#: A terminal hyperlink's id (OSC 8 ``id=``): Rich draws a new random one for each link
#: style (``Style._link_id``), so two runs never agree on them; they only group a link's cells.
_LINK_ID = re.compile(rb"\x1b]8;id=[^;\x1b]*;")


def _same_links(path: Path) -> bytes:
    return _LINK_ID.sub(b"\x1b]8;id=;", path.read_bytes())


def compare(a: Path, b: Path) -> int:
    names_a = {p.name for p in a.iterdir()}
    names_b = {p.name for p in b.iterdir()}
    common = sorted(names_a & names_b)
    differ = 0
    total = 0
    for name in common:
        x, y = (_same_links(a / name), _same_links(b / name))
        total += len(x)
        if x == y:
            continue
        differ += 1
        if differ <= 5:
            print(f"--- {name} differs")
            lines = difflib.unified_diff(x.decode("utf-8", "replace").splitlines(),
                                         y.decode("utf-8", "replace").splitlines(), lineterm="", n=1)
            for line in list(lines)[:20]:
                print(repr(line)[:200])
    only = len(names_a ^ names_b)
    print(f"{len(common)} cases compared ({total} bytes), {differ} differ, {only} in one folder only")
    return 1 if differ or only else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dump")
    d.add_argument("notebook", type=Path)
    d.add_argument("out", type=Path)
    d.add_argument("--notes", type=int, default=200)
    d.add_argument("--widths", default="80,123")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.what == "dump":
        return dump(args.notebook.resolve(), args.out, args.notes, [int(w) for w in args.widths.split(",")])
    return compare(args.a, args.b)


if __name__ == "__main__":
    raise SystemExit(main())
