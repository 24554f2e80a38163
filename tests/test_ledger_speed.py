"""The ledger check at reading speed: the guard's fast scan never vouches for a sheet the
expat reading would refuse, each ID is parsed once, and garbage collection is paused."""

from __future__ import annotations

import gc
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import formkit.ledger.check as checker
from formkit.core import validators as v
from formkit.core.errors import ValueProblem
from formkit.tables.xlsx_guard import Limits, _fast_extent, check_spreadsheet
from tests.helpers import SAMPLES
from tests.test_guard import _far, _package, _refused, test_far_cell_in_any_spelling_is_refused


def _sheet_vouched(path: Path, limits: Limits | None = None) -> bool:
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename == "xl/worksheets/sheet1.xml")
        return _fast_extent(archive, info, limits or Limits())


@pytest.mark.parametrize("name", ["ledger-filled.xlsx", "ledger-clean.xlsx", "roster.xlsx"])
def test_ordinary_sheets_take_the_fast_path(name: str) -> None:
    assert _sheet_vouched(SAMPLES / name)
    check_spreadsheet(SAMPLES / name)


@pytest.mark.parametrize("row", test_far_cell_in_any_spelling_is_refused.pytestmark[0].args[1] + [  # type: ignore[attr-defined]
    '<row r="3"><c r="GS3"><v>1</v></c></row>',  # column 201, in the usual spelling
    '<row r="3"><c r="A3000000"><v>1</v></c></row>',  # a row far below every <row r>
    '<row r="3"><c r="B3" t="s"><v>1</v></c><!-- <c r="XFD3"/> --></row>',
    '<row r="3"><c t="n" r="XFD3"><v>1</v></c></row>',  # r not the first attribute
])
def test_fast_scan_never_vouches_for_a_far_cell(row: str, tmp_path: Path) -> None:
    path = _package(tmp_path, _far(row))
    assert not _sheet_vouched(path)
    if "<!--" not in row:
        _refused(path)


def test_fast_scan_leaves_claims_and_near_limits_to_the_full_reading(tmp_path: Path) -> None:
    claimed = _package(tmp_path, lambda s: s.replace('<dimension ref="A1:C2"/>', '<dimension ref="A1:XFD1048576"/>'))
    assert not _sheet_vouched(claimed)
    _refused(claimed)
    rows = '<row r="60"><c r="A60"><v>1</v></c></row>'
    assert "第 60" in _refused(_package(tmp_path, _far(rows)), limits=Limits(max_rows=50))


def test_each_id_parsed_once_and_gc_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = v.parse_id

    def counting(value: Any) -> v.IdInfo:
        calls.append(str(value))
        return real(value)

    monkeypatch.setattr(v, "parse_id", counting)
    assert gc.isenabled()
    report = checker.check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    assert gc.isenabled()
    filled = [c for c in report.cases if "id_number" in c.values or "id_number" in c.invalid]
    with_xjh = [c for c in filled if isinstance(c.values.get("xjh"), v.XjhInfo) and "id_number" in c.values]
    assert len(with_xjh) >= 5
    # The 学籍号 G + ID reuses the row's parsed ID: before, each such row parsed its ID twice.
    assert len(calls) < len(filled) + len(with_xjh)
    for case in with_xjh:
        number = case.values["id_number"].number
        assert case.values["xjh"] == v.XjhInfo("G" + number, "G", case.values["id_number"].birth_date, number)


def test_remembered_parsers_answer_as_the_parser_does() -> None:
    parse = checker._remembering(v.parse_yes_no)
    for raw in (True, 1, 1.0, "是", "否", False, 0, "是", True):
        assert parse(raw) == v.parse_yes_no(raw) and type(parse(raw)) is type(v.parse_yes_no(raw))
    dates = checker._remembering(v.parse_date)
    assert dates("2024-03-01") == date(2024, 3, 1) and dates("2024-03-01") == date(2024, 3, 1)
    raised = []
    for _ in range(2):
        with pytest.raises(ValueProblem) as err:
            dates("2024-13-45")
        raised.append(err.value)
    assert raised[0] is not raised[1] and raised[0].code == raised[1].code
    assert raised[0].__traceback__ is not None and len(list(_frames(raised[1]))) == len(list(_frames(raised[0])))


def _frames(exc: BaseException) -> Any:
    tb = exc.__traceback__
    while tb is not None:
        yield tb
        tb = tb.tb_next


def test_repeated_bad_cells_each_get_their_finding(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "l.xlsx"
    wb = load_workbook(SAMPLES / "ledger-filled.xlsx")
    ws = wb.active
    assert ws is not None
    header = next(r for r in ws.iter_rows(min_row=1, max_row=6) if any(c.value == "出生日期" for c in r))
    column = next(c.column for c in header if c.value == "出生日期")
    for row in range(header[0].row + 2, ws.max_row + 1):
        if ws.cell(row, column).value is not None:
            ws.cell(row, column).value = "2010年13月"
    wb.save(path)
    report = checker.check_ledger(path, date(2024, 5, 1))
    bad = [f for f in report.findings if f.column == "出生日期" and f.severity == "error"]
    assert len(bad) == len(report.cases) >= 5 and len({f.row for f in bad}) == len(bad)
    assert all("birth_date" in c.invalid for c in report.cases)
