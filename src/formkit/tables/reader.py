"""Read ledgers and rosters from spreadsheets, as clerks really fill them.

This is the only module that uses python-calamine. It finds the header (within the
first 10 rows, below title rows or merged title cells, one or two rows deep), matches
columns by name and synonym in any order, skips blank rows, keeps unknown columns aside,
and reports positions as Excel shows them (row numbers from 1, cells like ``G12``).
Every file passes :func:`formkit.tables.xlsx_guard.check_spreadsheet` first.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from formkit.core import codes
from formkit.core.enums import normalize_text
from formkit.core.errors import InputFileError
from formkit.core.fileio import UPLOADED, Source, source_bytes, source_name
from formkit.core.settings import Settings, settings_or_default
from formkit.core.validators import mask_message
from formkit.tables.columns import (
    COLUMNS_BY_KEY,
    GROUP_MAX_CHARS,
    LEDGER_COLUMNS,
    Column,
    HeaderMatcher,
    header_key,
    normalise_header,
)
from formkit.tables.xlsx_guard import Limits, check_spreadsheet

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


@dataclass(frozen=True)
class HeaderProblem:
    """Something about a sheet's header that the clerk should know (becomes a checker finding)."""

    code: str
    """``header-ambiguous`` / ``header-preferred`` (two columns read as one field) or ``header-unknown`` (info)."""
    message: str
    header: str
    cell: str = ""
    severity: str = field(init=False)
    """From the code's registry entry (:mod:`formkit.core.codes`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", codes.severity(self.code))


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
    """(Excel row number, cell values) for every data row: no blank, signature, note, total or
    identity-less rows."""
    declared: dict[str, str] = field(default_factory=dict)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    """Columns nobody recognised: (0-based index, header as written). Kept, not checked."""
    header_problems: list[HeaderProblem] = field(default_factory=list)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    """(Excel row number, why) for every non-blank row below the header that is not data."""
    pins_used: set[str] = field(default_factory=set, repr=False)
    """The pinned header wordings (normalised) that matched a header cell of this workbook."""

    @property
    def unknown_headers(self) -> list[str]:
        return [text for _, text in self.unknown]

    @property
    def extra_headers(self) -> list[str]:
        """Old name of :attr:`unknown_headers`."""
        return self.unknown_headers

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


@dataclass
class WorkbookRead:
    """Every ledger sheet of one workbook, and the sheets that were not read (with why)."""

    path: str
    tables: list[LedgerTable] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(sheet name, Chinese reason) for every sheet not read."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class HeaderFound:
    """Where a sheet's header is and how each of its columns was read."""

    first: int
    """0-based index of the first header row."""
    depth: int
    columns: dict[str, tuple[int, str]]
    unknown: list[tuple[int, str]]
    problems: list[HeaderProblem]


def _shown(value: Any) -> str:
    # A line break inside a header cell only wraps the text: 监护人\n联系电话 is 监护人联系电话.
    return " ".join(normalize_text(value.replace("\r", "").replace("\n", "")).split()) if isinstance(value, str) else ""


