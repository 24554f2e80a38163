"""What paperwork each open case needs next, decided from the checked ledger and the 文号 register.

The decision follows the state table in ``docs/workflow.md`` (one row per 对象类别 and state):

* 辍学, 疑似辍学 for more than a week → 辍学报告单;
* 辍学, reported (未劝返), no organised visit → 辍学生返校通知书;
* 适龄未入学 / 开学未报名 / 小学毕业未升入初中, not yet visited → 限期入学(复学)通知书 (a 小升初 child
  reports to the junior middle school: the ``report_to`` setting, never the primary school it left);
* any category, one failed visit → nothing to print (the second visit is due);
* any category, two failed visits, no compel notice (ledger or register) → 敦返复学通知书;
* compel notice issued, its deadline (issue date + ``deadline_days``) passed, not back → escalation (no form);
* 已复学 / 已消帐 / side exits → nothing.

A notice the register (or the ledger) shows as issued is listed as issued with its number and
date, never proposed again. A row whose data contradict themselves (dates out of order, 已复学
without 复学时间, 是否下达=否 with a 下达时间 …) is refused with the reason instead of being given
paperwork: a wrong legal notice is worse than none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from formkit.core import rules
from formkit.core import validators as v
from formkit.core.errors import Problem, UsageError, ValueProblem
from formkit.core.settings import Settings
from formkit.documents.batch import BatchResult
from formkit.documents.roster import nest
from formkit.ledger.check import LedgerCase, LedgerReport, check_ledger

WEEK = timedelta(days=7)
FORM_TITLES = {"dropout-report": "辍学报告单", "return-notice": "辍学生返校通知书", "compel-notice": "敦返复学通知书",
               "deadline-notice": "限期入学(复学)通知书", "": "逾期未返校，需上报处理"}
GENERATED_FORMS = ("dropout-report", "return-notice", "deadline-notice", "compel-notice")
ENROL_CATEGORIES = {"适龄未入学": "入学", "开学未报名": "报名", "小学毕业未升入初中": "入学"}
"""Categories that get the 限期入学(复学)通知书, and the act the notice asks for."""
PRIMARY_TO_JUNIOR = "小学毕业未升入初中"
WORKFLOW_KEYS = ("category", "status", "dropout_date", "attempt1", "attempt2", "attempt_count", "compel_issued",
                 "compel_date", "return_date", "closed_date")
"""Cells the decision reads: an unreadable one makes the decision unsafe."""

DUE, ISSUED, REFUSED = "due", "issued", "refused"


@dataclass
class DueItem:
    """One document (or escalation) an open case needs, one already issued, or a refusal to decide."""

    file: str
    sheet: str
    row: int
    cell: str
    school: str
    name: str
    id_masked: str
    form: str
    """Form name to generate, or "" for an escalation that has no form (or a refusal)."""
    title: str
    due_since: date
    reason: str
    overdue_days: int
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    state: str = DUE
    """due (to produce), issued (already produced: see ``doc_number``/``issued_on``) or refused."""
    doc_number: str = ""
    issued_on: date | None = None
    student_key: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sheet"] = v.mask_message(self.sheet)
        out.pop("record")
        out.pop("student_key")
        out["due_since"] = self.due_since.isoformat()
        out["issued_on"] = self.issued_on.isoformat() if self.issued_on else None
        return out


@dataclass(frozen=True)
class Step:
    """What the state table says for one case."""

    state: str
    form: str
    since: date
    reason: str
    doc_number: str = ""
    issued_on: date | None = None


def student_key(case: LedgerCase) -> str:
    """The register's key for a ledger case: the same one ``batch`` numbers the student under."""
    from formkit.documents.batch import _student_key

    ident = case.get("id_number")
    student = SimpleNamespace(id_number=ident.number if isinstance(ident, v.IdInfo) else None,
                              name=case.get("name") or "", birth_date=case.get("birth_date"))
    # Duck-typed like a record so the key cannot drift from the one batch numbers under.
    record: Any = SimpleNamespace(student=student, school=SimpleNamespace(school=case.get("school") or ""))
    return _student_key(record)


