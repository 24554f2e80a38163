"""Benchmark: full check of a large ledger vs. a plain openpyxl read-only load of it.

Usage: python benchmarks/bench_ledger.py [ROWS]   (default 50,000)
Builds the ledger once (cached in out/bench/), then times, in the same run:
- baseline: openpyxl read-only load iterating every cell value (no checking at all);
- formkit: check_ledger (guard scan, calamine read, every cell and row rule, duplicates).
Prints a table, then one JSON line.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    from formkit.columns import LEDGER_COLUMNS
    from formkit.validators import id_check_char
    from formkit.xlsx_writer import _cell_value

    records = json.loads((ROOT / "samples" / "records.json").read_text(encoding="utf-8"))
    # write_only keeps building 50,000 rows fast and flat in memory.
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(["控辍保学辍学生台账"])
    ws.append(["填报学校：", "石门镇中心小学"])
    ws.append([c.header for c in LEDGER_COLUMNS])
    for i in range(rows):
        record = copy.deepcopy(records[i % len(records)])
        record["school"]["school"] = "石门镇中心小学"
        born = record["student"]["birth_date"].replace("-", "")
        first17 = f"52{i // 100000 % 10}{i // 10000 % 10}{i // 1000 % 10}{i // 100 % 10}{born}{i % 100:02d}{int(record['student']['sex'] == '男') + 2 * (i % 4)}"
        idn = first17 + id_check_char(first17)
        record["student"]["id_number"], record["student"]["xjh"] = idn, "G" + idn
        values = []
        for column in LEDGER_COLUMNS:
            value = i + 1 if column.key == "seq" else _cell_value(record, column)
            values.append(None if value is None else (("是" if value else "否") if isinstance(value, bool) else value))
        ws.append(values)
    wb.save(path)


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    out = ROOT / "out" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ledger-{rows}.xlsx"
    if not path.exists():
        t = time.perf_counter()
        build(path, rows)
        print(f"built {path.name} in {time.perf_counter() - t:.1f}s")

    from datetime import date

    from openpyxl import load_workbook

    from formkit.checker import check_ledger

    t = time.perf_counter()
    wb = load_workbook(path, read_only=True)
    cells = 0
    for row in wb["台账"].iter_rows(values_only=True):
        cells += sum(1 for v in row if v is not None)
    wb.close()
    baseline = time.perf_counter() - t

    t = time.perf_counter()
    report = check_ledger(path, date(2024, 5, 1))
    checked = time.perf_counter() - t

    print(f"{'task':<38}{'seconds':>10}")
    print(f"{'openpyxl read-only load (baseline)':<38}{baseline:>10.2f}")
    print(f"{'formkit check_ledger (full check)':<38}{checked:>10.2f}")
    print(f"rows={report.files[0].rows} findings={len(report.findings)} cells={cells}")
    print(json.dumps({"rows": rows, "check_s": round(checked, 3), "openpyxl_read_s": round(baseline, 3),
                      "ratio_openpyxl_over_check": round(baseline / checked, 2),
                      "findings": len(report.findings)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
