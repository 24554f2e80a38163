"""One registry of codes: every code raised or reported is registered, none registered is unused,
severities come from the registry only, and library messages leave the flags to the CLI."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import formkit
from formkit.cli import cli
from formkit.core import codes
from formkit.core.codes import CODES, UnregisteredCodeError
from formkit.core.errors import (
    ConversionError,
    FormkitError,
    InputFileError,
    OutputError,
    Problem,
    TemplateError,
    UsageError,
    ValueProblem,
)
from formkit.core.rules import RuleProblem
from formkit.documents.lint import TemplateIssue
from formkit.ledger.check import Finding, check_ledger
from formkit.tables.reader import HeaderProblem
from tests.helpers import ROOT, SAMPLES

sys.path.insert(0, str(ROOT / "tools"))
import gen_docs

PACKAGE = ROOT / "src" / "formkit"

# Where a code is passed positionally: constructor (or helper) name → argument index.
_POSITIONAL = {"ValueProblem": 0, "RuleProblem": 0, "HeaderProblem": 0, "PackageProblem": 0, "UnsafeConstruct": 0,
               "Problem": 0, "TemplateIssue": 0, "PydanticCustomError": 0, "_fail": 0, "Finding": 5}
# Tables that map something to (code, …) tuples.
_CODE_TABLES = {"_STATEMENTS", "_BUILTIN_MESSAGES"}

PENDING: dict[str, str] = {}
"""Registered ahead of the branch that raises it. Once a code here is emitted, remove it from PENDING."""


def _strings(node: ast.AST) -> set[str]:
    """String constants an expression can evaluate to (through conditionals, dict lookups and ``or``),
    not those inside the arguments of other calls."""
    if isinstance(node, ast.Constant):
        return {node.value} if isinstance(node.value, str) else set()
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(v) for v in node.values))
    if isinstance(node, ast.Dict):
        return set().union(*(_strings(v) for v in node.values if v is not None))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return _strings(node.func.value) | set().union(*(_strings(a) for a in node.args))
    return set()


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _error_classes() -> dict[str, str]:
    """Every class in the package with a class-level ``code`` (own or inherited) → that default code."""
    own: dict[str, str] = {}
    bases: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
                for stmt in node.body:
                    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
                    value = getattr(stmt, "value", None)
                    if isinstance(target, ast.Name) and target.id == "code" and isinstance(value, ast.Constant):
                        own[node.name] = str(value.value)

    def default(name: str) -> str | None:
        if name in own:
            return own[name]
        return next((d for b in bases.get(name, []) if (d := default(b)) is not None), None)

    return {name: d for name in bases if (d := default(name)) is not None}


def emitted_codes() -> dict[str, set[str]]:
    """Every code the source raises or reports → the modules doing it, read from the syntax tree:
    ``code=`` arguments, the positional code of the problem/finding/issue constructors, assignments
    to ``code``, the class defaults of exceptions raised without a code, and the code tables."""
    defaults = _error_classes()
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "codes.py":
            continue
        where = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            strings: set[str] = set()
            if isinstance(node, ast.Call):
                name = _call_name(node)
                strings |= set().union(*(_strings(k.value) for k in node.keywords if k.arg == "code"))
                index = _POSITIONAL.get(name)
                if name == "add":  # the checker's add(row, key, code, …); the linter's add(code, what, node)
                    index = 2 if isinstance(node.func, ast.Attribute) else 0
                if index is not None and len(node.args) > index:
                    strings |= _strings(node.args[index])
                if name in defaults and not any(k.arg == "code" for k in node.keywords):
                    strings.add(defaults[name])
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "code":
                        strings |= _strings(node.value)
                    elif isinstance(target, ast.Name) and target.id in _CODE_TABLES and isinstance(node.value, ast.Dict):
                        strings |= {str(v.elts[0].value) for v in node.value.values
                                    if isinstance(v, ast.Tuple) and isinstance(v.elts[0], ast.Constant)}
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for t, v in zip(target.elts, node.value.elts, strict=False):
                            if isinstance(t, ast.Name) and t.id == "code":
                                strings |= _strings(v)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                if node.target.id in _CODE_TABLES and isinstance(node.value, ast.Dict):
                    strings |= {str(v.elts[0].value) for v in node.value.values
                                if isinstance(v, ast.Tuple) and isinstance(v.elts[0], ast.Constant)}
            elif isinstance(node, ast.ClassDef) and node.name == "FormkitError":
                strings.add(defaults["FormkitError"])  # the base's code, inherited by a caller's own subclass
            for code in strings:
                found.setdefault(code, set()).add(where)
    return found


def test_the_scanner_sees_codes_in_every_position() -> None:
    """Guard the guard: each way of passing a code is found, so an unregistered one cannot slip past."""
    found = emitted_codes()
    assert "documents/lint.py" in found["form-not-guessed"]  # code= keyword
    assert "core/validators.py" in found["id-checksum"]  # ValueProblem positional
    assert "ledger/check.py" in found["seq-gap"]  # checker.add(row, key, code, …)
    assert "tables/reader.py" in found["header-preferred"]  # HeaderProblem, inside a conditional
    assert "core/fileio.py" in found["output-no-space"]  # text, code = …, "output-no-space"
    assert "documents/engine.py" in found["unsafe-block"]  # the _STATEMENTS table
    assert "core/models.py" in found["unknown-field"]  # the _BUILTIN_MESSAGES table
    assert "documents/lint.py" in found["jinja-syntax"]  # TemplateIssue("jinja-syntax" if … else exc.code)
    assert "core/enums.py" in found["input-file"]  # InputFileError raised without a code: its class default
    assert "web/state.py" in found["zip-empty"]


def test_every_emitted_code_is_registered() -> None:
    unregistered = {code: sorted(where) for code, where in emitted_codes().items() if code not in CODES}
    assert not unregistered, f"register these in formkit/core/codes.py: {unregistered}"


def test_every_registered_code_is_emitted() -> None:
    emitted = set(emitted_codes())
    dead = set(CODES) - emitted - set(PENDING)
    assert not dead, f"registered but never raised or reported (remove them from formkit/core/codes.py): {sorted(dead)}"
    arrived = set(PENDING) & emitted
    assert not arrived, f"now emitted: remove from PENDING in tests/test_codes.py: {sorted(arrived)}"


def test_entries_are_complete_and_in_chinese() -> None:
    def chinese(text: str) -> bool:
        return any("\u4e00" <= c <= "\u9fff" for c in text)

    for info in CODES.values():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", info.code), info.code
        assert chinese(info.title) and len(info.title) <= 16, info.code
        # One sentence: what it means; what to do.
        assert chinese(info.meaning) and info.meaning.endswith("。") and info.meaning.count("。") == 1, info.code
        if info.kind == "error":
            assert info.severity == "error", info.code
        else:
            assert not info.cli_hint and not info.lint, info.code
        if info.cli_hint:
            assert chinese(info.cli_hint) and re.search(r"--[a-z]", info.cli_hint), info.code
    # The number-format disagreement the registry was made for: one code, one severity.
    assert CODES["number-format"].severity == "error" and CODES["seq-gap"].severity == "warning"
    assert CODES["header-ambiguous"].severity == "error" and CODES["header-preferred"].severity == "warning"


MAKERS: dict[str, Callable[[str], Any]] = {
    "FormkitError": lambda c: FormkitError("消息", code=c),
    "InputFileError": lambda c: InputFileError("消息", code=c),
    "OutputError": lambda c: OutputError("消息", code=c),
    "TemplateError": lambda c: TemplateError("消息", code=c),
    "ConversionError": lambda c: ConversionError("消息", code=c),
    "UsageError": lambda c: UsageError("消息", code=c),
    "ValueProblem": lambda c: ValueProblem(c, "消息"),
    "Problem": lambda c: Problem(c, "字段", "消息"),
    "RuleProblem": lambda c: RuleProblem(c, "sex", "消息"),
    "HeaderProblem": lambda c: HeaderProblem(c, "消息", "表头"),
    "TemplateIssue": lambda c: TemplateIssue(c, "消息"),
    "Finding": lambda c: Finding("a.xlsx", "台账", 5, "性别", "D5", c, "消息"),
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_constructors_refuse_unregistered_codes(kind: str) -> None:
    with pytest.raises(UnregisteredCodeError, match="no-such-code"):
        MAKERS[kind]("no-such-code")
    made = MAKERS[kind]("date-order" if kind != "TemplateIssue" else "unsafe-call")
    assert made.code in CODES


def test_severity_is_the_registrys_wherever_the_problem_is_made() -> None:
    assert Finding("a.xlsx", "台账", 5, "序号", "A5", "seq-gap", "序号不连续").severity == "warning"
    assert Finding("a.xlsx", "台账", 5, "劝返次数", "K5", "number-format", "不是整数").severity == "error"
    assert RuleProblem("age-range", "dropout_date", "消息").severity == "warning"
    assert HeaderProblem("header-unknown", "消息", "表头").severity == "info"
    assert TemplateIssue("unused-field", "消息").severity == "info"
    assert Problem("xjh-mismatch", "学生.学籍号", "消息").to_dict()["severity"] == "warning"
    assert codes.severity("compel-notice-due") == "warning"


def _renumbered(tmp_path: Path) -> Path:
    """ledger-clean.xlsx with one 序号 skipped: the checker's sequence warning."""
    wb = load_workbook(SAMPLES / "ledger-clean.xlsx")
    ws = wb.worksheets[0]
    header = next(r for r in ws.iter_rows() if any(c.value == "序号" for c in r))
    column = next(c.column for c in header if c.value == "序号")
    cells = [ws.cell(row, column) for row in range(header[0].row + 1, ws.max_row + 1)]
    numbered = [c for c in cells if isinstance(c.value, int)]
    assert len(numbered) >= 2
    numbered[1].value = numbered[0].value + 5
    out = tmp_path / "ledger.xlsx"
    wb.save(out)
    return out


