"""PDF conversion through a persistent LibreOffice, merged PDF/DOCX print files."""

from __future__ import annotations

import io
import os
import signal
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

import formkit
from formkit.core.errors import ConversionError
from formkit.documents.merge import merge_docx
from formkit.documents.pdf import convert_to_pdf, merge_pdfs
from formkit.documents.pdf_server import PdfConverter, _group_alive, find_uno_python
from tests.helpers import needs_soffice, needs_uno, sample


def tiny_docx(path: Path, text: str) -> Path:
    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


def notice(path: Path, name: str) -> Path:
    data = sample("return-notice")
    data["student"]["name"] = name
    path.write_bytes(formkit.render("return-notice", data))
    return path


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@needs_soffice
@needs_uno
def test_converter_recycles_and_leaves_no_process(tmp_path: Path) -> None:
    docs = [tiny_docx(tmp_path / f"d{i}.docx", f"第{i}份") for i in range(3)]
    seen: set[int] = set()
    with PdfConverter(recycle_after=2) as converter:
        for doc in docs:
            converter.convert(doc, tmp_path / f"{doc.stem}.pdf")
            seen.update(converter.pids)
        assert converter.starts == 2  # 3 documents, a fresh LibreOffice every 2 (each start costs seconds)
        group = converter.pids[0]
    assert not any(alive(pid) for pid in seen)
    # Nothing of the group runs any more (a zombie left for a non-reaping init does not count).
    assert not _group_alive(group)
    for doc in docs:
        reader = PdfReader(tmp_path / f"{doc.stem}.pdf")
        assert len(reader.pages) == 1
        assert doc.stem.replace("d", "第") in reader.pages[0].extract_text().replace(" ", "")


@needs_soffice
@needs_uno
def test_converter_recycles_when_memory_grows(tmp_path: Path) -> None:
    doc = tiny_docx(tmp_path / "a.docx", "内存")
    with PdfConverter(max_rss_mb=1) as converter:  # any LibreOffice exceeds 1 MB
        for i in range(21):
            converter.convert(doc, tmp_path / f"a{i}.pdf")
        assert converter.starts == 2  # memory is sampled every 20 documents
    assert "内存" in PdfReader(tmp_path / "a20.pdf").pages[0].extract_text()


@needs_soffice
@needs_uno
def test_broken_document_is_named_and_the_others_convert(tmp_path: Path) -> None:
    good = [notice(tmp_path / f"{n}.docx", n) for n in ("王小明", "李小红")]
    broken = tmp_path / "坏文件.docx"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("word/document.xml", "<not-word")
    ledger = tmp_path / "台账.xlsx"  # spreadsheets need Calc's PDF export, not Writer's
    ledger.write_bytes((Path(__file__).parents[1] / "samples" / "ledger-clean.xlsx").read_bytes())
    with pytest.raises(ConversionError) as err:
        convert_to_pdf([good[0], broken, ledger, good[1]], tmp_path / "pdf")
    assert err.value.code == "pdf-failed"
    assert "坏文件.docx" in str(err.value) and "退出码" not in str(err.value)
    assert "台账" in PdfReader(tmp_path / "pdf" / "台账.pdf").pages[0].extract_text()
    for doc in good:
        reader = PdfReader(tmp_path / "pdf" / f"{doc.stem}.pdf")
        assert doc.stem in reader.pages[0].extract_text().replace(" ", "")


@needs_soffice
@needs_uno
def test_killed_libreoffice_is_retried_in_a_fresh_process(tmp_path: Path) -> None:
    docs = [tiny_docx(tmp_path / f"d{i}.docx", f"文档{i}") for i in range(2)]
    with PdfConverter() as converter:
        converter.convert(docs[0], tmp_path / "d0.pdf")
        os.killpg(converter.pids[0], signal.SIGKILL)  # LibreOffice crashes between documents
        converter.convert(docs[1], tmp_path / "d1.pdf")
        assert converter.starts == 2
    assert "文档1" in PdfReader(tmp_path / "d1.pdf").pages[0].extract_text().replace(" ", "")


@pytest.mark.heavy
@needs_soffice
@needs_uno
def test_five_hundred_documents_in_one_call(tmp_path: Path) -> None:
    # One `soffice --convert-to` call used to stop silently after 246 files. About a minute on two
    # cores, so it runs on request (pytest -m heavy), not in make test; the ceiling has nothing to do
    # with the documents' content, and the other tests here cover recycling, retries and failures.
    docs = [tiny_docx(tmp_path / f"doc{i:03d}.docx", f"编号{i}") for i in range(500)]
    pdfs = convert_to_pdf(docs, tmp_path / "pdf")
    assert [p.stem for p in pdfs] == [d.stem for d in docs]
    for pdf in pdfs:
        assert len(PdfReader(pdf).pages) == 1
    assert "编号499" in PdfReader(pdfs[-1]).pages[0].extract_text().replace(" ", "")


