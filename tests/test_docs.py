"""The docs cannot drift: generated references match, every command and code is documented."""

from __future__ import annotations

import ast
import sys

import click
import pytest

from formkit.cli import cli
from formkit.documents.lint import LINT_CODES
from formkit.ledger.check import FINDING_CODES
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


def _emitted_codes() -> set[str]:
    """Codes passed to ValueProblem(...), self.add(...), Finding(...), RuleProblem(...) and HeaderProblem(...)
    in the checker, rules, validators and ledger reader."""
    codes: set[str] = set()
    for module in ("ledger/check.py", "core/rules.py", "core/validators.py", "core/enums.py", "tables/reader.py"):
        tree = ast.parse((ROOT / "src" / "formkit" / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            index = {"ValueProblem": 0, "add": 2, "Finding": 5, "RuleProblem": 0, "HeaderProblem": 0}.get(name)
            if index is not None and len(node.args) > index:
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
    return codes


def test_every_emitted_code_is_documented() -> None:
    emitted = _emitted_codes()
    assert emitted == set(FINDING_CODES), emitted ^ set(FINDING_CODES)
    table = (DOCS / "finding-codes.md").read_text(encoding="utf-8")
    for code in [*FINDING_CODES, *LINT_CODES]:
        assert f"`{code}`" in table
