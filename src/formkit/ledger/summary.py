"""Totals for the township and county: by school, grade, reason and category, and a month.

Counting rules (also written on the 汇总 sheet):
* a case is a ledger row with a student name;
* 已复学 = status 已复学 or 已消帐; 已消帐 = status 已消帐;
* 其他去向 = side exits (休学, 转学/在外地就读, 出国(境), 死亡, 信息错误, 延缓入学);
* 仍未返校 = every other case; 劝返率 = 已复学 ÷ (案例数 − 其他去向).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from formkit.core import validators as v
from formkit.core.enums import EnumTable, load_enums
from formkit.core.errors import UsageError, ValueProblem
from formkit.core.rules import first_day
from formkit.core.settings import Settings
from formkit.ledger.check import LedgerReport, check_ledger

COUNT_KEYS = ("cases", "returned", "closed", "other", "out", "poverty")
HEADERS = {"cases": "案例数", "returned": "已复学", "closed": "已消帐", "other": "其他去向", "out": "仍未返校",
           "poverty": "建档立卡"}


@dataclass
class SummaryRow:
    """One ledger row reduced to what the summary needs."""

    file: str
    row: int
    school: str
    name: str
    id_masked: str
    grade: str
    reason: str
    category: str
    status: str
    poverty: bool
    dropout: date | None
    returned_on: date | None
    responsible: str
    responsible_phone: str
    returned: bool
    closed: bool
    other: bool
    township: str = ""
    county: str = ""
    dropout_month: str = ""
    """``2024年3月`` when the ledger gives only the month: the 明细 must not invent a day for it."""

    @property
    def out(self) -> bool:
        return not self.returned and not self.other


@dataclass
class Summary:
    """The figures behind the summary workbook."""

    cases: list[SummaryRow] = field(default_factory=list)
    month: tuple[int, int] | None = None
    files_with_errors: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files without a 劝返状态 column (rosters), left out of the figures."""
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(file, Chinese reason) for every file that could not be read: its cases are missing from the figures."""
    area: str = ""
    """The township (or county) the ledgers declare, for the monthly report (see :meth:`report_area`)."""
    enums: EnumTable | None = field(default=None, repr=False)
    """The enumeration table of the checked ledgers (their order of grades, reasons and categories)."""

    def report_area(self, override: str | None = None) -> str:
        """The 填报单位 of the monthly report: ``override``, else the one township the cases
        belong to, else their one county. Cases from several townships of no single county
        cannot be labelled with any one of them: ``UsageError`` asks for ``--area``."""
        if override:
            return override
        townships = sorted({c.township for c in self.cases if c.township})
        counties = sorted({c.county for c in self.cases if c.county})
        if len(townships) == 1:
            return townships[0]
        if len(counties) == 1:
            return counties[0]
        if townships or counties:
            found = "、".join(townships or counties)
            raise UsageError(
                f"台账涉及多个乡镇或县（{found}），无法确定月报的填报单位。请指定填报单位（area），如 青山县。",
                code="area-ambiguous",
            )
        raise UsageError("台账中没有填写乡镇(街道)或县(市、区)，无法确定月报的填报单位。请指定填报单位（area），如 石门镇。",
                         code="area-missing")

    def by(self, attr: str) -> list[tuple[str, dict[str, int]]]:
        groups: dict[str, Counter[str]] = {}
        for case in self.cases:
            key = getattr(case, attr) or "（未填）"
            counter = groups.setdefault(key, Counter())
            counter["cases"] += 1
            counter["returned"] += case.returned
            counter["closed"] += case.closed
            counter["other"] += case.other
            counter["out"] += case.out
            counter["poverty"] += case.poverty
        # Grades, reasons and categories read best in the enumeration's own order.
        order = {"grade": "grade", "reason": "reason", "category": "category"}.get(attr)
        canonical = list((self.enums or load_enums())[order].canonical) if order else []

        def rank(key: str) -> tuple[int, str]:
            return (canonical.index(key) if key in canonical else len(canonical), key)

        return [(k, {c: groups[k][c] for c in COUNT_KEYS}) for k in sorted(groups, key=rank)]

    def totals(self) -> dict[str, int]:
        return {c: sum(1 for _ in self.cases) if c == "cases" else sum(
            getattr(case, c) if c != "poverty" else case.poverty for case in self.cases) for c in COUNT_KEYS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": f"{self.month[0]}-{self.month[1]:02d}" if self.month else None,
            "totals": self.totals(),
            "monthly": self.monthly(),
            "by_school": dict(self.by("school")),
            "by_grade": dict(self.by("grade")),
            "by_reason": dict(self.by("reason")),
            "by_category": dict(self.by("category")),
            "files_with_errors": [{"path": p, "errors": n} for p, n in self.files_with_errors],
            "skipped": self.skipped,
            "unreadable": [{"path": p, "error": e} for p, e in self.unreadable],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def monthly(self) -> dict[str, int]:
        """New cases, returned in the month, still out at month end (month given or latest)."""
        if self.month is None:
            return {"new": 0, "returned": 0, "out_at_end": 0}
        y, m = self.month
        start = date(y, m, 1)
        end = (date(y + m // 12, m % 12 + 1, 1)) - timedelta(days=1)
        new = sum(1 for c in self.cases if c.dropout and start <= c.dropout <= end)
        back = sum(1 for c in self.cases if c.returned_on and start <= c.returned_on <= end)
        out = sum(1 for c in self.cases if c.dropout and c.dropout <= end and not c.other
                  and not (c.returned and c.returned_on and c.returned_on <= end))
        return {"new": new, "returned": back, "out_at_end": out}


def collect(report: LedgerReport, month: str | None = None) -> Summary:
    """Reduce a checked report to summary cases (from the cases it parsed: no cell is read again)."""
    status_enum = (report.enums or load_enums())["status"]
    summary = Summary(month=_month(month), enums=report.enums)
    errors = Counter(f.file for f in report.findings if f.severity == "error")
    summary.files_with_errors = [(path, n) for path, n in errors.items()]
    summary.unreadable = [(f.path, f.error) for f in report.files if f.error]
    for table in report.tables:
        if "status" not in table.columns:
            summary.skipped.append(table.path)  # a roster, not a ledger: it tracks no case
            continue
    # Masked by shape, whatever the column: an ID typed into 年级 must not become a 按年级 group.
    text = v.mask_sensitive
    for case in report.cases:
        if "status" not in case.table.columns:
            continue
        name = case.text("name")
        if not name:
            continue
        status = case.get("status") or ""
        ident = case.get("id_number")
        shown = v.mask_id(ident.number) if isinstance(ident, v.IdInfo) else v.mask_id(case.text("id_number")) \
            if case.raw("id_number") is not None else ""
        summary.cases.append(SummaryRow(
            case.file, case.row, text(case.text("school")), text(name), shown, text(case.text("grade")),
            text(case.text("reason")), text(case.text("category")), text(status), case.get("poverty") is True,
            first_day(case.get("dropout_date")), case.get("return_date"), text(case.text("responsible")),
            text(case.text("responsible_phone")),
            status in status_enum.returned, status == "已消帐", status in status_enum.needs_note,
            township=text(case.text("township") or case.table.declared.get("township", "")),
            county=text(case.text("county") or case.table.declared.get("county", "")),
            dropout_month=str(month) if isinstance(month := case.get("dropout_date"), v.Month) else "",
        ))
    try:
        summary.area = summary.report_area()
    except UsageError:
        summary.area = ""  # several townships: only the monthly report needs one name, and asks then
    if summary.month is None:
        dates = [c.dropout for c in summary.cases if c.dropout] + [c.returned_on for c in summary.cases if c.returned_on]
        if dates:
            latest = max(dates)
            summary.month = (latest.year, latest.month)
    return summary


def figures(report_or_paths: LedgerReport | Iterable[Path | str] | Path | str, month: str | None = None,
            *, as_of: date | None = None, settings: Settings | None = None) -> Summary:
    """The summary figures of a checked report (or of ledgers, checked once here with ``settings``);
    nothing is written."""
    report = (report_or_paths if isinstance(report_or_paths, LedgerReport)
              else check_ledger(report_or_paths, as_of, settings=settings))
    return collect(report, month)


def _month(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        parsed = v.parse_date_or_month(text)
    except ValueProblem:
        raise UsageError(f"月份应写成 2024-03 这样的年月，收到的是“{text}”。") from None
    month = v.month_of(parsed)
    return month.year, month.month


def report_record(figures: Summary, area: str, *, report_date: date | None = None) -> dict[str, Any]:
    """The ``monthly-report`` record for ``figures`` (one township or county)."""
    monthly = figures.monthly()
    y, m = figures.month or (date.today().year, date.today().month)
    return {
        "area": area,
        "month": f"{y}年{m}月",
        "report_date": (report_date or date.today()).isoformat(),
        "new": monthly["new"],
        "returned_this_month": monthly["returned"],
        "out_at_end": monthly["out_at_end"],
        "schools": [{"school": school, **counts} for school, counts in figures.by("school")],
    }
