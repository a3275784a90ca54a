"""Notes on disk: reading one Markdown file into a :class:`Note`, slugs, and
writing a new note atomically.

A note is any ``*.md`` file below the notebook, outside hidden folders. Its slug
is its path relative to the notebook without ``.md`` (``k8s/rbac``). Reading never
fails on content: a bad frontmatter block, odd bytes or an empty file give a note
plus warnings, so one messy file never stops the index.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import stat as stat_mod
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadSlug, KbError, NoteExists

NOTE_SUFFIX = ".md"
#: Bytes of a file kb reads; the rest of a larger file is not indexed (with a warning).
MAX_NOTE_BYTES = 2_000_000

FM_RE = re.compile(r"\A---[ \t]*\n(.*?)(?:\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
FM_EMPTY_RE = re.compile(r"\A---[ \t]*\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)")
FENCE_RE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.S | re.M)
INLINE_CODE_RE = re.compile(r"`[^`\n]*`")
# A `# heading` line: what follows the `#` and its blanks (trailing ` #` are cut in
# Python: a lazy `(.+?)[ \t#]*$` tried every end of a long run of blanks, quadratic).
_HEADING_RE = re.compile(r"^#[ \t]+([^\n]+)", re.M)
# A hashtag is `#word` where prose puts one: at a line start, after a blank or an
# opening `(`. Not `x#y`, `C#`, `&#39;`, `url/#part`, `{#id}`, `#123`; hex colours are
# dropped after the match (:func:`_is_hex_colour`), the places below are masked first.
# (`#` first, the look-behind after it: a pattern that starts with a look-behind is tried
# at every character, 20x slower than re's scan for a literal.)
_HASHTAG_RE = re.compile(r"#(?<![^\s(]#)([^\W\d_][\w\-/]*+)")
# What can be a hashtag once the places below are masked (a mask ends a `>` before it):
# a note with none is not masked at all (the mask costs as much as the rest of parsing).
_HASHTAG_HINT_RE = re.compile(r"#(?<![^\s(>]#)[^\W\d_]")
# Where a `#` is not a hashtag even after a blank: a link target `](#part)`, a reference
# definition `[x]: #part`, an HTML tag's attributes (`style="color: #fff"`), a comment,
# a <style> or <script> block, a wiki-link `[[note#part]]`. Every branch either always
# matches once it starts or stops at a character that cannot start another, so the
# whole pass is linear.
_NOT_TAG_RE = re.compile(
    r"\]\([^)\n]*+"
    r"|^[ \t]*+\[[^\]\n]*+\]:[^\n]*+"
    r"|(?s:<!--.*?(?:-->|\Z))"
    r"|(?si:<style\b.*?(?:</style\s*+>|\Z))"
    r"|(?si:<script\b.*?(?:</script\s*+>|\Z))"
    r"|</?[A-Za-z][^<>]*+>"
    r"|\[\[[^\]\n]*+",
    re.M,
)
WIKILINK_RE = re.compile(r"\[\[([^\[\]|#\n]+)(?:#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")
# `[text](other.md#part "title")`. Linear: the text holds no `[` (else each `[` of a run
# scanned to the same `]`), the path no brackets (else each link inside another link's
# unclosed path scanned to its end) and no `#` (the fragment, as CommonMark reads it).
MDLINK_RE = re.compile(
    r"\[([^\[\]\n]*+)\]\(([^)\[\]\s#]+\.md)(?:#[^)\[\]\s]*+)?(?:\s++\"[^\"]*+\")?\)"
)
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y. %m. %d",
)


@dataclass
class Note:
    """One note as kb understands it. ``path`` is relative to the notebook, ``/``-separated."""

    path: str
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    date: dt.datetime | None = None
    links: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    mtime: float = 0.0
    size: int = 0

    @property
    def slug(self) -> str:
        return slug_of(self.path)


def slug_of(relpath: str) -> str:
    """``k8s/rbac.md`` -> ``k8s/rbac`` (NFC, however the file system spells the name)."""
    relpath = strip_controls(nfc(relpath), "?")
    return relpath[: -len(NOTE_SUFFIX)] if relpath.lower().endswith(NOTE_SUFFIX) else relpath


# C0 controls but tab and newline, DEL, C1: an ESC in a note must not reach the terminal.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str, replacement: str = "") -> str:
    """Text without terminal control characters (kept only by ``kb show --raw``)."""
    return _CONTROL_RE.sub(replacement, text) if _CONTROL_RE.search(text) else text


def nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------- reading


def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Text of a file's bytes plus warnings: UTF-8 (BOM dropped), else CP949, else replaced."""
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        return "", ["looks binary (NUL bytes); its text is not indexed"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp949")
            # compiled only here: a class over the Hangul block costs ~1 ms at every start
            if not re.search(r"[\uac00-\ud7a3]", text):
                raise UnicodeDecodeError("cp949", data, 0, 1, "no Hangul")
            warnings.append("not UTF-8; decoded as CP949/EUC-KR")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            warnings.append(f"not valid UTF-8 (byte {exc.start}); undecodable bytes replaced")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return nfc(text), warnings


#: Characters of a frontmatter block kb parses (real ones are under 2 KB); a longer
#: block is skipped with a warning, so YAML's cost stays small.
MAX_FRONTMATTER_CHARS = 100_000
#: What kb keeps of a title or an alias, of one tag, and of any other frontmatter string.
MAX_TITLE_CHARS = 500
MAX_TAG_CHARS = 100
MAX_VALUE_CHARS = 2_000
#: Tags (frontmatter and hashtags) and links kb keeps of one note.
MAX_TAGS = 1_000
MAX_LINKS = 10_000
#: Values and characters kb takes from one frontmatter block, however YAML aliases
#: share them: ten short lines of aliases stand for 9**9 strings.
_META_VALUES = 10_000
_META_CHARS = MAX_FRONTMATTER_CHARS
_META_DEPTH = 32
_OWN_FIELDS = {"title", "tags", "tag", "aliases", "alias", "date", "created"}


def split_frontmatter(text: str) -> tuple[dict[str, Any], str, list[str]]:
    """``(metadata, body, warnings)``. A block that does not parse leaves ``{}`` and a warning.

    The metadata is plain bounded data (:func:`_bounded`): strings, numbers, dates, and
    lists and mappings of them, whatever YAML aliases the block used.
    """
    m = FM_RE.match(text)
    if not m:
        m2 = FM_EMPTY_RE.match(text)
        return ({}, text[m2.end() :], []) if m2 else ({}, text, [])
    body = text[m.end() :]
    if len(m.group(1)) > MAX_FRONTMATTER_CHARS:
        size = f"{MAX_FRONTMATTER_CHARS // 1000} KB"
        return {}, body, [f"frontmatter is longer than {size}; indexed without it"]
    import yaml

    try:
        meta = yaml.load(m.group(1), Loader=_yaml_loader())
    except Exception as exc:  # yaml raises many types; any of them means "unparsable"
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3]) if first else type(exc).__name__
        return {}, body, [f"frontmatter is not valid YAML ({detail[:300]}); indexed without it"]
    if meta is None:
        return {}, body, []
    if not isinstance(meta, dict):
        return {}, body, [f"frontmatter is a {type(meta).__name__}, not a mapping; ignored"]
    # kb's own fields each get a budget of their own (aliases spent on other keys must
    # not take the title and tags with them); any other field gets at most
    # MAX_LIST_ITEMS values of what is left, so the anchors a bomb defines first
    # cannot take all of it either.
    shared = _Budget()
    out: dict[str, Any] = {}
    cut = len(meta) > MAX_LIST_ITEMS
    for key, value in itertools.islice(meta.items(), MAX_LIST_ITEMS):
        name = str(key)[:MAX_TITLE_CHARS]
        if name.lower() in _OWN_FIELDS:
            budget = _Budget()
            out[name] = _bounded(value, budget)
        else:
            budget = _Budget(min(MAX_LIST_ITEMS, shared.values), shared.chars)
            out[name] = _bounded(value, budget)
            shared.values -= min(MAX_LIST_ITEMS, shared.values) - max(budget.values, 0)
            shared.chars = budget.chars
        cut = cut or budget.cut
    warnings = ["frontmatter holds too much (YAML aliases?); only its start is used"] if cut else []
    return out, body, warnings


