"""formkit: produce and check 控辍保学 (dropout-control) paperwork.

The public API is re-exported here; everything else is internal and may change.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .docx_engine import CompiledTemplate
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
from .render import render, render_to

try:
    __version__ = version("formkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "Attempt",
    "CaseRecord",
    "CompiledTemplate",
    "ConversionError",
    "DropoutCase",
    "DropoutReportRecord",
    "EnumTable",
    "Enumeration",
    "FormSpec",
    "FormkitError",
    "Guardian",
    "HomeVisit",
    "InputFileError",
    "Issuer",
    "NoticeRecord",
    "OutputError",
    "PledgeParentRecord",
    "PledgeTeacherRecord",
    "Problem",
    "RecordError",
    "School",
    "Student",
    "TemplateError",
    "UsageError",
    "ValueProblem",
    "__version__",
    "forms",
    "get_form",
    "load_enums",
    "render",
    "render_to",
    "validate_record",
]
