"""Lint a Word template a county edited: unknown variables, syntax, tags Word broke apart.

Word and WPS split text into runs wherever formatting, spell-check marks or edits
happen, and Chinese input methods turn ``{`` into ``｛``. docxtpl joins most split tags,
but not a tag broken across paragraphs or one typed with full-width braces; those render
as literal text or fail. The linter reports each problem with the paragraph it is in.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from pydantic import BaseModel

from formkit.core import codes
from formkit.core.errors import InputFileError, TemplateError, UsageError
from formkit.core.fileio import Source, source_bytes, source_name
from formkit.core.models import _inner_model
from formkit.documents.engine import (
    TEMPLATE_LIMITS,
    CompiledTemplate,
    has_tags,
    jinja_source,
    make_environment,
    paragraph_texts,
    parse_template,
    read_package,
    templated_parts,
    unsafe_constructs,
)
from formkit.documents.forms import FormSpec, forms, get_form

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_MALFORMED = re.compile(r"\{\s+[{%]|[}%]\s+\}")
EXTRA_CONTEXT = {"form_title", "today", "reasons", "totals", "visit_summary", "enrol_action", "loop", "range",
                 "namespace", "dict", "true", "false", "none"}


@dataclass(frozen=True)
class TemplateIssue:
    """One problem in a template; ``severity`` (error / warning / info) comes from the code's registry entry."""

    severity: str = field(init=False)
    code: str
    message: str
    paragraph: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", codes.severity(self.code))