_LOADER: Any = None


def _yaml_loader() -> Any:
    """python-frontmatter's loader (libyaml's when there) that refuses YAML merge keys
    (``<<: [*a, *a]``) expanding beyond what kb reads: PyYAML copies merged keys while
    loading, so nested merges grow 9x a level before any of kb's caps can apply."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            def flatten_mapping(self, node: Any) -> None:
                total = len(node.value)
                for key_node, value_node in node.value:
                    if key_node.tag != "tag:yaml.org,2002:merge":
                        continue
                    merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                    for sub in merged:
                        if isinstance(sub, yaml.MappingNode):
                            self.flatten_mapping(sub)
                            total += len(sub.value)
                        if total > _META_VALUES:
                            raise yaml.constructor.ConstructorError(
                                None, None, "merge keys (<<) make too many keys", node.start_mark
                            )
                super().flatten_mapping(node)

        _LOADER = Loader
    return _LOADER


class _Budget:
    """What is left of :data:`_META_VALUES` and :data:`_META_CHARS` while copying a block."""

    def __init__(self, values: int = _META_VALUES, chars: int = _META_CHARS) -> None:
        self.values = values
        self.chars = chars
        self.cut = False

    def text(self, value: str, cap: int) -> str:
        keep = min(len(value), cap, max(self.chars, 0))
        self.chars -= keep
        return value if keep == len(value) else value[:keep]


def _bounded(value: Any, budget: _Budget, depth: int = 0) -> Any:
    """A YAML value as plain data of bounded size: strings cut to :data:`MAX_VALUE_CHARS`,
    lists and mappings to :data:`MAX_LIST_ITEMS` items and :data:`_META_DEPTH` levels,
    the whole within ``budget``. An alias is copied each time it is used, but never
    beyond the budget (a cyclic alias, ``&a [*a]``, stops at the depth limit)."""
    budget.values -= 1
    if isinstance(value, str):
        return budget.text(value, MAX_VALUE_CHARS)
    if isinstance(value, (bool, int, float, dt.date)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, dict)):
        is_map = isinstance(value, dict)
        out_map: dict[str, Any] = {}
        out_list: list[Any] = []
        if depth >= _META_DEPTH:
            budget.cut = True
            return out_map if is_map else out_list
        items = value.items() if is_map else value
        for item in items:
            if budget.values <= 0 or len(out_map) + len(out_list) >= MAX_LIST_ITEMS:
                budget.cut = True
                break
            if is_map:
                key, sub = item
                out_map[budget.text(str(key), MAX_TITLE_CHARS)] = _bounded(sub, budget, depth + 1)
            else:
                out_list.append(_bounded(item, budget, depth + 1))
        return out_map if is_map else out_list
    return budget.text(str(value), MAX_VALUE_CHARS)  # bytes (!!binary) and the like


def _get(meta: dict[str, Any], *names: str) -> Any:
    lowered = {k.lower(): v for k, v in meta.items()}
    for name in names:
        if name in lowered and lowered[name] not in (None, "", []):
            return lowered[name]
    return None


#: Most items kb takes from one frontmatter list. YAML aliases can nest a list in
#: itself: ten short lines can stand for billions of items.
MAX_LIST_ITEMS = 1000


def _flatten(value: Any) -> Iterator[Any]:
    yield from itertools.islice(_flatten_all(value), MAX_LIST_ITEMS)


def _flatten_all(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _flatten_all(item)
    elif value is not None:
        yield value


def parse_tags(value: Any) -> list[str]:
    """Tags from a frontmatter value: a list, or a comma- or space-separated string.

    At most :data:`MAX_TAGS`, each cut to :data:`MAX_TAG_CHARS`."""
    out: list[str] = []
    seen: set[str] = set()
    for item in _flatten(value):
        if isinstance(item, dict):
            continue
        text = strip_controls(nfc(str(item)))
        pieces = text.split(",") if "," in text else text.split()
        for piece in pieces:
            tag = piece.strip().lstrip("#").strip()[:MAX_TAG_CHARS]
            if tag and tag.lower() not in seen:
                if len(out) >= MAX_TAGS:
                    return out
                seen.add(tag.lower())
                out.append(tag)
    return out


def parse_date(value: Any) -> dt.datetime | None:
    """A frontmatter date in the forms real notes use, or None."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def strip_code(body: str) -> str:
    """The body without fenced and inline code (for hashtags and headings)."""
    return INLINE_CODE_RE.sub(" ", FENCE_RE.sub(" ", body))


