"""Rosters in (xlsx, csv, json) → nested record dicts with their source positions."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .columns import COLUMNS_BY_KEY, header_key, header_lookup
from .errors import InputFileError, Problem
from .fileio import read_input

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
    data = read_input(path, "名单文件")
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


def _rows_from_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text))
    grid = [row for row in reader]
    from .ledger_reader import find_header

    found = find_header([list(r) for r in grid])
    if found is None:
        raise InputFileError(f"{path}：前 10 行没有找到表头（如 学生姓名、身份证号）。", path=str(path), code="no-header")
    first, columns, depth = found
    out = []
    for r in range(first + depth, len(grid)):
        values = grid[r]
        row = {k: values[i] for k, (i, _) in columns.items() if i < len(values) and values[i].strip()}
        if row:
            out.append((r + 1, nest(row)))
    return out


def _rows_from_json(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path} 不是有效的 JSON（第{exc.lineno}行：{exc.msg}）。", path=str(path),
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


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a roster as (row number, nested record dict) pairs; raises ``InputFileError``."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _rows_from_json(path)
    if suffix in (".csv", ".txt"):
        return _rows_from_csv(path)
    from .ledger_reader import read_ledger

    table = read_ledger(path)
    return [(number, nest(row)) for number, row in table.as_dicts()]


@dataclass
class RecordsReport:
    """Records read from a roster, and (when a form was named) which rows are invalid and why."""

    path: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[tuple[int, list[Problem]]] = field(default_factory=list)
    form: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "form": self.form,
            "valid": self.valid,
            "rows": [{"row": r, "record": data} for r, data in self.rows],
            "problems": [{"row": r, "problems": [p.to_dict() for p in ps]} for r, ps in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)


def read_records(path: Path | str, form: str | None = None) -> RecordsReport:
    """Read a roster (.xlsx/.xls/.csv/.json) into nested records; validate them for ``form`` if given.

    Raises ``InputFileError`` only when the file itself is unusable; invalid rows are
    reported in ``problems`` (by Excel row number) instead.
    """
    from .errors import RecordError
    from .forms import validate_record

    report = RecordsReport(str(path), read_rows(Path(path)), form=form or "")
    if form:
        for row, data in report.rows:
            try:
                validate_record(form, data)
            except RecordError as exc:
                report.problems.append((row, exc.problems))
    return report


__all__ = ["RecordsReport", "nest", "read_records", "read_rows"]
