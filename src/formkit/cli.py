"""The ``formkit`` command line. Each command parses arguments, makes one library call
and renders the result; no business logic lives here.

It imports only names of ``formkit.__all__`` (``tests/test_architecture.py`` checks), and
the heavy ones inside the commands, so ``formkit --version`` loads no document library.
The terminal text of due lists lives here: it is presentation, the web page has its own.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from formkit import FormkitError, Problem, RecordError

if TYPE_CHECKING:
    from formkit import BatchResult, DueGeneration, DueItem

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
OVERWRITE_HINT = "确认要覆盖请加 --force。"
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}


# Sheet names, cells and file names come from untrusted workbooks; an escape sequence in one
# (a sheet named "\x1b]0;…\x07" through a character reference) would drive the clerk's terminal,
# and a bidi override would reorder what the line seems to say.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _echo(text: str, *, err: bool = False) -> None:
    """``click.echo`` with control characters and bidi overrides shown as U+FFFD."""
    click.echo(_TERMINAL_UNSAFE.sub("\ufffd", text), err=err)


def _echo_err(text: str) -> None:
    _echo(text, err=True)


def _error_text(exc: FormkitError) -> str:
    """The library's message, then the registry's command-line hint for its code (the flag to use)."""
    from formkit import CODES

    info = CODES.get(exc.code)
    hint = info.cli_hint if info is not None else ""
    return f"错误：{exc}" + (f"\n提示：{hint}" if hint else "")


def _unreadable_hints(report: Any) -> None:
    """The 提示 line of each kind of unreadable file in a report (as a raised error would get)."""
    from formkit import CODES

    for code in dict.fromkeys(f.error_code for f in report.files if f.error):
        info = CODES.get(code)
        if info is not None and info.cli_hint:
            _echo_err(f"提示：{info.cli_hint}")


def handle_errors(func: F) -> F:
    """Turn formkit errors into Chinese messages and exit codes; never show a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RecordError as exc:
            _echo_err(_error_text(exc))
            sys.exit(EXIT_FINDINGS)
        except FormkitError as exc:
            _echo_err(_error_text(exc))
            sys.exit(EXIT_UNUSABLE)
        except KeyboardInterrupt:
            _echo_err("已中断。已写完的文件保留，未写完的不会留下半个文件。")
            sys.exit(130)
        except Exception as exc:  # a bug: still no traceback for the clerk
            if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
                # A full disk or a read-only folder met outside formkit's own writers is still
                # the clerk's situation to fix, not a formkit defect.
                from formkit import output_error

                error = output_error(exc, exc.filename or "输出文件")
                _echo_err(f"错误：{error}")
                sys.exit(EXIT_UNUSABLE)
            if isinstance(exc, PermissionError):
                _echo_err(f"错误：没有权限访问 {exc.filename or '所需的文件'}。请检查文件和文件夹的权限后重试。[permission]")
                sys.exit(EXIT_UNUSABLE)
            if os.environ.get("FORMKIT_DEBUG"):
                raise
            _echo_err(
                f"内部错误（{type(exc).__name__}）：{exc}。这是 formkit 的缺陷，请把命令和输入文件报告给维护人员；"
                "设置环境变量 FORMKIT_DEBUG=1 可看到详细信息。"
            )
            sys.exit(EXIT_UNUSABLE)

    return cast(F, wrapper)


_COLUMN_HELP = ("说明某一列是哪个字段（可重复），如 --column 家长联系方式=phone；优先于自动识别和 formkit.toml 的 [columns]。"
                "字段名见 docs/header-matching.md。")


def column_option(func: F) -> F:
    """``--column 表头=字段`` (repeatable) for every command that reads a workbook or roster."""
    return click.option("--column", "column_pins", multiple=True, metavar="表头=字段", help=_COLUMN_HELP)(func)


def _pins(config: Path | None, pairs: tuple[str, ...]) -> dict[str, str]:
    from formkit import column_pins

    return column_pins(config, pairs)


