"""Per-browser sessions, background jobs and the safe handling of uploaded files.

Every browser session gets its own temporary folder; nothing a clerk uploads or
generates is kept after the session goes idle, and a generated zip is deleted as soon as
it has been downloaded. Uploaded names never reach the file system unchecked.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from formkit.core.errors import InputFileError
from formkit.core.zip_guard import Limits, PackageProblem, check_members, read_member

LEDGER_SUFFIXES = (".xlsx", ".xls", ".xlsm")
ROSTER_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".csv", ".json")


@dataclass
class Job:
    """A batch running in a background thread; the page polls ``done``/``total``."""

    id: str
    title: str
    out_dir: Path
    done: int = 0
    total: int = 0
    phase: str = "排队中"
    finished: bool = False
    error: str = ""
    results: list[Any] = field(default_factory=list)
    downloaded: bool = False
    zip_name: str = ""
    share: float = 1.0
    """Part of the bar the rendering fills; PDF conversion (no per-file progress) fills the rest."""

    def to_dict(self) -> dict[str, Any]:
        percent = 100 if self.finished else (int(self.done * 100 * self.share / self.total) if self.total else 0)
        return {"done": self.done, "total": self.total, "phase": self.phase, "finished": self.finished,
                "error": self.error, "percent": percent}


@dataclass
class Session:
    """One browser's workspace."""

    id: str
    root: Path
    csrf: str
    last_seen: float
    ledgers: list[Path] = field(default_factory=list)
    templates: dict[str, Path] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return any(not job.finished for job in self.jobs.values())

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_job(self, title: str, work: Callable[[Job], None], total: int = 0) -> Job:
        """Run ``work`` in a daemon thread; its exceptions become the job's Chinese error text."""
        job_id = secrets.token_urlsafe(8)
        job = Job(job_id, title, self.folder(f"jobs/{job_id}"), total=total)
        self.jobs[job_id] = job

        def run() -> None:
            from formkit.core.errors import FormkitError

            try:
                work(job)
            except FormkitError as exc:
                job.error = str(exc)
            except Exception as exc:  # a bug: the clerk still gets words, not a dead page
                job.error = f"内部错误（{type(exc).__name__}）：{exc}。请把操作步骤和文件报告给维护人员。"
            finally:
                job.phase = "已完成" if not job.error else "未完成"
                job.finished = True

        threading.Thread(target=run, name=f"formkit-job-{job_id}", daemon=True).start()
        return job


class Store:
    """All live sessions; idle ones are swept (folder deleted) on every request."""

    def __init__(self, base: Path | None, idle_seconds: float) -> None:
        self.base = base
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        self.sweep()
        with self.lock:
            session = self.sessions.get(session_id or "")
            if session is not None:
                session.last_seen = time.monotonic()
            return session

    def create(self) -> Session:
        if self.base is not None:
            self.base.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="formkit-web-", dir=self.base))
        session = Session(secrets.token_urlsafe(24), root, secrets.token_urlsafe(24), time.monotonic())
        with self.lock:
            self.sessions[session.id] = session
        return session

    def sweep(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            stale = [s for s in self.sessions.values() if now - s.last_seen > self.idle_seconds and not s.busy]
            for session in stale:
                del self.sessions[session.id]
        for session in stale:
            shutil.rmtree(session.root, ignore_errors=True)

    def close(self) -> None:
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            shutil.rmtree(session.root, ignore_errors=True)


_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*\x7f]')


def safe_name(name: str, fallback: str = "文件") -> str:
    """A file name with no folder part and no characters Windows or a shell would trip on."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    return base[:120] or fallback


def unique_path(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}({n}){suffix}"
        n += 1
    return candidate


def _member_name(info: zipfile.ZipInfo) -> str:
    # Zips made by Windows' "send to compressed folder" on a Chinese system store GBK names
    # without the UTF-8 flag; zipfile then shows them as cp437 mojibake.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def extract_ledgers(archive_path: Path, display: str, target: Path, max_files: int,
                    limits: Limits | None = None) -> list[Path]:
    """Extract the workbooks of an uploaded zip (a township's folder) into ``target``.

    The directory is checked against the same package limits as a workbook (member count,
    total size, compression ratio) before anything is inflated; a member whose path would
    leave the folder (absolute, ``..``, drive letter) rejects the whole archive.
    """
    limits = limits or Limits()
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = check_members(archive, limits)
            wanted: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
            for info in infos:
                name = _member_name(info).replace("\\", "/")
                path = PurePosixPath(name)
                if name.startswith("/") or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
                    raise InputFileError(
                        f"{display}：压缩包里的“{name}”路径不安全（指向压缩包以外的位置），整个压缩包已拒绝。"
                        "请把台账文件夹重新压缩后上传。", path=display, code="zip-unsafe-path")
                if info.is_dir() or path.name.startswith((".", "~$")) or "__MACOSX" in path.parts:
                    continue
                if path.suffix.lower() in LEDGER_SUFFIXES:
                    wanted.append((info, path))
            if len(wanted) > max_files:
                raise InputFileError(f"{display}：压缩包里有 {len(wanted)} 份台账，超过一次最多 {max_files} 份的限制。"
                                     "请分批上传。", path=display, code="too-many-files")
            written: list[Path] = []
            for info, path in wanted:
                folder = target.joinpath(*[safe_name(p) for p in path.parts[:-1]])
                folder.mkdir(parents=True, exist_ok=True)
                dest = unique_path(folder, safe_name(path.name))
                dest.write_bytes(read_member(archive, info, limits))
                written.append(dest)
    except PackageProblem as exc:
        raise InputFileError(f"{display}：压缩包{exc.detail}，未解压。", path=display, code=exc.code) from None
    except zipfile.BadZipFile:
        raise InputFileError(f"{display}：不是有效的 zip 压缩包（可能已损坏或只是改了扩展名）。",
                             path=display, code="zip-invalid") from None
    except (zlib.error, EOFError, NotImplementedError):
        # Windows' "compressed folder" stores large files as Deflate64, which zipfile cannot inflate.
        raise InputFileError(f"{display}：压缩包已损坏或用了不支持的压缩方式，无法解压。请用“标准 ZIP（Deflate）”"
                             "重新压缩，或直接上传 .xlsx 文件。", path=display, code="zip-invalid") from None
    if not written:
        raise InputFileError(f"{display}：压缩包里没有 .xlsx/.xls 台账文件。", path=display, code="zip-empty")
    return written


def zip_folder(folder: Path, dest: Path, skip: Callable[[Path], bool] = lambda p: False) -> Path:
    """Zip every file under ``folder`` (names relative to it, UTF-8 flagged) into ``dest``."""
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not skip(path):
                archive.write(path, path.relative_to(folder).as_posix())
    tmp.replace(dest)
    return dest
