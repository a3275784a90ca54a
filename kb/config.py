"""Where the notebook is and where its index lives.

Which notebook, first match wins:

1. ``--dir PATH`` (a global option: ``kb --dir PATH search ...``);
2. the ``KB_DIR`` environment variable;
3. the nearest folder named ``notes`` in the current directory or one of its
   parents (so ``kb`` run anywhere in a clone of this repo uses its ``notes/``);
4. ``~/notes``.

The index is a cache outside the notebook: ``KB_INDEX_DIR`` if set, else
``$XDG_CACHE_HOME/kb/<name>-<hash of the notebook's real path>`` (``~/.cache`` when
``XDG_CACHE_HOME`` is unset or, as the XDG spec says, not an absolute path: a relative
one would give one index per working directory). Deleting it is always safe.

The index folder is kb's alone, and kb deletes only what it made. Before anything
reads it (Whoosh unpickles its table of contents), :func:`prepare_index_dir` checks it:
not the notebook, not inside it, not around it; a real folder (no symlink at the last
component), owned by this user and writable by no one else; and marked as kb's by a
stamp file, :data:`STAMP`. A missing folder is created 0700 (and any missing parent,
so a new ``~/.cache`` is private too; an existing one is left as it is). An empty
folder is stamped; so is a kb index from before stamps, recognised by its files
(:func:`is_kb_name`). Any other folder is refused with one line: kb never writes or
deletes in a folder that holds anything it did not make. Everything kb writes there
is written under umask 077 (:func:`private_files`): 0700 folders, 0600 files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import NotebookMissing, UnsafeIndexDir
from .index.manifest import KB_FILES, MANIFEST, STAMP


@dataclass(frozen=True)
class Notebook:
    """A notebook folder and the folder of its index cache."""

    root: Path
    index_dir: Path
    source: str  # how it was chosen: "--dir", "KB_DIR", "./notes", "~/notes"


def find_notebook(cli_dir: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Notebook:
    """Resolve the notebook by the rule in the module docstring."""
    if cli_dir:
        return _checked(Path(cli_dir), "--dir")
    env = os.environ.get("KB_DIR")
    if env:
        return _checked(Path(env), "KB_DIR")
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if folder.name == "notes" and folder.is_dir():
            return _checked(folder, "./notes")
        candidate = folder / "notes"
        if candidate.is_dir():
            return _checked(candidate, "./notes")
    home_notes = Path.home() / "notes"
    if home_notes.is_dir():
        return _checked(home_notes, "~/notes")
    raise NotebookMissing("no notebook found: pass --dir PATH, set KB_DIR, or create a 'notes' folder here")


def _checked(path: Path, source: str) -> Notebook:
    path = path.expanduser()
    if not path.exists():
        raise NotebookMissing(f"notebook folder {path} does not exist (from {source})")
    if not path.is_dir():
        raise NotebookMissing(f"notebook {path} is not a folder (from {source})")
    root = path.resolve()
    index_dir = index_dir_for(root)
    prepare_index_dir(index_dir, root, create=False)  # created by the first sync that writes
    return Notebook(root=root, index_dir=index_dir, source=source)


def index_dir_for(root: Path) -> Path:
    """The index folder of a notebook (see the module docstring). A symlink at its last
    component is not followed (:func:`prepare_index_dir` refuses one)."""
    override = os.environ.get("KB_INDEX_DIR")
    if override:
        return Path(os.path.abspath(os.path.expanduser(override)))
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return _cache_root() / f"{root.name or 'root'}-{digest}"


def _cache_root() -> Path:
    """The folder of kb's default index folders."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):  # unset, empty or relative: the XDG spec says ignore it
        cache = str(Path.home() / ".cache")
    return Path(cache) / "kb"


# --------------------------------------------------------------------------- the index folder

