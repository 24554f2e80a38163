"""Compile-once Word template engine (docxtpl semantics, sandboxed Jinja).

A :class:`CompiledTemplate` reads a .docx once: the XML parts that hold Jinja tags are
cleaned exactly as docxtpl cleans them (tags split across Word runs are joined) and
compiled once; every other package part is kept as bytes in a ready-made zip. Rendering
a record is then only Jinja rendering plus appending the rendered parts to a copy of
that zip, so hundreds of records cost no re-parsing.

Security model: a county's template is untrusted code, the record is untrusted data.

* Templates see data, never objects: :func:`formkit.documents.forms.build_context` turns records
  into dicts, lists, strings, numbers, dates and None. Attribute access on a dict reads
  its keys only, so no method of the data is reachable.
* The sandbox (:class:`_FormkitSandbox`) calls nothing but ``range``, ``namespace``,
  ``dict``, ``loop.cycle``/``loop.changed`` and a few non-growing str/date/dict methods.
  ``attr`` (reaches any attribute) and ``safe``/``urlize``/``xmlattr`` (raw markup) are
  removed; every other built-in filter measures its input first.
* Before compiling, :func:`unsafe_constructs` walks the Jinja AST (nothing is
  evaluated) and refuses include/import/extends, macros and call blocks, block
  captures (``{% set x %}…{% endset %}``, ``{% filter %}``), ``{% autoescape %}``,
  recursive loops, underscore attributes, every call that is not on that list and
  constant arguments that would build millions of characters. ``template check``
  reports the same findings.
* The package is checked before anything is inflated (:mod:`formkit.zip_guard`): member
  count, declared and actual sizes, DOCTYPEs, VBA/ActiveX parts, external relationships
  and linking field codes (``INCLUDEPICTURE`` and friends) are refused, so no output
  ever carries them and LibreOffice never fetches anything. Every rendered part is
  checked for such fields again, since loops or tags can assemble one.
* Resource limits are cooperative, so they work in any thread and on Windows and never
  touch the host's signals or timers: an AST pass wraps every ``{% for %}`` iterable
  in a filter that checks the render's deadline on each iteration (templates have no
  other way to loop: no macros, no recursion); output is produced with
  ``Template.generate()``, counted and checked against the deadline per chunk; every
  operation that can grow a value (``~``, ``+``, ``*``, ``**``, ``%``, ``center``,
  ``replace``, ``join``, ``format``, ``indent``, ``wordwrap``, ``batch``…) checks the
  size of its result before building it, and anything turned into text is measured
  first. Constant folding is off (``optimized=False``), so compiling or checking a
  template never evaluates it. Nesting deeper than :data:`MAX_NESTING` is refused
  before Python's recursion limit is reached.

A child process per render with a parent-enforced deadline was rejected: it would cost
the shipped templates far more than the ~10 % allowed (start-up and pickling per
document) and still needs a memory limit that Windows does not offer. Measured on the
shipped return notice (300 records, best of 8): about 300 documents/s before and after
this design; building the plain-data context adds about 0.02 ms per record.

This is the only module that touches docxtpl or python-docx internals.
"""

from __future__ import annotations

import html
import io
import json
import pprint
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, cast

import jinja2
import markupsafe
from docxtpl import DocxTemplate
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

from formkit.core.errors import TemplateError
from formkit.core.settings import DEFAULT_RENDER_SECONDS
from formkit.core.validators import Month, format_date, mask_id
from formkit.core.zip_guard import (
    Limits,
    PackageProblem,
    check_members,
    external_targets,
    has_dtd,
    has_macros,
    read_member,
)

