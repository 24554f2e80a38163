"""Typed API (issue #14 item 6): records typed per form, inputs as a path, bytes or a file object."""

from __future__ import annotations

import io
import typing
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest

import formkit
from formkit.documents import forms as forms_module
from formkit.documents.engine import docx_text
from tests.helpers import one_case_ledger, sample

UPLOADED = "<上传的文件>"


def test_each_form_name_overload_returns_that_forms_model() -> None:
    typed: dict[str, type] = {}
    for overload in typing.get_overloads(forms_module.validate_record):
        hints = typing.get_type_hints(overload, vars(forms_module))
        form = hints["form"]
        if typing.get_origin(form) is typing.Literal:
            for name in typing.get_args(form):
                typed[name] = hints["return"]
    assert typed == {spec.name: spec.model for spec in formkit.forms()}
    for spec in formkit.forms():
        if spec.name in ("return-notice", "home-visit"):
            assert type(formkit.validate_record(spec.name, sample(spec.name))) is spec.model


def ledger_bytes(reason: str = "厌学") -> bytes:
    return one_case_ledger(reason)


def test_ledgers_are_read_from_bytes_and_file_objects(tmp_path: Path) -> None:
    data = ledger_bytes("家庭贫困")
    path = tmp_path / "a.xlsx"
    path.write_bytes(data)
    when = date(2024, 5, 1)
    by_path = [(f.row, f.code, f.column) for f in formkit.check_ledger(path, when).findings]
    assert by_path and ("enum" in {code for _, code, _ in by_path})
    for source in (data, io.BytesIO(data)):
        report = formkit.check_ledger(source, when)
        assert [(f.row, f.code, f.column) for f in report.findings] == by_path
        assert {f.file for f in report.findings} == {UPLOADED} and report.files[0].path == UPLOADED
    mixed = formkit.check_ledger([path, io.BytesIO(data)], when)
    assert [f.path for f in mixed.files] == [str(path), UPLOADED]
    table = formkit.read_ledger(io.BytesIO(data))
    assert table.path == UPLOADED and len(table.rows) == 1


def with_doctype(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/workbook.xml":
                body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + body
            dst.writestr(info, body)
    return out.getvalue()


def test_the_guard_sees_uploaded_bytes_before_the_parser() -> None:
    with pytest.raises(formkit.InputFileError) as hostile:
        formkit.read_ledger(with_doctype(ledger_bytes()))
    assert hostile.value.code == "file-hostile" and str(hostile.value).startswith(UPLOADED)
    report = formkit.check_ledger(io.BytesIO(b"not a workbook"), date(2024, 5, 1))
    assert [(f.path, f.error_code) for f in report.files] == [(UPLOADED, "file-type")]
    tiny = formkit.Settings(limits=formkit.Settings().limits.__class__(max_file_bytes=100))
    with pytest.raises(formkit.InputFileError) as big:
        formkit.read_ledger(ledger_bytes(), settings=tiny)
    assert big.value.code == "file-too-large"


def template_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_templates_are_read_from_bytes_and_file_objects(tmp_path: Path) -> None:
    data = template_bytes("上传版：{{ student.name }}")
    record = sample("return-notice")
    for source in (data, io.BytesIO(data), tmp_path / "t.docx"):
        if isinstance(source, Path):
            source.write_bytes(data)
        assert "上传版：王小明" in docx_text(formkit.render("return-notice", record, template=source))
    broken = template_bytes("{{ studnet.name }}")
    for source in (broken, io.BytesIO(broken)):
        report = formkit.check_template(source, "return-notice")
        assert report.path == UPLOADED and not report.valid
        assert "unknown-variable" in {i.code for i in report.issues}
    with pytest.raises(formkit.UsageError):
        formkit.check_template(broken)  # no file name to guess the form from
    with pytest.raises(formkit.InputFileError) as not_docx:
        formkit.check_template(b"plain text", "return-notice")
    assert UPLOADED in str(not_docx.value)