def _settings(pins: dict[str, str] | None = None) -> Any:
    """The run's :class:`formkit.Settings` (built from ``FORMKIT_*`` and ``--templates-dir``), with ``pins``."""
    from formkit import Settings

    root = click.get_current_context().find_root()
    if not isinstance(root.obj, Settings):
        # The environment is read here, once per run, inside the command's error handling (an
        # unreadable FORMKIT_ENUMS is a Chinese message, not a traceback): the library only
        # ever sees the Settings passed to it.
        templates_dir = root.params.get("templates_dir")
        overrides = {"templates_dir": templates_dir} if templates_dir is not None else {}
        from formkit import InputFileError

        try:
            root.obj = Settings.from_environ(os.environ, **overrides)
        except InputFileError as exc:
            # Only FORMKIT_ENUMS is read from a file here: say where the clerk set it.
            raise InputFileError(f"环境变量 FORMKIT_ENUMS：{exc}", path=exc.path, code=exc.code) from None
        folder = root.obj.templates_dir
        if folder is not None and not folder.is_dir():
            # A mistyped county folder would otherwise print every notice from the shipped templates.
            from formkit import UsageError

            named = "--templates-dir" if templates_dir is not None else "环境变量 FORMKIT_TEMPLATES"
            raise UsageError(f"{named} 指定的模板文件夹 {folder} 不存在或不是文件夹。请改正路径（或去掉该设置，使用内置模板）。")
    return root.obj.with_columns(pins) if pins else root.obj


def _problem_lines(problems: list[Problem]) -> list[str]:
    return [
        f"  - [{p.code}] {p.field}：{p.message}" + (f"（值：{p.value}）" if p.value else "") for p in problems
    ]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "--version", "-V", prog_name="formkit", package_name="formkit",
                      message="%(prog)s %(version)s")
@click.option("--templates-dir", type=click.Path(path_type=Path, file_okay=False),
              help="自定义模板文件夹：其中与表单同名的 .docx（如 return-notice.docx）替换内置模板。也可设置环境变量 FORMKIT_TEMPLATES。")
def cli(templates_dir: Path | None) -> None:
    """formkit：控辍保学文书生成与台账检查工具。

    生成辍学报告单、返校通知书、敦返复学通知书、限期入学(复学)通知书、责任书、家访记录表，
    并检查数据是否正确。退出码：0 正常，1 数据有错，2 文件无法使用或用法错误。
    """
    # --templates-dir reaches the commands through the Settings built by _settings().


@cli.command("forms")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（供其他程序使用）。")
@handle_errors
def forms_cmd(as_json: bool) -> None:
    """列出可以生成的文书。"""
    from formkit import forms

    items = forms()
    if as_json:
        _echo(json.dumps([f.to_dict() for f in items], ensure_ascii=False, indent=2))
        return
    width = max(len(f.name) for f in items)
    for f in items:
        _echo(f"{f.name.ljust(width)}  {f.title}　—　{f.description}")


@cli.command("validate")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--form", "form_name", required=True, help="表单名称，见 formkit forms。")
@handle_errors
def validate_cmd(data: Path, form_name: str) -> None:
    """检查一条记录（JSON 文件）是否符合某个表单的要求。"""
    from formkit import read_json_record, record_warnings, validate_record

    raw = read_json_record(data)
    record = validate_record(form_name, raw, where=str(data), settings=_settings())
    warnings = record_warnings(record)
    if warnings:
        _echo("数据有效，但有需要核对的地方：")
        _echo("\n".join(_problem_lines(warnings)))
    else:
        _echo(f"{data}：数据有效，可以生成“{form_name}”。")


