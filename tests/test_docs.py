"""The README is a contract: every command documented, and CI runs what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command

from kb.cli import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_there_are_commands() -> None:
    assert {"search", "show", "add", "tags", "list", "index", "info"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    cmd = get_command(app).commands[name]  # type: ignore[attr-defined]
    assert cmd.help and cmd.help.strip()
    for param in cmd.params:
        if param.name not in ("ctx",) and getattr(param, "help", None) is not None:
            assert param.help.strip(), (name, param.name)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"`kb {name}\b", README), f"`kb {name}` is not documented in README.md"


def _shell_blocks(section: str) -> list[str]:
    part = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [
        line for block in re.findall(r"```sh\n(.*?)```", part, re.S) for line in block.strip().splitlines()
    ]


def test_readme_has_two_setup_commands_and_one_test_command() -> None:
    assert _shell_blocks("Set up and run") == ["pip install -e '.[test]'", "kb search rag"]
    assert _shell_blocks("Run the tests") == ["pytest"]


def test_ci_runs_what_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    for command in _shell_blocks("Set up and run") + _shell_blocks("Run the tests"):
        assert command in lines, command
