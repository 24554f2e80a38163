"""Size and content checks for zip packages (xlsx workbooks and docx templates) before parsing.

Both spreadsheets and Word templates are OOXML zip packages from untrusted hands. The
checks that do not depend on what the package holds live here, once: member count,
declared uncompressed size, compression ratio, and XML DTDs (entity expansion). Each
caller turns a :class:`PackageProblem` into its own error type naming the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Limits for untrusted packages. ``from_env`` lets the CLI apply ``FORMKIT_<NAME>`` overrides."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_members: int = 2_000
    max_ratio: int = 200
    max_rows: int = 1_048_576
    max_columns: int = 200
    max_cells: int = 20_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        """Limits with the ``FORMKIT_<NAME>`` overrides found in ``environ`` (the caller's environment)."""

        def get(name: str, default: int) -> int:
            raw = environ.get(f"FORMKIT_{name.upper()}")
            return int(raw) if raw and raw.isdigit() else default

        base = cls()
        return cls(**{f: get(f, getattr(base, f)) for f in base.__dataclass_fields__})


RATIO_FLOOR = 10 * 1024 * 1024
"""Members smaller than this (uncompressed) are not judged by their compression ratio:
XML compresses well, and a small member cannot exhaust memory anyway."""


class PackageProblem(Exception):
    """A package fails a guard; ``code`` is the stable error code, ``detail`` a Chinese clause."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_members(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """Check the zip directory against ``limits``; return the members.

    Only the directory is read, so this is cheap and runs before anything is inflated.
    Declared sizes can lie; readers that inflate must still bound what they read
    (:func:`read_member`).
    """
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise PackageProblem("file-too-large", f"内部文件过多（{len(infos)} 个，上限 {limits.max_members} 个）")
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise PackageProblem(
            "file-too-large", f"解压后过大（{total // 1048576} MB，上限 {limits.max_uncompressed_bytes // 1048576} MB），可能是压缩炸弹"
        )
    for info in infos:
        if info.flag_bits & 0x1:
            # zipfile raises a bare RuntimeError when asked to inflate a password-protected member.
            raise PackageProblem("file-encrypted", f"的内部文件 {info.filename} 设置了压缩包密码，无法读取，请去掉密码后另存")
        if info.compress_size and info.file_size > RATIO_FLOOR and info.file_size / info.compress_size > limits.max_ratio:
            raise PackageProblem(
                "file-too-large",
                f"其中 {info.filename} 的压缩比异常（{info.file_size // info.compress_size}:1），可能是压缩炸弹",
            )
    return infos


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Inflate one member, refusing it once it exceeds its declared size or the package limit."""
    cap = min(info.file_size, limits.max_uncompressed_bytes)
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise PackageProblem("file-too-large", f"其中 {info.filename} 解压后超过声明的大小，可能是压缩炸弹")
    return data


def has_dtd(head: bytes) -> bool:
    """True when an XML document declares a DTD or entities (billion-laughs and XXE vectors).

    A DOCTYPE must precede the root element, so the first few KB decide it.
    """
    probe = head[:8192].upper()
    return b"<!DOCTYPE" in probe or b"<!ENTITY" in probe


def external_targets(rels: bytes) -> list[str]:
    """The targets of every ``TargetMode="External"`` relationship in a ``.rels`` part.

    External relationships make Word or LibreOffice fetch something from outside the
    package when the document is opened (a linked image over HTTP, a UNC path that
    leaks Windows credentials, a remote ``attachedTemplate``, a linked OLE object).
    The part is read with a real XML parser, so quoting, spacing or prefix tricks
    cannot hide an attribute. Call only after :func:`has_dtd` returned False.
    """
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(rels)
    except ElementTree.ParseError as exc:
        raise PackageProblem("file-corrupt", f"关系文件不是有效的 XML（{exc}）") from None
    found: list[str] = []
    for element in root.iter():
        attrs = {key.rsplit("}", 1)[-1].lower(): value for key, value in element.attrib.items()}
        if attrs.get("targetmode", "").strip().lower() == "external":
            found.append(attrs.get("target", ""))
    return found


MACRO_CONTENT = (b"macroenabled", b"vbaproject", b"ms-office.activex", b"vnd.ms-office.vbadata")
"""Content-type fragments (lower case) that mark a package carrying VBA or ActiveX code."""


def has_macros(name: str, data: bytes | None = None) -> bool:
    """True when member ``name`` is VBA code, or ``data`` (``[Content_Types].xml``) declares macro parts."""
    lower = name.lower().rsplit("/", 1)[-1]
    if lower in ("vbaproject.bin", "vbadata.xml") or lower.startswith("activex"):
        return True
    if data is not None and name.lower() == "[content_types].xml":
        folded = data.lower()
        return any(marker in folded for marker in MACRO_CONTENT)
    return False
