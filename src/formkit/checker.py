"""Check completed ledgers: every cell, every row rule, and workbook-wide rules.

:func:`check_ledger` never raises for bad data: it returns a :class:`LedgerReport` whose
findings say exactly where (file, sheet, row, cell, header as written) and what to do.
A file that cannot be read at all is listed in ``report.files`` with its ``error`` and
makes ``report.readable`` false (the CLI exits 2).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import validators as v
from .columns import COLUMNS_BY_KEY, LEDGER_COLUMNS, Column
from .enums import EnumTable, load_enums, normalize_text
from .errors import FormkitError, InputFileError, OutputError, UsageError, ValueProblem
from .ledger_reader import LedgerTable, read_ledger

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls")
AGE_MIN, AGE_MAX = 6, 16


# Runs of characters an ID, 学籍号 or phone is made of (ASCII and full-width), long enough to be one.
_PII_RUN = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\-\uff0d]{7,}")


def _mask(text: str) -> str:
    """``text`` with every ID- or phone-shaped run masked (:func:`validators.mask_sensitive`),
    the rest (Chinese punctuation included) left exactly as written."""

    def hide(match: re.Match[str]) -> str:
        run = match.group(0)
        masked = v.mask_sensitive(run)
        return run if masked == normalize_text(run) else masked

    return _PII_RUN.sub(hide, text) if text else text


@dataclass(frozen=True)
class Finding:
    """One problem at one place. ``message`` and ``value`` are safe to show: anything shaped
    like an ID or a phone number is masked here, whichever column it was typed into."""

    file: str
    sheet: str
    row: int
    column: str
    cell: str
    code: str
    severity: str
    message: str
    value: str = ""

    def __post_init__(self) -> None:
        # The one place every finding passes: masking here covers terminal, --json and annotated copies.
        object.__setattr__(self, "message", _mask(self.message))
        object.__setattr__(self, "value", _mask(self.value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FileSummary:
    """What was read from one file (or why it could not be)."""

    path: str
    sheet: str = ""
    rows: int = 0
    error: str = ""
    error_code: str = ""
    skipped: str = ""
    """Why the file was not checked (formkit's own output left among the ledgers); not an error."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "sheet": self.sheet, "rows": self.rows}
        if self.error:
            out["error"] = self.error
            out["error_code"] = self.error_code
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass
class LedgerReport:
    """Findings of a ledger check, as data."""

    files: list[FileSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tables: list[LedgerTable] = field(default_factory=list, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        errors = sum(1 for f in self.findings if f.severity == "error")
        return {"error": errors, "warning": len(self.findings) - errors}

    @property
    def readable(self) -> bool:
        return not any(f.error for f in self.files)

    @property
    def valid(self) -> bool:
        return self.readable and self.counts["error"] == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "files": [f.to_dict() for f in self.files],
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, folders expanded to their spreadsheets (no lock files, no checked copies)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(
                f for f in p.iterdir()
                if f.suffix.lower() in SPREADSHEET_SUFFIXES and not f.name.startswith(("~$", "."))
            )
        else:
            out.append(p)
    return out


class _RowChecker:
    """Applies the cell and row rules to one table; collects findings."""

    def __init__(self, table: LedgerTable, as_of: date, enums: EnumTable, out: list[Finding]) -> None:
        self.t = table
        self.as_of = as_of
        self.enums = enums
        self.out = out
        self.parsers: dict[str, Callable[[Any], Any]] = {}
        for key in table.columns:
            self.parsers[key] = self._parser(COLUMNS_BY_KEY[key])

    def _parser(self, column: Column) -> Callable[[Any], Any]:
        kind = column.kind
        if column.enum_name:
            return self.enums[column.enum_name].match
        parsers: dict[str, Callable[[Any], Any]] = {
            "id": v.parse_id,
            "xjh": v.parse_xjh,
            "phone": v.normalize_phone,
            "date": v.parse_date,
            "month": v.parse_date_or_month,
            "count": v.parse_count,
            "seq": v.parse_count,
            "bool": v.parse_yes_no,
        }
        return parsers.get(kind, _text)

    def add(self, row: int, key: str, code: str, message: str, value: str = "", severity: str = "error") -> None:
        t = self.t
        header = t.columns[key][1] if key in t.columns else COLUMNS_BY_KEY[key].header
        cell = t.cell(row, key) if key in t.columns else ""
        self.out.append(Finding(t.path, t.sheet, row, header, cell, code, severity, message, value))

    def check_row(self, number: int, values: list[Any]) -> dict[str, Any]:
        t = self.t
        parsed: dict[str, Any] = {}
        for key, (index, _) in t.columns.items():
            raw = values[index] if index < len(values) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                value = self.parsers[key](raw)
            except ValueProblem as p:
                if key == "id_number" and p.code == "id-checksum" and str(raw).strip().endswith("000"):
                    p = ValueProblem(
                        "id-precision-lost",
                        "身份证号末尾是000且校验不通过，很可能是表格把它当成数字后丢失了末几位。请把该列设为文本格式后按原件重新录入。",
                        p.value,
                    )
                self.add(number, key, p.code, p.message, p.value)
                parsed[key] = _INVALID
                continue
            if COLUMNS_BY_KEY[key].kind in ("date", "month") and _after(value, self.as_of):
                self.add(number, key, "date-future", f"日期{v.format_date(value)}晚于检查日期{v.format_date(self.as_of)}，请核对。",
                         v.format_date(value))
            parsed[key] = value
        self._required(number, parsed)
        self._rules(number, parsed)
        return parsed

    def _required(self, number: int, parsed: dict[str, Any]) -> None:
        has_id = isinstance(parsed.get("id_number"), v.IdInfo)
        for column in LEDGER_COLUMNS:
            if not column.required or column.key not in self.t.columns or column.key in parsed:
                continue
            if has_id and column.key in ("sex", "birth_date"):
                continue  # both can be read from the ID
            if column.key == "reason" and parsed.get("category") in ("适龄未入学",):
                continue
            self.add(number, column.key, "required",
                     f"“{column.header}”必须填写，请补填（公式和 #N/A 等错误值按空白处理，请填写实际内容）。")

    def _rules(self, n: int, p: dict[str, Any]) -> None:
        ident = _ok(p.get("id_number"))
        if isinstance(ident, v.IdInfo):
            sex = _ok(p.get("sex"))
            if sex and sex != ident.sex:
                self.add(n, "sex", "id-sex-mismatch", f"性别填“{sex}”，但身份证号表示“{ident.sex}”。请核对性别或身份证号。", sex)
            birth = _ok(p.get("birth_date"))
            if birth is not None and v.compare_dates(birth, ident.birth_date) != 0:
                self.add(n, "birth_date", "id-birth-mismatch",
                         f"出生日期{v.format_date(birth)}与身份证号中的{v.format_date(ident.birth_date)}不一致，请核对。",
                         v.format_date(birth))
        xjh = _ok(p.get("xjh"))
        if isinstance(xjh, v.XjhInfo):
            if isinstance(ident, v.IdInfo) and not v.xjh_matches_id(xjh, ident.number):
                self.add(n, "xjh", "xjh-mismatch",
                         "G字头学籍号应为“G+身份证号”，与本行身份证号不一致。若身份证号变更过请在备注说明，否则请核对。",
                         v.mask_id(xjh.number), "warning")
            birth_any = ident.birth_date if isinstance(ident, v.IdInfo) else _ok(p.get("birth_date"))
            if xjh.kind in "JL" and xjh.birth_date and birth_any and v.compare_dates(xjh.birth_date, birth_any) != 0:
                self.add(n, "xjh", "xjh-mismatch", "学籍号中的出生日期与本行出生日期不一致，请核对。", v.mask_id(xjh.number),
                         "warning")
        self._dates(n, p, ident)
        self._workflow(n, p)

    def _dates(self, n: int, p: dict[str, Any], ident: Any) -> None:
        start = _ok(p.get("dropout_date"))
        birth = ident.birth_date if isinstance(ident, v.IdInfo) else _ok(p.get("birth_date"))
        if start is not None and birth is not None:
            age = v.age_on(birth, start)
            if not AGE_MIN <= age <= AGE_MAX:
                self.add(n, "dropout_date", "age-range",
                         f"辍学时该生{age}岁，不在义务教育年龄（{AGE_MIN}-{AGE_MAX}岁）内。请核对出生日期和辍学时间。",
                         v.format_date(start), "warning")
        a1, a2 = _ok(p.get("attempt1")), _ok(p.get("attempt2"))
        ret, closed, compel = _ok(p.get("return_date")), _ok(p.get("closed_date")), _ok(p.get("compel_date"))
        if start is not None:
            for key, when, label in (("attempt1", a1, "第一次劝返时间"), ("attempt2", a2, "第二次劝返时间"),
                                     ("compel_date", compel, "通知书下达时间"), ("return_date", ret, "复学时间")):
                if when is not None and v.compare_dates(when, start) < 0:
                    self.add(n, key, "date-order", f"{label}早于辍学时间，请核对。", v.format_date(when))
        if a1 is not None and a2 is not None and v.compare_dates(a2, a1) < 0:
            self.add(n, "attempt2", "date-order", "第二次劝返时间早于第一次，请按先后顺序填写。", v.format_date(a2))
        if ret is not None and closed is not None and v.compare_dates(closed, ret) < 0:
            self.add(n, "closed_date", "date-order", "消帐时间早于复学时间，请核对。", v.format_date(closed))

    def _workflow(self, n: int, p: dict[str, Any]) -> None:
        status_enum = self.enums["status"]
        status = _ok(p.get("status"))
        filled = sum(1 for k in ("attempt1", "attempt2") if p.get(k) is not None)
        count = _ok(p.get("attempt_count"))
        if isinstance(count, int) and not (count == filled or (filled == 2 and count > 2)):
            self.add(n, "attempt_count", "attempt-count",
                     f"劝返次数填{count}次，但填写了{filled}个劝返时间，请核对次数或补填时间。", str(count))
        if status is None:
            return
        returned = status in status_enum.returned
        if returned:
            for key, label in (("return_date", "复学时间"), ("placement", "安置方式")):
                if key in self.t.columns and p.get(key) is None:
                    self.add(n, key, "status-incomplete", f"劝返状态为“{status}”，必须填写{label}。")
        if status == "已消帐" and "closed_date" in self.t.columns and p.get("closed_date") is None:
            self.add(n, "closed_date", "status-incomplete", "劝返状态为“已消帐”，必须填写消帐时间。")
        note = p.get("note")
        poverty = _ok(p.get("poverty")) is True
        if status in status_enum.needs_note and not note and "note" in self.t.columns:
            self.add(n, "note", "status-incomplete", f"劝返状态为“{status}”，必须在备注中写明情况和依据。")
        elif status == "无法劝返" and poverty and not note:
            self.add(n, "status", "poverty-closed",
                     "建档立卡贫困户学生必须劝返，不能不加说明地标为“无法劝返”。请在备注中写明原因和后续帮扶措施。", status, "warning")
        attempts = max(filled, count if isinstance(count, int) else 0)
        in_progress = not returned and status not in status_enum.needs_note
        compel_issued = _ok(p.get("compel_issued")) is True or p.get("compel_date") is not None
        if in_progress and attempts >= 2 and not compel_issued and "compel_issued" in self.t.columns:
            due = _ok(p.get("attempt2"))
            since = f"自{v.format_date(due)}第二次劝返无效起" if due is not None else "两次劝返无效后"
            self.add(n, "compel_issued", "compel-notice-due",
                     f"{since}就应下达敦返复学通知书，但尚未下达。请由乡镇人民政府下达并填写下达时间。",
                     v.format_date(due) if due is not None else "", "warning")


class _Invalid:
    """Marker for a cell that failed its own check (so row rules skip it)."""


_INVALID = _Invalid()


def _ok(value: Any) -> Any:
    return None if value is _INVALID else value


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _after(value: Any, as_of: date) -> bool:
    if isinstance(value, v.Month):
        return value > v.Month.of(as_of)
    return isinstance(value, date) and value > as_of


def _check_table(table: LedgerTable, as_of: date, enums: EnumTable, out: list[Finding]) -> list[tuple[int, Any]]:
    for column in table.missing_required:
        out.append(Finding(table.path, table.sheet, table.header_row, column.header, "", "header-missing", "error",
                           f"缺少必填列“{column.header}”。请按台账模板补上这一列（列名也可写作："
                           f"{'、'.join(column.synonyms) or column.header}）。"))
    checker = _RowChecker(table, as_of, enums, out)
    ids: list[tuple[int, Any]] = []
    previous_seq: int | None = None
    declared = normalize_text(table.declared.get("school", ""))
    for number, values in table.rows:
        parsed = checker.check_row(number, values)
        ident = _ok(parsed.get("id_number"))
        if isinstance(ident, v.IdInfo):
            ids.append((number, ident.number))
        seq = _ok(parsed.get("seq"))
        if isinstance(seq, int):
            if previous_seq is not None and seq != previous_seq + 1:
                checker.add(number, "seq", "number-format", f"序号不连续：上一行是{previous_seq}，本行是{seq}。请重新编号。",
                            str(seq), "warning")
            previous_seq = seq
        school = _ok(parsed.get("school"))
        if declared and school and normalize_text(school) != declared:
            checker.add(number, "school", "school-mismatch",
                        f"本行学校“{school}”与表头填报学校“{declared}”不一致。请确认该生是否属于本校。", str(school), "warning")
    return ids


def _column_order(cell: str) -> tuple[int, str]:
    letters = cell.rstrip("0123456789")
    return (len(letters), letters)


DUPLICATE_PLACES_SHOWN = 3
"""A duplicate-ID finding names this many other places, then the count: one ID filled down
8,000 rows must give 8,000 short findings, not 8,000 lists of 8,000 places."""


def _duplicates(per_table: Sequence[tuple[LedgerTable, list[tuple[int, Any]]]], out: list[Finding]) -> None:
    seen: dict[str, list[tuple[LedgerTable, int]]] = {}
    for table, ids in per_table:
        for row, number in ids:
            seen.setdefault(number, []).append((table, row))
    for number, places in seen.items():
        if len(places) < 2:
            continue
        masked = v.mask_id(number)
        for table, row in places:
            others = [
                (f"{Path(t.path).name} " if t.path != table.path else "") + f"第{r}行"
                for t, r in places[: DUPLICATE_PLACES_SHOWN + 1] if not (t is table and r == row)
            ][:DUPLICATE_PLACES_SHOWN]
            more = f"等共 {len(places) - 1} 处" if len(places) - 1 > len(others) else ""
            out.append(Finding(table.path, table.sheet, row, table.columns["id_number"][1], table.cell(row, "id_number"),
                               "duplicate-id", "error",
                               f"身份证号重复，同一学生还出现在：{'、'.join(others)}{more}。请核实后只保留一条。", masked))


def check_ledger(
    paths: Iterable[Path | str] | Path | str,
    as_of: date | None = None,
    *,
    sheet: str | None = None,
) -> LedgerReport:
    """Check one or more ledgers (files or folders) together and return the report.

    ``as_of`` is the date "future" and "due" are measured against (default today).
    Duplicate ID numbers are found within each file and across all files checked.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = list(paths)
    when = as_of or date.today()
    enums = load_enums()
    report = LedgerReport()
    per_table: list[tuple[LedgerTable, list[tuple[int, Any]]]] = []
    files = expand_paths(paths)
    if not files:
        raise UsageError(f"在 {'、'.join(str(p) for p in paths)} 中没有找到表格文件（.xlsx/.xls）。请检查文件夹或文件路径。")
    for path in files:
        kind = _own_output(path)
        if kind:
            report.files.append(FileSummary(str(path), skipped=kind))
            continue
        try:
            table = read_ledger(path, sheet=sheet)
        except InputFileError as exc:
            report.files.append(FileSummary(str(path), error=str(exc), error_code=exc.code))
            continue
        except FormkitError as exc:
            report.files.append(FileSummary(str(path), error=str(exc), error_code=exc.code))
            continue
        report.files.append(FileSummary(table.path, table.sheet, len(table.rows)))
        report.tables.append(table)
        per_table.append((table, _check_table(table, when, enums, report.findings)))
    if all(f.skipped for f in report.files):
        raise UsageError(f"{'、'.join(f.path for f in report.files)} 是 formkit 自己生成的文件（汇总表或标注副本），"
                         "不是台账。请指定要检查的台账文件或文件夹。")
    _duplicates(per_table, report.findings)
    order = {f.path: i for i, f in enumerate(report.files)}
    report.findings.sort(key=lambda f: (order.get(f.file, 0), f.row, _column_order(f.cell)))
    return report


def _own_output(path: Path) -> str:
    """Why ``path`` is formkit's own output rather than a ledger (Chinese), or ``""``.

    A summary is never a ledger. A checked copy is recognised by its name only: a school
    may correct the marked copy and send it back under a new name, and that is a ledger.
    """
    from .xlsx_guard import output_kind

    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return ""
    if output_kind(path) == "summary":
        return "是 formkit 生成的汇总表，不是台账，已跳过。"
    if ".checked." in path.name.lower():
        return "是 formkit 生成的标注副本（.checked.xlsx），不是台账，已跳过；请检查改好的原台账。"
    return ""


def _copy_names(tables: Sequence[LedgerTable]) -> list[str]:
    """``<name>.checked.xlsx`` per table, unique even for two schools' ``台账.xlsx``: a clash gets the
    parent folder's name in front, and a number if that still clashes."""
    from .fileio import safe_component

    stems = [safe_component(Path(t.path).stem) for t in tables]
    clashes = Counter(stem.lower() for stem in stems)
    names: list[str] = []
    taken: set[str] = set()
    for table, stem in zip(tables, stems, strict=True):
        if clashes[stem.lower()] > 1:
            stem = safe_component(f"{Path(table.path).resolve().parent.name}-{stem}")
        name, n = stem, 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        names.append(name + ".checked.xlsx")
    return names


def annotate(report: LedgerReport, out_dir: Path | str, *, overwrite: bool = False) -> list[Path]:
    """Write ``<name>.checked.xlsx`` for every readable input into ``out_dir``; inputs untouched.

    ``out_dir`` may also be a file name ending in ``.xlsx`` when exactly one ledger was
    read. A copy already there is replaced only if it is exactly what formkit wrote last
    time (:func:`formkit.xlsx_writer.untouched`); one edited since, or not written by
    formkit, raises :class:`OutputError` before anything is written, unless ``overwrite``.
    """
    from .xlsx_writer import annotate_workbook, untouched

    target = Path(out_dir)
    if target.suffix.lower() in SPREADSHEET_SUFFIXES and not target.is_dir():
        if target.suffix.lower() != ".xlsx" or len(report.tables) != 1:
            raise UsageError(
                f"--annotate 应指定一个文件夹（每个台账的标注副本写成“原名.checked.xlsx”放在里面），"
                f"收到的是文件名“{target.name}”。只检查一个台账时也可以写 .xlsx 文件名。"
            )
        targets = [target]
    else:
        targets = [target / name for name in _copy_names(report.tables)]
    inputs = {Path(t.path).resolve() for t in report.tables}
    if any(t.resolve() in inputs for t in targets):
        raise UsageError(f"--annotate 的位置“{target}”就是被检查的台账本身；原文件不能被改写，请换一个文件名或文件夹。")
    if not overwrite:
        edited = [t for t in targets if t.exists() and not untouched(t)]
        if edited:
            raise OutputError(
                f"{'、'.join(str(t) for t in edited)} 已存在，且不是 formkit 上次写出的样子（可能已有人修改）。"
                "为免覆盖这些修改，没有写出任何标注副本。请换一个文件夹，或确认后加 --force 覆盖。",
                code="output-edited",
            )
    by_file: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.file, []).append(finding)
    written = []
    for table, path in zip(report.tables, targets, strict=True):
        try:
            written.append(annotate_workbook(Path(table.path), path, by_file.get(table.path, []), table.sheet))
        except FormkitError:
            raise
        except OSError as exc:
            raise OutputError(f"无法写出标注副本 {path}：{exc.strerror or exc}。请检查文件夹是否存在、可写，磁盘是否已满。",
                              code="output-write") from None
    return written


def format_report(report: LedgerReport) -> str:
    """The Chinese terminal table: grouped by file, then row; IDs already masked."""
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.file, []).append(finding)
    for summary in report.files:
        if summary.skipped:
            lines.append(f"· {summary.path}{summary.skipped}")
            continue
        if summary.error:
            lines.append(f"✗ {summary.path}：无法读取。{summary.error}")
            continue
        items = by_file.get(summary.path, [])
        errors = sum(1 for f in items if f.severity == "error")
        head = f"{summary.path}（工作表“{summary.sheet}”，{summary.rows} 行数据）"
        if not items:
            lines.append(f"✓ {head}：未发现问题。")
            continue
        lines.append(f"■ {head}：{errors} 个错误，{len(items) - errors} 个提醒")
        current_row = None
        for f in items:
            if f.row != current_row:
                lines.append(f"  第 {f.row} 行")
                current_row = f.row
            mark = "错误" if f.severity == "error" else "提醒"
            where = f"{f.cell} {f.column}".strip()
            shown = f"（值：{f.value}）" if f.value else ""
            lines.append(f"    [{mark}] {where}：{f.message}{shown} <{f.code}>")
    counts = report.counts
    unreadable = sum(1 for f in report.files if f.error)
    tail = f"，{unreadable} 个文件无法读取" if unreadable else ""
    skipped = sum(1 for f in report.files if f.skipped)
    tail += f"，跳过 {skipped} 个 formkit 生成的文件" if skipped else ""
    lines.append(f"共检查 {len(report.files) - skipped} 个文件：{counts['error']} 个错误，{counts['warning']} 个提醒{tail}。")
    return "\n".join(lines)


FINDING_CODES: dict[str, tuple[str, str]] = {
    "required": ("error", "必填的格子是空的（公式、#N/A 等错误值也按空白处理）。补填实际内容。"),
    "id-format": ("error", "身份证号不是18位（17位数字加1位数字或X）。对照户口簿重新录入。"),
    "id-checksum": ("error", "身份证号最后一位校验码算不对，说明有数字录错。逐位核对。"),
    "id-birthdate": ("error", "身份证号第7-14位不是真实日期，或晚于今天。核对原件。"),
    "id-precision-lost": ("error", "身份证号被 Excel 当成数字存储，末几位已变成0，无法恢复。把列设为文本格式后按原件重新录入。"),
    "id-sex-mismatch": ("error", "性别与身份证号第17位（单数男、双数女）不符。"),
    "id-birth-mismatch": ("error", "出生日期与身份证号中的出生日期不符（只写到月时按月比较）。"),
    "xjh-format": ("error", "全国学籍号不是 G/J/L 开头的19位，或校验不通过。从学籍系统复制。"),
    "xjh-mismatch": ("warning", "G字头学籍号与本人身份证号不一致，或学籍号中的出生日期不同。身份证号变更过属正常，请在备注说明。"),
    "phone-format": ("error", "电话不是11位手机号，也不是带区号的固定电话。"),
    "date-format": ("error", "日期看不懂或不存在（如2月30日）。写成2024-03-05或2024年3月5日。"),
    "date-future": ("error", "日期晚于检查日期。核对年份。"),
    "enum": ("error", "不是规定的选项（辍学原因、劝返状态、安置方式等）。按提示从下拉列表选择最接近的值。"),
    "number-format": ("error", "应填整数（如劝返次数），或序号不连续（提醒）。"),
    "age-range": ("warning", "辍学时不在6-16岁的义务教育年龄内。核对出生日期和辍学时间。"),
    "date-order": ("error", "日期先后不对：劝返、复学、下达通知书不能早于辍学；第二次劝返不能早于第一次；消帐不能早于复学。"),
    "attempt-count": ("error", "劝返次数与填写的劝返时间个数不符。"),
    "status-incomplete": ("error", "劝返状态要求的内容没填：已复学要填复学时间和安置方式，已消帐还要填消帐时间，休学、转学等要在备注写明。"),
    "compel-notice-due": ("warning", "两次劝返无效仍未下达敦返复学通知书。提示中写明从哪天起应下达。"),
    "poverty-closed": ("warning", "建档立卡贫困户学生被标为“无法劝返”但没有说明。这类学生必须劝返，写明原因和帮扶措施。"),
    "duplicate-id": ("error", "同一身份证号在本表或其他学校的台账中出现了不止一次。提示中列出至多3处其他位置和总处数。"),
    "header-missing": ("error", "缺少必填的列。按台账模板补上这一列（可用常见的列名写法）。"),
    "school-mismatch": ("warning", "本行学校与表头“填报学校”不一致。确认该生是否属于本校。"),
}
"""Every finding code the checker emits: (severity, what it means and what to do)."""