@dataclass
class TemplateReport:
    """What the linter found; ``valid`` when there is no error."""

    path: str
    form: str
    issues: list[TemplateIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "form": self.form, "valid": self.valid, "issues": [asdict(i) for i in self.issues]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _normalise_tag(tag: str) -> str:
    tag = tag.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    # docxtpl's paragraph/row/cell/run tags ({%tr for %}, {{r x }}) lose their prefix when patched.
    tag = re.sub(r"^(\{[{%])(tr|tc|p|r)\s", r"\1 ", tag)
    return re.sub(r"\s+", "", tag)


def _guess_form(path: Path) -> FormSpec:
    for spec in forms():
        if path.stem == spec.name or path.name == spec.template:
            return spec
    names = "、".join(f.name for f in forms())
    raise UsageError(f"无法从文件名 {path.name} 判断是哪个表单，请指定表单（{names}）。", code="form-not-guessed")


def _model_at(model: Any, path: list[str]) -> Any:
    current = model
    for part in path:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        current = _inner_model(fields[part].annotation)
    return current


def _chain(node: nodes.Node) -> tuple[str, list[str]] | None:
    """``student.name`` → ("student", ["name"]); ``case.attempts[0].date`` → ("case", ["attempts", "date"])."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return node.name, list(reversed(parts))
        else:
            return None


def _loop_targets(ast: nodes.Template) -> set[str]:
    names: set[str] = set()
    targets = [loop.target for loop in ast.find_all(nodes.For)] + [a.target for a in ast.find_all(nodes.Assign)]
    for target in targets:
        # find_all() yields descendants only, and a plain loop variable is the target itself.
        for name in [target, *target.find_all(nodes.Name)]:
            if isinstance(name, nodes.Name):
                names.add(name.name)
    return names


def check_template(path: Source, form: str | None = None) -> TemplateReport:
    """Lint the .docx template ``path`` (a path, the bytes or a binary file object) against ``form``
    (guessed from the file name if omitted; required when there is no file name).

    Nothing in the template is evaluated: the package is checked as render checks it
    (sizes, DOCTYPEs, macros, external links) and the Jinja syntax tree is walked for
    everything the sandbox refuses (method calls, ``attr``, include/import, macros…).
    """
    p = Path(source_name(path))
    if form is None and not isinstance(path, str | Path):
        names = "、".join(f.name for f in forms())
        raise UsageError(f"上传的模板没有文件名，无法判断是哪个表单，请指定 form（{names}）。")
    spec = get_form(form) if form else _guess_form(p)
    report = TemplateReport(str(p), spec.name)
    data = source_bytes(path, "模板文件", TEMPLATE_LIMITS.max_file_bytes)
    add = report.issues.append
    try:
        members = read_package(data, p.name)
    except TemplateError as exc:
        if exc.code == "template-file":
            raise InputFileError(f"{p} 不是有效的 Word（.docx）文件：{exc}", path=str(p), code="file-type") from None
        add(TemplateIssue(exc.code, str(exc)))
        return report
    paragraphs: list[str] = []
    sources: list[str] = []
    try:
        parts = templated_parts(members, p.name)
    except TemplateError as exc:  # a part not in UTF-8: as unusable as a package that is no .docx
        raise InputFileError(f"{p} 不是有效的 Word（.docx）文件：{exc}", path=str(p), code="file-type") from None
    for xml in parts.values():
        paragraphs += paragraph_texts(xml)
        if has_tags(xml):
            sources.append(jinja_source(xml)[1])
    for text in paragraphs:
        shown = text.strip()[:60]
        if re.search(r"[｛｝]", text) or "｛｛" in text:
            add(TemplateIssue("tag-fullwidth",
                              "标签里用了全角括号“｛ ｝”，模板引擎不认。请切换到英文输入法，把它改成半角的 {{ }} 或 {% %}。",
                              shown))
        clean = _INVISIBLE.sub("", text)
        opened = clean.count("{{") + clean.count("{%")
        closed = clean.count("}}") + clean.count("%}")
        if opened != closed:
            add(TemplateIssue("tag-split-paragraph",
                              "标签没有在同一段内闭合（可能被回车拆成了两段，或少了一半括号）。请把整个标签放在同一段里重新输入。",
                              shown))
    if _unsafe_issues(sources, report):
        return report
    try:
        compiled = CompiledTemplate(data, p.name)
    except TemplateError as exc:
        add(TemplateIssue("jinja-syntax" if exc.code == "template-syntax" else exc.code, str(exc)))
        return report
    patched = "\n".join(compiled.sources.values())
    visible = {_normalise_tag(t) for t in _TAG.findall(re.sub(r"<[^>]+>", "", patched))}
    for text in paragraphs:
        # Look at the text as the clerk sees it: invisible characters (zero-width spaces pasted
        # from WeChat or web pages, soft hyphens) do not show in Word but break the tag.
        for tag in _TAG.findall(_INVISIBLE.sub("", text)):
            if _normalise_tag(tag) not in visible:
                add(TemplateIssue("tag-broken-runs",
                                  f"标签 {tag.strip()[:40]} 被拆开或夹有看不见的字符（如从微信、网页复制带入的零宽字符），"
                                  "模板引擎看不到完整标签。请删掉整个标签后一次性重新输入。",
                                  text.strip()[:60]))
        if _MALFORMED.search(text):
            add(TemplateIssue("tag-malformed",
                              "括号之间有空格（如“{ {”或“% }”），模板引擎不会把它当作标签。请写成 {{ 变量 }} 或 {% 语句 %}。",
                              text.strip()[:60]))
    _check_variables(compiled, spec, report)
    return report


def _unsafe_issues(sources: list[str], report: TemplateReport) -> bool:
    """Add an issue for every construct the sandbox refuses; True when there is any (or a syntax error)."""
    found = False
    for source in sources:
        try:
            ast = parse_template(source)
        except TemplateSyntaxError:
            continue  # reported with its paragraph by CompiledTemplate below
        except TemplateError as exc:
            report.issues.append(TemplateIssue(exc.code, str(exc)))
            found = True
            continue
        lines = source.splitlines()
        for problem in unsafe_constructs(ast):
            shown = re.sub(r"<[^>]+>", "", lines[problem.lineno - 1]).strip()[:60] if 0 < problem.lineno <= len(lines) else ""
            report.issues.append(TemplateIssue(
                problem.code, f"模板{problem.message}，渲染时会被拒绝。请删掉它，只用 {{{{ 变量 }}}}、过滤器和 if/for。",
                shown))
            found = True
    return found


def _check_variables(compiled: CompiledTemplate, spec: FormSpec, report: TemplateReport) -> None:
    env = make_environment()
    model: type[BaseModel] = spec.model
    top = set(model.model_fields) | EXTRA_CONTEXT
    used: set[str] = set()
    for source in compiled.sources.values():
        ast = env.parse(source)
        local = _loop_targets(ast)
        for ref in ast.find_all(nodes.Name):
            if ref.ctx != "load" or ref.name in local:
                continue
            if ref.name not in top:
                close = difflib.get_close_matches(ref.name, sorted(top - EXTRA_CONTEXT), n=1)
                hint = f"是不是“{close[0]}”？" if close else ""
                report.issues.append(TemplateIssue(
                    "unknown-variable",
                    f"模板用到了“{ref.name}”，但表单 {spec.name} 的数据里没有它。{hint}"))
            used.add(ref.name)
        for node in ast.find_all(nodes.Getattr):
            chain = _chain(node)
            if chain is None or chain[0] in local or chain[0] not in model.model_fields:
                continue
            root, attrs = chain
            current: Any = _model_at(model, [root])
            walked = [root]
            for attr in attrs:
                fields = getattr(current, "model_fields", None)
                if not fields:
                    break
                if attr not in fields:
                    close = difflib.get_close_matches(attr, list(fields), n=1)
                    hint = f"是不是“{'.'.join(walked)}.{close[0]}”？" if close else ""
                    report.issues.append(TemplateIssue(
                        "unknown-variable",
                        f"模板用到了“{'.'.join([*walked, attr])}”，但数据里没有这个字段。{hint}"))
                    break
                walked.append(attr)
                used.add(".".join(walked))
                current = _inner_model(fields[attr].annotation)
    unused = []
    for name, info in model.model_fields.items():
        inner = _inner_model(info.annotation)
        is_list = getattr(info.annotation, "__origin__", None) is list
        if inner is None or is_list:
            # Items of a list are reached through loop variables, which the linter cannot type.
            if name not in used:
                unused.append(name)
            continue
        unused += [f"{name}.{sub}" for sub in inner.model_fields if f"{name}.{sub}" not in used]
    if unused:
        report.issues.append(TemplateIssue("unused-field",
                                           f"模板没有用到这些字段（不是错误，仅供参考）：{'、'.join(sorted(set(unused)))}。"))
    # Several identical unknown-variable messages for one name are noise.
    unique: dict[tuple[str, str], TemplateIssue] = {}
    for issue in report.issues:
        unique.setdefault((issue.code, issue.message), issue)
    report.issues[:] = list(unique.values())


def format_template_report(report: TemplateReport) -> str:
    """Chinese lines for the terminal."""
    if not report.issues:
        return f"{report.path}：模板没有发现问题（表单 {report.form}）。"
    marks = {"error": "错误", "warning": "提醒", "info": "说明"}
    lines = [f"{report.path}（表单 {report.form}）："]
    for issue in report.issues:
        where = f"（段落：“{issue.paragraph}”）" if issue.paragraph else ""
        lines.append(f"  [{marks[issue.severity]}] {issue.message}{where} <{issue.code}>")
    return "\n".join(lines)
