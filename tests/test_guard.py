"""The spreadsheet guard: every sheet found, every spelling of a far reference counted.

Each case is a small valid package that calamine would read (and abort on, for a far
cell); the guard must refuse it before any parser sees it. The subprocess tests in
test_hostile.py run the same files through the CLI under a memory limit.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from formkit.core.errors import InputFileError
from formkit.ledger.check import check_ledger
from formkit.tables.xlsx_guard import Limits, check_spreadsheet
from tests.helpers import ROOT, SAMPLES

BAD = ROOT / "tests" / "data" / "bad"
SHEET = "xl/worksheets/sheet1.xml"


def _workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(["学生姓名", "身份证号", "辍学原因"])
    ws.append(["王小明", "x", "学习困难"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _package(tmp_path: Path, edit: Callable[[str], str] = lambda s: s, moves: dict[str, str] | None = None,
             extra: dict[str, str] | None = None) -> Path:
    """A copy of a small workbook with the sheet XML edited, members renamed (references in the
    other parts rewritten), and extra members added."""
    src = zipfile.ZipFile(io.BytesIO(_workbook()))
    moves = moves or {}
    out = tmp_path / "t.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            text = src.read(info).decode()
            if info.filename == SHEET:
                text = edit(text)
            for old, new in moves.items():
                text = text.replace("/" + old, "/" + new).replace(old.removeprefix("xl/"), new.removeprefix("xl/"))
            z.writestr(moves.get(info.filename, info.filename), text)
        for name, text in (extra or {}).items():
            z.writestr(name, text)
    return out


def _far(row: str) -> Callable[[str], str]:
    return lambda s: s.replace("</sheetData>", row + "</sheetData>")


def _refused(path: Path, code: str = "file-too-large", limits: Limits | None = None) -> str:
    with pytest.raises(InputFileError) as err:
        check_spreadsheet(path, limits)
    assert err.value.code == code, str(err.value)
    assert path.name in str(err.value) or str(path) in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("row", [
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>",
    '<row r = "1048576"><c  r =\n"XFD1048576" ><v>1</v></c></row>',
    '<row r="3"><c r="&#88;FD3"><v>1</v></c></row>',  # a character reference the XML parser decodes
    '<row r="3"><c r="xfd3"><v>1</v></c></row>',  # lower-case letters
    '<row r="3"><c r="$XFD$3"><v>1</v></c></row>',
    '<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="3">'
    '<x:c r="XFD3"><x:v>1</x:v></x:c></x:row>',
    '<row r="3">' + "<c><v>1</v></c>" * 201 + "</row>",  # cells without r are placed one after another
])
def test_far_cell_in_any_spelling_is_refused(row: str, tmp_path: Path) -> None:
    _refused(_package(tmp_path, _far(row)))


def test_rows_without_numbers_are_counted(tmp_path: Path) -> None:
    rows = "<row><c><v>1</v></c></row>" * 60
    limits = Limits(max_rows=50)
    assert "第 5" in _refused(_package(tmp_path, _far(rows)), limits=limits)


def test_far_row_in_a_cell_reference_is_not_hidden_by_a_later_row(tmp_path: Path) -> None:
    rows = '<row r="3"><c r="A500"><v>1</v></c></row><row r="4"><c r="A4"><v>1</v></c></row>'
    assert "第 500 行" in _refused(_package(tmp_path, _far(rows)), limits=Limits(max_rows=100))


def test_claimed_extent_is_refused(tmp_path: Path) -> None:
    message = _refused(_package(tmp_path, lambda s: s.replace('<dimension ref="A1:C2"/>', "<dimension ref='A1:XFD1048576'/>")))
    assert "dimension" in message


def test_merge_over_the_whole_sheet_is_refused(tmp_path: Path) -> None:
    path = _package(tmp_path, lambda s: s.replace("</sheetData>", '</sheetData><mergeCells count="1">'
                                                  '<mergeCell ref="A3:XFD1048576"/></mergeCells>'))
    _refused(path)


@pytest.mark.parametrize("moves", [
    {SHEET: "xl/data/table.xml"},
    {SHEET: "elsewhere/sheet.xml"},
    {SHEET: "xl/worksheets/SHEET1.XML"},
    {SHEET: "XL/WORKSHEETS/sheet1.xml"},
])
def test_sheet_anywhere_in_the_package_is_found(moves: dict[str, str], tmp_path: Path) -> None:
    path = _package(tmp_path, _far('<row r="9"><c r="XFD9"><v>1</v></c></row>'), moves)
    _refused(path)


def test_sheet_found_through_workbook_ids_even_with_an_odd_relationship_type(tmp_path: Path) -> None:
    path = _package(
        tmp_path,
        _far('<row r="9"><c r="XFD9"><v>1</v></c></row>'),
        {SHEET: "xl/misc/part.xml"},
    )
    raw = zipfile.ZipFile(path)
    parts = {i.filename: raw.read(i) for i in raw.infolist()}
    raw.close()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet", "urn:x-odd").encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    _refused(path)


def test_dtd_is_refused_wherever_it_hides(tmp_path: Path) -> None:
    dtd = '<!DOCTYPE x [<!ENTITY a "aaaa">]>'
    late = _package(tmp_path, lambda s: "<!--" + " " * 20000 + "-->" + dtd + s.split("?>", 1)[-1])
    _refused(late, "file-hostile")
    upper = _package(tmp_path, extra={"xl/Extra.XML": '<?xml version="1.0"?>' + dtd + "<a/>"})
    _refused(upper, "file-hostile")


def test_ordinary_workbooks_pass(tmp_path: Path) -> None:
    for path in (SAMPLES / "ledger-filled.xlsx", SAMPLES / "roster.xlsx", _package(tmp_path)):
        assert check_spreadsheet(path) == "xlsx"


def test_folder_with_one_bad_file_reports_every_other_file(tmp_path: Path) -> None:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    for i in range(3):
        shutil.copy(SAMPLES / "ledger-filled.xlsx", folder / f"学校{i}.xlsx")
    shutil.copy(BAD / "far-cell-moved-sheet.xlsx", folder / "坏文件.xlsx")
    report = check_ledger(folder)
    assert len(report.files) == 4
    assert [f.path for f in report.files if f.error] == [str(folder / "坏文件.xlsx")]
    assert all(f.rows > 0 for f in report.files if not f.error)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-m", "formkit.cli", "ledger", "check", str(folder), "--as-of",
                             "2024-05-01"], capture_output=True, text=True, timeout=120, env=env, preexec_fn=limit,
                            check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    for i in range(3):
        assert f"学校{i}.xlsx（工作表" in result.stdout
    assert "坏文件.xlsx：无法读取" in result.stdout