def parse_links(prose: str, relpath: str) -> list[str]:
    """Link targets in ``prose`` (a body after :func:`strip_code`): ``[[slug]]``/``[[Title]]``
    as written; ``[x](other.md)`` resolved to a slug. Each once, at most :data:`MAX_LINKS`."""
    out: dict[str, None] = {}  # ordered, and a set for the "seen already" test
    for m in WIKILINK_RE.finditer(prose):
        target = m.group(1).strip()
        if target and target not in out:
            if len(out) >= MAX_LINKS:
                return list(out)
            out[target] = None
    if "](" not in prose:
        return list(out)
    import posixpath
    from urllib.parse import unquote

    base = posixpath.dirname(relpath.replace(os.sep, "/"))
    for m in MDLINK_RE.finditer(prose):
        href = m.group(2)
        if "://" in href or href.startswith("/"):
            continue
        target = posixpath.normpath(posixpath.join(base, unquote(href) if "%" in href else href))
        if not target.startswith(".."):
            slug = slug_of(target)
            if slug not in out:
                if len(out) >= MAX_LINKS:
                    break
                out[slug] = None
    return list(out)


def _strip_heading_anchor(title: str) -> str:
    """``Title {#anchor}`` -> ``Title`` (VitePress, Docusaurus); else ``title`` as it is.

    What ``re.sub(r"\\s*\\{#[^}]*\\}\\s*$", "", title)`` did, up to blanks at the ends,
    without a regex that tried every start in a long run of blanks."""
    text = title.rstrip()
    if not text.endswith("}"):
        return title
    start = text.find("{#", text.rfind("}", 0, len(text) - 1) + 1)
    return text[:start] if 0 <= start <= len(text) - 3 else title


