"""The bad-input corpus (tests/data/bad, made by tests/make_bad_corpus.py) and privacy checks."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formkit.core.errors import FormkitError
from formkit.tables.reader import read_ledger
from tests.helpers import ROOT, SAMPLES

BAD = ROOT / "tests" / "data" / "bad"
# file → (exit code of `ledger check`, exit code of `batch`); None = command not applicable.
EXPECTED: dict[str, tuple[int | None, int]] = {
    "text-renamed.xlsx": (2, 2),
    "truncated.xlsx": (2, 2),
    "empty-workbook.xlsx": (2, 2),
    "title-only.xlsx": (2, 2),
    "encrypted.xlsx": (2, 2),
    "zip-bomb.xlsx": (2, 2),
    "billion-laughs.xlsx": (2, 2),
    "far-cell.xlsx": (2, 2),
    "far-cell-single-quotes.xlsx": (2, 2),
    "far-cell-spaces.xlsx": (2, 2),
    "far-cell-moved-sheet.xlsx": (2, 2),
    "far-cell-upper-case-part.xlsx": (2, 2),
    "dimension-claim.xlsx": (2, 2),
    "formula-names.xlsx": (0, 0),
    "formulas-and-errors.xlsx": (1, 1),
    "merged-over-data.xlsx": (1, 1),
    "hidden-rows-and-sheets.xlsx": (1, 1),
    "huge-cell.xlsx": (0, 0),
    "roster-gbk.csv": (2, 0),
    "roster-utf16.csv": (2, 0),
    "roster-nul.csv": (2, 2),
    "roster-not-a-list.json": (2, 2),
}
MEMORY_LIMIT = 3 * 1024**3


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "formkit.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env, preexec_fn=limit, cwd=tmp_path, check=False)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_ends_cleanly(name: str, tmp_path: Path) -> None:
    path = BAD / name
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    check_exit, batch_exit = EXPECTED[name]
    started = time.monotonic()
    check = _run(["ledger", "check", str(path), "--as-of", "2024-05-01"], tmp_path)
    batch = _run(["batch", "return-notice", str(path), "-o", str(tmp_path / "out"), "--set", "body=石门镇人民政府",
                  "--set", "issue_date=2024-04-08", "--register", str(tmp_path / "r.sqlite"), "--jobs", "1"], tmp_path)
    assert time.monotonic() - started < 90
    for result, expected in ((check, check_exit), (batch, batch_exit)):
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output[-2000:]
        assert result.returncode != -6 and result.returncode != 134, "aborted inside the spreadsheet reader"
        assert result.returncode == expected, output[-2000:]
        if expected == 2:
            assert name in output and any("\u4e00" <= c <= "\u9fff" for c in output)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    if path.suffix == ".xlsx" and check_exit == 2:
        with pytest.raises(FormkitError) as err:
            read_ledger(path)
        assert err.value.code == CODES[name]


CODES = {
    "text-renamed.xlsx": "file-type", "truncated.xlsx": "file-corrupt", "empty-workbook.xlsx": "no-header",
    "title-only.xlsx": "no-header", "encrypted.xlsx": "file-encrypted", "zip-bomb.xlsx": "file-too-large",
    "billion-laughs.xlsx": "file-hostile", "far-cell.xlsx": "file-too-large",
    "far-cell-single-quotes.xlsx": "file-too-large", "far-cell-spaces.xlsx": "file-too-large",
    "far-cell-moved-sheet.xlsx": "file-too-large", "far-cell-upper-case-part.xlsx": "file-too-large",
    "dimension-claim.xlsx": "file-too-large",
}


def test_privacy_ids_and_phones_never_printed_in_full(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
    secrets = {r["student"]["id_number"] for r in records} | {r["guardian"]["phone"] for r in records}
    secrets |= {r["case"]["responsible_phone"] for r in records}
    outputs = []
    for args in (
        ["ledger", "check", str(SAMPLES), "--as-of", "2024-05-01"],
        ["ledger", "check", str(SAMPLES / "ledger-filled.xlsx"), "--as-of", "2024-05-01", "--json"],
        ["ledger", "due", str(SAMPLES / "ledger-filled.xlsx"), "--as-of", "2024-05-01"],
        ["ledger", "due", str(SAMPLES / "ledger-filled.xlsx"), "--as-of", "2024-05-01", "--json"],
        ["batch", "return-notice", str(SAMPLES / "roster.xlsx"), "-o", str(tmp_path / "o"), "--register",
         str(tmp_path / "r.sqlite"), "--jobs", "1", "--dry-run"],
        ["batch", "return-notice", str(SAMPLES / "roster.xlsx"), "-o", str(tmp_path / "o"), "--register",
         str(tmp_path / "r.sqlite"), "--jobs", "1", "--json"],
    ):
        result = _run(args, tmp_path)
        outputs.append(result.stdout + result.stderr)
    bad = tmp_path / "bad.json"
    broken = json.loads(json.dumps(records))
    for r in broken:
        r["student"]["id_number"] = r["student"]["id_number"][:17] + ("0" if r["student"]["id_number"][17] != "0" else "1")
        secrets.add(r["student"]["id_number"])
    bad.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    result = _run(["batch", "return-notice", str(bad), "-o", str(tmp_path / "b"), "--set", "body=x", "--set",
                   "issue_date=2024-04-08", "--register", str(tmp_path / "r.sqlite")], tmp_path)
    assert result.returncode == 1
    outputs.append(result.stdout + result.stderr)
    manifest = (tmp_path / "o" / "manifest.json").read_text(encoding="utf-8")
    for text in [*outputs, manifest]:
        leaked = [s for s in secrets if s in text]
        assert not leaked, leaked[:3]