@cli.command("render")
@click.argument("form_name", metavar="FORM")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="输出文件（.docx；以 .pdf 结尾则生成 PDF）。")
@click.option("--pdf", "also_pdf", is_flag=True, help="同时生成同名 PDF（需要 LibreOffice）。")
@click.option("--template", type=click.Path(path_type=Path), help="使用自己修改过的 Word 模板。")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖。")
@handle_errors
def render_cmd(form_name: str, data: Path, output: Path, also_pdf: bool, template: Path | None, force: bool) -> None:
    """用一条记录（JSON）生成一份文书。"""
    from formkit import read_json_record, render_to

    written = render_to(output, form_name, read_json_record(data), pdf=also_pdf, template=template,
                        overwrite=force, where=str(data), settings=_settings())
    _echo(f"已生成：{written}")
    if also_pdf and written.suffix.lower() != ".pdf":
        _echo(f"已生成：{written.with_suffix('.pdf')}")


@cli.command("batch")
@click.argument("form_name", metavar="FORM")
@click.argument("roster", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="输出文件夹。")
@click.option("--set", "sets", multiple=True, metavar="键=值",
              help="发文信息，如 --set body=石门镇人民政府 --set issue_date=2024-04-08 --set number_prefix=石镇教复。")
@click.option("--config", type=click.Path(path_type=Path),
              help="TOML 配置文件（[issuer] 表中写发文信息）；不指定时自动使用名单所在文件夹或当前文件夹中的 formkit.toml。")
@click.option("--pdf", is_flag=True, help="同时转换为 PDF（需要 LibreOffice）。")
@click.option("--merge", is_flag=True, help="合并成一个文件打印：有 --pdf 时为带书签的 merged.pdf，否则为 merged.docx。")
@click.option("--jobs", type=click.IntRange(1, 64), help="并行进程数（默认 CPU 核数）。")
@click.option("--skip-invalid", is_flag=True, help="跳过有错误的行，其余照常生成（跳过的行记入清单）。")
@click.option("--force", is_flag=True, help="覆盖已存在且被修改过的文件。")
@click.option("--dry-run", is_flag=True, help="只检查数据、列出将生成的文件和文号，不写任何文件。")
@click.option("--register", type=click.Path(path_type=Path), help="文号登记簿（SQLite）位置。")
@click.option("--template", type=click.Path(path_type=Path), help="使用自己修改过的 Word 模板。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果。")
@click.option("--sheet", help="只用名单工作簿中的这一个工作表（默认读取全部台账工作表，如一个学校一个工作表）。")
@column_option
@handle_errors
def batch_cmd(form_name: str, roster: Path, out_dir: Path, sets: tuple[str, ...], config: Path | None, pdf: bool,
              merge: bool, jobs: int | None, skip_invalid: bool, force: bool, dry_run: bool, register: Path | None,
              template: Path | None, as_json: bool, sheet: str | None, column_pins: tuple[str, ...]) -> None:
    """按名单批量生成文书：每名学生一份，另可生成 PDF 和合并打印文件。

    \b
    退出码：0 完成（保留了被手工修改的文件也是 0，会在输出中列出）；
    1 名单中有数据错误的行（未生成任何文书，或加 --skip-invalid 时跳过了这些行）；
    2 文件无法使用、输出文件夹无法写入或正被另一个批量任务使用、用法错误。
    """
    from formkit import batch, find_config, load_settings

    config = config or find_config(roster)
    if config is not None and not as_json:
        _echo_err(f"使用配置文件：{config}")
    settings = load_settings(config, sets)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="生成中", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)  # progress comes per chunk of documents

    show = progress if sys.stderr.isatty() and not as_json else None
    pins = _pins(config, column_pins)
    try:
        result = batch(form_name, roster, out_dir, issuer=settings, pdf=pdf, merge=merge, jobs=jobs,
                       skip_invalid=skip_invalid, overwrite=force, dry_run=dry_run, register=register,
                       template=template, progress=show, sheet=sheet, columns=pins,
                       settings=_settings())
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    _echo(result.to_json() if as_json else _batch_text(result))
    # A kept hand-edited file is reported, not an error: 1 means rows with data errors.
    sys.exit(EXIT_FINDINGS if result.invalid else EXIT_OK)


@cli.group("ledger")
def ledger_group() -> None:
    """辍学生台账：新建、检查、列出待办文书、汇总上报。"""