def _heading_title(fenceless: str) -> str:
    """The first ``# heading`` outside fenced code, without its closing ``#``s, inline-code
    backticks and ``{#anchor}``; ``""`` if there is none."""
    m = _HEADING_RE.search(fenceless)
    if not m:
        return ""
    line = m.group(1)
    line = line.rstrip(" \t#") or line[:1]  # as `(.+?)[ \t#]*$` did: `# C#` -> `C`
    return _strip_heading_anchor(line.replace("`", "")).strip()


def _is_hex_colour(word: str) -> bool:
    """``ecf1e8``, ``fff``, ``fafafa80``: a CSS colour, not a tag."""
    return len(word) in (3, 4, 6, 8) and all(c in "0123456789abcdefABCDEF" for c in word)


def hashtags(prose: str) -> list[str]:
    """``#tags`` in ``prose`` (a body after :func:`strip_code`), in order, each once
    (ignoring case), at most :data:`MAX_TAGS`."""
    if "#" not in prose or not _HASHTAG_HINT_RE.search(prose):
        return []
    out: list[str] = []
    seen: set[str] = set()
    for m in _HASHTAG_RE.finditer(_NOT_TAG_RE.sub(" ", prose)):
        tag = m.group(1)[:MAX_TAG_CHARS].rstrip("-/")
        if tag and not _is_hex_colour(tag) and tag.lower() not in seen:
            if len(out) >= MAX_TAGS:
                break
            seen.add(tag.lower())
            out.append(tag)
    return out


def parse_text(relpath: str, text: str, warnings: list[str] | None = None) -> Note:
    """A :class:`Note` from already-decoded text."""
    # relpath stays as the file system spells it (macOS writes Hangul names in NFD):
    # it is the note's identity in the index and how the file is opened.
    text = strip_controls(nfc(text))
    warnings = list(warnings or [])
    meta, body, fm_warnings = split_frontmatter(text)
    warnings += fm_warnings
    title_value = _get(meta, "title")
    if isinstance(title_value, dict):  # `title: {a: b}`: not a title (its str() was a bomb)
        warnings.append("frontmatter title is a mapping; ignored")
        title_value = None
    elif isinstance(title_value, list):  # `title: [a, b]`: its words, not a repr
        title_value = " ".join(
            str(v) for v in itertools.islice(_flatten(title_value), 50) if not isinstance(v, dict)
        )
    title = strip_controls(nfc(str(title_value)[:MAX_TITLE_CHARS])).strip() if title_value is not None else ""
    fenceless = FENCE_RE.sub(" ", body)
    prose = INLINE_CODE_RE.sub(" ", fenceless)  # strip_code(body), its first half kept
    if not title:
        # Headings outside fenced code; inline code in a heading is part of the title.
        title = _heading_title(fenceless)[:MAX_TITLE_CHARS]
        title = title or strip_controls(nfc(Path(relpath).stem), "?")
    tags = parse_tags(_get(meta, "tags", "tag"))
    seen = {t.lower() for t in tags}
    for tag in hashtags(prose):
        if len(tags) >= MAX_TAGS:
            break
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    aliases = [
        strip_controls(nfc(str(a)[:MAX_TITLE_CHARS]))
        for a in _flatten(_get(meta, "aliases", "alias"))
        if not isinstance(a, dict)
    ]
    return Note(
        path=relpath,
        title=title,
        body=body,
        tags=tags,
        date=parse_date(_get(meta, "date", "created")),
        links=parse_links(prose, relpath),
        aliases=aliases,
        meta=meta,
        warnings=warnings,
    )


