"""Writing Excel workbooks: the ledger template, pre-filled ledgers, annotated copies.

This is the only module that uses openpyxl. Every string value goes through
:func:`set_text`: stored as a text cell, so a value such as ``=cmd|' /c calc'!A0`` is never
a formula, and one that a spreadsheet would read as a formula (``= + - @``, tab, CR and
their full-width forms) also carries Excel's quote prefix, the cell-level form of the
OWASP leading-apostrophe rule: it shows literally and stays text when edited, while the
value itself is unchanged. ID, 学籍号 and phone columns are formatted as text (``@``) so
Excel cannot turn an ID into a float. Every workbook formkit writes about ledgers carries
a hidden defined name (:data:`OUTPUT_MARK`) so the checker can tell it from a ledger.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from formkit.core.enums import load_enums
from formkit.core.errors import FormkitError, OutputError, UsageError
from formkit.core.fileio import atomic_write, claim_output
from formkit.core.resources import template_bytes
from formkit.core.settings import Settings
from formkit.core.validators import format_date, neutralise_formula
from formkit.documents.roster import read_rows
from formkit.ledger.check import SPREADSHEET_SUFFIXES, Finding, LedgerReport, _copy_names, check_ledger
from formkit.ledger.summary import COUNT_KEYS, HEADERS, Summary, collect, report_record
from formkit.tables.columns import LEDGER_COLUMNS, Column

LEDGER_SHEET = "台账"
HELP_SHEET = "填表说明"
RESULT_HEADER_ROW = 3
"""Header row of the 检查结果 sheet (a title and the check date stand above it)."""
ENUM_SHEET = "枚举"
TITLE_ROW, INFO_ROW, GROUP_ROW, HEADER_ROW = 1, 2, 3, 4
FIRST_DATA_ROW = 5
TEMPLATE_ROWS = 500
"""Rows of the template that carry formats and dropdowns (Excel extends them when filled)."""

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_RED = PatternFill("solid", fgColor="FFC7CE")
_YELLOW = PatternFill("solid", fgColor="FFEB9C")
_TEXT_KINDS = {"text", "name", "id", "xjh", "phone"}
_DATE_KINDS = {"date", "month"}
MAX_CELL_TEXT = 32_767
"""Excel's limit for a cell's (and a comment's) text; longer text makes the file unreadable to it."""
OUTPUT_MARK = "_formkit_output"
"""Hidden workbook-level defined name on formkit's own outputs; its value says which output."""


def fit_text(text: str, limit: int = MAX_CELL_TEXT) -> str:
    """``text`` cut to Excel's limit (counted in UTF-16 units, as Excel counts), ending in …"""
    if len(text) <= limit // 2 or len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text[: limit - 1]
    while len(cut.encode("utf-16-le")) // 2 > limit - 1:
        cut = cut[: -max(1, (len(cut.encode("utf-16-le")) // 2 - limit + 1))]
    return cut + "…"


def set_text(cell: Cell, value: object) -> None:
    """Store ``value`` so that Excel shows it literally: never a formula, never a number.

    The one way formkit writes a string into a workbook: text type, within Excel's length
    limit, and with the quote prefix when a spreadsheet would otherwise read it as a formula.
    """
    if value is None:
        return
    # Control characters and U+FFFE/U+FFFF are illegal in XML and would make openpyxl refuse the value.
    text = fit_text(ILLEGAL_CHARACTERS_RE.sub("", str(value)).replace("\ufffe", "").replace("\uffff", ""))
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    if neutralise_formula(text) != text:
        cell.quotePrefix = True


def write_row(ws: Worksheet, row: int, values: Sequence[object]) -> None:
    """Write ``values`` into ``row`` of ``ws`` through :func:`write_value` (never ``ws.append``,
    which stores a string starting with ``=`` as a formula)."""
    for column, value in enumerate(values, 1):
        write_value(ws.cell(row, column), value)


_SEAL = b"formkit-checked sha256="


def _fingerprint(archive: zipfile.ZipFile) -> bytes:
    h = hashlib.sha256()
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        h.update(f"{info.filename}\0{info.CRC}\0{info.file_size}\n".encode())
    return h.hexdigest().encode()


def seal(data: bytes) -> bytes:
    """``data`` (an xlsx) with a zip comment fingerprinting its members as formkit wrote them.

    Excel and WPS write a fresh package on save, dropping the comment and changing the
    members, so :func:`untouched` can tell a copy nobody edited from one a clerk saved.
    """
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as archive:
        archive.comment = _SEAL + _fingerprint(archive)
    return buf.getvalue()


def untouched(path: Path) -> bool:
    """True when ``path`` is exactly a workbook :func:`seal` produced (only the zip directory is read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.comment == _SEAL + _fingerprint(archive)
    except (zipfile.BadZipFile, OSError):
        return False


def mark_output(wb: Workbook, kind: str) -> None:
    """Tag ``wb`` as formkit's own ``kind`` output (``summary``, ``checked``)."""
    wb.defined_names[OUTPUT_MARK] = DefinedName(OUTPUT_MARK, attr_text=f'"{kind}"', hidden=True)


def write_value(cell: Cell, value: object) -> None:
    """Write a typed value: dates and numbers as such, every string as plain text."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        set_text(cell, "是" if value else "否")
    elif isinstance(value, date | int | float):
        cell.value = value
    else:
        set_text(cell, value)


def _number_format(column: Column) -> str:
    if column.kind in _TEXT_KINDS or column.enum_name or column.kind == "bool":
        return "@"
    if column.kind in _DATE_KINDS:
        return "yyyy-mm-dd"
    return "General"


def build_ledger_template() -> Workbook:
    """The blank ledger workbook: title, two-row header, formats, dropdowns, help, print setup."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = LEDGER_SHEET
    n = len(LEDGER_COLUMNS)
    last = get_column_letter(n)
    ws.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.cell(TITLE_ROW, 1, "控辍保学辍学生台账").font = Font(name="黑体", size=16, bold=True)
    ws.cell(TITLE_ROW, 1).alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 30
    for c, text in ((1, "填报学校："), (8, "县(市、区)："), (14, "乡镇(街道)："), (20, "填报日期：")):
        ws.cell(INFO_ROW, c, text).font = Font(name="宋体", size=10, bold=True)
    enums = load_enums()
    help_ws = wb.create_sheet(HELP_SHEET)
    enum_ws = wb.create_sheet(ENUM_SHEET)
    enum_ws.sheet_state = "hidden"
    enum_col = 0
    group_start: dict[str, int] = {}
    for idx, column in enumerate(LEDGER_COLUMNS, 1):
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = column.width
        # A two-row header: grouped columns carry the group above their own header; the
        # others are merged down, and a merged range keeps only its top cell's text.
        head = ws.cell(HEADER_ROW, idx, column.header if column.group else None)
        group = ws.cell(GROUP_ROW, idx, column.group or column.header)
        for cell in (head, group):
            cell.font = Font(name="黑体", size=10, bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.fill = _HEAD_FILL
            cell.border = _BORDER
        if column.group:
            group_start.setdefault(column.group, idx)
        else:
            ws.merge_cells(start_row=GROUP_ROW, start_column=idx, end_row=HEADER_ROW, end_column=idx)
        fmt = _number_format(column)
        for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + TEMPLATE_ROWS):
            cell = ws.cell(r, idx)
            cell.number_format = fmt
            cell.border = _BORDER
        values: Sequence[str] = ()
        if column.enum_name:
            values = enums[column.enum_name].canonical
        elif column.kind == "bool":
            values = ("是", "否")
        if values:
            enum_col += 1
            enum_ws.cell(1, enum_col, column.header)
            for i, value in enumerate(values, 2):
                enum_ws.cell(i, enum_col, value)
            col_letter = get_column_letter(enum_col)
            dv = DataValidation(
                type="list",
                formula1=f"={ENUM_SHEET}!${col_letter}$2:${col_letter}${len(values) + 1}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="请从下拉列表选择",
                error=f"{column.header}只能填写规定的值，请从下拉列表中选择。",
            )
            dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + TEMPLATE_ROWS - 1}")
            ws.add_data_validation(dv)
    for group, start in group_start.items():
        end = max(i for i, c in enumerate(LEDGER_COLUMNS, 1) if c.group == group)
        ws.merge_cells(start_row=GROUP_ROW, start_column=start, end_row=GROUP_ROW, end_column=end)
    ws.row_dimensions[HEADER_ROW].height = 42
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 6)  # keep 序号…学生姓名 and the header in view
    ws.print_title_rows = f"{GROUP_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    _write_help(help_ws)
    return wb


def _write_help(ws: Worksheet) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 70
    ws.append(["列名", "是否必填", "填写要求"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    kinds = {
        "id": "18位身份证号，该列已设为文本格式，请勿改成数字格式；末位X用大写。",
        "xjh": "全国学籍号19位：G+身份证号，或J/L开头的学籍系统编号。",
        "phone": "11位手机号，或带区号的固定电话，如0851-8612345。",
        "date": "日期，如2024-03-05或2024年3月5日。",
        "month": "日期，也可只写到月，如2012年3月或2012.03。",
        "count": "阿拉伯数字，如2。",
        "bool": "填“是”或“否”。",
        "seq": "从1开始连续编号。",
    }
    for column in LEDGER_COLUMNS:
        # A column's own help note only stands in where its kind has no fuller note: both
        # together said the same thing twice ("可写到月…。日期，也可只写到月…").
        note = "从下拉列表选择。" if column.enum_name else kinds.get(column.kind, "")
        if not note:
            note = f"{column.help}。" if column.help else "如实填写。"
        ws.append([column.header, "必填" if column.required else "", note])
    ws.append([])
    ws.append(["规则", "", "劝返状态为“已复学”或“已消帐”时，须填复学时间和安置方式；“已消帐”还须填消帐时间。"])
    ws.append(["规则", "", "两次劝返仍未返校的，应下达敦返复学通知书，并填写下达时间。"])
    ws.append(["规则", "", "延缓入学、休学、转学、出国(境)、死亡、信息错误等情况，须在备注中写明依据。"])
    for row in ws.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row[0].row].height = 14 * _wrapped_lines(row[2].value, 70) + 2
    # Printed, the three columns stay on one page width instead of the notes going to page 2.
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def workbook_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell_value(record: dict[str, Any], column: Column) -> object:
    if not column.path:
        attempts = record.get("case", {}).get("attempts") or []
        return len(attempts) if attempts else None
    value: Any = record
    for part in column.path.split("."):
        if isinstance(value, list):
            idx = int(part)
            value = value[idx] if idx < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
        if value is None:
            return None
    return value


def write_ledger(
    path: Path | str,
    records: Iterable[dict[str, Any]] = (),
    *,
    school: str | None = None,
    county: str | None = None,
    township: str | None = None,
    template: bytes | None = None,
    fill_date: date | None = None,
    replace: bool = True,
) -> Path:
    """Write a ledger workbook to ``path``, pre-filled with ``records`` (nested dicts).

    ``template`` is the blank ledger to start from (the shipped one by default). The
    file is written atomically; an existing file is replaced (callers check first) unless
    ``replace`` is false (see :func:`formkit.core.fileio.atomic_write`).
    """
    data = template if template is not None else template_bytes("xlsx", "ledger.xlsx")
    wb = load_workbook(io.BytesIO(data))
    ws = wb[LEDGER_SHEET]
    for c, info in ((2, school), (9, county), (15, township)):
        if info:
            set_text(ws.cell(INFO_ROW, c), info)
    set_text(ws.cell(INFO_ROW, 21), format_date(fill_date or date.today()))
    if school:
        set_text(ws.cell(TITLE_ROW, 1), f"{school}控辍保学辍学生台账")
    for i, record in enumerate(records):
        r = FIRST_DATA_ROW + i
        for idx, column in enumerate(LEDGER_COLUMNS, 1):
            # A new ledger is numbered afresh: 序号 gaps are a finding, so never copy them in.
            value: object = i + 1 if column.key == "seq" else _cell_value(record, column)
            if isinstance(value, str) and column.kind in _DATE_KINDS:
                value = _iso_or_text(value)
            cell = ws.cell(r, idx)
            write_value(cell, value)
            cell.border = _BORDER
            cell.number_format = _number_format(column)
    target = Path(path)
    atomic_write(target, workbook_bytes(wb), replace=replace)
    return target


def _iso_or_text(value: str) -> object:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value


def _anchor(ws: Worksheet, coordinate: str, cache: dict[str, str]) -> str:
    """The cell a note about ``coordinate`` goes on (the top-left cell of its merged range), or ""."""
    found = cache.get(coordinate)
    if found is None:
        found = coordinate
        try:
            if not isinstance(ws[coordinate], Cell):
                found = next((m.start_cell.coordinate for m in ws.merged_cells.ranges if coordinate in m), "")
        except (ValueError, KeyError, IndexError):  # not a single-cell reference
            found = ""
        cache[coordinate] = found
    return found


def _style_setter(apply: Callable[[Cell], None]) -> Callable[[Cell], None]:
    """``apply`` (a style change) made cheap for thousands of cells: openpyxl hashes every style
    object on each assignment, so the resulting style is computed once per starting style and
    copied after that."""
    done: dict[tuple[int, ...], Any] = {}

    def setter(cell: Cell) -> None:
        key = tuple(cell._style) if cell._style is not None else ()
        result = done.get(key)
        if result is None:
            apply(cell)
            done[key] = copy(cell._style)
        else:
            cell._style = copy(result)

    return setter


def annotate_workbook(
    source: Path,
    target: Path,
    findings: Sequence[Finding],
    sheet: str,
    checked_on: date | None = None,
    replace: bool = True,
) -> Path:
    """Write a copy of ``source`` with findings marked: red/yellow fills, comments, a 检查结果 sheet.

    ``findings`` are :class:`formkit.ledger.check.Finding` objects (duck-typed here to keep
    this module free of checker imports). The source file is only read. Linear in the
    number of findings: notes are grouped per cell first, rows are written by number.
    """
    loaded = None
    if source.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            loaded = load_workbook(source)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, zipfile.BadZipFile,
                SyntaxError):  # lxml refuses a character reference calamine accepts (a sheet named "&#27;…")
            # calamine read it, openpyxl (stricter) cannot: the findings list still goes back to the school.
            loaded = None
    if loaded is not None:
        wb = loaded
        ws = wb[sheet] if sheet in wb.sheetnames else None
    else:  # .xls (openpyxl cannot edit it) or unreadable to openpyxl: the copy holds the findings list only
        wb = Workbook()
        ws = None
        assert wb.active is not None
        wb.remove(wb.active)
    # A workbook may hold one ledger sheet per school: each finding marks its own sheet.
    anchors: dict[str, dict[str, str]] = {}
    notes: dict[tuple[str, str], tuple[bool, list[str]]] = {}
    links: list[str] = []
    for finding in findings:
        target_ws = wb[finding.sheet] if ws is not None and finding.sheet in wb.sheetnames else ws
        if target_ws is None or not finding.cell:
            links.append("")
            continue
        where = _anchor(target_ws, finding.cell, anchors.setdefault(target_ws.title, {}))
        links.append(f"#'{target_ws.title}'!{where}" if where else "")
        if not where:
            continue
        error, texts = notes.setdefault((target_ws.title, where), (False, []))
        texts.append(f"[{finding.code}] {finding.message}")
        notes[(target_ws.title, where)] = (error or finding.severity == "error", texts)
    if ws is not None:
        fill_red, fill_yellow = _style_setter(lambda c: setattr(c, "fill", _RED)), _style_setter(
            lambda c: setattr(c, "fill", _YELLOW))
        for (title, where), (error, texts) in notes.items():
            cell = wb[title][where]
            (fill_red if error else fill_yellow)(cell)
            old = cell.comment.text + "\n" if cell.comment is not None else ""
            comment = Comment(fit_text(old + "\n".join(texts)), "formkit")
            comment.width, comment.height = 320, 120
            cell.comment = comment
    name = "检查结果"
    if name in wb.sheetnames:
        del wb[name]
    out = wb.create_sheet(name, 0)
    # A title and the check date above the table: the printed list must say what it is and when.
    out.merge_cells("A1:I1")
    set_text(out["A1"], f"{Path(source).name} 检查结果")
    out["A1"].font = Font(name="黑体", size=14, bold=True)
    out["A1"].alignment = Alignment(horizontal="center", vertical="center")
    out.row_dimensions[1].height = 24
    out.merge_cells("A2:I2")
    errors = sum(1 for f in findings if f.severity == "error")
    set_text(out["A2"], f"检查日期：{format_date(checked_on or date.today())}　　错误 {errors} 处，"
                        f"提醒 {len(findings) - errors} 处")
    write_row(out, RESULT_HEADER_ROW, ["文件", "工作表", "行", "列", "单元格", "代码", "级别", "说明", "值"])
    for cell in out[RESULT_HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    # Landscape A4 at 100 % holds about 130 character widths: these add up to 128, so the
    # sheet prints at full size and every column wraps instead of spilling into its neighbour.
    widths = (22, 8, 5, 12, 7, 14, 5, 42, 13)
    for letter, width in zip("ABCDEFGHI", widths, strict=True):
        out.column_dimensions[letter].width = width
    wrap = _style_setter(lambda c: setattr(c, "alignment", Alignment(wrap_text=True, vertical="top")))
    link_font = _style_setter(lambda c: setattr(c, "font", Font(color="0563C1", underline="single")))
    for r, (finding, link) in enumerate(zip(findings, links, strict=True), RESULT_HEADER_ROW + 1):
        # The copy goes back to the school: the file name is enough, the checker's folders are not its business.
        values = [Path(finding.file).name, finding.sheet, finding.row, finding.column, finding.cell, finding.code,
                  {"error": "错误", "info": "说明"}.get(finding.severity, "提醒"), finding.message, finding.value]
        write_row(out, r, values)
        for c in range(1, 10):
            wrap(out.cell(r, c))
        if link:
            out.cell(r, 5).hyperlink = link
            link_font(out.cell(r, 5))
        # Spreadsheet programs keep the stored row height of a wrapped cell instead of growing
        # the row, so the height is set from the longest wrapped text.
        lines = max(_wrapped_lines(value, width) for value, width in zip(values, widths, strict=True))
        out.row_dimensions[r].height = 14 * lines + 2
    out.freeze_panes = f"A{RESULT_HEADER_ROW + 1}"
    out.print_title_rows = f"{RESULT_HEADER_ROW}:{RESULT_HEADER_ROW}"
    out.page_margins.left = out.page_margins.right = 0.5
    out.print_options.horizontalCentered = True
    out.page_setup.orientation = "landscape"
    out.page_setup.paperSize = out.PAPERSIZE_A4
    out.page_setup.fitToWidth = 1
    out.page_setup.fitToHeight = 0
    out.sheet_properties.pageSetUpPr.fitToPage = True
    mark_output(wb, "checked")
    atomic_write(target, seal(workbook_bytes(wb)), replace=replace)
    return target


def _wrapped_lines(value: object, width: float) -> int:
    """Lines a value takes in a wrapped cell ``width`` characters wide (CJK counts double)."""
    if value is None:
        return 1
    units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value))
    return max(1, -(-units // max(1, int(width) - 1)))


def write_summary(out: Path, figures: Summary, unreadable: Sequence[tuple[str, str]] = (), *,
                  replace: bool = True) -> Path:
    """The township/county summary workbook: 汇总, 月报 and 明细 sheets with native charts."""
    from openpyxl.chart import BarChart, Reference

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总"
    bold = Font(bold=True)

    # Rows are counted here: ws.max_row rescans every cell, which turns thousands of groups quadratic.
    last = 0

    def append(values: Sequence[object], font: Font | None = None) -> int:
        nonlocal last
        last += 1
        write_row(ws, last, values)
        if font is not None:
            ws.cell(last, 1).font = font
        return last

    append(["控辍保学辍学生汇总"], Font(name="黑体", size=14, bold=True))
    warn = Font(color="C00000", bold=True)
    for path, count in figures.files_with_errors:
        append([f"注意：{Path(path).name} 有 {count} 个错误，相关数字可能不准确，请先按检查结果改正。"], warn)
    for path in figures.skipped:
        append([f"说明：{Path(path).name} 没有“劝返状态”列，是学生名单而不是台账，未计入汇总。"])
    for path, error in unreadable:
        append([f"注意：{Path(path).name} 无法读取，未计入汇总：{error}"], warn)
    append(["劝返率 = 已复学 ÷（案例数 − 其他去向）；其他去向指休学、转学、出国(境)、死亡、信息错误、延缓入学。"])
    charts: list[tuple[str, int, int]] = []
    for title, attr in (("按学校", "school"), ("按年级", "grade"), ("按辍学原因", "reason"), ("按对象类别", "category")):
        last += 1  # a blank line between the tables
        append([title], bold)
        header_row = append([title.removeprefix("按"), *[HEADERS[c] for c in COUNT_KEYS], "劝返率"])
        for cell in ws[header_row]:
            cell.font = bold
            cell.fill = _HEAD_FILL
        groups = figures.by(attr)
        for key, counts in groups:
            append([key, *[counts[c] for c in COUNT_KEYS], _rate(counts)])
        totals = figures.totals()
        append(["合计", *[totals[c] for c in COUNT_KEYS], _rate(totals)], bold)
        for row in ws.iter_rows(min_row=header_row + 1, max_row=last, min_col=8, max_col=8):
            row[0].number_format = "0.0%"
        charts.append((attr, header_row, len(groups)))
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.column_dimensions["A"].width = 22
    for letter in "BCDEFGH":
        ws.column_dimensions[letter].width = 10
    anchor_row = 2
    for attr, header_row, n in charts:
        if attr == "reason" and n:
            chart = BarChart()
            chart.title = "辍学原因分布"
            chart.y_axis.title = "人数"
            chart.add_data(Reference(ws, min_col=2, min_row=header_row, max_row=header_row + n), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n))
            ws.add_chart(chart, f"J{anchor_row}")
            anchor_row += 18
        if attr == "school" and n:
            chart = BarChart()
            chart.type = "col"
            chart.title = "各校已复学与仍未返校"
            chart.add_data(Reference(ws, min_col=3, min_row=header_row, max_row=header_row + n), titles_from_data=True)
            chart.add_data(Reference(ws, min_col=6, min_row=header_row, max_row=header_row + n), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n))
            ws.add_chart(chart, f"J{anchor_row}")
            anchor_row += 18
    month_ws = wb.create_sheet("月报")
    if figures.month:
        y, m = figures.month
        monthly = figures.monthly()
        month_ws.append([f"{y}年{m}月控辍保学月报"])
        month_ws["A1"].font = Font(name="黑体", size=14, bold=True)
        month_ws.append(["本月新增辍学", monthly["new"]])
        month_ws.append(["本月劝返复学", monthly["returned"]])
        month_ws.append(["月末仍未返校", monthly["out_at_end"]])
        month_ws.column_dimensions["A"].width = 18
    detail = wb.create_sheet("明细")
    write_row(detail, 1, ["学校", "学生姓名", "身份证号", "年级", "辍学原因", "辍学时间", "劝返状态", "劝返责任人",
                          "责任人电话", "建档立卡", "来源文件", "行号"])
    for cell in detail[1]:
        cell.font = bold
        cell.fill = _HEAD_FILL
    r = 1
    for case in figures.cases:
        if not case.out:
            continue
        r += 1
        write_row(detail, r, [case.school, case.name, case.id_masked, case.grade, case.reason,
                              case.dropout_month or case.dropout,
                              case.status, case.responsible, case.responsible_phone,
                              "是" if case.poverty else "否", Path(case.file).name, case.row])
        detail.cell(r, 6).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFGHIJKL", (20, 10, 20, 8, 10, 12, 10, 10, 14, 8, 22, 6), strict=True):
        detail.column_dimensions[letter].width = width
    detail.freeze_panes = "A2"
    mark_output(wb, "summary")
    atomic_write(out, workbook_bytes(wb), replace=replace)
    return out


def _rate(counts: dict[str, int]) -> float | str:
    base = counts["cases"] - counts["other"]
    return counts["returned"] / base if base else "—"


# --- public writers: new ledgers, annotated copies, summary workbooks -----------------------------


@dataclass(frozen=True)
class NewLedger:
    """What :func:`new_ledger` wrote: the workbook and how many rows it pre-filled."""

    path: Path
    rows: int


def new_ledger(
    path: Path | str,
    records: Iterable[dict[str, Any]] | None = None,
    *,
    roster: Path | str | None = None,
    school: str | None = None,
    county: str | None = None,
    township: str | None = None,
    overwrite: bool = False,
    columns: Mapping[str, str] | None = None,
    template: bytes | None = None,
    fill_date: date | None = None,
    force: bool | None = None,
    settings: Settings | None = None,
) -> NewLedger:
    """Create a ledger workbook at ``path`` from the shipped template.

    Rows are pre-filled from ``records`` (nested dicts) or from a ``roster`` file (xlsx, xls,
    csv, json; ``columns`` pins its header wordings to fields). An existing file is kept
    (``OutputError``, code ``output-exists``) unless ``overwrite``: a clerk may already have
    filled it. ``force`` is the deprecated name of ``overwrite``. ``settings`` gives the roster's
    pinned columns (``columns`` wins) and the workbook guard's limits.
    """
    overwrite = _deprecated_force(force, overwrite)
    (target,) = claim_output(path, overwrite)
    rows: list[dict[str, Any]] = list(records or [])
    if roster is not None:
        rows = [row for _, row in read_rows(Path(roster), columns, settings=settings)]
    write_ledger(target, rows, school=school, county=county, township=township, template=template,
                 fill_date=fill_date, replace=overwrite)
    return NewLedger(target, len(rows))


def _deprecated_force(force: bool | None, overwrite: bool) -> bool:
    if force is None:
        return overwrite
    warnings.warn("force= is deprecated; use overwrite=", DeprecationWarning, stacklevel=3)
    return overwrite or force


def annotate(report: LedgerReport, out_dir: Path | str, *, overwrite: bool = False) -> list[Path]:
    """Write ``<name>.checked.xlsx`` for every readable input into ``out_dir``; inputs untouched.

    ``out_dir`` may also be a file name ending in ``.xlsx`` when exactly one ledger was
    read. A copy already there is replaced only if it is exactly what formkit wrote last
    time (:func:`formkit.ledger.workbook.untouched`); one edited since, or not written by
    formkit, raises :class:`OutputError` before anything is written, unless ``overwrite``.
    """
    # One copy per workbook, however many ledger sheets it holds; each finding marks its own sheet.
    first_sheet: dict[str, str] = {}
    for table in report.tables:
        first_sheet.setdefault(table.path, table.sheet)
    books = list(first_sheet.items())
    target = Path(out_dir)
    if target.suffix.lower() in SPREADSHEET_SUFFIXES and not target.is_dir():
        if target.suffix.lower() != ".xlsx" or len(books) != 1:
            raise UsageError(
                f"标注副本的位置应是一个文件夹（每个台账的标注副本写成“原名.checked.xlsx”放在里面），"
                f"收到的是文件名“{target.name}”。只检查一个台账时也可以写 .xlsx 文件名。",
                code="annotate-target",
            )
        targets = [target]
    else:
        targets = [target / name for name in _copy_names([path for path, _ in books])]
    inputs = {Path(t.path).resolve() for t in report.tables}
    if any(t.resolve() in inputs for t in targets):
        raise UsageError(f"标注副本的位置“{target}”就是被检查的台账本身；原文件不能被改写，请换一个文件名或文件夹。",
                         code="annotate-target")
    # A copy absent now must still be absent when it is written; one judged formkit's own may be replaced.
    fresh = {t for t in targets if not overwrite and not os.path.lexists(t)}
    claim_output(targets, overwrite, ours=untouched)
    by_file: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.file, []).append(finding)
    written = []
    for (path, sheet), copy_path in zip(books, targets, strict=True):
        try:
            written.append(annotate_workbook(Path(path), copy_path, by_file.get(path, []), sheet,
                                             replace=copy_path not in fresh))
        except FormkitError:
            raise
        except OSError as exc:
            raise OutputError(f"无法写出标注副本 {copy_path}：{exc.strerror or exc}。请检查文件夹是否存在、可写，磁盘是否已满。",
                              code="output-write") from None
    return written


