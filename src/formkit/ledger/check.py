"""Check completed ledgers: every cell, every row rule, and workbook-wide rules.

:func:`check_ledger` never raises for bad data: it returns a :class:`LedgerReport` whose
findings say exactly where (file, sheet, row, cell, header as written) and what to do.
A file that cannot be read at all is listed in ``report.files`` with its ``error`` and
makes ``report.readable`` false (the CLI exits 2).
"""

from __future__ import annotations

import functools
import gc
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from formkit.core import codes, rules
from formkit.core import validators as v
from formkit.core.enums import EnumTable, normalize_text
from formkit.core.errors import FormkitError, InputFileError, UsageError, ValueProblem
from formkit.core.fileio import Source, source_name
from formkit.core.rules import CaseFacts, RuleProblem
from formkit.core.settings import Settings, settings_or_default
from formkit.documents.roster import decode_sex, is_resident_id, roster_id_type_column
from formkit.tables.columns import COLUMNS_BY_KEY, LEDGER_COLUMNS, Column, HeaderMatcher, normalise_header
from formkit.tables.reader import LedgerTable, no_header_error, read_ledger, read_workbook

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls")
AGE_MIN, AGE_MAX = rules.AGE_MIN, rules.AGE_MAX


# Runs of characters an ID, 学籍号 or phone is made of (ASCII and full-width), long enough to be one;
# spaces and "+" too, since people group them by hand ("138 8512 0001", "+86 138…").
_PII_RUN = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\-\uff0d +\uff0b\u3000]{7,}")


def _mask(text: str) -> str:
    """``text`` with every ID- or phone-shaped run masked (:func:`validators.mask_sensitive`),
    the rest (Chinese punctuation included) left exactly as written."""

    def hide(match: re.Match[str]) -> str:
        run = match.group(0)
        masked = v.mask_sensitive(run)
        return run if masked == normalize_text(run) else masked

    return _PII_RUN.sub(hide, text) if text else text


@functools.lru_cache(maxsize=1024)
def mask_sheet(name: str) -> str:
    """A worksheet name as shown anywhere outside the workbook: a student's ID a clerk used as a
    sheet name is masked like one typed into a cell (names repeat: remembered)."""
    return _mask(name)


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
    severity: str = field(init=False)
    """From the code's registry entry (:mod:`formkit.core.codes`), never chosen where the finding is made."""
    message: str
    value: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", codes.severity(self.code))
        # The one place every finding passes: masking here covers terminal, --json and annotated copies.
        object.__setattr__(self, "message", _mask(self.message))
        object.__setattr__(self, "value", _mask(self.value))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sheet"] = mask_sheet(self.sheet)
        return out


@dataclass
class FileSummary:
    """What was read from one file (or why it could not be)."""

    path: str
    sheet: str = ""
    """The sheets read, joined with 、 (see ``sheets``)."""
    rows: int = 0
    error: str = ""
    error_code: str = ""
    sheets: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(sheet, Chinese reason) for every sheet not read."""
    unknown: dict[str, list[str]] = field(default_factory=dict)
    """Sheet → headers nobody recognised (kept, not checked)."""
    not_ledger: str = ""
    """Why the whole file was not checked (formkit's own output left among the ledgers); not an error."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "sheet": mask_sheet(self.sheet), "rows": self.rows,
                               "sheets": [mask_sheet(s) for s in self.sheets],
                               "skipped": [{"sheet": mask_sheet(s), "reason": r} for s, r in self.skipped],
                               "unknown_headers": {mask_sheet(s): h for s, h in self.unknown.items()}}
        if self.error:
            out["error"] = self.error
            out["error_code"] = self.error_code
        if self.not_ledger:
            out["not_ledger"] = self.not_ledger
        return out


