"""Safe file output: atomic writes, file names that cannot escape their folder, and the
per-folder lock and private work areas that let two runs share an output folder."""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import socket
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from formkit.core.errors import FormkitError, OutputError

_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u202a-\u202e\u2066-\u2069\u200e\u200f]')
TEMP_PREFIX = ".formkit-tmp-"
WORK_PREFIX = ".formkit-work-"
LOCK_NAME = ".formkit-lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_OWNED = re.compile(r"^(\d+)-[0-9a-f]+")


def run_token() -> str:
    """A name part unique to this process and call: ``<pid>-<random>``.

    The pid lets a later run tell a dead run's leftovers from a live run's files.
    """
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host still runs (a zombie counts as dead)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate it on Windows; never guess "dead" there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def output_error(exc: OSError, path: Path | str) -> OutputError:
    """A Chinese ``OutputError`` with a stable code for an operating-system error while writing ``path``."""
    number = exc.errno
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG):
        text, code = f"磁盘空间不足（或超出配额），无法写入 {path}。请清理磁盘空间或换一个输出位置后重试。", "output-no-space"
    elif number == errno.EROFS:
        text, code = f"{path} 所在的磁盘是只读的，无法写入。请换一个输出文件夹。", "output-read-only"
    elif number in (errno.EACCES, errno.EPERM):
        text, code = f"没有权限写入 {path}。请换一个有写权限的输出文件夹，或请管理员开放权限。", "output-permission"
    elif number in (errno.ENOTDIR, errno.EEXIST):
        text, code = f"无法写入 {path}：路径中有一项是文件而不是文件夹。请换一个输出位置。", "output-not-folder"
    elif number == errno.EISDIR:
        text, code = f"无法写入 {path}：同名的文件夹已存在。请换一个文件名。", "output-is-folder"
    elif number == errno.ELOOP:
        text, code = f"{path} 是符号链接（快捷方式），为安全起见不写入。请删除该链接后重试。", "output-symlink"
    elif number == errno.ENAMETOOLONG:
        text, code = f"文件名或路径太长，无法写入 {path}。请换一个较短的输出路径。", "output-name-too-long"
    else:
        reason = exc.strerror or type(exc).__name__
        text, code = f"无法写入 {path}：{reason}（错误号 {number}）。请检查输出文件夹后重试。", "output-write"
    return OutputError(text, code=code)


def replaceable(path: Path, overwrite: bool = False, *,
                ours: Callable[[Path], bool] | bool | None = None) -> bool:
    """Whether a writer may put a new file at ``path`` (the rule :func:`claim_output` enforces).

    Yes when nothing is there, when ``overwrite``, or when ``ours`` (a check of the existing
    file, or what the caller already knows) says it is formkit's own output that nobody has
    edited since. A batch, which keeps an edited file and goes on with the others instead of
    refusing the run, asks this for each of its documents.
    """
    if overwrite or not path.exists():
        return True
    return ours(path) if callable(ours) else bool(ours)


def claim_output(
    paths: Path | str | Iterable[Path | str],
    overwrite: bool = False,
    *,
    ours: Callable[[Path], bool] | None = None,
) -> list[Path]:
    """The one overwrite policy of every formkit writer; call it before writing anything.

    Each target may be written when it does not exist, when ``overwrite`` is true, or when
    ``ours(path)`` recognises it as formkit's own output that nobody has edited since. Any
    other existing target is a file someone may have filled in or edited by hand: nothing is
    written and ``OutputError`` lists every such target at once (code ``output-exists``, or
    ``output-edited`` when ``ours`` judged the file and found it changed). Returns the targets.
    """
    targets = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    blocked = [t for t in targets if not replaceable(t, overwrite, ours=ours)]
    if blocked:
        shown = "、".join(str(t) for t in blocked)
        if ours is not None:
            raise OutputError(f"目标文件已存在，且不是 formkit 上次写出的样子（可能已有人修改），未覆盖：{shown}。"
                              "为免丢失这些修改，没有写出任何文件。", code="output-edited")
        raise _exists_error(blocked)
    return targets


