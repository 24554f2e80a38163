"""Merge .docx files into one print file in time linear in the number of documents.

docxcompose re-walks the growing master for every appended part (quadratic: about an hour for
5,000 notices). A batch's documents all come from one template: every part except
``word/document.xml`` (styles, numbering, relationships, fonts) is the same. Then the merged
document is the first one with the bodies of all documents concatenated, each ending in a section
break that carries its own page setup, with bookmark and drawing ids renumbered so they stay
unique. Parts that differ (documents from different templates) fall back to docxcompose.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from formkit.core.errors import InputFileError

DOCUMENT = "word/document.xml"
# Parts a renderer changes per document without affecting what the body refers to.
_PER_DOCUMENT = {DOCUMENT, "docProps/core.xml", "docProps/app.xml"}
_IDS = re.compile(r'(<w:bookmark(?:Start|End)\b[^>]*?\bw:id="|<wp:docPr\b[^>]*?\bid=")(\d+)"')
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def merge_docx(paths: Sequence[Path | str]) -> bytes:
    """One .docx with every document of ``paths`` starting on a new page, in order."""
    if not paths:
        raise ValueError("merge_docx needs at least one document")
    with zipfile.ZipFile(paths[0]) as first:
        shared = _shared_signature(first)
        head, _, _ = _split(first.read(DOCUMENT).decode("utf-8"), str(paths[0]))
        members = [(info, first.read(info)) for info in first.infolist() if info.filename != DOCUMENT]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            out.writestr(_entry(info.filename), data)
        with out.open(_entry(DOCUMENT), "w") as doc:
            doc.write(head.encode("utf-8"))
            offset = 0
            for n, path in enumerate(paths):
                with zipfile.ZipFile(path) as part:
                    text = part.read(DOCUMENT).decode("utf-8")
                    same = n == 0 or _shared_signature(part) == shared
                part_head, body, sect = _split(text, str(path))
                if not same or part_head != head:
                    return _merge_docxcompose(paths)
                body, top = _renumber(body, offset)
                sect, top_sect = _renumber(sect, offset)
                offset = max(top, top_sect) + 1
                last = n == len(paths) - 1
                # A section break in the last paragraph ends the part: a new page with its own margins.
                doc.write((body + (sect if last else f"<w:p><w:pPr>{sect}</w:pPr></w:p>")).encode("utf-8"))
            doc.write(b"</w:body></w:document>")
    return buf.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)  # same input, same bytes
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _shared_signature(zf: zipfile.ZipFile) -> list[tuple[str, int, int]]:
    # CRC and size from the zip directory: no part is decompressed to compare it.
    return sorted((i.filename, i.CRC, i.file_size) for i in zf.infolist() if i.filename not in _PER_DOCUMENT)


def _split(text: str, name: str) -> tuple[str, str, str]:
    """(everything up to and including ``<w:body>``, the body content, the final ``sectPr``)."""
    start = text.find("<w:body>")
    end = text.rfind("</w:body>")
    if start < 0 or end < 0:
        raise InputFileError(f"{Path(name).name} 不是有效的 Word 文档（缺少正文）。", path=name, code="docx-invalid")
    head, body = text[: start + len("<w:body>")], text[start + len("<w:body>"):end]
    # The body's own sectPr is its last child. Search from the end: a document with several
    # sections also has sectPr elements inside paragraphs, which must stay where they are.
    at = body.rfind("<w:sectPr")
    tail = body[at:] if at >= 0 else ""
    if at < 0 or not tail.rstrip().endswith("</w:sectPr>") or "</w:p>" in tail or "</w:pPr>" in tail:
        return head, body, ""
    return head, body[:at], tail.rstrip()


def _renumber(xml: str, offset: int) -> tuple[str, int]:
    """Shift bookmark and drawing ids by ``offset``; also return the highest id after shifting."""
    top = offset - 1

    def shift(m: re.Match[str]) -> str:
        nonlocal top
        new = int(m.group(2)) + offset
        top = max(top, new)
        return f'{m.group(1)}{new}"'

    return _IDS.sub(shift, xml), top


def _merge_docxcompose(paths: Sequence[Path | str]) -> bytes:
    """Documents from different templates: docxcompose reconciles styles and numbering (slow)."""
    import docx
    from docx.enum.text import WD_BREAK
    from docxcompose.composer import Composer

    master = docx.Document(str(paths[0]))
    composer = Composer(master)
    for path in paths[1:]:
        master.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        composer.append(docx.Document(str(path)))
    buf = io.BytesIO()
    composer.save(buf)
    return buf.getvalue()
