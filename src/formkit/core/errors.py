"""The formkit exception family.

Every error formkit raises on purpose derives from :class:`FormkitError`, and each
subclass also inherits the builtin a caller would naturally catch (``ValueError`` for
bad data, ``OSError`` for unusable files). ``str(error)`` is a Chinese message meant for
the clerk; ``error.code`` is a stable English code meant for programs, registered with its
Chinese title and meaning in :mod:`formkit.core.codes` (an unregistered code is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from formkit.core import codes


class FormkitError(Exception):
    """Base of every error formkit raises deliberately.

    ``code`` is a stable English identifier; the message (``str(err)``) is Chinese and
    says what is wrong and what to do. Messages never contain unmasked ID numbers.
    """

    code: str = "formkit-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        codes.require(self.code)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class ValueProblem(FormkitError, ValueError):
    """One value failed one validator (raised by the pure functions in ``validators``).

    ``value`` is already safe to show (ID numbers masked).
    """

    def __init__(self, code: str, message: str, value: str = "") -> None:
        super().__init__(message, code=code)
        self.value = value


@dataclass(frozen=True)
class Problem:
    """One problem with one field of one record, safe to show to a user."""

    code: str
    field: str
    """The field's Chinese label, dotted for nested fields (``学生.身份证号``)."""
    message: str
    value: str = ""
    path: str = ""
    """The field's English dotted path (``student.id_number``), for mapping back to a column."""
    severity: str = dataclass_field(init=False)
    """From the code's registry entry (:mod:`formkit.core.codes`), never chosen by the caller."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", codes.severity(self.code))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "path": self.path,
            "message": self.message,
            "value": self.value,
            "severity": self.severity,
        }


class RecordError(FormkitError, ValueError):
    """A record (one student's data) is invalid; ``problems`` lists every field at fault."""

    code = "invalid-record"

    def __init__(self, message: str, problems: list[Problem] | None = None, *, where: str = "") -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])
        self.where = where

    def __str__(self) -> str:
        lines = [self.message]
        # Same shape as a roster's refusal (InvalidRosterError): the stable code ends each line.
        lines += [f"  - {p.field}：{p.message}" + (f"（值：{p.value}）" if p.value else "") + f" [{p.code}]"
                  for p in self.problems]
        return "\n".join(lines)


class InputFileError(FormkitError, OSError):
    """An input file cannot be used at all (missing, wrong format, corrupt, too large)."""

    code = "input-file"

    def __init__(self, message: str, *, path: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.path = path


class TemplateError(FormkitError, ValueError):
    """A Word template is broken, unsafe, or asks for a value the record lacks."""

    code = "template"


class ConversionError(FormkitError, RuntimeError):
    """LibreOffice is missing or failed to convert a document to PDF."""

    code = "pdf-conversion"


class OutputError(FormkitError, OSError):
    """An output cannot be written (exists and would be overwritten, or unsafe name)."""

    code = "output"


class UsageError(FormkitError, ValueError):
    """The caller asked for something that does not exist (unknown form, bad option)."""

    code = "usage"
