"""formkit: produce and check 控辍保学 (dropout-control) paperwork.

The public API is re-exported here; everything else is internal and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static typing sees the real names; at run time they load on first use
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
    from formkit.documents.batch import BatchItem, BatchResult, InvalidRosterError, batch, load_settings
    from formkit.documents.engine import CompiledTemplate
    from formkit.documents.forms import FormSpec, forms, get_form, validate_record
    from formkit.documents.lint import TemplateIssue, TemplateReport, check_template
    from formkit.documents.render import render, render_to
    from formkit.documents.roster import RecordsReport, read_records
    from formkit.ledger.check import FileSummary, Finding, LedgerReport, check_ledger
    from formkit.ledger.due import DueItem, due
    from formkit.ledger.summary import Summary
    from formkit.ledger.workbook import annotate, new_ledger, summary
    from formkit.tables.reader import LedgerTable, read_ledger

    __version__: str

# Importing a submodule pulls in pydantic, docxtpl, openpyxl, …; ``formkit --version`` must not
# pay for that, so each public name loads its module on first access (PEP 562).
_LAZY: dict[str, str] = {
    "Attempt": "core.models",
    "BatchItem": "documents.batch",
    "BatchResult": "documents.batch",
    "CaseRecord": "core.models",
    "CompiledTemplate": "documents.engine",
    "ConversionError": "core.errors",
    "DropoutCase": "core.models",
    "DropoutReportRecord": "core.models",
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
    "due": "ledger.due",
    "forms": "documents.forms",
    "get_form": "documents.forms",
    "load_enums": "core.enums",
    "load_settings": "documents.batch",
    "new_ledger": "ledger.workbook",
    "read_ledger": "tables.reader",
    "read_records": "documents.roster",
    "render": "documents.render",
    "render_to": "documents.render",
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
    "Attempt",
    "BatchItem",
    "BatchResult",
    "CaseRecord",
    "CompiledTemplate",
    "ConversionError",
    "DropoutCase",
    "DropoutReportRecord",
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
    "NoticeRecord",
    "OutputError",
    "PledgeParentRecord",
    "PledgeTeacherRecord",
    "Problem",
    "RecordError",
    "RecordsReport",
    "School",
    "Settings",
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
    "due",
    "forms",
    "get_form",
    "load_enums",
    "load_settings",
    "new_ledger",
    "read_ledger",
    "read_records",
    "render",
    "render_to",
    "summary",
    "validate_record",
]
