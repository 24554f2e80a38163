"""Ledger-level operations that combine reading, records and writing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from formkit.core.errors import OutputError


def create_ledger(
    output: Path | str,
    *,
    roster: Path | str | None = None,
    school: str | None = None,
    county: str | None = None,
    township: str | None = None,
    force: bool = False,
) -> tuple[Path, int]:
    """Create a ledger at ``output``, pre-filled from ``roster`` when given.

    Returns the path and the number of pre-filled rows. An existing file is kept unless
    ``force``: a clerk may already have filled it.
    """
    from formkit.documents.roster import read_rows
    from formkit.ledger.workbook import new_ledger

    target = Path(output)
    if target.exists() and not force:
        raise OutputError(f"文件已存在：{target}。它可能已经填写过；确认要覆盖请加 --force。")
    rows: list[dict[str, Any]] = []
    if roster is not None:
        rows = [row for _, row in read_rows(Path(roster))]
    new_ledger(target, rows, school=school, county=county, township=township)
    return target, len(rows)


def new_ledger(
    path: Path | str,
    records: Iterable[dict[str, Any]] | None = None,
    *,
    roster: Path | str | None = None,
    school: str | None = None,
    county: str | None = None,
    township: str | None = None,
    force: bool = False,
) -> Path:
    """Create a ledger workbook at ``path`` from the shipped template.

    Rows are pre-filled from ``records`` (nested dicts) or from a ``roster`` file. An
    existing file is kept (``OutputError``) unless ``force``.
    """
    from formkit.ledger.workbook import new_ledger as write_ledger

    if roster is not None:
        return create_ledger(path, roster=roster, school=school, county=county, township=township, force=force)[0]
    target = Path(path)
    if target.exists() and not force:
        raise OutputError(f"文件已存在：{target}。它可能已经填写过；确认要覆盖请加 --force。")
    return write_ledger(target, list(records or []), school=school, county=county, township=township)
