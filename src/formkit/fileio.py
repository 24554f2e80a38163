"""Safe file output: atomic writes and file names that cannot escape their folder."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u202a-\u202e\u2066-\u2069\u200e\u200f]')
TEMP_PREFIX = ".formkit-tmp-"


@contextmanager
def _atomic(path: Path, *, text: bool) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success fsync it and rename it over ``path``.

    A crash or kill leaves either the old file or the new one, never half of one; the
    temp file carries a recognisable prefix so a later run can remove leftovers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        handle: IO[Any] = (
            os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_stream(path: Path) -> Iterator[IO[str]]:
    """Write UTF-8 text to ``path`` incrementally, atomically (see :func:`atomic_write`)."""
    with _atomic(path, text=True) as handle:
        yield handle


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    with _atomic(path, text=False) as handle:
        handle.write(data)


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


def inside(folder: Path, candidate: Path) -> Path:
    """Return ``candidate`` resolved, or raise if it is not inside ``folder``."""
    root = folder.resolve()
    target = (root / candidate).resolve()
    if target != root and root not in target.parents:
        raise OutputError(f"输出文件名“{candidate}”会写到输出目录之外，已拒绝。")
    return target


def read_input(path: Path, what: str = "文件") -> bytes:
    """Read a user-supplied file; a missing or unreadable one is an ``InputFileError`` in Chinese.

    ``what`` names the file's role in the message (``模板文件``, ``配置文件`` …).
    """
    from .errors import InputFileError

    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"找不到{what}：{path}。请检查路径。", path=str(path), code="file-missing") from None
    except IsADirectoryError:
        raise InputFileError(f"{path} 是文件夹，不是{what}。", path=str(path), code="file-type") from None
    except OSError as exc:
        raise InputFileError(f"无法读取{what} {path}：{exc.strerror}。", path=str(path), code="file-unreadable") from None
