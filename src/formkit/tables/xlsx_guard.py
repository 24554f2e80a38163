"""Refuse hostile or broken spreadsheet files before any parser sees them.

A 2.5 KB xlsx with a cell at XFD1048576 aborts the process inside calamine (an
uncatchable allocation failure) and drives openpyxl to gigabytes; a small zip bomb
inflates to gigabytes. So the zip directory and the sheet XML are checked first, with
plain ``zipfile`` and bounded streaming reads, against limits a caller can change.

The sheets are found the way a reader finds them: through ``xl/workbook.xml``, its
relationships and ``[Content_Types].xml``, with member names compared case-insensitively
(calamine does), wherever in the package they live. Their cell and row references and
the ``<dimension>`` claim are read with expat, a real XML tokenizer, so quoting, spacing,
namespace prefixes and character references cannot hide a far cell; a DTD is refused
before anything is expanded.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote
from xml.parsers import expat

from formkit.core.errors import InputFileError
from formkit.core.fileio import UPLOADED
from formkit.core.zip_guard import Limits, PackageProblem, check_members, has_dtd, read_member

__all__ = ["Limits", "check_spreadsheet", "output_kind"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_REF = re.compile(r"\$?([A-Z]*)\$?(\d*)")
_CHUNK = 1 << 20
_SHEET_TYPES = ("/worksheet", "/macrosheet", "/dialogsheet", "/xlIntlMacrosheet")
_SHEET_CONTENT = ("worksheet", "macrosheet", "dialogsheet")


class _Refused(Exception):
    """Raised from inside the expat callbacks; carries the error to raise outside them."""

    def __init__(self, error: InputFileError) -> None:
        super().__init__(str(error))
        self.error = error


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _ref(value: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference, or None when it is not one; letters in any case."""
    m = _REF.fullmatch(value.strip().upper())
    if m is None or not (m.group(1) or m.group(2)):
        return None
    # Digit runs are capped before int(): a 10,000-digit row number is refused, not computed.
    return (int(m.group(2)[:9]) if m.group(2) else 0), (_col_number(m.group(1)[:6]) if m.group(1) else 0)


def _member_key(filename: str) -> str:
    """A zip member name as calamine matches it: any case, and ``\\`` (written by some Windows
    tools) standing for ``/``, so ``xl\\worksheets\\sheet1.xml`` is the sheet ``worksheets/sheet1.xml``."""
    return filename.lower().replace("\\", "/")


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def check_spreadsheet(path: Path | bytes, limits: Limits | None = None, name: str | None = None) -> str:
    """Check ``path`` (a file, or the bytes of an upload) is a spreadsheet safe to parse; return its
    kind (``xlsx`` or ``xls``).

    Raises :class:`InputFileError` with a Chinese message naming the file (``name``, else the path,
    else ``<上传的文件>``) and the problem.
    """
    limits = limits or Limits()
    name = name or (str(path) if isinstance(path, Path) else UPLOADED)
    try:
        if isinstance(path, bytes):
            size, head = len(path), path[:8]
        else:
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
        if isinstance(path, bytes):
            blob = path[:4 * 1024 * 1024]
        else:
            with path.open("rb") as handle:
                blob = handle.read(min(size, 4 * 1024 * 1024))
        if "EncryptedPackage".encode("utf-16-le") in blob or b"EncryptedPackage" in blob:
            raise InputFileError(
                f"{name} 设置了打开密码，无法读取。请在 Excel/WPS 中取消密码（文件→信息→保护工作簿）后另存再检查。",
                path=name,
                code="file-encrypted",
            )
        _check_xls(path, name, limits)
        return "xls"
    if not head.startswith(b"PK"):
        raise InputFileError(
            f"{name} 不是 Excel 表格文件（.xlsx/.xls），可能是改了扩展名的其他文件。请用 Excel/WPS 另存为 .xlsx。",
            path=name,
            code="file-type",
        )
    _check_zip(path, name, limits)
    return "xlsx"