def read_note(
    root: Path, relpath: str, raw: Callable[[bytes, os.stat_result], None] | None = None
) -> Note:
    """Read and parse one note; never raises for content, only for I/O. ``raw`` is
    given the file's bytes and ``fstat`` when it was read whole (kb grep's words)."""
    full = root / relpath
    with open(full, "rb") as fh:
        data = fh.read(MAX_NOTE_BYTES + 1)
        st = os.fstat(fh.fileno())
    if raw is not None and len(data) <= MAX_NOTE_BYTES:
        raw(data, st)
    warnings: list[str] = []
    if len(data) > MAX_NOTE_BYTES:
        data = _cut_at_char(data[:MAX_NOTE_BYTES])
        cap = f"{MAX_NOTE_BYTES / 1e6:g} MB" if MAX_NOTE_BYTES % 100_000 == 0 else f"{MAX_NOTE_BYTES:,} bytes"
        warnings.append(f"larger than {cap}; only the first {cap} are indexed")
    text, dec_warnings = decode_bytes(data)
    note = parse_text(relpath, text, warnings + dec_warnings)
    note.mtime = st.st_mtime
    note.size = st.st_size
    if note.date is None:
        note.date = dt.datetime.fromtimestamp(st.st_mtime)
    return note


def _cut_at_char(data: bytes) -> bytes:
    """``data`` cut short without splitting a UTF-8 character at its end (a split
    character would make the whole note look like it is not UTF-8)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # the lead byte of the last character: is it whole?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data


def read_body(root: Path, relpath: str) -> str:
    """The text of a note after its frontmatter block, without parsing the YAML (for snippets)."""
    return read_body_at(root, relpath)[0]


def read_body_at(root: Path, relpath: str) -> tuple[str, int]:
    """:func:`read_body`, and how many lines of the file come before it (the frontmatter's)."""
    with open(root / relpath, "rb") as fh:
        data = fh.read(MAX_NOTE_BYTES + 1)
    if len(data) > MAX_NOTE_BYTES:
        data = _cut_at_char(data[:MAX_NOTE_BYTES])
    return body_of(data)


def body_of(data: bytes) -> tuple[str, int]:
    """:func:`read_body_at` of a file's bytes (at most MAX_NOTE_BYTES of them)."""
    text, _ = decode_bytes(data)
    m = FM_RE.match(text) or FM_EMPTY_RE.match(text)
    if not m:
        return strip_controls(text), 0
    return strip_controls(text[m.end() :]), text.count("\n", 0, m.end())


class Listing:
    """What a previous walk saw: folder mtimes, and each folder's notes and subfolders.

    A folder whose mtime has not moved still holds the same names, so a walk can
    reuse its listing and only ``stat`` its notes (no ``scandir``).
    """

    def __init__(self, dir_mtimes: dict[str, int], files: Iterator[str] | list[str]) -> None:
        self.mtimes = dir_mtimes
        self.files: dict[str, list[str]] = {d: [] for d in dir_mtimes}
        self.subdirs: dict[str, list[str]] = {d: [] for d in dir_mtimes}
        for d in dir_mtimes:
            if d:
                parent = d.rpartition("/")[0]
                if parent in self.subdirs:
                    self.subdirs[parent].append(d)
        for rel in files:
            parent = rel.rpartition("/")[0]
            if parent in self.files:
                self.files[parent].append(rel)


def list_dir(
    root: Path, rel_dir: str, root_real: str | None = None
) -> tuple[list[tuple[str, os.stat_result]], list[str]]:
    """The notes (with their stat) and the subfolders of one folder of the notebook.

    Hidden names are skipped; symlinked folders are not followed (no loops); a
    symlinked file counts only if it points inside the notebook.
    """
    root_real = root_real or os.path.realpath(root)
    notes: list[tuple[str, os.stat_result]] = []
    subdirs: list[str] = []
    for rel, entry, is_dir in folder_entries(root, rel_dir):
        if is_dir:
            subdirs.append(rel)
            continue
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not target.startswith(root_real + os.sep):
                    continue
            st = entry.stat()
        except OSError:
            continue
        if stat_mod.S_ISREG(st.st_mode):
            notes.append((rel, st))
    return notes, subdirs


def folder_entries(root: Path | str, rel_dir: str) -> Iterator[tuple[str, os.DirEntry[str], bool]]:
    """``(relpath, entry, is_folder)`` for what kb walks in one folder: subfolders (not
    through symlinks) and files named like notes; hidden names are skipped. The sync
    (:func:`list_dir`) and the watcher (:mod:`kb.watch`) share these rules."""
    try:
        it = os.scandir(os.path.join(root, rel_dir) if rel_dir else root)
    except OSError:
        return
    with it:
        for entry in it:
            name = entry.name
            if name.startswith("."):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield rel, entry, True
                elif name.lower().endswith(NOTE_SUFFIX):
                    yield rel, entry, False
            except OSError:
                continue


def iter_note_files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """``(relpath, stat)`` of every note below ``root`` (see :func:`list_dir` for the rules).

    kb's own sync walks with :func:`kb.index.sync.scan`, which reuses the previous listing.
    """
    root_real = os.path.realpath(root)
    stack = [""]
    while stack:
        notes, subdirs = list_dir(root, stack.pop(), root_real)
        stack.extend(subdirs)
        yield from notes


# --------------------------------------------------------------------------- slugs and writing

_WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}
# Surrogates: bytes of the command line that are not UTF-8 (Python keeps them that way).
# Patterns, compiled on first use by re's cache: only add/rename need them (~0.5 ms).
_SLUG_BAD_CHARS = r'[\x00-\x1f\x7f-\x9f<>:"\\|?*\ud800-\udfff]'
_SURROGATES = "[\ud800-\udfff]"
MAX_COMPONENT_BYTES = 200
#: A whole slug; well below PATH_MAX (4096), the notebook's own path comes on top.
MAX_SLUG_BYTES = 1000


