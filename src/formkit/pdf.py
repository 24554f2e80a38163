"""DOCX → PDF through LibreOffice, and merging PDFs into one bookmarked print file.

One ``soffice`` process converts a whole list of documents (starting LibreOffice costs
seconds; converting a page costs a fraction of that). Each call uses a private
LibreOffice profile so parallel conversions do not collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import ConversionError
from .fileio import atomic_write

SOFFICE_NAMES = ("soffice", "libreoffice")
INSTALL_HINT = (
    "请安装 LibreOffice 和中文字体：apt-get install libreoffice-writer-nogui fonts-noto-cjk"
    "（或设置环境变量 FORMKIT_SOFFICE 指向 soffice）。"
)


def find_soffice() -> str:
    """Path of the LibreOffice binary, or ``ConversionError`` saying what to install."""
    configured = os.environ.get("FORMKIT_SOFFICE")
    if configured:
        if Path(configured).is_file():
            return configured
        raise ConversionError(f"FORMKIT_SOFFICE 指向的 {configured} 不存在。{INSTALL_HINT}", code="soffice-missing")
    for name in SOFFICE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ConversionError(f"找不到 LibreOffice（soffice），无法生成 PDF。{INSTALL_HINT}", code="soffice-missing")


def _fontconfig(work: Path) -> str:
    """Write formkit's font aliases (仿宋 → Noto Serif CJK SC, …) for this conversion."""
    from importlib import resources

    target = work / "fonts.conf"
    target.write_bytes(resources.files("formkit").joinpath("data/fonts.conf").read_bytes())
    return str(target)


def convert_to_pdf(docs: Sequence[Path], out_dir: Path, *, timeout: float | None = None) -> list[Path]:
    """Convert ``docs`` to PDF in ``out_dir`` with one LibreOffice process; return the PDFs.

    The PDFs are produced in a temp folder and moved into place one by one, so an
    interrupted conversion leaves no half-written PDF.
    """
    if not docs:
        return []
    soffice = find_soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    limit = timeout if timeout is not None else 60 + 10 * len(docs)
    with tempfile.TemporaryDirectory(prefix="formkit-lo-") as work:
        profile = Path(work, "profile").as_uri()
        staging = Path(work, "out")
        cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
               "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(staging), *map(str, docs)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=limit, check=False,
                                  env={**os.environ, "HOME": work, "FONTCONFIG_FILE": _fontconfig(Path(work))})
        except subprocess.TimeoutExpired:
            raise ConversionError(f"LibreOffice 转换 {len(docs)} 个文档超时（{limit:.0f} 秒）。", code="pdf-timeout") from None
        results: list[Path] = []
        for doc in docs:
            produced = staging / (doc.stem + ".pdf")
            if not produced.is_file():
                detail = proc.stderr.decode("utf-8", "replace").strip()[-300:]
                raise ConversionError(
                    f"LibreOffice 未能把 {doc.name} 转成 PDF（退出码 {proc.returncode}）。{detail}",
                    code="pdf-failed",
                )
            target = out_dir / produced.name
            atomic_write(target, produced.read_bytes())
            results.append(target)
    return results


def merge_pdfs(parts: Sequence[tuple[Path, str]], out: Path) -> Path:
    """Merge PDFs into ``out`` with one top-level bookmark per part (``(path, title)``)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for path, title in parts:
        start = len(writer.pages)
        reader = PdfReader(path)
        for page in reader.pages:
            writer.add_page(page)
        writer.add_outline_item(title=title, page_number=start)
    writer.page_mode = "/UseOutlines"
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(out, buf.getvalue())
    return out
