"""Rosters in (xlsx, csv, json) → nested record dicts with their source positions.

Rosters come from formkit's own ledger, from a clerk's list, or exported from the
student-record (学籍) system: title rows above the header, 身份证件号/身份证件类型,
出生日期 as ``20120315``, 性别 as code 1/2 and the family as ``成员1姓名``, ``成员1关系``,
``成员1联系电话``, ``成员2…``. The header is found by the ledger reader (one implementation);
this module turns its rows into records.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from formkit.core.enums import normalize_text
from formkit.core.errors import InputFileError, Problem, ValueProblem
from formkit.core.fileio import read_input
from formkit.core.settings import Settings, settings_or_default
from formkit.core.validators import parse_yes_no
from formkit.tables.columns import COLUMNS_BY_KEY, HeaderMatcher, header_key, header_lookup, normalise_header
from formkit.tables.reader import LedgerTable, build_table, locate_header, read_ledger, read_workbook

MAX_TEXT_BYTES = 50 * 1024 * 1024


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Turn {column key: value} into the nested record shape (``student.name`` …)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        column = COLUMNS_BY_KEY.get(key)
        if column is None or not column.path:
            continue
        parts = column.path.split(".")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if part.isdigit():
                idx = int(part)
                while len(node) <= idx:
                    node.append({})
                node = node[idx]
                continue
            node = node.setdefault(part, [] if nxt.isdigit() else {})
        last = parts[-1]
        if isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    attempts = out.get("case", {}).get("attempts")
    if attempts is not None:
        out["case"]["attempts"] = [a for a in attempts if a.get("date") not in (None, "")]
    return out


def _read_text(path: Path) -> str:
    data = read_input(path, "名单文件", MAX_TEXT_BYTES)
    if len(data) > MAX_TEXT_BYTES:
        raise InputFileError(f"{path} 太大（超过 {MAX_TEXT_BYTES // 1048576} MB）。", path=str(path), code="file-too-large")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{path} 含有空字符（NUL），不是正常的文本表格。请用 Excel/WPS 另存为 CSV 或 xlsx。",
                             path=str(path), code="file-type")
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputFileError(f"{path} 的文字编码无法识别（不是 UTF-8 或 GBK）。请另存为“CSV UTF-8”。", path=str(path),
                         code="file-encoding")


def _csv_table(path: Path, columns: Mapping[str, str] | None) -> LedgerTable:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text))
    try:
        grid: list[list[Any]] = [list(row) for row in reader]
    except csv.Error as exc:
        # The csv module caps one field at 131,072 characters (a long pasted remark, or a stray quote).
        raise InputFileError(f"{path} 第 {reader.line_num} 行无法读取（{exc}）：可能有过长的单元格或不配对的引号。"
                             "请在 Excel/WPS 中检查该行后另存为 CSV。", path=str(path), code="csv-invalid") from None
    found = locate_header(grid, HeaderMatcher(columns))
    if found is None:
        raise InputFileError(f"{path}：前 10 行没有找到表头（如 学生姓名、身份证号）。", path=str(path), code="no-header")
    return build_table(path, "", grid, found)


# Codes used by 学籍 import templates and exports instead of words.
_SEX_CODES = {"1": "男", "2": "女"}
_MEMBER = re.compile(r"^(?:家庭)?成员(\d+)(.+)$")
_ID_CARD = "居民身份证"


def _code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize_text(value)


def decode_sex(value: Any) -> Any:
    """性别 as 学籍 import templates code it (1 男, 2 女); any other value unchanged."""
    return _SEX_CODES.get(_code(value), value)


def roster_id_type_column(table: LedgerTable) -> int | None:
    """The 身份证件类型 column of a 学籍 export, if the table has one."""
    return _member_columns(table)[1]


def is_resident_id(values: list[Any], id_type: int) -> bool:
    """Whether the row's 身份证件类型 is empty or a 居民身份证 (so its number is checked as one)."""
    kind = _cell(values, id_type)
    return not kind or _ID_CARD in kind