def slugify(title: str) -> str:
    """A file-name slug from a title, keeping Hangul: ``쿠버네티스 RBAC 정리`` -> ``쿠버네티스-rbac-정리``."""
    text = nfc(title).lower()
    text = re.sub(r"[^\w]+|_+", "-", text).strip("-")
    data = text.encode()
    if len(data) > MAX_COMPONENT_BYTES:  # the longest prefix that fits (a cut character dropped)
        text = data[:MAX_COMPONENT_BYTES].decode("utf-8", "ignore")
    return text.strip("-")


def validate_slug(slug: str) -> str:
    """Check a user-given slug names a file inside the notebook; return it normalised."""
    slug = nfc(slug.strip())
    if slug.lower().endswith(NOTE_SUFFIX):
        slug = slug[: -len(NOTE_SUFFIX)]
    if not slug:
        raise BadSlug("the slug is empty; give a title with letters or a --slug")
    if slug.startswith("/") or re.match(r"^[A-Za-z]:", slug):
        raise BadSlug(f"'{slug}' is an absolute path; a slug is a path inside the notebook")
    if re.search(_SLUG_BAD_CHARS, slug):
        raise BadSlug(f"{slug!r} contains characters a file name cannot hold")
    if len(slug.encode()) > MAX_SLUG_BYTES:
        raise BadSlug(f"'{slug[:40]}...' is longer than {MAX_SLUG_BYTES} bytes; choose a shorter slug")
    for part in slug.split("/"):
        if part in ("", ".", ".."):
            raise BadSlug(f"'{slug}' is not a plain path inside the notebook (no '..' or '//')")
        if part.startswith("."):
            raise BadSlug(f"'{slug}': a name starting with '.' would be hidden from kb")
        if part.split(".")[0].lower() in _WINDOWS_RESERVED:
            raise BadSlug(f"'{part}' is a reserved file name on Windows; choose another slug")
        if len(part.encode()) > MAX_COMPONENT_BYTES:
            raise BadSlug(f"a part of '{slug[:40]}...' is longer than {MAX_COMPONENT_BYTES} bytes")
        if part != part.strip():
            raise BadSlug(f"'{slug}' has a part starting or ending with a space")
    return slug


