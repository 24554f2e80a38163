"""Adversarial regressions found by attacking the merged issue-16 work (templates, guard, outputs).

Each template payload runs in a child limited to 3 GB of address space and a wall-clock
timeout far above the 2 s render deadline: it must be refused with a FormkitError code
in about the deadline, never hang in C code the cooperative limits cannot see, and
never allocate its way to the memory limit.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from formkit import CompiledTemplate, TemplateError
from tests.helpers import ROOT

MEMORY_LIMIT = 3 * 1024**3

_RENDER = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/src"]
from formkit import CompiledTemplate, FormkitError
from tests.test_engine import make_template
started = time.monotonic()
try:
    CompiledTemplate(make_template(sys.argv[2]), "attack.docx").render({"x": "a"}, timeout=2.0)
    code = "rendered"
except FormkitError as exc:
    code = exc.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"code": code, "seconds": time.monotonic() - started, "peak_mb": peak}))
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _render_in_child(source: str) -> dict[str, object]:
    try:
        result = subprocess.run([sys.executable, "-c", _RENDER, str(ROOT), source], capture_output=True, text=True,
                                timeout=25, preexec_fn=_limit, check=False, env={**os.environ})
    except subprocess.TimeoutExpired:
        pytest.fail("render ran past every deadline (stuck in C code the cooperative limits never see)")
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


DAG = ("{% set ns = namespace(a=[0], b=[0]) %}{% for i in range(45) %}{% set ns.a = [ns.a, ns.a] %}"
       "{% set ns.b = [ns.b, ns.b] %}{% endfor %}")
TUPLES = "{% set ns = namespace(t=(0,)) %}{% for i in range(60) %}{% set ns.t = (ns.t, ns.t) %}{% endfor %}"


@pytest.mark.parametrize("source", [
    # Literals share one list twice per level: 2**45 nodes built in 45 cheap steps, compared in C forever.
    DAG + "{{ ns.a == ns.b }}",
    DAG + "{{ ns.a is in [ns.b] }}",
    DAG + "{{ ns.a is eq ns.b }}",
    # The same with tuples: hashing a dict key walks all 2**60 nodes.
    TUPLES + "{{ {ns.t: 1}|length }}",
    # Lazy filters were measured as one small object, then materialised by join/list: 400 GB.
    "{{ range(100000)|map('center', 4000000)|join }}",
    "{{ range(100000)|map('center', 4000000)|list|length }}",
    # tojson and pprint indent every line: a small list grows 100,000-fold.
    "{{ range(100000)|list|tojson(indent=100000) }}",
    "{{ {'k' * 100000: range(100000)|list}|pprint }}",
    # A mapping key with parentheses hid the width from the % check: a 2 GB string.
    "{{ '%(a(b)c)2000000000s' % {'a(b)c': 'x'} }}",
    "{{ '%(a(b)c)2000000000s'|format(**{'a(b)c': 'x'}) }}",
    # Each item is within the limits; a literal or a ~ chain evaluates them all before anything
    # measures the whole (700 × 4.9 M characters = 3.4 GB).
    "{{ [" + ", ".join(["'a'|center(4900000)"] * 700) + "]|length }}",
    "{% set s = 'a'|center(4900000) %}{{ [" + ", ".join(["s.upper()"] * 700) + "]|length }}",
    "{{ (" + " ~ ".join(["'a'|center(4900000)"] * 700) + ")|length }}",
    # textwrap is pure Python and never yields: one call on 5 M characters outlasts the deadline.
    "{% set ns = namespace(s='a b ' * 25000) %}{% for i in range(5) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    "{{ ns.s|wordwrap(1)|length }}",
    # sum of lists is quadratic inside one C call the deadline never interrupts.
    "{% set ns = namespace(l=[0] * 100000) %}{% for i in range(5) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"
    "{{ ns.l|batch(1)|sum(start=[])|length }}",
])
def test_template_cannot_escape_the_cooperative_limits(source: str) -> None:
    outcome = _render_in_child(source)
    assert outcome["code"] in ("template-unsafe", "template-timeout", "template-too-large"), outcome
    assert float(str(outcome["seconds"])) < 6, outcome
    assert int(str(outcome["peak_mb"])) < 600, outcome


FAR_ROW = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'


def _ledger_bytes() -> bytes:
    from tests.make_bad_corpus import ledger

    buf = io.BytesIO()
    ledger().save(buf)
    return buf.getvalue()


def _move_sheet(data: bytes, member: str, edit: Callable[[str], str]) -> bytes:
    """The package with its first sheet edited and stored under the zip member name ``member``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            payload = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                z.writestr(member, edit(payload.decode()).encode())
            else:
                z.writestr(info.filename, payload)
    return out.getvalue()


