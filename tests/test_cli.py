from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import formkit
from formkit.cli import cli
from formkit.documents.engine import docx_text
from tests.helpers import SAMPLES, sample


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and "formkit" in result.output
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0 and "控辍保学" in result.output


def test_every_command_has_chinese_help(runner: CliRunner) -> None:
    for name, command in cli.commands.items():
        assert command.help and any("\u4e00" <= c <= "\u9fff" for c in command.help), name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0


def test_forms_lists_registry(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["forms"])
    assert result.exit_code == 0
    for form in formkit.forms():
        assert form.name in result.output and form.title in result.output
    result = runner.invoke(cli, ["forms", "--json"])
    assert json.loads(result.output) == [f.to_dict() for f in formkit.forms()]


def test_validate_ok(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(SAMPLES / "return-notice.json"), "--form", "return-notice"])
    assert result.exit_code == 0, result.output
    assert "有效" in result.output


def test_validate_bad_check_digit_exits_1_with_masked_value(runner: CliRunner, tmp_path: Path) -> None:
    data = sample("return-notice")
    idn = data["student"]["id_number"]
    bad = idn[:17] + ("1" if idn[17] != "1" else "2")
    data["student"]["id_number"] = bad
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(path), "--form", "return-notice"])
    assert result.exit_code == 1
    assert "身份证号" in result.output and bad[:4] + "*" * 10 + bad[-4:] in result.output
    assert bad not in result.output
    assert "Traceback" not in result.output and str(path) in result.output


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "找不到文件"), ("{not json", "不是有效的 JSON"), ("[1, 2]", "一条记录"), (b"\xff\xfe\x00bad", "无法读取")],
)
def test_validate_unusable_input_exits_2_without_traceback(
    runner: CliRunner, tmp_path: Path, content: str | bytes | None, needle: str
) -> None:
    path = tmp_path / "input.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(path), "--form", "return-notice"])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_form_and_bad_usage_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(SAMPLES / "return-notice.json"), "--form", "nope"])
    assert result.exit_code == 2 and "没有名为" in result.output
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 2