def note_path(root: Path, slug: str) -> Path:
    """The file of a slug, refusing anything that would land outside the notebook."""
    slug = validate_slug(slug)
    path = root / (slug + NOTE_SUFFIX)
    root_real = os.path.realpath(root)
    parent_real = os.path.realpath(path.parent)
    if parent_real != root_real and not parent_real.startswith(root_real + os.sep):
        raise BadSlug(f"'{slug}' would be written outside the notebook")
    return path


def render_new_note(title: str, tags: list[str], body: str, when: dt.datetime | None = None) -> str:
    """Text of a new note: YAML frontmatter (title, tags, date) and the body."""
    import frontmatter

    def text(value: str) -> str:
        # Bytes that were not UTF-8 (arguments, stdin) arrive as surrogates, which no
        # file can hold: decode them as a note file would be (CP949, else replaced).
        if not re.search(_SURROGATES, value):
            return value
        return decode_bytes(value.encode("utf-8", "surrogateescape"))[0]

    title, tags, body = text(title), [text(t) for t in tags], text(body)
    when = when or dt.datetime.now().astimezone()
    post = frontmatter.Post(
        body.rstrip("\n") + "\n" if body.strip() else "",
        title=title,
        tags=list(tags),
        date=when.strftime("%Y-%m-%d %H:%M:%S %z").strip(),
    )
    return frontmatter.dumps(post, sort_keys=False, allow_unicode=True) + "\n"


def write_new_note(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; never overwrite an existing file."""
    message = f"{path.name} already exists; kb never overwrites a note (pick another --slug)"
    if path.exists() or path.is_symlink():
        raise NoteExists(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes 0600; a note is an ordinary file.
    tmp = fsynced_temp(path.parent, text.encode("utf-8"), 0o644)
    try:
        _move_no_clobber(tmp, path, message)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fsynced_temp(folder: Path, data: bytes, mode: int, prefix: str = ".kb-") -> str:
    """A temporary file in ``folder`` holding ``data``, on disk (fsynced), with ``mode``.
    (A rename names its temporary files ``.kb-<token>-...``: see :mod:`kb.journal`.)"""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:  # Ctrl-C included: no temp file left behind
        os.unlink(tmp)
        raise
    return tmp


# --------------------------------------------------------------------------- moving and rewriting files


def replace_file_atomic(
    path: Path, data: bytes, expected: bytes | None = None, tmp_prefix: str = ".kb-"
) -> bool:
    """Replace the contents of an existing file with ``data`` atomically.

    A temporary file in the same folder, fsynced, then ``os.replace``: a reader sees
    the old bytes or the new ones, never half. The file keeps its permission bits.
    With ``expected``, the file is replaced only if it still holds exactly those
    bytes just before the replace (checked after the temporary file is written, the
    slow part): a save made meanwhile is kept, and the result is False.
    """
    st = os.stat(path)
    tmp = fsynced_temp(path.parent, data, stat_mod.S_IMODE(st.st_mode), tmp_prefix)
    try:
        if expected is not None and not _holds(path, expected, st):
            return False
        os.replace(tmp, path)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _holds(path: Path, expected: bytes, before: os.stat_result) -> bool:
    """``path`` is still the file ``before`` was taken of and holds ``expected``."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        same = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
            before.st_ino, before.st_dev, before.st_size, before.st_mtime_ns, before.st_ctime_ns
        )
        # same-size saves within the clock's tick keep the stat: compare the bytes too
        return same and fh.read(len(expected) + 1) == expected


def _move_no_clobber(src: str, dst: Path, message: str | None = None) -> None:
    """Move ``src`` to the name ``dst``, failing with :class:`NoteExists` if ``dst`` exists."""
    message = message or f"{dst.name} already exists; kb never overwrites a note"
    try:
        os.link(src, dst)  # atomic, and refuses an existing name
    except FileExistsError:
        raise NoteExists(message) from None
    except OSError:
        # No hard links here (some network and FAT filesystems): reserve the name, then replace.
        try:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise NoteExists(message) from None
        os.close(fd)
        try:
            os.replace(src, dst)
        except BaseException:  # Ctrl-C included: no empty placeholder left as a note
            os.unlink(dst)
            raise
        return
    os.unlink(src)


