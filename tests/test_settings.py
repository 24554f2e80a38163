"""Explicit state: what a caller changes travels in a Settings value, never in the process.

Each test makes calls with two different settings in one process, in both orders, and checks
that each call sees only its own (issue #14 item 3).
"""

from __future__ import annotations

import ast
import os
import pickle
from datetime import date
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

import formkit
from formkit import RecordError, Settings, TemplateError
from formkit.cli import cli
from formkit.core.enums import load_enums
from formkit.core.zip_guard import Limits
from formkit.documents.engine import docx_text
from tests.helpers import make_id, one_case_ledger, sample

SRC = Path(__file__).resolve().parent.parent / "src" / "formkit"
COUNTY_ENUMS = """
[reason]
label = "辍学原因"
values = [["务农", "在家务农"], ["其他"]]

[status]
label = "劝返状态"
values = ["未劝返", "劝返中", ["已返校", "已回校"], "休学", "已消帐"]
returned = ["已返校", "已消帐"]
needs_note = ["休学"]
"""


def county_templates(folder: Path) -> Path:
    folder.mkdir()
    document = docx.Document()
    document.add_paragraph("县版返校通知：{{ student.name }}")
    document.save(str(folder / "return-notice.docx"))
    return folder


def county_table(tmp_path: Path) -> formkit.EnumTable:
    path = tmp_path / "enums.toml"
    path.write_text(COUNTY_ENUMS, encoding="utf-8")
    return load_enums(path)


def test_templates_dir_applies_to_its_own_call_only(tmp_path: Path) -> None:
    county = Settings(templates_dir=county_templates(tmp_path / "county"))
    record = sample("return-notice")
    for _ in range(2):  # either order, twice: the compiled-template cache must not mix them up
        assert "县版返校通知：王小明" in docx_text(formkit.render("return-notice", record, settings=county))
        shipped = docx_text(formkit.render("return-notice", record))
        assert "县版返校通知" not in shipped and "王小明" in shipped
    out = formkit.render_to(tmp_path / "n.docx", "return-notice", record, settings=county)
    assert "县版返校通知" in docx_text(out.read_bytes())


def test_batch_workers_receive_the_templates_dir(tmp_path: Path) -> None:
    county = Settings(templates_dir=county_templates(tmp_path / "county"))
    record = sample("return-notice")
    issuer = {f"issuer.{k}": v for k, v in record.pop("issuer").items()}
    # Ten different children (one ID each: a child listed twice is refused before any worker starts).
    records = [dict(record, student=dict(record["student"], name=f"王小{c}", id_number=make_id(seq=f"{2 * n + 1:03d}")))
               for n, c in enumerate("一二三四五六七八九十", 1)]
    result = formkit.batch("return-notice", records, tmp_path / "out", issuer=issuer, jobs=2,
                           register=tmp_path / "r.sqlite", settings=county)
    texts = [docx_text((tmp_path / "out" / item.file).read_bytes()) for item in result.items]
    assert len(texts) == 10 and all(t.startswith("县版返校通知：王小") for t in texts)


def test_enumeration_table_reaches_validation(tmp_path: Path) -> None:
    county = Settings(enums=county_table(tmp_path))
    record = sample("return-notice")
    record["case"]["reason"] = "在家务农"
    for _ in range(2):
        valid = formkit.validate_record("return-notice", record, settings=county)
        assert valid.case.reason == "务农"
        with pytest.raises(RecordError) as refused:
            formkit.validate_record("return-notice", record)
        assert [p.code for p in refused.value.problems] == ["enum"]


def test_county_status_table_decides_what_counts_as_returned(tmp_path: Path) -> None:
    county = Settings(enums=county_table(tmp_path))
    record = sample("compel-notice")
    record["case"].update(status="已回校", return_date="2024-04-20", placement="随班就读", reason="务农")
    with pytest.raises(RecordError) as refused:
        formkit.validate_record("compel-notice", record, settings=county)
    assert "contradiction" in [p.code for p in refused.value.problems]  # 已返校 is a return in this county
    with pytest.raises(RecordError) as unknown:
        formkit.validate_record("compel-notice", record)
    assert [p.code for p in unknown.value.problems] == ["enum", "enum"]  # neither exists in the shipped table


def small_ledger(path: Path, reason: str) -> Path:
    path.write_bytes(one_case_ledger(reason, guardian_header="户主"))
    return path