#: The file that marks a folder as a kb index (:data:`STAMP`) is a Cache Directory Tag
#: (bford.info/cachedir), so backup tools that honour the tag skip the index too; kb's own
#: line after the signature (:data:`_STAMP_MARK`) is what makes it kb's. A folder holding
#: only kb's names (:func:`is_kb_name`) and a manifest of kb's is a kb index from before
#: the stamp; on a rebuild kb deletes only such names.
_STAMP_MARK = b"# kb index:"
STAMP_TEXT = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    + _STAMP_MARK
    + b" a cache of a notebook's search index, made by kb; deleting this folder is safe.\n"
    b"# kb writes and deletes only its own files here.\n"
)

_LOWER_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_MKSTEMP = _LOWER_ALNUM | {"_"}


def is_kb_name(name: str) -> bool:
    """True for the name of a file kb (or Whoosh, for kb) writes in an index folder:
    :data:`kb.index.manifest.KB_FILES`, with ``.tmp``, ``.<pid>.tmp`` or mkstemp's
    ``.<8 chars>.tmp`` after it; Whoosh's ``_MAIN_<generation>.toc`` (and its ``.<time>`` while written) and
    ``MAIN_<segment>.<ext>``. String tests, no regex: linear in the name."""
    if name in KB_FILES:
        return True
    if name.endswith(".tmp"):
        base = name[:-4]
        if base in KB_FILES:
            return True
        stem, _, extra = base.rpartition(".")
        if stem in KB_FILES and (extra.isdigit() or (len(extra) == 8 and set(extra) <= _MKSTEMP)):
            return True
    if name.startswith("_MAIN_"):
        generation, _, rest = name[6:].partition(".")
        written = rest[4:].replace(".", "")
        return generation.isdigit() and (rest == "toc" or (rest[:4] == "toc." and written.isdigit()))
    if name.startswith("MAIN_"):
        segment, _, ext = name[5:].partition(".")
        return bool(segment) and set(segment) <= _LOWER_ALNUM and bool(ext) and (
            ext.replace(".", "").replace("_", "").isalnum()
        )
    return False


def prepare_index_dir(index_dir: Path, root: Path, create: bool = True) -> None:
    """Make sure ``index_dir`` is a folder kb may write and delete in (creating it if
    missing, unless not ``create``: nothing to read there then), or raise
    :class:`UnsafeIndexDir` saying why in one line. ~20 us when it is kb's already. See
    the module docstring for the rules."""
    _check_apart(index_dir, root)
    try:
        fd = _open_dir(index_dir)
    except FileNotFoundError:
        if not create:
            return
        _make_dirs(index_dir)
        fd = _open_dir(index_dir)
    try:
        st = os.fstat(fd)
        _check_private(index_dir, st)
        if not _has_stamp(fd):
            _claim(index_dir, fd)
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o700)  # kb's folder: nobody else reads the notes' text in it
    finally:
        os.close(fd)


def _check_apart(index_dir: Path, root: Path) -> None:
    """The index folder is neither the notebook, nor inside it, nor around it."""
    folder = str(index_dir)
    real = os.path.join(os.path.realpath(os.path.dirname(folder)), os.path.basename(folder))
    notebook = str(root)
    where = None
    if real == notebook:
        where = "is the notebook itself"
    elif real.startswith(notebook.rstrip(os.sep) + os.sep):
        where = "is inside the notebook"
    elif notebook.startswith(real.rstrip(os.sep) + os.sep):
        where = "contains the notebook"
    if where:
        raise UnsafeIndexDir(
            f"index folder {index_dir} {where}; kb keeps its index apart from the notes "
            "(set KB_INDEX_DIR to a folder of its own)"
        )


