"""The engine's one list of templated parts, read by the renderer and the linter alike, and the
docxtpl helpers the engine borrows (issue #14 item 7)."""

from __future__ import annotations

import inspect
import io
import re
import zipfile
from importlib.metadata import version
from pathlib import Path

import docx
import pytest
from docxtpl import DocxTemplate

import formkit
from formkit.documents.engine import TEMPLATED_PART
from tests.helpers import sample

ROOT = Path(__file__).resolve().parent.parent
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _note_part(kind: str, text: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:{kind}s xmlns:w="{W}"><w:{kind} w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
            f'</w:{kind}></w:{kind}s>').encode()


def with_notes(footnote: str, endnote: str) -> bytes:
    """A .docx whose body is plain and whose foot- and endnotes hold the given text."""
    document = docx.Document()
    document.add_paragraph("通知：{{ student.name }}")
    plain = io.BytesIO()
    document.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("word/footnotes.xml", _note_part("footnote", footnote))
        dst.writestr("word/endnotes.xml", _note_part("endnote", endnote))
    return out.getvalue()


def test_footnotes_and_endnotes_are_rendered() -> None:
    template = formkit.CompiledTemplate(with_notes("脚注：{{ student.name }}", "尾注：{{ school.school }}"), "n.docx")
    record = sample("return-notice")
    rendered = formkit.render("return-notice", record, template=template)
    with zipfile.ZipFile(io.BytesIO(rendered)) as package:
        assert "脚注：王小明" in package.read("word/footnotes.xml").decode()
        assert f"尾注：{record['school']['school']}" in package.read("word/endnotes.xml").decode()


def test_linter_reads_the_notes_the_renderer_reads(tmp_path: Path) -> None:
    path = tmp_path / "return-notice.docx"
    path.write_bytes(with_notes("脚注：{{ studnet.name }}", "尾注：｛｛ school.school ｝｝"))
    report = formkit.check_template(path)
    codes = {i.code for i in report.issues}
    assert {"unknown-variable", "tag-fullwidth"} <= codes
    assert any("studnet" in i.message for i in report.issues)
    assert TEMPLATED_PART.match("word/footnotes.xml") and TEMPLATED_PART.match("word/endnotes.xml")


def test_lint_has_no_list_of_parts_of_its_own() -> None:
    source = (ROOT / "src" / "formkit" / "documents" / "lint.py").read_text(encoding="utf-8")
    assert "TEMPLATED_PART" not in source and "word/" not in source
    assert not re.search(r"<w:[pt]\b", source)  # WordprocessingML is read in the engine only


def test_docxtpl_is_pinned_below_the_next_release() -> None:
    """The engine calls ``DocxTemplate.patch_xml`` and ``resolve_listing`` with ``None`` as ``self``:
    safe only while they never touch ``self``. The pin stops an untested release; raising it means
    re-checking these two methods (this test reads their source) and then moving the bound."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"docxtpl>=0.18,<0.21"' in pyproject
    installed = tuple(int(x) for x in version("docxtpl").split(".")[:2])
    assert (0, 18) <= installed < (0, 21)
    for method in (DocxTemplate.patch_xml, DocxTemplate.resolve_listing):
        body = inspect.getsource(method)
        assert "self." not in body and "self)" not in body.split(":", 1)[1], method.__name__


@pytest.mark.parametrize("xml", ["<w:p><w:r><w:t>a\nb</w:t></w:r></w:p>"])
def test_resolve_listing_still_works_without_an_instance(xml: str) -> None:
    assert "<w:br/>" in DocxTemplate.resolve_listing(None, xml)  # type: ignore[arg-type]
