from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook

from formkit.cli import cli
from formkit.documents.engine import docx_text
from formkit.ledger.check import check_ledger
from formkit.ledger.due import due, generate_due
from formkit.ledger.summary import collect
from formkit.ledger.workbook import summary, write_ledger
from tests.helpers import SAMPLES

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))


def one_case(tmp_path: Path, **case: Any) -> Path:
    record = json.loads(json.dumps(RECORDS[6]))  # 龙飞, 劝返中, two attempts, notice issued 2024-03-30
    record["case"].update(case)
    path = tmp_path / "l.xlsx"
    write_ledger(path, [record], school="龙井乡中学")
    return path


def kinds(path: Path, as_of: date) -> list[tuple[str, date]]:
    return [(i.form, i.due_since) for i in due(path, as_of)]


def test_suspected_case_needs_report_after_a_week(tmp_path: Path) -> None:
    path = one_case(tmp_path, status="疑似辍学", attempts=[], compel_issued=False, compel_date=None,
                    dropout_date="2024-04-01")
    assert kinds(path, date(2024, 4, 7)) == []
    assert kinds(path, date(2024, 4, 8)) == [("dropout-report", date(2024, 4, 8))]


def test_reported_case_needs_return_notice(tmp_path: Path) -> None:
    path = one_case(tmp_path, status="未劝返", attempts=[], compel_issued=False, compel_date=None)
    assert kinds(path, date(2024, 4, 1)) == [("return-notice", date(2024, 3, 18))]


def test_two_failed_attempts_need_compel_notice(tmp_path: Path) -> None:
    path = one_case(tmp_path, compel_issued=False, compel_date=None)
    assert kinds(path, date(2024, 4, 1)) == [("compel-notice", date(2024, 3, 27))]


def test_passed_deadline_is_escalated(tmp_path: Path) -> None:
    path = one_case(tmp_path)
    assert kinds(path, date(2024, 4, 6)) == []
    assert kinds(path, date(2024, 4, 7)) == [("", date(2024, 4, 6))]


def test_returned_and_side_exits_produce_nothing(tmp_path: Path) -> None:
    assert kinds(one_case(tmp_path, status="已复学", return_date="2024-04-02", placement="随班就读"), date(2024, 5, 1)) == []
    assert kinds(one_case(tmp_path, status="休学", note="病休一年，有医院证明"), date(2024, 5, 1)) == []