def _refusal(case: LedgerCase, as_of: date, elsewhere: str = "") -> Step | None:
    reasons = [f"{case.table.columns[k][1]}无法识别" for k in WORKFLOW_KEYS if k in case.invalid]
    reasons += [p.message for p in case.problems if p.code in rules.CONTRADICTIONS and p.severity == "error"]
    if elsewhere:
        reasons.append(elsewhere)
    f = case.facts
    start = rules.first_day(f.dropout)
    if start is not None and start > as_of:
        # A dropout "after today" is a typo; any notice dated from it would state a date not yet come.
        reasons.append(f"辍学(失学)时间{v.format_date(f.dropout or start)}晚于{v.format_date(as_of)}")
    if f.status is not None and f.return_date is not None and not f.returned and not f.side_exit:
        reasons.append(f"填了复学时间{v.format_date(f.return_date)}，但劝返状态仍为“{f.status}”")
    if f.status is None and "status" not in case.invalid:
        reasons.append("劝返状态未填写")
    if not reasons:
        return None
    # Rule messages are whole sentences ending in "。"; joined as clauses they must not read "。；" or "。。".
    clauses = dict.fromkeys(r.rstrip("。；; ") for r in reasons)
    return Step(REFUSED, "", as_of, "台账信息矛盾或不全，不能据此办理文书：" + "；".join(clauses) + "。请先核对改正。")


def next_steps(case: LedgerCase, as_of: date, issued: dict[str, Any], *, deadline_days: int = 7,
               report_to: str | None = None, elsewhere: str = "") -> list[Step]:
    """The state table (docs/workflow.md) applied to one case. ``issued`` maps form → register entry;
    ``elsewhere`` says why the case cannot be decided from its own row (the child is listed twice)."""
    refused = _refusal(case, as_of, elsewhere)
    if refused is not None:
        return [refused]
    f = case.facts
    if f.returned or f.side_exit:
        return []
    start = rules.first_day(f.dropout)
    category = f.category or "辍学"
    made = f.attempts_made
    out: list[Step] = []

    def propose(form: str, since: date, reason: str) -> None:
        entry = issued.get(form)
        if entry is not None:
            out.append(Step(ISSUED, form, entry.issue_date, f"已于{v.format_date(entry.issue_date)}下达"
                            f"（{entry.doc_number or '无文号'}），不再重复办理。", entry.doc_number, entry.issue_date))
        else:
            out.append(Step(DUE, form, since, reason))

    if made == 0:
        if category in ENROL_CATEGORIES:
            act = ENROL_CATEGORIES[category]
            where = ("报到学校应是初中学校：请在发文信息中指定 report_to=某某中学，不能写原小学。"
                     if category == PRIMARY_TO_JUNIOR and not report_to else "")
            propose("deadline-notice", start or as_of,
                    f"对象类别为“{category}”，应向监护人送达限期入学(复学)通知书，限期{act}。{where}")
        elif f.status == "疑似辍学":
            if start is None:
                return [Step(REFUSED, "", as_of, "劝返状态为“疑似辍学”但没有辍学(失学)时间，无法判断是否已满一周。请补填。")]
            if start + WEEK <= as_of:
                propose("dropout-report", start + WEEK, "缺课已超过一周、家访未果，应由班主任填写辍学报告单报学校和乡镇。")
        elif f.status == "未劝返" and start is not None:
            propose("return-notice", start + WEEK, "已报告辍学但尚未劝返，应向监护人送达返校通知书并落实一对一劝返责任人。")
    compel_entry = issued.get("compel-notice")
    if made >= 2 and not f.compel_known:
        second = f.attempts[1] if len(f.attempts) >= 2 else None
        first = f.attempts[0] if f.attempts else None
        propose("compel-notice", second or first or start or as_of, "两次组织劝返仍未返校，应由乡镇人民政府下达敦返复学通知书。")
    compel_on = f.compel_date or (compel_entry.issue_date if compel_entry is not None else None)
    if compel_on is not None:
        deadline = (compel_entry.deadline if compel_entry is not None and compel_entry.deadline
                    else compel_on + timedelta(days=deadline_days))
        if deadline < as_of:
            out.append(Step(DUE, "", deadline, f"敦返复学通知书已于{v.format_date(compel_on)}下达，"
                                               f"期限{v.format_date(deadline)}已过仍未返校，应上报县级教育行政部门，依法采取进一步措施。"))
    return out


def _item(case: LedgerCase, step: Step, as_of: date, key: str) -> DueItem:
    ident = case.get("id_number")
    shown = v.mask_id(ident.number) if isinstance(ident, v.IdInfo) else v.mask_id(case.text("id_number")) \
        if case.text("id_number") else ""
    title = FORM_TITLES[step.form] if step.state != REFUSED else "无法判断，需先核对台账"
    return DueItem(case.file, case.sheet, case.row, case.cell("name"), case.text("school"), case.text("name"), shown,
                   step.form, title, step.since, step.reason, max(0, (as_of - step.since).days),
                   nest(case.raw_record()) if step.state == DUE and step.form else {}, step.state, step.doc_number,
                   step.issued_on, key)


