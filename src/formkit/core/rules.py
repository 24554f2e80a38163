"""The cross-field and workflow rules of a case, written once.

Every rule is a function over typed values (:class:`CaseFacts`) returning
:class:`RuleProblem` items that name the field at fault by its ledger column key
(``attempt2``, ``compel_date`` …). The ledger checker turns them into findings at that
column's cell; the pydantic models turn them into problems at the record path
(:data:`PATHS`). Because both call the same functions, a record and the ledger row
holding it are judged alike (a property test asserts it).

Dates may be full dates or months (:class:`~formkit.core.validators.Month`, from 年月
columns); they are compared at month precision whenever either side is a month.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

from formkit.core import codes
from formkit.core import validators as v
from formkit.core.enums import Enumeration, enum
from formkit.core.errors import ValueProblem

AGE_MIN, AGE_MAX = 6, 16

Day = date | v.Month

PATHS: dict[str, str] = {
    "sex": "student.sex",
    "birth_date": "student.birth_date",
    "id_number": "student.id_number",
    "xjh": "student.xjh",
    "category": "case.category",
    "dropout_date": "case.dropout_date",
    "attempt_count": "case.attempts",
    "compel_issued": "case.compel_issued",
    "compel_date": "case.compel_date",
    "status": "case.status",
    "return_date": "case.return_date",
    "placement": "case.placement",
    "closed_date": "case.closed_date",
    "note": "case.note",
}
"""Ledger column key → record path, for the fields rules talk about (attempts: see :func:`path_of`)."""


def path_of(key: str) -> str:
    """The record path of a rule field (``attempt2`` → ``case.attempts.1.date``)."""
    if key.startswith("attempt") and key[7:].isdigit():
        return f"case.attempts.{int(key[7:]) - 1}.date"
    return PATHS.get(key, key)


@dataclass(frozen=True)
class RuleProblem:
    """One broken rule: its finding code, the field (ledger column key) and a Chinese message."""

    code: str
    field: str
    message: str
    value: str = ""
    absent: bool = False
    """True when the problem is that ``field`` is empty: a ledger without that column is not at fault."""
    severity: str = dataclass_field(init=False)
    """From the code's registry entry (:mod:`formkit.core.codes`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", codes.severity(self.code))


@dataclass(slots=True)
class CaseFacts:
    """The typed values of one case, whichever way it was read (ledger row or record)."""

    id: v.IdInfo | None = None
    sex: str | None = None
    birth: Day | None = None
    xjh: v.XjhInfo | None = None
    category: str | None = None
    dropout: Day | None = None
    attempts: tuple[date | None, ...] = ()
    """Attempt dates in the order written; None where a date is filled but unreadable."""
    attempt_keys: tuple[str, ...] = ()
    """Field key of each attempt (``attempt2`` even when the first date is blank); default by position."""
    attempt_count: int | None = None
    compel_issued: bool | None = None
    compel_date: date | None = None
    status: str | None = None
    return_date: date | None = None
    placement: str | None = None
    closed_date: date | None = None
    note: str | None = None
    poverty: bool = False
    returned: bool | None = None
    """Status is 已复学/已消帐 (worked out from ``status`` when not given)."""
    side_exit: bool | None = None
    """Status is a side exit that needs a note (休学, 转学, …; worked out when not given)."""

    def __post_init__(self) -> None:
        if self.returned is None or self.side_exit is None:
            statuses = enum("status")
            self.returned = self.status is not None and self.status in statuses.returned
            self.side_exit = self.status is not None and self.status in statuses.needs_note

    def attempt_key(self, index: int) -> str:
        """Field key of the attempt at 0-based ``index``."""
        return self.attempt_keys[index] if index < len(self.attempt_keys) else f"attempt{index + 1}"

    @property
    def attempts_filled(self) -> int:
        return len(self.attempts)

    @property
    def attempts_made(self) -> int:
        count = self.attempt_count if self.attempt_count is not None else 0
        return max(count, self.attempts_filled)

    @property
    def compel_known(self) -> bool:
        """The ledger says a compel notice was issued (flag 是, or a date)."""
        return self.compel_issued is True or self.compel_date is not None


