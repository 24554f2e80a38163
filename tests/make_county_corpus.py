"""Build tests/data/county/: workbooks laid out as real counties lay them out, not as formkit's template.

Run ``python tests/make_county_corpus.py`` to regenerate (needs LibreOffice for the .xls). The files
are committed; tests/test_county_layouts.py holds the hand-written expectation of each one.

* ``county-a.xlsx`` / ``county-a.xls``: one sheet, title rows, single-row header in other words and
  order (公民身份号码, 联系方式, 性别(男/女)), a total row and a signature row under the data; the .xls
  is the same workbook saved by LibreOffice as Excel 97-2003.
* ``county-b.xlsx``: a 填表说明 sheet first, one ledger sheet per school with a two-row header
  (line breaks in cells, 家长（监护人）姓名, 劝返情况 and 敦返情况 groups over their sub-headers),
  注： and 填表人 rows under the data, and an empty sheet.
* ``roster-xueji.xlsx``: a 学籍 system export: a 备注 title row, 身份证件类型/身份证件号, 性别 as 1/2,
  出生日期 as 20120315 (number and text), family members 成员1…/成员2…, many unused columns.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from formkit.core.validators import id_check_char  # noqa: E402

OUT = ROOT / "tests" / "data" / "county"


def make_id(area: str, birth: str, seq: int) -> str:
    """A valid 18-character ID: area, birth date, sequence (odd male, even female), check character."""
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


def bad_checksum(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("1" if last != "1" else "2")


def write_rows(ws: Worksheet, start: int, rows: list[list[Any]]) -> None:
    for r, row in enumerate(rows, start):
        for c, value in enumerate(row, 1):
            if value is not None:
                ws.cell(r, c, value)


# --- county-a: a .xls ledger ----------------------------------------------------------------
A_HEADER = ["序号", "学生姓名", "性别(男/女)", "出生年月", "公民身份号码", "学校名称", "年级", "监护人", "与学生关系",
            "联系方式", "对象类别", "辍学时间", "辍学原因", "劝返责任人", "第一次劝返时间", "第二次劝返时间", "劝返状态",
            "复学时间", "安置方式", "备注"]


def county_a() -> Workbook:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "辍学学生台账"
    ws["A1"] = "黔东县2024年春季学期控辍保学辍学学生台账"
    ws.merge_cells("A1:T1")
    ws["A2"] = "填报学校：石桥小学"
    ws["F2"] = "填报日期：2024年4月30日"
    write_rows(ws, 3, [A_HEADER])
    school = "石桥小学"
    rows = [
        # row 4: clean, 劝返中 after one attempt
        [1, "陈小龙", "男", "2012.03", make_id("520102", "20120315", 11), school, "六年级", "陈大山", "父亲",
         "13885120001", "辍学", date(2024, 3, 4), "厌学", "王老师", "2024-03-11", None, "劝返中", None, None, None],
        # row 5: ID check character wrong
        [2, "刘芳", "女", "2011年9月", bad_checksum(make_id("520102", "20110908", 22)), school, "六年级", "刘强",
         "父亲", "13885120002", "辍学", "2024.3.5", "外出务工", "王老师", None, None, "未劝返", None, None, None],
        # row 6: phone has 10 digits
        [3, "杨勇", "男", "2013-05", make_id("520102", "20130520", 31), school, "五年级", "杨秀英", "母亲",
         "1388512000", "辍学", "2024-03-06", "因贫", "李老师", None, None, "未劝返", None, None, None],
        # row 7: 辍学原因 not an allowed value
        [4, "张丽", "女", "2012-11", make_id("520102", "20121102", 42), school, "五年级", "张建", "父亲",
         "13885120004", "辍学", "2024-03-07", "不想读书", "李老师", "2024-03-12", "2024-03-20", "劝返中", None, None,
         None],
        # row 8: 已复学 without 复学时间
        [5, "赵磊", "男", "2012-01", make_id("520102", "20120101", 51), school, "六年级", "赵刚", "父亲",
         "13885120005", "辍学", "2024-03-01", "学习困难", "王老师", "2024-03-08", None, "已复学", None, "随班就读",
         None],
        # row 9: clean, returned
        [6, "孙悦", "女", "2011-06", make_id("520102", "20110615", 62), school, "六年级", "孙平", "父亲",
         "13885120006", "辍学", "2024-03-01", "因病", "王老师", "2024-03-08", None, "已复学", "2024-03-18",
         "随班就读", "已返校上课"],
        [None, "合计：6人", None, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
         None, None, None],
        [],
        ["填表人：王老师", None, None, None, None, "审核人：李校长", None, None, None, None, "联系电话：0851-86221234"],
    ]
    write_rows(ws, 4, rows)
    return wb


# --- county-b: notes sheet, one sheet per school, two-row headers ----------------------------
B_UPPER = ["序号", "学生\n姓名", "性别\n（男/女）", "身份证号码", "就读\n学校", "年级", "家长（监护人）\n姓名",
           "监护人\n联系电话", "对象\n类别", "辍学（失学）\n时间", "辍学原因", "劝返情况", None, None, "劝返\n责任人",
           "敦返情况", None, "劝返状态", "复学时间", "安置方式", "年龄（岁）", "备注"]
B_LOWER = [None] * 11 + ["第一次", "第二次", "劝返\n次数", None, "是否下达", "敦返通知书\n下达时间"] + [None] * 5
NOTES = ["填表说明", "1. 每名辍学学生填一行，身份证号请设为文本格式。", "2. 日期可写到月，如2024年3月。",
         "3. 两次劝返无效的，由乡镇人民政府下达敦返复学通知书。"]
TRAILER = [
    [],
    ["注：1. 对象类别填“辍学”“适龄未入学”“开学未报名”“小学毕业未升入初中”。"],
    [None, "2. 劝返状态按实际填写，已复学的填写复学时间和安置方式。"],
    ["填表人：吴老师　　　　审核人：罗校长　　　　填表日期：2024年4月30日"],
]


def b_sheet(wb: Workbook, name: str, rows: list[list[Any]], *, subtotal: bool = False) -> None:
    ws = wb.create_sheet(name)
    ws["A1"] = f"青溪镇辍学学生劝返台账（{name}）"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(B_UPPER))
    write_rows(ws, 2, [B_UPPER, B_LOWER])
    for c, value in enumerate(B_UPPER, 1):
        if B_LOWER[c - 1] is None and value is not None:
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
    ws.merge_cells("L2:N2")
    ws.merge_cells("P2:Q2")
    for row in ws.iter_rows(min_row=2, max_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    write_rows(ws, 4, rows)
    trailer = ([[None, "小计", None, None, None, None, None, None, None, None, None, None, None, len(rows)]]
               if subtotal else []) + TRAILER
    write_rows(ws, 4 + len(rows), trailer)


SHARED_ID = make_id("520103", "20100707", 71)


def county_b() -> Workbook:
    wb = Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "填表说明"
    for r, line in enumerate(NOTES, 1):
        notes.cell(r, 1, line)
    hy = "红岩小学"
    b_sheet(wb, hy, [
        # row 4: clean; compel notice issued after two attempts
        [1, "吴小军", "男", make_id("520103", "20120202", 11), hy, "六年级", "吴大明", "13985120001", "辍学",
         "2024年2月", "外出打工", "2024-03-01", "2024-03-10", 2, "潘主任", "是", "2024-03-15", "劝返中", None, None, 12,
         None],
        # row 5: guardian phone wrong (the column was missed entirely before)
        [2, "罗小花", "女", make_id("520103", "20110303", 22), hy, "六年级", "罗建国", "1398512000x", "辍学",
         "2024-03-04", "因贫", "2024-03-11", None, 1, "潘主任", "否", None, "劝返中", None, None, 13, None],
        # row 6: two failed attempts, 敦返 not issued
        [3, "龙海", "男", SHARED_ID, hy, "六年级", "龙光荣", "13985120003", "辍学", "2024-02-20", "学习困难",
         "2024-03-01", "2024-03-15", 2, "潘主任", "否", None, "劝返中", None, None, 13, None],
        # row 7: second attempt before the first
        [4, "石梅", "女", make_id("520103", "20120408", 42), hy, "五年级", "石大富", "13985120004", "辍学",
         "2024-03-01", "缺少关爱", "2024-03-20", "2024-03-12", 2, "潘主任", "是", "2024-03-25", "劝返中", None, None, 12,
         None],
        # row 8: guardian name missing
        [5, "田甜", "女", make_id("520103", "20120510", 52), hy, "五年级", None, "13985120005", "辍学", "2024-03-05",
         "上学远", None, None, 0, "潘主任", "否", None, "未劝返", None, None, 12, None],
    ])
    qs = "青山中学"
    b_sheet(wb, qs, [
        # row 4: clean, returned
        [1, "杨帆", "男", make_id("520103", "20090909", 91), qs, "初二", "杨林", "13985120011", "辍学", "2024-02-26",
         "外出务工", "2024-03-04", None, 1, "韦老师", "否", None, "已复学", "2024-03-11", "随班就读", 14, None],
        # row 5: the same child as 红岩小学 row 6
        [2, "龙海", "男", SHARED_ID, qs, "初一", "龙光荣", "13985120003", "辍学", "2024-02-20", "学习困难", None, None,
         0, "韦老师", "否", None, "未劝返", None, None, 13, None],
        # row 6: sex contradicts the ID (17th digit even = female)
        [3, "韦丽", "男", make_id("520103", "20090101", 12), qs, "初二", "韦强", "13985120013", "辍学", "2024-03-01",
         "早婚早育", None, None, 0, "韦老师", "否", None, "未劝返", None, None, 15, None],
        # row 7: 劝返状态 not an allowed value
        [4, "潘云", "女", make_id("520103", "20100202", 22), qs, "初一", "潘德", "13985120014", "辍学", "2024-03-02",
         "学习困难", "2024-03-09", None, 1, "韦老师", "否", None, "在家务农", None, None, 14, None],
        # row 8: dropout date after the check date
        [5, "蒙杰", "男", make_id("520103", "20100303", 33), qs, "初一", "蒙山", "13985120015", "辍学", "2024-06-01",
         "学习困难", None, None, 0, "韦老师", "否", None, "未劝返", None, None, 14, None],
    ], subtotal=True)
    wb.create_sheet("Sheet3")
    return wb


# --- roster-xueji: a 学籍 system export -----------------------------------------------------
X_HEADER = ["学校名称", "年级", "班级", "姓名", "性别", "出生日期", "出生地", "民族", "身份证件类型", "身份证件号",
            "全国学籍号", "户口性质", "现住址", "联系电话", "入学年月", "就读方式", "是否留守儿童", "是否独生子女",
            "成员1姓名", "成员1关系", "成员1联系电话", "成员1是否监护人", "成员2姓名", "成员2关系", "成员2联系电话",
            "成员2是否监护人"]


def roster_xueji() -> Workbook:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "学生基础信息"
    ws["A1"] = "备注：本表由学籍系统导出，导出时间：2024-04-20 10:31:05。请勿修改表头。"
    ws.merge_cells("A1:Z1")
    ws["A2"] = "学校：石桥小学"
    write_rows(ws, 3, [X_HEADER])
    s = "石桥小学"
    id1, id2 = make_id("520102", "20120315", 11), make_id("520102", "20110908", 22)
    id3, id4 = make_id("520102", "20130520", 31), make_id("520102", "20121102", 42)
    rows = [
        # row 4: guardian is 成员1 (nobody marked)
        [s, "六年级", "1班", "陈小龙", 1, 20120315, "贵州省贵阳市", "汉族", "居民身份证", id1, "G" + id1, "农业户口",
         "石桥村3组", "13885120001", 201809, "走读", "是", "否", "陈大山", "父亲", "13885120101", None, "李秀", "母亲",
         "13885120102", None],
        # row 5: 成员2 is marked 监护人 in 关系
        [s, "六年级", "1班", "刘芳", 2, "20110908", "贵州省贵阳市", "苗族", "居民身份证", id2, "G" + id2, "农业户口",
         "石桥村5组", "13885120002", 201709, "走读", "是", "否", "刘强", "父亲", "13885120201", None, "王兰",
         "祖母（监护人）", "13885120202", None],
        # row 6: 成员2 is marked in a 是否监护人 column
        [s, "五年级", "2班", "杨勇", 1, 20130520, "贵州省贵阳市", "汉族", "居民身份证", id3, "G" + id3, "农业户口",
         "石桥村1组", "13885120003", 201909, "走读", "否", "否", "杨建", "父亲", "13885120301", "否", "杨秀英", "母亲",
         "13885120302", "是"],
        # row 7: ID check character wrong (batch must refuse this row)
        [s, "五年级", "2班", "张丽", 2, 20121102, "贵州省贵阳市", "汉族", "居民身份证", bad_checksum(id4), "", "农业户口",
         "石桥村2组", "13885120004", 201909, "走读", "否", "是", "张建", "父亲", "13885120401", None, None, None, None,
         None],
        # row 8: a passport holder: the number is not checked as a 身份证号
        [s, "五年级", "2班", "林安", 1, 20120606, "香港", "汉族", "护照", "E12345678", "L520102201206061234", "非农业户口",
         "石桥村4组", "13885120005", 201909, "走读", "否", "是", "林森", "父亲", "13885120501", None, None, None, None,
         None],
    ]
    write_rows(ws, 4, rows)
    return wb


def soffice_convert(source: Path, target_dir: Path, fmt: str) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                        "--outdir", str(target_dir), str(source)], check=True, capture_output=True, timeout=180)
    return target_dir / (source.stem + "." + fmt)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    county_a().save(OUT / "county-a.xlsx")
    county_b().save(OUT / "county-b.xlsx")
    roster_xueji().save(OUT / "roster-xueji.xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        converted = soffice_convert(OUT / "county-a.xlsx", Path(tmp), "xls")
        shutil.copyfile(converted, OUT / "county-a.xls")
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    main()