def due(
    report_or_paths: LedgerReport | Iterable[Path | str] | Path | str,
    as_of: date | None = None,
    *,
    deadline_days: int = 7,
    register: Path | str | None = None,
    report_to: str | None = None,
    settings: Settings | None = None,
) -> list[DueItem]:
    """Every document open cases need next (and those already issued, and refusals), oldest first.

    Accepts a :class:`LedgerReport` (no second reading) or ledger paths (checked once here).
    ``register`` is the 文号 register whose issued documents count as done; ``report_to`` the
    junior middle school 小学毕业未升入初中 children report to; ``settings`` is what ledger paths are
    checked with.
    """
    when = as_of or (report_or_paths.as_of if isinstance(report_or_paths, LedgerReport) else None) or date.today()
    report = (report_or_paths if isinstance(report_or_paths, LedgerReport)
              else check_ledger(report_or_paths, when, settings=settings))
    issued, digest = _issued(register)
    # The same child in two rows (often two schools' sheets) may be in two different states: deciding
    # from either row could send one family a return notice and a compel notice at once.
    # The duplicate-id finding already names the other places the child is listed (capped, with a count).
    twice = {(f.file, f.sheet, f.row): f.message.rstrip("。") for f in report.findings if f.code == "duplicate-id"}
    items: list[DueItem] = []
    for case in report.cases:
        if "status" not in case.table.columns or (not case.get("name") and "name" not in case.invalid):
            continue  # a roster (no 劝返状态) tracks no case; a row without a name is no student
        key = student_key(case)
        elsewhere = twice.get((case.file, case.sheet, case.row), "")
        for step in next_steps(case, when, issued.get(digest(key), {}), deadline_days=deadline_days,
                               report_to=report_to, elsewhere=elsewhere):
            item = _item(case, step, when, key)
            if step.form == "deadline-notice" and item.record:
                # report_to (setting or --set) names the junior school for 小升初 children only; every other
                # child reports to the school of its own ledger row, whatever the batch settings say.
                junior = case.facts.category == PRIMARY_TO_JUNIOR
                target = report_to if junior else case.text("school")
                if target:
                    item.record.setdefault("issuer", {})["report_to"] = target
            items.append(item)
    items.sort(key=lambda i: ({DUE: 0, REFUSED: 1, ISSUED: 2}[i.state], i.due_since, i.file, i.row))
    return items


def _issued(register: Path | str | None) -> tuple[dict[str, dict[str, Any]], Callable[[str], str]]:
    """Issued documents by stored student digest, and the function that turns a student key into it."""
    if register is None or not Path(register).is_file():
        return {}, str
    from formkit.documents.register import NumberRegister

    with NumberRegister(Path(register)) as reg:
        out: dict[str, dict[str, Any]] = {}
        for entry in reg.issued_documents():
            out.setdefault(entry.student, {})[entry.form] = entry  # later issues win: the list is oldest first
        return out, reg.student_digest


def due_record(item: DueItem, as_of: date | None = None) -> dict[str, Any]:
    """The record ``item``'s form is generated from: the ledger row as a nested record (a plain
    JSON copy, so the item is never changed), plus what a 辍学报告单 needs that a ledger lacks.

    The ledger names the 劝返责任人, who for a 辍学报告单 is usually the 班主任 filing it on
    ``as_of`` (default today). ``generate_due`` and the web page both build records here.
    """
    record: dict[str, Any] = json.loads(json.dumps(item.record, default=str))
    if item.form == "dropout-report":
        record.setdefault("teacher", record.get("case", {}).get("responsible"))
        record.setdefault("report_date", (as_of or date.today()).isoformat())
    return record


@dataclass(frozen=True)
class DueFailure:
    """One problem that kept a due document from being generated, traced back to its ledger row."""

    form: str
    item: DueItem
    problem: Problem
    column: str
    """The ledger column the problem is about (its header), or "" when it concerns no one column."""