def _fmt(value: Day) -> str:
    return v.format_date(value)


def identity(f: CaseFacts) -> Iterator[RuleProblem]:
    """Sex and birth date agree with the ID; a G-学籍号 is G + the ID; J/L numbers carry the birth date."""
    ident = f.id
    if ident is not None:
        if f.sex and f.sex != ident.sex:
            yield RuleProblem("id-sex-mismatch", "sex", f"性别填“{f.sex}”，但身份证号表示“{ident.sex}”。请核对性别或身份证号。",
                              f.sex)
        if f.birth is not None and v.compare_dates(f.birth, ident.birth_date) != 0:
            yield RuleProblem("id-birth-mismatch", "birth_date",
                              f"出生日期{_fmt(f.birth)}与身份证号中的{_fmt(ident.birth_date)}不一致，请核对。", _fmt(f.birth))
    xjh = f.xjh
    if xjh is not None:
        if ident is not None and not v.xjh_matches_id(xjh, ident.number):
            yield RuleProblem("xjh-mismatch", "xjh",
                              "G字头学籍号应为“G+身份证号”，与本行身份证号不一致。若身份证号变更过请在备注说明，否则请核对。",
                              v.mask_id(xjh.number))
        birth = ident.birth_date if ident is not None else f.birth
        if xjh.kind in "JL" and xjh.birth_date and birth is not None and v.compare_dates(xjh.birth_date, birth) != 0:
            yield RuleProblem("xjh-mismatch", "xjh", "学籍号中的出生日期与本行出生日期不一致，请核对。",
                              v.mask_id(xjh.number))


def age(f: CaseFacts) -> Iterator[RuleProblem]:
    """Age at the dropout date within compulsory-education age (a warning: it may be right)."""
    birth = f.id.birth_date if f.id is not None else f.birth
    if f.dropout is None or birth is None:
        return
    if type(birth) is date and type(f.dropout) is date:
        # Full dates on both sides (the usual case): skip the month objects, this runs for every ledger row.
        years = f.dropout.year - birth.year - ((f.dropout.month, f.dropout.day) < (birth.month, birth.day))
    else:
        years = v.age_on(birth, f.dropout)
    if not AGE_MIN <= years <= AGE_MAX:
        yield RuleProblem("age-range", "dropout_date",
                          f"辍学时该生{years}岁，不在义务教育年龄（{AGE_MIN}-{AGE_MAX}岁）内。请核对出生日期和辍学时间。",
                          _fmt(f.dropout))


def date_order(f: CaseFacts) -> Iterator[RuleProblem]:
    """劝返 after the dropout and in order; the compel notice after the dropout and the last attempt;
    复学 not before 辍学; 消帐 not before 复学."""
    start = f.dropout
    if start is not None:
        for i, when in enumerate(f.attempts):
            if when is not None and v.compare_dates(when, start) < 0:
                key = f.attempt_key(i)
                yield RuleProblem("date-order", key, f"第{_cn(int(key[7:]))}次劝返时间早于辍学时间，请核对。", _fmt(when))
        for key, when2, label in (("compel_date", f.compel_date, "通知书下达时间"), ("return_date", f.return_date, "复学时间")):
            if when2 is not None and v.compare_dates(when2, start) < 0:
                yield RuleProblem("date-order", key, f"{label}早于辍学时间，请核对。", _fmt(when2))
    previous: date | None = None
    for i, when in enumerate(f.attempts):
        if when is None:
            continue
        if previous is not None and when < previous:
            n = int(f.attempt_key(i)[7:])
            yield RuleProblem("date-order", f.attempt_key(i),
                              f"第{_cn(n)}次劝返时间早于第{_cn(n - 1)}次，请按先后顺序填写。", _fmt(when))
        previous = when
    if f.compel_date is not None and len(f.attempts) >= 2 and f.attempts[1] is not None and f.compel_date < f.attempts[1]:
        yield RuleProblem("date-order", "compel_date", "敦返通知书下达时间早于第二次劝返时间：两次劝返无效后才能下达，请核对。",
                          _fmt(f.compel_date))
    if f.return_date is not None and f.closed_date is not None and f.closed_date < f.return_date:
        yield RuleProblem("date-order", "closed_date", "消帐时间早于复学时间，请核对。", _fmt(f.closed_date))


