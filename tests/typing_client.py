"""Uses formkit's public API the way a client program would; checked by mypy --strict.

``make typecheck`` runs mypy on this file; ``tests/test_api.py`` also runs it, so a
change that breaks a client's types fails the tests.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import BinaryIO

import formkit


def make_notice(record: dict[str, object], out: Path) -> Path:
    spec: formkit.FormSpec = formkit.get_form("return-notice")
    try:
        model = formkit.validate_record(spec.name, record)
    except formkit.RecordError as err:
        codes: list[str] = [p.code for p in err.problems]
        raise SystemExit(", ".join(codes)) from err
    data: bytes = formkit.render(spec.name, model)
    out.write_bytes(data)
    return formkit.render_to(out.with_suffix(".pdf"), spec.name, model)


def list_forms() -> list[str]:
    return [f"{f.name}:{f.title}" for f in formkit.forms()]


def township_workflow(folder: Path, out: Path) -> tuple[int, int]:
    report: formkit.LedgerReport = formkit.check_ledger([folder], as_of=date(2024, 5, 1))
    errors: int = report.counts["error"]
    findings: list[formkit.Finding] = report.findings
    copies: list[Path] = formkit.annotate(report, out / "checked")
    items: list[formkit.DueItem] = formkit.due(report, date(2024, 5, 1))
    figures: formkit.Summary = formkit.summary([folder], out / "summary.xlsx", "2024-04")
    del findings, copies, figures
    return errors, len(items)


def roster_to_notices(roster: Path, out: Path) -> formkit.BatchResult:
    records: formkit.RecordsReport = formkit.read_records(roster)
    if not records.rows:
        raise SystemExit(f"{roster} 没有记录")
    settings = formkit.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08"])
    result: formkit.BatchResult = formkit.batch("return-notice", roster, out, settings=settings, jobs=1)
    table: formkit.LedgerTable = formkit.read_ledger(formkit.new_ledger(out / "ledger.xlsx", roster=roster))
    assert table.rows
    return result


def lint(path: Path) -> bool:
    report: formkit.TemplateReport = formkit.check_template(path, "return-notice")
    return report.valid and isinstance(report.to_json(), str)


def errors_by_type(exc: Exception) -> str:
    if isinstance(exc, formkit.InputFileError):
        return f"file:{exc.code}:{exc.path}"
    if isinstance(exc, formkit.FormkitError):
        return exc.code
    raise exc


def notice_deadline(record: dict[str, object], county: Path) -> date | None:
    """Typed per form: a notice's record has an issuer with a deadline, read without casts."""
    settings = formkit.Settings(templates_dir=county, render_seconds=5.0)
    notice: formkit.NoticeRecord = formkit.validate_record("return-notice", record, settings=settings)
    issued: date = notice.issuer.issue_date
    report = formkit.validate_record("dropout-report", record)
    visits: int = len(report.visits)
    teacher = formkit.validate_record("pledge-teacher", record)
    enrolled: int = teacher.enrolled
    del issued, visits, enrolled
    return notice.issuer.deadline


def uploads(workbook: bytes, template: bytes, upload: BinaryIO) -> tuple[int, bool, bytes]:
    """Uploads need no file: a workbook or template as bytes or a binary file object."""
    report: formkit.LedgerReport = formkit.check_ledger([workbook, upload], as_of=date(2024, 5, 1))
    table: formkit.LedgerTable = formkit.read_ledger(io.BytesIO(workbook))
    lint: formkit.TemplateReport = formkit.check_template(template, "return-notice")
    record = formkit.validate_record("home-visit", {"student": {"name": "王小明"}})
    data: bytes = formkit.render("home-visit", record, template=io.BytesIO(template))
    return len(report.findings) + len(table.rows), lint.valid, data
