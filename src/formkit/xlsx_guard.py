"""Refuse hostile or broken spreadsheet files before any parser sees them.

A 2.5 KB xlsx with a cell at XFD1048576 aborts the process inside calamine (an
uncatchable allocation failure) and drives openpyxl to gigabytes; a small zip bomb
inflates to gigabytes. So the zip directory and the sheet XML are scanned first, with
plain ``zipfile`` and bounded streaming reads, against limits a caller can change.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from .errors import InputFileError
from .zip_guard import Limits, PackageProblem, check_members

__all__ = ["Limits", "check_spreadsheet"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d{1,7})"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def check_spreadsheet(path: Path, limits: Limits | None = None) -> str:
    """Check ``path`` is a spreadsheet safe to parse; return its kind (``xlsx`` or ``xls``).

    Raises :class:`InputFileError` with a Chinese message naming the file and the problem.
    """
    limits = limits or Limits.from_env()
    name = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise InputFileError(f"找不到文件：{name}。请检查路径。", path=name, code="file-missing") from None
    except IsADirectoryError:
        raise InputFileError(f"{name} 是文件夹，不是表格文件。", path=name, code="file-type") from None
    except OSError as exc:
        raise InputFileError(f"无法读取 {name}：{exc.strerror}。", path=name, code="file-unreadable") from None
    if size == 0:
        raise InputFileError(f"{name} 是空文件（0 字节）。请重新导出或重新发送。", path=name, code="file-empty")
    if size > limits.max_file_bytes:
        raise InputFileError(
            f"{name} 太大（{size // 1048576} MB，上限 {limits.max_file_bytes // 1048576} MB）。"
            "请拆分后再检查，或设置 FORMKIT_MAX_FILE_BYTES 放宽上限。",
            path=name,
            code="file-too-large",
        )
    if head == _OLE_MAGIC:
        with path.open("rb") as handle:
            blob = handle.read(min(size, 4 * 1024 * 1024))
        if "EncryptedPackage".encode("utf-16-le") in blob or b"EncryptedPackage" in blob:
            raise InputFileError(
                f"{name} 设置了打开密码，无法读取。请在 Excel/WPS 中取消密码（文件→信息→保护工作簿）后另存再检查。",
                path=name,
                code="file-encrypted",
            )
        return "xls"
    if not head.startswith(b"PK"):
        raise InputFileError(
            f"{name} 不是 Excel 表格文件（.xlsx/.xls），可能是改了扩展名的其他文件。请用 Excel/WPS 另存为 .xlsx。",
            path=name,
            code="file-type",
        )
    _check_zip(path, name, limits)
    return "xlsx"


def _check_zip(path: Path, name: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InputFileError(
            f"{name} 已损坏（不是完整的 xlsx 压缩包），可能没有传完。请让对方重新发送。", path=name, code="file-corrupt"
        ) from None
    with archive:
        try:
            infos = check_members(archive, limits)
        except PackageProblem as exc:
            raise InputFileError(f"{name} {exc.detail}，已拒绝。", path=name, code=exc.code) from None
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise InputFileError(f"{name} 不是 Excel 工作簿（缺少 xl/workbook.xml）。", path=name, code="file-type")
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                _check_sheet_extent(archive, info, name, limits)
            elif info.filename.endswith(".xml") or info.filename.endswith(".rels"):
                _check_entities(archive, info, name)


def _check_entities(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    with archive.open(info) as handle:
        head = handle.read(4096)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputFileError(
            f"{name} 的 {info.filename} 含有 XML 实体定义（可能是“十亿笑声”攻击），已拒绝。", path=name, code="file-hostile"
        )


def _check_sheet_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits) -> None:
    """Stream the sheet XML and find the highest row and column actually referenced."""
    max_row = max_col = 0
    tail = b""
    try:
        with archive.open(info) as handle:
            first = True
            while True:
                chunk = handle.read(1 << 20)
                if not chunk:
                    break
                if first:
                    if b"<!DOCTYPE" in chunk[:4096] or b"<!ENTITY" in chunk[:4096]:
                        raise InputFileError(
                            f"{name} 的工作表含有 XML 实体定义（可能是“十亿笑声”攻击），已拒绝。", path=name,
                            code="file-hostile",
                        )
                    first = False
                data = tail + chunk
                for m in _CELL_REF.finditer(data):
                    col = _col_number(m.group(1))
                    row = int(m.group(2))
                    max_col = max(max_col, col)
                    max_row = max(max_row, row)
                for m in _ROW_REF.finditer(data):
                    max_row = max(max_row, int(m.group(1)))
                tail = data[-256:]
    except InputFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        raise InputFileError(f"{name} 已损坏（工作表数据不完整）。请让对方重新发送。", path=name, code="file-corrupt") from None
    if max_row > limits.max_rows or max_col > limits.max_columns or max_row * max_col > limits.max_cells:
        raise InputFileError(
            f"{name} 的工作表用到了第 {max_row} 行、第 {max_col} 列，超出台账的合理范围"
            f"（最多 {limits.max_columns} 列、{limits.max_cells} 个单元格）。请删除表格远处的空白格式或多余内容后另存。",
            path=name,
            code="file-too-large",
        )
