"""Compile-once Word template engine (docxtpl semantics, sandboxed Jinja).

A :class:`CompiledTemplate` reads a .docx once: the XML parts that hold Jinja tags are
cleaned exactly as docxtpl cleans them (tags split across Word runs are joined) and
compiled once; every other package part is kept as bytes in a ready-made zip. Rendering
a record is then only Jinja rendering plus appending the rendered parts to a copy of
that zip, so hundreds of records cost no re-parsing.

Security: templates run in a :class:`jinja2.sandbox.SandboxedEnvironment` with
autoescaping (a value ``A&B<C>`` appears literally in Word, never as markup) and
``StrictUndefined`` (a variable with no value is an error that names it). Templates
cannot include or import other files, and a render that produces an absurdly large
document is stopped.

This is the only module that touches docxtpl or python-docx internals.
"""

from __future__ import annotations

import io
import os
import re
import signal
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, cast

import jinja2
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

from .errors import TemplateError
from .validators import Month, format_date, mask_id

_TEMPLATED_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
# XML 1.0 forbids most C0 controls; a value carrying one would corrupt the document.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CN_DIGITS = "〇一二三四五六七八九"
MAX_PART_CHARS = 20_000_000
"""A rendered part larger than this (characters) is refused: it is a runaway template."""


def cn_date(value: object) -> str:
    """``2024年3月5日``; empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, date | Month):
        return format_date(value)
    return str(value)


def cn_date_upper(value: object) -> str:
    """``二〇二四年三月五日`` (the style used on official seals and signatures)."""
    if not isinstance(value, date):
        return cn_date(value)
    year = "".join(_CN_DIGITS[int(c)] for c in str(value.year))
    return f"{year}年{cn_number(value.month)}月{cn_number(value.day)}日"


def cn_number(value: object) -> str:
    """Write 0–99 in Chinese numerals (``15`` → ``十五``); other values unchanged."""
    try:
        n = int(str(value))
    except ValueError:
        return str(value)
    if not 0 <= n < 100:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


def checked(value: object, option: str) -> str:
    """``☑`` when ``value`` equals ``option`` (or contains it, for lists), else ``☐``."""
    if isinstance(value, list | tuple | set):
        return "☑" if option in value else "☐"
    return "☑" if value == option else "☐"


def blank(value: object, width: int = 8) -> str:
    """The value, or a run of ideographic spaces for the clerk to fill in by hand."""
    if value is None or value == "":
        return "\u3000" * width
    return str(value)


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, date | Month):
        return format_date(value)
    if isinstance(value, str):
        # A bare CR survives in XML but Word drops it; as a line break it stays visible.
        return _ILLEGAL_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


RENDER_SECONDS = float(os.environ.get("FORMKIT_RENDER_SECONDS", "10"))
"""Wall-clock limit for rendering one document (user templates may loop without end)."""
MAX_REPEAT = 100_000
"""Largest string/list a template may build with ``*`` (``'x' * 10**9`` would exhaust memory)."""


class _GuardedEnvironment(SandboxedEnvironment):
    """The sandbox plus limits on ``*`` and ``**``, which the stock sandbox lets through."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_REPEAT:
                    raise jinja2.exceptions.SecurityError("重复生成的内容过大")
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise jinja2.exceptions.SecurityError("乘方的指数过大")
        return super().call_binop(context, operator, left, right)


