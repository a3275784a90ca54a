"""Opening a note in the user's editor (``kb add``, ``kb edit``, ``kb today``)."""

import os

from ..errors import EditorFailed
from .common import shown, stderr

#: How to open an editor at a line: ``+N path`` (vi and most terminal editors),
#: ``path:N`` or VS Code's ``-g path:N``; the editor is named by its command's file name.
_PLUS_LINE = frozenset("vi vim nvim gvim mvim view nano pico rnano emacs emacsclient micro kak joe jed mg "
                       "ne vis gedit mousepad pluma xed".split())
_COLON_LINE = frozenset("hx helix subl sublime_text zed".split())
_GOTO_LINE = frozenset("code code-insiders codium vscodium cursor windsurf".split())


def editor_argv(argv: list[str], path: str, line: int | None) -> list[str]:
    """The editor command for ``path``, at ``line`` when the editor is known to take one."""
    if line is None or not argv:
        return [*argv, path]
    name = os.path.basename(argv[0]).lower().removesuffix(".exe")
    if name in _PLUS_LINE:
        return [*argv, f"+{line}", path]
    if name in _COLON_LINE:
        return [*argv, f"{path}:{line}"]
    if name in _GOTO_LINE:
        return [*argv, "-g", f"{path}:{line}"]
    stderr().print(f"(kb does not know how to open {shown(name)} at a line; opening the note at its top)",
                   style="dim", soft_wrap=True)
    return [*argv, path]


def run_editor(path: str, on_failure: str = "nothing was saved", line: int | None = None) -> None:
    """Open ``path`` in $VISUAL / $EDITOR (with arguments, like ``code -w``), else vi."""
    import shlex
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError:
        raise EditorFailed(f"cannot parse the editor command {editor!r}; fix $EDITOR") from None
    if not argv:
        argv = ["vi"]
    try:
        code = subprocess.call(editor_argv(argv, path, line))
    except OSError as exc:
        raise EditorFailed(f"cannot start editor {argv[0]!r}: {exc.strerror}; set $EDITOR") from None
    if code != 0:
        raise EditorFailed(f"editor {argv[0]!r} exited with status {code}; {on_failure}")
