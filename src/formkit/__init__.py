"""formkit: produce and check 控辍保学 (dropout-control) paperwork.

The public API is re-exported here; everything else is internal and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static typing sees the real names; at run time they load on first use
    from formkit.core.codes import CODES, CodeInfo
    from formkit.core.enums import Enumeration, EnumTable, load_enums
    from formkit.core.errors import (
        ConversionError,
        FormkitError,
        InputFileError,
        OutputError,
        Problem,
        RecordError,
        TemplateError,
        UsageError,
        ValueProblem,
    )
    from formkit.core.fileio import output_error
    from formkit.core.models import (
        Attempt,
        CaseRecord,
        DropoutCase,
        DropoutReportRecord,
        Guardian,
        HomeVisit,
        Issuer,
        NoticeRecord,
        PledgeParentRecord,
        PledgeTeacherRecord,
        School,
        Student,
    )
    from formkit.core.settings import Settings
    from formkit.core.validators import parse_date
    from formkit.documents.batch import (
        BatchItem,
        BatchResult,
        InvalidRosterError,
        batch,
        find_config,
        format_batch,
        load_settings,
    )
    from formkit.documents.engine import CompiledTemplate
    from formkit.documents.forms import (
        FormSpec,
        forms,
        get_form,
        read_json_record,
        record_warnings,
        validate_record,
    )
    from formkit.documents.lint import TemplateIssue, TemplateReport, check_template, format_template_report
    from formkit.documents.register import default_register_path
    from formkit.documents.render import render, render_to
    from formkit.documents.roster import RecordsReport, SheetRow, read_records, sheet_of
    from formkit.ledger.check import FileSummary, Finding, LedgerReport, check_ledger, format_report
    from formkit.ledger.due import (
        DueFailure,
        DueGeneration,
        DueItem,
        due,
        due_record,
        generate_due,
        parse_templates,
    )
    from formkit.ledger.summary import Summary, report_record
    from formkit.ledger.workbook import NewLedger, annotate, new_ledger, summary
    from formkit.tables.columns import column_pins
    from formkit.tables.reader import LedgerTable, read_ledger
    from formkit.web.app import serve

    __version__: str

# Importing a submodule pulls in pydantic, docxtpl, openpyxl, …; ``formkit --version`` must not
# pay for that, so each public name loads its module on first access (PEP 562).
_LAZY: dict[str, str] = {
    "Attempt": "core.models",
    "BatchItem": "documents.batch",
    "BatchResult": "documents.batch",
    "CODES": "core.codes",
    "CaseRecord": "core.models",
    "CodeInfo": "core.codes",
    "CompiledTemplate": "documents.engine",
    "ConversionError": "core.errors",
    "DropoutCase": "core.models",
    "DropoutReportRecord": "core.models",
    "DueFailure": "ledger.due",
    "DueGeneration": "ledger.due",
    "DueItem": "ledger.due",
    "EnumTable": "core.enums",
    "Enumeration": "core.enums",
    "FileSummary": "ledger.check",
    "Finding": "ledger.check",
    "FormSpec": "documents.forms",
    "FormkitError": "core.errors",
    "Guardian": "core.models",
    "HomeVisit": "core.models",
    "InputFileError": "core.errors",
    "InvalidRosterError": "documents.batch",
    "Issuer": "core.models",
    "LedgerReport": "ledger.check",
    "LedgerTable": "tables.reader",
    "NewLedger": "ledger.workbook",
    "NoticeRecord": "core.models",
    "OutputError": "core.errors",
    "PledgeParentRecord": "core.models",
    "PledgeTeacherRecord": "core.models",
    "Problem": "core.errors",
    "RecordError": "core.errors",
    "RecordsReport": "documents.roster",
    "School": "core.models",
    "Settings": "core.settings",
    "Student": "core.models",
    "Summary": "ledger.summary",
    "TemplateError": "core.errors",
    "TemplateIssue": "documents.lint",
    "TemplateReport": "documents.lint",
    "UsageError": "core.errors",
    "ValueProblem": "core.errors",
    "annotate": "ledger.workbook",
    "batch": "documents.batch",
    "check_ledger": "ledger.check",
    "check_template": "documents.lint",
    "column_pins": "tables.columns",
    "default_register_path": "documents.register",
    "due": "ledger.due",
    "due_record": "ledger.due",
    "find_config": "documents.batch",
    "format_batch": "documents.batch",
    "format_report": "ledger.check",
    "format_template_report": "documents.lint",
    "forms": "documents.forms",
    "generate_due": "ledger.due",
    "get_form": "documents.forms",
    "load_enums": "core.enums",
    "load_settings": "documents.batch",
    "new_ledger": "ledger.workbook",
    "output_error": "core.fileio",
    "parse_date": "core.validators",
    "parse_templates": "ledger.due",
    "read_json_record": "documents.forms",
    "read_ledger": "tables.reader",
    "read_records": "documents.roster",
    "sheet_of": "documents.roster",
    "SheetRow": "documents.roster",
    "record_warnings": "documents.forms",
    "render": "documents.render",
    "render_to": "documents.render",
    "report_record": "ledger.summary",
    "serve": "web.app",
    "summary": "ledger.workbook",
    "validate_record": "documents.forms",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("formkit")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0"
    elif name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "CODES",
    "Attempt",
    "BatchItem",
    "BatchResult",
    "CaseRecord",
    "CodeInfo",
    "CompiledTemplate",
    "ConversionError",
    "DropoutCase",
    "DropoutReportRecord",
    "DueFailure",
    "DueGeneration",
    "DueItem",
    "EnumTable",
    "Enumeration",
    "FileSummary",
    "Finding",
    "FormSpec",
    "FormkitError",
    "Guardian",
    "HomeVisit",
    "InputFileError",
    "InvalidRosterError",
    "Issuer",
    "LedgerReport",
    "LedgerTable",
    "NewLedger",
    "NoticeRecord",
    "OutputError",
    "PledgeParentRecord",
    "PledgeTeacherRecord",
    "Problem",
    "RecordError",
    "RecordsReport",
    "School",
    "Settings",
    "SheetRow",
    "Student",
    "Summary",
    "TemplateError",
    "TemplateIssue",
    "TemplateReport",
    "UsageError",
    "ValueProblem",
    "__version__",
    "annotate",
    "batch",
    "check_ledger",
    "check_template",
    "column_pins",
    "default_register_path",
    "due",
    "due_record",
    "find_config",
    "format_batch",
    "format_report",
    "format_template_report",
    "forms",
    "generate_due",
    "get_form",
    "load_enums",
    "load_settings",
    "new_ledger",
    "output_error",
    "parse_date",
    "parse_templates",
    "read_json_record",
    "read_ledger",
    "read_records",
    "record_warnings",
    "render",
    "render_to",
    "report_record",
    "serve",
    "sheet_of",
    "summary",
    "validate_record",
]
