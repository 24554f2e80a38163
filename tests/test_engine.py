from __future__ import annotations

import io
from datetime import date

import docx
import pytest

from formkit import CompiledTemplate, TemplateError
from formkit.documents.engine import cn_date, cn_date_upper, cn_number, docx_text


def make_template(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def split_runs_template() -> bytes:
    """A template as Word saves it after editing: one tag split across three runs."""
    document = docx.Document()
    p = document.add_paragraph()
    for piece in ("姓名：{{ stu", "dent.na", "me }}。"):
        p.add_run(piece)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_renders_many_records_from_one_compile() -> None:
    compiled = CompiledTemplate(make_template("姓名：{{ name }}", "日期：{{ when|cn_date }}"))
    first = docx_text(compiled.render({"name": "王小明", "when": date(2024, 3, 5)}))
    second = docx_text(compiled.render({"name": "杨丽", "when": date(2024, 4, 1)}))
    assert "姓名：王小明" in first and "2024年3月5日" in first
    assert "姓名：杨丽" in second and "王小明" not in second


def test_tags_split_across_runs_are_joined() -> None:
    text = docx_text(CompiledTemplate(split_runs_template()).render({"student": {"name": "张三"}}))
    assert "姓名：张三。" in text


def test_autoescape_keeps_markup_literal() -> None:
    compiled = CompiledTemplate(make_template("{{ name }}"))
    text = docx_text(compiled.render({"name": "A&B<C>\"'"}))
    assert "A&B<C>\"'" in text


def test_control_characters_do_not_corrupt_xml() -> None:
    compiled = CompiledTemplate(make_template("{{ name }}"))
    text = docx_text(compiled.render({"name": "王\x00小\x1b明"}))
    assert "王小明" in text


def test_strict_undefined_names_the_variable() -> None:
    compiled = CompiledTemplate(make_template("{{ guardian.nmae }}"), "t.docx")
    with pytest.raises(TemplateError) as err:
        compiled.render({"guardian": {"name": "x"}})
    assert "nmae" in str(err.value) and err.value.code == "template-undefined"


def test_sandbox_blocks_internals() -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(make_template("{{ ''.__class__.__mro__ }}"), "evil.docx").render({})
    assert err.value.code == "template-unsafe"
    assert "evil.docx" in str(err.value)


def test_include_is_refused() -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(make_template("{% include '/etc/passwd' %}"), "inc.docx").render({})
    assert err.value.code == "template-unsafe"


def test_syntax_error_names_the_paragraph() -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(make_template("正常段落", "坏的 {{ name 段落"), "bad.docx")
    assert err.value.code == "template-syntax" and "坏的" in str(err.value)


def test_not_a_docx() -> None:
    with pytest.raises(TemplateError):
        CompiledTemplate(b"hello", "x.docx")


def test_chinese_filters() -> None:
    assert cn_date(date(2024, 3, 5)) == "2024年3月5日"
    assert cn_date_upper(date(2024, 3, 15)) == "二〇二四年三月十五日"
    assert cn_date_upper(date(2024, 10, 20)) == "二〇二四年十月二十日"
    assert cn_number(15) == "十五" and cn_number(40) == "四十" and cn_number(7) == "七"
    compiled = CompiledTemplate(make_template("{{ r|checked('因贫') }}因贫 {{ r|checked('因病') }}因病 {{ idn|mask_id }}"))
    text = docx_text(compiled.render({"r": "因贫", "idn": "52012120130512011X"}))
    assert "☑因贫 ☐因病 5201**********011X" in text


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "template-timeout"),
        ("{{ 'x' * 1000000000 }}", "template-unsafe"),
        ("{{ 10 ** 100000000 }}", "template-unsafe"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "template-unsafe"),
        ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "template-unsafe"),
        ("{% if 1 %}" * 200 + "x" + "{% endif %}" * 200, "template-runaway"),
        ("{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "template-runaway"),
        ("{{ range(10000000000) }}", "template-render"),
        ("{% import 'x.docx' as x %}", "template-unsafe"),
        ("{{ student.__init__.__globals__ }}", "template-unsafe"),
    ],
)
def test_runaway_and_hostile_templates_are_stopped(source: str, code: str) -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(make_template(source), "user.docx").render({"student": {"name": "x"}}, timeout=1.0)
    assert err.value.code == code, err.value
    assert "user.docx" in str(err.value)


def test_carriage_returns_become_line_breaks() -> None:
    compiled = CompiledTemplate(make_template("{{ name }}"))
    assert "王\n小明" in docx_text(compiled.render({"name": "王\r小明"}))


def test_ordinary_template_idioms_still_work() -> None:
    """The sandbox refuses calls on data, but the idioms counties use keep working."""
    source = ("{{ 'a'|center(5) }}|{{ names|join('、') }}|{{ '编号' ~ n }}|{{ '%.1f'|format(3.14159) }}|"
              "{{ '第%d号' % n }}|{% for v in names %}{{ loop.index }}{{ loop.cycle('甲', '乙') }}{% endfor %}|"
              "{{ when.year }}|{{ when.strftime('%Y') }}|{{ s.name|upper }}|{{ s.items()|list|length }}|"
              "{% set ns = namespace(x=1) %}{% set ns.x = ns.x + 1 %}{{ ns.x }}|{{ ' 王 '.strip() }}|"
              "{{ '版本 1.2345'|format() }}|{{ (names * 2)|length }}")
    text = docx_text(CompiledTemplate(make_template(source)).render(
        {"names": ["王", "李"], "n": 5, "when": date(2024, 3, 5), "s": {"name": "abc"}}))
    assert "  a  |王、李|编号5|3.1|第5号|1甲2乙|2024|2024|ABC|1|2|王|版本 1.2345|4" in text
