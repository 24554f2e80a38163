"""Adversarial regressions found by attacking the Settings / path-bytes-file-object / overwrite-policy
merge: every input form meets the size guards before it is held whole, and no writer replaces a
file that appeared after its overwrite check.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from formkit import Settings, check_ledger, check_template
from formkit.core.errors import InputFileError, OutputError
from formkit.documents.engine import TEMPLATE_LIMITS
from formkit.tables.reader import read_ledger, read_workbook
from formkit.tables.xlsx_guard import Limits
from tests.helpers import ROOT, SAMPLES, filled_ledger_kept_once, sample

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


CLERK = b"the clerk's own file, typed in while formkit was working"


def test_render_to_never_replaces_a_file_that_appeared_after_its_check(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from formkit.documents import render as render_module

    target = tmp_path / "notice.docx"
    real = render_module.render

    def slow_render(*args: Any, **kwargs: Any) -> bytes:
        # Rendering takes seconds; a clerk saves a file of the same name meanwhile.
        target.write_bytes(CLERK)
        return real(*args, **kwargs)

    monkeypatch.setattr(render_module, "render", slow_render)
    with pytest.raises(OutputError) as caught:
        render_module.render_to(target, "compel-notice", sample("compel-notice"))
    assert caught.value.code == "output-exists"
    assert target.read_bytes() == CLERK
    assert [p.name for p in tmp_path.iterdir()] == ["notice.docx"]  # no temp file left


def test_new_ledger_summary_and_annotate_never_replace_a_file_that_appeared_after_their_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from formkit.ledger import workbook

    report = check_ledger(filled_ledger_kept_once(tmp_path))
    (tmp_path / "out").mkdir()
    real_bytes = workbook.workbook_bytes
    planted: list[Path] = []

    def late_clerk(wb: Any) -> bytes:
        planted[0].write_bytes(CLERK)  # saved by a clerk while formkit built the workbook
        return real_bytes(wb)

    monkeypatch.setattr(workbook, "workbook_bytes", late_clerk)
    writers = [
        (tmp_path / "new.xlsx", lambda: workbook.new_ledger(tmp_path / "new.xlsx", records=[])),
        (tmp_path / "sum.xlsx", lambda: workbook.summary(report, tmp_path / "sum.xlsx")),
        (tmp_path / "out" / "ledger-filled.checked.xlsx", lambda: workbook.annotate(report, tmp_path / "out")),
    ]
    for target, write in writers:
        planted[:] = [target]
        with pytest.raises(OutputError) as caught:
            write()
        assert caught.value.code == "output-exists", target
        assert target.read_bytes() == CLERK, target
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".formkit-tmp-")]


def test_batch_keeps_a_document_a_clerk_saved_while_the_batch_ran(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import formkit.documents.batch as fb
    from formkit.core import fileio

    out = tmp_path / "out"
    real_add = fileio.FileGroup.add
    planted: list[Path] = []

    def add_after_a_clerk(self: fileio.FileGroup, path: Path, data: bytes, **kw: Any) -> None:
        if not planted:  # between the batch's look at the name and its commit
            path.write_bytes(CLERK)
            planted.append(path)
        real_add(self, path, data, **kw)

    monkeypatch.setattr(fileio.FileGroup, "add", add_after_a_clerk)
    settings = fb.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08", "number_prefix=石镇教复"])
    result = fb.batch("return-notice", SAMPLES / "roster.xlsx", out, issuer=settings,
                      register=tmp_path / "reg.sqlite", jobs=1)
    assert planted[0].read_bytes() == CLERK
    kept = [i for i in result.items if i.status == "kept-edited"]
    assert [out / i.file for i in kept] == planted
    assert result.counts == {"written": len(result.items) - 1, "kept-edited": 1}
    assert not [p for p in out.rglob("*") if p.name.startswith(".formkit-tmp-")]


CONTROL_SHEET = "&#27;[2J&#27;]0;pwn&#7;X&#x202E;"
"""A sheet name calamine accepts through character references: clear screen, set the terminal
title, bell, and a right-to-left override."""


def _renamed_sheet(data: bytes, name: str) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/workbook.xml":
                part = re.sub(rb'(<sheet [^>]*?name=")[^"]*"', lambda m: m.group(1) + name.encode() + b'"', part,
                              count=1)
            target.writestr(info, part)
    return out.getvalue()


def test_sheet_name_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from formkit.cli import cli

    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(_renamed_sheet((SAMPLES / "ledger-filled.xlsx").read_bytes(), CONTROL_SHEET))
    assert read_workbook(ledger).tables[0].sheet.startswith("\x1b[2J")  # the name really is hostile
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(_renamed_sheet((SAMPLES / "roster.xlsx").read_bytes(), CONTROL_SHEET))
    runs = [
        (["ledger", "check", str(ledger), "--annotate", str(tmp_path / "checked")], 1),
        (["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), "--set", "body=石门镇人民政府",
          "--set", "issue_date=2024-04-08", "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1",
          "--dry-run"], 0),
    ]
    for args, code in runs:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == code, result.output
        assert args[0] == "batch" or "\ufffd[2J\ufffd]0;pwn" in result.output  # the sheet is still named, defused
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]", result.output), args


def test_annotating_a_workbook_openpyxl_cannot_parse_is_not_an_internal_error(tmp_path: Path) -> None:
    from formkit.ledger.workbook import annotate

    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(_renamed_sheet((SAMPLES / "ledger-filled.xlsx").read_bytes(), CONTROL_SHEET))
    report = check_ledger(ledger)
    (copy,) = annotate(report, tmp_path / "checked")
    book = read_workbook(copy)
    assert [name for name, _ in book.skipped] == ["检查结果"] and not book.tables


def test_template_with_a_utf16_part_is_an_input_error_not_an_internal_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from formkit.cli import cli

    shipped = zipfile.ZipFile(ROOT / "templates" / "docx" / "compel-notice.docx")
    template = tmp_path / "compel-notice.docx"
    with zipfile.ZipFile(template, "w", zipfile.ZIP_DEFLATED) as out:
        for info in shipped.infolist():
            part = shipped.read(info)
            if info.filename == "word/document.xml":  # well-formed XML, but UTF-16: the renderer refuses it
                part = part.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
            out.writestr(info, part)
    with pytest.raises(InputFileError) as caught:
        check_template(template)
    assert caught.value.code == "file-type"
    result = CliRunner().invoke(cli, ["template", "check", str(template)])
    assert result.exit_code == 2 and "内部错误" not in result.output and "UTF-8" in result.output


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_settings_cannot_quietly_switch_the_render_limit_off(value: float) -> None:
    from formkit.core.errors import UsageError
    from formkit.core.settings import DEFAULT_LOCK_WAIT, DEFAULT_RENDER_SECONDS

    with pytest.raises(UsageError):
        Settings(render_seconds=value)
    with pytest.raises(UsageError):
        Settings(lock_wait=value)
    # From the environment an unusable number keeps the default, as an unreadable one does.
    chosen = Settings.from_environ({"FORMKIT_RENDER_SECONDS": str(value), "FORMKIT_LOCK_WAIT": str(value)})
    assert (chosen.render_seconds, chosen.lock_wait) == (DEFAULT_RENDER_SECONDS, DEFAULT_LOCK_WAIT)
    assert Settings(render_seconds=0).render_seconds == 0  # documented: no limit, asked for explicitly


def test_a_sheet_named_after_an_id_number_is_masked_in_reports_errors_and_manifests(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from formkit.cli import cli

    full = "520121201305120119"
    ledger, roster = tmp_path / "ledger.xlsx", tmp_path / "roster.xlsx"
    ledger.write_bytes(_renamed_sheet((SAMPLES / "ledger-filled.xlsx").read_bytes(), full))
    roster.write_bytes(_renamed_sheet((SAMPLES / "roster.xlsx").read_bytes(), full))
    assert read_workbook(ledger).tables[0].sheet == full
    runs = [["ledger", "check", str(ledger)], ["ledger", "check", str(ledger), "--sheet", "无此表"],
            ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), "--set", "body=石门镇人民政府",
             "--set", "issue_date=2024-04-08", "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"]]
    for args in runs:
        result = CliRunner().invoke(cli, args)
        assert "5201**********0119" in result.output or args[0] == "batch", result.output
        assert full not in result.output, args
    assert full not in (tmp_path / "out" / "manifest.csv").read_text(encoding="utf-8-sig")


def test_a_sheet_named_after_an_id_number_is_masked_in_json_too(tmp_path: Path) -> None:
    """--json, the library's to_dict() and manifest.json show the sheet as the reports do."""
    import json as _json

    from click.testing import CliRunner

    from formkit.cli import cli

    full = "520121201305120119"
    ledger, roster = tmp_path / "ledger.xlsx", tmp_path / "roster.xlsx"
    ledger.write_bytes(_renamed_sheet((SAMPLES / "ledger-filled.xlsx").read_bytes(), full))
    roster.write_bytes(_renamed_sheet((SAMPLES / "roster.xlsx").read_bytes(), full))
    checked = CliRunner().invoke(cli, ["ledger", "check", str(ledger), "--json"])
    due = CliRunner().invoke(cli, ["ledger", "due", str(ledger), "--json", "--as-of", "2024-05-01"])
    made = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), "--json",
                                    "--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08",
                                    "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"])
    for result in (checked, due, made):
        assert full not in result.output and "5201**********0119" in result.output, result.output[:400]
    assert _json.loads(checked.output)["files"][0]["sheets"] == ["5201**********0119"]
    assert full not in (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