@ledger_group.command("new")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="新台账文件（.xlsx）。")
@click.option("--roster", type=click.Path(path_type=Path), help="用学生名单（.xlsx/.csv/.json）预先填好各行。")
@click.option("--school", help="填报学校。")
@click.option("--county", help="县(市、区)。")
@click.option("--township", help="乡镇(街道)。")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖。")
@column_option
@handle_errors
def ledger_new_cmd(output: Path, roster: Path | None, school: str | None, county: str | None,
                   township: str | None, force: bool, column_pins: tuple[str, ...]) -> None:
    """新建一份辍学生台账（含下拉列表、文本格式的身份证号列和填表说明）。"""
    from formkit import find_config, new_ledger

    pins = _pins(find_config(roster) if roster is not None else None, column_pins)
    made = new_ledger(output, roster=roster, school=school, county=county, township=township, overwrite=force,
                      columns=pins, settings=_settings())
    _echo(f"已生成台账：{made.path}" + (f"（已预填 {made.rows} 行）" if made.rows else ""))


@ledger_group.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出检查结果。")
@click.option("--annotate", "annotate_dir", type=click.Path(path_type=Path),
              help="把标注了问题的副本（*.checked.xlsx）写到这个文件夹；原文件不会被修改。")
@click.option("--as-of", "as_of", help="按这个日期判断“晚于今天”和“应下达”（默认今天），如 2024-05-01。")
@click.option("--sheet", help="只检查这个工作表（默认检查所有台账工作表）。")
@click.option("--force", is_flag=True, help="标注副本已存在且被修改过时仍然覆盖。")
@column_option
@handle_errors
def ledger_check_cmd(paths: tuple[Path, ...], as_json: bool, annotate_dir: Path | None, as_of: str | None,
                     sheet: str | None, force: bool, column_pins: tuple[str, ...]) -> None:
    """检查填好的台账（文件或文件夹），列出每个问题所在的行、单元格和改法。

    工作簿中每个有台账表头的工作表都会检查；填表说明、空白表等会列出并说明为何未读取。
    列名的识别规则和县里自定义列名的方法（formkit.toml 的 [columns]、--column）见 docs/header-matching.md。
    """
    from formkit import annotate, check_ledger, find_config, format_report

    pins = _pins(find_config(paths[0]), column_pins)
    report = check_ledger(list(paths), _as_of(as_of), sheet=sheet, columns=pins, settings=_settings())
    _echo(report.to_json() if as_json else format_report(report))
    if not as_json:
        _unreadable_hints(report)
    if annotate_dir is not None:
        for written in annotate(report, annotate_dir, overwrite=force):
            _echo_err(f"已写出标注副本：{written}")
    sys.exit(EXIT_UNUSABLE if not report.readable else EXIT_FINDINGS if not report.valid else EXIT_OK)


@ledger_group.command("due")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", help="按这个日期计算（默认今天），如 2024-05-01。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出待办清单。")
@click.option("--generate", "out_dir", type=click.Path(path_type=Path), help="把待办文书生成到这个文件夹（按表单分子文件夹）。")
@click.option("--set", "sets", multiple=True, metavar="键=值", help="发文信息，同 formkit batch。")
@click.option("--config", type=click.Path(path_type=Path), help="TOML 配置文件；默认使用台账旁边的 formkit.toml。")
@click.option("--pdf", is_flag=True, help="同时生成 PDF。")
@click.option("--merge", is_flag=True, help="每种文书合并成一个打印文件。")
@click.option("--register", type=click.Path(path_type=Path), help="文号登记簿（SQLite）位置。")
@click.option("--deadline-days", type=click.IntRange(1, 365), default=7, show_default=True,
              help="敦返通知书下达后的复学期限（天），过期未返校即列为需上报。")
@click.option("--template", "templates", multiple=True, metavar="表单=模板.docx",
              help="某种文书改用自己的模板，如 --template compel-notice=县版敦返通知书.docx。")
