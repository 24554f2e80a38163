from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

import formkit.checker as checker
from formkit.cli import cli
from formkit.columns import LEDGER_COLUMNS
from formkit.errors import InputFileError
from formkit.ledger_reader import column_letter, read_ledger
from formkit.records import read_rows
from formkit.validators import id_check_char
from formkit.xlsx_writer import new_ledger
from tests.conftest import SAMPLES, make_id, needs_soffice

AS_OF = date(2024, 5, 1)
RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
LETTER = {c.key: column_letter(i) for i, c in enumerate(LEDGER_COLUMNS)}


def ledger(tmp_path: Path, edits: dict[str, object] | None = None, records: list[dict[str, Any]] | None = None,
           school: str = "石门镇中心小学") -> Path:
    path = tmp_path / "ledger.xlsx"
    new_ledger(path, records if records is not None else [RECORDS[0]], school=school)
    if edits:
        wb = load_workbook(path)
        ws = wb["台账"]
        for key, value in edits.items():
            cell = ws[f"{LETTER[key]}5"]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
        wb.save(path)
    return path


def found(path: Path) -> list[tuple[str, str, str]]:
    report = checker.check_ledger(path, AS_OF)
    assert report.readable
    return [(f.cell, f.code, f.severity) for f in report.findings]


def test_clean_sample_ledgers_have_zero_findings() -> None:
    report = checker.check_ledger([SAMPLES / "ledger-clean.xlsx", SAMPLES / "ledger-b.xlsx"], AS_OF)
    assert report.findings == [] and report.valid
    assert [f.rows for f in report.files] == [6, 6]


def test_filled_sample_reports_every_planted_mistake() -> None:
    report = checker.check_ledger(SAMPLES / "ledger-filled.xlsx", AS_OF)
    got = {(f.cell, f.code) for f in report.findings}
    assert got == {
        ("I5", "duplicate-id"), ("U7", "enum"), ("AB5", "compel-notice-due"), ("I6", "id-checksum"), ("Y6", "date-order"),
        ("I7", "id-precision-lost"), ("F8", "id-sex-mismatch"), ("AA8", "attempt-count"),
        ("AB8", "compel-notice-due"), ("P9", "phone-format"), ("AE9", "status-incomplete"),
        ("T10", "date-format"), ("AC10", "date-future"), ("I11", "duplicate-id"), ("N11", "required"),
    }
    enum_finding = next(f for f in report.findings if f.code == "enum")
    assert "因贫" in enum_finding.message and enum_finding.column == "辍学原因" and enum_finding.sheet == "台账"


IDN = RECORDS[0]["student"]["id_number"]
BAD_BIRTH = "520121" + "20130230" + "011"
OTHER_ID = make_id(seq="035")


@pytest.mark.parametrize(
    ("edits", "cell_key", "code"),
    [
        ({"name": None}, "name", "required"),
        ({"id_number": "52012120130512"}, "id_number", "id-format"),
        ({"id_number": IDN[:17] + ("1" if IDN[17] != "1" else "2")}, "id_number", "id-checksum"),
        ({"id_number": BAD_BIRTH + id_check_char(BAD_BIRTH)}, "id_number", "id-birthdate"),
        ({"id_number": float(IDN)}, "id_number", "id-precision-lost"),
        ({"id_number": IDN[:15] + "000"}, "id_number", "id-precision-lost"),
        ({"sex": "女"}, "sex", "id-sex-mismatch"),
        ({"birth_date": "2013-05-13"}, "birth_date", "id-birth-mismatch"),
        ({"xjh": "G123"}, "xjh", "xjh-format"),
        ({"xjh": "G" + OTHER_ID}, "xjh", "xjh-mismatch"),
        ({"phone": "12345"}, "phone", "phone-format"),
        ({"dropout_date": "2024-13-01"}, "dropout_date", "date-format"),
        ({"compel_date": date(2030, 1, 1)}, "compel_date", "date-future"),
        ({"reason": "家庭经济特别困难"}, "reason", "enum"),
        ({"attempt_count": "两次"}, "attempt_count", "number-format"),
        ({"return_date": date(2024, 1, 1)}, "return_date", "date-order"),
        ({"attempt_count": 1}, "attempt_count", "attempt-count"),
        ({"compel_issued": "否", "compel_date": None}, "compel_issued", "compel-notice-due"),
        ({"status": "无法劝返"}, "status", "poverty-closed"),
    ],
)
def test_one_planted_error_gives_exactly_that_finding(tmp_path: Path, edits: dict[str, object], cell_key: str,
                                                      code: str) -> None:
    assert found(ledger(tmp_path, edits)) == [
        (f"{LETTER[cell_key]}5", code, "warning" if code in {"xjh-mismatch", "compel-notice-due", "poverty-closed"} else "error")
    ]