def _ole_streams(blob: bytes, wanted: tuple[str, ...]) -> list[bytes]:
    """The streams named ``wanted`` (root level or anywhere) of an OLE compound file, read with bounds.

    Raises ValueError when the container's structure is broken (chains out of range or looping).
    """
    def u32(at: int) -> int:
        if at + 4 > len(blob):
            raise ValueError("truncated")
        return int.from_bytes(blob[at:at + 4], "little")

    shift = int.from_bytes(blob[0x1E:0x20], "little")
    mini_shift = int.from_bytes(blob[0x20:0x22], "little")
    if shift not in (9, 12) or mini_shift != 6:
        raise ValueError("sector size")
    size = 1 << shift
    sectors = max(0, (len(blob) - size) // size) + 1

    def sector(n: int) -> bytes:
        if n >= sectors:
            raise ValueError("sector out of range")
        start = (n + 1) << shift
        return blob[start:start + size]

    fat_sectors = [u32(0x4C + 4 * i) for i in range(109)]
    difat, seen = u32(0x44), 0
    while difat < 0xFFFFFFFA and seen <= sectors:
        data = sector(difat)
        fat_sectors += [int.from_bytes(data[i:i + 4], "little") for i in range(0, size - 4, 4)]
        difat, seen = int.from_bytes(data[size - 4:], "little"), seen + 1
    fat: list[int] = []
    for n in fat_sectors[:u32(0x2C)]:
        data = sector(n)
        fat += [int.from_bytes(data[i:i + 4], "little") for i in range(0, size, 4)]

    def chain(first: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while first < 0xFFFFFFFA:
            if first >= len(table) or len(out) > len(table):
                raise ValueError("broken chain")
            out.append(first)
            first = table[first]
        return out

    directory = b"".join(sector(n) for n in chain(u32(0x30), fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise ValueError("no directory")
    root = entries[0]
    mini_stream = b"".join(sector(n) for n in chain(int.from_bytes(root[0x74:0x78], "little"), fat))
    mini_fat_bytes = b"".join(sector(n) for n in chain(u32(0x3C), fat))
    mini_fat = [int.from_bytes(mini_fat_bytes[i:i + 4], "little") for i in range(0, len(mini_fat_bytes), 4)]
    cutoff = u32(0x38)
    found = []
    for entry in entries[1:]:
        length = min(int.from_bytes(entry[0x40:0x42], "little"), 64)
        name = entry[:max(0, length - 2)].decode("utf-16-le", "replace")
        if entry[0x42] != 2 or name not in wanted:
            continue
        first, stream_size = int.from_bytes(entry[0x74:0x78], "little"), int.from_bytes(entry[0x78:0x7C], "little")
        if stream_size < cutoff:
            data = b"".join(mini_stream[n << 6:(n + 1) << 6] for n in chain(first, mini_fat))
        else:
            data = b"".join(sector(n) for n in chain(first, fat))
        found.append(data[:stream_size])
    return found


_CELL_RECORDS = frozenset({0x0006, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x0406})
_MULTI_RECORDS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first column … last column


def _xls_extent(stream: bytes) -> tuple[int, int]:
    """Highest (row, column) count any cell or DIMENSIONS record of a BIFF stream reaches."""
    rows = cols = 0
    at = 0
    while at + 4 <= len(stream):
        kind = int.from_bytes(stream[at:at + 2], "little")
        length = int.from_bytes(stream[at + 2:at + 4], "little")
        body = stream[at + 4:at + 4 + length]
        at += 4 + length
        if kind in _CELL_RECORDS and len(body) >= 4:
            rows = max(rows, int.from_bytes(body[0:2], "little") + 1)
            cols = max(cols, int.from_bytes(body[2:4], "little") + 1)
        elif kind in _MULTI_RECORDS and len(body) >= 6:
            rows = max(rows, int.from_bytes(body[0:2], "little") + 1)
            cols = max(cols, int.from_bytes(body[-2:], "little") + 1)
        elif kind == 0x0200 and len(body) >= 14:  # DIMENSIONS (BIFF8): last row + 1, last column + 1
            rows = max(rows, int.from_bytes(body[4:8], "little"))
            cols = max(cols, int.from_bytes(body[10:12], "little"))
    return rows, cols


def _check_xls(path: Path | bytes, name: str, limits: Limits) -> None:
    """A legacy .xls: calamine sizes each sheet from its farthest BIFF cell record (a 5 KB file with one
    cell at column 65535 asks for a 65536 × 65536 grid and aborts), so those records are read first."""
    try:
        streams = _ole_streams(path if isinstance(path, bytes) else path.read_bytes(), ("Workbook", "Book"))
    except (ValueError, IndexError):
        raise InputFileError(
            f"{name} 已损坏（不是完整的 Excel 97-2003 文件），可能没有传完。请让对方重新发送或另存为 .xlsx。",
            path=name, code="file-corrupt") from None
    except OSError as exc:
        raise InputFileError(f"无法读取 {name}：{exc.strerror}。", path=name, code="file-unreadable") from None
    for stream in streams:
        rows, cols = _xls_extent(stream)
        if _over(rows, cols, limits):
            raise _too_large(name, "Workbook", rows, cols, limits, False)


def _check_zip(path: Path | bytes, name: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path)
    except (zipfile.BadZipFile, OSError):
        raise InputFileError(
            f"{name} 已损坏（不是完整的 xlsx 压缩包），可能没有传完。请让对方重新发送。", path=name, code="file-corrupt"
        ) from None
    with archive:
        try:
            infos = check_members(archive, limits)
            by_name: dict[str, list[zipfile.ZipInfo]] = {}
            for info in infos:
                by_name.setdefault(_member_key(info.filename), []).append(info)
            if "xl/workbook.xml" not in by_name:
                raise InputFileError(f"{name} 不是 Excel 工作簿（缺少 xl/workbook.xml）。", path=name, code="file-type")
            sheets = _sheet_parts(archive, by_name, name, limits)
            for info in infos:
                if _member_key(info.filename) in sheets:
                    _check_sheet_extent(archive, info, name, limits)
                else:
                    _check_entities(archive, info, name, limits)
        except PackageProblem as exc:
            raise InputFileError(f"{name} {exc.detail}，已拒绝。", path=name, code=exc.code) from None
        except InputFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
            raise InputFileError(
                f"{name} 已损坏（压缩包内容不完整）。请让对方重新发送。", path=name, code="file-corrupt"
            ) from None


def _hostile(name: str, member: str) -> InputFileError:
    return InputFileError(
        f"{name} 的 {member} 含有 XML 实体定义（可能是“十亿笑声”攻击），已拒绝。", path=name, code="file-hostile"
    )


def _check_entities(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits) -> None:
    with archive.open(info) as handle:
        head = handle.read(8192)
    if has_dtd(head):
        raise _hostile(name, info.filename)
    # calamine reserves room for the shared strings the <sst> tag claims before reading one:
    # uniqueCount="4000000000" in a 300-byte part aborts the process (as a far cell does).
    if b"sst" not in head:
        return
    claims: list[dict[str, str]] = []

    def first(tag: str, attrs: dict[str, str]) -> None:
        claims.append(attrs if _local(tag) == "sst" else {})
        raise _Stop

    parser = expat.ParserCreate()
    parser.StartElementHandler = first
    with suppress(_Stop, expat.ExpatError):
        parser.Parse(head, False)
    for key, value in (claims[0] if claims else {}).items():
        digits = value.strip()
        if _local(key) in ("count", "uniqueCount") and digits.isdigit():
            claimed = int(digits[:12])
            if claimed > limits.max_cells or claimed > info.file_size:
                raise InputFileError(
                    f"{name} 的 {info.filename} 声称有 {claimed} 个共享字符串，与文件实际大小不符，文件可能被篡改或已损坏。"
                    "请用 Excel/WPS 打开后另存为 .xlsx。", path=name, code="file-too-large")


class _Stop(Exception):
    """Ends an expat scan once the element it looked for has been seen."""


def _small_xml(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], name: str,
               limits: Limits) -> Iterator[tuple[str, dict[str, str]]]:
    """Every start tag (local name, attributes) of the package parts ``infos`` (the workbook, its
    relationships, the content types), read bounded and with DTDs refused."""
    for info in infos:
        data = read_member(archive, info, limits)
        if has_dtd(data):
            raise _hostile(name, info.filename)
        events: list[tuple[str, dict[str, str]]] = []
        parser = expat.ParserCreate()

        def refuse(*_: object, member: str = info.filename) -> None:
            raise _Refused(_hostile(name, member))

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.StartElementHandler = lambda tag, attrs, out=events: out.append((_local(tag), attrs))
        try:
            parser.Parse(data, True)
        except _Refused as exc:
            raise exc.error from None
        except expat.ExpatError:
            # A broken workbook part is calamine's to report; the sheets we can find are still checked.
            pass
        yield from events


def _sheet_parts(archive: zipfile.ZipFile, by_name: dict[str, list[zipfile.ZipInfo]], name: str,
                 limits: Limits) -> set[str]:
    """Lower-case names of every member a reader may open as a worksheet.

    Union of: the targets of the ``<sheet>`` entries of the workbook and of every
    worksheet-type relationship (each target resolved both the OPC way and calamine's
    way), the worksheet overrides in ``[Content_Types].xml``, and anything under a
    ``worksheets/`` folder. Over-inclusion only costs a scan; missing one would let a far
    cell through.
    """
    found = {n for n in by_name if "/worksheets/" in "/" + n and not n.endswith((".rels", "/"))}

    def member(target: str, base: str) -> set[str]:
        target = unquote(target.strip()).replace("\\", "/")
        if target.startswith("/"):
            candidates = {target.lstrip("/")}
        else:
            candidates = {posixpath.normpath(posixpath.join(base, target)), base + target,
                          target if target.lower().startswith("xl/") else "xl/" + target}
        return {c.lower() for c in candidates if c.lower() in by_name}

    sheet_ids = {
        value
        for tag, attrs in _small_xml(archive, by_name["xl/workbook.xml"], name, limits) if tag == "sheet"
        for key, value in attrs.items() if _local(key) == "id"
    }
    for rels in (n for n in by_name if n.endswith(".rels")):
        # xl/_rels/workbook.xml.rels → targets relative to xl/
        base = posixpath.dirname(posixpath.dirname(rels))
        base = base + "/" if base else ""
        for tag, attrs in _small_xml(archive, by_name[rels], name, limits):
            if tag != "Relationship" or attrs.get("TargetMode", "").lower() == "external":
                continue
            kind = attrs.get("Type", "")
            is_workbook_rels = rels == "xl/_rels/workbook.xml.rels"
            if kind.endswith(_SHEET_TYPES) or (is_workbook_rels and attrs.get("Id") in sheet_ids):
                found |= member(attrs.get("Target", ""), base)
    for types in by_name.get("[content_types].xml", []):
        for tag, attrs in _small_xml(archive, [types], name, limits):
            content = attrs.get("ContentType", "").lower()
            if tag == "Override" and any(k in content for k in _SHEET_CONTENT):
                found |= member(attrs.get("PartName", ""), "")
    return found


def _too_large(name: str, member: str, rows: int, cols: int, limits: Limits, claimed: bool) -> InputFileError:
    what = "声明的范围（dimension 或合并单元格）" if claimed else "用到了"
    return InputFileError(
        f"{name} 的工作表（{member}）{what}第 {rows} 行、第 {cols} 列，超出台账的合理范围"
        f"（最多 {limits.max_columns} 列、{limits.max_cells} 个单元格）。请删除表格远处的空白格式或多余内容后另存。",
        path=name,
        code="file-too-large",
    )


def _over(rows: int, cols: int, limits: Limits) -> bool:
    return rows > limits.max_rows or cols > limits.max_columns or rows * cols > limits.max_cells


# The fast path's grammar: the spelling every spreadsheet program writes. Anything else
# (prefixes, other quoting or spacing, r-less cells, comments, CDATA, a DTD, processing
# instructions, character references in a reference) makes the counts disagree or the
# scan bail out, and the sheet takes the expat path below, which reads every element as a
# reader would.
_FAST_CELL = re.compile(rb'<c r="([A-Z]{1,3})[1-9][0-9]{0,6}"[ \t\r\n/>]')
_FAST_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"[ \t\r\n/>]')
# Patterns with a literal start, so the regex engine skips ahead at C speed. A colon before a
# tag name (a prefixed tag) is rare enough that any such text means doubt. A tag of the odd
# spellings (group 1 empty: a row not in _FAST_ROW's spelling among them) means doubt too; a
# claim (group 1, a ``<dimension>`` or ``<mergeCell>`` tag) is read by expat.
_ODD_TAG_OR_CLAIM = re.compile(rb'<(?:[!?]|c[\t\r\n/>]|row[\t\r\n/>]|row (?!r="[1-9][0-9]{0,6}"[ \t\r\n/>])'
                               rb"|((?:dimension|mergeCell)[\s/>][^>]*>))")
_PREFIXED = re.compile(rb":(?:c|row|dimension|mergeCell)[\s/>]")


def _claimed_extent(tag: bytes) -> tuple[int, int] | None:
    """(rows, columns) a ``<dimension>``/``<mergeCell>`` tag claims, read by expat; None if unreadable."""
    found: list[dict[str, str]] = []
    parser = expat.ParserCreate()
    parser.StartElementHandler = lambda _, attrs: found.append(attrs)
    try:
        parser.Parse(tag, False)
    except expat.ExpatError:
        return None
    if len(found) != 1:
        return None
    rows = cols = 0
    for part in found[0].get("ref", "").split(":"):
        claimed = _ref(part)
        if claimed is not None:
            rows, cols = max(rows, claimed[0]), max(cols, claimed[1])
    return rows, cols


def _greater_digits(number: int) -> bytes:
    """Alternatives matching a row number greater than ``number`` (more digits, or as many and larger)."""
    digits = str(number)
    options = [rf"[1-9][0-9]{{{len(digits)},}}"]
    for i, d in enumerate(digits):
        if d != "9":
            options.append(digits[:i] + f"[{int(d) + 1}-9]" + f"[0-9]{{{len(digits) - i - 1}}}")
    return "|".join(options).encode()


def _greater(number: int) -> re.Pattern[bytes]:
    """A cell reference whose row is greater than ``number``."""
    return re.compile(rb'<c r="[A-Z]{1,3}(?:' + _greater_digits(number) + rb')"')


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rem = divmod(column - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _up_to(limit: str, first: str, low: str, high: str) -> list[str]:
    """Alternatives matching a string as long as ``limit`` that sorts at most ``limit``: its
    first character from ``first``, the others from ``low``, all up to ``high``."""
    options = []
    for i, ch in enumerate(limit):
        least = first if i == 0 else low
        if ch > least:
            options.append(limit[:i] + f"[{least}-{chr(ord(ch) - 1)}]" + f"[{low}-{high}]{{{len(limit) - i - 1}}}")
    return [*options, limit]


def _unvouched_cell(max_row: int, max_col: int) -> re.Pattern[bytes]:
    """A ``<c `` tag that is not in the strict spelling, or lies beyond row ``max_row`` or column
    ``max_col``: one C-speed search instead of collecting every cell's reference. The allowed
    references are spelled out (fewer characters, or as many and not after the limit: A1 order
    is length first, then alphabetical), which the regex engine runs faster than a lookahead."""
    if max_row <= 0 or max_col <= 0:
        return re.compile(rb"<c ")
    letters, digits = _letters(max_col), str(max_row)
    columns = ([f"[A-Z]{{1,{len(letters) - 1}}}"] if len(letters) > 1 else []) + _up_to(letters, "A", "A", "Z")
    rows = ([f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []) + _up_to(digits, "1", "0", "9")
    return re.compile(rb'<c (?!r="(?:' + "|".join(columns).encode() + rb')(?:' + "|".join(rows).encode()
                      + rb')"[ \t\r\n/>])')


def _fast_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bool:
    """True when the sheet is written in the usual spelling and is within ``limits``.

    The cell and row references are checked by C-speed regular expressions on the raw bytes,
    with no Python work per cell. Every ``<c `` and ``<row `` tag must match the strict
    pattern and no other spelling may occur, so a far cell cannot hide: any doubt returns
    False and the caller reads the sheet with expat, which also words the refusal. A cell's
    row beyond the last ``<row r>`` is looked for explicitly. Well-formedness is left to the
    reader (calamine reports a broken sheet itself).

    Each piece is first searched for a cell the extent so far does not cover; only a piece
    that has one (the first, which holds the header, and one with a wider row) has every
    cell's column collected and its counts compared.
    """
    budget = min(info.file_size, limits.max_uncompressed_bytes)
    max_row = max_col = 0
    first = True
    carry = b""
    # A small first read: the title and header rows give the sheet's width before the bulk is scanned.
    size = _CHUNK // 4
    try:
        with archive.open(info) as handle:
            while True:
                chunk = handle.read(size)
                size = _CHUNK * 4
                budget -= len(chunk)
                if budget < 0:
                    return False
                if first and has_dtd(chunk[:8192]):
                    return False
                # Scan up to the last '>' so no tag is split between two scans (by position: no copies).
                data = carry + chunk
                end = data.rfind(b">") + 1 if chunk else len(data)
                start = data.find(b"?>") + 2 if first and data.startswith(b"<?xml") else 0
                carry = data[end:]
                first = False
                if _PREFIXED.search(data, start, end):
                    return False
                for tag in _ODD_TAG_OR_CLAIM.finditer(data, start, end):
                    if tag.group(1) is None:
                        return False
                    claimed = _claimed_extent(tag.group(0))
                    if claimed is None or _over(*claimed, limits):
                        return False
                # Every <row > is in _FAST_ROW's spelling (the scan above), so these are all the rows.
                max_row = max(max_row, max(map(int, _FAST_ROW.findall(data, start, end)), default=0))
                if _unvouched_cell(max_row, max_col).search(data, start, end):
                    cells = _FAST_CELL.findall(data, start, end)
                    if len(cells) != data.count(b"<c ", start, end):
                        return False
                    max_col = max([max_col] + [_col_number(x.decode("ascii")) for x in set(cells)])
                    # Readers place a cell by its own reference: none may lie below the rows seen.
                    if _greater(max_row).search(data, start, end):
                        return False
                if not chunk:
                    break
    except (zlib.error, EOFError, zipfile.BadZipFile):
        return False
    return not _over(max_row, max_col, limits)


def _check_sheet_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits) -> None:
    """Refuse a sheet whose claimed or actual extent is beyond ``limits`` (see :func:`_fast_extent`,
    then the expat reading below for every sheet the fast path cannot vouch for)."""
    if _fast_extent(archive, info, limits):
        return
    _read_sheet_extent(archive, info, name, limits)


def _read_sheet_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits) -> None:
    """Stream the sheet XML through expat; refuse on the claimed or the actual extent.

    Cells and rows without ``r`` are placed after the previous one, as readers do, so
    16,384 bare ``<c/>`` count as 16,384 columns. Inflated bytes are capped at the
    member's declared size (a lying zip header cannot stream gigabytes through here).
    """
    member = info.filename
    row = col = max_row = max_col = 0
    columns: dict[str, int] = {}  # column letters as written → number; a sheet uses few distinct ones

    def refuse(*_: object) -> None:
        raise _Refused(_hostile(name, member))

    def bad_ref(value: str) -> _Refused:
        return _Refused(InputFileError(
            f"{name} 的工作表（{member}）有无法识别的单元格位置“{value[:20]}”，文件可能已损坏。"
            "请用 Excel/WPS 打开后另存为 .xlsx。",
            path=name, code="file-corrupt",
        ))

    def too_large() -> _Refused:
        return _Refused(_too_large(name, member, max_row, max_col, limits, False))

    def prefixed_r(attrs: dict[str, str]) -> str | None:
        return next((v for k, v in attrs.items() if k.endswith(":r")), None)

    def start(tag: str, attrs: dict[str, str]) -> None:
        # Called for every element of the sheet (millions): the common spelling is the fast path.
        nonlocal row, col, max_row, max_col
        if tag == "c" or tag.endswith(":c"):
            ref = attrs.get("r") or prefixed_r(attrs)
            if ref is None:
                col += 1
            else:
                letters = ref.rstrip("0123456789")
                number = columns.get(letters)
                if number is None:
                    number = columns[letters] = _col_number(letters) if letters.isascii() and letters.isupper() \
                        and letters.isalpha() and len(letters) <= 6 else -1
                if number >= 0:
                    digits = ref[len(letters):]
                    at = (int(digits[:9]) if digits else 0, number)
                else:
                    found = _ref(ref)  # lower case, $, spaces: rare, so the slow path
                    if found is None:
                        raise bad_ref(ref)
                    at = found
                if at[0] > max_row:
                    max_row = at[0]
                    if _over(max_row, max_col, limits):
                        raise too_large()
                col = at[1] or col + 1
            if col > max_col:
                max_col = col
                if _over(max_row, max_col, limits):
                    raise too_large()
        elif tag == "row" or tag.endswith(":row"):
            ref = attrs.get("r") or prefixed_r(attrs)
            if ref is None:
                row += 1
            elif ref.strip().isdigit():
                row = int(ref.strip()[:9])
            else:
                raise bad_ref(ref)
            col = 0
            if row > max_row:
                max_row = row
                if _over(max_row, max_col, limits):
                    raise too_large()
        elif tag.endswith(("dimension", "mergeCell")) and _local(tag) in ("dimension", "mergeCell"):
            # openpyxl (annotate) makes an object for every cell of a merged range, so a merge
            # over the whole sheet is as bad as a far cell.
            rows = cols = 0
            for part in attrs.get("ref", "").split(":"):
                claimed = _ref(part)
                if claimed is not None:
                    rows, cols = max(rows, claimed[0]), max(cols, claimed[1])
            if _over(rows, cols, limits):
                raise _Refused(_too_large(name, member, rows, cols, limits, True))

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    budget = min(info.file_size, limits.max_uncompressed_bytes)
    try:
        with archive.open(info) as handle:
            first = True
            while chunk := handle.read(_CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    raise PackageProblem("file-too-large", f"其中 {member} 解压后超过声明的大小，可能是压缩炸弹")
                if first and has_dtd(chunk):
                    raise _hostile(name, member)
                first = False
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise exc.error from None
    except expat.ExpatError as exc:
        raise InputFileError(
            f"{name} 的工作表（{member}）不是合格的 XML（第 {exc.lineno} 行：{expat.ErrorString(exc.code)}），"
            "文件可能已损坏。请用 Excel/WPS 打开后另存为 .xlsx。",
            path=name, code="file-corrupt",
        ) from None
    if _over(max_row, max_col, limits):
        raise _too_large(name, member, max_row, max_col, limits, False)


def output_kind(path: Path) -> str:
    """``"summary"`` or ``"checked"`` when ``path`` is one of formkit's own output workbooks, else ``""``.

    Decided by the hidden defined name formkit writes into its outputs
    (:data:`formkit.ledger.workbook.OUTPUT_MARK`) together with the sheet structure it writes,
    or, for summaries written before the mark existed, by the structure alone (汇总, 月报
    and 明细 and nothing else). Reads only ``xl/workbook.xml`` (bounded, DTDs refused);
    anything unreadable is ``""`` and left to :func:`check_spreadsheet` to report.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            info = next((i for i in archive.infolist() if _member_key(i.filename) == "xl/workbook.xml"), None)
            if info is None or info.file_size > 4 * 1024 * 1024:
                return ""
            data = read_member(archive, info, Limits())
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, PackageProblem, NotImplementedError):
        return ""
    if has_dtd(data):
        return ""
    sheets: list[str] = []
    names: dict[str, str] = {}
    current: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "sheet":
            sheets.append(attrs.get("name", ""))
        elif local == "definedName":
            current[:] = [attrs.get("name", "")]

    def text(data: str) -> None:
        if current:
            names[current[0]] = names.get(current[0], "") + data

    def end(tag: str) -> None:
        if _local(tag) == "definedName":
            current.clear()

    def refuse(*_: object) -> None:
        raise ValueError("DTD")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, ValueError):
        return ""
    mark = names.get("_formkit_output", "").strip().strip('"')
    if mark == "summary" and {"汇总", "明细"} <= set(sheets):
        return "summary"
    if mark == "checked" and "检查结果" in sheets:
        return "checked"
    if not mark and sorted(sheets) == sorted(["汇总", "月报", "明细"]):
        return "summary"
    return ""
