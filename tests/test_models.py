from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

import formkit
from formkit import CaseRecord, RecordError
from formkit.core.models import validate_model
from tests.helpers import make_id, sample


def base() -> dict[str, Any]:
    return copy.deepcopy(sample("return-notice"))


def problems(data: object, form: str = "return-notice") -> list[formkit.Problem]:
    with pytest.raises(RecordError) as err:
        formkit.validate_record(form, data)
    assert isinstance(err.value, ValueError)
    return err.value.problems


def test_sample_records_are_valid() -> None:
    for form in formkit.forms():
        record = formkit.validate_record(form.name, sample(form.name))
        assert isinstance(record, form.model)


def test_chinese_keys_load_like_english_keys() -> None:
    idn = make_id()
    record = validate_model(
        CaseRecord,
        {"学生": {"姓名": "张三", "身份证号": idn}, "学校信息": {"学校": "一中", "年级": "初一"},
         "辍学情况": {"辍学时间": "2024年3月5日", "辍学原因": "厌学"}},
    )
    assert record.student.name == "张三"
    assert record.student.sex == "男" and record.student.birth_date == date(2013, 5, 12)  # derived from the ID
    assert record.school.grade == "七年级"
    assert record.case.reason == "学习困难" and record.case.dropout_date == date(2024, 3, 5)


def test_wrong_check_digit_names_field_and_masks() -> None:
    data = base()
    idn = data["student"]["id_number"]
    data["student"]["id_number"] = idn[:17] + ("1" if idn[17] != "1" else "2")
    (p,) = problems(data)
    assert p.code == "id-checksum" and p.field == "学生.身份证号"
    assert p.value == data["student"]["id_number"][:4] + "**********" + data["student"]["id_number"][-4:]


def test_every_problem_reported_at_once() -> None:
    data = base()
    data["guardian"]["phone"] = "123"
    data["case"]["dropout_date"] = "2024-02-30"
    data["case"]["reason"] = "不想上"
    del data["school"]["school"]
    codes = {(p.code, p.field) for p in problems(data)}
    assert ("phone-format", "监护人.联系电话") in codes
    assert ("date-format", "辍学情况.辍学(失学)时间") in codes
    assert ("enum", "辍学情况.辍学原因") in codes
    assert ("required", "学校信息.学校") in codes


def test_integer_dates_are_not_unix_timestamps() -> None:
    data = base()
    data["case"]["dropout_date"] = 20240304
    data["issuer"]["issue_date"] = 45390  # Excel serial for 2024-04-08
    record = formkit.validate_record("return-notice", data)
    assert record.case.dropout_date == date(2024, 3, 4)
    assert record.issuer.issue_date == date(2024, 4, 8)


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("student", "sex"), "女", "id-sex-mismatch"),
        (("student", "birth_date"), "2013-05-13", "id-birth-mismatch"),
        (("case", "return_date"), "2024-01-01", "date-order"),
    ],
)
def test_cross_field_rules(path: tuple[str, str], value: str, code: str) -> None:
    data = base()
    data[path[0]][path[1]] = value
    assert code in {p.code for p in problems(data)}


def test_workflow_rules() -> None:
    data = base()
    data["case"]["status"] = "已复学"
    data["case"]["return_date"] = None
    assert "status-incomplete" in {p.code for p in problems(data)}
    data = base()
    data["case"]["attempts"] = [{"date": "2024-03-20"}, {"date": "2024-03-12"}]
    assert "date-order" in {p.code for p in problems(data)}
    data = base()
    data["case"]["status"] = "休学"
    data["case"]["note"] = None
    assert "status-incomplete" in {p.code for p in problems(data)}


def test_form_requirements() -> None:
    data = base()
    data["case"]["attempts"] = data["case"]["attempts"][:1]
    (p,) = problems(data, "compel-notice")
    assert p.code == "required" and "两次" in p.message
    data = base()
    data["guardian"] = None
    assert {p.field for p in problems(data)} == {"监护人.监护人姓名"}


def test_deadline_defaults_to_seven_days() -> None:
    data = base()
    data["issuer"]["deadline"] = None
    record = formkit.validate_record("return-notice", data)
    assert record.issuer.deadline == date(2024, 4, 15)


def test_unknown_keys_are_reported() -> None:
    data = base()
    data["student"]["nmae"] = "x"
    (p,) = problems(data)
    assert p.code == "unknown-field"


def test_xjh_mismatch_is_a_warning_not_an_error() -> None:
    data = base()
    data["student"]["xjh"] = "G" + make_id(seq="023")
    record = formkit.validate_record("return-notice", data)
    (w,) = record.warnings()  # type: ignore[attr-defined]
    assert w.code == "xjh-mismatch" and w.severity == "warning"


def test_error_family_inherits_builtins() -> None:
    assert issubclass(formkit.RecordError, ValueError)
    assert issubclass(formkit.InputFileError, OSError)
    assert issubclass(formkit.TemplateError, formkit.FormkitError)
    with pytest.raises(formkit.UsageError) as err:
        formkit.get_form("nope")
    assert "return-notice" in str(err.value)


def test_deadline_before_issue_date_names_the_deadline_not_the_model() -> None:
    """A whole-record check must name a field in Chinese, never the model's English docstring."""
    record = sample("return-notice")
    record["issuer"]["deadline"] = "2024-04-01"
    with pytest.raises(formkit.RecordError) as refused:
        formkit.validate_record("return-notice", record)
    [problem] = refused.value.problems
    assert (problem.code, problem.path, problem.field) == ("date-order", "issuer.deadline", "发文信息.返校期限")
    assert "2024年4月1日" in problem.value and "notice" not in str(refused.value)