def test_status_incomplete(tmp_path: Path) -> None:
    path = ledger(tmp_path, {"placement": None}, records=[RECORDS[1]])  # 已复学 without 安置方式
    assert found(path) == [(f"{LETTER['placement']}5", "status-incomplete", "error")]


def test_age_range(tmp_path: Path) -> None:
    record = copy.deepcopy(RECORDS[0])
    old = make_id(born="20050101")
    record["student"].update(id_number=old, xjh="G" + old, birth_date="2005-01-01")
    assert found(ledger(tmp_path, records=[record])) == [(f"{LETTER['dropout_date']}5", "age-range", "warning")]


def test_duplicate_id_within_and_across_files(tmp_path: Path) -> None:
    path = ledger(tmp_path, records=[RECORDS[0], RECORDS[0]])
    report = checker.check_ledger(path, AS_OF)
    dups = [f for f in report.findings if f.code == "duplicate-id"]
    assert [(f.cell, "第6行" in f.message or "第5行" in f.message) for f in dups] == [("I5", True), ("I6", True)]
    other = tmp_path / "other"
    other.mkdir()
    new_ledger(other / "b.xlsx", [RECORDS[0]], school="石门镇中心小学")
    report = checker.check_ledger([ledger(tmp_path), other / "b.xlsx"], AS_OF)
    dups = [f for f in report.findings if f.code == "duplicate-id"]
    assert len(dups) == 2 and "b.xlsx" in dups[0].message and "ledger.xlsx" in dups[1].message


def test_school_mismatch_and_header_missing(tmp_path: Path) -> None:
    assert found(ledger(tmp_path, school="别的学校")) == [(f"{LETTER['school']}5", "school-mismatch", "warning")]
    path = ledger(tmp_path)
    wb = load_workbook(path)
    wb["台账"][f"{LETTER['reason']}3"].value = "原因说明"  # no longer a known header
    wb.save(path)
    report = checker.check_ledger(path, AS_OF)
    assert [(f.code, f.column, f.row) for f in report.findings] == [("header-missing", "辍学原因", 4)]


def test_unusual_but_valid_writings_are_accepted(tmp_path: Path) -> None:
    fw = "".join(chr(ord(c) + 0xFEE0) for c in RECORDS[0]["guardian"]["phone"])
    edits = {"dropout_date": "2024.3.4", "poverty": "√", "phone": f" {fw}\u3000", "name": "王小明\u00a0",
             "attempt1": "2024年3月12日", "attempt2": 20240320, "relation": "父", "birth_date": "2013.05",
             "id_number": IDN.lower() + " "}
    assert found(ledger(tmp_path, edits)) == []


