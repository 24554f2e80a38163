"""Benchmark the documented batch command against a plain docxtpl loop, in the same run.

Usage:
  python benchmarks/bench_batch.py [N]             batch vs docxtpl at N documents (default 500)
  python benchmarks/bench_batch.py --pdf [N]       persistent converter vs one soffice per document (200)
  python benchmarks/bench_batch.py --merge         merged DOCX ms/doc at 25/400, merged PDF KB/page at 50
  python benchmarks/bench_batch.py --scale         per-document time and peak RSS at 1k/5k/20k documents
  python benchmarks/bench_batch.py --jobs [N] [R]  --jobs 2 against --jobs 1 at N documents (2000), R rounds (3),
                                                   with the CPU seconds of the batch process and of its workers
Each mode prints a table on stderr and ONE JSON line on stdout with both sides and the ratios.

"formkit" is what the README documents: ``formkit batch return-notice ROSTER -o OUT --config
samples/formkit.toml`` (numbers from the 文号 register, validation, atomic writes, journal,
manifest), called as ``formkit.batch(...)`` on a roster of N rows shaped like samples/roster.xlsx.
The baseline gets every template context ready-made (not timed) and only does what most scripts
do per record: ``DocxTemplate(path)``, ``render``, ``save`` to the same file names.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "samples" / "formkit.toml"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "明丽浩佳怡军华强敏静磊洋艳勇杰娟涛超秀霞平刚桂英芳燕玲兰"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def make_roster(path: Path, n: int) -> Path:
    """An N-row roster like samples/roster.xlsx: same title row, header and columns, unique students."""
    from openpyxl import Workbook, load_workbook

    from formkit.core.validators import id_check_char

    sample = load_workbook(ROOT / "samples" / "roster.xlsx").active
    assert sample is not None
    rows = list(sample.iter_rows(values_only=True))
    title, header, data = rows[0], rows[1], [r for r in rows[2:] if any(r)]
    col = {name: i for i, name in enumerate(header)}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(list(title))
    ws.append(list(header))
    for i in range(n):
        row = list(data[i % len(data)])
        row[col["序号"]] = i + 1
        row[col["姓名"]] = SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)] + GIVEN[i % len(GIVEN)] + str(i)
        old = str(row[col["身份证号码"]])
        # Unique for 50,000 rows; the sequence's parity keeps matching the 性别 column.
        seq = i % 500 * 2 + (1 if row[col["性别"]] == "男" else 0)
        first17 = f"{old[:4]}{i // 500 % 100:02d}{old[6:14]}{seq:03d}"
        row[col["身份证号码"]] = first17 + id_check_char(first17)
        ws.append(row)
    wb.save(path)
    return path


def contexts_for(roster: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Template contexts and file names exactly as the batch makes them (for the baseline)."""
    from formkit.documents.batch import _apply_settings, batch, load_settings, read_records
    from formkit.documents.forms import build_context, get_form, validate_record

    settings = load_settings(CONFIG)
    spec = get_form("return-notice")
    with tempfile.TemporaryDirectory() as tmp:
        planned = batch("return-notice", roster, tmp, issuer=settings, dry_run=True, register=Path(tmp, "r.sqlite"))
    contexts = [build_context(spec, validate_record(spec, _apply_settings(raw, spec, settings)))
                for _, raw in read_records(roster)]
    return contexts, [item.file for item in planned.items]


