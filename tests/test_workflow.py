"""The workflow per 对象类别 (docs/workflow.md), the register of issued documents, and documents
that refuse to state what the data contradict. Every test uses a fixed as_of."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import formkit
from formkit.cli import cli
from formkit.core.errors import RecordError
from formkit.documents.engine import docx_text
from formkit.documents.forms import enrol_action, visit_summary
from formkit.documents.register import NumberRegister
from formkit.ledger.check import check_ledger
from formkit.ledger.due import DueItem, due, generate_due
from formkit.ledger.summary import figures
from tests.helpers import SAMPLES, make_id

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
SETTINGS = {"issuer.body": "龙井乡人民政府", "issuer.issue_date": "2024-05-02", "issuer.number_prefix": "龙乡教复"}


def record(**case: Any) -> dict[str, Any]:
    data = copy.deepcopy(RECORDS[6])  # 龙飞, 龙井乡中学, 辍学 2024-03-11, attempts 3-19 and 3-27, notice 3-30
    data["case"].update(case)
    return data


def ledger(tmp_path: Path, *records: dict[str, Any], name: str = "l.xlsx") -> Path:
    path = tmp_path / name
    formkit.new_ledger(path, list(records), school="龙井乡中学", overwrite=True)
    return path


def steps(items: list[DueItem]) -> list[tuple[str, str, date]]:
    return [(i.state, i.form, i.due_since) for i in items]


OPEN = {"attempts": [], "compel_issued": None, "compel_date": None}


# --- one test per row of the state table ----------------------------------------------------------------


def test_suspected_dropout_after_a_week_needs_report_slip(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(status="疑似辍学", dropout_date="2024-04-01", **OPEN))
    assert steps(due(path, date(2024, 4, 7))) == []
    assert steps(due(path, date(2024, 4, 8))) == [("due", "dropout-report", date(2024, 4, 8))]


def test_reported_dropout_without_visit_needs_return_notice(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(status="未劝返", **OPEN))
    assert steps(due(path, date(2024, 4, 1))) == [("due", "return-notice", date(2024, 3, 18))]


def test_one_failed_visit_needs_no_paper(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(status="劝返中", attempts=[{"date": "2024-03-19"}], compel_issued=None,
                                   compel_date=None))
    assert steps(due(path, date(2024, 5, 1))) == []


def test_two_failed_visits_need_compel_notice(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(compel_issued=None, compel_date=None))
    assert steps(due(path, date(2024, 4, 1))) == [("due", "compel-notice", date(2024, 3, 27))]


def test_compel_deadline_passed_is_escalated(tmp_path: Path) -> None:
    path = ledger(tmp_path, record())
    assert steps(due(path, date(2024, 4, 6))) == []
    assert steps(due(path, date(2024, 4, 7))) == [("due", "", date(2024, 4, 6))]


@pytest.mark.parametrize(("category", "act"), [("适龄未入学", "入学"), ("开学未报名", "报名")])
def test_enrolment_categories_get_deadline_notice(tmp_path: Path, category: str, act: str) -> None:
    path = ledger(tmp_path, record(category=category, status="未劝返", dropout_date="2023-09-01", **OPEN))
    items = due(path, date(2024, 3, 1))
    # Regression: a child who never enrolled used to be proposed a 辍学生返校通知书.
    assert steps(items) == [("due", "deadline-notice", date(2023, 9, 1))]
    assert f"限期{act}" in items[0].reason
    assert enrol_action(category) == act


def test_primary_graduate_reports_to_junior_middle_school(tmp_path: Path) -> None:
    data = record(category="小学毕业未升入初中", status="未劝返", dropout_date="2023-09-01", **OPEN)
    data["school"]["school"] = "石门镇中心小学"
    path = ledger(tmp_path, data)
    items = due(path, date(2024, 3, 1))
    assert steps(items) == [("due", "deadline-notice", date(2023, 9, 1))]
    assert "初中" in items[0].reason and "report_to" in items[0].reason
    # Without a junior middle school, generation refuses the row instead of sending the child back.
    out = generate_due(items, tmp_path / "a", issuer=SETTINGS, as_of=date(2024, 3, 1), register=tmp_path / "r.sqlite",
                       jobs=1)
    made = out.results["deadline-notice"]
    assert [i.status for i in made.items] == ["skipped-invalid"]
    assert "初中学校" in made.invalid[0][1][0].message
    items = due(path, date(2024, 3, 1), report_to="石门镇中学")
    assert "report_to" not in items[0].reason
    out = generate_due(items, tmp_path / "b", issuer=SETTINGS, as_of=date(2024, 3, 1),
                       register=tmp_path / "r.sqlite", jobs=1)
    (written,) = out.results["deadline-notice"].items
    text = docx_text((tmp_path / "b" / "deadline-notice" / written.file).read_bytes())
    assert "到石门镇中学办理" in text and "到石门镇中心小学办理" not in text


@pytest.mark.parametrize("case", [
    {"status": "已复学", "return_date": "2024-04-02", "placement": "随班就读"},
    {"status": "已消帐", "return_date": "2024-04-02", "placement": "随班就读", "closed_date": "2024-04-30"},
    {"status": "休学", "note": "病休一年，有医院证明"},
    {"status": "转学/在外地就读", "note": "已转入外省学校"},
])
def test_returned_closed_and_side_exits_need_nothing(tmp_path: Path, case: dict[str, Any]) -> None:
    assert due(ledger(tmp_path, record(**case)), date(2024, 6, 1)) == []


@pytest.mark.parametrize(("case", "words"), [
    ({"status": "已复学", "return_date": None, "placement": "随班就读"}, "必须填写复学时间"),
    ({"compel_issued": False}, "“是否下达敦返通知书”填“否”"),
    ({"attempts": [{"date": "2024-03-27"}, {"date": "2024-03-19"}], "compel_issued": None, "compel_date": None},
     "第二次劝返时间早于第一次"),
    ({"status": "劝返中", "return_date": "2024-04-02"}, "填了复学时间"),
])
def test_contradictory_rows_are_refused_with_reason(tmp_path: Path, case: dict[str, Any], words: str) -> None:
    items = due(ledger(tmp_path, record(**case)), date(2024, 6, 1))
    assert [i.state for i in items] == ["refused"]
    assert words in items[0].reason and items[0].form == ""


def test_flag_no_with_date_is_a_finding(tmp_path: Path) -> None:
    report = check_ledger(ledger(tmp_path, record(compel_issued=False)), date(2024, 6, 1))
    found = [f for f in report.findings if f.code == "compel-flag-conflict"]
    assert [(f.row, f.severity) for f in found] == [(5, "error")] and found[0].column.endswith("是否下达敦返通知书")


# --- the register remembers issued paperwork -----------------------------------------------------------


def test_due_generate_due_again_shows_issued(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(compel_issued=None, compel_date=None),
                  record(status="未劝返", **OPEN) | {"student": {**RECORDS[0]["student"]}})
    reg = tmp_path / "reg.sqlite"
    first = due(path, date(2024, 5, 1), register=reg)
    assert sorted((i.state, i.form) for i in first) == [("due", "compel-notice"), ("due", "return-notice")]
    made = generate_due(first, tmp_path / "out", issuer=SETTINGS, as_of=date(2024, 5, 1), register=reg, jobs=1)
    compel_no = made.results["compel-notice"].items[0].doc_number
    assert compel_no.startswith("龙乡教复〔2024〕")
    again = due(path, date(2024, 5, 3), register=reg)
    assert sorted((i.state, i.form, i.doc_number) for i in again) == sorted(
        [("issued", "compel-notice", compel_no), ("issued", "return-notice", made.results["return-notice"].items[0].doc_number)])
    assert all(i.issued_on == date(2024, 5, 2) for i in again)
    # The compel notice's deadline (issue date + 7 days) drives escalation, though the ledger was not updated.
    late = due(path, date(2024, 5, 10), register=reg)
    assert ("due", "", date(2024, 5, 9)) in steps(late)
    # Nothing issued is proposed again, so generating again produces nothing.
    assert generate_due(again, tmp_path / "out", issuer=SETTINGS, register=reg, jobs=1).results == {}
    with NumberRegister(reg) as r:
        assert {d.form for d in r.issued_documents()} == {"compel-notice", "return-notice"}


def test_cli_due_reads_register(tmp_path: Path) -> None:
    path = ledger(tmp_path, record(compel_issued=None, compel_date=None))
    reg = tmp_path / "reg.sqlite"
    args = ["ledger", "due", str(path), "--as-of", "2024-05-01", "--register", str(reg)]
    run = CliRunner().invoke(cli, [*args, "--generate", str(tmp_path / "o"), "--set", "body=龙井乡人民政府",
                                   "--set", "issue_date=2024-05-02", "--set", "number_prefix=龙乡教复"])
    assert run.exit_code == 0, run.output  # generating what is due is the command's job, not a finding
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "已下达" in again.output and "龙乡教复〔2024〕1号" in again.output


# --- parse once; month precision ---------------------------------------------------------------------


def test_report_keeps_cases_and_feeds_due_and_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = record(status="未劝返", **OPEN)
    other["student"]["id_number"] = make_id("520121", "20110912", "031")  # another child: one row each
    path = ledger(tmp_path, record(compel_issued=None, compel_date=None), other)
    report = check_ledger(path, date(2024, 5, 1))
    assert [c.row for c in report.cases] == [5, 6]
    assert report.cases[0].get("dropout_date") == date(2024, 3, 11) and report.cases[0].cell("name") == "E5"

    def no_reading(*_: Any, **__: Any) -> Any:
        raise AssertionError("a ledger cell was read or parsed a second time")

    for target in ("formkit.ledger.check.read_ledger", "formkit.core.validators.parse_date", "formkit.core.validators.parse_id",
                   "formkit.core.validators.parse_date_or_month", "formkit.core.enums.Enumeration.match"):
        monkeypatch.setattr(target, no_reading)
    before = sorted(tmp_path.rglob("*"))
    assert [i.form for i in due(report)] == ["return-notice", "compel-notice"]
    assert figures(report).totals()["cases"] == 2
    assert sorted(tmp_path.rglob("*")) == before  # the figures come without writing a workbook


def test_month_precision_in_checking_and_in_documents(tmp_path: Path) -> None:
    data = record(status="未劝返", dropout_date="2024年3月", **OPEN)
    data["student"]["birth_date"] = "2010.04"
    path = ledger(tmp_path, data)
    report = check_ledger(path, date(2024, 5, 1))
    assert [f.code for f in report.findings if f.code in ("date-format", "id-birth-mismatch")] == []
    items = due(report)
    assert steps(items) == [("due", "return-notice", date(2024, 3, 8))]
    made = generate_due(items, tmp_path / "o", issuer=SETTINGS, as_of=date(2024, 5, 1),
                        register=tmp_path / "r.sqlite", jobs=1)
    (written,) = made.results["return-notice"].items
    assert written.status == "written"
    text = docx_text((tmp_path / "o" / "return-notice" / written.file).read_bytes())
    assert "自2024年3月起" in text
    for form_month in ("2024.03", "2024-03"):
        notice = copy.deepcopy(RECORDS[6]) | {"issuer": {"body": "龙井乡人民政府", "issue_date": "2024-05-02"}}
        notice["case"]["dropout_date"] = form_month
        assert str(formkit.validate_record("return-notice", notice).case.dropout_date) == "2024年3月"


# --- documents never state what the data contradict -------------------------------------------------------


def notice(**case: Any) -> dict[str, Any]:
    data = record(**case)
    data["issuer"] = {"body": "龙井乡人民政府", "issue_date": "2024-05-02"}
    return data


def refusal(form: str, data: dict[str, Any]) -> list[str]:
    with pytest.raises(RecordError) as err:
        formkit.validate_record(form, data)
    return [p.message for p in err.value.problems]


def test_compel_notice_refused_for_returned_child() -> None:
    data = notice(status="已复学", return_date="2024-04-02", placement="随班就读")
    assert any("已经返校" in m for m in refusal("compel-notice", data))


def test_notice_dated_before_dropout_or_report_refused() -> None:
    data = notice(status="未劝返", **OPEN)
    data["issuer"]["issue_date"] = "2024-03-01"
    assert any("早于辍学(失学)时间" in m for m in refusal("return-notice", data))
    data["issuer"]["issue_date"] = "2024-03-14"  # three days after the dropout: no report could exist yet
    assert any("早于辍学报告" in m for m in refusal("return-notice", data))
    data = notice()
    data["issuer"]["issue_date"] = "2024-03-25"  # before the second attempt of 3-27
    assert any("早于第二次劝返" in m for m in refusal("compel-notice", data))


def test_report_slip_follows_recorded_visits() -> None:
    data = record(status="疑似辍学", dropout_date="2024-04-01", **OPEN)
    data.update(teacher="潘学文", report_date="2024-04-05")
    assert any("早于辍学报告" in m for m in refusal("dropout-report", data))
    data["report_date"] = "2024-04-09"
    data["visits"] = [{"date": "2024-03-20"}]
    assert any("早于辍学(失学)时间" in m for m in refusal("dropout-report", data))
    data["visits"] = [{"date": "2024-04-02"}, {"date": "2024-04-06"}]
    slip = formkit.validate_record("dropout-report", data)
    assert visit_summary(slip) == "该生自2024年4月1日起未到校，班主任于2024年4月2日、2024年4月6日家访2次，仍未返校。"
    data["visits"] = []
    summary = visit_summary(formkit.validate_record("dropout-report", data))
    assert "家访2次" not in summary and "家访" in summary
