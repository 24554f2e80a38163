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

import formkit
from formkit.core.errors import FormkitError
from formkit.core.fileio import safe_component
from formkit.documents.batch import _plan_names, _plan_of
from formkit.documents.engine import docx_text
from formkit.ledger.workbook import write_ledger
from formkit.tables.reader import read_ledger
from tests.conftest import SAMPLES, needs_soffice

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


@FAST
@given(nasty, nasty, nasty)
def test_render_never_breaks_the_document(name: str, address: str, school: str) -> None:
    try:
        data = formkit.render("return-notice", with_values(name, address, school))
    except FormkitError:
        return  # e.g. a blank name: a clear validation error is the right outcome
    document = docx.Document(io.BytesIO(data))  # well-formed XML, a valid package
    text = docx_text(data)
    expected = _XML_ILLEGAL.sub("", name.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if expected:
        assert expected in text
    assert len(document.paragraphs) > 5


@FAST
@given(st.lists(st.tuples(nasty, nasty), min_size=1, max_size=6))
def test_batch_file_names_stay_inside_the_output_folder(tmp_path: Path, people: list[tuple[str, str]]) -> None:
    out = tmp_path / "out"
    plans = []
    for i, (name, school) in enumerate(people):
        try:
            record = formkit.validate_record("return-notice", with_values(name, "x", school))
        except FormkitError:
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


@FAST
@given(nasty, nasty)
def test_ledger_write_read_round_trip_without_formulas(tmp_path: Path, name: str, address: str) -> None:
    record = with_values(name, address, "石门镇中心小学")
    path = tmp_path / "l.xlsx"
    write_ledger(path, [record])
    ws = load_workbook(path)["台账"]
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    table = read_ledger(path)
    (_, values), = table.rows
    got_name = table.value(values, "name")
    expected = _XML_ILLEGAL.sub("", name)
    assert (got_name or "") == expected or (got_name or "").strip() == expected.strip()
    assert table.value(values, "address") in (_XML_ILLEGAL.sub("", address), _XML_ILLEGAL.sub("", address).strip(), None)


@needs_soffice
def test_nasty_record_opens_in_libreoffice(tmp_path: Path) -> None:
    from formkit.documents.pdf import convert_to_pdf

    record = with_values("A&B<C>\u202e😀\x07王", "=cmd|' /c calc'!A0 ../../", "CON")
    path = tmp_path / "n.docx"
    path.write_bytes(formkit.render("return-notice", record))
    (pdf,) = convert_to_pdf([path], tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
