"""The public API: exports, a client's five calls, JSON of every report, and types."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

import formkit
from formkit.documents.engine import docx_text
from tests.conftest import ROOT, SAMPLES, filled_ledger_kept_once, sample
from tests.typing_client import (
    generate_due_notices,
    lint,
    notice_from_json,
    roster_to_notices,
    township_workflow,
)


def test_everything_in_all_is_exported_typed_and_documented() -> None:
    for name in formkit.__all__:
        assert hasattr(formkit, name), name
        if name != "__version__":
            assert (getattr(formkit, name).__doc__ or "").strip(), f"formkit.{name} has no docstring"
    assert (Path(formkit.__file__).parent / "py.typed").exists()


def test_client_calls_work(tmp_path: Path) -> None:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    for name in ("ledger-clean.xlsx", "ledger-b.xlsx"):
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    errors, due = township_workflow(folder, tmp_path)
    assert errors == 0 and due == 6
    assert (tmp_path / "summary.xlsx").exists() and len(list((tmp_path / "checked").iterdir())) == 2
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes((SAMPLES / "roster.xlsx").read_bytes())
    result = roster_to_notices(roster, tmp_path / "notices")
    assert result.counts == {"written": 12}
    assert lint(ROOT / "templates" / "docx" / "return-notice.docx")
    notice = tmp_path / "notice.docx"
    assert notice_from_json(SAMPLES / "return-notice.json", notice) == (notice, [])
    assert notice_from_json(SAMPLES / "return-notice.json", notice) == (notice, [])  # replaced on the second call
    wanted, written, refused = generate_due_notices(filled_ledger_kept_once(tmp_path), tmp_path / "due",
                                                    tmp_path / "r.sqlite")
    assert wanted == written > 0 and refused == []


def test_reports_serialise_to_json(tmp_path: Path) -> None:
    report = formkit.check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    assert json.loads(report.to_json())["counts"] == report.counts
    records = formkit.read_records(SAMPLES / "roster.xlsx", "return-notice")
    data = json.loads(records.to_json())
    assert data["valid"] is False  # a plain roster has no issuer: every row says so, by row number
    assert data["problems"][0]["row"] == 3 and data["problems"][0]["problems"][0]["path"] == "issuer"


def test_typing_client_passes_mypy_strict() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(ROOT / "tests" / "typing_client.py")],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- one overwrite policy: every writer refuses an existing target unless overwrite=True -----------


def _refused(call: Callable[[], object], code: str = "output-exists") -> str:
    with pytest.raises(formkit.OutputError) as err:
        call()
    assert err.value.code == code
    assert "--force" not in str(err.value)  # the library speaks to programs; the CLI names its flag
    return str(err.value)


def test_render_to_refuses_an_existing_file_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "notice.docx"
    record = sample("return-notice")
    assert formkit.render_to(out, "return-notice", record) == out
    out.write_bytes(b"clerk edited this")
    assert str(out) in _refused(lambda: formkit.render_to(out, "return-notice", record))
    assert out.read_bytes() == b"clerk edited this"
    formkit.render_to(out, "return-notice", record, overwrite=True)
    assert record["student"]["name"] in docx_text(out.read_bytes())


def test_render_to_checks_the_pdf_beside_it_before_writing_anything(tmp_path: Path) -> None:
    out = tmp_path / "notice.docx"
    out.with_suffix(".pdf").write_bytes(b"%PDF- printed and signed")
    _refused(lambda: formkit.render_to(out, "return-notice", sample("return-notice"), pdf=True))
    assert not out.exists()


def test_new_ledger_refuses_an_existing_file_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    made = formkit.new_ledger(out, roster=SAMPLES / "roster.xlsx", school="石门镇中心小学")
    assert made.path == out and made.rows == len(formkit.read_ledger(out).rows) > 0
    _refused(lambda: formkit.new_ledger(out, school="别的学校"))
    assert len(formkit.read_ledger(out).rows) == made.rows
    again = formkit.new_ledger(out, overwrite=True)
    assert again.rows == 0 and formkit.read_ledger(out).rows == []
    with pytest.warns(DeprecationWarning, match="overwrite"):
        formkit.new_ledger(out, force=True)


def test_summary_claims_workbook_and_report_before_writing_either(tmp_path: Path) -> None:
    ledgers = [SAMPLES / "ledger-clean.xlsx", SAMPLES / "ledger-b.xlsx"]
    out, report = tmp_path / "汇总.xlsx", tmp_path / "月报.docx"
    report.write_bytes(b"last month's report, signed")
    assert str(report) in _refused(lambda: formkit.summary(ledgers, out, "2024-04", report=report))
    assert not out.exists() and report.read_bytes() == b"last month's report, signed"
    figures = formkit.summary(ledgers, out, "2024-04", report=report, overwrite=True)
    assert figures.area == "青山县" and "青山县" in docx_text(report.read_bytes())
    assert load_workbook(out).sheetnames == ["汇总", "月报", "明细"]
    _refused(lambda: formkit.summary(ledgers, out, "2024-04"))
    formkit.summary(ledgers, out, "2024-03", overwrite=True)
    assert load_workbook(out)["月报"]["A1"].value == "2024年3月控辍保学月报"


def test_report_record_is_what_the_monthly_report_renders(tmp_path: Path) -> None:
    figures = formkit.summary([SAMPLES / "ledger-clean.xlsx"], tmp_path / "s.xlsx", "2024-03")
    record = formkit.report_record(figures, "石门镇", report_date=date(2024, 4, 2))
    assert record["area"] == "石门镇" and record["month"] == "2024年3月" and record["report_date"] == "2024-04-02"
    assert sum(s["cases"] for s in record["schools"]) == figures.totals()["cases"] > 0
    assert "石门镇" in docx_text(formkit.render("monthly-report", record))


def test_annotate_replaces_its_own_copy_keeps_an_edited_one_unless_overwrite(tmp_path: Path) -> None:
    report = formkit.check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    (copy,) = formkit.annotate(report, tmp_path)
    assert formkit.annotate(report, tmp_path) == [copy]  # formkit's own untouched copy: replaced quietly
    wb = load_workbook(copy)
    wb["检查结果"]["A2"] = "已核对，张老师"
    wb.save(copy)
    _refused(lambda: formkit.annotate(report, tmp_path), code="output-edited")
    assert load_workbook(copy)["检查结果"]["A2"].value == "已核对，张老师"
    formkit.annotate(report, tmp_path, overwrite=True)
    assert load_workbook(copy)["检查结果"]["A2"].value != "已核对，张老师"


def test_batch_keeps_edited_documents_unless_overwrite(tmp_path: Path) -> None:
    settings = formkit.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08"])
    records = [sample("return-notice")]

    def run(**kw: Any) -> formkit.BatchResult:
        return formkit.batch("return-notice", records, tmp_path / "out", settings=settings, jobs=1,
                             register=tmp_path / "r.sqlite", **kw)

    (item,) = run().items
    doc = tmp_path / "out" / item.file
    doc.write_bytes(b"clerk edited this")
    assert [i.status for i in run().items] == ["kept-edited"] and doc.read_bytes() == b"clerk edited this"
    assert [i.status for i in run(overwrite=True).items] == ["updated"]
    assert records[0]["student"]["name"] in docx_text(doc.read_bytes())
    doc.write_bytes(b"edited again")
    with pytest.warns(DeprecationWarning, match="overwrite"):
        assert [i.status for i in run(force=True).items] == ["updated"]


def test_generate_due_returns_typed_results_and_respects_edits(tmp_path: Path) -> None:
    ledger = filled_ledger_kept_once(tmp_path)
    settings = formkit.load_settings(None, ["body=龙井乡人民政府", "issue_date=2024-05-02", "number_prefix=龙乡教复"])
    items = formkit.due(ledger, date(2024, 5, 1))
    made = formkit.generate_due(items, tmp_path / "out", settings=settings, as_of=date(2024, 5, 1),
                                register=tmp_path / "r.sqlite", jobs=1)
    assert made.complete and not made.failures and set(made.results) <= {i.form for i in items if i.form}
    form, result = next(iter(made.results.items()))
    doc = tmp_path / "out" / form / result.items[0].file
    doc.write_bytes(b"clerk edited this")
    again = formkit.generate_due(items, tmp_path / "out", settings=settings, as_of=date(2024, 5, 1),
                                 register=tmp_path / "r.sqlite", jobs=1)
    assert again.results[form].items[0].status == "kept-edited" and doc.read_bytes() == b"clerk edited this"
    formkit.generate_due(items, tmp_path / "out", settings=settings, as_of=date(2024, 5, 1),
                         register=tmp_path / "r.sqlite", jobs=1, overwrite=True)
    assert doc.read_bytes() != b"clerk edited this"
    assert json.loads(made.to_json())["failures"] == []


def test_due_record_adds_what_a_dropout_report_needs(tmp_path: Path) -> None:
    items = formkit.due(filled_ledger_kept_once(tmp_path), date(2024, 5, 1))
    item = next(i for i in items if i.state == "due" and i.form)
    record = formkit.due_record(item, date(2024, 5, 3))
    assert record is not item.record and record["student"]["name"].strip() == item.name
    assert record["student"]["birth_date"] == item.record["student"]["birth_date"].isoformat()  # plain JSON
    report = dataclasses.replace(item, form="dropout-report")
    filed = formkit.due_record(report, date(2024, 5, 3))
    assert filed["report_date"] == "2024-05-03" and filed["teacher"] == item.record["case"].get("responsible")


def test_parse_templates_and_find_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert formkit.parse_templates([" compel-notice = 县版.docx "]) == {"compel-notice": Path("县版.docx")}
    with pytest.raises(formkit.UsageError):
        formkit.parse_templates(["compel-notice"])
    ledger = tmp_path / "乡镇" / "台账.xlsx"
    ledger.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    assert formkit.find_config(ledger) is None
    (tmp_path / "formkit.toml").write_text("[columns]\n\"户主\" = \"guardian\"\n", encoding="utf-8")
    assert formkit.find_config(ledger) == tmp_path / "formkit.toml"  # the working folder's, when none beside it
    beside = ledger.parent / "formkit.toml"
    beside.write_text("", encoding="utf-8")
    assert formkit.find_config(ledger) == beside == formkit.find_config(ledger.parent)
    assert formkit.column_pins(tmp_path / "formkit.toml", ["户主=name"]) == {"户主": "name"}
    assert formkit.column_pins(tmp_path / "formkit.toml") == {"户主": "guardian"}


def test_read_json_record_and_warnings() -> None:
    record = formkit.read_json_record(SAMPLES / "return-notice.json")
    model = formkit.validate_record("return-notice", record)
    assert formkit.record_warnings(model) == []