def _read_header(grid: list[list[Any]], r: int, depth: int, matcher: HeaderMatcher) -> HeaderFound:
    upper = grid[r]
    lower = grid[r + 1] if depth == 2 else []
    width = max(len(upper), len(lower))
    group = ""
    found: dict[str, list[tuple[int, int, bool, str]]] = {}
    unknown: list[tuple[int, str]] = []
    for i in range(width):
        top = _shown(upper[i]) if i < len(upper) else ""
        bottom = _shown(lower[i]) if i < len(lower) else ""
        if depth == 1 or not bottom:
            # A cell merged down over both header rows, or a one-row header: no group.
            group, text, shown = "", top, top
        else:
            if top:
                # calamine gives a merged group cell's text to its first column only, so the
                # group is carried right until the next header cell in the upper row.
                group = top if len(normalise_header(top)) <= GROUP_MAX_CHARS and "：" not in top else ""
            text, shown = bottom, f"{group}/{bottom}" if group else bottom
        if not text:
            continue
        match = matcher.match(text, group)
        if match is None:
            unknown.append((i, shown))
        else:
            found.setdefault(match.key, []).append((match.score, i, match.pinned, shown))
    columns: dict[str, tuple[int, str]] = {}
    problems: list[HeaderProblem] = []
    header_row = r + depth
    for key, places in found.items():
        places.sort(key=lambda p: (-p[0], p[1]))
        best = places[0]
        columns[key] = (best[1], best[3])
        others = places[1:]
        if not others:
            continue
        unknown += [(p[1], p[3]) for p in others]
        if best[2]:
            continue  # the county pinned this wording: the other column is simply not that field
        field_name = COLUMNS_BY_KEY[key].header
        names = "、".join(f"{column_letter(p[1])}列“{p[3]}”" for p in others)
        tie = others[0][0] == best[0]
        problems.append(HeaderProblem(
            "header-ambiguous" if tie else "header-preferred",
            f"{column_letter(best[1])}列“{best[3]}”和{names}都像是“{field_name}”，"
            + ("无法确定用哪一列，暂按" if tie else "已按更贴切的") + f"{column_letter(best[1])}列检查。"
            f"请删除或改名多余的列，或在 formkit.toml 的 [columns] 中写明（如 \"{best[3]}\" = \"{key}\"）。",
            best[3], f"{column_letter(best[1])}{header_row}"))
    unknown.sort()
    if unknown:
        problems.append(HeaderProblem(
            "header-unknown",
            f"以下列不是台账的标准列，已保留但不检查：{'、'.join(t for _, t in unknown)}。"
            "如果其中有应检查的列，请写明它是哪个字段（如在 formkit.toml 的 [columns] 中写 \"表头\" = \"字段\"）。",
            "、".join(t for _, t in unknown)))
    return HeaderFound(r, depth, columns, unknown, problems)


def locate_header(grid: list[list[Any]], matcher: HeaderMatcher | None = None) -> HeaderFound | None:
    """Find the header in the first rows: one or two rows deep, below any title rows."""
    matcher = matcher or HeaderMatcher()
    best: HeaderFound | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(grid))):
        for depth in (1, 2) if r + 1 < len(grid) else (1,):
            candidate = _read_header(grid, r, depth, matcher)
            # More fields wins; on a tie the one-row reading (no group cell guessed) wins.
            if best is None or (len(candidate.columns), -candidate.depth) > (len(best.columns), -best.depth):
                best = candidate
    if best is None or len(best.columns) < MIN_HEADER_MATCHES:
        return None
    return best


def find_header(grid: list[list[Any]]) -> tuple[int, dict[str, tuple[int, str]], int] | None:
    """Locate the header: (0-based first header row, columns, number of header rows)."""
    found = locate_header(grid)
    return None if found is None else (found.first, found.columns, found.depth)


_NOT_DATA = re.compile(r"^(填表人|填报人|制表人|审核人|审核|负责人|校长签|签字|签名|盖章|填表日期|填报日期|注[:：]|注\d|"
                       r"说明|合计|总计|小计|共计)")


MIN_CELLS_WITHOUT_IDENTITY = 3
NOTE_MIN_CHARS = 12
_LIST_ITEM = re.compile(r"^(?:\d+|[一二三四五六七八九十]+)[.、)]|^\(\d+\)")


