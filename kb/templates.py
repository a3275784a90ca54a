"""Note templates (``.kb/templates/NAME.md``) and daily notes (``kb today``).

A template is Jinja2 text, rendered in a sandbox (``SandboxedEnvironment``: no
attribute of Python's internals, no file or module access) with ``title``, ``date``
(``YYYY-MM-DD``), ``time`` (``HH:MM``), ``slug``, ``tags`` (a list), ``body`` and
each ``--field key=value`` given on the command line (also as ``fields``). The
result becomes the new note: its frontmatter, if it has one, gets ``title``,
``tags`` and ``date`` where it lacks them and the fields on top; without one,
kb writes the usual frontmatter above it. A template error is one line naming the
file and line. Jinja2 is imported here only, when a template is used.

Daily notes: ``daily/YYYY-MM-DD.md`` made from the ``daily`` template when there is
one; ``.kb/config.toml`` may say otherwise::

    [daily]
    folder = "journal"        # "" for the notebook's top folder
    format = "%Y/%m-%d"       # strftime; may hold folders
    template = "day"          # a name in .kb/templates/
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import KbError

TEMPLATES_DIR = Path(".kb") / "templates"
CONFIG = Path(".kb") / "config.toml"
DEFAULT = "default"
DAILY = "daily"


class TemplateError(KbError):
    """A template that is missing or does not render."""


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    first_line: str


def templates_dir(root: Path) -> Path:
    return root / TEMPLATES_DIR


def list_templates(root: Path) -> list[Template]:
    """The notebook's templates by name, with the first non-empty line of each."""
    folder = templates_dir(root)
    out = []
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix == ".md" and p.is_file())
    except OSError:
        return []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = (line.strip() for line in text.splitlines())
        first = next((line for line in lines if line and line != "---"), "")
        out.append(Template(path.stem, path, first[:80]))
    return out


def find_template(root: Path, name: str) -> Path | None:
    """The file of template ``name`` (``cka`` or ``cka.md``), or None."""
    name = name[:-3] if name.endswith(".md") else name
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise TemplateError(f"'{name}' is not a template name (a file name in {TEMPLATES_DIR})")
    path = templates_dir(root) / f"{name}.md"
    return path if path.is_file() else None


def parse_fields(items: list[str]) -> dict[str, str]:
    """``["course=CKA", "level=2"]`` -> ``{"course": "CKA", "level": "2"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
            raise TemplateError(f"--field takes key=value with a plain key, not {item!r}")
        out[key] = value
    return out


def render_template(path: Path, context: dict[str, Any]) -> str:
    """The template's text with the context filled in; :class:`TemplateError` in one line."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {getattr(exc, 'strerror', None) or exc}") from None
    env = SandboxedEnvironment(keep_trailing_newline=True, autoescape=False)
    try:
        code = env.compile(source, path.stem, str(path))  # the file name goes into tracebacks
        template = env.template_class.from_code(env, code, env.make_globals(None))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    try:
        return template.render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{path}:{_line_of(exc, path)}: {exc}") from None
    except Exception as exc:  # an error inside an expression: ``{{ 1 / 0 }}``
        raise TemplateError(f"{path}:{_line_of(exc, path)}: {type(exc).__name__}: {exc}") from None


def _line_of(exc: BaseException, path: Path) -> int | str:
    """The template line a render error came from (Jinja2 maps its frames to template lines)."""
    line: int | str = getattr(exc, "lineno", None) or "?"
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def note_text(
    rendered: str, title: str, tags: list[str], fields: dict[str, str], when: dt.datetime
) -> str:
    """A new note from a rendered template: its frontmatter completed, or kb's own above it."""
    import frontmatter

    from .notes import parse_tags

    date = when.strftime("%Y-%m-%d %H:%M:%S %z").strip()
    if rendered.startswith("---"):
        try:
            post = frontmatter.loads(rendered)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise TemplateError(f"the template's frontmatter does not parse: {first}") from None
        meta = post.metadata
        meta.setdefault("title", title)
        have = parse_tags(meta.get("tags") or meta.get("tag") or [])
        meta["tags"] = have + [t for t in tags if t not in have]
        meta.setdefault("date", date)
        meta.update(fields)
        body = post.content
    else:
        meta = {"title": title, "tags": list(tags), "date": date, **fields}
        body = rendered
    post = frontmatter.Post(body.rstrip("\n") + "\n" if body.strip() else "", **meta)
    return frontmatter.dumps(post, sort_keys=False, allow_unicode=True) + "\n"


def context_of(title: str, slug: str, tags: list[str], fields: dict[str, str], body: str,
               when: dt.datetime) -> dict[str, Any]:
    return {
        **fields,
        "title": title,
        "slug": slug,
        "tags": list(tags),
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H:%M"),
        "body": body,
        "fields": dict(fields),
    }


# --------------------------------------------------------------------------- daily notes


@dataclass(frozen=True)
class DailyConfig:
    folder: str = "daily"
    format: str = "%Y-%m-%d"
    template: str = DAILY


def daily_config(root: Path) -> DailyConfig:
    """``[daily]`` of ``.kb/config.toml``, else the defaults; a bad file is one-line error."""
    path = root / CONFIG
    try:
        data = path.read_bytes()
    except OSError:
        return DailyConfig()
    import tomllib

    try:
        conf = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KbError(f"{path}: {exc}") from None
    daily = conf.get("daily", {})
    if not isinstance(daily, dict):
        raise KbError(f"{path}: [daily] must be a table")
    out = DailyConfig()
    values = {}
    for key in ("folder", "format", "template"):
        value = daily.get(key, getattr(out, key))
        if not isinstance(value, str):
            raise KbError(f"{path}: daily.{key} must be a string")
        values[key] = value
    if not values["format"].strip():
        raise KbError(f"{path}: daily.format is empty")
    return DailyConfig(**values)


def daily_slug(conf: DailyConfig, day: dt.date) -> str:
    name = day.strftime(conf.format)
    return f"{conf.folder.strip('/')}/{name}" if conf.folder.strip("/") else name


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise KbError(f"--date takes a date as YYYY-MM-DD, not {text!r}") from None
