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
    return formkit.render_to(out.with_suffix(".pdf"), spec.name, model, overwrite=True)


def notice_from_json(path: Path, out: Path) -> tuple[Path, list[str]]:
    record: dict[str, object] = formkit.read_json_record(path)
    model = formkit.validate_record("return-notice", record, where=str(path))
    warnings: list[formkit.Problem] = formkit.record_warnings(model)
    try:
        written: Path = formkit.render_to(out, "return-notice", record, where=str(path))
    except formkit.OutputError as err:
        if err.code != "output-exists":
            raise
        written = formkit.render_to(out, "return-notice", record, overwrite=True)
    return written, [w.code for w in warnings]


def list_forms() -> list[str]:
    return [f"{f.name}:{f.title}" for f in formkit.forms()]


def township_workflow(folder: Path, out: Path) -> tuple[int, int]:
    report: formkit.LedgerReport = formkit.check_ledger([folder], as_of=date(2024, 5, 1))
    errors: int = report.counts["error"]
    findings: list[formkit.Finding] = report.findings
    copies: list[Path] = formkit.annotate(report, out / "checked")
    items: list[formkit.DueItem] = formkit.due(report, date(2024, 5, 1))
    figures: formkit.Summary = formkit.summary([folder], out / "summary.xlsx", "2024-04", report=out / "月报.docx",
                                               report_area="石门镇", columns=formkit.column_pins(None, ["户主=guardian"]))
    record: dict[str, object] = formkit.report_record(figures, figures.area)
    monthly: bytes = formkit.render("monthly-report", record)
    del findings, copies, monthly
    return errors, len(items)


def generate_due_notices(ledger: Path, out: Path, register: Path) -> tuple[int, int, list[str]]:
    """(documents due, documents written, one ``row:column:code`` per refusal)."""
    config: Path | None = formkit.find_config(ledger)
    settings = formkit.load_settings(config, ["body=石门镇人民政府", "issue_date=2024-05-06"])
    items = formkit.due(ledger, formkit.parse_date("2024-05-01"), register=register)
    records: list[dict[str, object]] = [formkit.due_record(i) for i in items if i.form and i.state == "due"]
    made: formkit.DueGeneration = formkit.generate_due(items, out, issuer=settings, register=register, jobs=1,
                                                       templates=formkit.parse_templates([]))
    results: dict[str, formkit.BatchResult] = made.results
    failures: list[formkit.DueFailure] = made.failures
    written = sum(r.counts.get("written", 0) for r in results.values())
    return len(records), written, [f"{f.item.row}:{f.column}:{f.problem.code}" for f in failures]


def roster_to_notices(roster: Path, out: Path) -> formkit.BatchResult:
    records: formkit.RecordsReport = formkit.read_records(roster)
    if not records.rows:
        raise SystemExit(f"{roster} 没有记录")
    settings = formkit.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08"])
    result: formkit.BatchResult = formkit.batch("return-notice", roster, out, issuer=settings, jobs=1)
    made: formkit.NewLedger = formkit.new_ledger(out / "ledger.xlsx", roster=roster)
    table: formkit.LedgerTable = formkit.read_ledger(made.path)
    assert len(table.rows) == made.rows
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


def township_batch(workbook: Path, out: Path, county: Path) -> tuple[list[str], list[str]]:
    """A township workbook, every ledger sheet, with county Settings: (sheet:row:status, CLI-style hints)."""
    options = formkit.Settings(templates_dir=county, columns=formkit.column_pins(None, ["户主=guardian"]))
    issuer: dict[str, object] = formkit.load_settings(formkit.find_config(workbook), ["issuer.body=石门镇人民政府",
                                                                                   "issuer.issue_date=2024-04-08"])
    hints: list[str] = []
    try:
        result: formkit.BatchResult = formkit.batch("return-notice", workbook, out, issuer=issuer,
                                                    settings=options, overwrite=False, jobs=1)
    except formkit.InvalidRosterError as err:
        info: formkit.CodeInfo = formkit.CODES[err.code]
        hints.append(info.cli_hint)
        # Which worksheet each refused row is on (a township workbook numbers rows per sheet).
        hints += [f"{formkit.sheet_of(row)}:{row}" for row, _problems in err.rows]
        result = formkit.batch("return-notice", workbook, out, issuer=issuer, settings=options, skip_invalid=True)
    except OSError as err:
        written_err: formkit.OutputError = formkit.output_error(err, out)
        raise SystemExit(f"{written_err.code}: {formkit.CODES[written_err.code].title}") from err
    items: list[formkit.BatchItem] = result.items
    text: str = formkit.format_batch(result)
    del text
    return [f"{i.sheet}:{i.row}:{i.status}" for i in items], hints


def due_by_sheet(ledger: Path, out: Path, options: formkit.Settings) -> list[str]:
    report = formkit.check_ledger(ledger, settings=options)
    print(formkit.format_report(report))
    items = formkit.due(report, date(2024, 5, 1), settings=options)
    made = formkit.generate_due(items, out, issuer={"issuer.body": "石门镇人民政府"}, settings=options, overwrite=True)
    return [f"{i.file}:{i.sheet}:{i.row}" for i in items] + [f"{f.item.sheet}:{f.column}" for f in made.failures]
