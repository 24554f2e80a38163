"""formkit: produce and check 控辍保学 (dropout-control) paperwork.

The public API is re-exported here; everything else is internal and may change.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("formkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

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
