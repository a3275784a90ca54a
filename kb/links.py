"""Links between notes: what a link names, outgoing links, backlinks, orphans,
broken links, and rewriting links when a note moves.

A link target is what :func:`kb.notes.parse_links` stored: a wiki-link target as
written (``[[k8s/rbac]]``, ``[[/vim/surround]]``, ``[[RAG 파이프라인]]``, ``[[rbac]]``)
or a relative Markdown link already turned into a slug from the notebook root.
:meth:`LinkGraph.resolve` tries, first match wins:

1. the slug itself (``k8s/rbac``; a leading ``/`` and a ``.md`` are dropped);
2. the same path under the folders above the linking note: nearest first
   (``[[sibling]]``), or topmost first for ``[[/x]]``. A wiki kept in a subfolder
   (johngrib's ``_wiki/``) writes ``[[/vim/surround]]`` for ``_wiki/vim/surround``;
3. the slug ignoring case;
4. a note title ignoring case (``[[RAG 파이프라인]]``), if only one note has it;
5. the end of exactly one slug (``[[rbac]]`` for ``k8s/rbac``, ``[[vim/surround]]``).

Anything else is broken: no such note, or ambiguous (the reason names the candidates).
Nothing here imports Rich, Typer or Whoosh; the graph is built from the index's
note rows (:class:`kb.noterow.NoteRow`: ``slug``, ``path``, ``title``, ``links``).
"""

from __future__ import annotations

import difflib
import heapq
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .noterow import NoteRow
from .notes import (
    FENCE_RE,
    FM_EMPTY_RE,
    FM_RE,
    INLINE_CODE_RE,
    MDLINK_RE,
    NOTE_SUFFIX,
    WIKILINK_RE,
    decode_bytes,
    nfc,
    parse_text,
    slug_of,
)

#: Characters that would change the meaning of a bare YAML value such as ``parent: [[/vim]]``.
_YAML_UNSAFE = re.compile(r"[,\[\]{}#&*!|>'\"%@`]|: ")
#: Characters a wiki-link target cannot hold.
_WIKI_UNSAFE = re.compile(r"[\[\]|#\n]")


@dataclass(frozen=True)
class Resolution:
    """What one link target names. ``slug`` is None when the link is broken.

    ``rule`` says which step matched (``slug``, ``nearby``, ``nocase``, ``title``,
    ``suffix``); ``prefix`` is the part of the slug the link left out
    (``_wiki/`` for ``[[/vim/surround]]``), which a rename keeps.
    """

    slug: str | None
    rule: str = ""
    reason: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Link:
    """A link from ``source`` to ``target`` (as written); ``slug`` is the note it names."""

    source: str
    target: str
    slug: str | None
    reason: str = ""

    @property
    def broken(self) -> bool:
        return self.slug is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "slug": self.slug,
            "broken": self.broken,
            "reason": self.reason or None,
        }


def _split_target(target: str) -> tuple[str, bool]:
    """``("vim/surround", True)`` for ``/vim/surround.md#x``: the path and whether it was rooted."""
    text = nfc(target.strip())
    if "#" in text:
        text = text.split("#", 1)[0].strip()
    rooted = text.startswith("/")
    text = text.strip("/")
    if text.lower().endswith(NOTE_SUFFIX):
        text = text[: -len(NOTE_SUFFIX)]
    if text and any(part in (".", "..") for part in text.split("/")):
        text = posixpath.normpath(text)
    return text, rooted


def _trigrams(name: str) -> set[str]:
    """Letter trigrams of a casefolded name, its ends marked (``rbac`` -> `` rb``, ``rba``, ...)."""
    padded = f" {name.casefold()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _title_key(row: NoteRow) -> str | None:
    """How a ``[[Title]]`` link names this note (rule 4), or None for a note without a title."""
    title = row.title.strip()
    return nfc(title).casefold() if title else None


#: link targets by a key -> ``(order of the link, source slug, target as written)``
_TargetMap = dict[str, list[tuple[int, str, str]]]


