"""The LibreOffice process: finding ``soffice``, its font configuration, and the watchdog that
kills it when the Python process that started it dies.

Shared by the command-line converter in :mod:`formkit.documents.pdf` and the persistent UNO
converter in :mod:`formkit.documents.pdf_server`, so neither imports the other.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from formkit.core.errors import ConversionError

SOFFICE_NAMES = ("soffice", "libreoffice")
INSTALL_HINT = (
    "请安装 LibreOffice 和中文字体：apt-get install libreoffice-writer-nogui fonts-noto-cjk"
    "（或用 Settings.soffice / 环境变量 FORMKIT_SOFFICE 指定 soffice 的位置）。"
)


def find_soffice(configured: str | None = None) -> str:
    """Path of the LibreOffice binary (``configured`` when given, else found on ``PATH``), or
    ``ConversionError`` saying what to install."""
    if configured:
        if Path(configured).is_file():
            return configured
        raise ConversionError(f"指定的 LibreOffice 程序 {configured} 不存在。{INSTALL_HINT}", code="soffice-missing")
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