def _open_dir(index_dir: Path) -> int:
    """A descriptor of the folder itself, never of a symlink's target."""
    try:
        return os.open(index_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(index_dir):  # a symlink to nowhere
            raise UnsafeIndexDir(_symlink_message(index_dir)) from None
        raise
    except OSError as exc:
        if os.path.islink(index_dir):
            raise UnsafeIndexDir(_symlink_message(index_dir)) from None
        if not os.path.isdir(index_dir):
            raise UnsafeIndexDir(f"index folder {index_dir} is not a folder (set KB_INDEX_DIR)") from None
        raise UnsafeIndexDir(f"cannot open the index folder {index_dir}: {exc.strerror}") from None


def _symlink_message(index_dir: Path) -> str:
    return (
        f"index folder {index_dir} is a symbolic link; kb does not follow one there "
        "(set KB_INDEX_DIR to the real folder)"
    )


def _make_dirs(index_dir: Path) -> None:
    """Create the folder and any missing parent, each 0700 (a symlink on the way is
    followed, as any path is; the last component never is, see :func:`_open_dir`)."""
    missing = []
    folder = index_dir
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # made meanwhile by someone: checked like any other when opened
        except OSError as exc:
            raise UnsafeIndexDir(f"cannot create the index folder {path}: {exc.strerror}") from None


def _check_private(index_dir: Path, st: os.stat_result) -> None:
    """Owned by this user, and nobody else may add or replace a file in it (a planted
    ``_MAIN_1.toc`` is a pickle Whoosh would load)."""
    uid = os.geteuid()
    if st.st_uid != uid:
        raise UnsafeIndexDir(
            f"index folder {index_dir} belongs to another user; kb keeps its index in a folder "
            "of yours (set KB_INDEX_DIR)"
        )
    if st.st_mode & 0o002 or (st.st_mode & 0o020 and not _private_group(st.st_gid, uid)):
        raise UnsafeIndexDir(
            f"index folder {index_dir} can be written by other users; run `chmod 700 {index_dir}` "
            "or set KB_INDEX_DIR to a private folder"
        )


def _private_group(gid: int, uid: int) -> bool:
    """The group has one member, this user (a "user private group", the default on many
    systems): group-writable is then no one else. OpenSSH's rule for its config files."""
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        return False
    if any(member != user for member in group.gr_mem):
        return False
    primary = [p.pw_uid for p in pwd.getpwall() if p.pw_gid == gid]
    return all(u == uid for u in primary) and bool(primary or group.gr_mem)


def _has_stamp(fd: int) -> bool:
    try:
        stamp = os.open(STAMP, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except OSError:
        return False
    try:
        return _STAMP_MARK in os.read(stamp, 512)
    except OSError:
        return False
    finally:
        os.close(stamp)


def _claim(index_dir: Path, fd: int) -> None:
    """Stamp an empty folder, or a kb index from before stamps; refuse anything else."""
    names = os.listdir(fd)
    if names and not (
        all(is_kb_name(n) for n in names) and (_has_kb_manifest(fd) or index_dir.parent == _cache_root())
    ):
        raise UnsafeIndexDir(
            f"index folder {index_dir} is not empty and is not a kb index; kb will not write or "
            "delete anything there (set KB_INDEX_DIR to a new or empty folder)"
        )
    try:
        stamp = os.open(STAMP, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                        dir_fd=fd)
    except FileExistsError:
        return  # a kb of the same moment stamped it
    except OSError as exc:
        raise UnsafeIndexDir(f"cannot write in the index folder {index_dir}: {exc.strerror}") from None
    try:
        os.write(stamp, STAMP_TEXT)
    finally:
        os.close(stamp)


def _has_kb_manifest(fd: int) -> bool:
    """A ``manifest.bin`` as kb writes it (see :func:`kb.index.manifest.save`)."""
    import marshal

    try:
        manifest = os.open(MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except OSError:
        return False
    try:
        with os.fdopen(manifest, "rb") as fh:
            data = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return False
    return isinstance(data, dict) and {"analyzer", "schema", "files"} <= data.keys()


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders made meanwhile are this user's alone (umask 077): the index
    holds the text of the notes."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
