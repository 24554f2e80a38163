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


def test_sheet_read_row_by_row_is_the_grid_from_a1_with_texts_kept_once(tmp_path: Path) -> None:
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook

    from formkit.tables.reader import _sheet_grid

    path = tmp_path / "margins.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    # Data from C5 (rows and columns before it empty), numbers, a bool, -0.0, and a repeated text.
    ws["C5"], ws["E9"], ws["D7"], ws["D8"], ws["F6"] = "石门镇", 2.0, -0.0, True, 0
    ws["C6"], ws["C7"] = "石门镇", "石门镇"
    wb.create_sheet("top")["A3"] = "a"
    wb.create_sheet("left")["B1"] = "b"
    wb.create_sheet("empty")
    wb.save(path)
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        expected = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        got = _sheet_grid(book, name, path)
        assert got == expected
        assert [[type(x) for x in row] for row in got] == [[type(x) for x in row] for row in expected]
    grid = _sheet_grid(book, book.sheet_names[0], path)
    assert str(grid[6][3]) == "-0.0"
    assert grid[4][2] is grid[5][2] is grid[6][2]


@pytest.mark.parametrize("max_row", [1, 9, 10, 11, 99, 100, 101, 50003, 1_048_576])
@pytest.mark.parametrize("max_col", [1, 26, 27, 34, 53, 200, 702, 703, 16_384])
def test_unvouched_cell_is_exactly_a_cell_beyond_the_extent(max_row: int, max_col: int) -> None:
    from formkit.tables.xlsx_guard import _letters, _unvouched_cell

    pattern = _unvouched_cell(max_row, max_col)
    rows = {1, 2, 9, 10, 11, 99, 100, max_row - 1, max_row, max_row + 1, max_row * 10, 9_999_999}
    cols = {1, 2, 26, 27, 52, 53, 702, 703, max_col - 1, max_col, max_col + 1, 18_278}
    for row in (r for r in rows if 1 <= r <= 9_999_999):
        for col in (c for c in cols if 1 <= c <= 18_278):
            tag = f'<c r="{_letters(col)}{row}" s="1" t="s"><v>0</v></c>'.encode()
            assert (pattern.search(tag) is None) == (row <= max_row and col <= max_col), (row, col)
    for odd in (b'<c r="A01">', b'<c r="a1">', b'<c  r="A1">', b"<c r='A1'>", b'<c r="A1"x>', b'<c r="AAAA1">',
                b'<c t="s" r="A1">', b'<c r="$A$1">', b'<c r="A1\'>'):
        assert pattern.search(odd + b"<v>1</v></c>"), odd


def test_guard_scan_finds_a_far_cell_after_many_ordinary_rows(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}"><v>{r}</v></c></row>' for r in range(3, 40_000))
    tail = '<row r="40000"><c r="A40000"><v>1</v></c><c r="C40001"><v>1</v></c></row>'
    far = _package(tmp_path, _far(rows + tail))
    assert not _sheet_vouched(far)
    near = _package(tmp_path, _far(rows))
    assert _sheet_vouched(near)
    wide = _package(tmp_path, _far(rows + '<row r="40000"><c r="GS40000"><v>1</v></c></row>'))
    assert not _sheet_vouched(wide)
    _refused(wide)


def test_id_check_character_in_one_call_agrees_with_the_weighted_sum() -> None:
    import random

    rng = random.Random(13)
    for _ in range(20_000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        assert v.id_check_char(first17) == v.ID_CHECK[sum(int(c) * w for c, w in zip(first17, v.ID_WEIGHTS, strict=True)) % 11]
    assert v.id_check_char("５２００００２０１３０５１２００１") == v.id_check_char("52000020130512001")
    with pytest.raises(ValueError):
        v.id_check_char("5200002013051200")


def test_parsed_numbers_are_the_cells_own_strings() -> None:
    first17 = "52000020130512001"
    cell = "".join([first17, v.id_check_char(first17)])  # a string object of its own, as a reader gives it
    info = v.parse_id(cell)
    assert info.number is cell and info.birth_date == date(2013, 5, 12) and info.sex == "男"
    assert v.parse_id(" " + cell.lower() + " ").number == cell
    assert v.normalize_phone("13885120001") == "13885120001" and v.normalize_phone("+86 138-8512-0001") == "13885120001"
    assert v.parse_count(2.0) == 2 and type(v.parse_count(2.0)) is int and v.parse_count(-0.0) == 0
    with pytest.raises(ValueProblem):
        v.parse_count(-1.0)


def test_xjh_fast_path_answers_as_parse_xjh(tmp_path: Path) -> None:
    report = checker.check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    cases = [c for c in report.cases if isinstance(c.values.get("xjh"), v.XjhInfo)]
    assert cases
    for case in cases:
        raw = case.raw("xjh")
        assert case.values["xjh"] == v.parse_xjh(raw)
