"""Fixtures and hooks only; plain helpers live in tests/helpers.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from formkit.documents.pdf_server import PdfConverter
from tests.helpers import ROOT, SAMPLES

# Tests sharing an expensive module or session fixture run on one xdist worker (make test uses
# --dist loadgroup), so the fixture is built once per run, not once per worker.
SHARED_FIXTURES = {"form_pdfs": "form_pdfs", "printed": "form_pdfs", "pdf_converter": "pdf_converter",
                   "outcomes": "template_attacks", "browser": "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        groups = {SHARED_FIXTURES[name] for name in getattr(item, "fixturenames", ()) if name in SHARED_FIXTURES}
        if groups:
            item.add_marker(pytest.mark.xdist_group(min(groups)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    # make test runs -q, which hides pytest-randomly's header: say how to repeat this order.
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"test order: repeat with -p randomly --randomly-seed={seed}")


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


@pytest.fixture(scope="session")
def form_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every form rendered from its sample record ("sample") and its worst case ("worst", tests/data/worst),
    converted to PDF once for the whole run, in one LibreOffice start: test_layout reads the printed text,
    test_forms_render the fonts and page sizes. Request it only from tests marked ``needs_soffice``."""
    import formkit
    from formkit.documents.pdf import convert_to_pdf

    folders = {"sample": SAMPLES, "worst": ROOT / "tests" / "data" / "worst"}
    work = tmp_path_factory.mktemp("forms")
    docs: dict[tuple[str, str], Path] = {}
    with pytest.MonkeyPatch.context() as env:  # the shipped templates, whatever the shell has set
        for name in [n for n in os.environ if n.startswith("FORMKIT_")]:
            env.delenv(name)
        for variant, folder in folders.items():
            for spec in formkit.forms():
                data = json.loads((folder / f"{spec.name}.json").read_text(encoding="utf-8"))
                path = work / f"{spec.name}.{variant}.docx"
                path.write_bytes(formkit.render(spec.name, data))
                docs[(variant, spec.name)] = path
        pdfs = convert_to_pdf(list(docs.values()), work / "pdf")
    return dict(zip(docs, pdfs, strict=True))


@pytest.fixture(scope="session")
def pdf_converter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PdfConverter]:
    """One persistent LibreOffice for tests that need a real PDF but do not test the converter's own
    start, recycling or failure handling (test_pdf does, with converters of its own)."""
    with PdfConverter(work_root=tmp_path_factory.mktemp("converter")) as converter:
        yield converter