def test_a_real_check_reports_severities_from_the_registry(tmp_path: Path) -> None:
    report = check_ledger([_renumbered(tmp_path), SAMPLES / "ledger-filled.xlsx"], date(2024, 5, 1))
    assert report.findings
    assert all(f.severity == CODES[f.code].severity for f in report.findings)
    gap = [f for f in report.findings if f.code == "seq-gap"]
    assert gap and all(f.severity == "warning" and f.column == "序号" for f in gap)
    assert not [f for f in report.findings if f.code == "number-format" and f.column == "序号"]


# --- library messages speak of parameters; the CLI adds its flags ---------------------------------


def _cli_flags() -> set[str]:
    flags = set()
    for _, command in [([], cli), *gen_docs._commands(cli, [])]:
        for param in command.params:
            if isinstance(param, click.Option):
                flags |= {o for o in param.opts if o.startswith("--")}
    return flags - {"--help"}


ALLOWED_FLAGS = {
    # Terminal text, printed only by the command: the report and batch summaries.
    ("ledger/check.py", "--column"),
    ("documents/batch.py", "--force"),
    # A form's description names the command that makes it.
    ("documents/forms.py", "--report"),
}


def test_library_messages_name_no_cli_flag() -> None:
    flags = _cli_flags()
    assert {"--force", "--skip-invalid", "--sheet", "--column", "--area", "--month", "--set"} <= flags
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in sorted(flags, key=len, reverse=True))
                         + r")(?![\w-])")
    named: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE))
        if where in ("cli.py", "core/codes.py") or where.startswith("web/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for flag in pattern.findall(node.value):
                    if (where, flag) not in ALLOWED_FLAGS:
                        named.append(f"{where}:{node.lineno}: {flag}")
    assert not named, "library text naming a CLI flag (say it in clerk terms; put the flag in the code's cli_hint):\n" \
        + "\n".join(named)


def test_the_cli_appends_the_registered_hint(tmp_path: Path) -> None:
    book = tmp_path / "two.xlsx"
    book.write_bytes((SAMPLES / "ledger-filled.xlsx").read_bytes())
    result = CliRunner().invoke(cli, ["batch", "return-notice", str(book), "-o", str(tmp_path / "out"), "--dry-run",
                                      "--register", str(tmp_path / "r.sqlite"), "--sheet", "没有这个表"])
    assert result.exit_code == 2, result.output
    message, hint = result.output.strip().split("错误：")[1].split("\n提示：")
    assert "没有名为“没有这个表”的工作表" in message and "--sheet" not in message
    assert hint == CODES["sheet-missing"].cli_hint
    with pytest.raises(InputFileError) as err:
        formkit.read_ledger(book, sheet="没有这个表")
    assert err.value.code == "sheet-missing" and "--" not in str(err.value)


def test_errors_without_a_hint_print_only_the_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "check", str(tmp_path / "nothing.xlsx")])
    assert result.exit_code == 2 and "提示：" not in result.output and "找不到" in result.output


def test_the_registry_is_public() -> None:
    assert formkit.CODES["invalid-roster"].cli_hint.count("--skip-invalid") == 1
    assert isinstance(formkit.CODES["seq-gap"], formkit.CodeInfo)


def test_an_invalid_roster_is_a_library_message_plus_the_cli_flag(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))[:3]
    records[1]["student"]["id_number"] = "52012120130512011X"  # wrong check digit
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    settings = {"issuer.body": "石门镇人民政府", "issuer.issue_date": "2024-04-08"}
    with pytest.raises(formkit.InvalidRosterError) as err:
        formkit.batch("return-notice", roster, tmp_path / "lib", issuer=settings, register=tmp_path / "r.sqlite",
                      jobs=1)
    assert err.value.code == "invalid-roster" and "--" not in str(err.value) and "跳过" in str(err.value)
    result = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(tmp_path / "cli"),
                                      "--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08",
                                      "--register", str(tmp_path / "r.sqlite"), "--jobs", "1"])
    assert result.exit_code == 1 and "id-checksum" not in result.output.split("提示：")[-1]
    assert result.output.rstrip().endswith("提示：" + CODES["invalid-roster"].cli_hint)
