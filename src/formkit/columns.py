"""The ledger/roster columns: header wording, synonyms, value kind and record path.

This table is the single source for the ledger template (headers, dropdowns, text
formats), the ledger reader (matching headers written in many ways) and the roster
reader (turning a flat row into a nested record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .enums import normalize_text


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
    Column("id_number", "身份证号", "student.id_number", "id", synonyms=("身份证号码", "公民身份号码", "身份证"),
           width=21, help="18位，必须设为文本格式"),
    Column("xjh", "学籍号", "student.xjh", "xjh", synonyms=("全国学籍号", "学籍号码"), width=22),
    Column("grade", "年级", "school.grade", "enum:grade", required=True, width=8),
    Column("class_name", "班级", "school.class_name", width=8),
    Column("address", "家庭住址", "guardian.address", synonyms=("住址", "家庭地址"), width=24),
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
    """Normalise a header cell for matching: NFKC, no spaces, ASCII brackets, no line breaks."""
    value = normalize_text(text).replace("（", "(").replace("）", ")")
    return "".join(value.split()).rstrip("*:：")


def header_lookup() -> dict[str, Column]:
    """Map every accepted header wording (normalised) to its column."""
    table: dict[str, Column] = {}
    for column in LEDGER_COLUMNS:
        for wording in (column.header, *column.synonyms):
            table[header_key(wording)] = column
            # 辍学(失学)时间 is also written without the bracketed part: 辍学时间.
            table.setdefault(re.sub(r"\(.*?\)", "", header_key(wording)), column)
    return table