class LinkGraph:
    """The links of a notebook, resolved once; built from the index's stored fields.

    :meth:`outgoing`, :meth:`backlinks`, :meth:`broken` and :meth:`orphans` resolve every
    link of every note once. :meth:`outgoing_of` and :meth:`backlinks_of` give the same
    answer for one note without that: on a notebook of tens of thousands of notes they
    resolve only the links that could name it.
    """

    #: After this many passes over the notes for missing keys, build the whole maps instead.
    _MAX_PASSES = 4

    def __init__(self, notes: Iterable[NoteRow]) -> None:
        self.notes: dict[str, NoteRow] = {row.slug: row for row in notes}
        # What rules 3-5 look up: casefolded slug, title, path suffix -> slugs. Until
        # _fill_maps() they hold only the keys a link asked about (see _load_keys), each
        # with all of its slugs, so a lookup gives the same list either way.
        self._nocase: dict[str, list[str]] = {}
        self._titles: dict[str, list[str]] = {}
        self._suffixes: dict[str, list[str]] = {}
        self._complete = False
        self._passes = 0
        # each note's slug, casefolded slug, its last part and title key, for _load_keys
        self._keys: list[tuple[str, str, str, str | None]] | None = None
        self._links: dict[str, list[Link]] | None = None
        self._by_name: dict[str, list[str]] | None = None  # file name -> slugs, for suggest()
        self._grams: dict[str, list[str]] | None = None  # trigram -> file names, for suggest()
        self._gram_counts: dict[str, int] = {}
        self._suggested: dict[str, list[str]] = {}
        self._back: dict[str, list[Link]] | None = None
        self._targets: tuple[_TargetMap, _TargetMap] | None = None  # for backlinks_of

    def _fill_maps(self) -> None:
        """Every key of the lookup maps, for resolving links of many notes."""
        if self._complete:
            return
        nocase: dict[str, list[str]] = {}
        titles: dict[str, list[str]] = {}
        suffixes: dict[str, list[str]] = {}
        for slug, doc in self.notes.items():
            nocase.setdefault(slug.casefold(), []).append(slug)
            title_key = _title_key(doc)
            if title_key is not None:
                titles.setdefault(title_key, []).append(slug)
            parts = slug.casefold().split("/")
            for i in range(1, len(parts)):
                suffixes.setdefault("/".join(parts[i:]), []).append(slug)
        self._nocase, self._titles, self._suffixes = nocase, titles, suffixes
        self._complete = True

    def with_rows(self, rows: Iterable[NoteRow]) -> LinkGraph:
        """The graph of this one's notes with ``rows`` in place of the notes of the same slug
        (a slug not here added last, in their order): what ``LinkGraph`` of all those rows
        resolves and suggests, made from this graph's lookup maps (filled here once) by
        copying them and only the lists the rows change, not a pass over every note
        (``kb lsp``: an open note whose title is being typed, ~0.5 s a keystroke on 38,580
        notes). This graph is left as it was."""
        self._fill_maps()
        new = LinkGraph(())
        notes = new.notes = dict(self.notes)
        nocase, titles, suffixes = dict(self._nocase), dict(self._titles), dict(self._suffixes)
        added: list[str] = []
        for row in rows:
            slug = row.slug
            old = notes.get(slug)
            if old is None:
                added.append(slug)
                folded = slug.casefold()
                nocase[folded] = [*nocase.get(folded, ()), slug]
                parts = folded.split("/")
                for i in range(1, len(parts)):
                    key = "/".join(parts[i:])
                    suffixes[key] = [*suffixes.get(key, ()), slug]
            else:
                old_key = _title_key(old)
                if old_key is not None:
                    kept = [s for s in titles[old_key] if s != slug]
                    if kept:
                        titles[old_key] = kept
                    else:
                        del titles[old_key]
            notes[slug] = row
            title_key = _title_key(row)
            if title_key is not None:
                titles[title_key] = [*titles.get(title_key, ()), slug]
        new._nocase, new._titles, new._suffixes, new._complete = nocase, titles, suffixes, True
        if self._by_name is not None:  # suggest()'s tables, with the added notes' names
            by_name = dict(self._by_name)
            grams = dict(self._grams) if self._grams is not None else None
            counts = dict(self._gram_counts)
            for slug in added:
                name = slug.rpartition("/")[2]
                if name in by_name:
                    by_name[name] = [*by_name[name], slug]
                    continue
                by_name[name] = [slug]
                if grams is not None:
                    found = _trigrams(name)
                    counts[name] = len(found)
                    for gram in found:
                        grams[gram] = [*grams.get(gram, ()), name]
            new._by_name, new._grams, new._gram_counts = by_name, grams, counts
        return new

    def _load(self, targets: Iterable[str]) -> None:
        """Make sure the lookup maps hold the keys the link ``targets`` ask about."""
        if self._complete:
            return
        paths: set[str] = set()
        titles: set[str] = set()
        for target in targets:
            want, rooted = _split_target(target)
            folded = want.casefold()
            if folded not in self._nocase:
                paths.add(folded)
            if not rooted:
                key = nfc(target.strip()).casefold()
                if key not in self._titles:
                    titles.add(key)
        self._load_keys(paths, titles)

    def _load_keys(self, paths: set[str], titles: set[str]) -> None:
        """Add casefolded paths (rules 3 and 5) and title keys to the maps, in one pass over the notes."""
        if self._complete or not (paths or titles):
            return
        self._passes += 1
        if self._passes > self._MAX_PASSES:
            self._fill_maps()
            return
        nocase = {key: self._nocase.setdefault(key, []) for key in paths}
        by_title = {key: self._titles.setdefault(key, []) for key in titles}
        # a path suffix ends with the slug's last part: only those keys need the endswith test
        by_last: dict[str, list[tuple[str, list[str]]]] = {}
        for key in paths:
            by_last.setdefault(key.rsplit("/", 1)[-1], []).append((key, self._suffixes.setdefault(key, [])))
        if self._keys is None:
            self._keys = []
            for slug, doc in self.notes.items():
                folded = slug.casefold()
                self._keys.append((slug, folded, folded.rsplit("/", 1)[-1], _title_key(doc)))
        for slug, folded, last, title_key in self._keys:
            if folded in nocase:
                nocase[folded].append(slug)
            for key, found in by_last.get(last, ()):
                if folded.endswith("/" + key):
                    found.append(slug)
            if title_key is not None and title_key in by_title:
                by_title[title_key].append(slug)

    # ------------------------------------------------------------------ resolving

    def title(self, slug: str) -> str:
        return self.notes[slug].title if slug in self.notes else slug

    def resolve(self, target: str, source: str | None = None) -> Resolution:
        """The note ``target`` names when written in ``source`` (see the module docstring)."""
        want, rooted = _split_target(target)
        if not want or want.startswith("../") or want == "..":
            return Resolution(None, reason="no such note")
        if want in self.notes:
            return Resolution(want, "slug")
        if source and "/" in source:
            folders = source.split("/")[:-1]
            prefixes = ["/".join(folders[:i]) for i in range(len(folders), 0, -1)]
            if rooted:
                prefixes.reverse()
            for prefix in prefixes:
                slug = f"{prefix}/{want}"
                if slug in self.notes:
                    return Resolution(slug, "nearby", prefix=prefix + "/")
        ambiguous: list[str] = []
        folded = want.casefold()
        title_key = "" if rooted else nfc(target.strip()).casefold()
        if not self._complete and (
            folded not in self._nocase or (not rooted and title_key not in self._titles)
        ):
            # a link the maps were not loaded for: load it with the rest of its note's links,
            # which are likely to be asked next (``kb show`` labels every link of the note)
            doc = self.notes.get(source or "")
            self._load([target, *(doc.links if doc else ())])
        for rule, found in (
            ("nocase", self._nocase.get(folded, [])),
            ("title", [] if rooted else self._titles.get(title_key, [])),
            ("suffix", self._suffixes.get(folded, [])),
        ):
            if len(found) == 1:
                slug = found[0]
                prefix = slug.rsplit("/", want.count("/") + 1)[0] + "/" if rule == "suffix" else ""
                return Resolution(slug, rule, prefix=prefix)
            if len(found) > 1 and not ambiguous:
                ambiguous = sorted(found)
        if ambiguous:
            shown = ", ".join(ambiguous[:5]) + (" ..." if len(ambiguous) > 5 else "")
            return Resolution(None, reason=f"ambiguous: {shown}")
        return Resolution(None, reason="no such note")

    def suggest(self, target: str) -> list[str]:
        """Slugs close to a broken target, for a hint.

        The file name is compared first, then whole slugs among the notes with a close
        name. ``difflib`` compares only the few names that share most letter trigrams
        with the target's (:meth:`_near_names`): over every name it took ~10 ms a broken
        link on 3,900 notes and ~1 s on 38,580. Memoized per target.
        """
        cached = self._suggested.get(target)
        if cached is not None:
            return cached
        want, _ = _split_target(target)
        name = want.rpartition("/")[2]
        names = difflib.get_close_matches(name, self._near_names(name), n=10, cutoff=0.6)
        candidates = [slug for found_name in names for slug in self._by_name_map()[found_name]]
        if len(candidates) > self._NEAR_NAMES:
            # a common name (`index`, `README`): the slugs sharing most trigrams with the target
            grams = _trigrams(want)
            candidates = heapq.nsmallest(self._NEAR_NAMES, candidates,
                                         key=lambda slug: (-len(grams & _trigrams(slug)), slug))
        found = difflib.get_close_matches(want, candidates, n=3, cutoff=0.6)
        self._suggested[target] = found
        return found

    #: How many names :meth:`_near_names` hands to difflib.
    _NEAR_NAMES = 12

    def _by_name_map(self) -> dict[str, list[str]]:
        if self._by_name is None:
            self._by_name = {}
            for slug in self.notes:
                self._by_name.setdefault(slug.rpartition("/")[2], []).append(slug)
        return self._by_name

    def _near_names(self, name: str) -> list[str]:
        """The file names sharing most trigrams with ``name`` (Dice coefficient), best first.

        A trigram found in very many names (``ion``) tells little and costs a long posting
        list; those beyond a tenth of the names (at least 200) are skipped."""
        from collections import Counter

        by_name = self._by_name_map()
        if self._grams is None:
            self._grams, self._gram_counts = {}, {}
            for known in by_name:
                grams = _trigrams(known)
                self._gram_counts[known] = len(grams)
                for gram in grams:
                    self._grams.setdefault(gram, []).append(known)
        common = max(200, len(by_name) // 10)
        grams = _trigrams(name)
        shared: Counter[str] = Counter()
        for gram in grams:
            posting = self._grams.get(gram, ())
            if len(posting) <= common:
                shared.update(posting)
        size, counts = len(grams), self._gram_counts
        best = heapq.nsmallest(self._NEAR_NAMES, shared.items(),
                               key=lambda kv: (-2 * kv[1] / (size + counts[kv[0]]), kv[0]))
        return [known for known, _ in best]

    # ------------------------------------------------------------------ the graph

    def _build(self) -> None:
        self._fill_maps()
        links: dict[str, list[Link]] = {}
        back: dict[str, list[Link]] = {}
        for slug, doc in self.notes.items():
            out = []
            for target in doc.links:
                res = self.resolve(target, slug)
                link = Link(slug, target, res.slug, res.reason)
                out.append(link)
                if res.slug is not None and res.slug != slug:
                    back.setdefault(res.slug, []).append(link)
            links[slug] = out
        self._links, self._back = links, back

    def outgoing(self, slug: str) -> list[Link]:
        """Links written in ``slug``, in order, broken ones with ``slug=None``."""
        if self._links is None:
            self._build()
        assert self._links is not None
        return list(self._links.get(slug, []))

    def backlinks(self, slug: str) -> list[Link]:
        """Links from other notes that name ``slug``, one per linking note, by source."""
        if self._back is None:
            self._build()
        assert self._back is not None
        seen: dict[str, Link] = {}
        for link in self._back.get(slug, []):
            seen.setdefault(link.source, link)
        return [seen[s] for s in sorted(seen)]

    def outgoing_of(self, slug: str) -> list[Link]:
        """:meth:`outgoing` for one note, without resolving the links of every note."""
        if self._links is not None:
            return self.outgoing(slug)
        doc = self.notes.get(slug)
        targets = list(doc.links) if doc else []
        self._load(targets)
        out = []
        for target in targets:
            res = self.resolve(target, slug)
            out.append(Link(slug, target, res.slug, res.reason))
        return out

    def backlinks_of(self, slug: str) -> list[Link]:
        """:meth:`backlinks` for one note, resolving only the links that could name it.

        A link names ``slug`` only if its path, ignoring case, is ``slug`` or the end of it
        after a ``/`` (rules 1, 2, 3, 5), or it is the note's title (rule 4); the rest are
        left unresolved.
        """
        if self._back is not None:
            return self.backlinks(slug)
        if slug not in self.notes:
            return []
        parts = slug.casefold().split("/")
        by_path, by_title = self._targets_map()
        found = [hit for i in range(len(parts)) for hit in by_path.get("/".join(parts[i:]), ())]
        title_key = _title_key(self.notes[slug])
        if title_key is not None:
            found += by_title.get(title_key, ())
        # in the notes' order and each note's links' order, as a scan of every link finds them
        maybe = [(source, target) for _, source, target in sorted(set(found)) if source != slug]
        self._load(target for _, target in maybe)
        seen: dict[str, Link] = {}
        for source, target in maybe:
            if source not in seen:
                res = self.resolve(target, source)
                if res.slug == slug:
                    seen[source] = Link(source, target, res.slug, res.reason)
        return [seen[s] for s in sorted(seen)]

    def _targets_map(self) -> tuple[_TargetMap, _TargetMap]:
        """Every link of every note by the path it asks for (casefolded, as written: rules
        1, 2, 3, 5 match its end) and by the title it could name (rule 4), as ``(order,
        source, target)``: built in one pass over the links, once per graph, so
        :meth:`backlinks_of` looks a note up instead of scanning ~10 links a note each time
        (~30 ms a ``kb show`` on 38,580 notes)."""
        if self._targets is None:
            by_path: _TargetMap = {}
            by_title: _TargetMap = {}
            keys: dict[str, tuple[str, str | None]] = {}
            order = 0
            for source, doc in self.notes.items():
                for target in doc.links:
                    key = keys.get(target)
                    if key is None:
                        want, rooted = _split_target(target)
                        title = None if rooted else nfc(target.strip()).casefold()
                        key = keys[target] = (want.casefold(), title)
                    hit = (order, source, target)
                    order += 1
                    by_path.setdefault(key[0], []).append(hit)
                    if key[1] is not None:
                        by_title.setdefault(key[1], []).append(hit)
            self._targets = (by_path, by_title)
        return self._targets

    def broken(self) -> list[Link]:
        """Every broken link, by source."""
        return [link for slug in sorted(self.notes) for link in self.outgoing(slug) if link.broken]

    def orphans(self) -> list[str]:
        """Notes with no working link to another note and none from another note."""
        if self._back is None:
            self._build()
        assert self._back is not None
        return sorted(
            slug
            for slug in self.notes
            if not self._back.get(slug)
            and not any(link.slug not in (None, slug) for link in self.outgoing(slug))
        )


# --------------------------------------------------------------------------- finding links in text


@dataclass(frozen=True)
class Occurrence:
    """One link in a file's text: ``text[start:end]`` is the target to replace."""

    kind: str  # "wiki" or "md"
    start: int
    end: int
    in_frontmatter: bool = False


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def link_occurrences(text: str) -> list[Occurrence]:
    """Where the links are in ``text``, skipping code, in order.

    Wiki-links count in the body and in the frontmatter (``parent: [[/vim]]``);
    Markdown links only in the body. Offsets are into ``text`` as given (CRLF
    line ends and all), so a rewrite changes nothing else.
    """
    view = text.replace("\r", " ")
    found: list[Occurrence] = []
    body_start = 0
    fm = FM_RE.match(view)
    if fm:
        found += _wiki_in(view, fm.start(1), fm.end(1), in_frontmatter=True)
        body_start = fm.end()
    else:
        empty = FM_EMPTY_RE.match(view)
        body_start = empty.end() if empty else 0
    body = view[body_start:]
    masked = INLINE_CODE_RE.sub(_blank, FENCE_RE.sub(_blank, body))
    found += _wiki_in(masked, 0, len(masked), offset=body_start)
    for m in MDLINK_RE.finditer(masked):
        href = m.group(2)
        if "://" in href or href.startswith("/"):
            continue
        found.append(Occurrence("md", body_start + m.start(2), body_start + m.end(2)))
    found.sort(key=lambda o: o.start)
    return found


def _wiki_in(
    view: str, start: int, end: int, offset: int = 0, in_frontmatter: bool = False
) -> list[Occurrence]:
    out = []
    for m in WIKILINK_RE.finditer(view, start, end):
        raw = m.group(1)
        lead = len(raw) - len(raw.lstrip())
        core = raw.strip()
        if core:
            s = offset + m.start(1) + lead
            out.append(Occurrence("wiki", s, s + len(core), in_frontmatter))
    return out


def md_target(href: str, source_path: str) -> str | None:
    """The slug a relative Markdown link names from ``source_path``, as parse_links does."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(source_path), unquote(href)))
    if target.startswith(".."):
        return None
    return slug_of(target)


# --------------------------------------------------------------------------- rename


@dataclass
class FileChange:
    """One file a rename touches: its bytes before and after, and how many links changed."""

    path: str  # relative path after the rename
    old_path: str  # relative path before (differs only for the moved note)
    before: bytes
    after: bytes
    links: int = 0
    #: ``(start, end, new bytes)``: the byte ranges of ``before`` that make ``after``
    edits: list[tuple[int, int, bytes]] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.path != self.old_path

    def diff(self) -> str:
        """A unified diff of the change (the file's text; a move with no edit shows the names)."""
        old_text, _ = decode_bytes(self.before)
        new_text, _ = decode_bytes(self.after)
        lines = difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"a/{self.old_path}",
            tofile=f"b/{self.path}",
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if not text and self.moved:
            text = f"rename from {self.old_path}\nrename to {self.path}\n"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old_path": self.old_path, "links": self.links}

    def text_edits(self) -> tuple[str, list[tuple[int, int, str]]] | None:
        """The file's text before and :attr:`edits` as ``(start, end, new text)`` character
        ranges of it (for an editor to apply); None if the bytes are not text kb rewrites."""
        decoded = _decode_exact(self.before)
        if decoded is None:
            return None
        text, encoding, bom = decoded
        out = []
        for start, end, new in self.edits:
            char = len(self.before[len(bom) : start].decode(encoding))
            out.append((char, char + len(self.before[start:end].decode(encoding)), new.decode(encoding)))
        return text, out


@dataclass
class RenamePlan:
    """Everything ``rename`` will do; nothing is written until :func:`apply_rename`."""

    old_slug: str
    new_slug: str
    old_path: str
    new_path: str
    changes: list[FileChange] = field(default_factory=list)  # the moved note first
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def links(self) -> int:
        return sum(c.links for c in self.changes)

    @property
    def linking_files(self) -> list[FileChange]:
        return [c for c in self.changes if not c.moved and c.links]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_slug,
            "new": self.new_slug,
            "links": self.links,
            "files": [c.to_dict() for c in self.changes],
            "warnings": [{"path": p, "message": m} for p, m in self.warnings],
        }


def _decode_exact(data: bytes) -> tuple[str, str, bytes] | None:
    """``(text, encoding, bom)`` that re-encodes to exactly ``data``, or None."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    raw = data[len(bom) :]
    for encoding in ("utf-8", "cp949"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text.encode(encoding) == raw:
            return text, encoding, bom
    return None


def _wiki_candidates(written: str, before: Resolution, expected: str) -> list[str]:
    """Ways to write a link to ``expected`` in the style of ``written``, best first."""
    core = written.strip()
    lead = "/" if core.startswith("/") else ""
    ext = core[-len(NOTE_SUFFIX) :] if core.lower().endswith(NOTE_SUFFIX) else ""
    bare = "/" not in core.strip("/")
    out: list[str] = []
    if before.prefix and expected.startswith(before.prefix):
        out.append(expected[len(before.prefix) :])
    if bare:
        out.append(expected.rsplit("/", 1)[-1])
    out.append(expected)
    return [f"{lead}{c}{ext}" for c in dict.fromkeys(out)] + [expected]


def _md_href(written: str, source_path: str, target_path: str) -> str:
    href = posixpath.relpath(target_path, posixpath.dirname(source_path) or ".")
    if written.startswith("./") and not href.startswith("../"):
        href = "./" + href
    if "%" in written or re.search(r"[\s()<>]", href):
        href = quote(href, safe="/.-_~")
    return href


def rewrite_links(
    text: str,
    source_before: str,
    source_after: str,
    before: LinkGraph,
    after: LinkGraph,
    moved: tuple[str, str],
    edits: list[tuple[int, int, str]] | None = None,
) -> tuple[str, int, list[str]]:
    """``text`` with every link that would change meaning after ``moved`` rewritten.

    A link keeps naming the note it named: links to the moved note follow it, and the
    moved note's own links are recomputed from its new folder. A link whose meaning
    does not change (``[[Title]]`` when the title stays the same, an unrelated link)
    is left exactly as written. Returns ``(new text, links changed, warnings)``; each
    replacement is also added to ``edits`` as ``(start, end, new text)``.
    """
    old_slug, new_slug = moved
    src_before = source_before + NOTE_SUFFIX if not source_before.endswith(NOTE_SUFFIX) else source_before
    src_after = source_after + NOTE_SUFFIX if not source_after.endswith(NOTE_SUFFIX) else source_after
    slug_before, slug_after = slug_of(src_before), slug_of(src_after)
    pieces: list[str] = []
    last = 0
    changed = 0
    warnings: list[str] = []
    for occ in link_occurrences(text):
        written = text[occ.start : occ.end]
        if occ.kind == "md":
            target = md_target(written, src_before)
            res = before.resolve(target, slug_before) if target else Resolution(None)
        else:
            res = before.resolve(written, slug_before)
        if res.slug is None:
            continue
        to_moved = res.slug == old_slug
        expected = new_slug if to_moved else res.slug
        if occ.kind == "md":
            now = md_target(written, src_after)
            if to_moved or slug_before != slug_after:
                # Links to or from the moved note must name the file exactly, relative to their note.
                if now == expected:
                    continue
            elif now is not None and after.resolve(now, slug_after).slug == expected:
                continue
            doc = after.notes[expected]
            replacement = _md_href(written, src_after, doc.path)
        else:
            # A link that names the moved note by its path takes the new path, in the same
            # style; a [[Title]] link, or a link to another note, changes only if it would
            # otherwise stop naming the same note.
            restyle = to_moved and res.rule != "title"
            if not restyle and after.resolve(written, slug_after).slug == expected:
                continue
            replacement = next(
                (
                    c
                    for c in _wiki_candidates(written, res, expected)
                    if after.resolve(c, slug_after).slug == expected
                ),
                "",
            )
            if replacement == written:
                continue
            if not replacement or _WIKI_UNSAFE.search(replacement):
                warnings.append(
                    f"link [[{written}]] left as it is: {expected!r} cannot be written as a wiki-link"
                )
                continue
            if occ.in_frontmatter and _YAML_UNSAFE.search(replacement):
                warnings.append(
                    f"frontmatter link [[{written}]] left as it is: {replacement!r} is not plain YAML"
                )
                continue
        pieces.append(text[last : occ.start])
        pieces.append(replacement)
        if edits is not None:
            edits.append((occ.start, occ.end, replacement))
        last = occ.end
        changed += 1
    pieces.append(text[last:])
    return "".join(pieces), changed, warnings


def rename_target(root: Path, old_slug: str, old_path: str, new: str) -> str:
    """The slug ``kb rename`` gives the note ``old_slug`` (file ``old_path``) for ``new`` (a
    trailing ``/`` keeps its name), checked: inside the notebook, another name, no note there."""
    import os

    from .errors import BadSlug, NoteExists
    from .notes import note_path

    target = new.strip()
    if target.endswith("/"):
        target += old_slug.rsplit("/", 1)[-1]
    path = note_path(root, target)
    new_slug = slug_of(path.relative_to(root).as_posix())
    if new_slug == old_slug:
        raise BadSlug(f"{old_slug} already has that name")
    old_file = root / old_path
    if (path.exists() or path.is_symlink()) and not (path.exists() and os.path.samefile(path, old_file)):
        raise NoteExists(f"{new_slug} already exists; kb never overwrites a note (pick another name)")
    return new_slug


def plan_rename(root: Path, docs: Iterable[NoteRow], old_slug: str, new_slug: str) -> RenamePlan:
    """Work out a rename from the index's stored notes and the files, writing nothing.

    The caller has checked ``new_slug`` (``notes.note_path``) and that it is free.
    """
    before = LinkGraph(docs)
    old_doc = before.notes[old_slug]
    old_path = old_doc.path
    # the path may be NFD (macOS) while the slug is NFC: take the suffix from the path's end
    ext = old_path[-len(NOTE_SUFFIX) :] if old_path.lower().endswith(NOTE_SUFFIX) else NOTE_SUFFIX
    new_path = new_slug + ext
    plan = RenamePlan(old_slug, new_slug, old_path, new_path)

    moved_bytes = (root / old_path).read_bytes()
    moved_text, _ = decode_bytes(moved_bytes)
    new_doc = replace(old_doc, slug=new_slug, path=new_path, title=parse_text(new_path, moved_text).title)
    after = LinkGraph([new_doc if d is old_doc else d for d in before.notes.values()])
    before._fill_maps()  # every note's links get resolved, in both graphs
    after._fill_maps()

    for slug in [old_slug] + sorted(s for s in before.notes if s != old_slug):
        path = before.notes[slug].path
        is_moved = slug == old_slug
        try:
            data = moved_bytes if is_moved else (root / path).read_bytes()
        except OSError as exc:
            plan.warnings.append((path, f"cannot read: {exc.strerror or exc}; its links are not updated"))
            continue
        decoded = _decode_exact(data)
        if decoded is None:
            if is_moved or any(before.notes[slug].links):
                plan.warnings.append((path, "not UTF-8 or CP949; its links are not updated"))
            if is_moved:
                plan.changes.append(FileChange(new_path, old_path, data, data))
            continue
        text, encoding, bom = decoded
        text_edits: list[tuple[int, int, str]] = []
        new_text, n, warns = rewrite_links(
            text, path, new_path if is_moved else path, before, after, (old_slug, new_slug), text_edits
        )
        plan.warnings += [(path, w) for w in warns]
        try:
            new_data = bom + new_text.encode(encoding)
            edits = _byte_edits(text, text_edits, encoding, len(bom))
        except UnicodeEncodeError:
            plan.warnings.append((path, f"the new name cannot be written in {encoding}; links not updated"))
            new_data, n, edits = data, 0, []
        if is_moved or n:
            plan.changes.append(FileChange(new_path if is_moved else path, path, data, new_data, n, edits))
    return plan


def _byte_edits(
    text: str, edits: list[tuple[int, int, str]], encoding: str, offset: int
) -> list[tuple[int, int, bytes]]:
    """``edits`` of ``text`` as byte ranges of its encoding (after a BOM of ``offset`` bytes)."""
    out: list[tuple[int, int, bytes]] = []
    char, byte = 0, offset
    for start, end, new in edits:
        byte += len(text[char:start].encode(encoding))
        end_byte = byte + len(text[start:end].encode(encoding))
        out.append((byte, end_byte, new.encode(encoding)))
        char, byte = end, end_byte
    return out


def apply_rename(root: Path, plan: RenamePlan) -> list[tuple[str, str]]:
    """Move the note, then rewrite each linking file atomically. Returns warnings.

    The move comes first and never overwrites; if it fails nothing has changed. A
    linking file edited since the plan was made is skipped (with a warning), not merged.
    It all runs under a journal (:mod:`kb.journal`): if kb is killed half-way, the next
    kb command finishes the rename.
    """
    from .journal import run_rename

    return run_rename(root, plan)