def _new_temp(folder: Path, suffix: str) -> tuple[int, Path]:
    # os.open with 0o666 lets the kernel apply the umask (and default ACLs), which mkstemp's
    # fixed 0600 would not; O_EXCL|O_NOFOLLOW never writes through a planted name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    while True:
        candidate = folder / f"{TEMP_PREFIX}{run_token()}{suffix}"
        try:
            return os.open(candidate, flags, 0o666), candidate
        except FileExistsError:
            continue


def _replaced_mode(path: Path) -> int | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


@contextmanager
def _atomic(path: Path, *, text: bool, replace: bool = True) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success fsync it and rename it over ``path``.

    A crash or kill leaves either the old file or the new one, never half of one; the
    temp file carries a recognisable prefix and its writer's pid so a later run can remove
    leftovers. A new file gets the mode the umask allows; a replaced file keeps its mode.
    Operating-system failures become an ``OutputError`` naming the file and the cause.
    ``replace=False`` (a writer whose :func:`claim_output` found nothing there) puts the file in
    place only if still nothing is there: a file saved meanwhile is kept (``output-exists``).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _new_temp(path.parent, path.suffix)
    except OSError as exc:
        if isinstance(exc, FormkitError):
            raise
        raise output_error(exc, path) from None
    try:
        handle: IO[Any] = (
            os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        )
        with handle:
            keep = _replaced_mode(path)
            if keep is not None:
                os.chmod(tmp, keep)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _place_new(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, FormkitError) and (
                exc.errno in _OUTPUT_ERRNOS or exc.filename in (str(tmp), str(path)) or exc.filename2 == str(path)):
            raise output_error(exc, path) from None
        raise


_NO_HARD_LINKS = {errno.EPERM, errno.EACCES, errno.EXDEV, errno.EMLINK, errno.ENOSYS,
                  getattr(errno, "ENOTSUP", errno.EPERM), getattr(errno, "EOPNOTSUPP", errno.EPERM)}