def bench_batch(n: int) -> dict[str, Any]:
    from docxtpl import DocxTemplate

    import formkit
    from formkit.documents.batch import load_settings
    from formkit.documents.engine import make_environment

    work = Path(tempfile.mkdtemp(prefix="formkit-bench-"))
    try:
        roster = make_roster(work / "roster.xlsx", n)
        contexts, names = contexts_for(roster)
        template = ROOT / "templates" / "docx" / "return-notice.docx"
        env = make_environment()  # same filters and sandbox: only the engine and bookkeeping differ
        (work / "base").mkdir()
        t = time.perf_counter()
        for ctx, name in zip(contexts, names, strict=True):
            doc = DocxTemplate(str(template))
            doc.render(ctx, jinja_env=env, autoescape=True)
            doc.save(str(work / "base" / name))
        baseline = time.perf_counter() - t
        settings = load_settings(CONFIG)
        times = {}
        for jobs in (1, 2):
            t = time.perf_counter()
            result = formkit.batch("return-notice", roster, work / f"jobs{jobs}", issuer=settings, jobs=jobs,
                                   register=work / f"reg{jobs}.sqlite")
            times[jobs] = time.perf_counter() - t
            assert len(result.items) == n and result.items[-1].doc_number.endswith(f"〔2024〕{n}号"), result.items[-1]
        log(f"{n} documents: docxtpl loop {baseline:.2f}s, batch --jobs 1 {times[1]:.2f}s, --jobs 2 {times[2]:.2f}s")
        return {"bench": "batch", "n": n, "docxtpl_s": round(baseline, 3), "batch_jobs1_s": round(times[1], 3),
                "batch_jobs2_s": round(times[2], 3), "docxtpl_ms_per_doc": round(baseline / n * 1000, 2),
                "batch_jobs1_ms_per_doc": round(times[1] / n * 1000, 2),
                "ratio_jobs1_vs_docxtpl": round(baseline / times[1], 1),
                "ratio_jobs2_vs_docxtpl": round(baseline / times[2], 1),
                "ratio_jobs2_vs_jobs1": round(times[1] / times[2], 2), "formkit": formkit.__version__}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_notices(folder: Path, n: int) -> list[Path]:
    import formkit

    data = json.loads((ROOT / "samples" / "return-notice.json").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        data["student"]["name"] = SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)] + GIVEN[i // 7 % len(GIVEN)]
        path = folder / f"{i + 1:04d}_{data['student']['name']}.docx"
        path.write_bytes(formkit.render("return-notice", data))
        paths.append(path)
    return paths


def bench_pdf(n: int) -> dict[str, Any]:
    from formkit.documents.pdf import _fontconfig, convert_to_pdf, find_soffice

    work = Path(tempfile.mkdtemp(prefix="formkit-bench-pdf-"))
    try:
        docs = render_notices(work / "docs", n)
        t = time.perf_counter()
        convert_to_pdf(docs, work / "persistent")
        persistent = time.perf_counter() - t
        soffice = find_soffice()
        t = time.perf_counter()
        for doc in docs:  # what a script does: one fresh LibreOffice (and profile) per document
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run([soffice, f"-env:UserInstallation={Path(tmp, 'p').as_uri()}", "--headless",
                                "--norestore", "--convert-to", "pdf", "--outdir", str(work / "single"), str(doc)],
                               capture_output=True, check=True, timeout=300,
                               env={**os.environ, "HOME": tmp, "FONTCONFIG_FILE": _fontconfig(Path(tmp))})
        single = time.perf_counter() - t
        made = len(list((work / "single").glob("*.pdf")))
        assert made == n, made
        log(f"PDF {n} documents: persistent converter {persistent:.1f}s, one soffice per document {single:.1f}s")
        return {"bench": "pdf", "n": n, "persistent_s": round(persistent, 2), "one_soffice_per_doc_s": round(single, 2),
                "persistent_s_per_doc": round(persistent / n, 3), "one_soffice_s_per_doc": round(single / n, 3),
                "ratio": round(single / persistent, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_merge() -> dict[str, Any]:
    import io

    from pypdf import PdfReader, PdfWriter

    from formkit.documents.merge import _merge_docxcompose, merge_docx
    from formkit.documents.pdf import convert_to_pdf, merge_pdfs

    work = Path(tempfile.mkdtemp(prefix="formkit-bench-merge-"))
    try:
        docs = render_notices(work / "docs", 400)
        out: dict[str, Any] = {"bench": "merge"}
        for n in (25, 400):
            t = time.perf_counter()
            merge_docx(docs[:n])
            out[f"docx_linear_ms_per_doc_{n}"] = round((time.perf_counter() - t) / n * 1000, 2)
            t = time.perf_counter()
            _merge_docxcompose(docs[:n])
            out[f"docx_docxcompose_ms_per_doc_{n}"] = round((time.perf_counter() - t) / n * 1000, 2)
            out[f"docx_ratio_{n}"] = round(out[f"docx_docxcompose_ms_per_doc_{n}"] / out[f"docx_linear_ms_per_doc_{n}"], 1)
            log(f"merged DOCX {n}: docxcompose {out[f'docx_docxcompose_ms_per_doc_{n}']} ms/doc, "
                f"linear {out[f'docx_linear_ms_per_doc_{n}']} ms/doc")
        pdfs = convert_to_pdf(docs[:50], work / "docs")
        writer = PdfWriter()  # before: each part appended with its own font subsets
        for pdf in pdfs:
            writer.append(PdfReader(pdf))
        buf = io.BytesIO()
        writer.write(buf)
        pages = len(writer.pages)
        merged = merge_pdfs([(p, p.stem) for p in pdfs], work / "merged.pdf")
        out["pdf_pages_50"] = pages
        out["pdf_concat_kb_per_page"] = round(len(buf.getvalue()) / pages / 1024, 1)
        out["pdf_merged_kb_per_page"] = round(merged.stat().st_size / pages / 1024, 1)
        out["pdf_size_ratio"] = round(out["pdf_concat_kb_per_page"] / out["pdf_merged_kb_per_page"], 1)
        log(f"merged PDF 50 docs: concatenated {out['pdf_concat_kb_per_page']} KB/page, "
            f"formkit {out['pdf_merged_kb_per_page']} KB/page")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _child_batch(n: int, jobs: int) -> None:
    """Run in a child: one batch of n documents; print seconds and peak RSS (MB) of self and workers.

    Before the batch, the child reads the roster once on its own (as both batch passes do), so
    the peak the reader reaches (calamine's grid: proportional to the roster, freed after each
    pass) is told apart from what the batch itself keeps per document.
    """
    import formkit
    from formkit.documents.batch import load_settings
    from formkit.documents.roster import roster_rows

    work = Path(tempfile.mkdtemp(prefix="formkit-bench-scale-"))
    try:
        roster = make_roster(work / "roster.xlsx", n)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for _ in roster_rows(roster).rows:
            pass
        read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        result = formkit.batch("return-notice", roster, work / "out", issuer=load_settings(CONFIG), jobs=jobs,
                               register=work / "reg.sqlite")
        secs = time.perf_counter() - t
        assert result.counts == {"written": n}, result.counts
        print(json.dumps({"s": secs, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "rss_before_mb": before, "rss_read_mb": read,
                          "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_scale(sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"bench": "batch-scale", "jobs": 2}
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "2"], capture_output=True, text=True,
                              check=True)
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        out[f"ms_per_doc_{n}"] = round(got["s"] / n * 1000, 3)
        out[f"peak_rss_mb_{n}"] = round(got["rss_mb"], 1)
        out[f"batch_rss_growth_mb_{n}"] = round(got["rss_mb"] - got["rss_before_mb"], 1)
        out[f"peak_bytes_per_doc_{n}"] = round((got["rss_mb"] - got["rss_before_mb"]) * 1048576 / n)
        out[f"roster_read_bytes_per_doc_{n}"] = round((got["rss_read_mb"] - got["rss_before_mb"]) * 1048576 / n)
        out[f"beyond_read_bytes_per_doc_{n}"] = round((got["rss_mb"] - got["rss_read_mb"]) * 1048576 / n)
        out[f"worker_peak_rss_mb_{n}"] = round(got["workers_rss_mb"], 1)
        log(f"{n} documents: {out[f'ms_per_doc_{n}']} ms/doc, peak RSS {out[f'peak_rss_mb_{n}']} MB, "
            f"{out[f'peak_bytes_per_doc_{n}']} B/doc peak growth, of which reading the roster alone "
            f"{out[f'roster_read_bytes_per_doc_{n}']} B/doc, the batch beyond it {out[f'beyond_read_bytes_per_doc_{n}']} B/doc")
    out["ms_per_doc_ratio_largest_vs_smallest"] = round(out[f"ms_per_doc_{sizes[-1]}"] / out[f"ms_per_doc_{sizes[0]}"], 2)
    return out


def bench_jobs(n: int, rounds: int) -> dict[str, Any]:
    """--jobs 2 against --jobs 1 on the documented batch, alternating, medians of ``rounds``.

    The CPU seconds of the batch process itself (what runs serially) and of its workers are
    printed too: on a shared machine they show where the time goes even when the wall clock is noisy.
    """
    import statistics

    import formkit
    from formkit.documents.batch import load_settings

    work = Path(tempfile.mkdtemp(prefix="formkit-bench-jobs-"))
    try:
        roster = make_roster(work / "roster.xlsx", n)
        settings = load_settings(CONFIG)
        wall: dict[int, list[float]] = {1: [], 2: []}
        parent: dict[int, list[float]] = {1: [], 2: []}
        workers: dict[int, list[float]] = {1: [], 2: []}
        for r in range(rounds):
            for jobs in (1, 2):
                cpu, kids = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                result = formkit.batch("return-notice", roster, work / f"out{r}-{jobs}", issuer=settings, jobs=jobs,
                                       register=work / f"reg{r}-{jobs}.sqlite")
                wall[jobs].append(time.perf_counter() - t)
                parent[jobs].append(time.process_time() - cpu)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                workers[jobs].append(after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime)
                assert result.counts == {"written": n}, result.counts
                shutil.rmtree(work / f"out{r}-{jobs}")
        med = {k: {j: statistics.median(v[j]) for j in (1, 2)} for k, v in
               (("wall", wall), ("parent", parent), ("workers", workers))}
        out = {"bench": "batch-jobs", "n": n, "rounds": rounds, "load_avg_1min": round(os.getloadavg()[0], 2)}
        for jobs in (1, 2):
            out[f"jobs{jobs}_s"] = round(med["wall"][jobs], 3)
            out[f"jobs{jobs}_parent_cpu_ms_per_doc"] = round(med["parent"][jobs] / n * 1000, 3)
            out[f"jobs{jobs}_workers_cpu_ms_per_doc"] = round(med["workers"][jobs] / n * 1000, 3)
        out["ratio_jobs2_vs_jobs1"] = round(med["wall"][1] / med["wall"][2], 2)
        log(f"{n} documents: --jobs 1 {out['jobs1_s']}s, --jobs 2 {out['jobs2_s']}s ({out['ratio_jobs2_vs_jobs1']}x); "
            f"CPU ms/doc with --jobs 2: batch process {out['jobs2_parent_cpu_ms_per_doc']}, "
            f"workers {out['jobs2_workers_cpu_ms_per_doc']}")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        _child_batch(int(args[1]), int(args[2]))
        return 0
    if args[:1] == ["--pdf"]:
        result = bench_pdf(int(args[1]) if len(args) > 1 else 200)
    elif args[:1] == ["--merge"]:
        result = bench_merge()
    elif args[:1] == ["--jobs"]:
        result = bench_jobs(int(args[1]) if len(args) > 1 else 2000, int(args[2]) if len(args) > 2 else 3)
    elif args[:1] == ["--scale"]:
        result = bench_scale([int(a) for a in args[1:]] or [1000, 5000, 20000])
    else:
        result = bench_batch(int(args[0]) if args else 500)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
