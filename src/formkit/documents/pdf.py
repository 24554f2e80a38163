"""DOCX → PDF through LibreOffice, and merging PDFs into one bookmarked print file.

A persistent LibreOffice (see :mod:`formkit.documents.pdf_server`) converts a whole list of documents:
starting LibreOffice costs seconds, converting a page a fraction of that. Each converter uses a
private LibreOffice profile in a private work folder inside the output folder, so parallel
conversions do not collide and no copy of a document is left in /tmp after a kill (the next
conversion into the folder removes a killed run's work folder).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from formkit.core.errors import ConversionError
from formkit.core.fileio import atomic_write, remove_leftovers, work_area
from formkit.core.settings import Settings, settings_or_default
from formkit.documents.office import _fontconfig, _kill_group, _tell, _watchdog, find_soffice


def convert_to_pdf(docs: Sequence[Path], out_dir: Path, *, timeout: float | None = None,
                   settings: Settings | None = None) -> list[Path]:
    """Convert ``docs`` to PDF in ``out_dir`` with one persistent LibreOffice; return the PDFs.

    Any number of documents: LibreOffice is recycled every few hundred documents.
    ``timeout`` bounds each document (default 120 s). A document LibreOffice cannot convert does
    not stop the others; after all are done, ``ConversionError`` (code ``pdf-failed``) names every
    failed document. Each PDF is written atomically, so an interruption leaves no half PDF.
    ``settings`` say which LibreOffice (and uno Python) to use.
    """
    if not docs:
        return []
    chosen = settings_or_default(settings)
    soffice = find_soffice(chosen.soffice)
    # "-o 输出" is relative: LibreOffice's profile URI, HOME and TMPDIR must not be.
    out_dir = out_dir.absolute()
    docs = [Path(doc).absolute() for doc in docs]
    out_dir.mkdir(parents=True, exist_ok=True)
    from formkit.documents.pdf_server import PdfConverter, find_uno_python

    remove_leftovers(out_dir)
    python = find_uno_python(chosen.uno_python)
    if python is None:
        return _convert_cli(docs, out_dir, timeout, soffice)
    results: list[Path] = []
    failed: list[ConversionError] = []
    with work_area(out_dir) as work, PdfConverter(timeout=timeout or 120.0, work_root=work, soffice=soffice,
                                                  uno_python=python) as converter:
        for doc in docs:
            try:
                results.append(converter.convert(doc, out_dir / (Path(doc).stem + ".pdf")))
            except ConversionError as exc:
                if exc.code != "pdf-failed":
                    raise
                failed.append(exc)
    _raise_failed(failed, len(results))
    return results


def _raise_failed(failed: Sequence[ConversionError], done: int) -> None:
    if len(failed) == 1:
        raise failed[0]
    if failed:
        raise ConversionError(
            f"{len(failed)} 个文档未能转成 PDF（其余 {done} 个已生成）：\n" + "\n".join(f"  - {e}" for e in failed),
            code="pdf-failed",
        )


# One ``soffice --convert-to`` call silently stops after about 246 files; stay well below.
CLI_CHUNK = 100


def _convert_cli(docs: Sequence[Path], out_dir: Path, timeout: float | None, soffice: str) -> list[Path]:
    """Fallback without python3-uno: ``soffice --convert-to`` in chunks, checking every output."""
    results: list[Path] = []
    failed: list[ConversionError] = []
    for first in range(0, len(docs), CLI_CHUNK):
        chunk = docs[first:first + CLI_CHUNK]
        limit = 60 + (timeout or 10) * len(chunk)
        with work_area(out_dir) as work:
            profile = (work / "profile").as_uri()
            staging = work / "out"
            cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(staging), *map(str, chunk)]
            scratch = work / "tmp"  # LibreOffice's own temp files hold document content too
            scratch.mkdir()
            env = {**os.environ, "HOME": str(work), "TMPDIR": str(scratch), "FONTCONFIG_FILE": _fontconfig(work)}
            watchdog = _watchdog(work)
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env, start_new_session=True)
                _tell(watchdog, str(proc.pid))
                try:
                    proc.communicate(timeout=limit)
                except subprocess.TimeoutExpired:
                    raise ConversionError(f"LibreOffice 转换 {len(chunk)} 个文档超时（{limit:.0f} 秒）。",
                                          code="pdf-timeout") from None
                finally:
                    _kill_group(proc)
                for doc in chunk:
                    produced = staging / (Path(doc).stem + ".pdf")
                    if not produced.is_file():
                        failed.append(ConversionError(
                            f"LibreOffice 没有把 {Path(doc).name} 转成 PDF（文件可能已损坏，请用 Word 或 WPS 打开检查）。",
                            code="pdf-failed"))
                        continue
                    target = out_dir / produced.name
                    atomic_write(target, produced.read_bytes())
                    results.append(target)
            finally:
                _tell(watchdog, "done")
                if watchdog is not None:
                    if watchdog.stdin is not None:
                        watchdog.stdin.close()
                    watchdog.wait()
    _raise_failed(failed, len(results))
    return results


def merge_pdfs(parts: Sequence[tuple[Path, str]], out: Path, *, settings: Settings | None = None) -> Path:
    """Merge PDFs into ``out`` with one top-level bookmark per part (``(path, title)``).

    Each part's PDF embeds its own subset of the CJK fonts (~80 KB a page when simply
    concatenated). When every part's source .docx lies beside its PDF (as in a batch), the
    sources are merged (:mod:`formkit.docx_merge`) and converted once per group of
    ``MERGE_GROUP`` documents, so the fonts are embedded once per group (~6 KB a page); the page
    count of each group must equal the parts' or the plain concatenation is used.
    """
    import io

    from pypdf import PdfReader, PdfWriter

    counts = [len(PdfReader(path).pages) for path, _ in parts]
    writer = PdfWriter()
    sources = [path.with_suffix(".docx") for path, _ in parts]
    if not (sources and all(src.is_file() for src in sources) and _merge_from_sources(writer, sources, counts, out.parent,
                                                                                             settings)):
        writer = PdfWriter()
        for path, _ in parts:
            writer.append(PdfReader(path), import_outline=False)
        writer.compress_identical_objects()
    start = 0
    for (_, title), count in zip(parts, counts, strict=True):
        writer.add_outline_item(title=title, page_number=start)
        start += count
    writer.page_mode = "/UseOutlines"
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(out, buf.getvalue())
    return out


# Documents per merged conversion: LibreOffice lays out a group at once; fonts repeat once a group.
MERGE_GROUP = 200


def _merge_from_sources(writer: Any, sources: Sequence[Path], counts: Sequence[int], folder: Path,
                        settings: Settings | None = None) -> bool:
    """Append one PDF per group of merged .docx sources to ``writer``; False to fall back."""
    from pypdf import PdfReader

    from formkit.documents.merge import merge_docx
    from formkit.documents.pdf_server import PdfConverter, find_uno_python

    chosen = settings_or_default(settings)
    python = find_uno_python(chosen.uno_python)
    if python is None:
        return False
    # The merged sources hold every student's data: their work folder sits beside the outputs, not in /tmp.
    with work_area(folder) as work, PdfConverter(work_root=work, soffice=chosen.soffice, uno_python=python) as converter:
        for first in range(0, len(sources), MERGE_GROUP):
            group = sources[first:first + MERGE_GROUP]
            merged = Path(work, f"group{first}.docx")
            merged.write_bytes(merge_docx(list(group)))
            try:
                pdf = converter.convert(merged, merged.with_suffix(".pdf"))
            except ConversionError:
                return False
            reader = PdfReader(pdf)
            if len(reader.pages) != sum(counts[first:first + MERGE_GROUP]):
                return False  # the merged layout differs from the parts': keep the parts' pages
            writer.append(reader, import_outline=False)
    return True
