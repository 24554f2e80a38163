"""The forms registry: every document formkit produces, its template, model and rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel

from formkit.core import models as m
from formkit.core import rules
from formkit.core import validators as v
from formkit.core.enums import EnumTable, load_enums
from formkit.core.errors import Problem, RecordError, UsageError
from formkit.core.fileio import read_input
from formkit.core.resources import template_bytes
from formkit.core.settings import Settings, settings_or_default
from formkit.core.validators import Month


@dataclass(frozen=True)
class FormSpec:
    """One form: machine name, Chinese title, template file, data model and requirements.

    ``requires`` lists dotted paths that must be filled for this form even when the
    model itself allows them empty (``case.dropout_date`` on a return notice, say).
    ``filename`` is a ``str.format`` pattern over ``seq``, ``school``, ``name``, ``title``.
    """

    name: str
    title: str
    template: str
    model: type[BaseModel]
    requires: tuple[str, ...] = ()
    filename: str = "{seq}_{school}_{name}_{title}.docx"
    numbered: bool = False
    description: str = ""
    extra_check: Callable[[Any], list[Problem]] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "template": self.template,
            "model": self.model.__name__,
            "numbered": self.numbered,
            "description": self.description,
        }


WEEK = timedelta(days=7)


def _refuse(path: str, label: str, message: str, value: str = "") -> Problem:
    # "contradiction" tells the clerk the document would state something the record contradicts.
    return Problem("contradiction", label, message, value, path=path)


def _not_before_dropout(record: m.CaseRecord, when: date, what: str, path: str, label: str) -> list[Problem]:
    """A document dated before the dropout, or before the dropout could have been reported (one week)."""
    start = rules.first_day(record.case.dropout_date)
    if start is None:
        return []
    if v.compare_dates(when, record.case.dropout_date or when) < 0:
        return [_refuse(path, label, f"{what}日期{v.format_date(when)}早于辍学(失学)时间"
                        f"{v.format_date(record.case.dropout_date or when)}，文书不能这样写。请核对日期。",
                        v.format_date(when))]
    if isinstance(record.case.dropout_date, date) and when < start + WEEK:
        return [_refuse(path, label, f"{what}日期{v.format_date(when)}早于辍学报告（缺课满一周、家访无果后才报告，"
                        f"即{v.format_date(start + WEEK)}起）。请核对日期。", v.format_date(when))]
    return []


def _returned(record: m.CaseRecord, title: str) -> list[Problem]:
    case = record.case
    if not (case.returned or case.return_date is not None):
        return []
    back = f"（复学时间{v.format_date(case.return_date)}）" if case.return_date else ""
    return [_refuse("case.status", "辍学情况.劝返状态",
                    f"该生劝返状态为“{case.status}”{back}，已经返校，不能再发{title}。", case.status)]


def _notice_dates(record: m.NoticeRecord) -> list[Problem]:
    return _not_before_dropout(record, record.issuer.issue_date, "发文", "issuer.issue_date", "发文信息.发文日期")


def _two_attempts(record: m.NoticeRecord) -> list[Problem]:
    out = _returned(record, "敦返复学通知书") + _notice_dates(record)
    attempts = record.case.attempts
    if len(attempts) < 2:
        out.append(Problem(
            "required",
            "辍学情况.劝返记录",
            f"敦返复学通知书要写明两次组织劝返的日期，现在只有 {len(attempts)} 次。请补填第一次、第二次劝返时间。",
            path="case.attempts",
        ))
    elif record.issuer.issue_date < attempts[1].date:
        out.append(_refuse("issuer.issue_date", "发文信息.发文日期",
                           f"发文日期{v.format_date(record.issuer.issue_date)}早于第二次劝返"
                           f"{v.format_date(attempts[1].date)}：两次劝返无效后才能下达敦返复学通知书。",
                           v.format_date(record.issuer.issue_date)))
    return out


def _return_notice(record: m.NoticeRecord) -> list[Problem]:
    # Rosters of a whole school are batched into return notices, so only dates the notice
    # itself would state wrongly are refused here; which cases need one is ``ledger due``'s job.
    return _notice_dates(record)


def _deadline_notice(record: m.NoticeRecord) -> list[Problem]:
    out = _returned(record, "限期入学(复学)通知书")
    if record.case.dropout_date is not None and v.compare_dates(record.issuer.issue_date, record.case.dropout_date) < 0:
        out += _notice_dates(record)
    if record.case.category == "小学毕业未升入初中":
        target = record.issuer.report_to
        if not target or target == record.school.school:
            out.append(_refuse("issuer.report_to", "发文信息.报到学校",
                               f"该生已从{record.school.school}毕业，应到初中学校报到入学，不能写回原小学。"
                               "请指定报到的初中学校（发文信息 report_to=某某中学，或写在 formkit.toml 的 [issuer] 中）。",
                               target or ""))
    return out


def _report_slip(record: m.DropoutReportRecord) -> list[Problem]:
    when = record.report_date or date.today()
    out = _returned(record, "辍学报告单") + _not_before_dropout(record, when, "报告", "report_date", "报告日期")
    start = record.case.dropout_date
    for i, visit in enumerate(record.visits, 1):
        if start is not None and v.compare_dates(visit.date, start) < 0:
            out.append(_refuse(f"visits.{i - 1}.date", f"家访记录.第{i}项.家访时间",
                               f"第{i}次家访{v.format_date(visit.date)}早于辍学(失学)时间，请核对。", v.format_date(visit.date)))
        if visit.date > when:
            out.append(_refuse(f"visits.{i - 1}.date", f"家访记录.第{i}项.家访时间",
                               f"第{i}次家访{v.format_date(visit.date)}晚于报告日期{v.format_date(when)}，报告单不能写这次家访。",
                               v.format_date(visit.date)))
    return out


def visit_summary(record: BaseModel) -> str:
    """What the report slip may say about home visits: only the visits actually recorded."""
    visits = list(getattr(record, "visits", None) or [])
    case = getattr(record, "case", None)
    start = getattr(case, "dropout_date", None)
    since = f"该生自{v.format_date(start)}起未到校" if start is not None else "该生未到校"
    if not visits:
        return f"{since}，缺课已满一周仍未返校（本表未记录家访）。"
    if len(visits) <= 3:
        dates = "、".join(v.format_date(x.date) for x in visits)
        return f"{since}，班主任于{dates}家访{len(visits)}次，仍未返校。"
    # The visits table above lists every date; the sentence stays one line long.
    first, last = v.format_date(visits[0].date), v.format_date(visits[-1].date)
    return f"{since}，班主任自{first}至{last}家访{len(visits)}次，仍未返校。"


def enrol_action(category: str | None) -> str:
    """The act a 限期入学(复学)通知书 asks for: 入学, 报名 or 复学, by 对象类别."""
    return {"适龄未入学": "入学", "开学未报名": "报名", "小学毕业未升入初中": "入学"}.get(category or "", "复学")


def _one_visit(record: m.CaseRecord) -> list[Problem]:
    if record.visits:
        return []
    return [Problem("required", "家访记录", "家访记录表至少需要一次家访（家访时间等）。请补填。")]


_FORMS: tuple[FormSpec, ...] = (
    FormSpec(
        "dropout-report",
        "辍学报告单",
        "dropout-report.docx",
        m.DropoutReportRecord,
        requires=("school.grade", "school.class_name", "guardian.name", "case.dropout_date", "teacher"),
        description="班主任家访一周无果后填写，报学校并由学校报乡镇人民政府",
        extra_check=_report_slip,
    ),
    FormSpec(
        "return-notice",
        "辍学生返校通知书",
        "return-notice.docx",
        m.NoticeRecord,
        requires=("guardian.name", "case.dropout_date"),
        numbered=True,
        description="乡镇（村）向监护人发出，含存根和回执",
        extra_check=_return_notice,
    ),
    FormSpec(
        "compel-notice",
        "敦返复学通知书",
        "compel-notice.docx",
        m.NoticeRecord,
        requires=("guardian.name", "case.dropout_date"),
        numbered=True,
        description="两次劝返无效后由乡镇人民政府责令限期复学，含存根和回执",
        extra_check=_two_attempts,
    ),
    FormSpec(
        "deadline-notice",
        "限期入学(复学)通知书",
        "deadline-notice.docx",
        m.NoticeRecord,
        requires=("guardian.name",),
        numbered=True,
        description="开学时向适龄未入学、未报名、辍学、小升初未入学儿童的监护人发出，含回执",
        extra_check=_deadline_notice,
    ),
    FormSpec(
        "pledge-teacher",
        "控辍保学目标责任书(学校—班主任)",
        "pledge-teacher.docx",
        m.PledgeTeacherRecord,
        requires=("school.grade", "school.class_name"),
        filename="{seq}_{school}_{name}_{title}.docx",
        description="校长与班主任每学年签订",
    ),
    FormSpec(
        "pledge-parent",
        "控辍保学责任书(学校—家长)",
        "pledge-parent.docx",
        m.PledgeParentRecord,
        requires=("guardian.name",),
        description="学校与学生监护人签订",
    ),
    FormSpec(
        "monthly-report",
        "控辍保学工作月报",
        "monthly-report.docx",
        m.MonthlyReportRecord,
        filename="{seq}_{name}_{title}.docx",
        description="乡镇（县）每月上报的辍学、复学和未返校人数，附各校情况表；可由 ledger summary --report 生成",
    ),
    FormSpec(
        "home-visit",
        "家访记录表",
        "home-visit.docx",
        m.CaseRecord,
        description="班主任家访后填写",
        extra_check=_one_visit,
    ),
)

_BY_NAME = {f.name: f for f in _FORMS}


def forms() -> list[FormSpec]:
    """Every form formkit can produce, in the order of the workflow."""
    return list(_FORMS)


def get_form(name: str) -> FormSpec:
    """Look a form up by machine name; raise ``UsageError`` listing the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        names = "、".join(_BY_NAME)
        raise UsageError(f"没有名为“{name}”的表单。可用的表单：{names}。") from None


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


