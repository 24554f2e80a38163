"""The rules written once (formkit.core.rules): each rule with fixed dates, and the property that a record
and the one-row ledger holding it are judged alike."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formkit
from formkit.core import rules
from formkit.core import validators as v
from formkit.core.errors import RecordError
from formkit.core.models import CaseRecord, validate_model
from formkit.core.rules import CaseFacts
from formkit.ledger.check import check_ledger
from formkit.tables.reader import column_letter
from tests.helpers import SAMPLES, make_id

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
LONG_FEI = RECORDS[6]  # 男, born 2010-04-05, 劝返中, attempts 3-19 and 3-27, notice issued 3-30
AS_OF = date(2025, 1, 1)


def codes(f: CaseFacts) -> set[tuple[str, str]]:
    return {(p.code, p.field) for p in rules.check(f)}


def d(text: str) -> date:
    return date.fromisoformat(text)


IDENT = v.parse_id(LONG_FEI["student"]["id_number"])
OTHER_ID = make_id("520122", "20100405", "013")


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CaseFacts(id=IDENT, sex="女"), ("id-sex-mismatch", "sex")),
        (CaseFacts(id=IDENT, birth=d("2010-05-05")), ("id-birth-mismatch", "birth_date")),
        (CaseFacts(id=IDENT, xjh=v.parse_xjh("G" + OTHER_ID)), ("xjh-mismatch", "xjh")),
        (CaseFacts(id=IDENT, dropout=d("2030-01-01")), ("age-range", "dropout_date")),
        (CaseFacts(dropout=d("2024-03-11"), attempts=(d("2024-03-01"),)), ("date-order", "attempt1")),
        (CaseFacts(attempts=(d("2024-03-20"), d("2024-03-12"))), ("date-order", "attempt2")),
        (CaseFacts(dropout=d("2024-03-11"), compel_date=d("2024-03-01")), ("date-order", "compel_date")),
        (CaseFacts(attempts=(d("2024-03-12"), d("2024-03-20")), compel_date=d("2024-03-15"), compel_issued=True),
         ("date-order", "compel_date")),
        (CaseFacts(dropout=d("2024-03-11"), return_date=d("2024-03-01")), ("date-order", "return_date")),
        (CaseFacts(return_date=d("2024-04-01"), closed_date=d("2024-03-30")), ("date-order", "closed_date")),
        (CaseFacts(attempts=(d("2024-03-12"),), attempt_count=2), ("attempt-count", "attempt_count")),
        (CaseFacts(status="已复学", placement="随班就读"), ("status-incomplete", "return_date")),
        (CaseFacts(status="已复学", return_date=d("2024-04-01")), ("status-incomplete", "placement")),
        (CaseFacts(status="已消帐", return_date=d("2024-04-01"), placement="随班就读"), ("status-incomplete", "closed_date")),
        (CaseFacts(status="休学"), ("status-incomplete", "note")),
        (CaseFacts(status="无法劝返", poverty=True), ("poverty-closed", "status")),
        (CaseFacts(compel_issued=False, compel_date=d("2024-03-30")), ("compel-flag-conflict", "compel_issued")),
        (CaseFacts(status="劝返中", attempts=(d("2024-03-12"), d("2024-03-20"))), ("compel-notice-due", "compel_issued")),
    ],
)
def test_each_rule(facts: CaseFacts, expected: tuple[str, str]) -> None:
    assert expected in codes(facts)


def test_clean_facts_have_no_problems() -> None:
    facts = CaseFacts(id=IDENT, sex="男", birth=v.Month(2010, 4), dropout=v.Month(2024, 3),
                      attempts=(d("2024-03-19"), d("2024-03-27")), attempt_count=2, compel_issued=True,
                      compel_date=d("2024-03-30"), status="劝返中")
    assert rules.check(facts) == []


def test_month_precision() -> None:
    # March 2024 against a date in March is neither before nor after.
    assert codes(CaseFacts(dropout=v.Month(2024, 3), attempts=(d("2024-03-01"),))) == set()
    assert ("date-order", "attempt1") in codes(CaseFacts(dropout=v.Month(2024, 3), attempts=(d("2024-02-29"),)))
    assert codes(CaseFacts(id=IDENT, birth=v.Month(2010, 4))) == set()
    assert ("id-birth-mismatch", "birth_date") in codes(CaseFacts(id=IDENT, birth=v.Month(2010, 5)))


def test_side_exit_and_returned_need_no_compel_notice() -> None:
    two = (d("2024-03-12"), d("2024-03-20"))
    assert not any(c == "compel-notice-due" for c, _ in codes(CaseFacts(status="休学", note="病休", attempts=two)))
    assert not any(c == "compel-notice-due" for c, _ in codes(
        CaseFacts(status="已复学", return_date=d("2024-04-01"), placement="随班就读", attempts=two)))


def test_record_problems_carry_paths_and_all_at_once() -> None:
    data = copy.deepcopy(LONG_FEI)
    data["student"]["sex"] = "女"
    data["case"]["attempts"] = [{"date": "2024-03-27"}, {"date": "2024-03-19"}]
    data["case"]["compel_issued"] = "否"
    with pytest.raises(RecordError) as err:
        validate_model(CaseRecord, data)
    got = {(p.code, p.path) for p in err.value.problems}
    assert {("id-sex-mismatch", "student.sex"), ("date-order", "case.attempts.1.date"),
            ("compel-flag-conflict", "case.compel_issued")} <= got


def test_validate_record_and_ledger_agree_on_compel_before_dropout(tmp_path: Path) -> None:
    """The issue's example: a compel date before the dropout passed one and failed the other."""
    data = copy.deepcopy(LONG_FEI)
    data["case"]["compel_date"] = "2024-03-01"
    with pytest.raises(RecordError) as err:
        validate_model(CaseRecord, data)
    assert ("date-order", "case.compel_date") in {(p.code, p.path) for p in err.value.problems}
    assert ("date-order", "case.compel_date") in ledger_problems(tmp_path / "one.xlsx", data)