@dataclass(slots=True)
class LedgerCase:
    """One data row of a ledger, parsed once: typed values, where they came from, what the rules said.

    ``values`` maps column keys to typed values; a cell that failed its own check is absent from
    ``values`` and listed in ``invalid``. ``due`` and ``summary`` work from these, never from the cells.
    """

    table: LedgerTable = field(repr=False)
    row: int
    cells: list[Any] = field(repr=False)
    values: dict[str, Any]
    invalid: frozenset[str]
    facts: CaseFacts = field(repr=False)
    problems: list[RuleProblem] = field(default_factory=list, repr=False)

    @property
    def file(self) -> str:
        return self.table.path

    @property
    def sheet(self) -> str:
        return self.table.sheet

    def get(self, key: str) -> Any:
        """The typed value of ``key``, or None when blank or unreadable."""
        return self.values.get(key)

    def text(self, key: str) -> str:
        """``key`` as text for display: the typed value, else what the cell says (normalised)."""
        value = self.values.get(key)
        if value is not None:
            return str(value)
        raw = self.raw(key)
        return normalize_text(raw) if raw is not None else ""

    def raw(self, key: str) -> Any:
        """The cell as read (before any checking), None when blank."""
        value = self.table.value(self.cells, key)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def cell(self, key: str) -> str:
        return self.table.cell(self.row, key) if key in self.table.columns else ""

    def raw_record(self) -> dict[str, Any]:
        """{column key: cell as read} for the filled cells (what a roster row would give)."""
        return {k: raw for k in self.table.columns if (raw := self.raw(k)) is not None}


