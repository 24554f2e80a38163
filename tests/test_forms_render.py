from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

import formkit
from formkit.documents.engine import docx_text
from tests.helpers import needs_soffice, sample

FORMS = [f.name for f in formkit.forms()]


def expected_values(form: str, data: dict[str, Any]) -> list[str]:
    if form == "monthly-report":
        return [data["area"], data["month"], "石门镇中心小学", "龙井乡中学", "现共登记案例12人", "仍未返校7人"]
    if form == "pledge-teacher":
        return [data["teacher"], data["school"]["school"], "46", "0.6%", "2024年9月2日"]
    values = [data["student"]["name"], data["school"]["school"], data["guardian"]["name"]]
    if "issuer" in data:
        values += [data["issuer"]["body"], data["issuer"]["doc_number"]]
    if form == "compel-notice":
        values += ["2024年3月12日", "2024年3月20日", "第五十八条", "2024年4月1日"]
    if form == "return-notice":
        values += ["第五条", "2024年4月15日", "2024年3月4日"]
    if form == "dropout-report":
        values += ["☑学习困难", "☐因贫", data["student"]["id_number"], "李梅"]
    if form == "home-visit":
        values += [v[key] for v in data["visits"] for key in ("next_step", "situation", "met")]
    return values


@pytest.mark.parametrize("form", FORMS)
def test_every_form_renders_every_value(form: str) -> None:
    data = sample(form)
    text = docx_text(formkit.render(form, data))
    for value in expected_values(form, data):
        assert value in text, f"{form}: {value!r} missing"
    assert "{{" not in text and "{%" not in text and "}}" not in text


def test_deadline_notice_wording_follows_category() -> None:
    data = sample("deadline-notice")
    assert "已到入学年龄" in docx_text(formkit.render("deadline-notice", data))
    data["case"]["category"] = "辍学"
    text = docx_text(formkit.render("deadline-notice", data))
    assert "起没有到校上课" in text and "复学手续" in text


def test_compel_notice_title_is_configurable() -> None:
    data = sample("compel-notice")
    data["issuer"]["title"] = "责令送被监护人接受义务教育通知书"
    assert "责令送被监护人接受义务教育通知书" in docx_text(formkit.render("compel-notice", data))


def test_user_supplied_template(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("县教育局版：{{ student.name }}，限{{ issuer.deadline|cn_date_upper }}前返校")
    path = tmp_path / "county.docx"
    document.save(str(path))
    text = docx_text(formkit.render("return-notice", sample("return-notice"), template=path))
    assert "县教育局版：王小明，限二〇二四年四月十五日前返校" in text


CJK_FONT_MARKERS = ("CJK", "Song", "Hei", "FangSong", "Kai", "Ming", "WenQuanYi")


def embedded_fonts(reader: PdfReader) -> set[str]:
    names: set[str] = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        fonts = resources.get_object().get("/Font")
        if fonts is None:
            continue
        for ref in fonts.get_object().values():
            names.add(str(ref.get_object().get("/BaseFont")))
    return names


@needs_soffice
def test_every_form_converts_to_a_pdf_with_cjk_fonts(form_pdfs: dict[tuple[str, str], Path]) -> None:
    # The sample records converted once per run (conftest.form_pdfs, shared with test_layout).
    for form in FORMS:
        pdf = form_pdfs[("sample", form)]
        reader = PdfReader(io.BytesIO(pdf.read_bytes()))
        text = "".join(page.extract_text() for page in reader.pages)
        spec = formkit.get_form(form)
        data = sample(form)
        name = {"pledge-teacher": data.get("teacher"), "monthly-report": data.get("area")}.get(form) or data["student"]["name"]
        assert name in text, form
        title_core = spec.title.split("(")[0].replace("（", "(").split("(")[0]
        assert title_core.replace(" ", "") in text.replace(" ", ""), form
        fonts = embedded_fonts(reader)
        assert any(marker in f for f in fonts for marker in CJK_FONT_MARKERS), (form, fonts)
        assert len(reader.pages) <= 2, form
        box = reader.pages[0].mediabox
        assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2  # A4


@needs_soffice
def test_render_to_pdf(tmp_path: Path) -> None:
    out = formkit.render_to(tmp_path / "通知书.pdf", "return-notice", sample("return-notice"))
    assert out.read_bytes().startswith(b"%PDF")
