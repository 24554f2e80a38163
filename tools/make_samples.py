"""Regenerate the bundled sample data in samples/ (invented people, valid check digits).

The students, schools and phone numbers are invented. ID numbers are built with a real
GB 11643-1999 check digit so that they validate, but belong to nobody.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from formkit.core.validators import id_check_char  # noqa: E402

SAMPLES = ROOT / "samples"


def make_id(area: str, born: date, seq: int, male: bool) -> str:
    # The 17th digit's parity carries the sex: odd for male.
    seq3 = seq * 10 + (1 if male else 2) if seq < 100 else seq
    first17 = f"{area}{born:%Y%m%d}{seq3:03d}"
    return first17 + id_check_char(first17)


SCHOOLS = {
    "A": {"county": "青山县", "township": "石门镇", "school": "石门镇中心小学", "area": "520121"},
    "B": {"county": "青山县", "township": "龙井乡", "school": "龙井乡中学", "area": "520122"},
}

# (school, name, male, ethnicity, birth, grade, class, guardian, relation, phone, address,
#  poverty, disability, category, dropout, reason, responsible, resp_phone, attempts, status,
#  return_date, placement, closed, note)
PEOPLE = [
    ("A", "王小明", True, "汉族", date(2013, 5, 12), "五年级", "2班", "王建国", "父亲", "13885120001",
     "石门镇红岩村三组", True, False, "辍学", date(2024, 3, 4), "学习困难", "李梅", "13985120011",
     [date(2024, 3, 12), date(2024, 3, 20)], "劝返中", None, None, None, ""),
    ("A", "杨丽", False, "苗族", date(2012, 11, 3), "六年级", "1班", "杨光荣", "父亲", "13765120002",
     "石门镇白岩村一组", False, False, "辍学", date(2024, 2, 26), "外出打工", "张华", "13985120012",
     [date(2024, 3, 5), date(2024, 3, 15)], "已复学", date(2024, 3, 25), "随班就读", None, ""),
    ("A", "陈浩", True, "汉族", date(2014, 1, 20), "四年级", "3班", "刘芳", "母亲", "15085120003",
     "石门镇街上社区", False, True, "辍学", date(2024, 3, 18), "因残", "李梅", "13985120011",
     [date(2024, 3, 25)], "劝返中", None, None, None, ""),
    ("A", "吴佳怡", False, "布依族", date(2012, 8, 8), "六年级", "2班", "吴德明", "祖父", "18285120004",
     "石门镇新寨村五组", True, False, "辍学", date(2024, 3, 1), "缺少关爱", "王强", "13985120013",
     [date(2024, 3, 8), date(2024, 3, 16)], "已消帐", date(2024, 3, 28), "随班就读", date(2024, 4, 10), ""),
    ("A", "罗天宇", True, "苗族", date(2017, 6, 30), "一年级", "1班", "罗永", "父亲", "13508512005",
     "石门镇红岩村七组", False, False, "适龄未入学", date(2023, 9, 1), "上学远", "张华", "13985120012",
     [], "未劝返", None, None, None, ""),
    ("A", "赵雨桐", False, "汉族", date(2013, 2, 14), "五年级", "1班", "赵平", "父亲", "13985120006",
     "石门镇白岩村四组", False, False, "开学未报名", date(2024, 2, 26), "随迁", "王强", "13985120013",
     [date(2024, 3, 2)], "转学/在外地就读", None, None, None, "随父母到浙江宁波就读，已核实就读学校"),
    ("B", "龙飞", True, "侗族", date(2010, 4, 5), "八年级", "3班", "龙大山", "父亲", "13688520007",
     "龙井乡坪上村二组", True, False, "辍学", date(2024, 3, 11), "外出打工", "潘学文", "13985220021",
     [date(2024, 3, 19), date(2024, 3, 27)], "劝返中", None, None, None, ""),
    ("B", "潘小燕", False, "苗族", date(2009, 12, 1), "九年级", "1班", "潘玉兰", "母亲", "15185220008",
     "龙井乡高寨村一组", False, False, "辍学", date(2024, 3, 25), "早婚早育", "杨老师", "13985220022",
     [date(2024, 4, 2), date(2024, 4, 10)], "劝返中", None, None, None, ""),
    ("B", "张子豪", True, "汉族", date(2011, 7, 19), "七年级", "2班", "张志强", "父亲", "18785220009",
     "龙井乡场坝社区", False, False, "小学毕业未升入初中", date(2023, 9, 1), "学习困难", "潘学文", "13985220021",
     [date(2023, 9, 10), date(2023, 9, 20)], "已复学", date(2023, 10, 8), "随班就读", None, ""),
    ("B", "石美玲", False, "水族", date(2010, 9, 23), "八年级", "1班", "石成", "父亲", "13595220010",
     "龙井乡坪上村六组", True, False, "辍学", date(2024, 4, 1), "因贫", "杨老师", "13985220022",
     [], "疑似辍学", None, None, None, ""),
    ("B", "韦俊杰", True, "布依族", date(2011, 3, 2), "七年级", "3班", "韦兰", "母亲", "15985220011",
     "龙井乡高寨村三组", False, False, "辍学", date(2024, 3, 6), "心理问题", "吴敏", "13985220023",
     [date(2024, 3, 14), date(2024, 3, 22)], "已复学", date(2024, 4, 15), "送教上门", None, ""),
    ("B", "李欣然", False, "汉族", date(2009, 10, 10), "九年级", "2班", "李华", "父亲", "13385220012",
     "龙井乡场坝社区", False, False, "辍学", date(2024, 3, 20), "家长原因", "吴敏", "13985220023",
     [date(2024, 3, 28), date(2024, 4, 6)], "劝返中", None, None, None, ""),
]


def record(i: int, p: tuple) -> dict:
    (sk, name, male, eth, born, grade, klass, gname, rel, phone, addr, poverty, disability, cat, dropped,
     reason, resp, resp_phone, attempts, status, ret, place, closed, note) = p
    school = SCHOOLS[sk]
    idn = make_id(school["area"], born, i, male)
    return {
        "seq": i,
        "student": {"name": name, "sex": "男" if male else "女", "ethnicity": eth, "birth_date": born.isoformat(),
                    "id_number": idn, "xjh": "G" + idn},
        "guardian": {"name": gname, "relation": rel, "phone": phone, "address": addr},
        "school": {k: school[k] for k in ("county", "township", "school")} | {"grade": grade, "class_name": klass},
        "case": {
            "category": cat, "dropout_date": dropped.isoformat(), "reason": reason, "poverty": poverty,
            "disability": disability, "responsible": resp, "responsible_phone": resp_phone,
            "attempts": [{"date": d.isoformat()} for d in attempts], "status": status,
            "return_date": ret.isoformat() if ret else None, "placement": place,
            "closed_date": closed.isoformat() if closed else None, "note": note or None,
            **_compel(attempts, status),
        },
    }


def _compel(attempts: list[date], status: str) -> dict:
    # Two failed persuasion visits oblige the township to issue the compel notice.
    if len(attempts) >= 2 and status == "劝返中":
        return {"compel_issued": True, "compel_date": date.fromordinal(attempts[1].toordinal() + 3).isoformat()}
    return {}


def write_plain_roster(records: list[dict]) -> None:
    """samples/roster.xlsx: a plain roster as a clerk types it (title row, common header wordings)."""
    from openpyxl import Workbook

    from formkit.ledger.workbook import set_text

    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["青山县2024年春季学期返校通知书发放名单"])
    headers = ["序号", "学校名称", "年级", "班级", "姓名", "性别", "身份证号码", "家长姓名", "关系", "家长电话", "家庭住址",
               "辍学时间"]
    ws.append(headers)
    for i, r in enumerate(records, 1):
        values = [i, r["school"]["school"], r["school"]["grade"], r["school"]["class_name"], r["student"]["name"],
                  r["student"]["sex"], r["student"]["id_number"], r["guardian"]["name"], r["guardian"]["relation"],
                  r["guardian"]["phone"], r["guardian"]["address"], date.fromisoformat(r["case"]["dropout_date"])]
        ws.append([None] * len(values))
        for c, value in enumerate(values, 1):
            cell = ws.cell(ws.max_row, c)
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
    for c, width in enumerate((6, 18, 8, 6, 10, 6, 22, 10, 8, 14, 22, 12), 1):
        ws.column_dimensions[chr(64 + c)].width = width
    wb.save(SAMPLES / "roster.xlsx")


def write_ledgers(records: list[dict]) -> None:
    """samples/roster.xlsx, ledger-clean.xlsx (no findings) and ledger-filled.xlsx (typical mistakes)."""
    from openpyxl import load_workbook

    from formkit.ledger.workbook import new_ledger, set_text

    school_a = [r for r in records if r["school"]["school"] == "石门镇中心小学"]
    school_b = [r for r in records if r["school"]["school"] == "龙井乡中学"]
    write_plain_roster(records)
    new_ledger(SAMPLES / "ledger-clean.xlsx", school_a, school="石门镇中心小学", county="青山县", township="石门镇",
               fill_date=date(2024, 4, 30))
    new_ledger(SAMPLES / "ledger-b.xlsx", school_b, school="龙井乡中学", county="青山县", township="龙井乡",
               fill_date=date(2024, 4, 30))
    filled = SAMPLES / "ledger-filled.xlsx"
    new_ledger(filled, [*school_b, school_b[0]], school="龙井乡中学", county="青山县", township="龙井乡",
               fill_date=date(2024, 4, 30))
    wb = load_workbook(filled)
    ws = wb["台账"]
    # Each line plants one typical mistake (see tests/test_checker.py for the expected findings).
    idn = ws["I6"].value
    set_text(ws["I6"], idn[:17] + ("1" if idn[17] != "1" else "2"))    # id-checksum (row 6)
    ws["I7"] = float(ws["I7"].value)                                     # id-precision-lost (row 7)
    ws["I7"].number_format = "General"
    ws["J7"] = None
    set_text(ws["F8"], "男")                                             # id-sex-mismatch (row 8)
    set_text(ws["P9"], "1288522001")                                     # phone-format (row 9)
    set_text(ws["T10"], "2024-02-30")                                    # date-format (row 10)
    set_text(ws["U7"], "家庭经济特别困难")                               # enum (row 7), suggests 因贫
    ws["N11"] = None                                                     # required (row 11: 监护人姓名)
    ws["AE9"] = None                                                     # status-incomplete (row 9: 已复学 without 复学时间)
    set_text(ws["AA8"], "2")                                             # attempt-count (row 8: 2 times, no dates)
    ws["Y6"] = date(2024, 3, 1)                                          # date-order (row 6: 劝返 before 辍学)
    ws["AC10"] = date(2030, 1, 1)                                        # date-future (row 10)
    set_text(ws["AB5"], "否")                                            # compel-notice-due (row 5: two attempts, no notice)
    ws["AC5"] = None
    # Valid but unusual writings that must NOT be reported:
    set_text(ws["T5"], "2024.3.11")
    set_text(ws["Q5"], "√")
    set_text(ws["P5"], "１３６８８５２０００７ ")
    set_text(ws["E5"], "龙飞　")
    wb.save(filled)


ISSUER_A = {"body": "石门镇人民政府", "doc_number": "石镇教复〔2024〕15号", "issue_date": "2024-04-08",
            "deadline": "2024-04-15", "contact": "周老师", "contact_phone": "0851-86221234"}


def main() -> int:
    SAMPLES.mkdir(exist_ok=True)
    records = [record(i, p) for i, p in enumerate(PEOPLE, 1)]
    (SAMPLES / "records.json").write_text(json.dumps(records, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    first = records[0]
    visit = {"date": "2024-03-06", "visitors": "李梅、张华", "met": "王建国（父亲）",
             "situation": "父母在家务农，家中有弟弟妹妹三人，经济较困难。",
             "reason": "孩子数学跟不上，觉得读书没用，不愿到校。",
             "result": "家长同意劝说孩子，孩子本人仍不愿返校。",
             "next_step": "一周后再次家访，安排数学老师结对辅导。"}
    per_form = {
        "dropout-report": first | {"teacher": "李梅", "teacher_phone": "13985120011", "report_date": "2024-03-11",
                                   "visits": [visit | {"date": "2024-03-05"}, visit]},
        "return-notice": first | {"issuer": ISSUER_A},
        "compel-notice": first | {"issuer": ISSUER_A | {"doc_number": "石镇教复〔2024〕16号", "issue_date": "2024-03-25",
                                                        "deadline": "2024-04-01"}},
        "deadline-notice": record(5, PEOPLE[4]) | {"issuer": {"body": "石门镇中心小学　石门镇人民政府",
                                                              "doc_number": "石镇教限〔2024〕3号", "issue_date": "2024-03-01",
                                                              "deadline": "2024-03-10", "report_to": "石门镇中心小学"}},
        "pledge-teacher": {"school_year": "2024—2025", "school": first["school"], "teacher": "李梅",
                           "principal": "陈校长", "enrolled": 46, "dropout_rate_max": 0.6, "retention_min": 99,
                           "sign_date": "2024-09-02"},
        "pledge-parent": first | {"school_year": "2024—2025", "teacher": "李梅", "sign_date": "2024-09-02"},
        "home-visit": first | {"visits": [visit]},
    }
    for form, data in per_form.items():
        (SAMPLES / f"{form}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_ledgers(records)
    print(f"wrote {len(per_form) + 1} JSON files and 4 workbooks to samples/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
