"""DOCX → PDF through LibreOffice, and merging PDFs into one bookmarked print file.

One ``soffice`` process converts a whole list of documents (starting LibreOffice costs
seconds; converting a page costs a fraction of that). Each call uses a private
LibreOffice profile, in a private work folder inside the output folder, so parallel
conversions do not collide and no copy of a document is left in /tmp after a kill.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from .errors import ConversionError
from .fileio import atomic_write, remove_leftovers, work_area

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


# Started beside each LibreOffice run, in its own session so a kill of the batch's process
# group does not take it along. It blocks on its stdin: the parent writes soffice's process
# group, then "done" when it has finished. End of input without "done" means the parent died
# (SIGKILL, SIGTERM, crash): kill LibreOffice's whole group and remove the work folder, which
# holds copies of the documents (personal data).
_WATCHDOG = """
import os, shutil, signal, sys
group = 0
done = False
for line in sys.stdin:
    line = line.strip()
    if line == "done":
        done = True
        break
    if line.isdigit():
        group = int(line)
if not done:
    if group:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill LibreOffice and everything it started (oosplash, soffice.bin share its process group)."""
    killpg = getattr(os, "killpg", None)
    if killpg is not None:
        with suppress(OSError):  # the group has already gone
            killpg(proc.pid, signal.SIGKILL)
    elif proc.poll() is None:
        proc.kill()
    proc.wait()


def _watchdog(work: Path) -> subprocess.Popen[bytes] | None:
    if os.name == "nt":
        return None  # no process groups to kill; the next run removes the work folder
    return subprocess.Popen([sys.executable, "-I", "-c", _WATCHDOG, str(work)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _tell(watchdog: subprocess.Popen[bytes] | None, line: str) -> None:
    if watchdog is None or watchdog.stdin is None:
        return
    try:
        watchdog.stdin.write(line.encode("ascii") + b"\n")
        watchdog.stdin.flush()
    except OSError:
        pass  # a dead watchdog only loses the clean-up after a kill; the next run does it


def convert_to_pdf(docs: Sequence[Path], out_dir: Path, *, timeout: float | None = None) -> list[Path]:
    """Convert ``docs`` to PDF in ``out_dir`` with one LibreOffice process; return the PDFs.

    The PDFs are produced in a private work folder inside ``out_dir`` and moved into place one
    by one, so an interrupted conversion leaves no half-written PDF. LibreOffice runs in its own
    process group, which is killed on timeout, on error and — through a small watchdog — when
    this process is killed; the next conversion into ``out_dir`` removes a killed run's work folder.
    """
    if not docs:
        return []
    soffice = find_soffice()
    # "-o 输出" is relative: LibreOffice's profile URI, HOME and TMPDIR must not be.
    out_dir = out_dir.absolute()
    docs = [doc.absolute() for doc in docs]
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    limit = timeout if timeout is not None else 60 + 10 * len(docs)
    with work_area(out_dir) as work:
        profile = (work / "profile").as_uri()
        staging = work / "out"
        cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
               "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(staging), *map(str, docs)]
        scratch = work / "tmp"  # LibreOffice's own temp files hold document content too
        scratch.mkdir()
        env = {**os.environ, "HOME": str(work), "TMPDIR": str(scratch), "FONTCONFIG_FILE": _fontconfig(work)}
        watchdog = _watchdog(work)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, start_new_session=True)
            _tell(watchdog, str(proc.pid))
            try:
                _, stderr = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                raise ConversionError(f"LibreOffice 转换 {len(docs)} 个文档超时（{limit:.0f} 秒）。",
                                      code="pdf-timeout") from None
            finally:
                _kill_group(proc)
            results: list[Path] = []
            for doc in docs:
                produced = staging / (doc.stem + ".pdf")
                if not produced.is_file():
                    detail = stderr.decode("utf-8", "replace").strip()[-300:]
                    raise ConversionError(
                        f"LibreOffice 未能把 {doc.name} 转成 PDF（退出码 {proc.returncode}）。{detail}",
                        code="pdf-failed",
                    )
                target = out_dir / produced.name
                atomic_write(target, produced.read_bytes())
                results.append(target)
        finally:
            _tell(watchdog, "done")
            if watchdog is not None:
                if watchdog.stdin is not None:
                    watchdog.stdin.close()
                watchdog.wait()
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