@dataclass
class LedgerReport:
    """Findings of a ledger check, as data."""

    files: list[FileSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tables: list[LedgerTable] = field(default_factory=list, repr=False)
    cases: list[LedgerCase] = field(default_factory=list, repr=False)
    """Every data row of every readable table, parsed once, in reading order."""
    as_of: date | None = None
    enums: EnumTable | None = field(default=None, repr=False)
    """The enumeration table the rows were checked against (figures and due lists reuse it)."""
    unused_pins: list[str] = field(default_factory=list)
    """Pinned header wordings (``columns``) that matched no header of any workbook read: most
    likely mistyped, and silently useless otherwise."""

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
            "unused_pins": self.unused_pins,
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
        self.problems: list[RuleProblem] = []
        self.statuses = enums["status"]
        self.facts = CaseFacts(returned=False, side_exit=False)
        self.typed: dict[str, Any] = {}
        self.invalid: frozenset[str] = frozenset()
        # A 学籍 export is read as the roster reader reads it (batch, ledger new): 性别 as 1/2, and a
        # 身份证件号 that its 身份证件类型 says is a passport or permit is no 身份证号 to verify.
        self.id_type = roster_id_type_column(table)
        self._last_id: v.IdInfo | None = None
        self.parsers: dict[str, Callable[[Any], Any]] = {}
        # Per column, once: (key, cell index, parser, its remembered results or None, the str cells
        # whose value needs no further test or None, whether the cell is plain text, whether the
        # row's 身份证件类型 decides how to read it, whether a date may lie in the future).
        # check_row runs this plan for every cell of the sheet.
        self.plan: list[tuple[str, int, Callable[[Any], Any], _Remembering | None, dict[Any, Any] | None, bool, bool,
                              bool]] = []
        for key, (index, _) in table.columns.items():
            column = COLUMNS_BY_KEY[key]
            parser = self._parser(column)
            if key == "sex":
                parser = _decoding_sex(parser)
            elif parser is v.parse_xjh:
                parser = self._xjh
            elif parser is v.parse_id:
                parser = self._id
            remembered = _remembering(parser) if column.enum_name or column.kind in _REPEATING else None
            self.parsers[key] = remembered or parser
            dated = column.kind in ("date", "month")
            # A date column's answers are taken as they are only once known not to lie in the future.
            done = None if remembered is None else {} if dated else remembered.done
            self.plan.append((key, index, parser, remembered, done, parser is _text,
                              key == "id_number" and self.id_type is not None, dated))
        self.required = [c for c in LEDGER_COLUMNS if c.required and c.key in table.columns]
        self.required_keys = frozenset(c.key for c in self.required)

    def _id(self, raw: Any) -> v.IdInfo:
        self._last_id = None
        info = v.parse_id(raw)
        self._last_id = info
        return info

    def _xjh(self, raw: Any) -> v.XjhInfo:
        """``parse_xjh``, reusing this row's parsed ID when the number is G/J + that ID: the
        ledger's 学籍号 is nearly always G + 身份证号, and parsing it again doubled the ID cost."""
        last = self._last_id
        if last is not None and type(raw) is str and len(raw) == 19 and raw[0] in "GJ" and raw.endswith(last.number):
            # Already in the normal form (a G/J and an ID's ASCII digits): what the steps below give.
            return v.XjhInfo(raw, raw[0], last.birth_date, last.number if raw[0] == "G" else None)
        if last is not None and isinstance(raw, str):
            text = normalize_text(raw).upper().replace(" ", "")
            if type(raw) is str and text == raw:
                text = raw  # the cell's own string, not a second copy of it
            if len(text) == 19 and text[0] in "GJ" and text[1:] == last.number:
                return v.XjhInfo(text, text[0], last.birth_date, last.number if text[0] == "G" else None)
        return v.parse_xjh(raw)

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

    def add(self, row: int, key: str, code: str, message: str, value: str = "") -> None:
        t = self.t
        header = t.columns[key][1] if key in t.columns else COLUMNS_BY_KEY[key].header
        cell = t.cell(row, key) if key in t.columns else ""
        self.out.append(Finding(t.path, t.sheet, row, header, cell, code, message, value))

    def check_row(self, number: int, values: list[Any]) -> dict[str, Any]:
        """Parse every cell of one row once, add its findings, and apply the row rules."""
        parsed: dict[str, Any] = {}
        self._last_id = None
        width = len(values)
        bad = False
        as_of = self.as_of
        value: Any
        for key, index, parser, remembered, done, plain, by_type, dated in self.plan:
            raw = values[index] if index < width else None
            # A str cell of a repeating column read before is answered by one look-up, before
            # any other test: ``done`` holds parsed values only (never a blank, a refusal or a
            # date after the check date).
            if done is not None and type(raw) is str:
                value = done.get(raw, _INVALID)
                if value is not _INVALID:
                    parsed[key] = value
                    continue
            if raw is None:
                continue
            # The common cell is an exact str: strip it once, for the blank test and as the text.
            if type(raw) is str:
                text = raw.strip()
                if not text:
                    continue
                if plain:
                    parsed[key] = text
                    continue
            elif isinstance(raw, str) and not raw.strip():
                continue
            elif plain:
                parsed[key] = _text(raw)
                continue
            if by_type and not is_resident_id(values, self.id_type):  # type: ignore[arg-type]
                parsed[key] = _text(raw)
                continue
            if remembered is not None:
                value = remembered.result(raw)
                if isinstance(value, ValueProblem):
                    self._refused(number, key, raw, value)
                    parsed[key] = _INVALID
                    bad = True
                    continue
            else:
                try:
                    value = parser(raw)
                except ValueProblem as problem:
                    self._refused(number, key, raw, problem)
                    parsed[key] = _INVALID
                    bad = True
                    continue
            if dated:
                if _after(value, as_of):
                    self._future(number, key, value)
                elif done is not None and type(raw) is str:
                    done[raw] = value
            parsed[key] = value
        if not parsed.keys() >= self.required_keys:
            self._required(number, parsed)
        self.problems = self._rules(number, parsed, bad)
        return parsed

    def _future(self, number: int, key: str, value: Any) -> None:
        self.add(number, key, "date-future", f"日期{v.format_date(value)}晚于检查日期{v.format_date(self.as_of)}，请核对。",
                 v.format_date(value))

    def _refused(self, number: int, key: str, raw: Any, problem: ValueProblem) -> None:
        if key == "id_number" and problem.code == "id-checksum" and str(raw).strip().endswith("000"):
            problem = ValueProblem(
                "id-precision-lost",
                "身份证号末尾是000且校验不通过，很可能是表格把它当成数字后丢失了末几位。请把该列设为文本格式后按原件重新录入。",
                problem.value,
            )
        self.add(number, key, problem.code, problem.message, problem.value)

    def _required(self, number: int, parsed: dict[str, Any]) -> None:
        has_id = None
        for column in self.required:
            if column.key in parsed:
                continue
            if has_id is None:
                has_id = isinstance(parsed.get("id_number"), v.IdInfo)
            if has_id and column.key in ("sex", "birth_date"):
                continue  # both can be read from the ID
            if column.key == "reason" and parsed.get("category") in ("适龄未入学",):
                continue
            self.add(number, column.key, "required",
                     f"“{column.header}”必须填写，请补填（公式和 #N/A 等错误值按空白处理，请填写实际内容）。")

    def _rules(self, n: int, p: dict[str, Any], bad: bool = True) -> list[RuleProblem]:
        # Most rows have no unreadable cell: their parsed values are the typed ones as they are,
        # and they share one empty set (200 bytes a row otherwise).
        if bad:
            self.typed = {k: x for k, x in p.items() if x is not _INVALID}
            self.invalid = frozenset(k for k in p if k not in self.typed) if len(self.typed) < len(p) else _NONE
        else:
            self.typed, self.invalid = p, _NONE
        self.facts = rules.facts_from_parsed(self.typed, self.invalid, self.statuses)
        # A sheet without that column cannot be faulted for leaving it empty; the case keeps only the
        # problems reported here, so due/summary/batch never refuse a row that check passed.
        problems = rules.check(self.facts)
        if not problems:  # the usual row: no second list
            return problems
        problems = [prob for prob in problems if not (prob.absent and prob.field not in self.t.columns)]
        for prob in problems:
            self.add(n, prob.field, prob.code, prob.message, prob.value)
        return problems


_REPEATING = ("date", "month", "count", "bool")
"""Kinds whose cells repeat down a ledger (dates, yes/no, counts; enumerations too): each
distinct cell is parsed once per table. IDs, phones and names are unique and are not kept."""


class _Remembering:
    """``parser`` with its results (and refusals) remembered per distinct cell value.

    The validators are pure and their results immutable, so a remembered result is the one a
    new call would give. Calling it raises a refusal afresh each time (a re-raised instance
    would grow its traceback); :meth:`result` returns the refusal instead, for the checker's
    loop. A str cell is its own key (``done`` answers it directly, and holds only values:
    refusals are kept apart); other keys carry the type: 1, 1.0 and True are equal in a dict
    but not to a parser.
    """

    __slots__ = ("done", "parser", "refused")

    def __init__(self, parser: Callable[[Any], Any]) -> None:
        self.parser = parser
        self.done: dict[Any, Any] = {}
        self.refused: dict[Any, ValueProblem] = {}

    def result(self, raw: Any) -> Any:
        """The parsed value of ``raw``, or the :class:`ValueProblem` the parser raised for it."""
        key = raw if type(raw) is str else (type(raw), raw)
        try:
            result = self.done.get(key, _INVALID)
        except TypeError:  # an unhashable cell (never from calamine): parse it every time
            try:
                return self.parser(raw)
            except ValueProblem as problem:
                return problem
        if result is _INVALID:
            result = self.refused.get(key, _INVALID)
        if result is _INVALID:
            try:
                result = self.done[key] = self.parser(raw)
            except ValueProblem as problem:
                result = self.refused[key] = problem
        return result

    def __call__(self, raw: Any) -> Any:
        result = self.result(raw)
        if isinstance(result, ValueProblem):
            raise ValueProblem(result.code, result.message, result.value)
        return result


def _remembering(parser: Callable[[Any], Any]) -> _Remembering:
    return _Remembering(parser)


def _decoding_sex(match: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The 性别 parser: a 学籍 export's code (1 男, 2 女) decoded, then matched to the enumeration."""

    def parse(raw: Any) -> Any:
        return match(decode_sex(raw))

    return parse


class _Invalid:
    """Marker for a cell that failed its own check (so row rules skip it)."""


_INVALID = _Invalid()
_NONE: frozenset[str] = frozenset()


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


def _check_table(table: LedgerTable, as_of: date, enums: EnumTable, out: list[Finding],
                 cases: list[LedgerCase]) -> list[tuple[int, Any]]:
    for column in table.missing_required:
        out.append(Finding(table.path, table.sheet, table.header_row, column.header, "", "header-missing",
                           f"缺少必填列“{column.header}”。请按台账模板补上这一列（列名也可写作："
                           f"{'、'.join(column.synonyms) or column.header}）。"))
    checker = _RowChecker(table, as_of, enums, out)
    ids: list[tuple[int, Any]] = []
    previous_seq: int | None = None
    declared = normalize_text(table.declared.get("school", ""))
    last_school: Any = None
    shown = ""
    for number, values in table.rows:
        parsed = checker.check_row(number, values)
        cases.append(LedgerCase(table, number, values, checker.typed, checker.invalid, checker.facts, checker.problems))
        ident = parsed.get("id_number")  # neither an unreadable cell's marker nor None is an IdInfo or int
        if isinstance(ident, v.IdInfo):
            ids.append((number, ident.number))
        seq = parsed.get("seq")
        if isinstance(seq, int):
            if previous_seq is not None and seq != previous_seq + 1:
                checker.add(number, "seq", "seq-gap", f"序号不连续：上一行是{previous_seq}，本行是{seq}。请重新编号。",
                            str(seq))
            previous_seq = seq
        school = _ok(parsed.get("school"))
        if school != last_school:  # the same school on nearly every row: normalised once
            last_school, shown = school, normalize_text(school) if school else ""
        # "平寨镇平寨小学" above the table and "平寨小学" in the row name the same school.
        if declared and shown and not (declared.endswith(shown) or shown.endswith(declared)):
            checker.add(number, "school", "school-mismatch",
                        f"本行学校“{school}”与表头填报学校“{declared}”不一致。请确认该生是否属于本校。", str(school))
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
                (f"{Path(t.path).name} " if t.path != table.path else "")
                + (f"工作表“{t.sheet}” " if t.path != table.path or t.sheet != table.sheet else "") + f"第{r}行"
                for t, r in places[: DUPLICATE_PLACES_SHOWN + 1] if not (t is table and r == row)
            ][:DUPLICATE_PLACES_SHOWN]
            more = f"等共 {len(places) - 1} 处" if len(places) - 1 > len(others) else ""
            out.append(Finding(table.path, table.sheet, row, table.columns["id_number"][1], table.cell(row, "id_number"),
                               "duplicate-id",
                               f"身份证号重复，同一学生还出现在：{'、'.join(others)}{more}。请核实后只保留一条。", masked))


def check_ledger(
    paths: Iterable[Source] | Source,
    as_of: date | None = None,
    *,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> LedgerReport:
    """Check one or more ledgers (files or folders) together and return the report.

    ``paths`` are files, folders, or uploads (the bytes or a binary file object of a workbook, named
    ``<上传的文件>`` in the report). ``as_of`` is the date "future" and "due" are measured against
    (default today).
    Every ledger sheet of each workbook is checked (only ``sheet`` when given); the file
    summaries say which sheets were read and which were skipped and why. ``columns`` pins
    header wordings to fields (``{"家长联系方式": "phone"}``; default ``settings.columns``); ``settings``
    also gives the enumeration table and the workbook limits.
    Duplicate ID numbers are found within each file and across all files checked.
    """
    # A check allocates millions of small objects and frees none of them until it returns:
    # the cyclic collector would rescan them over and over (a fifth of the time at 200,000 rows).
    enabled = gc.isenabled()
    gc.disable()
    try:
        chosen = settings_or_default(settings)
        return _check_ledger(paths, as_of, sheet=sheet, columns=chosen.columns if columns is None else columns,
                             settings=chosen)
    finally:
        if enabled:
            gc.enable()


def _check_ledger(paths: Iterable[Source] | Source, as_of: date | None, *, sheet: str | None,
                  columns: Mapping[str, str] | None, settings: Settings) -> LedgerReport:
    if isinstance(paths, str | Path | bytes | bytearray | memoryview) or hasattr(paths, "read"):
        paths = [cast(Source, paths)]
    paths = list(paths)
    when = as_of or date.today()
    if columns:
        HeaderMatcher(columns)  # a wrong pin is a usage error, not a problem of each file
    enums = settings.enums
    report = LedgerReport(as_of=when, enums=enums)
    per_table: list[tuple[LedgerTable, list[tuple[int, Any]]]] = []
    files = [f for p in paths for f in (expand_paths([p]) if isinstance(p, str | Path) else [p])]
    if not files:
        raise UsageError(f"在 {'、'.join(source_name(p) for p in paths)} 中没有找到表格文件（.xlsx/.xls）。请检查文件夹或文件路径。")
    for source in files:
        path = Path(source_name(source))
        kind = _own_output(path) if isinstance(source, Path) else ""
        if kind:
            report.files.append(FileSummary(str(path), not_ledger=kind))
            continue
        try:
            if sheet is not None:
                tables, skipped = [read_ledger(source, sheet=sheet, columns=columns, limits=settings.limits)], []
            else:
                book = read_workbook(source, columns=columns, limits=settings.limits)
                tables, skipped = book.tables, book.skipped
                if not tables:
                    raise no_header_error(path, "任何工作表")
        except InputFileError as exc:
            report.files.append(FileSummary(str(path), error=str(exc), error_code=exc.code))
            continue
        except FormkitError as exc:
            report.files.append(FileSummary(str(path), error=str(exc), error_code=exc.code))
            continue
        report.files.append(FileSummary(
            str(path), "、".join(t.sheet for t in tables), sum(len(t.rows) for t in tables),
            sheets=[t.sheet for t in tables], skipped=skipped,
            unknown={t.sheet: t.unknown_headers for t in tables if t.unknown}))
        for table in tables:
            report.findings += [Finding(table.path, table.sheet, table.header_row, p.header, p.cell, p.code,
                                        p.message) for p in table.header_problems if p.severity != "info"]
            report.tables.append(table)
            per_table.append((table, _check_table(table, when, enums, report.findings, report.cases)))
    if all(f.not_ledger for f in report.files):
        raise UsageError(f"{'、'.join(f.path for f in report.files)} 是 formkit 自己生成的文件（汇总表或标注副本），"
                         "不是台账。请指定要检查的台账文件或文件夹。")
    _duplicates(per_table, report.findings)
    if columns and report.tables:
        used = set().union(*(t.pins_used for t in report.tables))
        report.unused_pins = [text for text in columns if normalise_header(text) not in used]
    order = {f.path: i for i, f in enumerate(report.files)}
    sheet_order = {(t.path, t.sheet): i for i, t in enumerate(report.tables)}
    report.findings.sort(key=lambda f: (order.get(f.file, 0), sheet_order.get((f.file, f.sheet), 0), f.row,
                                        _column_order(f.cell)))
    return report


def _own_output(path: Path) -> str:
    """Why ``path`` is formkit's own output rather than a ledger (Chinese), or ``""``.

    A summary is never a ledger. A checked copy is recognised by its name only: a school
    may correct the marked copy and send it back under a new name, and that is a ledger.
    """
    from formkit.tables.xlsx_guard import output_kind

    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return ""
    if output_kind(path) == "summary":
        return "是 formkit 生成的汇总表，不是台账，已跳过。"
    if ".checked." in path.name.lower():
        return "是 formkit 生成的标注副本（.checked.xlsx），不是台账，已跳过；请检查改好的原台账。"
    return ""


def _copy_names(paths: Sequence[str]) -> list[str]:
    """``<name>.checked.xlsx`` per table, unique even for two schools' ``台账.xlsx``: a clash gets the
    parent folder's name in front, and a number if that still clashes."""
    from formkit.core.fileio import safe_component

    stems = [safe_component(Path(p).stem) for p in paths]
    clashes = Counter(stem.lower() for stem in stems)
    names: list[str] = []
    taken: set[str] = set()
    for path, stem in zip(paths, stems, strict=True):
        if clashes[stem.lower()] > 1:
            stem = safe_component(f"{Path(path).resolve().parent.name}-{stem}")
        name, n = stem, 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        names.append(name + ".checked.xlsx")
    return names


def format_report(report: LedgerReport) -> str:
    """The Chinese terminal table: grouped by file, then row; IDs already masked."""
    lines: list[str] = [f"注意：列名说明“{text}”在读到的表头中都没有找到，没有起作用。请核对表头文字"
                        "（换行、空格、全角半角和括号可不计较）。" for text in report.unused_pins]
    by_file: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.file, []).append(finding)
    for summary in report.files:
        if summary.not_ledger:
            lines.append(f"· {summary.path}{summary.not_ledger}")
            continue
        if summary.error:
            lines.append(f"✗ {summary.path}：无法读取。{summary.error}")
            continue
        items = by_file.get(summary.path, [])
        errors = sum(1 for f in items if f.severity == "error")
        warnings = len(items) - errors
        sheets = "、".join(f"“{s}”" for s in summary.sheets or [summary.sheet])
        head = f"{summary.path}（工作表{sheets}，{summary.rows} 行数据）"
        not_read = "；".join(f"“{s}”：{why}" for s, why in summary.skipped)
        if not errors and not warnings:
            lines.append(f"✓ {head}：未发现问题。")
        else:
            lines.append(f"■ {head}：{errors} 个错误，{warnings} 个提醒")
        if not_read:
            lines.append(f"  未读取的工作表：{not_read}")
        for name, headers in summary.unknown.items():
            lines.append(f"  [说明] 工作表“{name}”中这些列不是台账的标准列，已保留但不检查：{'、'.join(headers)}"
                         "（需要检查时在 formkit.toml 的 [columns] 中写明 \"表头\" = \"字段\"，或用 --column 表头=字段）")
        current: tuple[str, int] | None = None
        for f in items:
            if len(summary.sheets) > 1 and (current is None or current[0] != f.sheet):
                lines.append(f"  工作表“{f.sheet}”")
                current = None
            if current is None or current != (f.sheet, f.row):
                lines.append(f"  第 {f.row} 行")
                current = (f.sheet, f.row)
            mark = "错误" if f.severity == "error" else "提醒"
            where = f"{f.cell} {f.column}".strip()
            shown = f"（值：{f.value}）" if f.value else ""
            lines.append(f"    [{mark}] {where}：{f.message}{shown} <{f.code}>")
    counts = report.counts
    unreadable = sum(1 for f in report.files if f.error)
    tail = f"，{unreadable} 个文件无法读取" if unreadable else ""
    own = sum(1 for f in report.files if f.not_ledger)
    tail += f"，跳过 {own} 个 formkit 生成的文件" if own else ""
    read = sum(len(f.sheets) for f in report.files)
    lines.append(f"共检查 {len(report.files) - own} 个文件（{read} 个工作表）：{counts['error']} 个错误，"
                 f"{counts['warning']} 个提醒{tail}。")
    # Sheet names, file names and skipped-sheet reasons come from the workbook: an ID a clerk used
    # as a sheet name is masked here like one typed into a cell.
    return _mask("\n".join(lines))
