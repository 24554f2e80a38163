"""Locate the templates shipped with formkit (inside the wheel, or in a source checkout)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def template_root() -> Traversable:
    """The folder holding ``docx/`` and ``xlsx/`` templates.

    In an installed wheel it is ``formkit/templates`` (hatchling force-includes the
    repository's root ``templates/`` there); in an editable/source checkout it is the
    repository's ``templates/`` folder.
    """
    packaged = resources.files("formkit").joinpath("templates")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "templates"
    return checkout


def template_bytes(kind: str, filename: str) -> bytes:
    """Read one shipped template (``kind`` is ``docx`` or ``xlsx``)."""
    return template_root().joinpath(kind).joinpath(filename).read_bytes()