def _cli_limited(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("formkit")), *args], capture_output=True, text=True,
                          timeout=120, preexec_fn=_limit, cwd=cwd, check=False)


@pytest.mark.parametrize("member", ["xl\\worksheets\\sheet1.xml", "XL\\WORKSHEETS\\SHEET1.XML",
                                    "xl/worksheets\\sheet1.xml"])
def test_backslash_sheet_name_does_not_walk_around_the_guard(member: str, tmp_path: Path) -> None:
    """calamine reads a member named with Windows separators as the sheet; the guard did not, and the
    far cell aborted the whole run (memory allocation of 549755813888 bytes failed, exit 134)."""
    good = _ledger_bytes()
    (tmp_path / "a-bad.xlsx").write_bytes(_move_sheet(good, member, lambda s: s.replace("</sheetData>", FAR_ROW)))
    (tmp_path / "b-good.xlsx").write_bytes(good)
    result = _cli_limited(["ledger", "check", str(tmp_path)], tmp_path)
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-500:])
    assert "file-too-large" in result.stdout + result.stderr or "超出台账的合理范围" in result.stdout + result.stderr
    assert "b-good.xlsx" in result.stdout


def _encrypt_flag(data: bytes, member: str) -> bytes:
    """``data`` with the zip "encrypted" flag set on ``member`` (local and central headers)."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    out[info.header_offset + 6] |= 1
    at = out.find(b"PK\x01\x02")
    while at != -1:
        length = int.from_bytes(out[at + 28:at + 30], "little")
        if bytes(out[at + 46:at + 46 + length]) == member.encode():
            out[at + 8] |= 1
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def test_zip_password_on_one_member_is_a_clear_refusal(tmp_path: Path) -> None:
    """zipfile raised a bare RuntimeError for it: "内部错误（RuntimeError）…这是 formkit 的缺陷"."""
    (tmp_path / "locked.xlsx").write_bytes(_encrypt_flag(_ledger_bytes(), "xl/worksheets/sheet1.xml"))
    result = _cli_limited(["ledger", "check", str(tmp_path / "locked.xlsx")], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "内部错误" not in result.stdout + result.stderr
    assert "密码" in result.stdout + result.stderr

    from tests.test_engine import make_template

    with pytest.raises(TemplateError) as err:
        CompiledTemplate(_encrypt_flag(make_template("{{ x }}"), "word/document.xml"), "locked.docx")
    assert err.value.code == "template-file"


GROUPED = ["+8613885120001", "138-8512-0001", "138 8512 0001", "+86 138 8512 0001", "5201 2120 1305 1201 19",
           "520121-20130512-0119"]


def test_ids_and_phones_written_in_groups_are_masked_everywhere(tmp_path: Path) -> None:
    """Masking by shape missed the way people write numbers by hand: grouped, or with +86. Typed into
    序号 or 辍学原因 they were echoed in full in the terminal, --json and the 按原因 rows of summary.xlsx."""
    from openpyxl import load_workbook

    from tests.make_bad_corpus import ROW, ledger

    rows = []
    for i, value in enumerate(GROUPED):
        row = list(ROW)
        row[0], row[2], row[5], row[11] = value, f"学生{i}", f"52012120130512{i:03d}"[:17] + "X", value
        rows.append(row)
    ledger(rows).save(tmp_path / "台账.xlsx")
    shown = _cli_limited(["ledger", "check", str(tmp_path / "台账.xlsx")], tmp_path)
    as_json = _cli_limited(["ledger", "check", "--json", str(tmp_path / "台账.xlsx")], tmp_path)
    summary = _cli_limited(["ledger", "summary", str(tmp_path / "台账.xlsx"), "-o", str(tmp_path / "汇总.xlsx")],
                           tmp_path)
    assert shown.returncode == as_json.returncode == 1 and summary.returncode == 0, summary.stderr
    texts = [shown.stdout + shown.stderr, as_json.stdout, summary.stdout + summary.stderr]
    wb = load_workbook(tmp_path / "汇总.xlsx")
    texts += [str(cell.value) for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value]
    everything = "\n".join(texts)
    assert "138****0001" in everything and "5201**********0119" in everything
    for value in GROUPED:
        digits = "".join(c for c in value if c.isdigit())
        assert value not in everything and digits not in everything, value
    assert "8512" not in everything


def test_deflate64_zip_upload_is_refused_not_a_server_error(tmp_path: Path) -> None:
    """Windows' compressed folders use Deflate64 for big files; zipfile's NotImplementedError escaped
    the web upload as a 500 (internal error) instead of a message the clerk can act on."""
    from formkit import InputFileError
    from formkit.web.state import extract_ledgers

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("石门镇/台账.xlsx", _ledger_bytes())
    data = bytearray(buf.getvalue())
    data[8:10] = (9).to_bytes(2, "little")  # compression method 9 = Deflate64, local header
    central = data.find(b"PK\x01\x02")
    data[central + 10:central + 12] = (9).to_bytes(2, "little")
    (tmp_path / "石门镇.zip").write_bytes(bytes(data))
    with pytest.raises(InputFileError) as err:
        extract_ledgers(tmp_path / "石门镇.zip", "石门镇.zip", tmp_path / "out", 50)
    assert err.value.code == "zip-invalid"


_COMPILE = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/src"]
from formkit import CompiledTemplate
from formkit.documents.lint import check_template
from tests.test_engine import make_template
started = time.monotonic()
data = make_template(sys.argv[2])
CompiledTemplate(data, "attack.docx")
open(sys.argv[3], "wb").write(data)
check_template(sys.argv[3], "return-notice")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"seconds": time.monotonic() - started, "peak_mb": peak}))
"""


