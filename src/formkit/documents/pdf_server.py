"""A persistent LibreOffice that converts documents to PDF one by one, without a ceiling.

``soffice --convert-to`` with many files silently stops after a few hundred (exit 0) and grows
without bound; starting one LibreOffice per document costs about a second each. A
:class:`PdfConverter` starts LibreOffice once, listening on a private pipe, and drives it over
UNO. UNO is LibreOffice's own Python bridge (Debian ``python3-uno``), which exists only for the
system Python, not for formkit's interpreter or venv, so a tiny bridge script runs under that
Python as a child process and takes one JSON request per line on stdin.

LibreOffice and the bridge share one process group, which is killed on :meth:`close`, on a
timeout and at interpreter exit, so no ``soffice.bin`` outlives its converter. The converter is
recycled (a fresh LibreOffice and profile) after ``recycle_after`` documents or when the group's
memory exceeds ``max_rss_mb``; a document that fails or times out is retried once in a fresh
LibreOffice before it is reported by name.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import weakref
from functools import cache
from pathlib import Path
from typing import Any

from formkit.core.errors import ConversionError

UNO_HINT = ("请安装 LibreOffice 的 Python 接口：apt-get install python3-uno"
            "（或用 Settings.uno_python / 环境变量 FORMKIT_UNO_PYTHON 指定能 import uno 的 Python）。")

# Runs under the Python that has ``uno``. Replies go to the original stdout only; anything
# LibreOffice or Python prints goes to stderr so it cannot corrupt the protocol.
_BRIDGE = r"""
import json, os, sys, time
out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
import uno
from com.sun.star.beans import PropertyValue

def props(**kw):
    items = []
    for k, v in kw.items():
        p = PropertyValue(); p.Name = k; p.Value = v; items.append(p)
    return tuple(items)

def reply(**kw):
    out.write(json.dumps(kw) + "\n")