def _yyyymmdd(value: Any) -> Any:
    """``20120315`` (number or text, as 学籍 exports write it) → ``2012-03-15``; anything else unchanged."""
    text = _code(value)
    if re.fullmatch(r"(19|20)\d{6}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return value


def _member_columns(table: LedgerTable) -> tuple[dict[int, dict[str, int]], int | None]:
    """Family-member columns: {member number: {name/relation/phone/guardian: column index}}, and
    the 身份证件类型 column."""
    members: dict[int, dict[str, int]] = {}
    id_type: int | None = None
    for index, shown in table.unknown:
        text = normalise_header(shown)
        m = _MEMBER.match(text)
        if m is None:
            if "证件类型" in text and "成员" not in text:
                id_type = index
            continue
        rest = m.group(2)
        part = ("guardian" if "监护人" in rest else "name" if "姓名" in rest else "relation" if "关系" in rest
                else "phone" if any(w in rest for w in ("电话", "手机", "联系方式")) else "")
        if part:
            members.setdefault(int(m.group(1)), {}).setdefault(part, index)
    return members, id_type


def _cell(values: list[Any], index: int | None) -> str:
    if index is None or index >= len(values) or values[index] is None:
        return ""
    return _code(values[index])


def _guardian_from_members(values: list[Any], members: dict[int, dict[str, int]]) -> dict[str, str]:
    """The member marked 监护人 (in 关系 or a 是否监护人 column), else the first member with a name."""
    named = [(n, cols) for n, cols in sorted(members.items()) if _cell(values, cols.get("name"))]
    chosen = named[0][1] if named else None
    for _, cols in named:
        try:
            marked = parse_yes_no(values[cols["guardian"]]) if "guardian" in cols and _cell(values, cols["guardian"]) \
                else False
        except ValueProblem:
            marked = False
        if marked or "监护人" in _cell(values, cols.get("relation")):
            chosen = cols
            break
    if chosen is None:
        return {}
    relation = re.sub(r"[(（]?监护人[)）]?", "", _cell(values, chosen.get("relation"))).strip()
    out = {"guardian": _cell(values, chosen.get("name")), "relation": relation,
           "phone": _cell(values, chosen.get("phone"))}
    return {k: v for k, v in out.items() if v}


class SheetRow(int):
    """An Excel row number that also names its worksheet ("" for CSV, JSON and plain records).

    It is the row number wherever one was expected (it compares, sorts, prints and serialises
    as the number), so single-sheet callers see no change, while ``sheet`` tells 第7行 of one
    school's sheet from 第7行 of the next one's in a township workbook.
    """

    sheet: str

    def __new__(cls, number: int, sheet: str = "") -> SheetRow:
        self = super().__new__(cls, number)
        self.sheet = sheet
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return SheetRow, (int(self), self.sheet)


def sheet_of(row: int) -> str:
    """The worksheet of ``row`` ("" for a plain row number)."""
    return row.sheet if isinstance(row, SheetRow) else ""


def table_records(table: LedgerTable) -> list[tuple[SheetRow, dict[str, Any]]]:
    """A roster or ledger table's rows as (Excel row number with its sheet, nested record)."""
    return list(iter_table_records(table))


def iter_table_records(table: LedgerTable) -> Iterator[tuple[SheetRow, dict[str, Any]]]:
    """:func:`table_records`, one row at a time (a large roster is never held twice)."""
    members, id_type = _member_columns(table)
    for number, values in table.rows:
        flat = {key: values[i] for key, (i, _) in table.columns.items()
                if i < len(values) and values[i] is not None and (not isinstance(values[i], str) or values[i].strip())}
        if "sex" in flat:
            flat["sex"] = decode_sex(flat["sex"])
        if "birth_date" in flat:
            flat["birth_date"] = _yyyymmdd(flat["birth_date"])
        if id_type is not None and not is_resident_id(values, id_type):
            # A passport or residence-permit number is not a 身份证号: checking it as one would only mislead.
            flat.pop("id_number", None)
        if "guardian" not in flat and members:
            family = _guardian_from_members(values, members)
            if "guardian" in family:
                flat["guardian"] = family["guardian"]
                for key in ("relation", "phone"):
                    if key in family:
                        flat[key] = family[key]
        yield SheetRow(number, table.sheet), nest(flat)


def _rows_from_json(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = _read_text(path)  # its own errors (encoding, size) are InputFileErrors, kept as they are
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path} 不是有效的 JSON（第{exc.lineno}行：{exc.msg}）。", path=str(path),
                             code="json-invalid") from None
    except RecursionError:
        raise InputFileError(f"{path} 的 JSON 嵌套层数过深，不是正常的名单。", path=str(path), code="json-invalid") from None
    except ValueError:
        # json refuses integers over 4,300 digits with a bare ValueError (CVE-2020-10735 limit).
        raise InputFileError(f"{path} 含有位数过多的数字（超过 4300 位），不是正常的名单。", path=str(path),
                             code="json-invalid") from None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise InputFileError(f"{path} 应是记录的列表（JSON 数组，每项一个对象）。", path=str(path), code="json-shape")
    lookup = header_lookup()
    out = []
    for i, item in enumerate(data, 1):
        flat_keys = {k: lookup.get(header_key(k)) for k in item}
        if item and all(flat_keys.values()) and not any(k in ("student", "学生") for k in item):
            item = nest({c.key: item[k] for k, c in flat_keys.items() if c is not None})
        out.append((i, item))
    return out