def move_file(src: Path, dst: Path, data: bytes | None = None, tmp_prefix: str = ".kb-") -> None:
    """Move ``src`` to ``dst`` without ever overwriting ``dst``; with ``data``, the moved
    file holds those bytes from the moment it appears under the new name.

    Without ``data`` the file keeps its inode and modification time. A rename that only
    changes letter case on a case-insensitive filesystem is allowed.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    same = dst.exists() and os.path.samefile(src, dst)
    if (dst.exists() or dst.is_symlink()) and not same:
        raise NoteExists(f"{dst.name} already exists; kb never overwrites a note")
    if data is None:
        if same:
            os.rename(src, dst)
        else:
            _move_no_clobber(str(src), dst)
        return
    tmp = fsynced_temp(dst.parent, data, stat_mod.S_IMODE(os.stat(src).st_mode), tmp_prefix)
    try:
        if same:  # only the letter case changes: new bytes in place, then the new name
            os.replace(tmp, src)
            os.rename(src, dst)
        else:
            _move_no_clobber(tmp, dst)
            os.unlink(src)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_empty_dirs(start: Path, root: Path) -> None:
    """Remove ``start`` and its parents while they are empty, stopping at ``root``."""
    root_real = os.path.realpath(root)
    folder = start
    while True:
        real = os.path.realpath(folder)
        if real == root_real or not real.startswith(root_real + os.sep):
            return
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent


TRASH_DIR = ".trash"


def trash_file(root: Path, relpath: str, when: dt.datetime | None = None) -> Path:
    """Move a note to ``.trash/`` in the notebook, keeping its relative path.

    kb never indexes hidden folders, so a trashed note drops out of search and lists.
    If the trash already holds that path, the new one gets a timestamp suffix
    (``rbac.20240301-101500.md``); nothing in the trash is ever overwritten.
    """
    src = root / relpath
    folder = _trash_folder(root, relpath.rpartition("/")[0])
    dst = folder / relpath.rpartition("/")[2]
    if dst.exists() or dst.is_symlink():
        stamp = (when or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        # not slug_of: that gives NFC, and the name on disk may be NFD (macOS)
        suffix = relpath[-len(NOTE_SUFFIX) :] if relpath.lower().endswith(NOTE_SUFFIX) else ""
        stem = relpath[: len(relpath) - len(suffix)]
        n = 1
        while True:
            extra = f"-{n}" if n > 1 else ""
            dst = root / TRASH_DIR / f"{stem}.{stamp}{extra}{suffix}"
            if not (dst.exists() or dst.is_symlink()):
                break
            n += 1
    try:
        move_file(src, dst)
    except NoteExists:  # lost a race with another kb rm: try the next free name
        return trash_file(root, relpath, (when or dt.datetime.now()) + dt.timedelta(seconds=1))
    remove_empty_dirs(src.parent, root)
    return dst


def _trash_folder(root: Path, rel_dir: str) -> Path:
    """``.trash/<rel_dir>`` in the notebook, made where missing. A symlink on the way
    (``.trash`` -> elsewhere) is refused: ``kb rm`` moves notes only inside the notebook."""
    folder = root
    for part in [TRASH_DIR, *(p for p in rel_dir.split("/") if p)]:
        folder = folder / part
        try:
            os.mkdir(folder)
            continue
        except FileExistsError:
            pass
        if folder.is_symlink() or not folder.is_dir():
            what = "a symbolic link" if folder.is_symlink() else "not a folder"
            shown = folder.relative_to(root).as_posix()
            raise KbError(f"{shown} in the notebook is {what}; kb moves notes to the trash only inside "
                          "the notebook (make it a plain folder)")
    return folder


_AGO_RE = re.compile(r"^\s*(\d+)\s*(h|d|w|m|y)\s*$", re.I)
_AGO_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def parse_when(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """A point in time from ``12h``, ``7d``, ``2w``, ``1m`` (months), ``1y`` ago, or a date.

    ``1m`` is the same day one calendar month back (clamped to the month's end).
    The result is a naive local time, like the dates kb stores. Raises ValueError.
    """
    now = now or dt.datetime.now()
    m = _AGO_RE.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        if unit in _AGO_UNITS:
            return now - n * _AGO_UNITS[unit]
        months = n * (12 if unit == "y" else 1)
        year, month = divmod(now.year * 12 + (now.month - 1) - months, 12)
        import calendar

        day = min(now.day, calendar.monthrange(year, month + 1)[1])
        return now.replace(year=year, month=month + 1, day=day)
    when = parse_date(text)
    if when is None:
        raise ValueError(f"cannot read {text!r} as a time: use 12h, 7d, 2w, 1m, 1y or a date like 2024-01-31")
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when
