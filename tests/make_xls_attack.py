"""Build tests/data/attack/far-cell-column.xls (run with xlwt installed: python tests/make_xls_attack.py).

A legacy .xls (BIFF8 in an OLE container) with a heading and one RK cell record at
row 65535, whose column field is then patched from 255 to 65535. calamine sizes the
sheet from the farthest cell (65536 × 65536 cells) and aborts the process, so the
spreadsheet guard reads the BIFF cell records of the Workbook stream first.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "attack" / "far-cell-column.xls"
RK_AT_FAR_CELL = b"\x7e\x02\x0a\x00\xff\xff\xff\x00"  # RK record, length 10, row 65535, column 255


def build() -> Path:
    import xlwt  # type: ignore[import-not-found]

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("台账")
    sheet.write(0, 0, "学生姓名")
    sheet.write(65535, 255, 1.5)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(str(OUT))
    data = bytearray(OUT.read_bytes())
    at = data.find(RK_AT_FAR_CELL)
    assert at >= 0, "xlwt no longer writes the far cell as an RK record"
    data[at + 6:at + 8] = b"\xff\xff"
    OUT.write_bytes(bytes(data))
    return OUT


if __name__ == "__main__":
    print(build())
