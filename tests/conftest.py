"""Fixtures and hooks only; plain helpers live in tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _formkit_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without ``FORMKIT_*`` variables and leaves none behind.

    The library still keeps settings in the process environment: ``formkit --templates-dir`` run in-process
    (CliRunner) writes ``os.environ["FORMKIT_TEMPLATES"]`` and never removes it, so whichever test ran after
    it rendered the county template. Until those settings are explicit parameters (issue #14 item 3), this
    keeps test order irrelevant and a developer's own ``FORMKIT_*`` shell variables out of the results.
    """
    for name in [n for n in os.environ if n.startswith("FORMKIT_")]:
        monkeypatch.delenv(name)
    yield
    # Variables written behind monkeypatch's back (by the CLI) are not in its undo list.
    for name in [n for n in os.environ if n.startswith("FORMKIT_")]:
        del os.environ[name]
