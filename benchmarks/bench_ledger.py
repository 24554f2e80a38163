"""Benchmark the ledger check on a ledger saved by LibreOffice, against plain readers.

Usage:
  python benchmarks/bench_ledger.py [ROWS]        check vs readers at ROWS rows (default 50,000)
  python benchmarks/bench_ledger.py --scale [N…]  per-row time and peak RSS at 10k/50k/200k rows
Each mode prints a table on stderr and ONE JSON line on stdout with both sides and the ratios.

Clerks' ledgers come from Excel, WPS or LibreOffice, which store text as shared strings; a file
written by openpyxl (inline strings) is not what anyone checks, and readers differ a lot between
the two. So the ledger is written with openpyxl and then re-saved by ``soffice --convert-to xlsx``
(cached in out/bench/). Compared in the same run: formkit's ``check_ledger`` (guard scan, read,
every cell and row rule, duplicates), python-calamine reading every cell (the raw read formkit
builds on), openpyxl read-only iterating every value, and frictionless (when installed) reading
the rows.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "bench"
AS_OF = "2024-05-01"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    from formkit.core.validators import id_check_char
    from formkit.ledger.workbook import _cell_value
    from formkit.tables.columns import LEDGER_COLUMNS

    records = json.loads((ROOT / "samples" / "records.json").read_text(encoding="utf-8"))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(["控辍保学辍学生台账"])
    ws.append(["填报学校：", "石门镇中心小学"])
    ws.append([c.header for c in LEDGER_COLUMNS])
    for i in range(rows):
        record = copy.deepcopy(records[i % len(records)])
        record["school"]["school"] = "石门镇中心小学"
        born = record["student"]["birth_date"].replace("-", "")
        first17 = (f"52{i // 100000 % 10}{i // 10000 % 10}{i // 1000 % 10}{i // 100 % 10}{born}{i % 100:02d}"
                   f"{int(record['student']['sex'] == '男') + 2 * (i % 4)}")
        idn = first17 + id_check_char(first17)
        record["student"]["id_number"], record["student"]["xjh"] = idn, "G" + idn
        values = []
        for column in LEDGER_COLUMNS:
            value = i + 1 if column.key == "seq" else _cell_value(record, column)
            values.append(None if value is None else (("是" if value else "否") if isinstance(value, bool) else value))
        ws.append(values)
    wb.save(path)


def ledger(rows: int) -> Path:
    """The cached LibreOffice-saved ledger of ``rows`` rows (built on first use)."""
    from formkit.documents.pdf import _fontconfig, find_soffice

    OUT.mkdir(parents=True, exist_ok=True)
    saved = OUT / f"ledger-lo-{rows}.xlsx"
    if saved.exists():
        return saved
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp, f"ledger-lo-{rows}.xlsx")
        t = time.perf_counter()
        build(raw, rows)
        outdir = Path(tmp, "lo")
        subprocess.run([find_soffice(), f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless",
                        "--norestore", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir),
                        str(raw)], check=True, capture_output=True, timeout=3600,
                       env={**os.environ, "HOME": tmp, "FONTCONFIG_FILE": _fontconfig(Path(tmp))})
        produced = outdir / raw.name
        import zipfile

        with zipfile.ZipFile(produced) as zf:
            assert "xl/sharedStrings.xml" in zf.namelist(), "LibreOffice did not write shared strings"
        produced.replace(saved)
        log(f"built and re-saved {saved.name} with LibreOffice in {time.perf_counter() - t:.1f}s")
    return saved


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    cells = 0
    for row in wb.get_sheet_by_index(0).iter_rows():
        cells += sum(1 for v in row if v != "")
    return cells


def read_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    cells = 0
    for row in wb.worksheets[0].iter_rows(values_only=True):
        cells += sum(1 for v in row if v is not None)
    wb.close()
    return cells


def read_frictionless(path: Path) -> int | None:
    try:
        from frictionless import Dialect, Resource  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    with Resource(str(path), dialect=Dialect(header_rows=[3])) as resource_:
        return sum(1 for _ in resource_.row_stream)


def check(path: Path) -> int:
    from datetime import date

    from formkit.ledger.check import check_ledger

    report = check_ledger(path, date.fromisoformat(AS_OF))
    return len(report.findings)


def timed(func: Any, path: Path) -> tuple[float, Any]:
    t = time.perf_counter()
    value = func(path)
    return time.perf_counter() - t, value


def bench(rows: int) -> dict[str, Any]:
    path = ledger(rows)
    check_s, findings = timed(check, path)
    calamine_s, cells = timed(read_calamine, path)
    openpyxl_s, _ = timed(read_openpyxl, path)
    frictionless_s, fl_rows = timed(read_frictionless, path)
    out: dict[str, Any] = {
        "bench": "ledger", "rows": rows, "file": "saved by LibreOffice (shared strings)",
        "check_s": round(check_s, 3), "calamine_read_s": round(calamine_s, 3),
        "openpyxl_readonly_s": round(openpyxl_s, 3),
        "frictionless_s": round(frictionless_s, 3) if fl_rows is not None else None,
        "check_over_calamine": round(check_s / calamine_s, 2),
        "openpyxl_over_check": round(openpyxl_s / check_s, 2),
        "frictionless_over_check": round(frictionless_s / check_s, 2) if fl_rows is not None else None,
        "findings": findings, "cells": cells,
    }
    log(f"{rows} rows (LibreOffice-saved): check {check_s:.2f}s, calamine {calamine_s:.2f}s, "
        f"openpyxl read-only {openpyxl_s:.2f}s, frictionless "
        + (f"{frictionless_s:.2f}s" if fl_rows is not None else "not installed"))
    return out


def scale(sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"bench": "ledger-scale", "file": "saved by LibreOffice (shared strings)"}
    for rows in sizes:
        path = ledger(rows)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                              check=True)
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        out[f"check_us_per_row_{rows}"] = round(got["check_s"] / rows * 1e6, 1)
        out[f"calamine_us_per_row_{rows}"] = round(got["calamine_s"] / rows * 1e6, 1)
        out[f"check_kb_per_row_{rows}"] = round((got["rss_mb"] - got["rss_before_mb"]) * 1024 / rows, 2)
        out[f"peak_rss_mb_{rows}"] = round(got["rss_mb"], 1)
        log(f"{rows} rows: check {out[f'check_us_per_row_{rows}']} µs/row, "
            f"{out[f'check_kb_per_row_{rows}']} KB/row, peak RSS {got['rss_mb']:.0f} MB")
    first, last = sizes[0], sizes[-1]
    out["time_per_row_ratio_largest_vs_smallest"] = round(
        out[f"check_us_per_row_{last}"] / out[f"check_us_per_row_{first}"], 2)
    return out


def _child(path: Path) -> None:
    """Run in a fresh process so peak RSS belongs to one check alone."""
    import formkit.ledger.check  # noqa: F401  (imports are not the check's memory)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    check_s, _ = timed(check, path)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    calamine_s, _ = timed(read_calamine, path)
    print(json.dumps({"check_s": check_s, "calamine_s": calamine_s, "rss_mb": rss, "rss_before_mb": before}))


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        _child(Path(args[1]))
        return 0
    if args[:1] == ["--scale"]:
        result = scale([int(a) for a in args[1:]] or [10_000, 50_000, 200_000])
    else:
        result = bench(int(args[0]) if args else 50_000)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
