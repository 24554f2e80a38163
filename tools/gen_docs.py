"""Generate docs/cli.md, docs/template-variables.md and docs/error-codes.md from the code.

``tests/test_docs.py`` regenerates them in memory and fails if the files differ, so the
reference cannot drift from the program. Run ``python tools/gen_docs.py`` after a change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        out.append(([*prefix, name], command))
        if isinstance(command, click.Group):
            out += _commands(command, [*prefix, name])
    return out


def cli_reference() -> str:
    from formkit.cli import cli

    lines = ["# CLI reference", "", "Generated from `--help` by `tools/gen_docs.py`; do not edit by hand.", ""]
    from click.testing import CliRunner

    runner = CliRunner()
    for path, _ in [([], cli), *_commands(cli, [])]:
        full = " ".join(["formkit", *path])
        shown = runner.invoke(cli, [*path, "--help"], prog_name="formkit", terminal_width=100).output
        lines += [f"## `{full}`", "", "```text", shown.rstrip(), "```", ""]
    return "\n".join(lines)


def _model_rows(model: Any, prefix: str, depth: int = 0) -> list[str]:
    from formkit.core.models import _inner_model

    rows = []
    for name, info in model.model_fields.items():
        inner = _inner_model(info.annotation)
        is_list = getattr(info.annotation, "__origin__", None) is list
        path = f"{prefix}{name}"
        kind = "列表" if is_list else ("对象" if inner is not None else "值")
        required = "必填" if info.is_required() else ""
        rows.append(f"| `{path}{'[]' if is_list else ''}` | {info.title or ''} | {kind} | {required} |")
        if inner is not None and depth < 2:
            rows += _model_rows(inner, f"{path}{'[].' if is_list else '.'}", depth + 1)
    return rows


def template_variables() -> str:
    import formkit

    lines = ["# Template variables", "",
             "Generated from the models by `tools/gen_docs.py`. Every template also gets `form_title`, `today`",
             "and `reasons` (the 辍学原因 list); `monthly-report` also gets `totals`. Filters: `cn_date`,",
             "`cn_date_upper`, `cn_number`, `mask_id`, `checked(option)`, `blank(width)`.", ""]
    for spec in formkit.forms():
        extra = f"；另需：{'、'.join(spec.requires)}" if spec.requires else ""
        lines += [f"## `{spec.name}` — {spec.title}", "", f"模板：`templates/docx/{spec.template}`{extra}", "",
                  "| 变量 | 中文名 | 类型 | |", "| --- | --- | --- | --- |", *_model_rows(spec.model, ""), ""]
    return "\n".join(lines)


_SEVERITY = {"error": "错误", "warning": "提醒", "info": "说明"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def error_codes() -> str:
    from formkit.core.codes import CODES

    entries = list(CODES.values())
    lines = ["# 错误和检查结果代码（error codes）", "",
             "由 `tools/gen_docs.py` 从 `formkit.core.codes` 生成，请勿手改。代码是稳定的英文标识，其他程序可以依赖它；"
             "级别只在登记表中规定一次。", "",
             "## 检查结果（finding）", "",
             "台账检查（`formkit ledger check`）和记录校验报告的问题：“错误”要改正，“提醒”请逐条确认，“说明”仅供参考。", "",
             "| 代码 | 级别 | 名称 | 含义和改法 |", "| --- | --- | --- | --- |"]
    lines += [f"| `{c.code}` | {_SEVERITY[c.severity]} | {c.title} | {_cell(c.meaning)} |"
              for c in entries if c.kind == "finding"]
    lines += ["", "## 模板检查（lint）", "",
              "`formkit template check` 报告的问题；标“渲染时也会拒绝”的，用这个模板生成文书时也会报同一代码的错误。", "",
              "| 代码 | 级别 | 名称 | 含义和改法 |", "| --- | --- | --- | --- |"]
    lines += [f"| `{c.code}` | {_SEVERITY[c.severity]} | {c.title} | {_cell(c.meaning)}"
              + ("（渲染时也会拒绝）" if c.kind == "error" else "") + " |"
              for c in entries if c.kind == "lint" or c.lint]
    lines += ["", "## 错误（error）", "",
              "formkit 拒绝执行时抛出的 `FormkitError`（`error.code` 是代码）。命令行把“命令行提示”一栏接在消息后面。", "",
              "| 代码 | 名称 | 含义和改法 | 命令行提示 |", "| --- | --- | --- | --- |"]
    lines += [f"| `{c.code}` | {c.title} | {_cell(c.meaning)} | {_cell(c.cli_hint)} |"
              for c in entries if c.kind == "error"]
    return "\n".join(lines) + "\n"


GENERATED = {"cli.md": cli_reference, "template-variables.md": template_variables, "error-codes.md": error_codes}


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    for name, make in GENERATED.items():
        (DOCS / name).write_text(make(), encoding="utf-8")
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
