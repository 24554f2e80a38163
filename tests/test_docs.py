"""The docs cannot drift: generated references match, every command and code is documented."""

from __future__ import annotations

import sys

import click
import pytest

from formkit.cli import cli
from formkit.core.codes import CODES
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import gen_docs

DOCS = ROOT / "docs"


@pytest.mark.parametrize("name", sorted(gen_docs.GENERATED))
def test_generated_docs_are_current(name: str) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == gen_docs.GENERATED[name](), (
        f"docs/{name} is stale: run python tools/gen_docs.py")


def all_commands() -> list[tuple[str, click.Command]]:
    return [(" ".join(["formkit", *path]), c) for path, c in gen_docs._commands(cli, [])]


def test_every_command_has_chinese_help_and_is_documented() -> None:
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    guide = (DOCS / "guide-zh.md").read_text(encoding="utf-8") + (ROOT / "README.md").read_text(encoding="utf-8")
    for name, command in all_commands():
        assert command.help and any("\u4e00" <= c <= "\u9fff" for c in command.help), name
        assert f"## `{name}`" in reference
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"
        if not isinstance(command, click.Group):
            assert name.removeprefix("formkit ") in guide or name in guide, f"{name} missing from guide/README"


def test_every_registered_code_is_documented() -> None:
    """Raised or reported codes are registered (tests/test_codes.py); each registered one is in the reference."""
    table = (DOCS / "error-codes.md").read_text(encoding="utf-8")
    for info in CODES.values():
        assert f"| `{info.code}` | " in table, info.code
        if info.cli_hint:
            assert info.cli_hint in table, info.code
    assert not (DOCS / "finding-codes.md").exists(), "docs/error-codes.md replaced docs/finding-codes.md"
