"""Everything a county or a caller may change about how formkit works, in one frozen value.

A :class:`Settings` is passed down explicitly (``settings=`` on the library calls); nothing in
the library reads environment variables or process-wide state, so two calls in one process
with different settings never see each other's. The command line builds one from its flags
and the ``FORMKIT_*`` environment variables (:meth:`Settings.from_environ`), and a caller
that changes nothing passes nothing (:data:`DEFAULT_SETTINGS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from formkit.core.enums import EnumTable, load_enums
from formkit.core.errors import UsageError
from formkit.core.zip_guard import Limits

DEFAULT_RENDER_SECONDS = 10.0
"""Wall-clock limit for rendering one document (0 = no limit)."""
DEFAULT_LOCK_WAIT = 10.0
"""Seconds a run waits for another run's lock on the same output folder."""

ENV_TEMPLATES = "FORMKIT_TEMPLATES"
ENV_ENUMS = "FORMKIT_ENUMS"
ENV_RENDER_SECONDS = "FORMKIT_RENDER_SECONDS"
ENV_LOCK_WAIT = "FORMKIT_LOCK_WAIT"
ENV_SOFFICE = "FORMKIT_SOFFICE"
ENV_UNO_PYTHON = "FORMKIT_UNO_PYTHON"


def _frozen(pins: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(pins))


@dataclass(frozen=True)
class Settings:
    """How formkit works for one caller.

    ``templates_dir``: a folder whose ``<form>.docx`` files replace the shipped templates.
    ``enums``: the enumeration table values are matched against (a county's own, or the shipped one).
    ``limits``: size limits for untrusted workbooks. ``render_seconds``: the wall-clock limit of one
    render (0 = none). ``lock_wait``: seconds to wait for another run's output-folder lock.
    ``columns``: header wordings pinned to fields (``{"家长联系方式": "phone"}``) for every reader.
    ``soffice``: the LibreOffice program to convert with (default: found on ``PATH``). ``uno_python``:
    a Python that can ``import uno`` for the persistent converter (default: looked for).
    """

    templates_dir: Path | None = None
    enums: EnumTable = field(default_factory=load_enums)
    limits: Limits = field(default_factory=Limits)
    render_seconds: float = DEFAULT_RENDER_SECONDS
    lock_wait: float = DEFAULT_LOCK_WAIT
    columns: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    soffice: str | None = None
    uno_python: str | None = None

    def __post_init__(self) -> None:
        # A frozen value must not share a dict its caller may still change.
        object.__setattr__(self, "columns", _frozen(self.columns))
        for name in ("render_seconds", "lock_wait"):
            # NaN compares false with every deadline and a negative render limit means "none":
            # either would quietly switch a guard off.
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise UsageError(f"设置项 {name} 应是不小于 0 的秒数，收到 {value!r}。", code="usage")
        if self.templates_dir is not None:
            object.__setattr__(self, "templates_dir", Path(self.templates_dir))

    def __reduce__(self) -> tuple[type[Settings], tuple[object, ...]]:
        # The read-only columns view cannot be pickled; batch workers and the web page's
        # processes receive settings by pickle.
        return (Settings, (self.templates_dir, self.enums, self.limits, self.render_seconds, self.lock_wait,
                           dict(self.columns), self.soffice, self.uno_python))

    def with_columns(self, pins: Mapping[str, str]) -> Settings:
        """These settings with ``pins`` added to (and overriding) the pinned columns."""
        return replace(self, columns={**self.columns, **pins})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Settings from ``FORMKIT_*`` variables in ``environ`` (the CLI passes ``os.environ``).

        ``FORMKIT_TEMPLATES``, ``FORMKIT_ENUMS`` (a TOML file), ``FORMKIT_RENDER_SECONDS``,
        ``FORMKIT_LOCK_WAIT``, ``FORMKIT_SOFFICE``, ``FORMKIT_UNO_PYTHON`` and ``FORMKIT_MAX_<LIMIT>``;
        unset or unreadable numbers keep their defaults. ``overrides`` (keyword per field) win over
        the environment.
        """
        templates = environ.get(ENV_TEMPLATES) or None
        enums_path = environ.get(ENV_ENUMS) or None
        values: dict[str, object] = {
            "templates_dir": Path(templates) if templates else None,
            "enums": load_enums(enums_path),
            "limits": Limits.from_env(environ),
            "render_seconds": _number(environ.get(ENV_RENDER_SECONDS), DEFAULT_RENDER_SECONDS),
            "lock_wait": _number(environ.get(ENV_LOCK_WAIT), DEFAULT_LOCK_WAIT),
            "soffice": environ.get(ENV_SOFFICE) or None,
            "uno_python": environ.get(ENV_UNO_PYTHON) or None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _number(raw: str | None, default: float) -> float:
    try:
        value = float(raw) if raw and raw.strip() else default
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


DEFAULT_SETTINGS = Settings()
"""The shipped behaviour: shipped templates and enumerations, default limits."""


def settings_or_default(settings: Settings | None) -> Settings:
    """``settings``, or :data:`DEFAULT_SETTINGS` when the caller passed none."""
    return DEFAULT_SETTINGS if settings is None else settings
