"""Benchmark the ledger check on a ledger saved by LibreOffice, against plain readers.

Usage:
  python benchmarks/bench_ledger.py [ROWS] [--repeat K]  check vs readers at ROWS rows (default 50,000)
  python benchmarks/bench_ledger.py --scale [N…]         per-row time and peak RSS at 10k/50k/200k rows
Each mode prints a table on stderr and ONE JSON line on stdout with both sides and the ratios.

Clerks' ledgers come from Excel, WPS or LibreOffice, which store text as shared strings; a file
written by openpyxl (inline strings) is not what anyone checks, and readers differ a lot between
the two. So the ledger is written with openpyxl and then re-saved by ``soffice --convert-to xlsx``
(cached in out/bench/). Compared in the same run: formkit's ``check_ledger`` (guard scan, read,
every cell and row rule, duplicates), python-calamine reading every cell (the raw read formkit
builds on), openpyxl read-only iterating every value, and frictionless validating the file (when
installed: ``pip install frictionless``; it is no dependency of formkit). frictionless infers a
schema from the first rows and checks every row's cells against those types: much less than
formkit's rules, so the comparison flatters frictionless.

The check and the calamine read alternate ``--repeat`` times (default 5) and the medians are
compared; openpyxl and frictionless (tens of seconds each) run once. The machine may be shared,
so process CPU time is reported beside wall time for every side.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import resource
import statistics
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


def frictionless_installed() -> bool:
    try:
        import frictionless  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def read_frictionless(path: Path) -> int:
    """``frictionless validate`` of the sheet (header on row 3); the number of rows it validated."""
    from frictionless import Dialect, validate  # type: ignore[import-not-found, unused-ignore]

    # frictionless refuses absolute paths ("not safe") unless they are given relative to a base path.
    report = validate(path.name, basepath=str(path.parent), dialect=Dialect(header_rows=[3]))
    if not report.tasks:
        raise RuntimeError(f"frictionless did not read {path}: {report.flatten(['type', 'note'])}")
    rows = int(report.tasks[0].stats.get("rows") or 0)
    if rows == 0:
        raise RuntimeError(f"frictionless read no rows of {path}: {report.flatten(['type', 'note'])[:5]}")
    return rows


def check(path: Path) -> int:
    from datetime import date

    from formkit.ledger.check import check_ledger

    report = check_ledger(path, date.fromisoformat(AS_OF))
    return len(report.findings)


def timed(func: Any, path: Path) -> tuple[float, Any]:
    t = time.perf_counter()
    value = func(path)
    return time.perf_counter() - t, value


def timed_cpu(func: Any, path: Path) -> tuple[float, float, Any]:
    """(wall seconds, process CPU seconds, result); garbage collected before, as each reader starts afresh."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    value = func(path)
    return time.perf_counter() - wall, time.process_time() - cpu, value


