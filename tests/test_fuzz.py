"""Property-based fuzzing: hostile strings through rendering, naming, ledger writing and read-back."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

import formkit
from formkit.core.enums import normalize_text
from formkit.core.errors import RecordError
from formkit.core.fileio import safe_component
from formkit.documents.batch import _plan_names, _plan_of
from formkit.documents.engine import docx_text
from formkit.documents.pdf_server import PdfConverter
from formkit.ledger.workbook import write_ledger
from formkit.tables.reader import read_ledger
from tests.helpers import SAMPLES, needs_soffice, needs_uno

RECORD: dict[str, Any] = json.loads((SAMPLES / "return-notice.json").read_text(encoding="utf-8"))
PAYLOADS = ["=cmd|' /c calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "../../etc/passwd", "..\\..\\win.ini", "CON", "nul.txt",
            "\u202eexe.txt", "名字\u200f", "😀👨‍👩‍👧", "<w:t>", "{{ 7*7 }}", "{% for %}", "a\x00b\x1fc", " ", ".", "..",
            "A&B<C>", "x" * 5000]
nasty = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(min_size=1, max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def with_values(name: str, address: str, school: str) -> dict[str, Any]:
    record = copy.deepcopy(RECORD)
    record["student"]["name"] = name
    record["guardian"]["address"] = address
    record["school"]["school"] = school
    return record


def shown(value: str) -> str:
    """``value`` as a document or a ledger shows it: XML-illegal characters dropped, line ends unified, stripped."""
    return _XML_ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def refused(err: RecordError, values: dict[str, str]) -> None:
    """The one documented refusal of a fuzzed record: a value that is blank once normalised is a missing
    required field. Anything else (a TemplateError, another code, a problem on another field) fails."""
    assert err.code == "invalid-record"
    blanks = {path for path, value in values.items() if not normalize_text(value)}
    assert blanks, f"refused although no value is blank: {err}"
    assert {(p.code, p.path) for p in err.problems} == {("required", path) for path in blanks}


@FAST
@given(nasty, nasty, nasty)
def test_render_never_breaks_the_document(name: str, address: str, school: str) -> None:
    values = {"student.name": name, "guardian.address": address, "school.school": school}
    try:
        record = formkit.validate_record("return-notice", with_values(name, address, school))
    except RecordError as err:
        refused(err, values)
        return
    data = formkit.render("return-notice", record)  # no exception of any kind is acceptable here
    document = docx.Document(io.BytesIO(data))  # well-formed XML, a valid package
    text = docx_text(data)
    for path in ("student.name", "guardian.address"):
        assert shown(values[path]) in text, path  # nothing the clerk typed may be lost
    assert len(document.paragraphs) > 5


@FAST
@given(st.lists(st.tuples(nasty, nasty), min_size=1, max_size=6))
def test_batch_file_names_stay_inside_the_output_folder(tmp_path: Path, people: list[tuple[str, str]]) -> None:
    out = tmp_path / "out"
    plans = []
    for i, (name, school) in enumerate(people):
        try:
            record = formkit.validate_record("return-notice", with_values(name, "x", school))
        except RecordError as err:
            refused(err, {"student.name": name, "guardian.address": "x", "school.school": school})
            continue
        plans.append(_plan_of(i + 1, i, record))
    names = _plan_names(plans, formkit.get_form("return-notice"), out)
    assert len(set(n.lower() for n in names)) == len(names)
    for n in names:
        assert "/" not in n and "\\" not in n and not n.startswith(".") and n.endswith(".docx")
        assert (out / n).resolve().parent == out.resolve()


@FAST
@given(nasty)
def test_safe_component_is_safe(text: str) -> None:
    part = safe_component(text)
    assert part and "/" not in part and "\\" not in part and part not in (".", "..")
    assert not re.match(r"(?i)^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", part)


# Writing a ledger loads the 600-row template (about a second), so each example writes several
# records into one ledger: as many hostile values per second, and rows that must not bleed into each other.
@settings(FAST, max_examples=10)
@given(st.lists(st.tuples(nasty, nasty), min_size=1, max_size=8))
def test_ledger_write_read_round_trip_without_formulas(tmp_path: Path, people: list[tuple[str, str]]) -> None:
    records = [with_values(name, address, "石门镇中心小学") for name, address in people]
    path = tmp_path / "l.xlsx"
    write_ledger(path, records)
    ws = load_workbook(path)["台账"]
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    table = read_ledger(path)
    assert len(table.rows) == len(people)
    for (_, values), (name, address) in zip(table.rows, people, strict=True):
        # A cell keeps what was written (less XML-illegal characters); the reader may strip the ends.
        for got, wrote in ((table.value(values, "name"), name), (table.value(values, "address"), address)):
            expected = _XML_ILLEGAL.sub("", wrote)
            assert (got or "") in (expected, expected.strip()), (got, wrote)


@needs_soffice
@needs_uno
def test_nasty_record_opens_in_libreoffice(tmp_path: Path, pdf_converter: PdfConverter) -> None:
    record = with_values("A&B<C>\u202e😀\x07王", "=cmd|' /c calc'!A0 ../../", "CON")
    path = tmp_path / "n.docx"
    path.write_bytes(formkit.render("return-notice", record))
    pdf = pdf_converter.convert(path, tmp_path / "n.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "A&B<C>" in text and "calc'!A0" in text  # the markup and the formula print as text
