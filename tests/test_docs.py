"""The docs cannot drift: generated references match, every command and code is documented."""

from __future__ import annotations

import sys
from pathlib import Path

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


@pytest.mark.slow
def test_library_quick_start_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/library.md runs, in order, in a folder holding the files it names."""
    import re
    import shutil

    import formkit

    (tmp_path / "ledgers").mkdir()
    shutil.copy(ROOT / "samples" / "ledger-clean.xlsx", tmp_path / "ledgers")
    (tmp_path / "县版模板").mkdir()
    shutil.copy(ROOT / "templates" / "docx" / "return-notice.docx", tmp_path / "县版模板")
    shutil.copy(ROOT / "src" / "formkit" / "data" / "enums.toml", tmp_path / "县枚举.toml")
    shutil.copy(ROOT / "samples" / "roster.xlsx", tmp_path / "名单.xlsx")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "library.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/library.md", "exec"), namespace)
    assert (tmp_path / "notice.pdf").read_bytes()[:5] == b"%PDF-"
    issuer = namespace["issuer"]
    assert isinstance(issuer, dict)
    result = formkit.batch("return-notice", "名单.xlsx", "out/", issuer=issuer, jobs=1)
    assert result.counts == {"unchanged": result.counts["unchanged"]}  # the docs' batch wrote them all


def test_batch_refuses_roster_bytes_with_a_message(tmp_path: Path) -> None:
    import formkit

    with pytest.raises(formkit.UsageError, match="保存为文件"):
        formkit.batch("return-notice", (ROOT / "samples" / "roster.xlsx").read_bytes(), tmp_path)


def test_readme_ledger_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re
    import shutil

    import formkit

    shutil.copy(ROOT / "samples" / "ledger-clean.xlsx", tmp_path / "school-a.xlsx")
    shutil.copy(ROOT / "samples" / "ledger-b.xlsx", tmp_path / "school-b.xlsx")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # generate_due's default register
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    ledger_block = next(b for b in blocks if "generate_due(" in b)
    namespace: dict[str, object] = {}
    exec(compile(ledger_block, "README.md", "exec"), namespace)
    made = namespace["made"]
    assert isinstance(made, formkit.DueGeneration) and made.results
    again = formkit.due(["school-a.xlsx", "school-b.xlsx"], formkit.parse_date("2024-05-01"),
                        register=formkit.default_register_path())
    written = sum(r.counts.get("written", 0) for r in made.results.values())
    assert written and sum(i.state == "issued" for i in again) == written  # recorded in the default register
