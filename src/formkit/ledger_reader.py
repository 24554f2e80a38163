"""Read ledgers and rosters from spreadsheets, as clerks really fill them.

This is the only module that uses python-calamine. It finds the header (within the
first 10 rows, below title rows or merged title cells, one or two rows deep), matches
columns by name and synonym in any order, skips blank rows, keeps unknown columns aside,
and reports positions as Excel shows them (row numbers from 1, cells like ``G12``).
Every file passes :func:`formkit.xlsx_guard.check_spreadsheet` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from .columns import LEDGER_COLUMNS, Column, header_key, header_lookup
from .enums import normalize_text
from .errors import InputFileError
from .xlsx_guard import Limits, check_spreadsheet

HEADER_SCAN_ROWS = 10
MIN_HEADER_MATCHES = 4
PREFERRED_SHEETS = ("台账", "辍学生台账", "花名册")
_DECLARED = {
    "school": ("填报学校", "学校", "填报单位", "学校名称"),
    "county": ("县(市、区)", "县", "县区"),
    "township": ("乡镇(街道)", "乡镇", "乡(镇)"),
}


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class LedgerTable:
    """One sheet's data, with where every value came from."""

    path: str
    sheet: str
    header_row: int
    """Excel row number of the (last) header row."""
    columns: dict[str, tuple[int, str]]
    """Column key → (0-based index, header text as written in the file)."""
    rows: list[tuple[int, list[Any]]]
    """(Excel row number, cell values) for every non-blank data row."""
    declared: dict[str, str] = field(default_factory=dict)
    extra_headers: list[str] = field(default_factory=list)

    @property
    def missing_required(self) -> list[Column]:
        # Sex and birth date can be read from the ID number, so a sheet with IDs may omit them.
        derivable = {"sex", "birth_date"} if "id_number" in self.columns else set()
        return [c for c in LEDGER_COLUMNS if c.required and c.key not in self.columns and c.key not in derivable]

    def cell(self, row: int, key: str) -> str:
        """Excel reference (``G12``) of column ``key`` in Excel row ``row``."""
        return f"{column_letter(self.columns[key][0])}{row}"

    def value(self, values: list[Any], key: str) -> Any:
        where = self.columns.get(key)
        if where is None or where[0] >= len(values):
            return None
        return values[where[0]]

    def as_dicts(self) -> list[tuple[int, dict[str, Any]]]:
        """Rows as {column key: raw value} (blank cells omitted), with their Excel row numbers."""
        out = []
        for number, values in self.rows:
            row = {key: values[i] for key, (i, _) in self.columns.items() if i < len(values) and not _blank(values[i])}
            out.append((number, row))
        return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _match_row(cells: list[Any], lookup: dict[str, Column]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for i, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip():
            column = lookup.get(header_key(cell))
            if column is not None and column.key not in found:
                found[column.key] = (i, normalize_text(cell).replace("\n", ""))
    return found


def find_header(grid: list[list[Any]]) -> tuple[int, dict[str, tuple[int, str]], int] | None:
    """Locate the header: (0-based first header row, columns, number of header rows)."""
    lookup = header_lookup()
    best: tuple[int, dict[str, tuple[int, str]], int] | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(grid))):
        single = _match_row(grid[r], lookup)
        candidates = [(single, 1)]
        if r + 1 < len(grid):
            lower = _match_row(grid[r + 1], lookup)
            # Two-row header: a merged group cell above its sub-headers, other headers merged down.
            combined = {**single, **{k: v for k, v in lower.items() if k not in single}}
            if lower and len(combined) > len(single):
                candidates.append((combined, 2))
        for columns, depth in candidates:
            if best is None or len(columns) > len(best[1]):
                best = (r, columns, depth)
    if best is None or len(best[1]) < MIN_HEADER_MATCHES:
        return None
    return best


