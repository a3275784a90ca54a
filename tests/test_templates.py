"""Templates (`kb add --template`, `default.md`, `kb templates`) and daily notes (`kb today`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import frontmatter
import pytest
from typer.testing import CliRunner

from kb.cli import app

CKA = """---
course: CKA
tags: [cka]
---
# {{ title }}

날짜: {{ date }} · slug: {{ slug }} · level: {{ level }}

## 핵심 개념

## 명령어
"""


def run(*args: str, input: str | None = ""):
    return CliRunner().invoke(app, list(args), input=input)


@pytest.fixture
def tpl(notebook_dir: Path) -> Path:
    folder = notebook_dir / ".kb" / "templates"
    folder.mkdir(parents=True)
    (folder / "cka.md").write_text(CKA, encoding="utf-8")
    return folder


def test_add_from_a_template(notebook_dir: Path, tpl: Path) -> None:
    r = run("add", "RBAC 정리", "--template", "cka", "--tag", "k8s", "--field", "level=2")
    assert r.exit_code == 0, r.stderr
    post = frontmatter.load(notebook_dir / "rbac-정리.md")
    today = dt.date.today().isoformat()
    assert post["title"] == "RBAC 정리" and post["course"] == "CKA" and post["level"] == "2"
    assert post["tags"] == ["cka", "k8s"]
    assert str(post["date"]).startswith(today)
    assert (
        post.content
        == f"# RBAC 정리\n\n날짜: {today} · slug: rbac-정리 · level: 2\n\n## 핵심 개념\n\n## 명령어"
    )
    found = run("search", "핵심", "--json")
    assert "rbac-정리" in [h["slug"] for h in json.loads(found.stdout)]


def test_default_template_for_plain_add(notebook_dir: Path, tpl: Path) -> None:
    (tpl / "default.md").write_text("# {{ title }}\n\n{{ body }}\n\n## 참고\n", encoding="utf-8")
    r = run("add", "새 노트", "--body", "본문입니다")
    assert r.exit_code == 0, r.stderr
    post = frontmatter.load(notebook_dir / "새-노트.md")
    assert post.content == "# 새 노트\n\n본문입니다\n\n## 참고"


def test_plain_add_without_templates_is_unchanged(notebook_dir: Path) -> None:
    r = run("add", "그냥 노트", "--body", "text")
    assert r.exit_code == 0
    post = frontmatter.load(notebook_dir / "그냥-노트.md")
    assert post.content == "text" and post["title"] == "그냥 노트"


@pytest.mark.parametrize(
    "source, expect",
    [
        ("ok\n{{ title }\n", "broken.md:2: unexpected '}'"),
        ("a\nb\n{{ ''.__class__.__mro__ }}\n", "broken.md:3: access to attribute '__class__'"),
        ("{% for x in range(3) %}\n{{ 1 / 0 }}\n{% endfor %}\n", "broken.md:2: ZeroDivisionError"),
    ],
)
def test_template_errors_are_one_line_with_file_and_line(
    notebook_dir: Path, tpl: Path, source: str, expect: str
) -> None:
    (tpl / "broken.md").write_text(source, encoding="utf-8")
    before = sorted(p.name for p in notebook_dir.rglob("*.md"))
    r = run("add", "x", "--template", "broken")
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and expect in r.stderr, r.stderr
    assert sorted(p.name for p in notebook_dir.rglob("*.md")) == before  # nothing written


def test_unknown_template_and_bad_field(notebook_dir: Path, tpl: Path) -> None:
    r = run("add", "x", "--template", "nope")
    assert r.exit_code == 1 and "no template 'nope'" in r.stderr
    r = run("add", "x", "--template", "../../etc/passwd")
    assert r.exit_code == 1 and "not a template name" in r.stderr
    r = run("add", "x", "--template", "cka", "--field", "no equals")
    assert r.exit_code == 1 and "key=value" in r.stderr


def test_add_from_a_template_never_overwrites(notebook_dir: Path, tpl: Path) -> None:
    assert run("add", "Twice", "--template", "cka", "--field", "level=1").exit_code == 0
    before = (notebook_dir / "twice.md").read_bytes()
    r = run("add", "Twice", "--template", "cka", "--field", "level=2")
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert (notebook_dir / "twice.md").read_bytes() == before


def test_templates_lists_them(notebook_dir: Path, tpl: Path) -> None:
    (tpl / "daily.md").write_text("# {{ date }}\n", encoding="utf-8")
    r = run("templates")
    assert r.exit_code == 0
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["cka", "daily"]
    data = json.loads(run("templates", "--json").stdout)
    assert [t["name"] for t in data] == ["cka", "daily"]


def test_today_creates_from_the_daily_template_once(notebook_dir: Path, tpl: Path) -> None:
    (tpl / "daily.md").write_text("# {{ date }} 일지\n\n## 한 일\n", encoding="utf-8")
    today = dt.date.today()
    r = run("today", "--no-edit")
    assert r.exit_code == 0, r.stderr
    path = notebook_dir / "daily" / f"{today.isoformat()}.md"
    assert r.stdout.strip() == str(path)
    assert frontmatter.load(path).content == f"# {today.isoformat()} 일지\n\n## 한 일"
    path.write_text("my own words\n", encoding="utf-8")
    assert run("today", "--no-edit").exit_code == 0
    assert path.read_text(encoding="utf-8") == "my own words\n"  # opened, never rewritten
    r = run("today", "--yesterday", "--no-edit")
    assert Path(r.stdout.strip()).name == f"{(today - dt.timedelta(days=1)).isoformat()}.md"
    r = run("today", "--date", "2024-02-29", "--no-edit")
    assert r.stdout.strip() == str(notebook_dir / "daily" / "2024-02-29.md")
    assert run("today", "--date", "2024-02-30").exit_code == 1


def test_today_without_a_template_and_with_a_config(notebook_dir: Path) -> None:
    (notebook_dir / ".kb").mkdir()
    (notebook_dir / ".kb" / "config.toml").write_text(
        '[daily]\nfolder = "journal"\nformat = "%Y/%m-%d"\n', encoding="utf-8"
    )
    r = run("today", "--date", "2025-03-04", "--no-edit")
    assert r.exit_code == 0, r.stderr
    path = notebook_dir / "journal" / "2025" / "03-04.md"
    assert r.stdout.strip() == str(path)
    assert frontmatter.load(path)["title"] == "2025-03-04"
    (notebook_dir / ".kb" / "config.toml").write_text("[daily\n", encoding="utf-8")
    r = run("today", "--no-edit")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "config.toml" in r.stderr


def test_today_opens_the_editor(notebook_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "ed"
    script.write_text('#!/bin/sh\necho "edited" >> "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    assert run("today").exit_code == 0
    path = notebook_dir / "daily" / f"{dt.date.today().isoformat()}.md"
    assert path.read_text(encoding="utf-8").endswith("edited\n")