def _non_data(values: list[Any], identity: tuple[int, ...], known: tuple[int, ...],
              filled: list[Any] | None = None) -> str:
    """Why a non-blank row below the header is not a student ("" when it is one).

    A row without name and ID is a note's continuation line or a stray remark unless it fills
    several ledger cells: then it is a case whose identity is missing, and the checker says so.
    ``filled`` is the row's non-blank values (or its first two: only the first one and whether
    there is another are looked at) when the caller has them already.
    """
    if filled is None:
        filled = [value for value in values if not _blank(value)]
    first = "".join(normalize_text(filled[0]).split()) if filled and isinstance(filled[0], str) else ""
    if first and _NOT_DATA.match(first):
        return "签名、说明或合计行"
    if len(filled) == 1 and (len(first) >= NOTE_MIN_CHARS or _LIST_ITEM.match(first)):
        # A note's second line ("2. 劝返状态按实际填写…") may sit in any column, even the name column.
        return "说明行"
    if identity and all(i >= len(values) or _blank(values[i]) for i in identity):
        ledger_cells = sum(1 for i in known if i < len(values) and not _blank(values[i]))
        if ledger_cells < MIN_CELLS_WITHOUT_IDENTITY:
            return "没有学生姓名和身份证号"
    return ""


_NEXT_LABEL = re.compile(r"\s+\S+[:：].*$")
_STAMP_MARK = re.compile(r"\((?:盖章|盖公章|公章|签章|签字|签名|章)\)$")


def _declared_value(text: str) -> str:
    """``平寨小学（盖章）　填表时间：2024年4月`` → ``平寨小学``: the stamp mark and a next label are no part of it."""
    value = _NEXT_LABEL.sub("", text.strip()).strip()
    return _STAMP_MARK.sub("", value).strip()


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
            label, value = header_key(m.group(1)), _declared_value(m.group(2))
            if not value:
                value = next((c for c in cells[i + 1 : i + 4] if c), "")
            for key, labels in _DECLARED.items():
                if label in {header_key(x) for x in labels} and value and key not in out:
                    out[key] = value
    return out


def open_workbook(path: Path | bytes, limits: Limits | None = None, name: str | None = None) -> CalamineWorkbook:
    """Guard-check and open a workbook (a file, or an upload's bytes: the guard sees them before
    the parser does); Chinese ``InputFileError`` naming ``name`` for anything unusable."""
    shown = name or (str(path) if isinstance(path, Path) else UPLOADED)
    check_spreadsheet(path, limits, shown)
    try:
        if isinstance(path, bytes):
            return CalamineWorkbook.from_filelike(io.BytesIO(path))
        return CalamineWorkbook.from_path(str(path))
    except PasswordError:
        raise InputFileError(f"{shown} 设置了密码，无法读取。请取消密码后另存再检查。", path=shown,
                             code="file-encrypted") from None
    except (CalamineError, ValueError, OSError) as exc:
        raise InputFileError(f"{shown} 无法作为表格读取（{type(exc).__name__}）。请用 Excel/WPS 打开后另存为 .xlsx。",
                             path=shown, code="file-corrupt") from None


def _opened(source: Source, limits: Limits) -> Path | bytes:
    """What the guard and the parser read: the file of a path, else the bytes of an upload (read
    no further than the guard's size limit, which then refuses it)."""
    return Path(source) if isinstance(source, str | Path) else source_bytes(source, "表格文件", limits.max_file_bytes)


def _sheet_grid(wb: CalamineWorkbook, name: str, path: Path) -> list[list[Any]]:
    """The sheet's cells from A1 (what ``to_python(skip_empty_area=False)`` gives), texts and
    numbers that repeat kept once.

    Rows are taken one at a time and their repeated values replaced by the first copy at once:
    a ledger repeats its school, township, status, dates … on every row, and holding a copy per
    cell next to calamine's own copy of the sheet roughly doubled the peak memory of a check.
    """
    try:
        sheet = wb.get_sheet_by_name(name)
        start, end = sheet.start, sheet.end
        if start is None or end is None:
            return sheet.to_python(skip_empty_area=False)
        height, width = end[0] + 1, end[1] + 1
        grid: list[list[Any]] = []
        texts: dict[str, str] = {}
        text = texts.setdefault
        for row in sheet.iter_rows():
            # In place, so the row keeps calamine's exact-size list.
            row[:] = [text(x, x) if type(x) is str else x for x in row]
            if len(texts) > _TEXTS_KEPT:
                text = texts.get  # from here on only texts already kept are shared
            if len(row) < width:  # iter_rows starts at the first used column, to_python at A
                row[:0] = [""] * (width - len(row))
            grid.append(row)
        if len(grid) < height:  # and (in some versions) at the first used row
            grid[:0] = [[""] * width for _ in range(height - len(grid))]
        del sheet, texts, text
        _return_freed_memory()
    except (CalamineError, ValueError, OSError) as exc:
        raise InputFileError(f"{path} 的工作表“{name}”无法读取（{type(exc).__name__}）。", path=str(path),
                             code="file-corrupt") from None
    return grid