# --- property: a record and its one-row ledger get the same rule problems ------------------------------

DAYS = st.dates(min_value=date(2023, 9, 1), max_value=date(2024, 6, 30))


def maybe_month(day: date, month: bool) -> str:
    return f"{day.year}年{day.month}月" if month else day.isoformat()


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(LONG_FEI)
    student, case = data["student"], data["case"]
    student.pop("xjh")
    student["sex"] = draw(st.sampled_from(["男", "女", None]))
    birth = draw(st.sampled_from([None, "2010-04-05", "2010-05-05", "2010年4月", "2011年4月"]))
    student["birth_date"] = birth
    dropout = draw(DAYS)
    case["dropout_date"] = maybe_month(dropout, draw(st.booleans()))
    attempts = sorted(draw(st.lists(DAYS, max_size=2))) if draw(st.booleans()) else draw(st.lists(DAYS, max_size=2))
    case["attempts"] = [{"date": a.isoformat()} for a in attempts]
    case["compel_issued"] = draw(st.sampled_from([None, True, False]))
    case["compel_date"] = draw(st.one_of(st.none(), DAYS.map(date.isoformat)))
    status = draw(st.sampled_from(["疑似辍学", "未劝返", "劝返中", "已复学", "已消帐", "休学"]))
    case["status"] = status
    case["return_date"] = draw(st.one_of(st.none(), DAYS.map(date.isoformat)))
    case["placement"] = draw(st.sampled_from([None, "随班就读"]))
    case["closed_date"] = draw(st.one_of(st.none(), DAYS.map(date.isoformat)))
    case["note"] = draw(st.sampled_from([None, "已核实"]))
    return data


def ledger_row_problems(path: Path, records: list[dict[str, Any]]) -> list[set[tuple[str, str, str]]]:
    """(code, path, severity) of the rule findings on each record's row of one ledger holding them all."""
    formkit.new_ledger(path, records, school=records[0]["school"]["school"], overwrite=True)
    report = check_ledger(path, AS_OF)
    (table,) = report.tables
    by_letter = {column_letter(i): key for key, (i, _) in table.columns.items()}
    found: dict[int, set[tuple[str, str, str]]] = {number: set() for number, _ in table.rows}
    assert len(found) == len(records)
    for f in report.findings:
        if f.code in rules.RULE_CODES:
            found[f.row].add((f.code, rules.path_of(by_letter[f.cell.rstrip("0123456789")]), f.severity))
    return [found[number] for number, _ in table.rows]


def ledger_problems(path: Path, data: dict[str, Any], *, errors_only: bool = False) -> set[tuple[str, str]]:
    (found,) = ledger_row_problems(path, [data])
    return {(code, where) for code, where, severity in found if not (errors_only and severity != "error")}


# A ledger costs about a second to write (the 600-row template is loaded each time), so each example
# holds several cases, one row each; distinct ID numbers (same birth date and sex) keep the rows apart.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(cases(), min_size=1, max_size=6))
def test_record_and_its_ledger_row_get_the_same_problems(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    for i, data in enumerate(rows):
        data["student"]["id_number"] = make_id(f"5201{22 + i:02d}", "20100405", "071")
    expected: list[tuple[set[tuple[str, str]], bool]] = []
    for data in rows:
        try:
            record = validate_model(CaseRecord, data)
        except RecordError as exc:
            # An invalid record has no warnings to compare: the errors must match exactly.
            expected.append(({(p.code, p.path) for p in exc.problems if p.code in rules.RULE_CODES}, True))
            continue
        expected.append(({(p.code, p.path) for p in record.warnings() if p.code in rules.RULE_CODES}, False))
    found = ledger_row_problems(tmp_path / "many.xlsx", rows)
    for i, ((mine, errors_only), theirs) in enumerate(zip(expected, found, strict=True)):
        assert mine == {(code, where) for code, where, severity in theirs
                        if not (errors_only and severity != "error")}, (i, rows[i])