class Roster(NamedTuple):
    """A roster being read: its ledger sheets (none for CSV/JSON), how many rows, and the rows."""

    sheets: list[str]
    total: int
    rows: Iterator[tuple[SheetRow, dict[str, Any]]]


def roster_rows(path: Path, columns: Mapping[str, str] | None = None, sheet: str | None = None, *,
                settings: Settings | None = None) -> Roster:
    """The rows of ``path`` one at a time, each a (:class:`SheetRow`, nested record) pair.

    Every sheet with a ledger header is read, in workbook order, unless ``sheet`` picks one.
    Records are built as the rows are consumed, so a large roster is never held twice.
    Raises ``InputFileError`` when the file is unusable, before the first row is yielded.
    ``columns`` pins header wordings to fields (default ``settings.columns``); ``settings`` also
    gives the size limits of the workbook guard.
    """
    columns = settings_or_default(settings).columns if columns is None else columns
    limits = settings_or_default(settings).limits
    suffix = path.suffix.lower()
    if suffix == ".json":
        items = _rows_from_json(path)
        return Roster([], len(items), ((SheetRow(n), record) for n, record in items))
    if suffix in (".csv", ".txt"):
        table = _csv_table(path, columns)
        return Roster([], len(table.rows), iter_table_records(table))
    if sheet is not None:
        tables = [read_ledger(path, sheet=sheet, columns=columns, limits=limits)]
    else:
        tables = (read_workbook(path, columns=columns, limits=limits).tables
                  or [read_ledger(path, columns=columns, limits=limits)])
    return Roster([t.sheet for t in tables], sum(len(t.rows) for t in tables),
                  (row for table in tables for row in iter_table_records(table)))


def read_rows(path: Path, columns: Mapping[str, str] | None = None,
              sheet: str | None = None, *, settings: Settings | None = None) -> list[tuple[SheetRow, dict[str, Any]]]:
    """Read a roster as (row number, nested record dict) pairs; raises ``InputFileError``.

    A workbook's every ledger sheet is read (one school per sheet in a township workbook),
    unless ``sheet`` picks one; each row number carries its sheet (:class:`SheetRow`).
    ``columns`` pins header wordings to fields; by default ``settings.columns`` apply.
    """
    return list(roster_rows(path, columns, sheet, settings=settings).rows)


@dataclass
class RecordsReport:
    """Records read from a roster, and (when a form was named) which rows are invalid and why."""

    path: str
    rows: list[tuple[SheetRow, dict[str, Any]]] = field(default_factory=list)
    problems: list[tuple[SheetRow, list[Problem]]] = field(default_factory=list)
    form: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "form": self.form,
            "valid": self.valid,
            "rows": [{"sheet": sheet_of(r), "row": r, "record": data} for r, data in self.rows],
            "problems": [{"sheet": sheet_of(r), "row": r, "problems": [p.to_dict() for p in ps]}
                         for r, ps in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)


def read_records(path: Path | str, form: str | None = None, *,
                 columns: Mapping[str, str] | None = None, settings: Settings | None = None) -> RecordsReport:
    """Read a roster (.xlsx/.xls/.csv/.json) into nested records; validate them for ``form`` if given.

    Raises ``InputFileError`` only when the file itself is unusable; invalid rows are
    reported in ``problems`` (by Excel row number, which names its sheet: :class:`SheetRow`) instead.
    ``settings`` gives the pinned columns, limits and the enumeration table the rows are validated against.
    """
    from formkit.core.errors import RecordError
    from formkit.documents.forms import validate_record

    report = RecordsReport(str(path), read_rows(Path(path), columns, settings=settings), form=form or "")
    if form:
        for row, data in report.rows:
            try:
                validate_record(form, data, settings=settings)
            except RecordError as exc:
                report.problems.append((row, exc.problems))
    return report


__all__ = ["RecordsReport", "Roster", "SheetRow", "nest", "read_records", "read_rows", "roster_rows", "sheet_of", "table_records"]
