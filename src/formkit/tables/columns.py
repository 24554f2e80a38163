"""The ledger/roster columns: header wording, synonyms, value kind and record path.

This table is the single source for the ledger template (headers, dropdowns, text
formats), the ledger reader (matching headers written in many ways) and the roster
reader (turning a flat row into a nested record).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from formkit.core.enums import normalize_text


@dataclass(frozen=True)
class Column:
    """One column: its canonical header, accepted synonyms, kind and where it goes."""

    key: str
    header: str
    path: str
    kind: str = "text"
    """text, name, id, xjh, phone, date, month (date or 年月), count, bool, seq, enum:<name>.

    ``path`` is where the value goes in a nested record; empty for derived columns."""
    synonyms: tuple[str, ...] = ()
    required: bool = False
    width: float = 12
    group: str = ""
    """A two-row header's upper (merged) cell, e.g. 劝返情况."""
    help: str = ""

    @property
    def enum_name(self) -> str | None:
        return self.kind.split(":", 1)[1] if self.kind.startswith("enum:") else None


LEDGER_COLUMNS: tuple[Column, ...] = (
    Column("seq", "序号", "seq", "seq", width=6, help="从1开始连续编号"),
    Column("county", "县(市、区)", "school.county", synonyms=("县", "县区", "县(区)", "县市区"), width=12),
    Column("township", "乡镇(街道)", "school.township", synonyms=("乡镇", "乡(镇)", "乡镇街道"), width=12),
    Column("school", "学校", "school.school", synonyms=("学校名称", "就读学校", "原就读学校"), required=True, width=20),
    Column("name", "学生姓名", "student.name", "name", synonyms=("姓名",), required=True, width=10),
    Column("sex", "性别", "student.sex", "enum:sex", required=True, width=6),
    Column("ethnicity", "民族", "student.ethnicity", "enum:ethnicity", width=8),
    Column("birth_date", "出生日期", "student.birth_date", "month", synonyms=("出生年月",), required=True, width=12,
           help="可写到月，如2012年3月"),
    Column("id_number", "身份证号", "student.id_number", "id", synonyms=("身份证号码", "公民身份号码", "身份证", "身份证件号"),
           width=21, help="18位，必须设为文本格式"),
    Column("xjh", "学籍号", "student.xjh", "xjh", synonyms=("全国学籍号", "学籍号码"), width=22),
    Column("grade", "年级", "school.grade", "enum:grade", required=True, width=8),
    Column("class_name", "班级", "school.class_name", width=8),
    Column("address", "家庭住址", "guardian.address", synonyms=("住址", "家庭地址", "现住址"), width=24),
    Column("guardian", "监护人姓名", "guardian.name", "name", synonyms=("监护人", "家长姓名"), required=True, width=10),
    Column("relation", "与学生关系", "guardian.relation", "enum:relation", synonyms=("关系", "监护人关系"), width=10),
    Column("phone", "联系电话", "guardian.phone", "phone", synonyms=("监护人电话", "家长电话", "联系方式"),
           required=True, width=14),
    Column("poverty", "是否建档立卡贫困户", "case.poverty", "bool", synonyms=("建档立卡", "是否建档立卡", "建档立卡户"),
           width=10),
    Column("disability", "是否残疾", "case.disability", "bool", synonyms=("残疾",), width=8),
    Column("category", "对象类别", "case.category", "enum:category", synonyms=("类别",), required=True, width=14),
    Column("dropout_date", "辍学(失学)时间", "case.dropout_date", "month",
           synonyms=("辍学时间", "失学时间", "辍学年月", "辍学(失学)年月"), required=True, width=12),
    Column("reason", "辍学原因", "case.reason", "enum:reason", synonyms=("原因",), required=True, width=12),
    Column("destination", "去向", "case.destination", "enum:destination", synonyms=("目前去向",), width=12),
    Column("responsible", "劝返责任人", "case.responsible", "name", synonyms=("责任人",), required=True, width=10),
    Column("responsible_phone", "责任人电话", "case.responsible_phone", "phone",
           synonyms=("劝返责任人电话", "责任人联系电话"), width=14),
    Column("attempt1", "第一次劝返时间", "case.attempts.0.date", "date", synonyms=("第一次",), width=12, group="劝返情况"),
    Column("attempt2", "第二次劝返时间", "case.attempts.1.date", "date", synonyms=("第二次",), width=12, group="劝返情况"),
    Column("attempt_count", "劝返次数", "", "count", width=8, group="劝返情况"),
    Column("compel_issued", "是否下达敦返通知书", "case.compel_issued", "bool",
           synonyms=("下达敦返通知书", "是否下达通知书"), width=10, group="敦返通知书"),
    Column("compel_date", "通知书下达时间", "case.compel_date", "date", synonyms=("下达时间",), width=12, group="敦返通知书"),
    Column("status", "劝返状态", "case.status", "enum:status", synonyms=("状态", "目前状态"), required=True, width=10),
    Column("return_date", "复学时间", "case.return_date", "date", synonyms=("返校时间", "复学日期"), width=12),
    Column("placement", "安置方式", "case.placement", "enum:placement", width=12),
    Column("closed_date", "消帐时间", "case.closed_date", "date", synonyms=("销号时间", "销帐时间", "消账时间"), width=12),
    Column("note", "备注", "case.note", width=20),
)