@dataclass
class DueGeneration:
    """What :func:`generate_due` produced: one batch per form, and every document it could not make."""

    results: dict[str, BatchResult] = field(default_factory=dict)
    """Form name → the batch that generated it (only forms with due items)."""
    failures: list[DueFailure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every due document was generated (no row was refused for its data)."""
        return not any(result.invalid for result in self.results.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": {form: result.to_dict() for form, result in self.results.items()},
            "failures": [{"form": f.form, "file": f.item.file, "sheet": v.mask_message(f.item.sheet), "row": f.item.row,
                          "name": f.item.name, "column": f.column, **f.problem.to_dict()} for f in self.failures],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _failures(items: list[DueItem], results: dict[str, BatchResult]) -> list[DueFailure]:
    """Every due document the batch refused, traced back to its ledger row.

    The batch numbers records by ledger row only, and two files or sheets share row numbers; its
    refusals come in input order, so they are matched to the items in the order they were handed over.
    """
    from formkit.documents.batch import _column_for

    out = []
    for form, result in results.items():
        queue = [i for i in items if i.form == form and i.state == DUE]
        for row, problems in result.invalid:
            at = next(n for n, i in enumerate(queue) if i.row == row)
            item = queue.pop(at)
            out += [DueFailure(form, item, p, _column_for(p.path)) for p in problems]
            queue = queue[at:]
    return out


def generate_due(
    items: list[DueItem],
    out_dir: Path | str,
    *,
    issuer: Mapping[str, Any] | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    as_of: date | None = None,
    pdf: bool = False,
    merge: bool = False,
    register: Path | str | None = None,
    jobs: int | None = None,
    overwrite: bool = False,
    templates: Mapping[str, Path | str] | None = None,
) -> DueGeneration:
    """Generate every due document of ``items`` (from :func:`due`), one sub-folder of ``out_dir`` per form.

    Each form goes through :func:`formkit.documents.batch.batch` with ``skip_invalid``: a row whose
    data a form refuses is listed in :attr:`DueGeneration.failures` (file, sheet, row, column) and
    the rest are generated. Every document produced is recorded in ``register`` (default: the
    user's register) so the next :func:`due` lists it as issued. ``templates`` maps a form name to
    a county template to use instead of the shipped one (see :func:`parse_templates`); ``overwrite``
    replaces documents a clerk edited (the batch's rule otherwise keeps them). ``issuer`` holds the
    issue-level values and ``settings`` the county :class:`~formkit.Settings`, as on :func:`batch`.
    """
    from formkit.documents.batch import _county_and_issuer, batch
    from formkit.documents.roster import SheetRow

    county, values = _county_and_issuer(settings, issuer)
    chosen_templates = {form: Path(path) for form, path in (templates or {}).items()}
    results: dict[str, BatchResult] = {}
    when = as_of or date.today()
    for form in GENERATED_FORMS:
        chosen = [i for i in items if i.form == form and i.state == DUE]
        # The manifest names each row's sheet: a township workbook holds one school per sheet.
        records = [(SheetRow(item.row, item.sheet), due_record(item, when)) for item in chosen]
        if records:
            result = batch(form, records, Path(out_dir) / form, issuer=values, settings=county, pdf=pdf, merge=merge,
                           register=register, jobs=jobs, overwrite=overwrite, skip_invalid=True,
                           template=chosen_templates.get(form))
            results[form] = result
            _remember(form, chosen, result, values, when, register)
    return DueGeneration(results, _failures(items, results))


def parse_templates(pairs: Iterable[str]) -> dict[str, Path]:
    """``表单=模板.docx`` pairs (as a county writes them) as the form → template mapping of
    :func:`generate_due`; ``UsageError`` (code ``template-pair``) for a pair without ``=``."""
    chosen: dict[str, Path] = {}
    for pair in pairs:
        form, sep, path = pair.partition("=")
        if not sep or not form.strip() or not path.strip():
            raise UsageError(f"模板应写成 表单=模板.docx，例如 compel-notice=县版.docx；收到的是“{pair}”。",
                             code="template-pair")
        chosen[form.strip()] = Path(path.strip())
    return chosen


PRODUCED = ("written", "unchanged", "updated", "kept-edited")


def _remember(form: str, chosen: list[DueItem], result: BatchResult, settings: dict[str, Any], when: date,
              register: Path | str | None) -> None:
    """Write every produced document into the register, so the next ``due`` shows it as issued."""
    from formkit.documents.register import NumberRegister, default_register_path

    issue = _setting_date(settings, "issuer.issue_date") or (when if form == "dropout-report" else None)
    if issue is None:
        return
    deadline = _setting_date(settings, "issuer.deadline")
    waiting: dict[tuple[int, str], list[DueItem]] = {}
    for item in chosen:
        waiting.setdefault((item.row, item.name), []).append(item)
    with NumberRegister(Path(register) if register else default_register_path()) as reg:
        for made in result.items:
            queue = waiting.get((made.row, made.name))
            if made.status in PRODUCED and queue:
                reg.record_issue(form, queue.pop(0).student_key, issue, made.doc_number, deadline)


def _setting_date(settings: dict[str, Any], key: str) -> date | None:
    value = settings.get(key)
    if value in (None, ""):
        return None
    try:
        return v.parse_date(value)
    except ValueProblem:
        return None  # batch has already refused the run with the reason