@click.option("--force", is_flag=True, help="生成时覆盖已存在且被手工修改过的文书。")
@column_option
@handle_errors
def ledger_due_cmd(paths: tuple[Path, ...], as_of: str | None, as_json: bool, out_dir: Path | None,
                   sets: tuple[str, ...], config: Path | None, pdf: bool, merge: bool, register: Path | None,
                   deadline_days: int, templates: tuple[str, ...], force: bool, column_pins: tuple[str, ...]) -> None:
    """列出每个未结案例下一步应办的文书（报告单、返校通知书、限期入学通知书、敦返通知书）和逾期需上报的情况。

    \b
    退出码：0 已列出（有无待办都是 0，待办不算错误）；
    1 台账有数据错误（有错误的行可能未列出或判断不准，请用 ledger check 查看），
      或 --generate 时有文书因该行数据有误未生成；
    2 文件无法使用或用法错误。
    """
    from datetime import date

    from formkit import (
        check_ledger,
        default_register_path,
        due,
        find_config,
        generate_due,
        load_settings,
        parse_templates,
    )

    chosen = parse_templates(templates)
    when = _as_of(as_of) or date.today()
    config = config or find_config(paths[0])
    settings = load_settings(config, sets)
    report = check_ledger(list(paths), when, columns=_pins(config, column_pins), settings=_settings())
    # The register generate writes to is the one that says what was already issued.
    items = due(report, when, deadline_days=deadline_days, register=register or default_register_path(),
                report_to=settings.get("issuer.report_to"))
    if as_json:
        _echo(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
    elif items or report.readable:  # "nothing due" would be false comfort when a ledger could not be read
        _echo(format_due(items, when))
    skipped = False
    if out_dir is not None:
        made = generate_due(items, out_dir, issuer=settings, as_of=when, pdf=pdf, merge=merge, register=register,
                            templates=chosen, overwrite=force, settings=_settings())
        for form, result in made.results.items():
            # The batch's own "第N行" is ambiguous across files and sheets: failures are listed below by place.
            _echo_err(f"{form}：\n{_batch_text(dataclasses.replace(result, invalid=[]))}")
        skipped = not made.complete
        if made.failures:
            _echo_err("以下文书因台账该行数据有误未生成，请改正后重新运行：\n" + format_failures(made))
    for summary in report.files:
        if summary.error:
            _echo_err(f"错误：无法读取 {summary.path}：{summary.error}")
    _unreadable_hints(report)
    errors = report.counts["error"]
    if errors and not as_json:
        _echo_err(f"注意：台账中有 {errors} 个错误（用 formkit ledger check 查看），有错误的行可能未列出或判断不准确。")
    # Listing what is due is the command's job, not a finding: 1 only for data errors.
    sys.exit(EXIT_UNUSABLE if not report.readable else EXIT_FINDINGS if errors or skipped else EXIT_OK)


@ledger_group.command("summary")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="汇总表（.xlsx）。")
@click.option("--month", help="月报的月份，如 2024-04（默认：台账中最近的月份）。")
@click.option("--report", "report_path", type=click.Path(path_type=Path), help="同时生成 Word 月报（.docx 或 .pdf）。")
@click.option("--area", help="月报的填报单位（乡镇或县）。默认由台账决定：同属一个乡镇取该乡镇，多个乡镇取所属的县；无法确定时须指定。")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖。")
@column_option
@handle_errors
def ledger_summary_cmd(paths: tuple[Path, ...], output: Path, month: str | None, report_path: Path | None,
                       area: str | None, force: bool, column_pins: tuple[str, ...]) -> None:
    """把多份台账汇总成一个工作簿：按学校、年级、原因、类别统计，月报，未返校明细和图表。

    \b
    退出码：0 已生成；2 有台账无法读取（汇总表照常生成，但不含这些台账，须改正后重新汇总）、
    输出文件已存在或用法错误。
    """
    from formkit import find_config, summary

    figures = summary(list(paths), output, month, report_area=area, report=report_path, overwrite=force,
                      columns=_pins(find_config(paths[0]), column_pins), settings=_settings())
    totals = figures.totals()
    if report_path is not None:
        _echo(f"已生成月报：{report_path}")
    for path, count in figures.files_with_errors:
        _echo_err(f"注意：{path} 有 {count} 个错误，汇总数可能不准确。")
    for path in figures.skipped:
        _echo_err(f"说明：{path} 没有“劝返状态”列，是学生名单而不是台账，未计入汇总。")
    _echo(f"已生成汇总表：{output}（{totals['cases']} 个案例，已复学 {totals['returned']}，仍未返校 {totals['out']}）")
    for path, reason in figures.unreadable:
        _echo_err(f"错误：无法读取 {path}，未计入汇总：{reason}")
    # A summary silently missing a township's ledger is worse than none: unusable input is exit 2.
    sys.exit(EXIT_UNUSABLE if figures.unreadable else EXIT_OK)