_TEXTS_KEPT = 1 << 16
"""Distinct texts :func:`_sheet_grid` keeps for sharing. A ledger's repeated texts (schools,
statuses, dates, teachers) show up in its first rows; its unique ones (IDs, 学籍号, names) would
make the table of kept texts grow with the sheet, 20 MB at 200,000 rows, at the peak."""


def _return_freed_memory() -> None:
    """Hand the heap calamine just freed back to the system (glibc only).

    calamine's copy of a sheet is a million small blocks; freed, glibc keeps them for later
    small requests, but Python takes its objects from its own arenas, so they would stay in
    the process's memory for the whole check (a third of its peak at 200,000 rows).
    """
    global _malloc_trim
    if _malloc_trim is None:
        _malloc_trim = _no_trim
        if sys.platform.startswith("linux"):
            import ctypes

            with suppress(OSError, AttributeError):  # not glibc (musl): nothing to do
                _malloc_trim = ctypes.CDLL(None).malloc_trim
    _malloc_trim(0)


def _no_trim(_: int) -> int:
    return 0


_malloc_trim: Callable[[int], int] | None = None


NOTES_SHEET = re.compile(r"(填表说明|填报说明|说明|注意事项|使用说明|枚举|下拉|选项|字典|代码表)")


def _visible(wb: CalamineWorkbook) -> list[str]:
    names = list(wb.sheet_names)
    return [m.name for m in wb.sheets_metadata if str(m.visible).endswith("Visible")] or names


def read_workbook(path: Source, *, limits: Limits | None = None,
                  columns: Mapping[str, str] | None = None, settings: Settings | None = None) -> WorkbookRead:
    """Read every ledger sheet of ``path`` (one :class:`LedgerTable` each) and say why others were skipped.

    ``columns`` pins header wordings to fields (``{"家长联系方式": "phone"}``); by default
    ``settings.columns`` apply, as ``settings.limits`` do. Raises ``InputFileError`` only when
    the file itself is unusable; a workbook without any ledger sheet has no tables.
    """
    p = Path(source_name(path))
    chosen = settings_or_default(settings)
    chosen_limits = limits or chosen.limits
    wb = open_workbook(_opened(path, chosen_limits), chosen_limits, str(p))
    matcher = HeaderMatcher(chosen.columns if columns is None else columns)
    visible = set(_visible(wb))
    out = WorkbookRead(str(p))
    for name in wb.sheet_names:
        if name not in visible:
            out.skipped.append((name, "隐藏的工作表"))
            continue
        if NOTES_SHEET.search(name) and name not in PREFERRED_SHEETS:
            out.skipped.append((name, "填表说明等非台账工作表"))
            continue
        grid = _sheet_grid(wb, name, p)
        if all(_blank(v) for row in grid for v in row):
            out.skipped.append((name, "空白工作表"))
            continue
        found = locate_header(grid, matcher)
        if found is None:
            out.skipped.append((name, f"前 {HEADER_SCAN_ROWS} 行没有台账表头"))
            continue
        out.tables.append(build_table(p, name, grid, found, interned=True))
    for table in out.tables:
        table.pins_used = matcher.used
    return out


