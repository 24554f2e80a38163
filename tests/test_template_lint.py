"""The template linter on templates edited the way Word and WPS break them."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from docx.oxml.ns import qn

import formkit
from formkit.cli import cli
from formkit.core.errors import InputFileError
from formkit.documents.engine import docx_text
from formkit.documents.lint import check_template
from tests.helpers import ROOT, sample

SHIPPED = ROOT / "templates" / "docx"


def template(tmp_path: Path, *paragraphs: list[str], name: str = "return-notice.docx") -> Path:
    """Each paragraph is a list of runs, as Word stores text after edits."""
    document = docx.Document()
    for runs in paragraphs:
        p = document.add_paragraph()
        for i, text in enumerate(runs):
            run = p.add_run(text)
            if i % 2:
                run.bold = True  # alternate formatting, as after a partial edit
    path = tmp_path / name
    document.save(str(path))
    return path


def codes(path: Path, form: str | None = None) -> list[str]:
    return [i.code for i in check_template(path, form).issues if i.severity == "error"]


@pytest.mark.parametrize("form", [f.name for f in formkit.forms()])
def test_shipped_templates_are_clean(form: str) -> None:
    assert codes(SHIPPED / formkit.get_form(form).template) == []


def test_split_runs_that_docxtpl_can_join_are_fine(tmp_path: Path) -> None:
    path = template(tmp_path, ["家长", "{{ guar", "dian.na", "me }}", "：请于", "{{ issuer.deadline|cn_date }}", "前返校"])
    assert codes(path) == []
    text = docx_text(formkit.render("return-notice", sample("return-notice"), template=path))
    assert "家长王建国：请于2024年4月15日前返校" in text


def test_misspelled_variables_get_the_closest_field(tmp_path: Path) -> None:
    path = template(tmp_path, ["{{ student.nmae }}"], ["{{ studnet.name }}"], ["{{ case.attempts[0].dat }}"])
    report = check_template(path)
    messages = [i.message for i in report.issues if i.code == "unknown-variable"]
    assert any("student.nmae" in m and "student.name" in m for m in messages)
    assert any("studnet" in m and "“student”" in m for m in messages)
    assert any("case.attempts.dat" in m and "case.attempts.date" in m for m in messages)
    assert not report.valid


def test_tag_split_across_paragraphs(tmp_path: Path) -> None:
    path = template(tmp_path, ["您的孩子{{ student."], ["name }}已辍学"])
    assert "tag-split-paragraph" in codes(path)


def test_full_width_braces(tmp_path: Path) -> None:
    path = template(tmp_path, ["｛｛ student.name ｝｝"])
    assert codes(path) == ["tag-fullwidth"]


def test_tracked_deletion_inside_a_tag_is_joined(tmp_path: Path) -> None:
    path = template(tmp_path, ["{{ student.", "name }}"])
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    # Word with track changes on keeps the deleted word in the file as w:delText.
    parts["word/document.xml"] = parts["word/document.xml"].decode().replace(
        "{{ student.</w:t></w:r>",
        '{{ student.</w:t></w:r><w:del w:id="1" w:author="clerk"><w:r><w:delText>nmae</w:delText></w:r></w:del>', 1
    ).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    assert codes(path) == []
    assert "王小明" in docx_text(formkit.render("return-notice", sample("return-notice"), template=path))


def test_invisible_characters_inside_a_tag(tmp_path: Path) -> None:
    path = template(tmp_path, ["您的孩子{\u200b{ student.name }}已辍学"])
    assert codes(path) == ["tag-broken-runs"]


def test_spaced_braces(tmp_path: Path) -> None:
    path = template(tmp_path, ["{ { student.name } }"])
    assert codes(path) == ["tag-malformed"]


def test_syntax_error_names_paragraph(tmp_path: Path) -> None:
    path = template(tmp_path, ["正常"], ["{% if student.name %}没有结束"])
    report = check_template(path)
    assert [i.code for i in report.issues] == ["jinja-syntax"]


def test_form_guessed_or_required(tmp_path: Path) -> None:
    path = template(tmp_path, ["{{ student.name }}"], name="县版通知.docx")
    with pytest.raises(formkit.UsageError):
        check_template(path)
    assert check_template(path, "return-notice").valid


def test_cli_exit_codes_and_templates_dir(tmp_path: Path) -> None:
    # --templates-dir writes FORMKIT_TEMPLATES into this process; conftest's autouse fixture removes it again.
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(SHIPPED / "return-notice.docx", good / "return-notice.docx")
    assert CliRunner().invoke(cli, ["template", "check", str(good / "return-notice.docx")]).exit_code == 0
    bad = template(tmp_path, ["{{ student.nmae }}"])
    result = CliRunner().invoke(cli, ["template", "check", str(bad)])
    assert result.exit_code == 1 and "student.name" in result.output
    county = tmp_path / "county"
    county.mkdir()
    doc = docx.Document()
    doc.add_paragraph("青山县版返校通知：{{ student.name }}")
    doc.save(str(county / "return-notice.docx"))
    out = tmp_path / "n.docx"
    result = CliRunner().invoke(cli, ["--templates-dir", str(county), "render", "return-notice",
                                      str(ROOT / "samples" / "return-notice.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "青山县版返校通知：王小明" in docx_text(out.read_bytes())
    buf = io.BytesIO(out.read_bytes())
    assert docx.Document(buf).paragraphs[0].runs[0]._element.find(qn("w:t")) is not None


def test_a_part_that_is_not_utf8_is_an_issue_not_a_crash() -> None:
    """A body saved as UTF-16 (some converters do) is refused as file-type, not an internal error."""
    shipped = zipfile.ZipFile(io.BytesIO((ROOT / "templates" / "docx" / "return-notice.docx").read_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in shipped.namelist():
            data = shipped.read(name)
            out.writestr(name, data.decode("utf-8").encode("utf-16") if name == "word/document.xml" else data)
    # As unusable as a package that is no .docx at all: an input error (exit 2), never an internal one.
    with pytest.raises(InputFileError) as refused:
        check_template(buf.getvalue(), "return-notice")
    assert refused.value.code == "file-type" and "UTF-8" in str(refused.value)
