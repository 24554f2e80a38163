"""`make look`: render every form (the sample and the worst-case record) and the ledger to PNG.

``python tools/look.py --docs`` also refreshes the small first-page images in docs/img/.

The PNGs land in out/look/ (``<form>.png`` pages for the sample, ``<form>.worst-<n>.png`` for the
worst case in tests/data/worst/: longest names and addresses, six visits, a joint notice
without a contact). Look at every page: A4, CJK glyphs, no leftover tags, nothing wrapped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import formkit
from formkit.documents.pdf import convert_to_pdf
from formkit.ledger.check import check_ledger
from formkit.ledger.workbook import annotate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "look"
DOCS_IMG = ROOT / "docs" / "img"
SOURCES = {"": ROOT / "samples", ".worst": ROOT / "tests" / "data" / "worst"}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    docs = []
    for suffix, folder in SOURCES.items():
        for form in formkit.forms():
            data = json.loads((folder / f"{form.name}.json").read_text(encoding="utf-8"))
            docs.append(formkit.render_to(OUT / f"{form.name}{suffix}.docx", form.name, data, overwrite=True))
    ledger = OUT / "ledger-clean.xlsx"
    shutil.copyfile(ROOT / "samples" / "ledger-clean.xlsx", ledger)
    # The annotated copy a school gets back: its 检查结果 sheet must print as a readable list.
    report = check_ledger([ROOT / "samples" / "ledger-filled.xlsx"], date(2024, 5, 1))
    checked = annotate(report, OUT / "checked")
    template = OUT / "ledger-template.xlsx"
    shutil.copyfile(ROOT / "templates" / "xlsx" / "ledger.xlsx", template)
    # One LibreOffice start for every document: starting it costs more than converting a page.
    for pdf in convert_to_pdf([*docs, ledger, template, *checked], OUT):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(pdf.with_suffix(""))], check=True)
    if "--docs" in sys.argv[1:]:
        # docs/forms.md shows the first page of each sample form, small (-r 40) to keep the repo light.
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for form in formkit.forms():
            subprocess.run(["pdftoppm", "-png", "-gray", "-r", "40", "-f", "1", "-l", "1", "-singlefile",
                            str(OUT / f"{form.name}.pdf"), str(DOCS_IMG / form.name)], check=True)
        print(f"first pages for docs/forms.md in {DOCS_IMG}")
    pages = sorted(p.name for p in OUT.glob("*.png"))
    print(f"{len(pages)} PNG pages in {OUT}: look at every one (A4 fits, CJK glyphs, no leftover {{{{ }}}}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