COLUMNS_BY_KEY = {c.key: c for c in LEDGER_COLUMNS}


def header_key(text: object) -> str:
    """Normalise a header cell for matching (kept for callers of the old name); see :func:`normalise_header`."""
    return normalise_header(text)


def header_lookup() -> dict[str, Column]:
    """Map every listed header wording (normalised) to its column."""
    return {text: COLUMNS_BY_KEY[key] for text, key in _EXACT.items()}


# --- Header matching -------------------------------------------------------------------
# Real county workbooks word their headers in endless ways (家长(监护人)姓名, 监护人\n联系电话,
# a 敦返情况 group over 下达时间). A synonym list cannot keep up, so a header is read as a set
# of concepts and each field says which concepts it needs; docs/header-matching.md has the
# rules with examples.

CONCEPTS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号"),
    "county": ("县",),
    "township": ("乡镇", "街道", "乡"),
    "school": ("学校", "校名"),
    "name": ("姓名", "名字"),
    "student": ("学生", "儿童", "少年", "子女"),
    "guardian": ("监护人", "家长", "父母", "法定代理人"),
    "member": ("成员",),
    "phone": ("电话", "手机", "联系方式", "联系号码"),
    "responsible": ("责任人", "包保人", "劝返人"),
    "id": ("身份证", "身份号码", "证件号", "公民身份"),
    "type": ("类型", "种类"),
    "xjh": ("学籍号", "学籍编号"),
    "sex": ("性别",),
    "ethnicity": ("民族",),
    "birth": ("出生", "生日"),
    "place": ("出生地", "籍贯", "户籍", "户口"),
    "grade": ("年级",),
    "class": ("班级", "班别"),
    "address": ("住址", "地址", "居住地"),
    "relation": ("关系", "称谓"),
    "poverty": ("建档立卡", "贫困"),
    "disability": ("残疾",),
    "category": ("类别", "对象类型"),
    "dropout": ("辍学", "失学"),
    "reason": ("原因",),
    "destination": ("去向",),
    "attempt": ("劝返", "劝学"),
    "first": ("第一次", "第1次", "首次"),
    "second": ("第二次", "第2次"),
    "count": ("次数",),
    "compel": ("敦返", "督返", "责令"),
    "notice": ("通知书", "通知"),
    "issued": ("下达", "送达"),
    "whether": ("是否",),
    "time": ("时间", "日期", "年月"),
    "status": ("状态",),
    "return": ("复学", "返校", "返学"),
    "placement": ("安置",),
    "closed": ("消帐", "销号", "销帐", "消账", "销账", "消号"),
    "note": ("备注",),
    # Words that make a header free text or about someone else: they count against every field.
    "explain": ("说明", "描述"),
    "contact": ("联系人",),
}
"""Concept → words that express it (matched as substrings of the normalised header)."""


@dataclass(frozen=True)
class FieldRule:
    """Which concepts make a header this field.

    A header matches when it holds every concept of one ``needs`` set (at least one of
    them written in the header cell itself, not only in its group cell) and none of
    ``never``; each concept of the cell not in ``needs``/``may`` costs a point.
    """

    needs: tuple[frozenset[str], ...]
    may: frozenset[str] = frozenset()
    never: frozenset[str] = frozenset()