@cli.group("template")
def template_group() -> None:
    """Word 模板：检查修改过的模板。"""


@template_group.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--form", "form_name", help="模板对应的表单（默认按文件名判断）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@handle_errors
def template_check_cmd(path: Path, form_name: str | None, as_json: bool) -> None:
    """检查模板：未知变量（并提示最接近的字段）、语法错误、被 Word 拆开的标签、未用到的字段。"""
    from formkit import check_template, format_template_report

    report = check_template(path, form_name)
    _echo(report.to_json() if as_json else format_template_report(report))
    sys.exit(EXIT_OK if report.valid else EXIT_FINDINGS)


@cli.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="端口。")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址。默认只有本机能打开；填其他地址时必须同时设置 --password。")
@click.option("--password", help="访问密码（浏览器会弹出登录框，用户名随意）。--host 不是本机时必填。")
@click.option("--open", "open_browser", is_flag=True, help="启动后自动用浏览器打开页面。")
@click.option("--idle-minutes", type=click.IntRange(1, 24 * 60), default=60, show_default=True,
              help="多少分钟无操作后删除该浏览器上传和生成的临时文件。")
@handle_errors
def serve_cmd(port: int, host: str, password: str | None, open_browser: bool, idle_minutes: int) -> None:
    """在浏览器里操作：启动本机网页（生成文书、检查台账、待办、汇总、模板），按 Ctrl+C 结束。"""
    from formkit import serve

    serve(host, port, open_browser=open_browser, password=password, idle_minutes=idle_minutes, settings=_settings())


def _as_of(text: str | None) -> Any:
    if text is None:
        return None
    from formkit import UsageError, ValueProblem, parse_date

    try:
        return parse_date(text)
    except ValueProblem as exc:
        raise UsageError(f"--as-of：{exc}") from None


def _batch_text(result: BatchResult) -> str:
    from formkit import format_batch

    text = format_batch(result)
    if any(item.status == "kept-edited" for item in result.items):
        text += "\n  " + OVERWRITE_HINT
    return text


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def format_due(items: list[DueItem], as_of: date) -> str:
    """Chinese table of due, refused and already issued items for the terminal."""
    todo = [i for i in items if i.state == "due"]
    refused = [i for i in items if i.state == "refused"]
    done = [i for i in items if i.state == "issued"]
    lines = [f"截至{_day(as_of)}，共 {len(todo)} 项需要办理：" if todo else f"截至{_day(as_of)}，没有需要补办的文书。"]
    for i in todo:
        lines.append(f"  [{i.title}] {_who(i)}：自{_day(i.due_since)}起应办（已逾期{i.overdue_days}天）。{i.reason}")
    if refused:
        lines.append(f"{len(refused)} 个案例台账信息矛盾或不全，未安排文书：")
        lines += [f"  [无法判断] {_who(i)}：{i.reason}" for i in refused]
    if done:
        lines.append(f"{len(done)} 份文书已下达（登记簿有记录），不再重复办理：")
        lines += [f"  [{i.title}] {_who(i)}：{i.doc_number or '无文号'}，{_day(i.issued_on or i.due_since)}下达。"
                  for i in done]
    return "\n".join(lines)


