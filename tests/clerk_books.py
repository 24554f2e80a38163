"""Workbooks a township clerk receives from another county, built in the test that uses them.

Laid out unlike tests/data/county and samples/: a title and a ``填报单位：…（盖章）`` line above a
two-row header at row 4, merged groups (监护人 → 姓名/联系电话, 劝返情况 → 第一次/第二次, 敦返情况 →
是否下达/下达时间), line breaks and brackets in header cells, no 安置方式 column, extra 去向 and
备注2 columns, 出生年月 as ``2012.03`` and 辍学时间 as ``2024年3月``, a 合计 row and a 填表人/审核人
row under the data, two ledger sheets (one per school) and a hidden outdated copy.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment

from tests.helpers import make_id

UPPER = ["序号", "姓  名", "性别", "身份证号码\n（18位）", "出生年月\n(年.月)", "就读学校", "年级", "对象类别",
         "辍学时间\n（年月）", "辍学原因", "去向", "监护人", None, "劝返\n责任人", "劝返情况", None, "敦返情况", None,
         "劝返状态", "复学时间", "备注", "备注2"]
LOWER = [None] * 11 + ["姓名", "联系电话", None, "第一次", "第二次", "是否下达", "下达时间"] + [None] * 4
PRIMARY, JUNIOR = "平寨小学", "平寨中学"


def _row(seq: int, name: str, sex: str, born: str, n: str, school: str, grade: str, category: str, out: str,
         status: str, *, attempts: tuple[str | None, str | None] = (None, None), issued: str | None = None,
         issued_on: str | None = None, back: str | None = None, birth: Any = None,
         ident: str | None = None, phone: str | None = None) -> list[Any]:
    number = ident or make_id("522630", born, n)
    return [seq, name, sex, number, birth if birth is not None else f"{born[:4]}.{born[4:6]}", school, grade, category,
            out, "学习困难", "在家", f"{name[0]}家长", phone or f"139085500{seq:02d}", "吴老师", *attempts, issued,
            issued_on, status, back, None, None]


# Row numbers below are Excel rows (data starts at row 6, under the two-row header at rows 4-5).
PRIMARY_ROWS = [
    _row(1, "杨小春", "男", "20120315", "011", PRIMARY, "六年级", "辍学", "2024年3月", "疑似辍学"),  # 6 → report slip
    _row(2, "吴秀兰", "女", "20111008", "022", PRIMARY, "六年级", "辍学", "2024年3月", "未劝返",
         birth=2011.1),  # 7 → return notice; 2011.10 typed into a General cell arrives as 2011.1
    _row(3, "潘勇", "男", "20120520", "031", PRIMARY, "六年级", "辍学", "2024.3", "劝返中",
         attempts=("2024-03-20", None), issued="否"),  # 8 → nothing: the second visit is due
    _row(4, "龙梅", "女", "20121102", "042", PRIMARY, "五年级", "辍学", "2024年2月", "劝返中",
         attempts=("2024-03-05", "2024-03-19"), issued="否"),  # 9 → compel notice
    _row(5, "石军", "男", "20120101", "051", PRIMARY, "五年级", "辍学", "2024年2月", "劝返中",
         attempts=("2024-03-05", "2024-03-19"), issued="否", issued_on="2024-03-25"),  # 10 → refused: 否 + date
    _row(6, "王芳", "女", "20110615", "062", PRIMARY, "六年级", "辍学", "2024年2月", "劝返中",
         attempts=("2024-03-04", "2024-03-18"), issued="是", issued_on="2024-03-25"),  # 11 → escalation
    _row(7, "韦小宝", "男", "20170605", "071", PRIMARY, "一年级", "适龄未入学", "2023年9月", "未劝返"),  # 12 → 入学
    _row(8, "蒙丽", "女", "20130909", "082", PRIMARY, "五年级", "开学未报名", "2024年2月", "未劝返"),  # 13 → 报名
    _row(9, "田野", "男", "20110303", "091", PRIMARY, "六年级", "小学毕业未升入初中", "2023年9月", "未劝返"),  # 14 → junior
    _row(10, "李娜", "女", "20120707", "002", PRIMARY, "六年级", "辍学", "2024年3月", "已复学",
         attempts=("2024-03-15", None), issued="否", back="2024-03-25"),  # 15 → nothing (no 安置方式 column)
]
JUNIOR_ROWS = [
    _row(1, "杨帆", "男", "20090909", "091", JUNIOR, "八年级", "辍学", "2024年3月", "劝返中",
         attempts=("2024-03-20", None), issued="否"),  # 6 → nothing
    _row(2, "吴刚", "男", "20100101", "011", JUNIOR, "七年级", "辍学", "2024年3月", "未劝返",
         phone="1390855002"),  # 7 → return notice, but the phone has 10 digits: generation refuses it
]


def _sheet(wb: Workbook, school: str, rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(school)
    ws["A1"] = f"平寨镇2024年春季学期控辍保学辍学学生台账（{school}）"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(UPPER))
    ws["A2"] = f"填报单位：{school}（盖章）"
    ws["M2"] = "填报时间：2024年4月"
    for c, (upper, lower) in enumerate(zip(UPPER, LOWER, strict=True), 1):
        if upper is not None:
            ws.cell(4, c, upper)
        if lower is not None:
            ws.cell(5, c, lower)
        elif upper is not None:
            ws.merge_cells(start_row=4, start_column=c, end_row=5, end_column=c)
    for span in ("L4:M4", "O4:P4", "Q4:R4"):
        ws.merge_cells(span)
    for row in ws.iter_rows(min_row=4, max_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True)
    for r, values in enumerate(rows, 6):
        for c, value in enumerate(values, 1):
            if value is not None:
                ws.cell(r, c, value)
    end = 6 + len(rows)
    ws.cell(end, 1, "合计")
    ws.cell(end, 2, f"{len(rows)}人")
    ws.cell(end + 2, 1, "填表人：杨老师")
    ws.cell(end + 2, 8, "审核人：罗校长")


def township_book(*, junior: bool = True) -> Workbook:
    """The township's ledger: one sheet per school (``junior=False``: the primary school only)."""
    wb = Workbook()
    default = wb.active
    assert default is not None
    wb.remove(default)
    _sheet(wb, PRIMARY, PRIMARY_ROWS)
    if junior:
        _sheet(wb, JUNIOR, JUNIOR_ROWS)
    old = wb.create_sheet("旧表")
    old.append(["旧台账（已作废）"])
    old.append(["序号", "学生姓名", "身份证号", "学校", "年级", "监护人", "联系电话", "对象类别", "辍学时间", "辍学原因",
                "劝返责任人", "劝返状态"])
    old.append([1, "杨小春", make_id("522630", "20120315", "011"), PRIMARY, "六年级", "杨家长", "13908550001", "辍学",
                "2023-10", "厌学", "吴老师", "未劝返"])
    old.sheet_state = "hidden"
    return wb