def test_messy_real_world_layout(tmp_path: Path) -> None:
    """Title rows, a two-row header, columns in another order with synonyms, blank rows, extra columns."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws["A1"] = "龙井乡中学2024年春季学期辍学学生台账"
    ws.merge_cells("A1:L1")
    ws["A2"] = "填报单位：龙井乡中学"
    top = ["姓名", "身份证号码", "性别", "学校名称", "年级", "家长姓名", "家长电话", "类别", "辍学时间", "原因",
           "劝返情况", None, "责任人", "状态", "联系人备注"]
    sub = [None] * 10 + ["第一次", "第二次"] + [None] * 3
    for c, (a, b) in enumerate(zip(top, sub, strict=True), 1):
        ws.cell(3, c, a)
        ws.cell(4, c, b)
    ws.merge_cells("K3:L3")
    rec = RECORDS[6]
    row = [rec["student"]["name"], rec["student"]["id_number"], "男", "龙井乡中学", "初二", "龙大山", "13688520007",
           "辍学", "2024.3.11", "外出务工", "2024/3/19", "2024-03-27", "潘学文", "劝返中", "电话常打不通"]
    for c, value in enumerate(row, 1):
        ws.cell(6, c, value)  # row 5 left blank on purpose
    path = tmp_path / "messy.xlsx"
    wb.save(path)
    table = read_ledger(path)
    assert table.sheet == "Sheet1" and table.header_row == 4 and table.declared["school"] == "龙井乡中学"
    assert "联系人备注" in table.extra_headers and [n for n, _ in table.rows] == [6]
    report = checker.check_ledger(path, AS_OF)
    assert [(f.cell, f.code) for f in report.findings] == [], report.findings
    assert read_rows(path)[0][1]["case"]["attempts"] == [{"date": "2024/3/19"}, {"date": "2024-03-27"}]


def test_ledger_new_roster_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "new.xlsx"
    result = CliRunner().invoke(cli, ["ledger", "new", "-o", str(out), "--roster", str(SAMPLES / "roster.xlsx"),
                                      "--school", "石门镇中心小学"])
    assert result.exit_code == 0, result.output
    rows = [r for _, r in read_rows(out)]
    assert len(rows) == len(RECORDS)
    for got, want in zip(rows, RECORDS, strict=True):
        assert got["student"]["id_number"] == want["student"]["id_number"]
        assert got["guardian"]["phone"] == want["guardian"]["phone"]
        assert str(got["case"]["dropout_date"])[:10] == want["case"]["dropout_date"]
    wb = load_workbook(out)
    ws = wb["台账"]
    assert ws[f"{LETTER['id_number']}5"].number_format == "@" and ws.freeze_panes == "F5"
    assert wb["枚举"].sheet_state == "hidden" and "填表说明" in wb.sheetnames
    assert any("枚举" in dv.formula1 for dv in ws.data_validations.dataValidation)
    assert CliRunner().invoke(cli, ["ledger", "new", "-o", str(out)]).exit_code == 2  # never overwrite silently


def test_formula_payloads_are_written_as_text(tmp_path: Path) -> None:
    record = copy.deepcopy(RECORDS[0])
    record["student"]["name"] = "=cmd|' /c calc'!A0"
    record["guardian"]["address"] = "+1+1"
    path = tmp_path / "f.xlsx"
    new_ledger(path, [record])
    ws = load_workbook(path)["台账"]
    for key in ("name", "address"):
        assert ws[f"{LETTER[key]}5"].data_type == "s"


def test_cli_json_equals_library(tmp_path: Path) -> None:
    path = SAMPLES / "ledger-filled.xlsx"
    result = CliRunner().invoke(cli, ["ledger", "check", str(path), "--json", "--as-of", "2024-05-01"])
    assert result.exit_code == 1
    assert json.loads(result.output) == checker.check_ledger(path, AS_OF).to_dict()
    clean = CliRunner().invoke(cli, ["ledger", "check", str(SAMPLES / "ledger-clean.xlsx"), "--as-of", "2024-05-01"])
    assert clean.exit_code == 0 and "未发现问题" in clean.output


def test_annotate_marks_copy_and_never_touches_input(tmp_path: Path) -> None:
    source = tmp_path / "in.xlsx"
    source.write_bytes((SAMPLES / "ledger-filled.xlsx").read_bytes())
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, ["ledger", "check", str(source), "--as-of", "2024-05-01",
                                      "--annotate", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    wb = load_workbook(tmp_path / "out" / "in.checked.xlsx")
    ws = wb["台账"]
    assert ws["I6"].fill.fgColor.rgb.endswith("FFC7CE") and "id-checksum" in ws["I6"].comment.text
    assert ws["AB8"].fill.fgColor.rgb.endswith("FFEB9C")
    results = wb["检查结果"]
    assert results["A1"].value == "in.xlsx 检查结果" and str(results["A2"].value).startswith("检查日期：")
    assert results["A3"].value == "文件" and results["E4"].hyperlink and results["H4"].alignment.wrap_text


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"just some text, not a workbook", "file-type"), (b"", "file-empty"), (b"PK\x03\x04truncated", "file-corrupt")],
)
def test_unusable_files_exit_2(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        read_ledger(path)
    assert err.value.code == code and str(path) in str(err.value)
    result = CliRunner().invoke(cli, ["ledger", "check", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output and str(path) in result.output


@needs_soffice
def test_xls_files_are_read(tmp_path: Path) -> None:
    import subprocess

    from formkit.pdf import find_soffice

    src = tmp_path / "clean.xlsx"
    src.write_bytes((SAMPLES / "ledger-clean.xlsx").read_bytes())
    subprocess.run([find_soffice(), f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--headless",
                    "--convert-to", "xls", "--outdir", str(tmp_path), str(src)], check=True, capture_output=True,
                   timeout=120)
    report = checker.check_ledger(tmp_path / "clean.xls", AS_OF)
    assert report.readable and report.files[0].rows == 6
    assert report.findings == []


def test_password_protected_workbook_is_refused(tmp_path: Path) -> None:
    # An encrypted .xlsx is an OLE compound file holding an "EncryptedPackage" stream.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64)
    with pytest.raises(InputFileError) as err:
        read_ledger(path)
    assert err.value.code == "file-encrypted" and "密码" in str(err.value)


def test_huge_dimension_is_refused_before_parsing(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "huge.xlsx"
    wb = Workbook()
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert re.search(r"<sheetData\s*/>|<sheetData></sheetData>", sheet)
    sheet = re.sub(r"<sheetData\s*/>|<sheetData></sheetData>", '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
                          '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData>', sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(InputFileError) as err:
        read_ledger(path)
    assert err.value.code == "file-too-large" and "1048576" in str(err.value)


def test_template_workbook_reads_only_its_ledger_sheet(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    report = checker.check_ledger(path, AS_OF)
    [summary] = report.files
    assert summary.sheets == ["台账"] and summary.rows == 1
    skipped = dict(summary.skipped)
    assert "填表说明" in skipped and skipped["枚举"] == "隐藏的工作表"
