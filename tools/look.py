"""`make look`: render every form and the ledger template to PNG in out/look/ for a visual check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import formkit
from formkit.pdf import convert_to_pdf

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "look"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    docs = []
    for form in formkit.forms():
        data = json.loads((ROOT / "samples" / f"{form.name}.json").read_text(encoding="utf-8"))
        docs.append(formkit.render_to(OUT / f"{form.name}.docx", form.name, data))
    ledger = OUT / "ledger-clean.xlsx"
    shutil.copyfile(ROOT / "samples" / "ledger-clean.xlsx", ledger)
    for pdf in convert_to_pdf([*docs, ledger], OUT):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(pdf.with_suffix(""))], check=True)
    print(f"PNG pages in {OUT}: look at every one (A4 fits, CJK glyphs, no leftover {{{{ }}}}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
