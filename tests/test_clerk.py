"""A township clerk's first week with formkit: workbooks from another county (tests/clerk_books.py).

Each test pins one thing a careful clerk expected and formkit got wrong before: the expectations are
written from the planted rows' comments in clerk_books.py, not copied from formkit's output.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import Workbook, load_workbook

from formkit.cli import cli
from formkit.core.errors import InputFileError, ValueProblem
from formkit.core.validators import parse_date_or_month
from formkit.documents.batch import InvalidRosterError, batch, format_batch
from formkit.documents.roster import sheet_of
from formkit.ledger.check import check_ledger
from formkit.ledger.due import DUE, REFUSED, due, generate_due
from formkit.ledger.workbook import summary
from tests.clerk_books import JUNIOR, PRIMARY, _row, _sheet, township_book
from tests.helpers import needs_soffice

AS_OF = date(2024, 5, 1)
SETTINGS = {"issuer.body": "平寨镇人民政府", "issuer.issue_date": "2024-05-06", "issuer.report_to": JUNIOR}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "平寨镇台账.xlsx"
    township_book().save(path)
    return path


def test_stamp_mark_in_the_unit_line_is_not_part_of_the_school(book: Path) -> None:
    report = check_ledger(book, AS_OF)
    assert [t.declared["school"] for t in report.tables] == [PRIMARY, JUNIOR]
    assert not [f for f in report.findings if f.code == "school-mismatch"]
    # What is left is exactly what was planted (and the 备注/备注2 header warning).
    errors = {(f.sheet, f.row, f.code) for f in report.findings if f.severity == "error"}
    assert errors == {(PRIMARY, 7, "date-format"), (PRIMARY, 10, "compel-flag-conflict"), (JUNIOR, 7, "phone-format")}


def test_hidden_outdated_sheet_is_skipped_with_its_reason(book: Path) -> None:
    report = check_ledger(book, AS_OF)
    assert report.files[0].sheets == [PRIMARY, JUNIOR]
    assert report.files[0].skipped == [("旧表", "隐藏的工作表")]


def test_due_list_of_the_township_book(book: Path) -> None:
    items = due(check_ledger(book, AS_OF), AS_OF, report_to=JUNIOR)
    got = sorted((i.sheet, i.row, i.state, i.form) for i in items)
    assert got == sorted([
        (PRIMARY, 6, DUE, "dropout-report"),
        (PRIMARY, 7, DUE, "return-notice"),
        (PRIMARY, 9, DUE, "compel-notice"),
        (PRIMARY, 10, REFUSED, ""),
        (PRIMARY, 11, DUE, ""),
        (PRIMARY, 12, DUE, "deadline-notice"),
        (PRIMARY, 13, DUE, "deadline-notice"),
        (PRIMARY, 14, DUE, "deadline-notice"),
        (JUNIOR, 7, DUE, "return-notice"),
    ])


def test_returned_child_without_a_placement_column_is_not_refused(book: Path) -> None:
    """The sheet has no 安置方式 column: check cannot fault the row, so due must not refuse it either."""
    report = check_ledger(book, AS_OF)
    assert not [f for f in report.findings if f.row == 15 and f.sheet == PRIMARY]
    assert not [i for i in due(report, AS_OF) if i.row == 15 and i.sheet == PRIMARY]


def test_refusal_reads_as_one_sentence(book: Path) -> None:
    [refused] = [i for i in due(check_ledger(book, AS_OF), AS_OF) if i.state == REFUSED]
    assert "。；" not in refused.reason and "。。" not in refused.reason
    assert refused.reason.endswith("请先核对改正。")


def _text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_deadline_notices_send_each_child_to_the_right_school(book: Path, tmp_path: Path) -> None:
    """report_to names the junior school for 小学毕业未升入初中 only; 开学未报名/适龄未入学 stay at their own school."""
    items = due(check_ledger(book, AS_OF), AS_OF, report_to=JUNIOR)
    results = generate_due(items, tmp_path / "out", issuer=SETTINGS, as_of=AS_OF, register=tmp_path / "r.sqlite",
                           jobs=1)
    made = {item.name: tmp_path / "out" / "deadline-notice" / item.file for item in results.results["deadline-notice"].items}
    texts = {name: _text(path) for name, path in made.items()}
    assert f"到{JUNIOR}办理入学" in texts["田野"]
    assert f"到{PRIMARY}办理报名" in texts["蒙丽"]
    assert f"到{PRIMARY}办理入学" in texts["韦小宝"]
    for text in texts.values():
        assert "{{" not in text and "{%" not in text
        assert "（）" not in text  # no relation in the ledger: the stub leaves no empty brackets


def test_generation_failures_name_file_sheet_and_student(book: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "due", str(book), "--as-of", "2024-05-01", "--generate",
                                      str(tmp_path / "out"), "--register", str(tmp_path / "r.sqlite"),
                                      "--set", "body=平寨镇人民政府", "--set", "issue_date=2024-05-06",
                                      "--set", f"report_to={JUNIOR}"])
    assert result.exit_code == 1, result.output
    # Row 7 of both sheets is refused: each line must say which one it is.
    assert f"吴秀兰（5226**********0220，平寨镇台账.xlsx 工作表“{PRIMARY}”第7行）" in result.output
    assert f"吴刚（5226**********0119，平寨镇台账.xlsx 工作表“{JUNIOR}”第7行）" in result.output
    assert "跳过第7行" not in result.output
    assert "2011年10月" in result.output and "，" in result.output


def test_month_typed_as_a_number_names_both_readings() -> None:
    with pytest.raises(ValueProblem) as err:
        parse_date_or_month(2011.1)
    assert "2011年1月" in err.value.message and "2011年10月" in err.value.message
    assert str(parse_date_or_month(2012.03)) == "2012年3月"


def test_batch_reads_every_ledger_sheet(book: Path, tmp_path: Path) -> None:
    result = batch("return-notice", book, tmp_path / "o", issuer=SETTINGS, dry_run=True, skip_invalid=True,
                   register=tmp_path / "r.sqlite")
    assert result.sheets == [PRIMARY, JUNIOR]  # the hidden 旧表 is not a ledger sheet of today
    assert len(result.items) == 12
    got = sorted((i.sheet, i.row, i.status) for i in result.items)
    # 第6行 and 第7行 exist on both sheets: each is its own item
    assert (PRIMARY, 6, "planned") in got and (JUNIOR, 6, "planned") in got
    assert (PRIMARY, 7, "skipped-invalid") in got and (JUNIOR, 7, "skipped-invalid") in got
    assert [(sheet_of(r), r) for r, _ in result.invalid] == [(PRIMARY, 7), (PRIMARY, 10), (PRIMARY, 15), (JUNIOR, 7)]


def _class_book(path: Path) -> Path:
    """One school, one sheet per class: 序号 restarts at 1 and each class has a 杨小春."""
    wb = Workbook()
    default = wb.active
    assert default is not None
    wb.remove(default)
    _sheet(wb, "六年级1班", [_row(1, "杨小春", "男", "20120315", "011", PRIMARY, "六年级", "辍学", "2024年3月", "未劝返")])
    _sheet(wb, "六年级2班", [
        _row(1, "杨小春", "男", "20120416", "013", PRIMARY, "六年级", "辍学", "2024年3月", "未劝返"),
        _row(2, "吴刚", "男", "20100101", "011", PRIMARY, "六年级", "辍学", "2024年3月", "未劝返", phone="1390855002"),
    ])
    wb.save(path)
    return path


def test_same_name_on_two_sheets_gets_two_documents_and_an_invalid_row_names_its_sheet(tmp_path: Path) -> None:
    roster = _class_book(tmp_path / "平寨小学.xlsx")
    with pytest.raises(InvalidRosterError) as err:
        batch("return-notice", roster, tmp_path / "o", issuer=SETTINGS, register=tmp_path / "r.sqlite")
    [(row, problems)] = err.value.rows
    assert (sheet_of(row), row, [p.code for p in problems]) == ("六年级2班", 7, ["phone-format"])
    assert "工作表“六年级2班”第7行“联系电话”列" in str(err.value)
    assert not (tmp_path / "o").exists()  # nothing written before every sheet's rows were checked

    out = tmp_path / "o"
    result = batch("return-notice", roster, out, issuer={**SETTINGS, "issuer.number_prefix": "平镇教复"},
                   skip_invalid=True, register=tmp_path / "r.sqlite", jobs=1)
    made = [i for i in result.items if i.status == "written"]
    assert sorted((i.sheet, i.row, i.name) for i in made) == [("六年级1班", 6, "杨小春"), ("六年级2班", 6, "杨小春")]
    files = {i.sheet: i.file for i in made}
    assert files["六年级1班"] != files["六年级2班"] and "六年级2班" in files["六年级2班"]
    texts = {sheet: _text(out / name) for sheet, name in files.items()}
    assert "5226**********0133" not in texts["六年级1班"]
    # one transaction numbered both sheets: two numbers, no gap, no repeat
    assert sorted(i.doc_number for i in made) == ["平镇教复〔2024〕1号", "平镇教复〔2024〕2号"]
    assert "跳过工作表“六年级2班”第7行：联系电话" in format_batch(result)

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sheets"] == ["六年级1班", "六年级2班"]
    assert sorted((i["sheet"], i["row"], i["status"]) for i in manifest["items"]) == [
        ("六年级1班", 6, "written"), ("六年级2班", 6, "written"), ("六年级2班", 7, "skipped-invalid")]
    assert [(i["sheet"], i["row"]) for i in manifest["invalid"]] == [("六年级2班", 7)]
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert sorted((r["工作表"], r["行号"], r["文件"]) for r in table if r["文件"]) == sorted(
        (sheet, "6", name) for sheet, name in files.items())

    # The clerk edits the second class's notice; a re-run keeps it and re-finds the first one unchanged.
    edited = Document(str(out / files["六年级2班"]))
    edited.add_paragraph("班主任补充：已电话联系家长。")
    edited.save(str(out / files["六年级2班"]))
    again = batch("return-notice", roster, out, issuer={**SETTINGS, "issuer.number_prefix": "平镇教复"},
                  skip_invalid=True, register=tmp_path / "r.sqlite", jobs=1)
    status = {(i.sheet, i.row): (i.status, i.file, i.doc_number) for i in again.items if i.file}
    assert status[("六年级1班", 6)] == ("unchanged", files["六年级1班"], "平镇教复〔2024〕1号")
    assert status[("六年级2班", 6)][:2] == ("kept-edited", files["六年级2班"])
    assert "已电话联系家长" in _text(out / files["六年级2班"])


def test_sheet_option_picks_one_sheet_and_its_messages_name_no_sheet(tmp_path: Path) -> None:
    roster = _class_book(tmp_path / "平寨小学.xlsx")
    args = ["batch", "return-notice", str(roster), "-o", str(tmp_path / "o"), "--register", str(tmp_path / "r.sqlite"),
            "--set", "body=平寨镇人民政府", "--set", "issue_date=2024-05-06", "--dry-run"]
    both = CliRunner().invoke(cli, args)
    assert both.exit_code == 1 and "工作表“六年级2班”第7行" in both.output, both.output
    one = CliRunner().invoke(cli, [*args, "--sheet", "六年级2班"])
    assert one.exit_code == 1 and "  - 第7行“联系电话”列" in one.output and "工作表“" not in one.output, one.output
    first = CliRunner().invoke(cli, [*args, "--sheet", "六年级1班"])
    assert first.exit_code == 0 and "以下 1 份文书" in first.output and "  第6行 杨小春 →" in first.output, first.output


def test_batch_messages_keep_chinese_punctuation(tmp_path: Path) -> None:
    path = tmp_path / "平寨小学.xlsx"
    township_book(junior=False).save(path)
    with pytest.raises(InvalidRosterError) as err:
        batch("return-notice", path, tmp_path / "o", issuer=SETTINGS, dry_run=True, register=tmp_path / "r.sqlite")
    text = str(err.value)
    assert "“否”，但通知书下达时间" in text and "无法分辨是2011年1月还是2011年10月（Excel" in text
    result = batch("return-notice", path, tmp_path / "o", issuer=SETTINGS, dry_run=True, skip_invalid=True,
                   register=tmp_path / "r.sqlite")
    assert "，但" in format_batch(result) and ",但" not in format_batch(result)
    # one ledger sheet: rows are named as before, without their sheet
    assert "工作表" not in text and "工作表" not in format_batch(result) and "跳过第7行" in format_batch(result)


def test_summary_detail_keeps_month_precision(book: Path, tmp_path: Path) -> None:
    summary(check_ledger(book, AS_OF), tmp_path / "汇总.xlsx", "2024-04", report_area="平寨镇")
    ws = load_workbook(tmp_path / "汇总.xlsx")["明细"]
    dates = {row[1]: row[5] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert dates["杨小春"] == "2024年3月" and dates["潘勇"] == "2024年3月"


@needs_soffice
def test_pdf_into_a_relative_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "平寨小学.xlsx"
    township_book(junior=False).save(path)
    monkeypatch.chdir(tmp_path)
    result = batch("deadline-notice", path, "输出", issuer=SETTINGS, pdf=True, skip_invalid=True, jobs=1,
                   register=tmp_path / "r.sqlite")
    written = [i for i in result.items if i.pdf]
    assert written and all((tmp_path / "输出" / i.pdf).is_file() for i in written)


def test_batch_sheet_option_picks_one_school_of_a_township_workbook(book: Path, tmp_path: Path) -> None:
    both = CliRunner().invoke(cli, ["batch", "return-notice", str(book), "-o", str(tmp_path / "x"), "--dry-run",
                                    "--register", str(tmp_path / "r.sqlite"), "--set", "body=平寨镇人民政府",
                                    "--set", "issue_date=2024-05-02"])
    assert both.exit_code == 1 and f"工作表“{PRIMARY}”第7行" in both.output and f"工作表“{JUNIOR}”第7行" in both.output
    report = check_ledger(book, AS_OF)
    names = {sheet: {c.text("name") for c in report.cases if c.sheet == sheet} for sheet in (PRIMARY, JUNIOR)}
    for sheet in (PRIMARY, JUNIOR):
        result = batch("return-notice", book, tmp_path / sheet, issuer=SETTINGS, dry_run=True, skip_invalid=True,
                       register=tmp_path / "r.sqlite", sheet=sheet)
        seen = {i.name for i in result.items if i.name}
        assert seen and seen <= names[sheet], (sheet, seen)
    with pytest.raises(InputFileError):
        batch("return-notice", book, tmp_path / "n", issuer=SETTINGS, dry_run=True, register=tmp_path / "r.sqlite",
              sheet="没有这个表")