def _rule(*needs: str, may: str = "", never: str = "") -> FieldRule:
    return FieldRule(tuple(frozenset(n.split()) for n in needs), frozenset(may.split()), frozenset(never.split()))


FIELD_RULES: dict[str, FieldRule] = {
    "seq": _rule("seq", never="xjh id"),
    "county": _rule("county", may="township"),
    "township": _rule("township", may="county"),
    "school": _rule("school", may="name"),
    "name": _rule("name", may="student"),
    "sex": _rule("sex", may="student"),
    "ethnicity": _rule("ethnicity", may="student"),
    "birth_date": _rule("birth", may="time student"),
    "id_number": _rule("id", may="student"),
    "xjh": _rule("xjh", may="student"),
    "grade": _rule("grade", may="school"),
    "class_name": _rule("class", may="school"),
    "address": _rule("address", may="guardian student"),
    "guardian": _rule("guardian name", "guardian", may="student"),
    "relation": _rule("relation", may="guardian student"),
    "phone": _rule("phone", may="guardian student contact"),
    "poverty": _rule("poverty", may="whether"),
    "disability": _rule("disability", may="whether student"),
    "category": _rule("category", may="student dropout"),
    "dropout_date": _rule("dropout time", may="student", never="reason"),
    "reason": _rule("reason", may="dropout"),
    "destination": _rule("destination", may="dropout student"),
    "responsible": _rule("responsible", "attempt name", may="attempt name"),
    "responsible_phone": _rule("responsible phone", may="attempt"),
    "attempt1": _rule("first", may="attempt time"),
    "attempt2": _rule("second", may="attempt time"),
    "attempt_count": _rule("count", may="attempt"),
    "compel_issued": _rule("whether issued", "whether compel", "whether notice", may="compel notice issued"),
    "compel_date": _rule("compel time", "issued time", "notice time", may="compel notice issued",
                         never="whether return"),
    "status": _rule("status", may="attempt student"),
    "return_date": _rule("return time", may="attempt"),
    "placement": _rule("placement", may="return"),
    "closed_date": _rule("closed", may="time"),
    "note": _rule("note"),
}

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")",
                           "［": "(", "］": ")", "{": "(", "}": ")", "<": "(", ">": ")", "《": "", "》": ""})
# A bracketed part that only says how to fill the cell: 男/女, 岁, 是/否, 1男2女, 填写…, 如…
_HINT = re.compile(r"^(?:.*/.*|\d.*|岁|元|人|次|个|天|必填|选填|可选|填.*|如.*|例.*|格式.*|[a-zA-Z]+.*)$")
_EXACT_BONUS = 10
PIN_SCORE = 100
GROUP_MAX_CHARS = 12


def normalise_header(text: object) -> str:
    """A header cell as matching sees it: NFKC, no spaces or line breaks, brackets unified, unit hints gone.

    ``家长（监护人）\\n姓名`` → ``家长(监护人)姓名``; ``性别(男/女)`` → ``性别``; ``年龄（岁）`` → ``年龄``.
    """
    value = normalize_text(text).translate(_BRACKETS)
    value = "".join(value.split()).strip("*＊:：")

    def hint(match: re.Match[str]) -> str:
        inner = match.group(1)
        keep = any(word in inner for words in CONCEPTS.values() for word in words)
        return match.group(0) if keep or not _HINT.match(inner) else ""

    return re.sub(r"\(([^()]*)\)", hint, value)


def _concepts(text: str) -> frozenset[str]:
    flat = text.replace("(", "").replace(")", "")
    return frozenset(name for name, words in CONCEPTS.items() if any(w in flat for w in words))


def _exact_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for column in LEDGER_COLUMNS:
        for wording in (column.header, *column.synonyms):
            key = normalise_header(wording)
            table.setdefault(key, column.key)
            # 辍学(失学)时间 is also written without the bracketed part: 辍学时间.
            table.setdefault(re.sub(r"\(.*?\)", "", key), column.key)
    return table


_EXACT = _exact_table()


@dataclass(frozen=True)
class HeaderMatch:
    """How one header cell was read."""

    key: str
    score: int
    pinned: bool = False