def read_ledger(path: Source, *, sheet: str | None = None, limits: Limits | None = None,
                columns: Mapping[str, str] | None = None, settings: Settings | None = None) -> LedgerTable:
    """Read the ledger (or roster) sheet of ``path``.

    The sheet is ``sheet`` when given, else one named 台账, else the first visible sheet
    whose header matches. Raises ``InputFileError`` (exit 2) when the file is unusable or
    no header can be found; data problems are the checker's business, not errors here.
    Use :func:`read_workbook` to read every ledger sheet. ``limits`` and ``columns`` default to
    those of ``settings``.
    """
    p = Path(source_name(path))
    chosen = settings_or_default(settings)
    chosen_limits = limits or chosen.limits
    wb = open_workbook(_opened(path, chosen_limits), chosen_limits, str(p))
    matcher = HeaderMatcher(chosen.columns if columns is None else columns)
    names = list(wb.sheet_names)
    visible = _visible(wb)
    if sheet is not None:
        if sheet not in names:
            shown = "、".join(mask_message(n) for n in names)  # a sheet may be named after a student's ID
            raise InputFileError(f"{p} 中没有名为“{mask_message(sheet)}”的工作表。现有工作表：{shown}。",
                                 path=str(p), code="sheet-missing")
        order = [sheet]
    else:
        preferred = [n for n in PREFERRED_SHEETS if n in names]
        order = preferred + [n for n in visible if n not in preferred]
    for name in order:
        grid = _sheet_grid(wb, name, p)
        found = locate_header(grid, matcher)
        if found is None:
            if sheet is not None or name in PREFERRED_SHEETS:
                break
            continue
        table = build_table(p, name, grid, found, interned=True)
        table.pins_used = matcher.used
        return table
    if not names:
        raise InputFileError(f"{p} 里没有工作表。", path=str(p), code="no-header")
    raise no_header_error(p, f"工作表“{sheet or order[0]}”" if order else "任何工作表")


def no_header_error(p: Path, where: str) -> InputFileError:
    return InputFileError(
        f"{p}：在{where}的前 {HEADER_SCAN_ROWS} 行没有找到台账表头（如 学生姓名、身份证号、辍学原因）。"
        "请确认文件是辍学生台账或学生名单，必要时指定工作表，或说明哪一列是哪个字段。",
        path=str(p),
        code="no-header",
    )


def build_table(p: Path, name: str, grid: list[list[Any]], found: HeaderFound, *,
                interned: bool = False) -> LedgerTable:
    """The data rows below ``found`` (blank, signature, note, total and identity-less rows left out).

    ``interned``: the grid's repeated texts are already one object each (:func:`_sheet_grid`).
    """
    last_header = found.first + found.depth - 1
    identity = tuple(found.columns[k][0] for k in ("name", "id_number") if k in found.columns)
    known = tuple(i for k, (i, _) in found.columns.items() if k != "seq")
    rows: list[tuple[int, list[Any]]] = []
    skipped: list[tuple[int, str]] = []
    # Ledger columns repeat their texts (school, township, status, …): one string object per
    # distinct text instead of one per cell roughly halves what a large sheet keeps in memory.
    texts: dict[str, str] = {}
    intern = texts.setdefault
    for r in range(last_header + 1, len(grid)):
        values = grid[r] if interned else [intern(x, x) if type(x) is str else x for x in grid[r]]
        grid[r] = values
        # The first two filled cells are all _non_data needs (the first one, and whether it is
        # alone), so the scan stops there instead of testing every cell of the sheet.
        filled: list[Any] = []
        for x in values:
            if x is not None and not (isinstance(x, str) and not x.strip()):  # _blank inlined
                filled.append(x)
                if len(filled) == 2:
                    break
        if not filled:
            continue
        why = _non_data(values, identity, known, filled)
        if why:
            skipped.append((r + 1, why))
            continue
        rows.append((r + 1, values))
    return LedgerTable(str(p), name, last_header + 1, found.columns, rows, _declared(grid, found.first),
                       found.unknown, found.problems, skipped)