local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % sys.argv[1])
        break
    except Exception as exc:
        if time.monotonic() > deadline:
            reply(ok=False, error="connect: %s" % exc); sys.exit(1)
        time.sleep(0.1)
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
reply(ok=True, ready=True)
EXPORTS = (("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
           ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"))
load = dict(Hidden=True, ReadOnly=True, UpdateDocMode=0, MacroExecutionMode=0)
for line in sys.stdin:
    req = json.loads(line)
    doc = None
    stage = "open"
    try:
        extra = {"FilterName": req["filter"]} if req.get("filter") else {}
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(req["src"]), "_blank", 0, props(**load, **extra))
        if doc is None:
            raise RuntimeError("")
        stage = "store"
        export = "writer_pdf_Export"
        for service, name in EXPORTS:
            if doc.supportsService(service):
                export = name
        doc.storeToURL(uno.systemPathToFileUrl(req["dst"]), props(FilterName=export))
        reply(ok=True)
    except Exception as exc:
        reply(ok=False, stage=stage, error=(getattr(exc, "Message", "") or str(exc))[:300])
    finally:
        if doc is not None:
            try:
                doc.close(True)
            except Exception:
                pass
# stdin closed: formkit closed the converter or died (even by SIGKILL); take LibreOffice along.
import signal
os.killpg(os.getpgrp(), signal.SIGTERM)
"""

_LOAD_FILTERS = {".docx": "MS Word 2007 XML", ".doc": "MS Word 97", ".odt": "writer8"}

_LIVE: weakref.WeakSet[PdfConverter] = weakref.WeakSet()


@cache
def find_uno_python(configured: str | None = None) -> str | None:
    """A Python interpreter that can ``import uno`` (``configured`` when given, else the system one
    on Debian), or ``None``."""
    candidates = [configured] if configured else ["/usr/bin/python3", "/usr/lib/libreoffice/program/python",
                                                  shutil.which("python3") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            probe = subprocess.run([candidate, "-c", "import uno"], capture_output=True, timeout=30, check=False)
            if probe.returncode == 0:
                return candidate
    return None


class PdfConverter:
    """Converts documents to PDF through one long-lived LibreOffice (started on first use).

    Use as a context manager, or call :meth:`close`; an unclosed converter is closed at exit.
    Not thread-safe: give each worker thread its own converter.
    """

    def __init__(self, *, timeout: float = 120.0, recycle_after: int = 200, max_rss_mb: int = 1024,
                 start_timeout: float = 90.0, soffice: str | None = None, uno_python: str | None = None,
                 work_root: Path | None = None) -> None:
        from formkit.documents.office import find_soffice

        self.timeout = timeout
        self.recycle_after = recycle_after
        self.max_rss_mb = max_rss_mb
        self.start_timeout = start_timeout
        self.soffice = find_soffice(soffice)
        python = find_uno_python(uno_python)
        if python is None:
            raise ConversionError(f"找不到 LibreOffice 的 Python 接口（uno），无法生成 PDF。{UNO_HINT}", code="uno-missing")
        self.uno_python = python
        self.converted = 0  # by the current LibreOffice
        self.starts = 0
        self._office: subprocess.Popen[bytes] | None = None
        self._bridge: subprocess.Popen[bytes] | None = None
        self._work: Path | None = None
        self._watch: subprocess.Popen[bytes] | None = None
        # Where LibreOffice's profile and staged PDFs live; callers pass a folder beside the outputs so
        # that copies of documents (personal data) never stay in /tmp after a kill.
        self.work_root = work_root
        self._buffer = b""
        _LIVE.add(self)

    def __enter__(self) -> PdfConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the running LibreOffice and bridge (empty when stopped)."""
        return [p.pid for p in (self._office, self._bridge) if p is not None]

    def convert(self, doc: Path, out: Path) -> Path:
        """Write ``doc`` as PDF to ``out`` (a file path); retried once in a fresh LibreOffice."""
        from formkit.core.fileio import atomic_write

        doc = Path(doc).resolve()
        # Memory is sampled every 20 documents: scanning /proc costs a few ms.
        if self._office is not None and (self.converted >= self.recycle_after
                                         or (self.converted % 20 == 19 and self._rss_mb() > self.max_rss_mb)):
            self.close()
        error = ""
        for attempt in range(2):
            if attempt:
                self.close()  # a failure may have left LibreOffice in a bad state
            try:
                staged = self._convert_once(doc)
            except _Failed as exc:
                error = str(exc)
                continue
            atomic_write(out, staged.read_bytes())
            staged.unlink(missing_ok=True)
            return out
        raise ConversionError(
            f"LibreOffice 无法把 {doc.name} 转成 PDF（已在新启动的 LibreOffice 中重试一次）：{error}。"
            "请用 Word 或 WPS 打开这个文件检查是否损坏；其余文档不受影响。",
            code="pdf-failed",
        )

    def close(self) -> None:
        """Stop LibreOffice and the bridge (the whole process group) and delete the profile."""
        from formkit.documents.office import _tell

        office, bridge, work, watch = self._office, self._bridge, self._work, self._watch
        self._office = self._bridge = self._work = self._watch = None
        self._buffer = b""
        self.converted = 0
        if bridge is not None and bridge.stdin is not None:
            with contextlib.suppress(OSError):
                bridge.stdin.close()
        if office is not None:
            _kill_group(office.pid)
            for proc in (office, bridge):
                if proc is not None:
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    if proc.stdout is not None:
                        proc.stdout.close()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        if watch is not None:
            _tell(watch, "done")
            if watch.stdin is not None:
                with contextlib.suppress(OSError):
                    watch.stdin.close()
            watch.wait()

    # -- internals ---------------------------------------------------------------------------

    def _convert_once(self, doc: Path) -> Path:
        if self._bridge is None:
            self._start()
        assert self._work is not None
        staged = self._work / f"{uuid.uuid4().hex}.pdf"
        request = {"src": str(doc), "dst": str(staged), "filter": _LOAD_FILTERS.get(doc.suffix.lower(), "")}
        reply = self._ask(request, self.timeout, f"转换超时（{self.timeout:.0f} 秒）")
        self.converted += 1
        if not reply.get("ok") or not staged.is_file() or staged.stat().st_size == 0:
            what = "打不开这个文件（不是有效的 Word 文档或已损坏）" if reply.get("stage") == "open" else "导出 PDF 失败"
            detail = str(reply.get("error") or "").strip()
            raise _Failed(what + (f"，LibreOffice 报告：{detail}" if detail else ""))
        return staged

    def _start(self) -> None:
        from formkit.documents.office import _fontconfig, _tell, _watchdog

        self.close()
        work = Path(tempfile.mkdtemp(prefix="formkit-lo-", dir=self.work_root))
        self._work = work
        # The bridge notices a dead parent only between requests; this watchdog, doing nothing but
        # wait for its input to close, kills LibreOffice's group and removes the profile at once.
        # It starts before LibreOffice: a kill landing between the two would otherwise leave both.
        self._watch = _watchdog(self.work_root or work)
        pipe = f"formkit-{uuid.uuid4().hex}"
        env = {**os.environ, "HOME": str(work), "FONTCONFIG_FILE": _fontconfig(work)}
        cmd = [self.soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--invisible",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck", "--nofirststartwizard",
               f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"]
        # LibreOffice leads its own process group (out of reach of the terminal's Ctrl-C, which
        # formkit handles); the bridge joins it, so one killpg stops everything this converter started.
        self._office = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env, process_group=0)
        _tell(self._watch, str(self._office.pid))
        self._bridge = subprocess.Popen([self.uno_python, "-c", _BRIDGE, pipe, str(self.start_timeout)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=env, process_group=self._office.pid)
        self.starts += 1
        try:
            reply = self._ask(None, self.start_timeout + 5, f"LibreOffice 启动超时（{self.start_timeout:.0f} 秒）")
        except _Failed as exc:
            self.close()
            raise ConversionError(f"无法启动 LibreOffice 转换 PDF：{exc}。", code="soffice-start") from None
        if not reply.get("ready"):
            self.close()
            raise ConversionError(f"无法连接 LibreOffice 转换 PDF：{reply.get('error')}。", code="soffice-start")

    def _ask(self, request: dict[str, Any] | None, timeout: float, timeout_text: str) -> dict[str, Any]:
        bridge = self._bridge
        assert bridge is not None and bridge.stdin is not None and bridge.stdout is not None
        if request is not None:
            try:
                bridge.stdin.write(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")
                bridge.stdin.flush()
            except OSError:
                raise _Failed("LibreOffice 已意外退出") from None
        deadline = time.monotonic() + timeout
        fd = bridge.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise _Failed(timeout_text)
            chunk = os.read(fd, 65536)
            if not chunk:
                self.close()
                raise _Failed("LibreOffice 已意外退出")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _rss_mb(self) -> float:
        """Resident memory of this converter's process group (LibreOffice grows with each document)."""
        if self._office is None:
            return 0.0
        total = 0
        for pid in _group_members(self._office.pid):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        return total / 1024


class _Failed(Exception):
    """One conversion attempt failed (internal; callers see ``ConversionError``)."""


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else []:
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, pgrp, …
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _kill_group(pgid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies still count for killpg until reaped; treat a group of zombies as gone.
    for pid in _group_members(pgid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            return True
    return False


@atexit.register
def _close_all() -> None:
    for converter in list(_LIVE):
        converter.close()