def test_render_docx_and_refuse_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "notice.docx"
    args = ["render", "return-notice", str(SAMPLES / "return-notice.json"), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "王小明" in docx_text(out.read_bytes())
    out.write_bytes(b"clerk edited this")
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_bytes() == b"clerk edited this"
    assert runner.invoke(cli, [*args, "--force"]).exit_code == 0
    assert "王小明" in docx_text(out.read_bytes())


def test_render_invalid_record_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    data = sample("compel-notice")
    data["case"]["attempts"] = []
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(cli, ["render", "compel-notice", str(path), "-o", str(tmp_path / "c.docx")])
    assert result.exit_code == 1 and "劝返" in result.output
    assert not (tmp_path / "c.docx").exists()


def test_render_missing_soffice_gives_install_hint(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMKIT_SOFFICE", str(tmp_path / "no-soffice"))
    result = runner.invoke(
        cli, ["render", "return-notice", str(SAMPLES / "return-notice.json"), "-o", str(tmp_path / "n.pdf")]
    )
    assert result.exit_code == 2
    assert "libreoffice-writer-nogui" in result.output and "Traceback" not in result.output


def test_os_write_failures_are_the_clerks_to_fix_not_internal_errors(capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from formkit.cli import handle_errors

    @handle_errors
    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "out/x.docx")

    @handle_errors
    def defect() -> None:
        raise KeyError("bug")

    with pytest.raises(SystemExit) as stopped:
        full_disk()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "磁盘空间不足" in err and "out/x.docx" in err and "内部错误" not in err
    @handle_errors
    def denied() -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/share/台账.xlsx")

    with pytest.raises(SystemExit) as refused:
        denied()
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "没有权限" in err and "内部错误" not in err
    with pytest.raises(SystemExit) as crashed:
        defect()
    assert crashed.value.code == 2 and "内部错误" in capsys.readouterr().err  # kept for real defects


def test_force_hint_comes_once_from_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    args = ["ledger", "new", "-o", str(out), "--roster", str(SAMPLES / "roster.xlsx")]
    made = runner.invoke(cli, args)
    assert made.exit_code == 0 and f"已预填 {len(formkit.read_ledger(out).rows)} 行" in made.output
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 2 and "目标文件已存在" in refused.output
    assert refused.output.count("--force") == 1 and refused.output.rstrip().endswith("确认要覆盖请加 --force。")
    assert runner.invoke(cli, [*args, "--force"]).exit_code == 0


def test_summary_refuses_an_existing_report_before_writing_the_workbook(runner: CliRunner, tmp_path: Path) -> None:
    out, report = tmp_path / "汇总.xlsx", tmp_path / "月报.docx"
    report.write_bytes(b"signed last month")
    args = ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"), str(SAMPLES / "ledger-b.xlsx"), "-o", str(out),
            "--report", str(report), "--month", "2024-04"]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 2 and str(report) in refused.output and "--force" in refused.output
    assert not out.exists() and report.read_bytes() == b"signed last month"
    forced = runner.invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "已生成月报" in forced.output and "青山县" in docx_text(report.read_bytes())


def test_due_template_pairs_are_checked_before_the_ledger_is_read(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["ledger", "due", str(tmp_path / "missing.xlsx"), "--generate", str(tmp_path / "o"),
                                 "--template", "compel-notice"])
    assert result.exit_code == 2 and "表单=模板.docx" in result.output and "missing.xlsx" not in result.output


def test_summary_names_an_unreadable_ledger_and_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    """A township's ledger that cannot be read must not vanish from the county's figures unnoticed."""
    broken = tmp_path / "红岩小学.xlsx"
    broken.write_bytes(b"not a workbook")
    out = tmp_path / "汇总.xlsx"
    result = runner.invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"), str(broken), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "红岩小学.xlsx" in result.output and "未计入汇总" in result.output
    figures = formkit.summary([SAMPLES / "ledger-clean.xlsx", broken], tmp_path / "again.xlsx")
    assert [path for path, _ in figures.unreadable] == [str(broken)]
    assert figures.to_dict()["unreadable"][0]["path"] == str(broken)
    with pytest.raises(formkit.UsageError):  # the summary workbook was still written, and is recognised as one
        formkit.check_ledger([out])


def test_no_header_hint_names_only_flags_the_command_has(runner: CliRunner, tmp_path: Path) -> None:
    """`ledger new` has no --sheet: its 提示 line must not send the clerk to a flag that does not exist."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["甲", "乙", "丙"])
    book.active.append([1, 2, 3])
    roster = tmp_path / "名单.xlsx"
    book.save(roster)
    result = runner.invoke(cli, ["ledger", "new", "-o", str(tmp_path / "新台账.xlsx"), "--roster", str(roster)])
    assert result.exit_code == 2
    hint = next(line for line in result.output.splitlines() if line.startswith("提示："))
    assert "--column" in hint and "--column" in runner.invoke(cli, ["ledger", "new", "--help"]).output
    # --sheet exists only on batch and ledger check: the hint may name it only for those commands.
    assert "--sheet" not in hint or ("formkit batch" in hint and "ledger check" in hint), hint


def test_an_unreadable_ledger_gets_the_same_hint_as_a_raised_error(runner: CliRunner, tmp_path: Path) -> None:
    """`ledger check`/`ledger due` report an unreadable file instead of raising: the 提示 line must still come."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["甲", "乙", "丙"])
    book.active.append([1, 2, 3])
    ledger = tmp_path / "台账.xlsx"
    book.save(ledger)
    hint = f"提示：{formkit.CODES['no-header'].cli_hint}"
    for args in (["ledger", "check", str(ledger)], ["ledger", "due", str(ledger), "--register", str(tmp_path / "r")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and result.output.count(hint) == 1, result.output
        assert "没有需要补办" not in result.output  # nothing is known to be due when nothing could be read


def test_render_refusal_names_each_problem_with_its_code(runner: CliRunner, tmp_path: Path) -> None:
    record = sample("return-notice")
    record["guardian"]["phone"] = "123"
    data = tmp_path / "坏记录.json"
    data.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(cli, ["render", "return-notice", str(data), "-o", str(tmp_path / "n.docx")])
    assert result.exit_code == 1 and "坏记录.json" in result.output
    assert "监护人.联系电话：" in result.output and "[phone-format]" in result.output, result.output
    assert not (tmp_path / "n.docx").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["ledger", "check"], "缺少参数 PATHS"),
    (["renderx"], "没有“renderx”这个命令"),
    (["ledger", "check", "a.xlsx", "--month", "3"], "没有 --month 这个选项"),
    (["batch", "return-notice", "x.json", "--jobs", "abc"], "--jobs 的值不对：“abc”不是整数"),
])
def test_a_mistyped_command_line_is_told_in_chinese(args: list[str], expected: str) -> None:
    """click's own usage errors go through the same Chinese voice as formkit's (exit 2, a hint)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "formkit", *args], capture_output=True, text=True, check=False)
    assert out.returncode == 2, out.stderr
    assert f"错误：{expected}" in out.stderr and "提示：运行 formkit" in out.stderr, out.stderr
    assert "Error:" not in out.stderr and "Usage:" not in out.stderr
