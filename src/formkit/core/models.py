"""Domain models (pydantic v2) for students, guardians, schools, cases and notices.

Field names are English; every field's ``title`` is its Chinese label, and the Chinese
label is accepted as an input key (``{"姓名": "张三"}`` loads like ``{"name": "张三"}``).
Values pass through formkit's own validators *before* pydantic sees them, so dates such
as ``20240305`` or an Excel serial never become Unix timestamps, and every failure carries
a stable code (``id-checksum``, ``date-format``, …) that :func:`problems_from_error` turns
into Chinese, masked :class:`~formkit.core.errors.Problem` items.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from formkit.core import rules
from formkit.core import validators as v
from formkit.core.enums import Enumeration, EnumTable, enum, load_enums, normalize_text
from formkit.core.errors import Problem, RecordError, ValueProblem

T = TypeVar("T")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not normalize_text(value))


def _adapt(fn: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """Wrap a ``validators`` function for pydantic: blanks become None, problems keep their code."""

    def run(value: Any) -> T | None:
        if _blank(value):
            return None
        try:
            return fn(value)
        except ValueProblem as p:
            raise PydanticCustomError(p.code, p.message, {"shown": p.value}) from None

    return run


def _text(value: object) -> str:
    # Free text keeps its full-width punctuation (，：（）): NFKC would turn it into ASCII.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


ENUMS_KEY = "formkit_enums"
"""Key of the enumeration table in the pydantic validation context (``model_validate(data, context=...)``)."""


def enums_context(enums: EnumTable | None) -> dict[str, Any] | None:
    """The validation context that makes every enumeration field of a record match against ``enums``."""
    return None if enums is None else {ENUMS_KEY: enums}


def _enums(info: ValidationInfo) -> EnumTable:
    # A record validated without a context (a model built directly) matches the shipped table.
    context = info.context
    table = context.get(ENUMS_KEY) if isinstance(context, dict) else None
    return table if isinstance(table, EnumTable) else load_enums()


def _enum(name: str) -> Callable[[Any, ValidationInfo], str | None]:
    def run(value: Any, info: ValidationInfo) -> str | None:
        if _blank(value):
            return None
        try:
            return _enums(info)[name].match(value)
        except ValueProblem as p:
            raise PydanticCustomError(p.code, p.message, {"shown": p.value}) from None

    return run


Text = Annotated[str, BeforeValidator(_adapt(_text))]
IdNumber = Annotated[str, BeforeValidator(_adapt(v.normalize_id))]
StudentNumber = Annotated[str, BeforeValidator(_adapt(lambda x: v.parse_xjh(x).number))]
Phone = Annotated[str, BeforeValidator(_adapt(v.normalize_phone))]
CnDate = Annotated[date, BeforeValidator(_adapt(v.parse_date))]
CnDateOrMonth = Annotated[date | v.Month, BeforeValidator(_adapt(v.parse_date_or_month))]
"""A 年月 field (出生年月, 辍学年月): a full date or a month (``2024年3月``, ``2024.03``, ``2024-03``)."""
YesNo = Annotated[bool, BeforeValidator(lambda x: False if _blank(x) else _adapt(v.parse_yes_no)(x))]
OptionalYesNo = Annotated[bool | None, BeforeValidator(_adapt(v.parse_yes_no))]
"""是/否 where a blank means "not stated" (kept apart from an explicit 否)."""
Count = Annotated[int, BeforeValidator(_adapt(v.parse_count))]
Sex = Annotated[str, BeforeValidator(_enum("sex"))]
Ethnicity = Annotated[str, BeforeValidator(_enum("ethnicity"))]
Relation = Annotated[str, BeforeValidator(_enum("relation"))]
Reason = Annotated[str, BeforeValidator(_enum("reason"))]
Status = Annotated[str, BeforeValidator(_enum("status"))]
Placement = Annotated[str, BeforeValidator(_enum("placement"))]
Category = Annotated[str, BeforeValidator(_enum("category"))]
Destination = Annotated[str, BeforeValidator(_enum("destination"))]
Grade = Annotated[str, BeforeValidator(_enum("grade"))]


def label(title: str, name: str, *, default: Any = ..., extra: tuple[str, ...] = ()) -> Any:
    """A field whose Chinese ``title`` (and any ``extra`` wordings) are accepted as input keys."""
    return Field(default, title=title, validation_alias=AliasChoices(name, title, *extra))


class FormkitModel(BaseModel):
    """Common configuration: unknown keys are an error (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


def _fail(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message, {"shown": ""})


def _raise_rule_errors(problems: list[rules.RuleProblem], prefix: str) -> None:
    """Raise every error among ``problems`` at once; :func:`problems_from_error` expands them by path.

    ``prefix`` is the model's own place in a record (``student.``) stripped from the rule paths.
    """
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return
    first = errors[0]
    items = [(p.code, rules.path_of(p.field).removeprefix(prefix), p.message, p.value) for p in errors]
    raise PydanticCustomError(first.code, first.message, {"shown": first.value, "rule_problems": items})


def rule_warnings(problems: list[rules.RuleProblem]) -> list[Problem]:
    """Warnings among ``problems`` as record :class:`Problem` items (labels from the record model)."""
    return [Problem(p.code, _labels_for(CaseRecord, _loc(rules.path_of(p.field))), p.message, p.value,
                    path=rules.path_of(p.field)) for p in problems if p.severity != "error"]


def _loc(path: str) -> tuple[int | str, ...]:
    return tuple(int(x) if x.isdigit() else x for x in path.split(".") if x)


class Student(FormkitModel):
    """A student (or a child of school age who never enrolled)."""

    name: Text = label("姓名", "name", extra=("学生姓名",))
    sex: Sex | None = label("性别", "sex", default=None)
    ethnicity: Ethnicity | None = label("民族", "ethnicity", default=None)
    birth_date: CnDateOrMonth | None = label("出生日期", "birth_date", default=None, extra=("出生年月",))
    id_number: IdNumber | None = label("身份证号", "id_number", default=None, extra=("身份证号码", "公民身份号码"))
    xjh: StudentNumber | None = label("学籍号", "xjh", default=None, extra=("全国学籍号",))

    @model_validator(mode="after")
    def _agree_with_id(self) -> Student:
        if self.id_number:
            info = v.parse_id(self.id_number)
            # Read what the ID says only where the record is silent; disagreements are the rules' business.
            self.sex = self.sex or info.sex
            self.birth_date = self.birth_date or info.birth_date
        _raise_rule_errors(rules.check(self._facts(), rules.STUDENT_RULES), "student.")
        return self

    def _facts(self) -> rules.CaseFacts:
        return rules.CaseFacts(**rules.student_fields(self))

    def warnings(self) -> list[Problem]:
        """Things that may be right but need a clerk to confirm (e.g. G-学籍号 differs from the ID)."""
        return rule_warnings(rules.check(self._facts(), rules.STUDENT_RULES))


class Guardian(FormkitModel):
    """A parent or other legal guardian."""

    name: Text = label("监护人姓名", "name", extra=("家长姓名", "监护人"))
    relation: Relation | None = label("与学生关系", "relation", default=None, extra=("关系",))
    phone: Phone | None = label("联系电话", "phone", default=None, extra=("监护人电话", "家长电话"))
    address: Text | None = label("家庭住址", "address", default=None, extra=("住址", "家庭地址"))


class School(FormkitModel):
    """Where the student belongs: county, township, school, grade and class."""

    county: Text | None = label("县(市、区)", "county", default=None, extra=("县", "县区", "县(区)"))
    township: Text | None = label("乡镇(街道)", "township", default=None, extra=("乡镇", "乡(镇)"))
    school: Text = label("学校", "school", extra=("学校名称", "就读学校"))
    grade: Grade | None = label("年级", "grade", default=None)
    class_name: Text | None = label("班级", "class_name", default=None)


class Attempt(FormkitModel):
    """One organised persuasion visit (劝返)."""

    date: CnDate = label("劝返时间", "date")
    by: Text | None = label("劝返人员", "by", default=None)
    result: Text | None = label("劝返结果", "result", default=None)


class HomeVisit(FormkitModel):
    """A 班主任's home visit (家访)."""

    date: CnDate = label("家访时间", "date")
    visitors: Text | None = label("家访人员", "visitors", default=None)
    met: Text | None = label("接待人", "met", default=None)
    situation: Text | None = label("家庭情况", "situation", default=None)
    reason: Text | None = label("了解到的原因", "reason", default=None)
    result: Text | None = label("家访结果", "result", default=None)
    next_step: Text | None = label("下一步措施", "next_step", default=None)


class DropoutCase(FormkitModel):
    """A dropout case as the ledger tracks it."""

    category: Category = label("对象类别", "category", default="辍学")
    dropout_date: CnDateOrMonth | None = label("辍学(失学)时间", "dropout_date", default=None,
                                               extra=("辍学时间", "辍学年月"))
    reason: Reason | None = label("辍学原因", "reason", default=None)
    destination: Destination | None = label("去向", "destination", default=None)
    poverty: YesNo = label("是否建档立卡贫困户", "poverty", default=False, extra=("建档立卡",))
    disability: YesNo = label("是否残疾", "disability", default=False)
    responsible: Text | None = label("劝返责任人", "responsible", default=None)
    responsible_phone: Phone | None = label("责任人电话", "responsible_phone", default=None)
    attempts: list[Attempt] = label("劝返记录", "attempts", default=[])
    compel_issued: OptionalYesNo | None = label("是否下达敦返通知书", "compel_issued", default=None)
    compel_date: CnDate | None = label("通知书下达时间", "compel_date", default=None)
    status: Status = label("劝返状态", "status", default="劝返中")
    return_date: CnDate | None = label("复学时间", "return_date", default=None)
    placement: Placement | None = label("安置方式", "placement", default=None)
    closed_date: CnDate | None = label("消帐时间", "closed_date", default=None)
    note: Text | None = label("备注", "note", default=None)
    _statuses: Enumeration = PrivateAttr(default_factory=lambda: enum("status"))
    """The 劝返状态 enumeration this case was validated with: which statuses mean returned."""

    @model_validator(mode="after")
    def _workflow(self, info: ValidationInfo) -> DropoutCase:
        self._statuses = _enums(info)["status"]
        _raise_rule_errors(rules.check(self.facts(), rules.CASE_RULES), "case.")
        return self

    def facts(self, **student: Any) -> rules.CaseFacts:
        """The rules' view of this case (plus ``student`` fields), judged by its own status table."""
        return rules.CaseFacts(**student, **rules.case_fields(self), returned=self.returned,
                               side_exit=self.status in self._statuses.needs_note)

    @property
    def returned(self) -> bool:
        return self.status in self._statuses.returned


class Issuer(FormkitModel):
    """Who issues a notice, its number and dates (the batch-level context of a notice)."""

    body: Text = label("发文单位", "body", extra=("发文机关", "issuer"))
    title: Text | None = label("通知书标题", "title", default=None)
    doc_number: Text | None = label("文号", "doc_number", default=None)
    issue_date: CnDate = label("发文日期", "issue_date")
    deadline: CnDate | None = label("返校期限", "deadline", default=None, extra=("截止日期",))
    contact: Text | None = label("联系人", "contact", default=None)
    contact_phone: Phone | None = label("联系电话", "contact_phone", default=None)
    report_to: Text | None = label("报到学校", "report_to", default=None)
    village: Text | None = label("村(居)委会", "village", default=None)
    handler: Text | None = label("经办人", "handler", default=None)
    signer: Text | None = label("签发人", "signer", default=None)


class CaseRecord(FormkitModel):
    """One student's case: what a roster or ledger row holds."""

    seq: Count | None = label("序号", "seq", default=None)
    student: Student = label("学生", "student")
    guardian: Guardian | None = label("监护人", "guardian", default=None)
    school: School = label("学校信息", "school")
    case: DropoutCase = Field(
        default_factory=DropoutCase, title="辍学情况", validation_alias=AliasChoices("case", "辍学情况")
    )
    teacher: Text | None = label("班主任", "teacher", default=None)
    teacher_phone: Phone | None = label("班主任电话", "teacher_phone", default=None)
    visits: list[HomeVisit] = label("家访记录", "visits", default=[])

    def warnings(self) -> list[Problem]:
        """Rule warnings (G-学籍号, age at dropout, a compel notice overdue, …): the ledger checker's too."""
        return rule_warnings(rules.check(self.case.facts(**rules.student_fields(self.student))))


M = TypeVar("M", bound=BaseModel)


def _labels_for(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            parts.append(f"第{item + 1}项")
            continue
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        info = None
        if fields:
            info = fields.get(item)
            if info is None:
                info = next(
                    (
                        f
                        for f in fields.values()
                        if isinstance(f.validation_alias, AliasChoices) and item in f.validation_alias.choices
                    ),
                    None,
                )
        if info is None:
            parts.append(str(item))
            current = None
            continue
        parts.append(info.title or str(item))
        current = _inner_model(info.annotation)
    return ".".join(parts)


def _inner_model(annotation: Any) -> Any:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in getattr(candidate, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


_BUILTIN_MESSAGES = {
    "missing": ("required", "必填项，不能为空。请补填。"),
    "extra_forbidden": ("unknown-field", "不认识这一项，可能是列名或键名写错了。请对照表单字段说明。"),
}


def problems_from_error(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into Chinese :class:`Problem` items (values masked)."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        expanded = (err.get("ctx") or {}).get("rule_problems")
        if expanded:
            for code, rel, message, shown in expanded:
                full = loc + _loc(rel)
                out.append(Problem(code, _labels_for(model, full) or "记录", message, shown,
                                   path=_english_path(model, full)))
            continue
        field = _labels_for(model, loc) if loc else "记录"  # never the model's English docstring
        kind = err["type"]
        ctx = err.get("ctx") or {}
        if kind in _BUILTIN_MESSAGES:
            code, message = _BUILTIN_MESSAGES[kind]
            shown = ""
        elif "shown" in ctx:
            code, message, shown = kind, err["msg"], str(ctx["shown"])
        elif kind in ("none_required", "string_type") and err.get("input") is None:
            code, message, shown = "required", "必填项，不能为空。请补填。", ""
        else:
            code = "type"
            shown = _safe_shown(err.get("input"))
            message = "格式不对，请按字段说明填写。"
        if kind == "missing" or (code == "required"):
            shown = ""
        out.append(Problem(code, field or "记录", message, shown, path=_english_path(model, loc)))
    return out


def _english_path(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Map a location that may use Chinese aliases back to English field names."""
    parts: list[str] = []
    current: Any = model
    for item in loc:
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        if isinstance(item, int) or not fields:
            parts.append(str(item))
            continue
        name = item if item in fields else next(
            (n for n, f in fields.items()
             if isinstance(f.validation_alias, AliasChoices) and item in f.validation_alias.choices), str(item))
        parts.append(name)
        info = fields.get(name)
        current = _inner_model(info.annotation) if info else None
    return ".".join(parts)


def _safe_shown(value: object) -> str:
    if isinstance(value, dict | list):
        return ""
    text = normalize_text(value) if value is not None else ""
    # Anything long and digit-heavy may be an ID or phone number: never echo it whole.
    if sum(c.isdigit() for c in text) >= 7:
        return v.mask_id(text)
    return text[:40]


def validate_model(model: type[M], data: object, *, where: str = "", enums: EnumTable | None = None) -> M:
    """Validate ``data`` as ``model``; raise :class:`RecordError` listing every problem.

    ``enums`` is the enumeration table the values are matched against (default: the shipped one).
    """
    try:
        return model.model_validate(data, context=enums_context(enums))
    except ValidationError as exc:
        problems = problems_from_error(exc, model)
        prefix = f"{where}：" if where else ""
        raise RecordError(f"{prefix}数据有 {len(problems)} 处问题：", problems, where=where) from None


# --- Records of each form -------------------------------------------------------------


class NoticeRecord(CaseRecord):
    """A case plus who issues the notice (return, compel and deadline notices)."""

    issuer: Issuer = label("发文信息", "issuer")

    @model_validator(mode="after")
    def _default_deadline(self) -> NoticeRecord:
        # A school or township return notice commonly gives seven days.
        if self.issuer.deadline is None:
            self.issuer.deadline = self.issuer.issue_date + timedelta(days=7)
        if self.issuer.deadline < self.issuer.issue_date:
            # Located at issuer.deadline: a model-level error would otherwise name no field.
            d, issued = self.issuer.deadline, self.issuer.issue_date
            message = f"返校期限早于发文日期{issued.year}年{issued.month}月{issued.day}日，请核对。"
            shown = f"{d.year}年{d.month}月{d.day}日"
            raise PydanticCustomError("date-order", message,
                                      {"shown": shown, "rule_problems": [("date-order", "issuer.deadline", message, shown)]})
        return self


class DropoutReportRecord(CaseRecord):
    """The 辍学报告单: a case as the 班主任 reports it to the school."""

    report_date: CnDate | None = label("报告日期", "report_date", default=None, extra=("填报日期",))
    school_opinion: Text | None = label("学校意见", "school_opinion", default=None)


class PledgeParentRecord(CaseRecord):
    """The school–guardian responsibility pledge for one child."""

    school_year: Text = label("学年", "school_year")
    sign_date: CnDate | None = label("签订日期", "sign_date", default=None)


def _percent(value: object) -> float:
    text = normalize_text(value).removesuffix("%").removesuffix("％")
    try:
        number = float(text)
    except ValueError:
        raise ValueProblem("number-format", f"“{text}”不是百分数，请写成 1 或 0.6 这样的数字。", text) from None
    if not 0 <= number <= 100:
        raise ValueProblem("number-format", "百分比应在0到100之间。", text)
    return number


Percent = Annotated[float, BeforeValidator(_adapt(_percent))]


class PledgeTeacherRecord(FormkitModel):
    """The principal–班主任 target responsibility pledge for one class and school year."""

    school_year: Text = label("学年", "school_year")
    school: School = label("学校信息", "school")
    teacher: Text = label("班主任", "teacher")
    principal: Text | None = label("校长", "principal", default=None)
    enrolled: Count = label("在籍学生数", "enrolled", extra=("班级人数",))
    dropout_rate_max: Percent = label("辍学率控制目标", "dropout_rate_max", default=1.0)
    retention_min: Percent = label("巩固率目标", "retention_min", default=99.0)
    sign_date: CnDate | None = label("签订日期", "sign_date", default=None)


class SchoolFigures(FormkitModel):
    """One school's line in the monthly report."""

    school: Text = label("学校", "school")
    cases: Count = label("案例数", "cases")
    returned: Count = label("已复学", "returned")
    closed: Count = label("已消帐", "closed", default=0)
    other: Count = label("其他去向", "other", default=0)
    out: Count = label("仍未返校", "out")
    poverty: Count = label("建档立卡", "poverty", default=0)


class MonthlyReportRecord(FormkitModel):
    """The 控辍保学 monthly report of one township (or county), as ``ledger summary`` computes it."""

    area: Text = label("填报单位", "area", extra=("乡镇", "township"))
    month: Text = label("月份", "month")
    report_date: CnDate | None = label("报送日期", "report_date", default=None)
    new: Count = label("本月新增", "new")
    returned_this_month: Count = label("本月复学", "returned_this_month")
    out_at_end: Count = label("月末仍未返校", "out_at_end")
    schools: list[SchoolFigures] = label("各校情况", "schools", default=[])
    contact: Text | None = label("填报人", "contact", default=None)
    contact_phone: Phone | None = label("联系电话", "contact_phone", default=None)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("cases", "returned", "closed", "other", "out", "poverty")
        return {k: sum(getattr(s, k) for s in self.schools) for k in keys}