@contextmanager
def _deadline(seconds: float, name: str) -> Iterator[None]:
    """Stop a render that runs longer than ``seconds`` (main thread only; elsewhere no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TemplateError(f"模板 {name} 渲染超过 {seconds:g} 秒仍未完成，可能有失控的循环，已停止。",
                            code="template-timeout")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _NoFiles(jinja2.BaseLoader):
    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, None]:
        raise jinja2.TemplateNotFound(template)


def make_environment() -> SandboxedEnvironment:
    """The sandboxed, autoescaping, strict Jinja environment all templates run in."""
    env = _GuardedEnvironment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        loader=_NoFiles(),
        keep_trailing_newline=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "cn_date": cn_date,
        "cn_date_upper": cn_date_upper,
        "cn_number": cn_number,
        "mask_id": mask_id,
        "checked": checked,
        "blank": blank,
    }
    env.filters.update(filters)
    return env


_ENV = make_environment()


def _paragraph_text(xml_line: str) -> str:
    return re.sub(r"<[^>]+>", "", xml_line).strip()


def _template_error(exc: Exception, source: str, name: str, part: str) -> TemplateError:
    """A Chinese TemplateError naming the template, the paragraph, and the cause."""
    where = ""
    lineno = getattr(exc, "lineno", None)
    if lineno:
        lines = source.splitlines()
        if 0 < lineno <= len(lines):
            where = f"，出错段落：“{_paragraph_text(lines[lineno - 1])[:60]}”"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(f"模板 {name} 试图访问不允许的内部属性，已拒绝渲染（{exc}）{where}。", code="template-unsafe")
    if isinstance(exc, jinja2.UndefinedError):
        missing = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        var = next((g for g in (missing.groups() if missing else ()) if g), str(exc))
        if "unsafe" in str(exc):
            return TemplateError(
                f"模板 {name} 试图访问不允许的内部属性，已拒绝渲染{where}。", code="template-unsafe"
            )
        return TemplateError(
            f"模板 {name} 用到了变量“{var}”，但数据里没有它{where}。请检查模板变量名或补充数据。",
            code="template-undefined",
        )
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(
            f"模板 {name} 试图包含或导入其他文件（{exc}），这是不允许的{where}。", code="template-unsafe"
        )
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(
            f"模板 {name} 的 {part} 有 Jinja 语法错误：{exc.message}{where}。请修正标签。", code="template-syntax"
        )
    return TemplateError(f"模板 {name} 渲染失败：{exc}{where}。", code="template-render")


class CompiledTemplate:
    """A .docx template parsed and compiled once, renderable any number of times."""

    def __init__(self, data: bytes, name: str = "template.docx") -> None:
        self.name = name
        try:
            source = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise TemplateError(f"模板 {name} 不是有效的 Word（.docx）文件。", code="template-file") from None
        self._parts: dict[str, tuple[str, jinja2.Template]] = {}
        self._sources: dict[str, str] = {}
        base = io.BytesIO()
        with source, zipfile.ZipFile(base, "w", zipfile.ZIP_DEFLATED) as out:
            if "word/document.xml" not in source.namelist():
                raise TemplateError(f"模板 {name} 缺少 word/document.xml，不是 Word 文档。", code="template-file")
            for info in source.infolist():
                raw = source.read(info)
                if _TEMPLATED_PART.match(info.filename):
                    text = raw.decode("utf-8")
                    if "{{" in text or "{%" in text or "{#" in text:
                        self._parts[info.filename] = self._compile(text, info.filename)
                        continue
                out.writestr(info, raw)
        self._base = base.getvalue()

    def _compile(self, xml: str, part: str) -> tuple[str, jinja2.Template]:
        head, sep, body = xml.partition("?>")
        if not sep:
            head, body = "", xml
        else:
            head += sep
        patched = DocxTemplate.patch_xml(cast(Any, None), body)
        patched = re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)
        self._sources[part] = patched
        try:
            return head, _ENV.from_string(patched)
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(exc, patched, self.name, part) from None

    @property
    def sources(self) -> dict[str, str]:
        """The cleaned Jinja source of each templated part (for the template linter)."""
        return dict(self._sources)

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Render one record; returns the bytes of a complete .docx file."""
        rendered: list[tuple[str, bytes]] = []
        for part, (head, tpl) in self._parts.items():
            try:
                with _deadline(RENDER_SECONDS, self.name):
                    xml = tpl.render(context)
            except TemplateError:
                raise
            except RecursionError:
                raise TemplateError(f"模板 {self.name} 的宏无限递归，已停止。", code="template-runaway") from None
            except (jinja2.TemplateError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                raise _template_error(exc, "", self.name, part) from None
            if len(xml) > MAX_PART_CHARS:
                raise TemplateError(
                    f"模板 {self.name} 渲染出的内容过大（超过 {MAX_PART_CHARS} 字符），可能是失控的循环，已停止。",
                    code="template-too-large",
                )
            xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
            if any(c in xml for c in "\n\t\a\f"):
                xml = DocxTemplate.resolve_listing(cast(Any, None), xml)
            rendered.append((part, (head + xml).encode("utf-8")))
        buf = io.BytesIO(self._base)
        buf.seek(0, io.SEEK_END)
        with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as out:
            for part, payload in rendered:
                # A fixed timestamp makes equal input give equal bytes, so re-runs can compare hashes.
                info = zipfile.ZipInfo(part, date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, payload)
        return buf.getvalue()


def docx_text(data: bytes) -> str:
    """All paragraph and table text of a .docx, one paragraph per line (for checks and tests)."""
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            seen: set[int] = set()
            for cell in row.cells:
                if id(cell._tc) in seen:
                    continue
                seen.add(id(cell._tc))
                lines.extend(p.text for p in cell.paragraphs)
    return "\n".join(lines)


def merge_docx(paths: list[Any]) -> bytes:
    """Concatenate .docx files into one, each starting on a new page (linear; see docx_merge)."""
    from .docx_merge import merge_docx as merge

    return merge(paths)
