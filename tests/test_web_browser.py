"""The clerk's desk in a real browser: Debian's Chromium driven by Playwright.

Skipped only where no Chromium is installed (``.ci/run`` installs it, so CI always runs these).
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

import formkit
from formkit.web.app import Desk, free_port, start_in_thread
from tests.helpers import ROOT, SAMPLES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (.ci/run installs it)")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    # Parallel workers (pytest-xdist) probe disjoint port ranges: free_port checks, then binds later.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    port = free_port("127.0.0.1", 18765 + 50 * worker)
    stop = start_in_thread(Desk(register=tmp_path / "register.sqlite", work_dir=tmp_path / "work"), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium for the module (a launch costs a second or two); each test gets a fresh context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(params=[True, False], ids=["with-js", "without-js"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[object]:
    """Every flow runs twice: the pages must work with JavaScript switched off, too."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN", java_script_enabled=request.param)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_roster_to_zip_to_document(site: str, page: object, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(site + "/")
    page.get_by_role("link", name="生成文书").first.click()
    page.select_option("select[name=form]", "return-notice")
    page.set_input_files("input[name=roster]", SAMPLES / "roster.xlsx")
    page.set_input_files("input[name=config]", SAMPLES / "formkit.toml")
    page.get_by_role("button", name="检查名单并生成").click()
    link = page.get_by_role("link", name="下载全部结果")
    expect(link).to_be_visible(timeout=60_000)
    expect(page.locator("table")).to_contain_text("石镇教复〔2024〕1号")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("辍学生返校通知书_") and download.suggested_filename.endswith(".zip")
    saved = tmp_path / "result.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        name = next(n for n in archive.namelist() if "王小明" in n and n.endswith(".docx"))
        document = docx.Document(io.BytesIO(archive.read(name)))
    body = "\n".join([p.text for p in document.paragraphs] +
                     [c.text for t in document.tables for r in t.rows for c in r.cells])
    assert "王小明" in body and "石门镇人民政府" in body
    # The settings are remembered for the next visit.
    page.goto(site + "/generate")
    expect(page.locator("input[name=issuer_body]")).to_have_value("石门镇人民政府")


def test_ledger_findings_and_annotated_copy(site: str, page: object, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    report = formkit.check_ledger([SAMPLES / "ledger-filled.xlsx"])
    checksum = next(f for f in report.findings if f.code == "id-checksum")
    page.goto(site + "/ledgers")
    page.set_input_files("input[name=files]", SAMPLES / "ledger-filled.xlsx")
    page.get_by_role("button", name="上传并检查").click()
    row = page.locator("table.findings tr", has_text="id-checksum")
    expect(row).to_contain_text(checksum.cell)
    expect(row).to_contain_text(checksum.message)
    page.select_option("select[name=severity]", "warning")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("table.findings")).not_to_contain_text("id-checksum")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载标注副本").click()
    saved = tmp_path / "annotated.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        (name,) = archive.namelist()
        book = openpyxl.load_workbook(io.BytesIO(archive.read(name)))
    assert book[checksum.sheet][checksum.cell].comment is not None


def test_hostile_file_shows_its_error(site: str, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(site + "/ledgers")
    page.set_input_files("input[name=files]", ROOT / "tests" / "data" / "bad" / "zip-bomb.xlsx")
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("td.unreadable")).to_contain_text("压缩炸弹")
    page.goto(site + "/generate")
    page.set_input_files("input[name=roster]", ROOT / "tests" / "data" / "bad" / "truncated.xlsx")
    page.fill("input[name=issuer_body]", "石门镇人民政府")
    page.get_by_role("button", name="检查名单并生成").click()
    expect(page.get_by_role("alert")).to_contain_text("truncated.xlsx")
