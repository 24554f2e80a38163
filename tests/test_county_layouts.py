"""County workbooks formkit has never seen (tests/data/county, built by tests/make_county_corpus.py).

Each expectation below was written by hand from the planted errors listed in the generator, not
copied from formkit's output: every planted error must be found, and nothing else — no finding on
a clean row, a title, a header, a 合计/小计 row, a 注： line or a 填表人 signature row.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from formkit.cli import cli
from formkit.core.errors import UsageError
from formkit.core.settings import Settings
from formkit.documents.batch import InvalidRosterError, batch, load_settings
from formkit.documents.roster import read_records, read_rows, sheet_of
from formkit.ledger.check import LedgerReport, check_ledger
from formkit.ledger.due import due
from formkit.ledger.workbook import annotate
from formkit.tables.columns import HeaderMatcher, normalise_header
from formkit.tables.reader import read_ledger, read_workbook
from tests.helpers import make_id

COUNTY = Path(__file__).resolve().parent / "data" / "county"
AS_OF = date(2024, 5, 1)

# (sheet, row, column letter) → finding code, from the comments in make_county_corpus.py.
EXPECTED_A = {
    ("辍学学生台账", 5, "E"): "id-checksum",
    ("辍学学生台账", 6, "J"): "phone-format",
    ("辍学学生台账", 7, "M"): "enum",
    ("辍学学生台账", 8, "R"): "status-incomplete",
}
EXPECTED_B = {
    ("红岩小学", 5, "H"): "phone-format",
    ("红岩小学", 6, "D"): "duplicate-id",
    ("红岩小学", 6, "P"): "compel-notice-due",
    ("红岩小学", 7, "M"): "date-order",
    ("红岩小学", 8, "G"): "required",
    ("青山中学", 5, "D"): "duplicate-id",
    ("青山中学", 6, "C"): "id-sex-mismatch",
    ("青山中学", 7, "R"): "enum",
    ("青山中学", 8, "J"): "date-future",
}


def found(report: LedgerReport) -> dict[tuple[str, int, str], str]:
    out = {}
    for f in report.findings:
        key = (f.sheet, f.row, f.cell.rstrip("0123456789"))
        assert key not in out, f"two findings at {key}: {out[key]} and {f.code}"
        out[key] = f.code
    return out


@pytest.mark.parametrize("name", ["county-a.xlsx", "county-a.xls"])
def test_single_sheet_county_ledger_xlsx_and_xls(name: str) -> None:
    report = check_ledger(COUNTY / name, AS_OF)
    assert report.readable
    assert found(report) == EXPECTED_A
    table = report.tables[0]
    assert table.declared["school"] == "石桥小学" and table.header_row == 3
    assert [n for n, _ in table.rows] == [4, 5, 6, 7, 8, 9]
    assert [n for n, _ in table.skipped_rows] == [10, 12]  # 合计 and 填表人/审核人
    assert table.cell(6, "phone") == "J6" and table.columns["sex"][1] == "性别(男/女)"


def test_xls_gives_the_same_findings_as_xlsx() -> None:
    def strip(report: LedgerReport) -> list[tuple[object, ...]]:
        return [(f.sheet, f.row, f.cell, f.code, f.severity, f.message, f.value) for f in report.findings]

    assert strip(check_ledger(COUNTY / "county-a.xls", AS_OF)) == strip(check_ledger(COUNTY / "county-a.xlsx", AS_OF))


def test_every_school_sheet_is_read_and_others_are_skipped_with_reasons() -> None:
    book = read_workbook(COUNTY / "county-b.xlsx")
    assert [t.sheet for t in book.tables] == ["红岩小学", "青山中学"]
    assert [s for s, _ in book.skipped] == ["填表说明", "Sheet3"]
    assert "填表说明" in book.skipped[0][1] and "空白" in book.skipped[1][1]
    for table in book.tables:
        assert table.header_row == 3
        assert [n for n, _ in table.rows] == [4, 5, 6, 7, 8]
        assert table.unknown_headers == ["年龄(岁)"]
        letters = {key: table.cell(4, key)[0] for key in table.columns}
        assert letters == {"seq": "A", "name": "B", "sex": "C", "id_number": "D", "school": "E", "grade": "F",
                           "guardian": "G", "phone": "H", "category": "I", "dropout_date": "J", "reason": "K",
                           "attempt1": "L", "attempt2": "M", "attempt_count": "N", "responsible": "O",
                           "compel_issued": "P", "compel_date": "Q", "status": "R", "return_date": "S",
                           "placement": "T", "note": "V"}
        assert table.columns["compel_date"][1] == "敦返情况/敦返通知书下达时间"
        assert [p.code for p in table.header_problems] == ["header-unknown"]
    # 注：, its continuation line in the name column, 小计 and 填表人 rows are not students.
    assert {n for n, _ in book.tables[0].skipped_rows} == {10, 11, 12}
    assert {n for n, _ in book.tables[1].skipped_rows} == {9, 11, 12, 13}


def test_multi_sheet_workbook_findings_carry_their_sheet() -> None:
    report = check_ledger(COUNTY / "county-b.xlsx", AS_OF)
    assert found(report) == EXPECTED_B
    summary = report.files[0]
    assert summary.sheets == ["红岩小学", "青山中学"] and summary.rows == 10
    assert [s for s, _ in summary.skipped] == ["填表说明", "Sheet3"]
    assert summary.unknown == {"红岩小学": ["年龄(岁)"], "青山中学": ["年龄(岁)"]}
    dup = next(f for f in report.findings if f.sheet == "红岩小学" and f.code == "duplicate-id")
    assert "青山中学" in dup.message and "第5行" in dup.message


def test_annotated_copy_marks_each_sheet(tmp_path: Path) -> None:
    report = check_ledger(COUNTY / "county-b.xlsx", AS_OF)
    [written] = annotate(report, tmp_path)
    wb = load_workbook(written)
    for (sheet, row, letter), code in EXPECTED_B.items():
        comment = wb[sheet][f"{letter}{row}"].comment
        assert comment is not None and code in comment.text
    assert wb["红岩小学"]["U4"].value == 12  # the unknown 年龄 column is kept as it was


def test_cli_check_names_sheets_read_and_skipped() -> None:
    result = CliRunner().invoke(cli, ["ledger", "check", str(COUNTY / "county-b.xlsx"), "--as-of", "2024-05-01"])
    assert result.exit_code == 1, result.output
    assert "“红岩小学”、“青山中学”" in result.output
    assert "“填表说明”：填表说明等非台账工作表" in result.output and "“Sheet3”：空白工作表" in result.output
    assert "年龄(岁)" in result.output
    data = json.loads(CliRunner().invoke(
        cli, ["ledger", "check", str(COUNTY / "county-b.xlsx"), "--as-of", "2024-05-01", "--json"]).output)
    assert data["files"][0]["skipped"][0] == {"sheet": "填表说明", "reason": "填表说明等非台账工作表"}


def test_due_reads_the_group_header_notice_date() -> None:
    items = due(check_ledger(COUNTY / "county-b.xlsx", AS_OF), AS_OF)
    compel = {(i.sheet, i.row) for i in items if i.form == "compel-notice"}
    # 吴小军 (row 4) already has his notice under 敦返情况/敦返通知书下达时间: never a second one.
    assert ("红岩小学", 4) not in compel and ("红岩小学", 6) not in compel
    # 龙海 (红岩小学 row 6) is also 青山中学 row 5, in another state: neither row decides his paperwork.
    refused = {(i.sheet, i.row): i.reason for i in items if i.state == "refused"}
    # Each refusal names the other sheet and row the child is listed on.
    assert "还出现在：工作表“青山中学” 第5行" in refused[("红岩小学", 6)]
    assert "还出现在：工作表“红岩小学” 第6行" in refused[("青山中学", 5)]
    assert all(i.sheet in ("红岩小学", "青山中学") and 4 <= i.row <= 8 for i in items)


# --- the 学籍 export roster ---------------------------------------------------------------------

def test_xueji_roster_records() -> None:
    rows = dict(read_rows(COUNTY / "roster-xueji.xlsx"))
    assert sorted(rows) == [4, 5, 6, 7, 8]
    guardians = {n: (r["guardian"]["name"], r["guardian"].get("relation"), r["guardian"]["phone"])
                 for n, r in rows.items()}
    assert guardians == {
        4: ("陈大山", "父亲", "13885120101"),      # 成员1: nobody marked
        5: ("王兰", "祖母", "13885120202"),        # 成员2 关系 = 祖母（监护人）
        6: ("杨秀英", "母亲", "13885120302"),      # 成员2 是否监护人 = 是
        7: ("张建", "父亲", "13885120401"),
        8: ("林森", "父亲", "13885120501"),
    }
    assert [rows[n]["student"]["sex"] for n in (4, 5, 6, 7, 8)] == ["男", "女", "男", "女", "男"]
    assert rows[4]["student"]["birth_date"] == "2012-03-15" and rows[5]["student"]["birth_date"] == "2011-09-08"
    assert rows[4]["student"]["xjh"] == "G" + rows[4]["student"]["id_number"]
    assert "id_number" not in rows[8]["student"]  # a passport number is not a 身份证号
    assert rows[4]["guardian"]["address"] == "石桥村3组" and rows[4]["school"]["school"] == "石桥小学"


def test_batch_reads_the_xueji_roster(tmp_path: Path) -> None:
    settings = {"school_year": "2023-2024学年"}
    with pytest.raises(InvalidRosterError) as err:
        batch("pledge-parent", COUNTY / "roster-xueji.xlsx", tmp_path / "o", issuer=settings, dry_run=True,
              register=tmp_path / "r.sqlite")
    assert [(row, [p.code for p in problems]) for row, problems in err.value.rows] == [(7, ["id-checksum"])]
    result = batch("pledge-parent", COUNTY / "roster-xueji.xlsx", tmp_path / "o", issuer=settings, dry_run=True,
                   skip_invalid=True, register=tmp_path / "r.sqlite")
    assert sorted(i.row for i in result.items if i.status == "planned") == [4, 5, 6, 8]
    report = read_records(COUNTY / "roster-xueji.xlsx", "pledge-parent")
    assert [row for row, _ in report.problems] == [4, 5, 6, 7, 8]  # no 学年 without settings, as documented


def test_ledger_new_from_xueji_roster(tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    result = CliRunner().invoke(cli, ["ledger", "new", "-o", str(out), "--roster", str(COUNTY / "roster-xueji.xlsx")])
    assert result.exit_code == 0, result.output
    table = read_ledger(out)
    names = [(table.value(v, "name"), table.value(v, "guardian"), table.value(v, "sex")) for _, v in table.rows]
    assert names[:3] == [("陈小龙", "陈大山", "男"), ("刘芳", "王兰", "女"), ("杨勇", "杨秀英", "男")]


# --- header wording ---------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "group", "key"), [
    ("家长（监护人）\n姓名", "", "guardian"),
    ("家长(监护人)姓名", "", "guardian"),
    ("监护人\n联系电话", "", "phone"),
    ("监护人 联系电话", "", "phone"),
    ("性别(男/女)", "", "sex"),
    ("出生日期（年月）", "", "birth_date"),
    ("出生日期【年月日】", "", "birth_date"),
    ("辍学〔失学〕时间", "", "dropout_date"),
    ("下达时间", "敦返情况", "compel_date"),
    ("敦返通知书\n下达时间", "敦返情况", "compel_date"),
    ("是否下达", "敦返情况", "compel_issued"),
    ("第一次", "劝返情况", "attempt1"),
    ("第二次", "劝返情况", "attempt2"),
    ("姓名", "监护人", "guardian"),
    ("联系电话", "监护人", "phone"),
    ("劝返责任人\n联系电话", "", "responsible_phone"),
    ("身份证件号", "", "id_number"),
    ("现住址", "", "address"),
    ("县（市、区）", "", "county"),
    ("乡（镇）", "", "township"),
    ("学生　姓名", "", "name"),
])
def test_header_wordings(header: str, group: str, key: str) -> None:
    match = HeaderMatcher({}).match(header, group)
    assert match is not None and match.key == key, (header, group, match)


@pytest.mark.parametrize("header", ["年龄（岁）", "身份证件类型", "成员1姓名", "成员1联系电话", "出生地", "户口性质",
                                    "原因说明", "监护人身份证号"])
def test_headers_that_are_no_ledger_field(header: str) -> None:
    assert HeaderMatcher({}).match(header) is None


def test_normalise_header() -> None:
    assert normalise_header("家长（监护人）\n姓名 ") == "家长(监护人)姓名"
    assert normalise_header("性别\u00a0（男/女）") == "性别"
    assert normalise_header("年龄【岁】") == "年龄"
    assert normalise_header("*学生姓名：") == "学生姓名"


def small_ledger(path: Path, headers: list[str], row: list[object]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(headers)
    ws.append(row)
    wb.save(path)
    return path


HEADERS = ["学生姓名", "身份证号", "学校", "年级", "户主", "联系电话", "对象类别", "辍学时间", "辍学原因", "劝返责任人",
           "劝返状态"]
ROW = ["陈小龙", make_id("520102", "20120315", "011"), "石桥小学", "六年级", "陈大山", "13885120001", "辍学",
       "2024-03-04", "厌学", "王老师", "未劝返"]


def test_pinned_wording_from_option_and_config(tmp_path: Path) -> None:
    path = small_ledger(tmp_path / "a.xlsx", HEADERS, ROW)
    plain = check_ledger(path, AS_OF)
    assert [(f.code, f.column) for f in plain.findings] == [("header-missing", "监护人姓名")]
    assert check_ledger(path, AS_OF, columns={"户主": "guardian"}).findings == []
    runner = CliRunner()
    result = runner.invoke(cli, ["ledger", "check", str(path), "--as-of", "2024-05-01", "--column", "户主=guardian"])
    assert result.exit_code == 0, result.output
    (tmp_path / "formkit.toml").write_text('[columns]\n"户主" = "guardian"\n\n[issuer]\nbody = "石门镇"\n',
                                           encoding="utf-8")
    result = runner.invoke(cli, ["ledger", "check", str(path), "--as-of", "2024-05-01"])
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path / "formkit.toml")
    assert not any(k.startswith("columns") for k in settings) and settings["issuer.body"] == "石门镇"
    assert read_rows(path, settings=Settings(columns={"户主": "guardian"}))[0][1]["guardian"]["name"] == "陈大山"
    bad = runner.invoke(cli, ["ledger", "check", str(path), "--column", "户主=guardain"])
    assert bad.exit_code == 2 and "guardain" in bad.output and "Traceback" not in bad.output
    with pytest.raises(UsageError):
        check_ledger(path, AS_OF, columns={"户主": "nope"})


def test_two_columns_for_one_field_is_a_finding_naming_both(tmp_path: Path) -> None:
    headers = [*HEADERS[:5], "联系电话", "家长电话", *HEADERS[6:]]
    row = [*ROW[:5], "13885120001", "1388512", *ROW[6:]]
    path = small_ledger(tmp_path / "b.xlsx", headers, row)
    report = check_ledger(path, AS_OF, columns={"户主": "guardian"})
    [finding] = report.findings
    assert finding.code == "header-ambiguous" and finding.severity == "error"
    assert "F列“联系电话”" in finding.message and "G列“家长电话”" in finding.message
    pinned = check_ledger(path, AS_OF, columns={"户主": "guardian", "家长电话": "phone"})
    assert [(f.code, f.cell) for f in pinned.findings] == [("phone-format", "G2")]


def test_xueji_roster_as_csv_reads_the_same(tmp_path: Path) -> None:
    import csv

    wb = load_workbook(COUNTY / "roster-xueji.xlsx")
    ws = wb.active
    assert ws is not None
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)])
    assert read_rows(path) == read_rows(COUNTY / "roster-xueji.xlsx")


# --- the exact due list, and every part agreeing on every case ----------------------------------------

# (sheet, row) → (state, form, due since), written from the generator's comments with as_of 2024-05-01:
# 未劝返 → 返校通知书 a week after the dropout date; two failed visits and no notice → 敦返 from the
# second visit; a notice issued 3-15 with the default 7-day deadline → escalation from 3-22; rows whose
# data contradict themselves, a child listed twice, or a dropout "after today" → refused.
DUE_A = {
    ("辍学学生台账", 5): ("due", "return-notice", date(2024, 3, 12)),   # 刘芳 (bad ID: generation refuses)
    ("辍学学生台账", 6): ("due", "return-notice", date(2024, 3, 13)),   # 杨勇
    ("辍学学生台账", 7): ("due", "compel-notice", date(2024, 3, 20)),   # 张丽, visits 3-12 and 3-20
    ("辍学学生台账", 8): ("refused", "", AS_OF),                        # 赵磊 已复学 without 复学时间
}
DUE_B = {
    ("红岩小学", 4): ("due", "", date(2024, 3, 22)),                 # 吴小军: notice 3-15, deadline passed
    ("红岩小学", 6): ("refused", "", AS_OF),                         # 龙海, also 青山中学 row 5
    ("红岩小学", 7): ("refused", "", AS_OF),                         # 石梅: second visit before the first
    ("红岩小学", 8): ("due", "return-notice", date(2024, 3, 12)),    # 田甜 (no guardian: generation refuses)
    ("青山中学", 5): ("refused", "", AS_OF),                         # 龙海, also 红岩小学 row 6
    ("青山中学", 6): ("due", "return-notice", date(2024, 3, 8)),     # 韦丽 (sex/ID mismatch: generation refuses)
    ("青山中学", 7): ("refused", "", AS_OF),                         # 潘云: 劝返状态 unreadable
    ("青山中学", 8): ("refused", "", AS_OF),                         # 蒙杰: dropout date after as_of
}


@pytest.mark.parametrize(("name", "expected"), [("county-a.xlsx", DUE_A), ("county-a.xls", DUE_A),
                                                ("county-b.xlsx", DUE_B)])
def test_exact_due_list(name: str, expected: dict[tuple[str, int], tuple[str, str, date]], tmp_path: Path) -> None:
    items = due(check_ledger(COUNTY / name, AS_OF), AS_OF, register=tmp_path / "empty.sqlite")
    got = {(i.sheet, i.row): (i.state, i.form, i.due_since) for i in items}
    assert len(got) == len(items)  # one line per case in this corpus
    assert got == expected


@pytest.mark.parametrize("name", ["county-a.xlsx", "county-a.xls", "county-b.xlsx"])
def test_check_due_summary_and_batch_agree(name: str, tmp_path: Path) -> None:
    from formkit.ledger.summary import figures

    report = check_ledger(COUNTY / name, AS_OF)
    rows = [(c.sheet, c.row, c.text("name")) for c in report.cases]
    # summary counts the same students on the same rows
    assert sorted((c.row, c.name) for c in figures(report).cases) == sorted((r, n) for _, r, n in rows)
    # due decides on exactly the rows check read, and refuses every row whose contradiction check reported
    items = due(report, AS_OF, register=tmp_path / "empty.sqlite")
    assert {(i.sheet, i.row, i.name) for i in items} <= set(rows)
    refused = {(i.sheet, i.row) for i in items if i.state == "refused"}
    contradictory = {(f.sheet, f.row) for f in report.findings if f.severity == "error" and f.code in
                     ("date-order", "attempt-count", "status-incomplete", "compel-flag-conflict", "duplicate-id",
                      "date-future")}
    assert contradictory <= refused
    errors_at = {(f.sheet, f.row) for f in report.findings if f.severity == "error"}
    assert refused <= errors_at  # never refused without a finding the clerk can read in check
    # month-precision cells (2012.03, 2011年9月, 2024年2月) are accepted by check and by batch alike
    assert not [f for f in report.findings if f.code == "date-format"]
    settings = {"issuer.body": "青溪镇人民政府", "issuer.issue_date": "2024-05-06"}
    result = batch("return-notice", COUNTY / name, tmp_path / "o", issuer=settings, dry_run=True, skip_invalid=True,
                   register=tmp_path / "r.sqlite")
    # batch reads every ledger sheet check read, and names each row by sheet and row as check does
    assert result.sheets == [t.sheet for t in report.tables]
    assert sorted((i.sheet, i.row) for i in result.items) == sorted((s, r) for s, r, _ in rows)
    invalid = {(sheet_of(row), row): {p.code for p in problems} for row, problems in result.invalid}
    assert "date-format" not in set().union(*invalid.values())
    # every row due refuses for its own contradictions, batch refuses too
    assert refused <= set(invalid)
    # and batch refuses no row for a cell check found valid: each refusal matches a check error on that row
    assert set(invalid) <= errors_at


def test_roster_rows_agree_between_check_and_batch(tmp_path: Path) -> None:
    report = check_ledger(COUNTY / "roster-xueji.xlsx", AS_OF)
    result = batch("pledge-parent", COUNTY / "roster-xueji.xlsx", tmp_path / "o",
                   issuer={"school_year": "2023-2024学年"}, dry_run=True, skip_invalid=True,
                   register=tmp_path / "r.sqlite")
    assert sorted(i.row for i in result.items) == [c.row for c in report.cases] == [4, 5, 6, 7, 8]
    assert due(report, AS_OF) == []  # a roster tracks no case


def test_check_judges_a_roster_as_batch_does() -> None:
    """性别 1/2 and a 护照 number under 身份证件类型: check reads them as the roster reader (batch) does."""
    report = check_ledger(COUNTY / "roster-xueji.xlsx", AS_OF)
    row_errors = {(f.row, f.code) for f in report.findings if f.severity == "error" and f.row > 3}
    assert row_errors == {(7, "id-checksum")}


def test_a_pinned_wording_no_header_has_is_reported_not_silently_ignored(tmp_path: Path) -> None:
    path = small_ledger(tmp_path / "a.xlsx", HEADERS, ROW)
    report = check_ledger(path, AS_OF, columns={"户  主": "guardian", "家长姓名(户主)": "guardian"})
    # "户  主" is the sheet's 户主 (spaces do not count); the second wording is on no header: a typo.
    assert report.unused_pins == ["家长姓名(户主)"] and report.findings == []
    assert report.to_dict()["unused_pins"] == ["家长姓名(户主)"]
    result = CliRunner().invoke(cli, ["ledger", "check", str(path), "--as-of", "2024-05-01",
                                      "--column", "户主=guardian", "--column", "学生名字=name"])
    assert "列名说明“学生名字”在读到的表头中都没有找到" in result.output and "“户主”在" not in result.output
    assert check_ledger(path, AS_OF, columns={"户主": "guardian"}).unused_pins == []