TEMPLATED_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
"""The package parts that may hold Jinja tags; :func:`templated_parts` is the one reader of them."""
_PARAGRAPH = re.compile(r"<w:p[ >].*?</w:p>", re.DOTALL)
_TEXT = re.compile(r"<w:t(?: [^>]*)?>(.*?)</w:t>", re.DOTALL)
# XML 1.0 forbids most C0 controls and lone surrogates (UTF-8 cannot even encode one); a value carrying one
# would corrupt the document or crash the write.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Field instructions (w:instrText runs, w:instr attributes); Word joins the runs of one field.
_FIELD_TEXT = re.compile(r"<w:instrText\b[^>]*>([^<]*)</w:instrText>|\bw:instr\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
# Fields that make Word/LibreOffice read a file or URL when the document is opened or converted
# (the look-behind keeps HYPERLINK, which only acts on a click, from matching LINK).
_LINK_FIELD = re.compile(r"(?<![A-Z])(INCLUDEPICTURE|INCLUDETEXT|LINK|DDEAUTO|DDE|IMPORT)(?![A-Z])")
_CN_DIGITS = "〇一二三四五六七八九"
MAX_PART_CHARS = 20_000_000
"""A rendered document larger than this (characters, all parts together) is refused: it is a runaway template."""
MAX_VALUE_CHARS = 5_000_000
"""Largest text any single template operation may produce (or any value turned into text)."""
MAX_BUILT_CHARS = 40 * MAX_VALUE_CHARS
"""Most characters all the operations of one render may produce together."""
MAX_WRAP_CHARS = 100_000
"""Longest text ``wordwrap`` may wrap: textwrap is pure Python (about 5 µs a character) and never yields."""
MAX_REPEAT = 100_000
"""Largest string/list a template may build with ``*`` (``'x' * 10**9`` would exhaust memory)."""
MAX_INT_BITS = 65_536
"""Largest integer (in bits) ``*`` and ``**`` may produce (squaring in a loop grows without end)."""
MAX_NESTING = 60
"""Deepest nesting of template tags and expressions accepted (200 nested ifs would overflow the stack)."""
MAX_BLANK = 200
"""Widest run of spaces the ``blank`` filter writes."""
TEMPLATE_LIMITS = Limits(max_file_bytes=50 * 1024 * 1024, max_uncompressed_bytes=200 * 1024 * 1024, max_members=1_000)
"""Package limits for Word templates: far above any real form, far below a zip bomb."""


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
        return "\u3000" * max(0, min(int(width), MAX_BLANK))
    return str(value)


# --- per-render limits -------------------------------------------------------------


@dataclass
class _Budget:
    name: str
    deadline: float  # time.monotonic() value; inf = no limit
    seconds: float
    written: int = 0  # characters rendered so far, over all parts of the document
    built: int = 0  # characters every guarded operation made, over the whole render

    def charge(self, size: int) -> None:
        """Count what one operation made against the render and check the deadline.

        Each operation is bounded on its own, but a list literal or a ``~`` chain evaluates
        all its items before anything measures the whole: 700 × ``center(4900000)`` is
        3.4 GB. Counting what every operation makes bounds the total, and checking the
        clock here stops a long expression that never passes a loop or an output chunk.
        """
        self.built += size
        if self.built > MAX_BUILT_CHARS:
            raise jinja2.exceptions.SecurityError(f"模板运算处理的内容累计过大（上限 {MAX_BUILT_CHARS} 字符）")
        self.tick()

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateError(
                f"模板 {self.name} 渲染超过 {self.seconds:g} 秒仍未完成，可能有失控的循环，已停止。",
                code="template-timeout",
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("formkit_render_budget", default=None)


def _loop_tick(iterable: Iterable[Any]) -> Iterable[Any]:
    """Wrap a ``{% for %}`` iterable so each iteration checks the render deadline."""
    budget = _BUDGET.get()
    if budget is None:
        return iterable
    return _Ticking(iterable, budget)


class _Ticking:
    """An iterable that checks the deadline per item and keeps ``len`` (``loop.length``)."""

    def __init__(self, inner: Iterable[Any], budget: _Budget) -> None:
        self._inner = inner
        self._budget = budget

    def __iter__(self) -> Iterator[Any]:
        tick = self._budget.tick
        for item in self._inner:
            tick()
            yield item

    def __len__(self) -> int:
        return len(self._inner)  # type: ignore[arg-type]


def _too_big(what: str) -> jinja2.exceptions.SecurityError:
    return jinja2.exceptions.SecurityError(f"{what}生成的内容过大（上限 {MAX_VALUE_CHARS} 字符）")


def text_size(value: Any, cap: int = MAX_VALUE_CHARS) -> int:
    """An upper estimate of ``len(str(value))`` that stops once it passes ``cap``.

    Nested lists of references to one big string cost nothing to build but explode when
    printed; this walks the structure instead of printing it.
    """
    total = 0
    stack = [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float | date | Month):
            total += 32
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, Namespace):
            # Namespace answers every other attribute (``__dict__`` too) from its own keys.
            attrs = object.__getattribute__(item, "_Namespace__attrs")
            total += 16 + 4 * len(attrs)
            stack.extend(attrs.values())
        elif isinstance(item, jinja2.Undefined):
            continue
        else:
            total += 100
    return total


def _check_text(value: Any, what: str) -> None:
    if text_size(value) > MAX_VALUE_CHARS:
        raise _too_big(what)


def _charge(size: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)


@jinja2.pass_eval_context
def _finalize(_: nodes.EvalContext, value: object) -> object:
    # Taking the eval context keeps Jinja from folding constant output at compile time: without it
    # visit_Output evaluated ``{{ ['a'|center(4900000), …] }}`` while compiling (3 GB in `template check`).
    if value is None:
        return ""
    if isinstance(value, date | Month):
        return format_date(value)
    if isinstance(value, str):
        # A bare CR survives in XML but Word drops it; as a line break it stays visible.
        return _ILLEGAL_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if not isinstance(value, int | float):
        _check_text(value, "输出的值")
    return value


# --- filters -------------------------------------------------------------------------

_ITERATING = {"list", "batch", "slice", "unique", "sort", "map", "select", "reject", "selectattr", "rejectattr",
              "groupby", "dictsort", "sum", "min", "max", "items", "random", "first", "last"}


_FORMAT_SPEC = re.compile(r"[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
MAX_FORMAT_WIDTH = 1000
MAX_SUM_COPIES = 20 * MAX_VALUE_CHARS
"""Most element copies ``sum`` of lists may cost (items × size), about a second of C time."""
_GROWING = {"center": "width", "indent": "width", "wordwrap": "width", "truncate": "length", "batch": "linecount",
            "slice": "slices"}


def format_too_wide(spec: str) -> bool:
    """True when a ``%`` format string asks for a width or precision over 1,000 (or a ``*`` one)."""
    start = spec.find("%")
    while start != -1:
        end = start + 1
        if spec.startswith("(", end):
            # Python matches the parentheses of a mapping key, so "%(a(b)c)9999s" has the width 9999.
            depth = 0
            while end < len(spec):
                depth += {"(": 1, ")": -1}.get(spec[end], 0)
                end += 1
                if depth == 0:
                    break
        match = _FORMAT_SPEC.match(spec, end)
        if match:
            for group in match.groups():
                if group == "*" or (group and int(group) > MAX_FORMAT_WIDTH):
                    return True
        start = spec.find("%", end)
    return False


def _growth_bound(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """An upper bound of the size of what filter ``name`` returns, computed before calling it."""
    data = [a for a in args if not isinstance(a, jinja2.Environment | jinja2.nodes.EvalContext
                                             | jinja2.runtime.Context)]
    value = data[0] if data else ""
    rest = data[1:]
    size = text_size(value)

    def arg(position: int, key: str, default: Any) -> Any:
        return rest[position] if len(rest) > position else kwargs.get(key, default)

    def number(x: Any) -> int:
        try:
            return int(x)
        except (TypeError, ValueError):
            return 0

    if name == "center":
        return max(size, number(arg(0, "width", 80)))
    if name == "indent":
        width = arg(0, "width", 4)
        per_line = len(width) if isinstance(width, str) else number(width)
        lines = str(value).count("\n") + 1 if size <= MAX_VALUE_CHARS else size
        return size + lines * max(per_line, 0)
    if name == "wordwrap":
        if size > MAX_WRAP_CHARS:
            raise jinja2.exceptions.SecurityError(f"过滤器 wordwrap 的输入过长（上限 {MAX_WRAP_CHARS} 字符）")
        wrap = arg(3, "wrapstring", None)
        return size * (1 + len(wrap if isinstance(wrap, str) else "\n")) + 1
    if name == "replace":
        old, new = str(arg(0, "old", "")), str(arg(1, "new", ""))
        count = arg(2, "count", None)
        times = size + 1 if count is None else max(0, min(number(count), size + 1))
        return size + times * max(0, len(new) - len(old))
    if name == "format":
        spec = str(value)
        if format_too_wide(spec):
            raise jinja2.exceptions.SecurityError("格式字符串里的宽度或精度过大")
        return size + text_size(list(rest) + list(kwargs.values())) + 1000 * spec.count("%")
    if name == "join":
        items = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]
        sep = arg(0, "d", "")
        return text_size(items) + len(str(sep)) * len(items)
    if name == "truncate":
        return size + len(str(arg(2, "end", "...")))
    if name == "sum":
        start = arg(1, "start", 0)
        # Adding lists copies the running total each time: quadratic, inside one C call no deadline sees.
        if not isinstance(start, int | float) and isinstance(value, Sized) and len(value) * size > MAX_SUM_COPIES:
            raise jinja2.exceptions.SecurityError("过滤器 sum 连接的列表过多")
        return size
    if name in ("batch", "slice"):
        if number(arg(0, "linecount" if name == "batch" else "slices", 1)) > MAX_REPEAT:
            raise jinja2.exceptions.SecurityError(f"{name} 的参数过大")
        return size + text_size(arg(1, "fill_with", None)) * number(arg(0, "linecount", 1))
    return 0


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter that measures its input (and its output, if it can grow) first."""

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, jinja2.Environment | jinja2.nodes.EvalContext | jinja2.runtime.Context):
                continue
            _check_text(value, f"过滤器 {name} 的输入")
            if name in _ITERATING and isinstance(value, str) and len(value) > MAX_REPEAT:
                raise _too_big(f"过滤器 {name} ")
        if _growth_bound(name, args, kwargs) > MAX_VALUE_CHARS:
            raise _too_big(f"过滤器 {name} ")
        result = func(*args, **kwargs)
        if isinstance(result, Iterator):
            # map, select, batch… are lazy: measured as one small object, they would be built in full
            # by the next filter (join, list) unchecked. Build them here, item by item, within the limits.
            return _bounded_list(result, name)
        _charge(text_size(result))
        return result

    return guarded


def _bounded_list(items: Iterator[Any], name: str) -> list[Any]:
    budget = _BUDGET.get()
    built: list[Any] = []
    total = 0
    for item in items:
        total += text_size(item) + 2
        if total > MAX_VALUE_CHARS:
            raise _too_big(f"过滤器 {name} ")
        if budget is not None:
            budget.tick()
        built.append(item)
    _charge(total)
    return built


class _CappedText(io.StringIO):
    """A text stream that refuses to grow past :data:`MAX_VALUE_CHARS` (pprint writes into it)."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self._what = what

    def write(self, text: str) -> int:
        if self.tell() + len(text) > MAX_VALUE_CHARS:
            raise _too_big(self._what)
        return super().write(text)


def _capped_join(chunks: Iterable[str], what: str) -> str:
    stream = _CappedText(what)
    for chunk in chunks:
        stream.write(chunk)
    return stream.getvalue()


def pprint_filter(value: Any) -> str:
    """Jinja's ``pprint``, written through a capped stream: its indentation is not bounded by the input
    (a long dict key indents every line of its value)."""
    stream = _CappedText("过滤器 pprint ")
    pprint.PrettyPrinter(stream=stream).pprint(value)
    return stream.getvalue().removesuffix("\n")


def tojson_filter(value: Any, indent: int | str | None = None) -> markupsafe.Markup:
    """Jinja's ``tojson`` (sorted keys, HTML-safe), encoded in chunks and capped: an indent is repeated on
    every line, so ``tojson(indent=100000)`` of a small list would be enormous."""
    text = _capped_join(json.JSONEncoder(indent=indent, sort_keys=True).iterencode(value), "过滤器 tojson ")
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return markupsafe.Markup(text)


_REFUSED_FILTERS = frozenset({"attr", "safe", "urlize", "xmlattr"})
"""``attr`` reaches any attribute; ``safe``, ``urlize`` and ``xmlattr`` put raw markup into the XML."""
TICK_FILTER = "_formkit_loop_tick"


# --- the sandbox ---------------------------------------------------------------------

SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"strip", "lstrip", "rstrip", "startswith", "endswith", "upper", "lower", "isdigit"}),
    date: frozenset({"strftime", "isoformat", "weekday", "isoweekday"}),
    dict: frozenset({"items", "keys", "values", "get"}),
    LoopContext: frozenset({"cycle", "changed"}),
}
"""The only methods a template may call: none of them runs code or grows a value much."""
SAFE_METHOD_NAMES = frozenset().union(*SAFE_METHODS.values())
SAFE_GLOBALS = ("range", "namespace", "dict")


