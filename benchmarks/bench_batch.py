"""Benchmark batch rendering against the plain docxtpl loop, in the same run.

Usage: python benchmarks/bench_batch.py [N] [PDF_N]   (defaults 500 and 12)
- baseline: for each record, DocxTemplate(path), render(context), save() — what most
  scripts do;
- formkit, one process: the compile-once engine rendering and writing the same records;
- formkit --jobs 2: the batch runner with two worker processes;
- PDF: N_pdf documents converted by one LibreOffice process vs one process per document.
Peak RSS is sampled for the one-process engine run. The last line is JSON.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def records(n: int) -> list[dict]:
    base = json.loads((ROOT / "samples" / "records.json").read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        rec = json.loads(json.dumps(base[i % len(base)]))
        rec["student"]["name"] = f"{rec['student']['name']}{i}"
        rec["student"]["xjh"] = None
        rec["student"]["id_number"] = None
        rec["seq"] = i + 1
        out.append(rec)
    return out


def rss_of_batch(n: int) -> tuple[float, float]:
    """(peak RSS with the input built, peak RSS after the batch) in MB, for ``n`` documents in a child."""
    import subprocess

    code = (
        "import json,resource,sys,tempfile;sys.path.insert(0,sys.argv[2]);"
        "from bench_batch import records;from formkit.batch_runner import batch, load_settings;"
        "from pathlib import Path;"
        "s=load_settings(Path(sys.argv[3]));s.pop('issuer.number_prefix');"
        "iss={k.split('.',1)[1]:v for k,v in s.items()};"
        "rs=[{**r,'issuer':iss} for r in records(int(sys.argv[1]))];"
        "before=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
        "d=tempfile.mkdtemp();batch('return-notice',rs,d,jobs=1);"
        "print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(n), str(Path(__file__).parent),
                          str(ROOT / "samples" / "formkit.toml")], capture_output=True, text=True, check=True)
    before, after = out.stdout.strip().splitlines()[-1].split()
    return float(before), float(after)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory":
        (in_small, small), (in_large, large) = rss_of_batch(1000), rss_of_batch(10000)
        print(f"peak RSS: 1,000 docs {small:.0f} MB (input alone {in_small:.0f} MB), "
              f"10,000 docs {large:.0f} MB (input alone {in_large:.0f} MB)")
        print(json.dumps({"peak_rss_mb_1000": round(small, 1), "peak_rss_mb_10000": round(large, 1),
                          "batch_overhead_mb_1000": round(small - in_small, 1),
                          "batch_overhead_mb_10000": round(large - in_large, 1)}))
        return 0
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    pdf_n = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    from docxtpl import DocxTemplate

    import formkit
    from formkit.batch_runner import batch, load_settings
    from formkit.forms import build_context, get_form, validate_record
    from formkit.render import compiled_form

    settings = load_settings(ROOT / "samples" / "formkit.toml")
    settings.pop("issuer.number_prefix")
    recs = records(n)
    spec = get_form("return-notice")
    issuer = {k.split(".", 1)[1]: v for k, v in settings.items()}
    models = [validate_record(spec, {**r, "issuer": issuer}) for r in recs]
    contexts = [build_context(spec, m) for m in models]
    template = ROOT / "templates" / "docx" / "return-notice.docx"
    work = Path(tempfile.mkdtemp(prefix="formkit-bench-"))
    try:
        from formkit.docx_engine import make_environment

        env = make_environment()  # same filters and sandbox, so only the engine differs
        t = time.perf_counter()
        for i, ctx in enumerate(contexts):
            doc = DocxTemplate(str(template))
            doc.render(ctx, jinja_env=env, autoescape=True)
            doc.save(str(work / f"base{i}.docx"))
        baseline = time.perf_counter() - t

        compiled = compiled_form("return-notice")
        t = time.perf_counter()
        for i, ctx in enumerate(contexts):
            (work / f"fk{i}.docx").write_bytes(compiled.render(ctx))
        engine = time.perf_counter() - t
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        t = time.perf_counter()
        batch("return-notice", [{**r, "issuer": issuer} for r in recs], work / "b1", jobs=1)
        batch1 = time.perf_counter() - t
        t = time.perf_counter()
        batch("return-notice", [{**r, "issuer": issuer} for r in recs], work / "b2", jobs=2)
        batch2 = time.perf_counter() - t

        pdf_ratio = None
        soffice = shutil.which("soffice")
        if soffice and pdf_n:
            from formkit.pdf import convert_to_pdf

            docs = [work / f"fk{i}.docx" for i in range(min(pdf_n, n))]
            t = time.perf_counter()
            convert_to_pdf(docs, work / "pdf-batch")
            pdf_batch = time.perf_counter() - t
            t = time.perf_counter()
            for doc in docs:
                convert_to_pdf([doc], work / "pdf-single")
            pdf_single = time.perf_counter() - t
            pdf_ratio = pdf_single / pdf_batch
            print(f"PDF {len(docs)} docs: one LibreOffice {pdf_batch:.1f}s, one per document {pdf_single:.1f}s")
        print(f"{'task':<44}{'seconds':>9}{'docs/s':>9}")
        for label, secs in (("plain docxtpl load-render-save (baseline)", baseline), ("formkit engine, 1 process", engine),
                            ("formkit batch --jobs 1 (validate+write+manifest)", batch1),
                            ("formkit batch --jobs 2", batch2)):
            print(f"{label:<44}{secs:>9.2f}{n / secs:>9.1f}")
        print(json.dumps({"n": n, "docs_per_s": round(n / engine, 1), "baseline_docs_per_s": round(n / baseline, 1),
                          "ratio": round(baseline / engine, 1), "batch_docs_per_s": round(n / batch1, 1),
                          "parallel_speedup": round(batch1 / batch2, 2),
                          "pdf_batch_ratio": round(pdf_ratio, 1) if pdf_ratio else None,
                          "peak_rss_mb": round(peak_rss, 1), "formkit": formkit.__version__}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