def score_header(text: str, group: str = "") -> list[tuple[int, str]]:
    """Every field the header could be, best first, as (score, field key); ``text`` already normalised."""
    if not text:
        return []
    exact = _EXACT.get(text) if not group else None
    if exact is None and group:
        exact = _EXACT.get(group + text)
    own = _concepts(text)
    every = own | _concepts(group)
    out: list[tuple[int, str]] = []
    for key, rule in FIELD_RULES.items():
        if rule.never & every:
            continue
        allowed = rule.may.union(*rule.needs)
        best = -1
        for need in rule.needs:
            if need <= every and need & own:
                best = max(best, len(need) - len(own - allowed))
        if key == exact:
            best = max(best, _EXACT_BONUS)
        if best >= 1:
            out.append((best, key))
    out.sort(key=lambda pair: -pair[0])
    return out


class HeaderMatcher:
    """Reads header cells, honouring a county's pinned wordings (``Settings.columns``: ``[columns]``, ``--column``)."""

    def __init__(self, pins: Mapping[str, str] | None = None) -> None:
        pins = pins or {}
        checked: dict[str, str] = {}
        for text, key in pins.items():
            add_pin(checked, text, key, source="columns")
        self.pins = {normalise_header(text): key for text, key in checked.items()}
        self.used: set[str] = set()
        """The pins (normalised header text) that matched a cell: a pin never used names no header."""
        self._cache: dict[tuple[str, str], HeaderMatch | None] = {}

    def match(self, cell: object, group: object = "") -> HeaderMatch | None:
        text = normalise_header(cell) if cell is not None else ""
        grp = normalise_header(group) if group else ""
        memo = (text, grp)
        if memo in self._cache:
            return self._cache[memo]
        found: HeaderMatch | None = None
        pinned = grp + text if grp + text in self.pins else text
        pin = self.pins.get(pinned)
        if pin is not None:
            self.used.add(pinned)
            found = HeaderMatch(pin, PIN_SCORE, True)
        else:
            scored = score_header(text, grp)
            # Two fields equally likely: the header says nothing reliable, so it stays unknown.
            if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
                found = HeaderMatch(scored[0][1], scored[0][0])
        self._cache[memo] = found
        return found


def parse_pins(pairs: Iterable[str], *, source: str = "列名说明") -> dict[str, str]:
    """``表头=field`` pairs (or a ``[columns]`` table's items) → {header: field key}; ``UsageError`` if wrong."""
    out: dict[str, str] = {}
    for pair in pairs:
        text, sep, key = pair.partition("=")
        add_pin(out, text, key.strip() if sep else "", source=source, raw=pair)
    return out


def add_pin(pins: dict[str, str], header: str, key: str, *, source: str, raw: str = "") -> None:
    from formkit.core.errors import UsageError

    header = header.strip()
    if not header or not key:
        raise UsageError(f"{source}应写成 表头=字段，例如 家长联系方式=phone；收到的是“{raw or header}”。", code="column-pin")
    if key not in COLUMNS_BY_KEY:
        known = "、".join(f"{c.key}({c.header})" for c in LEDGER_COLUMNS)
        raise UsageError(f"{source}：没有名为“{key}”的字段（表头“{header}”）。可用的字段：{known}。", code="column-pin")
    pins[header] = key


def pins_from_config(config: Path | None) -> dict[str, str]:
    """The ``[columns]`` table of a ``formkit.toml`` ("表头" = "field")."""
    if config is None:
        return {}
    import tomllib

    from formkit.core.errors import InputFileError
    from formkit.core.fileio import read_input

    try:
        raw = tomllib.loads(read_input(config, "配置文件").decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"配置文件 {config} 格式不对：{exc}。", path=str(config), code="config-invalid") from None
    table = raw.get("columns", {})
    if not isinstance(table, dict):
        raise InputFileError(f"配置文件 {config} 中 columns 应是一个表：[columns] 下每行写 \"表头\" = \"字段\"。",
                             path=str(config), code="config-invalid")
    out: dict[str, str] = {}
    for header, key in table.items():
        add_pin(out, str(header), str(key).strip(), source=f"配置文件 {config} 的 [columns]")
    return out


def column_pins(config: Path | None = None, pairs: Iterable[str] = ()) -> dict[str, str]:
    """The header pins in force: a config's ``[columns]`` table, overridden by ``表头=字段`` ``pairs``."""
    return {**pins_from_config(config), **parse_pins(pairs)}