def _declared(grid: list[list[Any]], before: int) -> dict[str, str]:
    """School/county/township written above the header, as ``填报学校：石门镇中心小学``."""
    out: dict[str, str] = {}
    for r in range(before):
        cells = [normalize_text(c) if isinstance(c, str) else "" for c in grid[r]]
        for i, text in enumerate(cells):
            if not text:
                continue
            m = re.match(r"^(.+?)[:：]\s*(.*)$", text)
            if not m:
                continue
            label, value = header_key(m.group(1)), m.group(2).strip()
            if not value:
                value = next((c for c in cells[i + 1 : i + 4] if c), "")
            for key, labels in _DECLARED.items():
                if label in {header_key(x) for x in labels} and value and key not in out:
                    out[key] = value
    return out


def open_workbook(path: Path, limits: Limits | None = None) -> CalamineWorkbook:
    """Guard-check and open a workbook; Chinese ``InputFileError`` for anything unusable."""
    check_spreadsheet(path, limits)
    try:
        return CalamineWorkbook.from_path(str(path))
    except PasswordError:
        raise InputFileError(f"{path} 设置了密码，无法读取。请取消密码后另存再检查。", path=str(path),
                             code="file-encrypted") from None
    except (CalamineError, ValueError, OSError) as exc:
        raise InputFileError(f"{path} 无法作为表格读取（{type(exc).__name__}）。请用 Excel/WPS 打开后另存为 .xlsx。",
                             path=str(path), code="file-corrupt") from None


def _sheet_grid(wb: CalamineWorkbook, name: str, path: Path) -> list[list[Any]]:
    try:
        sheet = wb.get_sheet_by_name(name)
        grid: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise InputFileError(f"{path} 的工作表“{name}”无法读取（{type(exc).__name__}）。", path=str(path),
                             code="file-corrupt") from None
    return grid


def read_ledger(path: Path | str, *, sheet: str | None = None, limits: Limits | None = None) -> LedgerTable:
    """Read the ledger (or roster) sheet of ``path``.

    The sheet is ``sheet`` when given, else one named 台账, else the only visible sheet
    whose header matches. Raises ``InputFileError`` (exit 2) when the file is unusable or
    no header can be found; data problems are the checker's business, not errors here.
    """
    p = Path(path)
    wb = open_workbook(p, limits)
    names = list(wb.sheet_names)
    visible = [m.name for m in wb.sheets_metadata if str(m.visible).endswith("Visible")] or names
    if sheet is not None:
        if sheet not in names:
            raise InputFileError(f"{p} 中没有名为“{sheet}”的工作表。现有工作表：{'、'.join(names)}。",
                                 path=str(p), code="sheet-missing")
        order = [sheet]
    else:
        preferred = [n for n in PREFERRED_SHEETS if n in names]
        order = preferred + [n for n in visible if n not in preferred]
    for name in order:
        grid = _sheet_grid(wb, name, p)
        found = find_header(grid)
        if found is None:
            if sheet is not None or name in PREFERRED_SHEETS:
                break
            continue
        return _table(p, name, grid, found)
    if not names:
        raise InputFileError(f"{p} 里没有工作表。", path=str(p), code="no-header")
    where = f"工作表“{sheet or order[0]}”" if order else "任何工作表"
    raise InputFileError(
        f"{p}：在{where}的前 {HEADER_SCAN_ROWS} 行没有找到台账表头（如 学生姓名、身份证号、辍学原因）。"
        "请确认文件是辍学生台账或学生名单，必要时用 --sheet 指定工作表。",
        path=str(p),
        code="no-header",
    )


def _table(p: Path, name: str, grid: list[list[Any]], found: tuple[int, dict[str, tuple[int, str]], int]) -> LedgerTable:
    first, columns, depth = found
    last_header = first + depth - 1
    known = {i for i, _ in columns.values()}
    extra = []
    for r in range(first, last_header + 1):
        extra += [normalize_text(c) for i, c in enumerate(grid[r]) if i not in known and isinstance(c, str) and c.strip()]
    rows: list[tuple[int, list[Any]]] = []
    for r in range(last_header + 1, len(grid)):
        values = grid[r]
        if all(_blank(v) for v in values):
            continue
        rows.append((r + 1, values))
    return LedgerTable(str(p), name, last_header + 1, columns, rows, _declared(grid, first), extra)
