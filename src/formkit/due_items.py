"""What paperwork each open case needs next, read from the ledger itself.

The ledger has no column that says a report slip or a return notice was issued, so the
workflow stage is read from the 劝返状态 and the persuasion dates (documented rules):

* 疑似辍学 for more than a week → the 辍学报告单 is due (home visits have failed for a week);
* 未劝返 with no persuasion date → the 辍学生返校通知书 is due (the case was reported);
* two failed persuasion attempts, not returned, no 敦返通知书 → the 敦返复学通知书 is due
  from the second attempt;
* 敦返通知书 issued, its deadline (``deadline_days`` after issue) passed, not returned →
  escalation (no form: the township must take the next legal step).

Returned cases (已复学/已消帐) and side exits (休学, 转学, …) produce nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import validators as v
from .checker import LedgerReport, check_ledger
from .enums import load_enums
from .errors import ValueProblem
from .ledger_reader import LedgerTable
from .records import nest

WEEK = timedelta(days=7)
FORM_TITLES = {"dropout-report": "辍学报告单", "return-notice": "辍学生返校通知书", "compel-notice": "敦返复学通知书",
               "": "逾期未返校，需上报处理"}


@dataclass
class DueItem:
    """One document (or escalation) an open case needs, and since when."""

    file: str
    sheet: str
    row: int
    cell: str
    school: str
    name: str
    id_masked: str
    form: str
    """Form name to generate, or "" for an escalation that has no form."""
    title: str
    due_since: date
    reason: str
    overdue_days: int
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("record")
        out["due_since"] = self.due_since.isoformat()
        return out


def _parse(table: LedgerTable, values: list[Any], key: str, parser: Any) -> Any:
    raw = table.value(values, key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return parser(raw)
    except ValueProblem:
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, v.Month):
        return date(value.year, value.month, 1)
    return value if isinstance(value, date) else None


def _items_for_table(table: LedgerTable, as_of: date, deadline_days: int) -> list[DueItem]:
    status_enum = load_enums()["status"]
    out: list[DueItem] = []
    for number, values in table.rows:
        status = _parse(table, values, "status", status_enum.match)
        if status is None or status in status_enum.returned or status in status_enum.needs_note:
            continue
        start = _day(_parse(table, values, "dropout_date", v.parse_date_or_month))
        a1 = _parse(table, values, "attempt1", v.parse_date)
        a2 = _parse(table, values, "attempt2", v.parse_date)
        count = _parse(table, values, "attempt_count", v.parse_count) or 0
        compel_date = _parse(table, values, "compel_date", v.parse_date)
        compel = _parse(table, values, "compel_issued", v.parse_yes_no) or compel_date is not None
        attempts = max(count, sum(1 for a in (a1, a2) if a is not None))
        found: list[tuple[str, date, str]] = []
        if status == "疑似辍学" and start is not None and start + WEEK <= as_of:
            found.append(("dropout-report", start + WEEK, "缺课已超过一周、家访未果，应由班主任填写辍学报告单报学校和乡镇。"))
        elif status == "未劝返" and attempts == 0 and start is not None:
            found.append(("return-notice", start + WEEK, "已报告辍学但尚未劝返，应向监护人送达返校通知书并落实一对一劝返责任人。"))
        if attempts >= 2 and not compel:
            since = a2 or a1 or start or as_of
            found.append(("compel-notice", since, "两次组织劝返仍未返校，应由乡镇人民政府下达敦返复学通知书。"))
        if compel_date is not None and compel_date + timedelta(days=deadline_days) < as_of:
            since = compel_date + timedelta(days=deadline_days)
            found.append(("", since, f"敦返复学通知书已于{v.format_date(compel_date)}下达，期限已过仍未返校，"
                                     "应上报县级教育行政部门，依法采取进一步措施。"))
        if not found:
            continue
        name = str(table.value(values, "name") or "").strip()
        ident = str(table.value(values, "id_number") or "").strip()
        record = nest({k: values[i] for k, (i, _) in table.columns.items() if i < len(values) and values[i] not in
                       (None, "")})
        for form, since, reason in found:
            out.append(DueItem(table.path, table.sheet, number, table.cell(number, "name") if "name" in table.columns
                               else "", str(table.value(values, "school") or "").strip(), name,
                               v.mask_id(ident) if ident else "", form, FORM_TITLES[form], since, reason,
                               (as_of - since).days, record))
    return out


def due(
    report_or_paths: LedgerReport | Iterable[Path | str] | Path | str,
    as_of: date | None = None,
    *,
    deadline_days: int = 7,
) -> list[DueItem]:
    """Every document open cases need next, oldest first. Accepts a report or ledger paths."""
    when = as_of or date.today()
    report = report_or_paths if isinstance(report_or_paths, LedgerReport) else check_ledger(report_or_paths, when)
    items = [item for table in report.tables for item in _items_for_table(table, when, deadline_days)]
    items.sort(key=lambda i: (i.due_since, i.file, i.row))
    return items


def due_json(items: list[DueItem]) -> str:
    return json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2)


def format_due(items: list[DueItem], as_of: date) -> str:
    """Chinese table of due items for the terminal."""
    if not items:
        return f"截至{v.format_date(as_of)}，没有需要补办的文书。"
    lines = [f"截至{v.format_date(as_of)}，共 {len(items)} 项需要办理："]
    for i in items:
        where = f"{Path(i.file).name} 第{i.row}行"
        lines.append(f"  [{i.title}] {i.school} {i.name}（{i.id_masked or '无身份证号'}，{where}）"
                     f"：自{v.format_date(i.due_since)}起应办（已逾期{i.overdue_days}天）。{i.reason}")
    return "\n".join(lines)


def generate_due(
    items: list[DueItem],
    out_dir: Path | str,
    *,
    settings: dict[str, Any] | None = None,
    as_of: date | None = None,
    pdf: bool = False,
    merge: bool = False,
    register: Path | str | None = None,
    jobs: int | None = None,
    force: bool = False,
    templates: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Hand the due items to the batch engine, one sub-folder per form; returns form → BatchResult.

    ``templates`` maps a form name to a user template to use instead of the shipped one.
    """
    from .batch_runner import batch

    results: dict[str, Any] = {}
    when = as_of or date.today()
    for form in ("dropout-report", "return-notice", "compel-notice"):
        records = []
        for item in items:
            if item.form != form:
                continue
            record = json.loads(json.dumps(item.record, default=str))
            if form == "dropout-report":
                # The ledger names the responsible person, usually the 班主任 who files the slip.
                record.setdefault("teacher", record.get("case", {}).get("responsible"))
                record.setdefault("report_date", when.isoformat())
            records.append((item.row, record))
        if records:
            results[form] = batch(form, records, Path(out_dir) / form, settings=settings, pdf=pdf, merge=merge,
                                  register=register, jobs=jobs, force=force, skip_invalid=True,
                                  template=(templates or {}).get(form))
    return results