def _cn(i: int) -> str:
    return "一二三四五六七八九十"[i - 1] if 1 <= i <= 10 else str(i)


def attempt_count(f: CaseFacts) -> Iterator[RuleProblem]:
    """劝返次数 agrees with the attempt dates filled in (more than two is fine when both are filled)."""
    count, filled = f.attempt_count, f.attempts_filled
    if count is not None and not (count == filled or (filled >= 2 and count > filled)):
        yield RuleProblem("attempt-count", "attempt_count",
                          f"劝返次数填{count}次，但填写了{filled}个劝返时间，请核对次数或补填时间。", str(count))


def status(f: CaseFacts) -> Iterator[RuleProblem]:
    """What a status requires: 复学时间 and 安置方式 when back, 消帐时间 when closed, a note for side exits."""
    st = f.status
    if st is None:
        return
    if f.returned:
        for key, value, label in (("return_date", f.return_date, "复学时间"), ("placement", f.placement, "安置方式")):
            if value is None:
                yield RuleProblem("status-incomplete", key, f"劝返状态为“{st}”，必须填写{label}。", absent=True)
    if st == "已消帐" and f.closed_date is None:
        yield RuleProblem("status-incomplete", "closed_date", "劝返状态为“已消帐”，必须填写消帐时间。", absent=True)
    if f.side_exit and not f.note:
        yield RuleProblem("status-incomplete", "note", f"劝返状态为“{st}”，必须在备注中写明情况和依据。", absent=True)
    elif st == "无法劝返" and f.poverty and not f.note:
        yield RuleProblem("poverty-closed", "status",
                          "建档立卡贫困户学生必须劝返，不能不加说明地标为“无法劝返”。请在备注中写明原因和后续帮扶措施。", st)


def compel(f: CaseFacts) -> Iterator[RuleProblem]:
    """是否下达=否 contradicts a filled 下达时间; two failed attempts and still out → the notice is due."""
    if f.compel_issued is False and f.compel_date is not None:
        yield RuleProblem("compel-flag-conflict", "compel_issued",
                          f"“是否下达敦返通知书”填“否”，但通知书下达时间填了{_fmt(f.compel_date)}。"
                          "请核对：已下达就改为“是”，未下达就清空下达时间。", "否")
    if f.status is None or f.returned or f.side_exit:
        return
    if f.attempts_made >= 2 and not f.compel_known:
        second = f.attempts[1] if len(f.attempts) >= 2 else None
        since = f"自{_fmt(second)}第二次劝返无效起" if second is not None else "两次劝返无效后"
        yield RuleProblem("compel-notice-due", "compel_issued",
                          f"{since}就应下达敦返复学通知书，但尚未下达。请由乡镇人民政府下达并填写下达时间。",
                          _fmt(second) if second is not None else "", absent=True)


STUDENT_RULES = (identity,)
CASE_RULES = (date_order, attempt_count, status, compel)
CROSS_RULES = (age,)
ALL_RULES = (*STUDENT_RULES, *CROSS_RULES, *CASE_RULES)

RULE_CODES = frozenset({"id-sex-mismatch", "id-birth-mismatch", "xjh-mismatch", "age-range", "date-order",
                        "attempt-count", "status-incomplete", "poverty-closed", "compel-flag-conflict",
                        "compel-notice-due"})
