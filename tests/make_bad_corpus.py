"""Regenerate tests/data/bad/: hostile and broken inputs formkit must survive.

Run ``python tests/make_bad_corpus.py`` (needs msoffcrypto-tool for the encrypted file;
the generated files are committed, so the tests do not need it). Every file is small;
the ones that would be huge when parsed are small on disk by construction.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"
HEADERS = ["序号", "学校", "学生姓名", "性别", "出生日期", "身份证号", "年级", "监护人姓名", "联系电话", "对象类别",
           "辍学(失学)时间", "辍学原因", "劝返责任人", "劝返状态"]
ROW = [1, "石门镇中心小学", "王小明", "男", "2013-05-12", "520121201305120119", "五年级", "王建国", "13885120001", "辍学",
       "2024-03-04", "学习困难", "李梅", "劝返中"]


def ledger(rows: list[list[object]] | None = None) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["辍学生台账"])
    ws.append(HEADERS)
    for row in rows if rows is not None else [ROW]:
        ws.append(row)
    return wb


def save(wb: Workbook, name: str) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    (BAD / name).write_bytes(data)
    return data


def rewrite_sheet(data: bytes, name: str, edit: object, rename: dict[str, str] | None = None) -> None:
    """Copy the package with the first sheet's XML edited; ``rename`` moves members (old name → new name)
    and rewrites every reference to them in the other parts."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    moves = rename or {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            payload = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                payload = edit(payload.decode()).encode()  # type: ignore[operator]
            elif moves:
                text = payload.decode()
                for old, new in moves.items():
                    text = text.replace("/" + old, "/" + new).replace(old.removeprefix("xl/"), new.removeprefix("xl/"))
                payload = text.encode()
            z.writestr(moves.get(info.filename, info.filename), payload)
    (BAD / name).write_bytes(out.getvalue())


FAR_ROW = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'


def main() -> int:
    BAD.mkdir(parents=True, exist_ok=True)
    (BAD / "text-renamed.xlsx").write_text("这不是表格，只是改了扩展名的文本。\n", encoding="utf-8")
    good = save(ledger(), "_good.xlsx")
    (BAD / "truncated.xlsx").write_bytes(good[: len(good) // 2])
    (BAD / "_good.xlsx").unlink()
    empty = Workbook()
    save(empty, "empty-workbook.xlsx")
    title_only = Workbook()
    title_only.active["A1"] = "辍学生台账（未填写）"
    save(title_only, "title-only.xlsx")
    # A sheet whose XML inflates far past its compressed size (a zip bomb, kept small here).
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        src = zipfile.ZipFile(io.BytesIO(save(ledger(), "_tmp.xlsx")))
        for info in src.infolist():
            payload = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                payload = payload.replace(b"<sheetData>", b"<sheetData>" + b" " * (64 * 1024 * 1024))
            z.writestr(info.filename, payload)
    (BAD / "_tmp.xlsx").unlink()
    (BAD / "zip-bomb.xlsx").write_bytes(bomb.getvalue())
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
           '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>')
    rewrite_sheet(good, "billion-laughs.xlsx", lambda s: lol + s.split("?>", 1)[-1].replace(
        "<v>", "<v>&lol4;", 1) if s.startswith("<?xml") else lol + s)
    rewrite_sheet(good, "dimension-claim.xlsx",
                  lambda s: re.sub(r'<dimension ref="[^"]+"/>', '<dimension ref="A1:XFD1048576"/>', s))
    rewrite_sheet(good, "far-cell.xlsx", lambda s: s.replace("</sheetData>", FAR_ROW))
    # Ways around a guard that pattern-matches the XML: the far cell written with single quotes or with
    # spaces around "=", the sheet moved out of xl/worksheets/ (found only through the relationships),
    # or its part name in upper case. Each is a valid package calamine reads, and aborts on.
    rewrite_sheet(good, "far-cell-single-quotes.xlsx",
                  lambda s: s.replace("</sheetData>", FAR_ROW.replace('"', "'")))
    rewrite_sheet(good, "far-cell-spaces.xlsx",
                  lambda s: s.replace("</sheetData>", FAR_ROW.replace('r="XFD', 'r = "XFD').replace('r="10', 'r =  "10')))
    rewrite_sheet(good, "far-cell-moved-sheet.xlsx", lambda s: s.replace("</sheetData>", FAR_ROW),
                  {"xl/worksheets/sheet1.xml": "xl/data/table.xml"})
    rewrite_sheet(good, "far-cell-upper-case-part.xlsx", lambda s: s.replace("</sheetData>", FAR_ROW),
                  {"xl/worksheets/sheet1.xml": "xl/worksheets/SHEET1.XML"})
    # Names a spreadsheet would run as formulas if written raw (OWASP CSV/formula injection),
    # including the full-width ＝ that NFKC normalisation turns into "=".
    formula_rows = [[i + 1, school, name, *ROW[3:5], idn, *ROW[6:]] for i, (school, name, idn) in enumerate((
        ("=HYPERLINK(\"http://x.invalid\",\"点击\")", "=1+1", "520121201305120119"),
        ("+SUM(1,2)", "-2+3", "520121201305120135"),
        ("@SUM(1)", "＝1+2", "520121201305120151"),
        ("＝cmd|' /c calc'!A0", "\t=1+1", "520121201305120178"),
    ))]
    wb = ledger(formula_rows)
    for row in wb["台账"].iter_rows(min_row=3):
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"  # typed as text by the clerk: data, not a formula, in the input
    save(wb, "formula-names.xlsx")
    wb = ledger([ROW, [2, "石门镇中心小学", "=1+1", "男", "#N/A", "#REF!", "五年级", "=HYPERLINK(\"http://x\")",
                       "13885120001", "辍学", "2024-03-04", "学习困难", "李梅", "劝返中"]])
    save(wb, "formulas-and-errors.xlsx")
    wb = ledger()
    wb["台账"].merge_cells("B3:D3")
    save(wb, "merged-over-data.xlsx")
    wb = ledger([ROW, [2, *ROW[1:2], "隐藏行学生", *ROW[3:5], "520121201305120127", *ROW[6:]]])
    wb["台账"].row_dimensions[4].hidden = True
    hidden = wb.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden.append(HEADERS)
    save(wb, "hidden-rows-and-sheets.xlsx")
    wb = ledger([[*ROW[:12], "长" * (10 * 1024 * 1024 + 10), ROW[13]]])
    save(wb, "huge-cell.xlsx")
    header = ",".join(HEADERS)
    line = ",".join(str(x) for x in ROW)
    (BAD / "roster-gbk.csv").write_bytes(f"{header}\r\n{line}\r\n".encode("gbk"))
    (BAD / "roster-utf16.csv").write_bytes(f"{header}\r\n{line}\r\n".encode("utf-16"))
    (BAD / "roster-nul.csv").write_bytes(f"{header}\r\n{line}\r\n".encode() + b"\x00\x00garbage")
    (BAD / "roster-not-a-list.json").write_text(json.dumps({"学生姓名": "王小明"}, ensure_ascii=False), encoding="utf-8")
    try:
        import msoffcrypto
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        print("msoffcrypto-tool not installed: encrypted.xlsx left as it is")
    else:
        out = io.BytesIO()
        OOXMLFile(io.BytesIO(save(ledger(), "_enc.xlsx"))).encrypt("1234", out)
        (BAD / "_enc.xlsx").unlink()
        (BAD / "encrypted.xlsx").write_bytes(out.getvalue())
        del msoffcrypto
    print(f"wrote {len(list(BAD.iterdir()))} files to {BAD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