def _safe_method(obj: Any, attribute: str) -> bool:
    return any(isinstance(obj, kind) and attribute in names for kind, names in SAFE_METHODS.items())


class _GuardCodeGenerator(CodeGenerator):
    """Routes ``~`` through the environment so a concatenation is measured before it is built."""

    # A literal that holds one value twice doubles its size per loop iteration while costing nothing
    # to build; comparing or hashing 2**45 shared nodes then runs in C, past every deadline.
    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.guard_value(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a loop or assignment target, not a value
            super().visit_Tuple(node, frame)
            return
        self.write("environment.guard_value(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.guard_value(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.guard_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


class _FormkitSandbox(SandboxedEnvironment):
    """A sandbox that calls nothing from the data and bounds every value a template builds."""

    code_generator_class = _GuardCodeGenerator
    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        ast = super()._parse(source, name, filename)
        for loop in ast.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, TICK_FILTER, [], [], None, None, lineno=loop.lineno)
        return ast

    def is_safe_callable(self, obj: Any) -> bool:
        if any(obj is self.globals.get(g) for g in SAFE_GLOBALS):
            return True
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        return owner is not None and not isinstance(owner, type) and _safe_method(owner, name)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            raise jinja2.exceptions.SecurityError(f"不允许调用 {type(__obj).__name__}")
        for value in (*args, *kwargs.values()):
            _check_text(value, "调用参数")
        result = __context.call(__obj, *args, **kwargs)
        _charge(text_size(result))  # 'x'.upper() makes a copy as large as its string
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            # Data is dicts: ``student.name`` reads a key, never a method of the dict.
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                if isinstance(obj, dict) and attribute in SAFE_METHODS[dict]:
                    return getattr(obj, attribute)
                return self.undefined(obj=obj, name=attribute)
        value = super().getattr(obj, attribute)
        if callable(value) and not isinstance(value, jinja2.Undefined) and not _safe_method(obj, attribute):
            return self.unsafe_undefined(obj, attribute)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        try:
            return obj[argument]
        except (TypeError, LookupError):
            if isinstance(argument, str):
                return self.getattr(obj, argument)
        return self.undefined(obj=obj, name=argument)

    def guard_value(self, value: Any) -> Any:
        if text_size(value) > MAX_VALUE_CHARS:
            raise _too_big("列表、元组或字典")
        return value

    def guard_concat(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        size = text_size(parts)
        if size > MAX_VALUE_CHARS:
            raise _too_big("“~”连接")
        _charge(size)
        return parts

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        sequences = (str, list, tuple)
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (isinstance(seq, sequences) and isinstance(n, int)
                        and (len(seq) * n > MAX_REPEAT or text_size(seq) * n > MAX_VALUE_CHARS)):
                    raise jinja2.exceptions.SecurityError("重复生成的内容过大")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise jinja2.exceptions.SecurityError("乘积过大")
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise jinja2.exceptions.SecurityError("乘方的指数过大")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * abs(right) > MAX_INT_BITS:
                raise jinja2.exceptions.SecurityError("乘方的结果过大")
        elif operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
            if len(left) + len(right) > MAX_VALUE_CHARS or text_size((left, right)) > MAX_VALUE_CHARS:
                raise _too_big("“+”连接")
        elif operator == "%" and isinstance(left, str):
            _growth_bound("format", (left, *(right if isinstance(right, tuple) else (right,))), {})
            if text_size((left, right)) > MAX_VALUE_CHARS:
                raise _too_big("“%”格式化")
        result = super().call_binop(context, operator, left, right)
        if not isinstance(result, int | float):
            _charge(text_size(result))
        return result


class _NoFiles(jinja2.BaseLoader):
    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, None]:
        raise jinja2.TemplateNotFound(template)


def make_environment() -> SandboxedEnvironment:
    """The sandboxed, autoescaping, strict Jinja environment all templates run in."""
    env = _FormkitSandbox(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        loader=_NoFiles(),
        keep_trailing_newline=True,
        # Constant folding would evaluate ``{{ 'a'|center(10**9) }}`` while compiling (and checking).
        optimized=False,
    )
    env.globals = {name: env.globals[name] for name in SAFE_GLOBALS}
    builtin = {name: _guarded_filter(name, f) for name, f in env.filters.items() if name not in _REFUSED_FILTERS}
    filters: dict[str, Callable[..., Any]] = {
        **builtin,
        "cn_date": cn_date,
        "cn_date_upper": cn_date_upper,
        "cn_number": cn_number,
        "mask_id": mask_id,
        "checked": checked,
        "blank": blank,
        "pprint": pprint_filter,
        "tojson": tojson_filter,
        TICK_FILTER: _loop_tick,
    }
    env.filters = filters
    return env


_ENV = make_environment()


# --- static checks (nothing is evaluated) ------------------------------------------------


@dataclass(frozen=True)
class UnsafeConstruct:
    """A construct a template may not use; ``code`` is stable, ``message`` Chinese."""

    code: str
    message: str
    lineno: int


_STATEMENTS: dict[type[nodes.Node], tuple[str, str]] = {
    nodes.Extends: ("unsafe-include", "继承其他模板（extends）"),
    nodes.Include: ("unsafe-include", "包含其他文件（include）"),
    nodes.Import: ("unsafe-include", "导入其他文件（import）"),
    nodes.FromImport: ("unsafe-include", "导入其他文件（from … import）"),
    nodes.Macro: ("unsafe-macro", "定义宏（macro）"),
    nodes.CallBlock: ("unsafe-macro", "调用宏（call）"),
    nodes.AssignBlock: ("unsafe-block", "块赋值（{% set x %}…{% endset %}）"),
    nodes.FilterBlock: ("unsafe-block", "过滤块（{% filter %}）"),
    nodes.Block: ("unsafe-block", "模板块（block）"),
    nodes.ScopedEvalContextModifier: ("unsafe-autoescape", "关闭自动转义（autoescape）"),
    nodes.EvalContextModifier: ("unsafe-autoescape", "关闭自动转义（autoescape）"),
}


def _call_allowed(call: nodes.Call) -> bool:
    target = call.node
    if isinstance(target, nodes.Name):
        return target.name in SAFE_GLOBALS
    if isinstance(target, nodes.Getattr):
        return target.attr in SAFE_METHOD_NAMES
    return False


def _depth(ast: nodes.Node) -> int:
    deepest = 0
    stack = [(ast, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_NESTING:
            break
        stack.extend((child, level + 1) for child in node.iter_child_nodes())
    return deepest


def _huge_constant(node: nodes.Node) -> bool:
    """A literal that makes a value grow beyond the limits, visible without evaluating anything."""

    def big(arg: nodes.Node, limit: int) -> bool:
        return isinstance(arg, nodes.Const) and isinstance(arg.value, int) and abs(arg.value) > limit

    def wide(arg: nodes.Node) -> bool:
        return isinstance(arg, nodes.Const) and isinstance(arg.value, str) and format_too_wide(arg.value)

    if isinstance(node, nodes.Filter):
        if node.name in _GROWING:
            return any(big(a, MAX_VALUE_CHARS) for a in [*node.args, *(k.value for k in node.kwargs)])
        return node.name == "format" and node.node is not None and wide(node.node)
    if isinstance(node, nodes.Mul):
        return big(node.left, MAX_REPEAT) or big(node.right, MAX_REPEAT)
    if isinstance(node, nodes.Pow):
        return big(node.right, 100)
    if isinstance(node, nodes.Mod):
        return wide(node.left)
    return False


def unsafe_constructs(ast: nodes.Template) -> list[UnsafeConstruct]:
    """Everything in a parsed template that the sandbox refuses, found without evaluating it."""
    found: list[UnsafeConstruct] = []

    def add(code: str, what: str, node: nodes.Node) -> None:
        found.append(UnsafeConstruct(code, f"使用了不允许的{what}", node.lineno))

    if _depth(ast) > MAX_NESTING:
        found.append(UnsafeConstruct("template-runaway", f"的标签或表达式嵌套超过 {MAX_NESTING} 层", 1))
        return found
    for node in ast.find_all(nodes.Node):
        kind = _STATEMENTS.get(type(node))
        if kind:
            add(kind[0], kind[1], node)
        elif isinstance(node, nodes.For) and node.recursive:
            add("unsafe-recursive", "递归循环（recursive）", node)
        elif isinstance(node, nodes.Filter | nodes.Test) and node.name in _REFUSED_FILTERS:
            add("unsafe-attr", f"过滤器 {node.name}（可访问对象的任意属性或写入原始 XML）", node)
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            add("unsafe-attr", f"内部属性“{node.attr}”", node)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            add("unsafe-attr", f"内部属性“{node.arg.value}”", node)
        elif _huge_constant(node):
            add("unsafe-size", "过大的常量参数（会生成几百万字符以上的内容）", node)
        elif isinstance(node, nodes.Call) and not _call_allowed(node):
            shown = node.node.attr if isinstance(node.node, nodes.Getattr) else getattr(node.node, "name", "表达式")
            add("unsafe-call", f"方法或函数调用“{shown}(…)”（模板只能读取数据，不能调用数据上的方法）", node)
    return found


def parse_template(source: str) -> nodes.Template:
    """Parse Jinja ``source`` with the engine's environment (no evaluation); nesting overflow → TemplateError."""
    try:
        return _ENV.parse(source)
    except RecursionError:
        raise TemplateError("模板的标签嵌套过深，已拒绝。", code="template-runaway") from None


# --- the package ---------------------------------------------------------------------------


def link_field(xml: str) -> str:
    """The first field in ``xml`` that fetches an outside file or URL (``INCLUDEPICTURE`` …), or ""."""
    if "instr" not in xml:
        return ""
    pieces = ["".join(groups) for groups in _FIELD_TEXT.findall(xml)]
    # A field split over several runs ("INCL" + "UDEPICTURE") is one instruction to Word.
    found = _LINK_FIELD.search(html.unescape("".join(pieces)).upper())
    return found.group(1) if found else ""


def read_package(data: bytes, name: str) -> list[tuple[zipfile.ZipInfo, bytes]]:
    """Every member of a .docx template, after the package checks; raise TemplateError if one fails.

    Sizes are checked from the directory before anything is inflated and again while
    inflating; DOCTYPEs, VBA/ActiveX and external links are refused.
    """
    if len(data) > TEMPLATE_LIMITS.max_file_bytes:
        raise TemplateError(
            f"模板 {name} 过大（{len(data) // 1048576} MB），不是正常的 Word 模板，已拒绝。", code="template-too-large"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise TemplateError(f"模板 {name} 不是有效的 Word（.docx）文件。", code="template-file") from None
    members: list[tuple[zipfile.ZipInfo, bytes]] = []
    try:
        with archive:
            infos = check_members(archive, TEMPLATE_LIMITS)
            if "word/document.xml" not in {i.filename for i in infos}:
                raise TemplateError(f"模板 {name} 缺少 word/document.xml，不是 Word 文档。", code="template-file")
            for info in infos:
                if has_macros(info.filename):
                    raise PackageProblem("template-macro", f"含有宏代码（{info.filename}）")
                raw = read_member(archive, info, TEMPLATE_LIMITS)
                lower = info.filename.lower()
                if lower.endswith((".xml", ".rels")):
                    if has_dtd(raw):
                        raise PackageProblem("template-hostile", f"{info.filename} 含有 DOCTYPE/ENTITY 声明（XML 炸弹或外部实体）")
                    if has_macros(info.filename, raw):
                        raise PackageProblem("template-macro", "是启用宏的文档（.docm 改名而来）")
                    if lower.endswith(".rels"):
                        targets = external_targets(raw)
                        if targets:
                            shown = "、".join(t[:80] for t in targets[:3])
                            raise PackageProblem("template-external", f"含有指向外部的链接（{shown}），打开或转 PDF 时会去访问它")
                    elif lower.startswith("word/") and link_field(raw.decode("utf-8", "replace")):
                        raise PackageProblem(
                            "template-external", f"{info.filename} 含有引用外部文件的域（INCLUDEPICTURE/INCLUDETEXT/LINK/DDE）"
                        )
                members.append((info, raw))
    except PackageProblem as exc:
        code = {"file-too-large": "template-too-large", "file-corrupt": "template-file",
                "file-encrypted": "template-file"}.get(exc.code, exc.code)
        advice = "请改用正常的 .docx 模板（删除外部链接、宏；在 Word 中“另存为 .docx”）。"
        raise TemplateError(f"模板 {name} {exc.detail}，已拒绝。{advice}", code=code) from None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError):
        raise TemplateError(f"模板 {name} 已损坏或被加密，无法读取。", code="template-file") from None
    return members


def templated_parts(members: Iterable[tuple[zipfile.ZipInfo, bytes]], name: str) -> dict[str, str]:
    """The XML of each package part that may hold Jinja tags (body, headers, footers, foot- and
    endnotes), by part name; the renderer and the template linter both read parts through this."""
    parts: dict[str, str] = {}
    for info, raw in members:
        if TEMPLATED_PART.match(info.filename):
            try:
                parts[info.filename] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TemplateError(f"模板 {name} 的 {info.filename} 不是 UTF-8 编码的 XML。",
                                    code="template-file") from None
    return parts


def has_tags(xml: str) -> bool:
    """True when a part holds anything Jinja would read (``{{``, ``{%`` or ``{#``)."""
    return "{{" in xml or "{%" in xml or "{#" in xml


def paragraph_texts(xml: str) -> list[str]:
    """The text of each paragraph of a WordprocessingML part as Word shows it (runs joined)."""
    return [html.unescape("".join(_TEXT.findall(p))) for p in _PARAGRAPH.findall(xml)]


# --- errors ----------------------------------------------------------------------------------


def _paragraph_text(xml_line: str) -> str:
    return re.sub(r"<[^>]+>", "", xml_line).strip()


def _where(source: str, lineno: int | None) -> str:
    if lineno:
        lines = source.splitlines()
        if 0 < lineno <= len(lines):
            return f"，出错段落：“{_paragraph_text(lines[lineno - 1])[:60]}”"
    return ""


def _template_error(exc: Exception, source: str, name: str, part: str) -> TemplateError:
    """A Chinese TemplateError naming the template, the paragraph, and the cause."""
    where = _where(source, getattr(exc, "lineno", None))
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(f"模板 {name} 试图做不允许的操作，已拒绝渲染（{exc}）{where}。", code="template-unsafe")
    if isinstance(exc, jinja2.UndefinedError):
        missing = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        var = next((g for g in (missing.groups() if missing else ()) if g), str(exc))
        if "unsafe" in str(exc):
            return TemplateError(
                f"模板 {name} 试图访问不允许的内部属性或方法，已拒绝渲染{where}。", code="template-unsafe"
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


def _runaway(name: str) -> TemplateError:
    return TemplateError(f"模板 {name} 的标签嵌套过深或无限递归，已停止。请简化模板。", code="template-runaway")


def jinja_source(xml: str) -> tuple[str, str]:
    """Split a templated XML part into its XML declaration and the Jinja source docxtpl would render.

    Tags split across Word runs are joined and each paragraph starts a line, so errors
    can name the paragraph.
    """
    head, sep, body = xml.partition("?>")
    if not sep:
        head, body = "", xml
    else:
        head += sep
    patched = DocxTemplate.patch_xml(cast(Any, None), body)
    return head, re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)


def _listing_marks(xml: str, start: int) -> list[int]:
    """Positions of listing characters at or after ``start`` (str.find runs at memchr speed;
    a character-class regex scans the 30 KB document far slower)."""
    marks = []
    for ch in "\n\t\a\f":
        at = xml.find(ch, start)
        while at >= 0:
            marks.append(at)
            at = xml.find(ch, at + 1)
    marks.sort()
    return marks


def _paragraph_start(xml: str, pos: int) -> tuple[int, int]:
    """(start, end) of the first ``<w:p(?: [^>]*)?>`` at or after ``pos``, or (-1, -1)."""
    while True:
        at = xml.find("<w:p", pos)
        if at < 0:
            return -1, -1
        after = xml[at + 4:at + 5]
        if after == ">":
            return at, at + 5
        if after == " ":
            close = xml.find(">", at + 5)
            if close < 0:
                return -1, -1
            return at, close + 1
        pos = at + 1


def _resolve_listing(xml: str, start: int = 0) -> str:
    """docxtpl's ``resolve_listing`` (newline, tab, paragraph and page breaks in text), applied
    only to the paragraphs that hold such a character.

    The paragraphs are delimited exactly as docxtpl's ``<w:p…>.*?</w:p>`` scan delimits them
    (each from a paragraph start to the next ``</w:p>``, then on from there), so the result is
    the same, without its per-run regular expressions over every paragraph of the document.
    """
    marks = _listing_marks(xml, start)
    out: list[str] = []
    last = pos = k = 0
    while k < len(marks):
        begin, opened = _paragraph_start(xml, pos)
        if begin < 0:
            break
        end = xml.find("</w:p>", opened)
        if end < 0:
            break
        end += len("</w:p>")
        while k < len(marks) and marks[k] < begin:
            k += 1
        if k < len(marks) and marks[k] < end:
            out += (xml[last:begin], DocxTemplate.resolve_listing(cast(Any, None), xml[begin:end]))
            last = end
        pos = end
    if not out:
        return xml
    out.append(xml[last:])
    return "".join(out)


_END_SIZE = struct.calcsize("<4s4H2LH")
_DOS_DATE = (2000 - 1980) << 9 | 1 << 5 | 1
_DOS_TIME = 0


class CompiledTemplate:
    """A .docx template checked, parsed and compiled once, renderable any number of times."""

    def __init__(self, data: bytes, name: str = "template.docx") -> None:
        self.name = name
        self._parts: dict[str, tuple[str, jinja2.Template]] = {}
        self._sources: dict[str, str] = {}
        base = io.BytesIO()
        with zipfile.ZipFile(base, "w", zipfile.ZIP_DEFLATED) as out:
            out.comment = b""
            members = read_package(data, name)
            parts = templated_parts(members, name)
            for info, raw in members:
                text = parts.get(info.filename)
                if text is not None and has_tags(text):
                    self._parts[info.filename] = self._compile(text, info.filename)
                    continue
                out.writestr(info, raw)
        # The unchanged members are compressed once, here: each render copies their local
        # entries and central-directory records as raw bytes and deflates only its own parts.
        built = base.getvalue()
        with zipfile.ZipFile(io.BytesIO(built)) as done:
            infos = done.infolist()
        end = struct.unpack("<4s4H2LH", built[-_END_SIZE:])
        directory_start, directory_size = end[6], end[5]
        self._entries = built[:directory_start]
        self._directory = built[directory_start:directory_start + directory_size]
        self._count = len(infos)

    def _compile(self, xml: str, part: str) -> tuple[str, jinja2.Template]:
        head, patched = jinja_source(xml)
        self._sources[part] = patched
        try:
            ast = _ENV.parse(patched)
            problems = unsafe_constructs(ast)
            if problems:
                first = problems[0]
                code = "template-runaway" if first.code == "template-runaway" else "template-unsafe"
                raise TemplateError(f"模板 {self.name} {first.message}，已拒绝渲染{_where(patched, first.lineno)}。",
                                    code=code)
            return head, _ENV.from_string(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(exc, patched, self.name, part) from None
        except (RecursionError, SyntaxError):
            raise _runaway(self.name) from None

    @property
    def sources(self) -> dict[str, str]:
        """The cleaned Jinja source of each templated part (for the template linter)."""
        return dict(self._sources)

    def render(self, context: Mapping[str, Any], *, timeout: float | None = None) -> bytes:
        """Render one record; returns the bytes of a complete .docx file.

        ``timeout`` (seconds, 0 = none) defaults to ``DEFAULT_RENDER_SECONDS`` (callers pass
        ``Settings.render_seconds``). The limit is
        checked cooperatively, so it holds in any thread and never touches signals.
        """
        seconds = DEFAULT_RENDER_SECONDS if timeout is None else timeout
        budget = _Budget(self.name, time.monotonic() + seconds if seconds > 0 else float("inf"), seconds)
        token = _BUDGET.set(budget)
        try:
            rendered = [(part, self._render_part(part, head, tpl, context, budget))
                        for part, (head, tpl) in self._parts.items()]
        finally:
            _BUDGET.reset(token)
        return self._assemble(rendered)

    def _assemble(self, rendered: list[tuple[str, bytes]]) -> bytes:
        """The package: the prebuilt entries, then each rendered part deflated, then the directory."""
        chunks = [self._entries]
        offset = len(self._entries)
        directory = [self._directory]
        for part, payload in rendered:
            packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            packed = packer.compress(payload) + packer.flush()
            # A fixed timestamp makes equal input give equal bytes, so re-runs can compare hashes.
            info = zipfile.ZipInfo(part, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.CRC, info.compress_size, info.file_size = zlib.crc32(payload), len(packed), len(payload)
            header = info.FileHeader(False)
            name = part.encode("utf-8")
            flags = 0 if part.isascii() else 0x800  # as FileHeader marks a UTF-8 name
            directory.append(struct.pack(
                "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, flags, zipfile.ZIP_DEFLATED,
                _DOS_TIME, _DOS_DATE, info.CRC, len(packed), len(payload), len(name), 0, 0, 0, 0, 0, offset) + name)
            chunks += (header, packed)
            offset += len(header) + len(packed)
        body = b"".join(directory)
        count = self._count + len(rendered)
        chunks += (body, struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(body), offset, 0))
        return b"".join(chunks)

    def _render_part(self, part: str, head: str, tpl: jinja2.Template, context: Mapping[str, Any],
                     budget: _Budget) -> bytes:
        chunks: list[str] = []
        try:
            for chunk in tpl.generate(context):
                budget.written += len(chunk)
                if budget.written > MAX_PART_CHARS:
                    raise TemplateError(
                        f"模板 {self.name} 渲染出的内容过大（超过 {MAX_PART_CHARS} 字符），可能是失控的循环，已停止。",
                        code="template-too-large",
                    )
                budget.tick()
                chunks.append(chunk)
        except TemplateError:
            raise
        except (RecursionError, MemoryError):
            raise _runaway(self.name) from None
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError, OverflowError, LookupError,
                ArithmeticError) as exc:
            raise _template_error(exc, self._sources.get(part, ""), self.name, part) from None
        xml = "".join(chunks)
        # Loops, conditions and tags inside element names can assemble a field the static check never saw.
        fetched = link_field(xml)
        if fetched:
            raise TemplateError(f"模板 {self.name} 渲染出了引用外部文件的域（{fetched}），已拒绝。请删除该域。",
                                code="template-external")
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
        # The newline after the XML declaration is outside every run, where resolve_listing
        # changes nothing: only listing characters in the body call for it.
        start = xml.find("<")
        if start >= 0:
            xml = _resolve_listing(xml, start)
        return (head + xml).encode("utf-8")


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
    from formkit.documents.merge import merge_docx as merge

    return merge(paths)