def _place_new(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path`` unless ``path`` exists by now (claimed free, then taken meanwhile)."""
    if not _placed_new(tmp, path):
        raise _exists_error([path])


def _placed_new(tmp: Path, path: Path) -> bool:
    """Move ``tmp`` to ``path`` if nothing is there; False (``tmp`` left alone) if something is."""
    try:
        # A hard link is created only if the name is free, in one step: no window between check and rename.
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here (FAT, some network shares): the check just before the rename is the best left.
        if os.path.lexists(path):
            return False
        os.replace(tmp, path)
    else:
        tmp.unlink()
    return True


def _exists_error(blocked: Iterable[Path]) -> OutputError:
    shown = "、".join(str(t) for t in blocked)
    return OutputError(f"目标文件已存在，未覆盖：{shown}。它可能已被手工修改或填写过。", code="output-exists")


@contextmanager
def atomic_stream(path: Path) -> Iterator[IO[str]]:
    """Write UTF-8 text to ``path`` incrementally, atomically (see :func:`atomic_write`)."""
    with _atomic(path, text=True) as handle:
        yield handle


def atomic_write(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename.

    ``replace=False``: only if nothing is at ``path`` by then (else ``OutputError`` ``output-exists``).
    """
    with _atomic(path, text=False, replace=replace) as handle:
        handle.write(data)


class FileGroup:
    """Write many files atomically with one durability barrier for the whole group.

    :meth:`add` writes each file to a temp name beside its target without syncing;
    :meth:`commit` makes every temp durable (one ``syncfs`` on Linux, else an fsync each),
    renames them over their targets and syncs each folder once, so after ``commit``
    returns every file is on disk under its name — a journal line written after it still
    implies its file. Leaving the ``with`` block without ``commit`` removes the temps.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[int, Path, Path]] = []
        self._new_only: set[Path] = set()

    def __enter__(self) -> FileGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def add(self, path: Path, data: bytes, *, replace: bool = True) -> None:
        """Write ``data`` to a temp file beside ``path`` (made visible by :meth:`commit`).

        ``replace=False``: ``path`` was free when the caller looked; :meth:`commit` keeps a file
        that arrived there since instead of replacing it.
        """
        if not replace:
            self._new_only.add(path)
        try:
            fd, tmp = _new_temp(path.parent, path.suffix)
        except OSError as exc:
            if isinstance(exc, FormkitError):
                raise
            raise output_error(exc, path) from None
        self._pending.append((fd, tmp, path))
        try:
            keep = _replaced_mode(path)
            if keep is not None:
                os.chmod(tmp, keep)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as exc:
            raise output_error(exc, path) from None

    def commit(self) -> list[Path]:
        """Sync every file of the group, then rename each over its target and sync the folders.

        Returns the targets added with ``replace=False`` that were taken meanwhile and so kept.
        """
        pending, folders = self._pending, {path.parent for _, _, path in self._pending}
        taken: list[Path] = []
        if not pending:
            return taken
        try:
            if not _syncfs(pending[0][0]) or len(folders) > 1:
                for fd, _, _ in pending:
                    os.fsync(fd)
        except OSError as exc:
            raise output_error(exc, pending[0][2]) from None
        for fd, _, _ in pending:
            os.close(fd)
        self._pending = [(-1, tmp, path) for _, tmp, path in pending]
        for _, tmp, path in pending:
            try:
                if path not in self._new_only:
                    os.replace(tmp, path)
                elif not _placed_new(tmp, path):
                    tmp.unlink()
                    taken.append(path)
            except OSError as exc:
                raise output_error(exc, path) from None
        self._pending = []
        for folder in folders:
            sync_folder(folder)
        return taken

    def abort(self) -> None:
        for fd, tmp, _ in self._pending:
            if fd >= 0:
                with suppress(OSError):
                    os.close(fd)
            tmp.unlink(missing_ok=True)
        self._pending = []


_LIBC: list[Any] = []


def _syncfs(fd: int) -> bool:
    """Flush the whole file system holding ``fd`` in one call (Linux); False where unavailable."""
    if not _LIBC:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            _LIBC.append(libc.syncfs)
        except (OSError, AttributeError, TypeError):
            _LIBC.append(None)
    syncfs = _LIBC[0]
    if syncfs is None:
        return False
    if syncfs(fd) != 0:
        import ctypes

        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return True


def sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the renames are as durable as they allow
    finally:
        os.close(fd)


def safe_component(text: str, *, limit: int = 60) -> str:
    """Turn arbitrary data (a student's name, a school) into one safe file-name component.

    Path separators, reserved characters, control and bidi marks are replaced by ``_``;
    leading dots and trailing dots/spaces are removed; Windows device names are
    prefixed; the result is never empty and at most ``limit`` characters.
    """
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFKC", text))
    cleaned = re.sub(r"\s+", " ", cleaned).strip().lstrip(".").rstrip(". ")
    cleaned = cleaned.replace("..", "_")
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    cleaned = cleaned[:limit].rstrip(". ")
    return cleaned or "_"


def new_private_file(path: Path) -> IO[str]:
    """Create ``path`` (which must not exist, and is never followed if it is a link) for UTF-8 text, mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, 0o600)
    except OSError as exc:
        raise output_error(exc, path) from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def read_regular(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a regular file; ``None`` if it is missing or a symbolic link.

    Opened with ``O_NOFOLLOW`` so a link planted under a name formkit owns is never read through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise output_error(exc, path) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read()


LEFTOVER_AGE = 2 * 24 * 3600.0
"""Seconds after which a temp file or work folder is a leftover whatever its pid says."""


def remove_leftovers(folder: Path) -> None:
    """Remove temp files and work folders that runs no longer alive left in ``folder``.

    Names carry their writer's pid (:func:`run_token`), so a live run's files are kept.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        prefix = next((p for p in (TEMP_PREFIX, WORK_PREFIX) if entry.name.startswith(p)), None)
        if prefix is None:
            continue
        owner = _OWNED.match(entry.name[len(prefix):])
        try:
            old = time.time() - entry.stat(follow_symlinks=False).st_mtime > LEFTOVER_AGE
        except OSError:
            continue
        # The age limit covers what the pid cannot: a reused pid, Windows, another host's run.
        if owner and pid_alive(int(owner.group(1))) and not old:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            continue  # removed meanwhile, or not ours to remove: never a reason to fail a run


@contextmanager
def work_area(folder: Path) -> Iterator[Path]:
    """A private folder (0700) inside ``folder`` for one run's intermediate files, removed afterwards.

    Intermediate files hold personal data; keeping them beside the outputs (not in /tmp)
    means the next run in this folder removes what a killed run left behind.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{WORK_PREFIX}{run_token()}"
        os.mkdir(path, 0o700)
    except OSError as exc:
        raise output_error(exc, folder) from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


LOCK_WAIT = 10.0
"""Seconds a run waits for another run's lock on the same folder (``Settings.lock_wait``)."""
_EMPTY_LOCK_STALE = 60.0


def _lock_info(lock: Path) -> dict[str, Any] | None:
    """The lock holder's details; ``None`` if the lock is gone, ``{}`` if it is still being written."""
    try:
        data = read_regular(lock)
    except OutputError:
        return {}
    if data is None:
        if lock.is_symlink():
            raise OutputError(f"{lock} 是符号链接（快捷方式），为安全起见已拒绝。请删除它后重试。", code="output-symlink")
        return None
    try:
        info = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _stale(lock: Path, info: dict[str, Any], host: str) -> bool:
    pid = info.get("pid")
    if not info:
        try:
            return time.time() - os.lstat(lock).st_mtime > _EMPTY_LOCK_STALE
        except OSError:
            return False
    return info.get("host") == host and isinstance(pid, int) and not pid_alive(pid)


def _break_stale(lock: Path, info: dict[str, Any]) -> None:
    # Moving the lock aside first means two runs that both found it stale cannot remove a
    # fresh lock the other has just taken: whoever moved a live lock puts it back.
    aside = lock.with_name(f"{LOCK_NAME}.stale-{run_token()}")
    try:
        os.replace(lock, aside)
    except OSError:
        return
    try:
        moved = _lock_info(aside) or {}
        if info and moved.get("run") != info.get("run"):
            with suppress(OSError):
                os.link(aside, lock)
    finally:
        aside.unlink(missing_ok=True)


@contextmanager
def folder_lock(folder: Path, *, wait: float | None = None) -> Iterator[str]:
    """Hold ``folder``'s lock file while the block runs; yields this run's token.

    The lock is created with ``O_CREAT|O_EXCL`` and names the holder's pid and host. A lock
    whose pid is dead on this host is stale and taken over; otherwise the run waits up to
    ``wait`` seconds (default 10) and then refuses with ``output-locked``.
    """
    token = run_token()
    lock = folder / LOCK_NAME
    limit = wait if wait is not None else LOCK_WAIT
    deadline = time.monotonic() + limit
    host = socket.gethostname()
    body = json.dumps({"pid": os.getpid(), "host": host, "run": token,
                       "started": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False).encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    while True:
        try:
            fd = os.open(lock, flags, 0o644)
        except FileExistsError:
            info = _lock_info(lock)
            if info is None:
                continue
            if _stale(lock, info, host):
                _break_stale(lock, info)
                continue
            if time.monotonic() >= deadline:
                holder = (f"{info.get('host', '?')} 上的进程 {info.get('pid', '?')}，开始于 {info.get('started', '?')}"
                          if info else "另一个进程")
                raise OutputError(
                    f"输出文件夹 {folder} 正在被另一个 formkit 任务使用（{holder}）。请等它完成后再运行，或换一个输出文件夹；"
                    f"如果确定没有其他任务在运行，可删除文件 {lock} 后重试。", code="output-locked") from None
            time.sleep(0.2)
            continue
        except OSError as exc:
            raise output_error(exc, lock) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        break
    try:
        yield token
    finally:
        try:
            if (_lock_info(lock) or {}).get("run") == token:
                lock.unlink(missing_ok=True)
        except OSError:
            pass  # a lock we cannot remove is stale once this process ends


def inside(folder: Path, candidate: Path) -> Path:
    """Return ``candidate`` resolved, or raise if it is not inside ``folder``."""
    root = folder.resolve()
    target = (root / candidate).resolve()
    if target != root and root not in target.parents:
        raise OutputError(f"输出文件名“{candidate}”会写到输出目录之外，已拒绝。")
    return target


def read_input(path: Path, what: str = "文件", limit: int | None = None) -> bytes:
    """Read a user-supplied file; a missing or unreadable one is an ``InputFileError`` in Chinese.

    ``what`` names the file's role in the message (``模板文件``, ``配置文件`` …). With ``limit``, at
    most ``limit + 1`` bytes are read: the caller's size check then refuses a file that is too large
    without the whole of it (or of an endless device such as ``/dev/zero``) ever being in memory.
    """
    from formkit.core.errors import InputFileError

    try:
        with path.open("rb") as handle:
            return handle.read() if limit is None else handle.read(limit + 1)
    except FileNotFoundError:
        raise InputFileError(f"找不到{what}：{path}。请检查路径。", path=str(path), code="file-missing") from None
    except IsADirectoryError:
        raise InputFileError(f"{path} 是文件夹，不是{what}。", path=str(path), code="file-type") from None
    except OSError as exc:
        raise InputFileError(f"无法读取{what} {path}：{exc.strerror}。", path=str(path), code="file-unreadable") from None


UPLOADED = "<上传的文件>"
"""How messages name an input given as bytes or a file object: it has no path to show."""

Source = Path | str | bytes | IO[bytes]
"""An input workbook or template: a path, its bytes, or a binary file object (an upload)."""


def source_name(source: Source) -> str:
    """The name messages give ``source``: its path, or :data:`UPLOADED`."""
    return str(source) if isinstance(source, str | Path) else UPLOADED


def source_bytes(source: Source, what: str = "文件", limit: int | None = None) -> bytes:
    """The content of ``source``; a missing file is an ``InputFileError`` naming ``what``.

    With ``limit``, at most ``limit + 1`` bytes are taken from a path or a file object (see
    :func:`read_input`): an upload stream that is huge or never ends reaches the size guard as
    "too large" instead of exhausting memory first.
    """
    from formkit.core.errors import InputFileError

    if isinstance(source, str | Path):
        return read_input(Path(source), what, limit)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    chunks: list[bytes] = []
    wanted = -1 if limit is None else limit + 1
    try:
        while wanted:
            # A file object may hand back more than it was asked for: take only what was asked.
            data = source.read(_CHUNK if wanted < 0 else min(wanted, _CHUNK))
            if not isinstance(data, bytes | bytearray | memoryview) and data is not None:
                raise InputFileError(f"{what}{UPLOADED}应以二进制方式打开（open(…, \"rb\")）。", path=UPLOADED,
                                     code="file-type")
            if not data:
                break
            piece = bytes(data if wanted < 0 else data[:wanted])
            chunks.append(piece)
            wanted = wanted if wanted < 0 else wanted - len(piece)
    except (OSError, ValueError) as exc:
        if isinstance(exc, FormkitError):
            raise
        raise InputFileError(f"无法读取{what}{UPLOADED}：{exc}。", path=UPLOADED, code="file-unreadable") from None
    return b"".join(chunks)


_CHUNK = 1 << 20