"""Every code a rule here can produce."""

CONTRADICTIONS = frozenset({"date-order", "attempt-count", "status-incomplete", "compel-flag-conflict"})
"""Codes that make a case too contradictory to propose paperwork for."""


def check(f: CaseFacts, rules: Iterable[Any] = ALL_RULES) -> list[RuleProblem]:
    """Every problem ``rules`` find in ``f``, in rule order."""
    return [p for rule in rules for p in rule(f)]


def facts_from_record(record: Any) -> CaseFacts:
    """Facts of a validated :class:`~formkit.core.models.CaseRecord` (or anything shaped like one)."""
    student = getattr(record, "student", None)
    case = getattr(record, "case", None)
    return CaseFacts(**student_fields(student), **(case_fields(case) if case is not None else {}))


def student_fields(student: Any) -> dict[str, Any]:
    """The student part of :class:`CaseFacts` from a :class:`~formkit.core.models.Student`."""
    return {
        "id": _id_info(getattr(student, "id_number", None)),
        "sex": getattr(student, "sex", None),
        "birth": getattr(student, "birth_date", None),
        "xjh": _xjh_info(getattr(student, "xjh", None)),
    }


def case_fields(case: Any) -> dict[str, Any]:
    """The case part of :class:`CaseFacts` from a :class:`~formkit.core.models.DropoutCase`."""
    return {
        "category": case.category,
        "dropout": case.dropout_date,
        "attempts": tuple(a.date for a in case.attempts),
        "compel_issued": case.compel_issued,
        "compel_date": case.compel_date,
        "status": case.status,
        "return_date": case.return_date,
        "placement": case.placement,
        "closed_date": case.closed_date,
        "note": case.note,
        "poverty": bool(case.poverty),
    }


def _id_info(number: str | None) -> v.IdInfo | None:
    if not number:
        return None
    try:
        return v.parse_id(number)
    except ValueProblem:
        return None


def _xjh_info(number: str | None) -> v.XjhInfo | None:
    if not number:
        return None
    try:
        return v.parse_xjh(number)
    except ValueProblem:
        return None


def facts_from_parsed(p: dict[str, Any], invalid: frozenset[str] = frozenset(),
                      statuses: Enumeration | None = None) -> CaseFacts:
    """Facts of a ledger row: ``p`` maps column keys to parsed values of the readable filled cells;
    ``invalid`` names the filled cells that could not be read (an unreadable attempt date still counts).
    ``statuses`` is the 劝返状态 enumeration the row was read with (looked up when not given)."""
    statuses = statuses or enum("status")
    get = p.get  # runs for every ledger row
    status = get("status")
    attempts: list[date | None] = []
    keys: list[str] = []
    for key in ("attempt1", "attempt2"):
        if key in p or key in invalid:
            value = get(key)
            attempts.append(value if isinstance(value, date) else None)
            keys.append(key)
    ident = get("id_number")
    xjh = get("xjh")
    return CaseFacts(
        id=ident if isinstance(ident, v.IdInfo) else None,
        sex=get("sex"),
        birth=get("birth_date"),
        xjh=xjh if isinstance(xjh, v.XjhInfo) else None,
        category=get("category"),
        dropout=get("dropout_date"),
        attempts=tuple(attempts),
        attempt_keys=tuple(keys),
        attempt_count=get("attempt_count"),
        compel_issued=get("compel_issued") if "compel_issued" in p else None,
        compel_date=get("compel_date"),
        status=status,
        return_date=get("return_date"),
        placement=get("placement"),
        closed_date=get("closed_date"),
        note=get("note") or None,
        poverty=get("poverty") is True,
        returned=status is not None and status in statuses.returned,
        side_exit=status is not None and status in statuses.needs_note,
    )


def first_day(value: Day | None) -> date | None:
    """A date for arithmetic: a month counts from its first day."""
    if isinstance(value, v.Month):
        return date(value.year, value.month, 1)
    return value