def format_failures(made: DueGeneration) -> str:
    """Chinese lines naming file, sheet, row and student for every due document not generated."""
    lines = []
    for failure in made.failures:
        item, p = failure.item, failure.problem
        shown = f"（值：{p.value}）" if p.value else ""
        lines.append(f"  未生成{item.title}：{item.school} {item.name}（{_where(item)}）："
                     f"{failure.column or p.field}：{p.message}{shown} [{p.code}]")
    return "\n".join(lines)


def _who(i: DueItem) -> str:
    return f"{i.school} {i.name}（{i.id_masked or '无身份证号'}，{_where(i)}）"


def _where(i: DueItem) -> str:
    # A county workbook holds one sheet per school: a row number alone names two students.
    sheet = f"工作表“{i.sheet}”" if i.sheet else ""
    return f"{Path(i.file).name} {sheet}第{i.row}行"


# click's own messages for a mistyped command line, in the clerk's language (the rest of the
# message, e.g. a file name, is kept as typed).
_CLICK_MESSAGES = (
    (re.compile(r"Got unexpected extra arguments? \((.*)\)"), "多余的参数：{0}"),
    (re.compile(r"No such command '(.*)'\."), "没有“{0}”这个命令"),
    (re.compile(r"(?:Path|File|Directory) '(.*)' does not exist\."), "{0} 不存在"),
    (re.compile(r"(?:Path|File) '(.*)' is a directory\."), "{0} 是文件夹，这里要的是文件"),
    (re.compile(r"Directory '(.*)' is a file\."), "{0} 是文件，这里要的是文件夹"),
    (re.compile(r"'(.*)' is not one of (.*)\."), "“{0}”不是可选的值（可选：{1}）"),
    (re.compile(r"'(.*)' is not a valid integer(?: range)?\."), "“{0}”不是整数"),
    (re.compile(r"'(.*)' is not a valid float(?: range)?\."), "“{0}”不是数字"),
    (re.compile(r"'(.*)' is not a valid boolean\."), "“{0}”不是 是/否 值"),
    (re.compile(r"Option '(.*)' requires an argument\."), "选项 {0} 后面要跟一个值"),
    (re.compile(r"Option '(.*)' requires (\d+) arguments\."), "选项 {0} 后面要跟 {1} 个值"),
)


def _click_detail(message: str) -> str:
    for pattern, chinese in _CLICK_MESSAGES:
        found = pattern.fullmatch(message.strip())
        if found:
            return chinese.format(*found.groups())
    return message


def _usage_text(exc: click.UsageError) -> str:
    """A mistyped command line (click's ``UsageError``) as a Chinese message; the exit code stays 2."""
    from click import exceptions as ce

    if isinstance(exc, ce.MissingParameter) and exc.param is not None:
        option = exc.param.param_type_name == "option" and exc.param.opts
        what = f"缺少选项 {exc.param.opts[0]}" if option else f"缺少参数 {exc.param.human_readable_name}"
    elif isinstance(exc, ce.NoSuchOption):
        what = f"没有 {exc.option_name} 这个选项"
        if exc.possibilities:
            what += f"（是否想用：{'、'.join(sorted(exc.possibilities))}）"
    elif isinstance(exc, ce.BadParameter):
        param = exc.param
        name = ((param.opts[0] if param.param_type_name == "option" and param.opts else param.human_readable_name)
                if param is not None else str(exc.param_hint or ""))
        what = f"{name} 的值不对：{_click_detail(exc.message)}" if name else _click_detail(exc.message)
    else:
        what = _click_detail(exc.message)
    usage = exc.ctx.get_usage().replace("Usage:", "用法：") if exc.ctx is not None else ""
    command = exc.ctx.command_path if exc.ctx is not None else "formkit"
    return f"{usage}\n错误：{what}。\n提示：运行 {command} --help 查看用法。".lstrip()


def main() -> None:
    """Console-script entry point."""
    try:
        code = cli.main(prog_name="formkit", standalone_mode=False)
    except click.UsageError as exc:
        _echo_err(_usage_text(exc))
        sys.exit(EXIT_UNUSABLE)
    except click.Abort:
        _echo_err("已中断。")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
