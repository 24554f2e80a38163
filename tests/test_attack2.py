"""Adversarial regressions found by attacking the Settings / path-bytes-file-object / overwrite-policy
merge: every input form meets the size guards before it is held whole, and no writer replaces a
file that appeared after its overwrite check.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from formkit import Settings, check_ledger, check_template
from formkit.core.errors import InputFileError
from formkit.documents.engine import TEMPLATE_LIMITS
from formkit.tables.reader import read_ledger, read_workbook
from formkit.tables.xlsx_guard import Limits
from tests.helpers import ROOT

BOMB = ROOT / "tests" / "data" / "bad" / "zip-bomb.xlsx"


class EndlessUpload(io.RawIOBase):
    """An upload stream that never ends and counts what was taken from it."""

    def __init__(self, head: bytes = b"PK\x03\x04") -> None:
        self.head, self.taken = head, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = len(buffer)
        block = (self.head + b"\0" * size)[:size] if self.taken == 0 else b"\0" * size
        buffer[:size] = block
        self.taken += size
        return size


class Overgiving:
    """A file object that hands back far more than it is asked for, on every call."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 10_000:
            raise AssertionError("read without end")
        return b"PK\x03\x04" + b"\0" * (8 * 1024 * 1024)


def test_endless_workbook_stream_reaches_the_size_guard_not_memory() -> None:
    limits = Limits(max_file_bytes=2 * 1024 * 1024)
    stream = EndlessUpload()
    with pytest.raises(InputFileError) as caught:
        read_workbook(stream, limits=limits)  # type: ignore[arg-type]
    assert caught.value.code == "file-too-large"
    assert stream.taken <= limits.max_file_bytes + 1024 * 1024
    endless = EndlessUpload()
    report = check_ledger(endless, settings=Settings(limits=limits))  # type: ignore[arg-type]
    assert [f.error_code for f in report.files] == ["file-too-large"]
    assert endless.taken <= limits.max_file_bytes + 1024 * 1024


def test_file_object_that_returns_more_than_asked_is_cut_at_the_limit() -> None:
    with pytest.raises(InputFileError) as caught:
        read_ledger(Overgiving(), limits=Limits(max_file_bytes=1024 * 1024))  # type: ignore[arg-type]
    assert caught.value.code == "file-too-large"


def test_endless_template_stream_is_refused_as_too_large() -> None:
    stream = EndlessUpload()
    report = check_template(stream, "compel-notice")  # type: ignore[arg-type]
    assert [i.code for i in report.issues] == ["template-too-large"]
    assert stream.taken <= TEMPLATE_LIMITS.max_file_bytes + 1024 * 1024


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_template_path_to_an_endless_device_is_refused_as_too_large(tmp_path: Path) -> None:
    # A county templates folder (or --template) naming a device must not be read to the end.
    report = check_template("/dev/zero", "compel-notice")
    assert [i.code for i in report.issues] == ["template-too-large"]
    link = tmp_path / "compel-notice.docx"
    link.symlink_to("/dev/zero")
    assert [i.code for i in check_template(link).issues] == ["template-too-large"]


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_zip_bomb_as_any_bytes_like_is_a_file_finding(wrap: type) -> None:
    data = wrap(BOMB.read_bytes())
    report = check_ledger(data)
    assert [(f.path, f.error_code) for f in report.files] == [("<上传的文件>", "file-too-large")]