@needs_soffice
def test_cli_fallback_without_uno(tmp_path: Path) -> None:
    missing = "/nonexistent/python3"
    assert find_uno_python(missing) is None
    with pytest.raises(ConversionError) as err:
        PdfConverter(uno_python=missing)
    assert err.value.code == "uno-missing" and "python3-uno" in str(err.value)
    pdfs = convert_to_pdf([tiny_docx(tmp_path / "a.docx", "回退")], tmp_path / "pdf",
                          settings=formkit.Settings(uno_python=missing))
    assert "回退" in PdfReader(pdfs[0]).pages[0].extract_text().replace(" ", "")


@needs_soffice
@needs_uno
def test_merged_pdf_shares_fonts_and_keeps_bookmarks(tmp_path: Path, pdf_converter: PdfConverter) -> None:
    names = ["王小明", "李小红", "张大山", "刘思远", "陈一鸣", "杨文静"]
    docs = [notice(tmp_path / f"{i:03d}_{n}.docx", n) for i, n in enumerate(names)]
    pdfs = [pdf_converter.convert(doc, doc.with_suffix(".pdf")) for doc in docs]
    parts_size = sum(p.stat().st_size for p in pdfs)
    merged = merge_pdfs([(p, p.stem) for p in pdfs], tmp_path / "merged.pdf")
    reader = PdfReader(merged)
    assert len(reader.pages) == sum(len(PdfReader(p).pages) for p in pdfs)
    assert [o.title for o in reader.outline] == [p.stem for p in pdfs]
    starts = [sum(len(PdfReader(p).pages) for p in pdfs[:i]) for i in range(len(pdfs))]
    assert [reader.get_destination_page_number(o) for o in reader.outline] == starts
    assert names[4] in reader.pages[starts[4]].extract_text()
    # Each part embeds its own font subsets; the merged file embeds them once.
    assert merged.stat().st_size < parts_size / 3


def test_merged_pdf_without_sources_concatenates(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    parts = []
    for i in range(3):
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        path = tmp_path / f"p{i}.pdf"
        with path.open("wb") as handle:
            writer.write(handle)
        parts.append((path, f"第{i}份"))
    reader = PdfReader(merge_pdfs(parts, tmp_path / "merged.pdf"))
    assert len(reader.pages) == 3
    assert [o.title for o in reader.outline] == ["第0份", "第1份", "第2份"]


def test_merged_docx_is_one_body_with_a_section_per_document(tmp_path: Path) -> None:
    names = [f"学生{i}" for i in range(30)]
    docs = [notice(tmp_path / f"{i}.docx", n) for i, n in enumerate(names)]
    data = merge_docx(docs)
    merged = docx.Document(io.BytesIO(data))
    assert len(merged.sections) == sum(len(docx.Document(str(d)).sections) for d in docs)
    text = "\n".join(p.text for p in merged.paragraphs)
    positions = [text.index(n + "同学") if n + "同学" in text else text.index(n) for n in names]
    assert positions == sorted(positions)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    import re

    starts = re.findall(r'<w:bookmarkStart\b[^>]*\bw:id="(\d+)"', xml)
    assert len(starts) == len(set(starts))
    assert merge_docx(docs) == data  # deterministic


def test_merged_docx_from_different_templates_falls_back(tmp_path: Path) -> None:
    a = notice(tmp_path / "a.docx", "王小明")
    b = tiny_docx(tmp_path / "b.docx", "另一个模板")
    merged = docx.Document(io.BytesIO(merge_docx([a, b])))
    text = "\n".join(p.text for p in merged.paragraphs)
    assert "王小明" in text and "另一个模板" in text


@needs_soffice
@needs_uno
def test_libreoffice_dies_with_a_killed_formkit(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    doc = tiny_docx(tmp_path / "a.docx", "孤儿")
    code = (
        "import os, sys, signal\nfrom pathlib import Path\nfrom formkit.documents.pdf_server import PdfConverter\n"
        "c = PdfConverter()\nc.convert(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "print(*c.pids, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(doc), str(tmp_path / "a.pdf")],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    group = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 20
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(group)