def test_ledger_check_uses_the_enums_columns_and_limits_it_is_given(tmp_path: Path) -> None:
    path = small_ledger(tmp_path / "a.xlsx", "在家务农")
    county = Settings(enums=county_table(tmp_path), columns={"户主": "guardian"})
    for _ in range(2):
        assert formkit.check_ledger(path, date(2024, 5, 1), settings=county).findings == []
        codes = {(f.code, f.column) for f in formkit.check_ledger(path, date(2024, 5, 1)).findings}
        assert ("enum", "辍学原因") in codes and ("header-missing", "监护人姓名") in codes
    tiny = formkit.check_ledger(path, settings=Settings(limits=Limits(max_file_bytes=100)))
    assert [f.error_code for f in tiny.files] == ["file-too-large"]
    assert formkit.read_ledger(path, settings=county).columns["guardian"][1] == "户主"
    with pytest.raises(formkit.InputFileError) as big:
        formkit.read_ledger(path, settings=Settings(limits=Limits(max_file_bytes=100)))
    assert big.value.code == "file-too-large"
    figures = formkit.summary(path, tmp_path / "s.xlsx", settings=county)
    assert [reason for reason, _ in figures.by("reason")] == ["务农"]


def test_render_time_limit_comes_from_settings() -> None:
    import io

    document = docx.Document()
    document.add_paragraph("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    buffer = io.BytesIO()
    document.save(buffer)
    template = formkit.CompiledTemplate(buffer.getvalue(), "slow.docx")
    with pytest.raises(TemplateError) as stopped:
        formkit.render("return-notice", sample("return-notice"), template=template,
                       settings=Settings(render_seconds=0.3))
    assert stopped.value.code == "template-timeout" and "0.3 秒" in str(stopped.value)


def test_cli_flags_and_environment_do_not_leak_into_the_process(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORMKIT_TEMPLATES", raising=False)
    folder = county_templates(tmp_path / "county")
    data = tmp_path / "r.json"
    data.write_text(formkit_json(sample("return-notice")), encoding="utf-8")
    out = tmp_path / "n.docx"
    result = CliRunner().invoke(cli, ["--templates-dir", str(folder), "render", "return-notice", str(data),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "县版返校通知" in docx_text(out.read_bytes())
    assert "FORMKIT_TEMPLATES" not in os.environ
    assert "县版返校通知" not in docx_text(formkit.render("return-notice", sample("return-notice")))
    monkeypatch.setenv("FORMKIT_ENUMS", str(tmp_path / "enums.toml"))
    county_table(tmp_path)
    record = sample("return-notice")
    record["case"]["reason"] = "在家务农"
    data.write_text(formkit_json(record), encoding="utf-8")
    assert CliRunner().invoke(cli, ["validate", str(data), "--form", "return-notice"]).exit_code == 0
    with pytest.raises(RecordError):  # the variable is the CLI's business: the library ignores it
        formkit.validate_record("return-notice", record)
    monkeypatch.setenv("FORMKIT_ENUMS", str(tmp_path / "missing.toml"))
    broken = CliRunner().invoke(cli, ["validate", str(data), "--form", "return-notice"])
    assert broken.exit_code == 2 and "missing.toml" in broken.output and "Traceback" not in broken.output


def formkit_json(record: object) -> str:
    import json

    return json.dumps(record, ensure_ascii=False)


def test_settings_are_frozen_and_picklable(tmp_path: Path) -> None:
    pins = {"户主": "guardian"}
    settings = Settings(templates_dir=tmp_path, enums=county_table(tmp_path), columns=pins, render_seconds=3)
    pins["家长"] = "guardian"
    assert dict(settings.columns) == {"户主": "guardian"}  # the caller's dict is not shared
    with pytest.raises(AttributeError):
        settings.render_seconds = 5  # type: ignore[misc]
    copy = pickle.loads(pickle.dumps(settings))
    assert copy.templates_dir == tmp_path and copy.render_seconds == 3 and dict(copy.columns) == dict(settings.columns)
    assert copy.enums["reason"].match("在家务农") == "务农"
    assert dict(settings.with_columns({"家长": "guardian"}).columns) == {"户主": "guardian", "家长": "guardian"}


ENV_ALLOWED = {
    "cli.py",  # the one place that reads FORMKIT_* and builds Settings
    "documents/pdf_server.py",  # builds the LibreOffice child's environment from the parent's
    "documents/pdf.py",  # likewise, for the command-line converter
    "web/app.py",  # FORMKIT_PORT of the local page, a client like the CLI
}


def test_no_library_module_reads_the_environment() -> None:
    readers = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in ENV_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                readers.append(f"{name}:{node.lineno}")
    assert readers == []


def test_libreoffice_comes_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMKIT_SOFFICE", str(tmp_path / "from-env"))  # the CLI's business, not the library's
    with pytest.raises(formkit.ConversionError) as missing:
        formkit.render_to(tmp_path / "n.pdf", "return-notice", sample("return-notice"),
                          settings=Settings(soffice=str(tmp_path / "no-soffice")))
    assert missing.value.code == "soffice-missing" and "no-soffice" in str(missing.value)
    assert "from-env" not in str(missing.value) and not (tmp_path / "n.pdf").exists()


def test_the_web_desk_uses_the_settings_it_is_given(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from formkit.web.app import Desk

    county = Settings(enums=county_table(tmp_path))
    pages = {}
    for name, settings in (("county", county), ("shipped", None)):
        desk = Desk(work_dir=tmp_path / name, settings=settings)
        pages[name] = TestClient(desk.app).get("/generate/one?form=return-notice").text
    assert ">务农<" in pages["county"] and ">学习困难<" not in pages["county"]
    assert ">学习困难<" in pages["shipped"] and ">务农<" not in pages["shipped"]


def test_in_process_batches_in_two_threads_keep_their_own_template(tmp_path: Path) -> None:
    """The web desk runs two clerks' small batches in two server threads at once (in-process)."""
    import threading

    from formkit.documents import batch as batch_module

    county = Settings(templates_dir=county_templates(tmp_path / "county"))
    ready, switched = threading.Event(), threading.Event()
    seen: dict[str, str] = {}

    def clerk_a() -> None:
        batch_module._init_worker("return-notice", None, {}, None, county)
        ready.set()
        switched.wait(10)
        state = batch_module._worker_state()
        seen["a"] = f'{state["spec"].name} {state["options"].templates_dir is not None}'

    def clerk_b() -> None:
        ready.wait(10)
        batch_module._init_worker("compel-notice", None, {}, None, None)
        switched.set()
        seen["b"] = batch_module._worker_state()["spec"].name

    threads = [threading.Thread(target=clerk_a), threading.Thread(target=clerk_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"a": "return-notice True", "b": "compel-notice"}


def test_a_mistyped_county_template_folder_is_refused_not_ignored(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Falling back to the shipped templates would print a whole batch in the wrong county's wording."""
    data = tmp_path / "r.json"
    data.write_text(formkit_json(sample("return-notice")), encoding="utf-8")
    out = tmp_path / "n.docx"
    missing = tmp_path / "县版模板"  # never created
    monkeypatch.delenv("FORMKIT_TEMPLATES", raising=False)
    by_flag = CliRunner().invoke(cli, ["--templates-dir", str(missing), "render", "return-notice", str(data),
                                       "-o", str(out)])
    monkeypatch.setenv("FORMKIT_TEMPLATES", str(missing))
    by_env = CliRunner().invoke(cli, ["render", "return-notice", str(data), "-o", str(out)])
    for result, named in ((by_flag, "--templates-dir"), (by_env, "FORMKIT_TEMPLATES")):
        assert result.exit_code == 2 and named in result.output and str(missing) in result.output, result.output
        assert "Traceback" not in result.output
    assert not out.exists()


def test_a_broken_county_template_is_named_by_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "县版"
    folder.mkdir()
    (folder / "return-notice.docx").write_bytes(b"not a docx")
    with pytest.raises(TemplateError) as refused:
        formkit.render("return-notice", sample("return-notice"), settings=Settings(templates_dir=folder))
    assert str(folder / "return-notice.docx") in str(refused.value)


@pytest.mark.parametrize(("content", "code"), [(None, "file-missing"), (b"\xff\xfe[x]", "file-encoding")])
def test_an_unusable_formkit_enums_file_is_a_chinese_error_naming_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, code: str) -> None:
    enums = tmp_path / "县枚举.toml"
    if content is not None:
        enums.write_bytes(content)
    with pytest.raises(formkit.InputFileError) as refused:
        load_enums(enums)
    assert refused.value.code == code and str(enums) in str(refused.value)
    monkeypatch.setenv("FORMKIT_ENUMS", str(enums))
    result = CliRunner().invoke(cli, ["ledger", "check", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "FORMKIT_ENUMS" in result.output and "内部错误" not in result.output, result.output
    assert "No such file" not in result.output


def test_batch_takes_settings_like_every_call_and_the_old_issuer_mapping_with_a_warning(tmp_path: Path) -> None:
    county = Settings(templates_dir=county_templates(tmp_path / "county"))
    record = sample("return-notice")
    issuer = {f"issuer.{k}": v for k, v in record.pop("issuer").items()}
    result = formkit.batch("return-notice", [record], tmp_path / "new", issuer=issuer, settings=county, jobs=1)
    assert docx_text((tmp_path / "new" / result.items[0].file).read_bytes()).startswith("县版返校通知")
    with pytest.warns(DeprecationWarning, match="issuer="):
        old = formkit.batch("return-notice", [record], tmp_path / "old", settings=issuer, jobs=1)
    assert old.counts == {"written": 1}
