"""formkit: produce and check 控辍保学 (dropout-control) paperwork.

The public API is re-exported here; everything else is internal and may change.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # static typing sees the real names; at run time they load on first use
    from .batch_runner import BatchItem, BatchResult, InvalidRosterError, batch, load_settings
    from .checker import FileSummary, Finding, LedgerReport, annotate, check_ledger
    from .docx_engine import CompiledTemplate
    from .due_items import DueItem, due
    from .enums import Enumeration, EnumTable, load_enums
    from .errors import (
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
    from .forms import FormSpec, forms, get_form, validate_record
    from .ledger import new_ledger
    from .ledger_reader import LedgerTable, read_ledger
    from .models import (
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
    from .records import RecordsReport, read_records
    from .render import render, render_to
    from .summaries import Summary, summary
    from .template_lint import TemplateIssue, TemplateReport, check_template

    __version__: str

# Importing a submodule pulls in pydantic, docxtpl, openpyxl, …; ``formkit --version`` must not
# pay for that, so each public name loads its module on first access (PEP 562).
_LAZY: dict[str, str] = {
    "Attempt": "models",
    "BatchItem": "batch_runner",
    "BatchResult": "batch_runner",
    "CaseRecord": "models",
    "CompiledTemplate": "docx_engine",
    "ConversionError": "errors",
    "DropoutCase": "models",
    "DropoutReportRecord": "models",
    "DueItem": "due_items",
    "EnumTable": "enums",
    "Enumeration": "enums",
    "FileSummary": "checker",
    "Finding": "checker",
    "FormSpec": "forms",
    "FormkitError": "errors",
    "Guardian": "models",
    "HomeVisit": "models",
    "InputFileError": "errors",
    "InvalidRosterError": "batch_runner",
    "Issuer": "models",
    "LedgerReport": "checker",
    "LedgerTable": "ledger_reader",
    "NoticeRecord": "models",
    "OutputError": "errors",
    "PledgeParentRecord": "models",
    "PledgeTeacherRecord": "models",
    "Problem": "errors",
    "RecordError": "errors",
    "RecordsReport": "records",
    "School": "models",
    "Student": "models",
    "Summary": "summaries",
    "TemplateError": "errors",
    "TemplateIssue": "template_lint",
    "TemplateReport": "template_lint",
    "UsageError": "errors",
    "ValueProblem": "errors",
    "annotate": "checker",
    "batch": "batch_runner",
    "check_ledger": "checker",
    "check_template": "template_lint",
    "due": "due_items",
    "forms": "forms",
    "get_form": "forms",
    "load_enums": "enums",
    "load_settings": "batch_runner",
    "new_ledger": "ledger",
    "read_ledger": "ledger_reader",
    "read_records": "records",
    "render": "render",
    "render_to": "render",
    "summary": "summaries",
    "validate_record": "forms",
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

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule binds it as an attribute of the package; ``formkit.render`` and
        # ``formkit.forms`` must stay the public functions, not the modules of the same name.
        if isinstance(value, ModuleType) and _LAZY.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