def bench(rows: int, repeat: int) -> dict[str, Any]:
    path = ledger(rows)
    checks, reads = [], []
    for _ in range(repeat):
        checks.append(timed_cpu(check, path))
        reads.append(timed_cpu(read_calamine, path))
    check_s, check_cpu = (statistics.median(t[i] for t in checks) for i in (0, 1))
    calamine_s, calamine_cpu = (statistics.median(t[i] for t in reads) for i in (0, 1))
    findings, cells = checks[0][2], reads[0][2]
    openpyxl_s, openpyxl_cpu, _ = timed_cpu(read_openpyxl, path)
    fl_rows = None
    if frictionless_installed():
        frictionless_s, frictionless_cpu, fl_rows = timed_cpu(read_frictionless, path)
    out: dict[str, Any] = {
        "bench": "ledger", "rows": rows, "file": "saved by LibreOffice (shared strings)", "repeat": repeat,
        "check_s": round(check_s, 3), "calamine_read_s": round(calamine_s, 3),
        "check_over_calamine": round(check_s / calamine_s, 2),
        "check_cpu_s": round(check_cpu, 3), "calamine_read_cpu_s": round(calamine_cpu, 3),
        "check_over_calamine_cpu": round(check_cpu / calamine_cpu, 2),
        "openpyxl_readonly_s": round(openpyxl_s, 3), "openpyxl_readonly_cpu_s": round(openpyxl_cpu, 3),
        "openpyxl_over_check": round(openpyxl_s / check_s, 2),
        "openpyxl_over_check_cpu": round(openpyxl_cpu / check_cpu, 2),
        "frictionless_validate_s": round(frictionless_s, 3) if fl_rows is not None else None,
        "frictionless_validate_cpu_s": round(frictionless_cpu, 3) if fl_rows is not None else None,
        "frictionless_over_check": round(frictionless_s / check_s, 2) if fl_rows is not None else None,
        "frictionless_over_check_cpu": round(frictionless_cpu / check_cpu, 2) if fl_rows is not None else None,
        "frictionless_rows": fl_rows,
        "findings": findings, "cells": cells,
    }
    log(f"{rows} rows (LibreOffice-saved), medians of {repeat}: check {check_s:.2f}s (CPU {check_cpu:.2f}s), "
        f"calamine {calamine_s:.2f}s (CPU {calamine_cpu:.2f}s) → {check_s / calamine_s:.2f}× "
        f"(CPU {check_cpu / calamine_cpu:.2f}×); openpyxl read-only {openpyxl_s:.2f}s (CPU {openpyxl_cpu:.2f}s); "
        "frictionless validate "
        + (f"{frictionless_s:.2f}s (CPU {frictionless_cpu:.2f}s): {frictionless_s / check_s:.1f}× the check "
           f"(CPU {frictionless_cpu / check_cpu:.1f}×)" if fl_rows is not None
           else "not installed (pip install frictionless)"))
    return out


def scale(sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"bench": "ledger-scale", "file": "saved by LibreOffice (shared strings)"}
    for rows in sizes:
        path = ledger(rows)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                              check=True)
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        out[f"check_us_per_row_{rows}"] = round(got["check_s"] / rows * 1e6, 1)
        out[f"check_cpu_us_per_row_{rows}"] = round(got["check_cpu_s"] / rows * 1e6, 1)
        out[f"calamine_us_per_row_{rows}"] = round(got["calamine_s"] / rows * 1e6, 1)
        out[f"calamine_cpu_us_per_row_{rows}"] = round(got["calamine_cpu_s"] / rows * 1e6, 1)
        out[f"check_kb_per_row_{rows}"] = round((got["rss_mb"] - got["rss_before_mb"]) * 1024 / rows, 2)
        out[f"peak_rss_mb_{rows}"] = round(got["rss_mb"], 1)
        log(f"{rows} rows: check {out[f'check_us_per_row_{rows}']} µs/row (CPU {out[f'check_cpu_us_per_row_{rows}']}), "
            f"calamine {out[f'calamine_us_per_row_{rows}']} µs/row (CPU {out[f'calamine_cpu_us_per_row_{rows}']}), "
            f"{out[f'check_kb_per_row_{rows}']} KB/row over the start, peak RSS {got['rss_mb']:.0f} MB")
    first, last = sizes[0], sizes[-1]
    for kind in ("check_us_per_row", "check_cpu_us_per_row", "check_kb_per_row"):
        out[f"{kind}_ratio_largest_vs_smallest"] = round(out[f"{kind}_{last}"] / out[f"{kind}_{first}"], 2)
    return out


def _child(path: Path) -> None:
    """Run in a fresh process so peak RSS belongs to one check alone."""
    import formkit.ledger.check  # noqa: F401  (imports are not the check's memory)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    check_s, check_cpu, _ = timed_cpu(check, path)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    calamine_s, calamine_cpu, _ = timed_cpu(read_calamine, path)
    print(json.dumps({"check_s": check_s, "check_cpu_s": check_cpu, "calamine_s": calamine_s,
                      "calamine_cpu_s": calamine_cpu, "rss_mb": rss, "rss_before_mb": before}))


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        _child(Path(args[1]))
        return 0
    if args[:1] == ["--scale"]:
        result = scale([int(a) for a in args[1:]] or [10_000, 50_000, 200_000])
    else:
        repeat = 5
        if "--repeat" in args:
            at = args.index("--repeat")
            repeat = int(args[at + 1])
            del args[at:at + 2]
        result = bench(int(args[0]) if args else 50_000, repeat)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