def summary(report_or_paths: LedgerReport | Iterable[Path | str] | Path | str, out: Path | str,
            month: str | None = None, *, as_of: date | None = None, report_area: str | None = None,
            for_report: bool = False, report: Path | str | None = None,
            report_template: Path | None = None, overwrite: bool = False,
            columns: Mapping[str, str] | None = None, settings: Settings | None = None) -> Summary:
    """Write the summary workbook of a checked report (or of ledgers, checked once) to ``out``; returns the figures.

    ``report`` also writes the Word monthly report (``.docx``, or ``.pdf`` through LibreOffice)
    from the same figures (:func:`formkit.ledger.summary.report_record`), optionally with a
    county ``report_template``. With ``report`` (or ``for_report``) the monthly report's 填报单位
    is settled (``report_area`` or the data) before anything is written, so an ambiguous area
    fails without leaving a half-done output. Existing outputs are kept (``OutputError``, code
    ``output-exists``, raised before anything is written) unless ``overwrite``. ``columns``
    pins header wordings to fields when ledgers are read here.
    """
    targets = claim_output([Path(out)] + ([Path(report)] if report is not None else []), overwrite)
    if isinstance(report_or_paths, LedgerReport):
        checked = report_or_paths
    else:
        checked = check_ledger(report_or_paths, as_of, columns=columns, settings=settings)
    figures = collect(checked, month)
    if for_report or report is not None:
        figures.area = figures.report_area(report_area)
    try:
        write_summary(targets[0], figures, unreadable=figures.unreadable, replace=overwrite)
    except FormkitError:
        raise
    except OSError as exc:
        raise OutputError(f"无法写出汇总表 {out}：{exc.strerror or exc}。请检查文件夹是否存在、可写，磁盘是否已满。",
                          code="output-write") from None
    if report is not None:
        from formkit.documents.render import render_to

        render_to(report, "monthly-report", report_record(figures, figures.area), template=report_template,
                  overwrite=overwrite, settings=settings)  # claimed above; one saved there since is kept
    return figures