def test_compiling_and_checking_evaluate_nothing(tmp_path: Path) -> None:
    """Jinja folds constant output while compiling whenever finalize needs no context: 700 constant
    center(4900000) calls took 7 s and 3.3 GB in `template check`, before any render limit applies."""
    source = "{{ [" + ", ".join(["'a'|center(4900000)"] * 700) + "]|length }}"
    result = subprocess.run([sys.executable, "-c", _COMPILE, str(ROOT), source, str(tmp_path / "t.docx")],
                            capture_output=True, text=True, timeout=60, preexec_fn=_limit, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["peak_mb"] < 300 and outcome["seconds"] < 5, outcome


@pytest.mark.parametrize(("source", "expected"), [('{{ "a\\ud800b" }}', "ab"), ('{{ ("x\\udfff" ~ x)|upper }}', "XA")])
def test_lone_surrogate_in_template_is_dropped_not_an_internal_error(source: str, expected: str) -> None:
    """A Jinja string escape makes a lone surrogate; encoding the part raised UnicodeEncodeError
    (内部错误) after rendering."""
    from formkit.documents.engine import docx_text
    from tests.test_engine import make_template

    text = docx_text(CompiledTemplate(make_template(source), "s.docx").render({"x": "a"}))
    assert expected in text


def test_everyday_loop_over_many_rows_stays_within_the_render_total() -> None:
    """The per-render total counts what operations make, not what they read: a roster-sized loop that
    asks ``rows|length`` on every row reads the whole list 2,000 times and must still render."""
    from formkit.documents.engine import docx_text
    from tests.test_engine import make_template

    rows = [{"name": f"学生{i:04d}", "school": "石门镇中心小学" * 3} for i in range(2000)]
    source = ("{% set ns = namespace(names='') %}{% for r in rows %}{{ loop.index }}/{{ rows|length }}"
              "{{ r.name|upper }}{% set ns.names = ns.names ~ r.name ~ '、' %}{% endfor %}{{ ns.names|length }}")
    # The budget under test counts characters, not seconds: the wall-clock limit only has to outlast a
    # busy machine (8 s alone on two shared cores, over 20 s with the suite running in parallel).
    text = docx_text(CompiledTemplate(make_template(source), "rows.docx").render({"rows": rows}, timeout=120))
    assert "2000/2000学生1999" in text and str(2000 * 7) in text


@pytest.mark.parametrize(("command", "payload"), [
    (["render", "return-notice"], '{"zz": ' + "9" * 5000 + "}"),
    (["batch", "return-notice"], '[{"zz": ' + "9" * 5000 + "}]"),
    (["batch", "return-notice"], "[" * 100_000 + "]" * 100_000),
])
def test_hostile_json_numbers_and_nesting_are_input_errors(command: list[str], payload: str, tmp_path: Path) -> None:
    """json raises a bare ValueError for an integer over 4,300 digits and RecursionError for deep rosters:
    both reached the user as 内部错误 (a formkit defect) instead of naming the file."""
    (tmp_path / "data.json").write_text(payload, encoding="utf-8")
    result = _cli_limited([*command, str(tmp_path / "data.json"), "-o", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "内部错误" not in result.stdout + result.stderr and "data.json" in result.stderr


def test_csv_roster_with_a_long_pasted_remark_is_an_input_error(tmp_path: Path) -> None:
    """csv caps a field at 131,072 characters; its csv.Error reached the user as 内部错误（Error）."""
    from tests.make_bad_corpus import HEADERS, ROW

    row = [str(x) for x in ROW]
    row[11] = "长" * 200_000
    (tmp_path / "名单.csv").write_text(",".join(HEADERS) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    result = _cli_limited(["batch", "return-notice", str(tmp_path / "名单.csv"), "-o", str(tmp_path / "out"),
                           "--dry-run"], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "内部错误" not in result.stderr and "第 2 行" in result.stderr


_SST = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>x</t></si></sst>')


def _with_shared_strings(data: bytes, sst: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            part = src.read(info).decode()
            if info.filename == "xl/_rels/workbook.xml.rels":
                part = part.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.'
                                    'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    "</Relationships>")
            elif info.filename == "[Content_Types].xml":
                part = part.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            z.writestr(info.filename, part)
        z.writestr("xl/sharedStrings.xml", sst)
    return out.getvalue()


def test_shared_string_count_claim_never_reaches_calamine(tmp_path: Path) -> None:
    """calamine reserves the <sst uniqueCount> it is told before reading a string: a 300-byte part
    claiming 4,000,000,000 aborted the process, and with it the report for every other ledger."""
    good = _ledger_bytes()
    (tmp_path / "a-bad.xlsx").write_bytes(_with_shared_strings(good, _SST))
    (tmp_path / "b-good.xlsx").write_bytes(good)
    honest = _SST.replace("4000000000", "1")
    (tmp_path / "c-honest.xlsx").write_bytes(_with_shared_strings(good, honest))
    result = _cli_limited(["ledger", "check", str(tmp_path)], tmp_path)
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-500:])
    assert "共享字符串" in result.stdout + result.stderr
    assert "b-good.xlsx" in result.stdout and "c-honest.xlsx" in result.stdout
    assert "c-honest.xlsx：无法读取" not in result.stdout


def test_legacy_xls_far_cell_never_reaches_calamine(tmp_path: Path) -> None:
    """A 5.6 KB .xls whose one cell sits at column 65535 aborts calamine (a 65536 × 65536 grid)."""
    import shutil

    shutil.copy(ROOT / "tests" / "data" / "attack" / "far-cell-column.xls", tmp_path / "a-bad.xls")
    (tmp_path / "b-good.xlsx").write_bytes(_ledger_bytes())
    result = _cli_limited(["ledger", "check", str(tmp_path)], tmp_path)
    assert result.returncode == 2 and "b-good.xlsx" in result.stdout, (result.returncode, result.stderr[-300:])