def test_filled_ledger_due_to_generated_notices(tmp_path: Path) -> None:
    # 龙飞 is listed twice (rows 5 and 11), once with 是否下达=否 and once with 是: no notice from either row.
    refused_twice = [i.row for i in due(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
                     if i.name == "龙飞" and i.state == "refused"]
    assert refused_twice == [5, 11]
    wb = load_workbook(SAMPLES / "ledger-filled.xlsx")
    wb["台账"].delete_rows(11)  # the clerk keeps the row that is right
    wb.save(tmp_path / "ledger-fixed.xlsx")
    items = due(tmp_path / "ledger-fixed.xlsx", date(2024, 5, 1))
    compel = [i for i in items if i.form == "compel-notice"]
    assert [(i.name, i.row, i.cell) for i in compel] == [("龙飞", 5, "E5")]
    # 石美玲's row says 劝返次数 2 with no attempt dates: contradictory, so refused instead of given a notice
    # (formerly proposed and only skipped at generation).
    refused = [i for i in items if i.state == "refused"]
    assert ("石美玲", 8) in [(i.name, i.row) for i in refused]
    assert "劝返次数填2次" in next(i.reason for i in refused if i.row == 8)
    assert all("*" in i.id_masked for i in items)
    settings = {"issuer.body": "龙井乡人民政府", "issuer.issue_date": "2024-05-02", "issuer.number_prefix": "龙乡教复"}
    results = generate_due(items, tmp_path / "out", issuer=settings, as_of=date(2024, 5, 1),
                           register=tmp_path / "reg.sqlite", jobs=1)
    made = results.results["compel-notice"]
    written = [i for i in made.items if i.status == "written"]
    assert [(i.name, i.row, i.doc_number) for i in written] == [("龙飞", 5, "龙乡教复〔2024〕1号")]
    assert [i.row for i in made.items if i.status == "skipped-invalid"] == []
    text = docx_text((tmp_path / "out" / "compel-notice" / written[0].file).read_bytes())
    assert "龙飞" in text and "龙乡教复〔2024〕1号" in text and "2024年3月19日" in text and "2024年3月27日" in text


def test_cli_due_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "due", str(SAMPLES / "ledger-filled.xlsx"), "--as-of", "2024-05-01",
                                      "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [d["row"] for d in data] == [i.row for i in due(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))]
    assert all("record" not in d for d in data)


def test_summary_figures_match_hand_count(tmp_path: Path) -> None:
    out = tmp_path / "s.xlsx"
    figures = summary([SAMPLES / "ledger-clean.xlsx", SAMPLES / "ledger-b.xlsx"], out, "2024-03")
    # Hand count from samples/records.json: 12 cases; 已复学 杨丽, 张子豪, 韦俊杰 + 已消帐 吴佳怡 = 4;
    # side exit 赵雨桐 (转学) = 1; still out 12 - 4 - 1 = 7; 建档立卡 王小明, 吴佳怡, 龙飞, 石美玲 = 4.
    assert figures.totals() == {"cases": 12, "returned": 4, "closed": 1, "other": 1, "out": 7, "poverty": 4}
    assert json.loads(figures.to_json())["by_school"]["龙井乡中学"]["out"] == 4
    # March 2024: new cases 王小明 3-4, 陈浩 3-18, 吴佳怡 3-1, 龙飞 3-11, 潘小燕 3-25, 韦俊杰 3-6, 李欣然 3-20 = 7;
    # returned in March: 杨丽 3-25, 吴佳怡 3-28 = 2; out at end of March: 11 dropped by 3-31 (all but 石美玲),
    # less 赵雨桐's side exit = 10, minus those back by then (杨丽, 吴佳怡, 张子豪) = 7.
    assert figures.monthly() == {"new": 7, "returned": 2, "out_at_end": 7}
    wb = load_workbook(out)
    ws = wb["汇总"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    school_total = next(r for r in rows if r[0] == "合计")
    schools = [r for r in rows[rows.index(next(r for r in rows if r[0] == "学校")) + 1:] if r[0] != "合计"][:2]
    assert school_total[1:7] == [12, 4, 1, 1, 7, 4]
    assert [sum(r[i] for r in schools) for i in range(1, 7)] == school_total[1:7]
    assert wb["明细"].max_row - 1 == 7
    assert len(ws._charts) == 2
    assert [r[0].value for r in wb["月报"].iter_rows(min_row=2)] == ["本月新增辍学", "本月劝返复学", "月末仍未返校"]


def test_summary_warns_about_ledgers_with_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-filled.xlsx"), "-o",
                                      str(tmp_path / "s.xlsx")])
    assert result.exit_code == 0, result.output
    assert "ledger-filled.xlsx 有 13 个错误" in result.output
    ws = load_workbook(tmp_path / "s.xlsx")["汇总"]
    assert "有 13 个错误" in ws["A2"].value
    report = check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    assert collect(report).files_with_errors == [(str(SAMPLES / "ledger-filled.xlsx"), 13)]


def test_summary_report_docx_and_one_report_per_township(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"), str(SAMPLES / "ledger-b.xlsx"),
                                      "-o", str(tmp_path / "s.xlsx"), "--month", "2024-03", "--report",
                                      str(tmp_path / "月报.docx"), "--area", "青山县"])
    assert result.exit_code == 0, result.output
    text = docx_text((tmp_path / "月报.docx").read_bytes())
    assert "青山县" in text and "2024年3月" in text and "本月新增辍学（失学）7人" in text and "月末仍未返校7人" in text
    assert "石门镇中心小学" in text and "{%" not in text
    from formkit.documents.batch import batch
    from formkit.ledger.summary import report_record

    records = []
    for area, path in (("石门镇", SAMPLES / "ledger-clean.xlsx"), ("龙井乡", SAMPLES / "ledger-b.xlsx")):
        records.append(report_record(collect(check_ledger(path, date(2024, 5, 1)), "2024-04"), area))
    made = batch("monthly-report", records, tmp_path / "reports", jobs=1)
    assert [i.file for i in made.items] == ["001_石门镇_控辍保学工作月报.docx", "002_龙井乡_控辍保学工作月报.docx"]
    assert "龙井乡中学" in docx_text((tmp_path / "reports" / made.items[1].file).read_bytes())


def test_a_child_listed_twice_is_refused_naming_the_other_row() -> None:
    items = [i for i in due(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1)) if i.name == "龙飞"]
    reasons = {i.row: i.reason for i in items if i.state == "refused"}
    assert "还出现在：第11行" in reasons[5] and "还出现在：第5行" in reasons[11]
