"""The public API: exports, a client's five calls, JSON of every report, and types."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import formkit
from tests.helpers import ROOT, SAMPLES
from tests.typing_client import lint, roster_to_notices, township_batch, township_workflow


def test_everything_in_all_is_exported_and_typed() -> None:
    for name in formkit.__all__:
        assert hasattr(formkit, name), name
    assert (Path(formkit.__file__).parent / "py.typed").exists()


def test_client_calls_work(tmp_path: Path) -> None:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    for name in ("ledger-clean.xlsx", "ledger-b.xlsx"):
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    errors, due = township_workflow(folder, tmp_path)
    assert errors == 0 and due == 6
    assert (tmp_path / "summary.xlsx").exists() and len(list((tmp_path / "checked").iterdir())) == 2
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes((SAMPLES / "roster.xlsx").read_bytes())
    result = roster_to_notices(roster, tmp_path / "notices")
    assert result.counts == {"written": 12}
    assert lint(ROOT / "templates" / "docx" / "return-notice.docx")


def test_reports_serialise_to_json(tmp_path: Path) -> None:
    report = formkit.check_ledger(SAMPLES / "ledger-filled.xlsx", date(2024, 5, 1))
    assert json.loads(report.to_json())["counts"] == report.counts
    records = formkit.read_records(SAMPLES / "roster.xlsx", "return-notice")
    data = json.loads(records.to_json())
    assert data["valid"] is False  # a plain roster has no issuer: every row says so, by row number
    assert data["problems"][0]["row"] == 3 and data["problems"][0]["problems"][0]["path"] == "issuer"


def test_typing_client_passes_mypy_strict() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(ROOT / "tests" / "typing_client.py")],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_client_batches_a_township_workbook_sheet_by_sheet(tmp_path: Path) -> None:
    from tests.clerk_books import township_book

    book = tmp_path / "平寨镇台账.xlsx"
    township_book().save(book)
    (tmp_path / "县版").mkdir()
    rows, hints = township_batch(book, tmp_path / "out", tmp_path / "县版")
    assert hints[0] == formkit.CODES["invalid-roster"].cli_hint and "--skip-invalid" in hints[0]
    assert "平寨中学:7" in hints[1:]  # each refused row names its worksheet (sheet_of)
    assert {row.split(":")[0] for row in rows} == {"平寨小学", "平寨中学"}  # the hidden 旧表 is not read
    assert "平寨中学:7:skipped-invalid" in rows and "平寨小学:6:written" in rows