def _path_label(model: type[BaseModel], path: str) -> str:
    labels: list[str] = []
    current: Any = model
    for part in path.split("."):
        info = current.model_fields.get(part) if current is not None else None
        labels.append(info.title if info and info.title else part)
        current = m._inner_model(info.annotation) if info else None
    return ".".join(labels)


NoticeForm = Literal["return-notice", "compel-notice", "deadline-notice"]
"""The notices: their records are :class:`~formkit.core.models.NoticeRecord`."""


@overload
def validate_record(form: NoticeForm, data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.NoticeRecord: ...
@overload
def validate_record(form: Literal["dropout-report"], data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.DropoutReportRecord: ...
@overload
def validate_record(form: Literal["pledge-teacher"], data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.PledgeTeacherRecord: ...
@overload
def validate_record(form: Literal["pledge-parent"], data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.PledgeParentRecord: ...
@overload
def validate_record(form: Literal["monthly-report"], data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.MonthlyReportRecord: ...
@overload
def validate_record(form: Literal["home-visit"], data: object, *, where: str = "",
                    settings: Settings | None = None) -> m.CaseRecord: ...
@overload
def validate_record(form: FormSpec | str, data: object, *, where: str = "",
                    settings: Settings | None = None) -> BaseModel: ...
def validate_record(form: FormSpec | str, data: object, *, where: str = "",
                    settings: Settings | None = None) -> BaseModel:
    """Validate one record for ``form``; raise :class:`RecordError` listing every problem.

    Enumeration values are matched against ``settings.enums`` (default: the shipped table).
    """
    spec = get_form(form) if isinstance(form, str) else form
    record = m.validate_model(spec.model, data, where=where, enums=settings_or_default(settings).enums)
    problems = [
        Problem("required", _path_label(spec.model, path), "本表单必须填写这一项。请补填。", path=path)
        for path in spec.requires
        if _get_path(record, path) in (None, "")
    ]
    if spec.extra_check:
        problems += spec.extra_check(record)
    if problems:
        prefix = f"{where}：" if where else ""
        raise RecordError(f"{prefix}数据有 {len(problems)} 处问题：", problems, where=where)
    return record


def record_warnings(record: BaseModel) -> list[Problem]:
    """Warnings a valid record still deserves (e.g. ``xjh-mismatch``)."""
    warn = getattr(record, "warnings", None)
    return list(warn()) if callable(warn) else []


def _blank_model(model: type[BaseModel]) -> dict[str, Any]:
    return {name: None for name in model.model_fields}


def plain_data(value: object) -> Any:
    """``value`` as template data: dicts, lists, str, int, float, bool, date and None only.

    A template must never hold a live object: pydantic models carry public methods
    (``parse_raw`` unpickles, ``parse_file`` reads files) that a template could call.
    Months become their text (``2010年3月``), which every filter prints unchanged.
    """
    if value is None or type(value) in (str, int, float, bool, date):
        return value
    if isinstance(value, BaseModel):
        return {name: plain_data(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Enum):
        return plain_data(value.value)
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_data(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second)
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, str):
        return str.__str__(value)
    return str(value)


def build_context(spec: FormSpec, record: BaseModel, extra: dict[str, Any] | None = None, *,
                  enums: EnumTable | None = None) -> dict[str, Any]:
    """The Jinja context for one record, as plain data (see :func:`plain_data`); empty sub-records as blanks.

    ``enums`` is the table the report slip's checkbox lists come from (default: the shipped one).
    """
    context: dict[str, Any] = {}
    for name, info in type(record).model_fields.items():
        value = getattr(record, name)
        inner = m._inner_model(info.annotation)
        if value is None and inner is not None:
            value = _blank_model(inner)
        context[name] = plain_data(value)
    totals = getattr(record, "totals", None)
    if isinstance(totals, dict):
        context["totals"] = plain_data(totals)
    context["form_title"] = spec.title
    # Checkbox lists on the report slip follow the county's enumeration table.
    context["reasons"] = list((enums or load_enums())["reason"].canonical)
    context["today"] = date.today()
    # Wording that must follow the record, for templates to use instead of fixed phrases.
    if "visits" in context:
        context["visit_summary"] = visit_summary(record)
    case = getattr(record, "case", None)
    if case is not None:
        context["enrol_action"] = enrol_action(getattr(case, "category", None))
    if extra:
        context.update({str(k): plain_data(v) for k, v in extra.items()})
    return context


def template_source(spec_name: str, templates_dir: Path | None = None) -> tuple[str, Path | None]:
    """Where a form's template comes from: a county override in ``templates_dir`` or the shipped one.

    Returns (display name, override path or None for the shipped template).
    """
    spec = get_form(spec_name)
    if templates_dir is not None:
        candidate = Path(templates_dir) / spec.template
        if candidate.is_file():
            return str(candidate), candidate
    return spec.template, None


@cache
def _shipped(spec_name: str) -> bytes:
    return template_bytes("docx", get_form(spec_name).template)


def load_template_bytes(spec_name: str, templates_dir: Path | None = None) -> bytes:
    """The template bytes of a form: the override in ``templates_dir`` if there is one, else the shipped one."""
    _, override = template_source(spec_name, templates_dir)
    if override is None:
        return _shipped(spec_name)
    from formkit.documents.engine import TEMPLATE_LIMITS

    return read_input(override, "模板文件", TEMPLATE_LIMITS.max_file_bytes)


def read_json_record(path: Path | str) -> dict[str, Any]:
    """Read one record from a JSON file (an object, or a list holding exactly one object)."""
    from formkit.core.errors import InputFileError

    try:
        text = read_input(Path(path)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"无法读取文件 {path}：不是 UTF-8 编码。请另存为 UTF-8 编码的 JSON。", path=str(path),
                             code="file-encoding") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputFileError(f"{path} 的 JSON 嵌套层数过深，不是一条正常的记录。", path=str(path),
                             code="json-invalid") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{path} 不是有效的 JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）。请修正格式。",
            path=str(path),
            code="json-invalid",
        ) from None
    except ValueError:
        # json refuses integers over 4,300 digits with a bare ValueError (CVE-2020-10735 limit).
        raise InputFileError(f"{path} 含有位数过多的数字（超过 4300 位），不是一条正常的记录。", path=str(path),
                             code="json-invalid") from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise InputFileError(
            f"{path} 应包含一条记录（一个 JSON 对象）。多条记录请用 formkit batch。",
            path=str(path),
            code="json-shape",
        )
    return data
