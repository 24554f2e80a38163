"""Printed layout: every form, from its sample and from a worst-case record, as LibreOffice prints it.

The worst cases (tests/data/worst/) carry the longest names and addresses a clerk will meet,
a landline with area code, two-digit months and days, six home visits and, for the deadline
notice, a joint issuer without a configured contact. The PDFs are read back with
``pdftotext -layout`` so that a value broken over two lines, a signature slot with a name in
it or a page holding only the signatures shows up as a failing assertion.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import formkit
from formkit.cli import cli
from formkit.core.errors import UsageError
from formkit.core.validators import format_date
from formkit.documents.engine import docx_text
from formkit.ledger.check import check_ledger
from formkit.ledger.summary import Summary, SummaryRow, collect, report_record
from tests.helpers import ROOT, SAMPLES, needs_soffice

WORST = ROOT / "tests" / "data" / "worst"
FORMS = [f.name for f in formkit.forms()]
VARIANTS = {"sample": SAMPLES, "worst": WORST}
NOTICES = ("return-notice", "compel-notice", "deadline-notice")

# Pages each form must take: a notice is the notice page plus the stub-and-receipt page; the
# worst-case monthly report lists twelve schools and runs onto a second page.
PAGES = {"dropout-report": 1, "home-visit": 1, "return-notice": 2, "compel-notice": 2, "deadline-notice": 2,
         "pledge-teacher": 2, "pledge-parent": 2, "monthly-report": 1}
PAGES_WORST = PAGES | {"monthly-report": 2}

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def load(variant: str, form: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VARIANTS[variant] / f"{form}.json").read_text(encoding="utf-8"))
    return data


def squeeze(text: str) -> str:
    # pdftotext puts spaces between Latin and CJK runs and pads table cells: compare without them.
    return re.sub(r"\s+", "", text)


@dataclass
class Printed:
    pages: list[str]

    @property
    def lines(self) -> list[str]:
        return [squeeze(line) for page in self.pages for line in page.splitlines()]

    @property
    def text(self) -> str:
        return squeeze("".join(self.pages))


@pytest.fixture(scope="module")
def printed(form_pdfs: dict[tuple[str, str], Path]) -> dict[tuple[str, str], Printed]:
    out: dict[tuple[str, str], Printed] = {}
    for key, pdf in form_pdfs.items():
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True,
                              text=True).stdout
        out[key] = Printed([p for p in text.split("\f") if p.strip()])
    assert set(out) == {(variant, form) for variant in VARIANTS for form in FORMS}
    return out


def one_line_values(form: str, data: dict[str, Any]) -> list[str]:
    """Values short enough that the form must print each on one line."""
    if form == "monthly-report":
        return [data["area"], data["month"], format_date(date.fromisoformat(data["report_date"]))]
    if form == "pledge-teacher":
        return [data["teacher"], data["principal"], data["school"]["school"], str(data["enrolled"]),
                format_date(date.fromisoformat(data["sign_date"]))]
    student, guardian = data["student"], data["guardian"]
    values = [student["name"], guardian["name"]]
    if form in ("dropout-report", "home-visit"):
        values += [guardian["phone"], format_date(date.fromisoformat(student["birth_date"])), guardian["address"]]
    if form == "dropout-report":
        values += [student["id_number"], student["xjh"], format_date(date.fromisoformat(data["case"]["dropout_date"])),
                   data["teacher"], data["teacher_phone"], "开始缺课时间"]
    if form == "home-visit":
        values += [format_date(date.fromisoformat(v["date"])) for v in data["visits"]]
    if form in NOTICES:
        issuer = data["issuer"]
        values += [issuer["doc_number"], guardian["phone"], format_date(date.fromisoformat(issuer["issue_date"])),
                   format_date(date.fromisoformat(issuer["deadline"]))]
        values += [f"{body}（盖章）" for body in issuer["body"].split("\u3000")]
        values += [issuer.get("contact_phone")] if issuer.get("contact_phone") else []
    return values


def signers(form: str, data: dict[str, Any]) -> list[str]:
    """Every person whose name the record holds: none may stand in a signature slot."""
    names = [data.get("teacher"), data.get("principal"), data.get("contact")]
    names += [(data.get("guardian") or {}).get("name")]
    names += [(data.get("issuer") or {}).get(k) for k in ("handler", "signer", "contact")]
    names += [v.get("visitors") for v in data.get("visits", [])]
    return [n for n in names if n]


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("form", FORMS)
def test_printed_form(printed: dict[tuple[str, str], Printed], form: str, variant: str) -> None:
    data = load(variant, form)
    doc = printed[(variant, form)]
    expected_pages = (PAGES_WORST if variant == "worst" else PAGES)[form]
    assert len(doc.pages) == expected_pages, f"{form}/{variant}: {len(doc.pages)} pages"
    assert "{{" not in doc.text and "{%" not in doc.text
    for value in one_line_values(form, data):
        assert squeeze(value) in doc.text, f"{form}/{variant}: {value!r} missing"
        assert any(squeeze(value) in line for line in doc.lines), f"{form}/{variant}: {value!r} split across lines"
    # Signature slots stay empty: no line with a 签字 slot carries a name from the record.
    for line in doc.lines:
        if "签字" in line:
            for name in signers(form, data):
                assert squeeze(name) not in line, f"{form}/{variant}: {name!r} pre-filled in {line!r}"
    # Multi-page forms number their pages in the footer (GB/T 9704 style "— 1 —").
    if len(doc.pages) > 1:
        for n, page in enumerate(doc.pages, 1):
            assert f"—{n}—" in squeeze(page), f"{form}/{variant}: no page number on page {n}"


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_dropout_report_lists_visits_one_per_line(printed: dict[tuple[str, str], Printed], variant: str) -> None:
    data = load(variant, "dropout-report")
    doc = printed[(variant, "dropout-report")]
    dates = [squeeze(format_date(date.fromisoformat(v["date"]))) for v in data["visits"]]
    starts = [i for i, line in enumerate(doc.lines) for d in dates if line.startswith(d) or f"家访情况{d}" in line]
    assert len(starts) == len(dates) and len(set(starts)) == len(dates), "each visit starts its own line"
    # Visits are separated by line breaks, not run together with "；" (nor end with one).
    assert not any(doc.lines[i].endswith("；") for i in starts) and "。；" not in doc.text
    # The 乡镇 part of the slip stays on page 1 with all visits.
    assert "接收情况" in squeeze(doc.pages[0])


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_home_visit_shows_every_visit(printed: dict[tuple[str, str], Printed], variant: str) -> None:
    data = load(variant, "home-visit")
    doc = printed[(variant, "home-visit")]
    assert len(data["visits"]) == (6 if variant == "worst" else 1)
    rows = [i for i, line in enumerate(doc.lines) for v in data["visits"]
            if squeeze(format_date(date.fromisoformat(v["date"]))) in line]
    assert len(set(rows)) == len(data["visits"]), "one table row per visit, dates unbroken"
    # Multi-line cells interleave in the printed text: check the full wording in the document.
    text = docx_text(formkit.render("home-visit", data))
    for visit in data["visits"]:
        for key in ("visitors", "met", "situation", "reason", "result", "next_step"):
            assert visit[key] in text, key
    assert "家访人（签字）" in doc.text and "监护人（签字）" in doc.text


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
@pytest.mark.parametrize("form", NOTICES)
def test_notice_receipt_and_stub(printed: dict[tuple[str, str], Printed], form: str) -> None:
    for variant in VARIANTS:
        data = load(variant, form)
        doc = printed[(variant, form)]
        stub_page = squeeze(doc.pages[-1])
        for box in ("☐直接送达", "☐留置送达", "☐委托送达", "见证人（签字）", "拒收、留置", "经办人", "签发人", "（存根）"):
            assert box in stub_page, f"{form}/{variant}: {box} missing"
        bodies = data["issuer"]["body"].split("\u3000")
        if len(bodies) > 1:
            # Two issuers never run together as one name.
            assert "".join(bodies) not in doc.text and "\u3000".join(bodies) not in "".join(doc.pages)
        if data["issuer"].get("handler"):
            assert squeeze(data["issuer"]["handler"]) in stub_page and squeeze(data["issuer"]["signer"]) in stub_page
        contact = data["issuer"].get("contact") or data["issuer"].get("contact_phone")
        assert ("联系人" in squeeze(doc.pages[0])) == bool(data["issuer"].get("contact")), f"{form}/{variant}"
        if not contact:
            assert "联系电话" not in squeeze(doc.pages[0])


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
@pytest.mark.parametrize("form", ["pledge-teacher", "pledge-parent"])
def test_pledge_signatures_never_stand_alone(printed: dict[tuple[str, str], Printed], form: str) -> None:
    for variant in VARIANTS:
        last = squeeze(printed[(variant, form)].pages[-1])
        assert "乙方（签字）" in last
        # The signatures share their page with at least two numbered duties, not one closing clause.
        assert len(re.findall(r"[1-9]\.", last)) >= 2, f"{form}/{variant}: signatures alone on the last page"


@needs_soffice
@needs_pdftotext
@pytest.mark.slow
def test_monthly_report_rows_add_up_in_print(printed: dict[tuple[str, str], Printed]) -> None:
    for variant in VARIANTS:
        data = load(variant, "monthly-report")
        doc = printed[(variant, "monthly-report")]
        assert "其中：" in doc.text and "已消帐" in doc.text
        rows = [line for page in doc.pages for line in page.splitlines()
                if re.search(r"(\d+\s+){5}\d+\s*$", line) and not line.strip().startswith("合计")]
        assert len(rows) == len(data["schools"]), variant
        for line in rows:
            cases, returned, closed, other, out, poverty = map(int, line.split()[-6:])
            assert cases == returned + other + out and closed <= returned and poverty <= cases, line


# --- typography and the ledger template (no LibreOffice needed) ---------------------------


def _xml(form: str, part: str = "word/document.xml") -> str:
    with zipfile.ZipFile(ROOT / "templates" / "docx" / formkit.get_form(form).template) as z:
        return z.read(part).decode("utf-8")


@pytest.mark.parametrize("form", [*NOTICES, "pledge-teacher", "pledge-parent", "monthly-report"])
def test_official_typography(form: str) -> None:
    xml = _xml(form)
    sect = re.search(r"<w:sectPr.*?</w:sectPr>", xml, re.S)
    assert sect is not None
    margins = re.search(r'<w:pgMar[^>]*w:top="(\d+)"[^>]*w:right="(\d+)"[^>]*w:bottom="(\d+)"[^>]*w:left="(\d+)"',
                        sect.group(0))
    assert margins is not None
    top, right, bottom, left = (round(int(v) / 1440 * 25.4) for v in margins.groups())
    assert (top, bottom, left, right) == (37, 35, 28, 26)
    # The first section (the notice itself) carries the GB/T 9704 line grid: 22 lines in 225 mm.
    first = re.search(r'<w:docGrid w:type="lines" w:linePitch="(\d+)"', xml)
    assert first is not None and int(first.group(1)) == 579
    title = re.search(r'<w:rFonts[^>]*w:eastAsia="方正小标宋简体"[^>]*/>.*?<w:sz w:val="(\d+)"', xml, re.S)
    assert title is not None and int(title.group(1)) == 44  # 22 pt, in half-points
    assert '<w:sz w:val="32"/>' in xml  # 16 pt body
    assert "仿宋" in xml
    fonts = _xml(form, "word/fontTable.xml")
    assert 'w:name="方正小标宋简体"' in fonts and "altName" in fonts
    assert "PAGE" in "".join(_xml(form, name) for name in _footer_parts(form))


def _footer_parts(form: str) -> list[str]:
    with zipfile.ZipFile(ROOT / "templates" / "docx" / formkit.get_form(form).template) as z:
        return [n for n in z.namelist() if n.startswith("word/footer")]


def test_fontconfig_maps_the_title_face() -> None:
    conf = (ROOT / "src" / "formkit" / "data" / "fonts.conf").read_text(encoding="utf-8")
    assert re.search(r"<family>方正小标宋简体</family><prefer><family>Noto Serif CJK SC", conf)


def test_deadline_notice_without_contact_has_no_empty_contact_line() -> None:
    data = load("worst", "deadline-notice")
    assert not data["issuer"].get("contact")
    text = docx_text(formkit.render("deadline-notice", data))
    assert "联系人" not in text and "联系电话：\n" not in text
    data["issuer"]["contact_phone"] = "0851-86221234"
    text = docx_text(formkit.render("deadline-notice", data))
    assert "联系电话：0851-86221234" in text and "联系人：" not in text


def test_signature_slots_are_empty_in_docx() -> None:
    data = load("sample", "dropout-report")
    text = docx_text(formkit.render("dropout-report", data))
    slot = next(line for line in text.splitlines() if "班主任（签字）：" in line)
    assert data["teacher"] not in slot and f"班主任：{data['teacher']}" in text
    parent = docx_text(formkit.render("pledge-parent", load("sample", "pledge-parent")))
    signature_lines = [line for line in parent.splitlines() if "签字" in line]
    assert signature_lines and all("李梅" not in line for line in signature_lines)


# --- monthly report composition ------------------------------------------------------------


def _case(township: str, county: str, **flags: bool) -> SummaryRow:
    return SummaryRow("a.xlsx", 5, "学校", "某", "", "五年级", "因贫", "辍学", "劝返中", False, None, None, "", "",
                flags.get("returned", False), flags.get("closed", False), flags.get("other", False),
                township=township, county=county)


def test_report_area_comes_from_the_data() -> None:
    assert Summary([_case("石门镇", "青山县"), _case("石门镇", "青山县")]).report_area() == "石门镇"
    assert Summary([_case("石门镇", "青山县"), _case("龙井乡", "青山县")]).report_area() == "青山县"
    assert Summary([_case("石门镇", "青山县"), _case("龙井乡", "青山县")]).report_area("龙井乡") == "龙井乡"
    with pytest.raises(UsageError) as err:
        Summary([_case("石门镇", "青山县"), _case("白沙镇", "河西县")]).report_area()
    # The library names the parameter in clerk terms; the flag is the CLI's hint (see the next tests).
    assert err.value.code == "area-ambiguous" and "填报单位" in str(err.value) and "--area" not in str(err.value)
    with pytest.raises(UsageError) as err:
        Summary([_case("", "")]).report_area()
    assert err.value.code == "area-missing"


def test_summary_cli_names_the_county_for_two_townships(tmp_path: Path) -> None:
    report = tmp_path / "月报.docx"
    result = CliRunner().invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"),
                                      str(SAMPLES / "ledger-b.xlsx"), "-o", str(tmp_path / "s.xlsx"),
                                      "--month", "2024-04", "--report", str(report)])
    assert result.exit_code == 0, result.output
    text = docx_text(report.read_bytes())
    assert "填报单位：青山县" in text and "石门镇中心小学" in text and "龙井乡中学" in text
    one = tmp_path / "一镇.docx"
    result = CliRunner().invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"), "-o",
                                      str(tmp_path / "t.xlsx"), "--month", "2024-04", "--report", str(one)])
    assert result.exit_code == 0 and "填报单位：石门镇" in docx_text(one.read_bytes())


def test_summary_cli_asks_for_area_when_counties_differ(tmp_path: Path) -> None:
    other = tmp_path / "other.xlsx"
    wb = load_workbook(SAMPLES / "ledger-b.xlsx")
    ws = wb.worksheets[0]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == "青山县":
                cell.value = "河西县"
            elif isinstance(cell.value, str) and "青山县" in cell.value:
                cell.value = cell.value.replace("青山县", "河西县")
    wb.save(other)
    out = tmp_path / "s.xlsx"
    result = CliRunner().invoke(cli, ["ledger", "summary", str(SAMPLES / "ledger-clean.xlsx"), str(other),
                                      "-o", str(out), "--month", "2024-04", "--report", str(tmp_path / "r.docx")])
    assert result.exit_code == 2 and "--area" in result.output and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "r.docx").exists()


def test_monthly_rows_add_up() -> None:
    figures = collect(check_ledger([SAMPLES / "ledger-clean.xlsx", SAMPLES / "ledger-b.xlsx",
                                    SAMPLES / "ledger-filled.xlsx"], date(2024, 5, 1)), "2024-04")
    record = report_record(figures, figures.report_area())
    assert record["schools"]
    for row in record["schools"]:
        assert row["cases"] == row["returned"] + row["other"] + row["out"], row
        assert 0 <= row["closed"] <= row["returned"] and row["poverty"] <= row["cases"], row
    totals = figures.totals()
    assert totals["cases"] == sum(r["cases"] for r in record["schools"]) == len(figures.cases)
    assert totals["cases"] == totals["returned"] + totals["other"] + totals["out"]
    text = docx_text(formkit.render("monthly-report", record))
    assert "其中：\n已消帐" in text or "其中：已消帐" in text.replace("\n", "")


# --- ledger template -------------------------------------------------------------------------


def test_ledger_help_has_no_repeated_sentences() -> None:
    wb = load_workbook(ROOT / "templates" / "xlsx" / "ledger.xlsx")
    for row in wb["填表说明"].iter_rows(min_row=2, values_only=True):
        note = row[2] or ""
        sentences = [s for s in str(note).split("。") if s]
        assert len(sentences) == len(set(sentences)), note
        assert str(note).count("到月") <= 1 and str(note).count("文本格式") <= 1, note


def test_new_ledger_header_date_is_chinese(tmp_path: Path) -> None:
    from formkit.ledger.workbook import write_ledger

    path = write_ledger(tmp_path / "台账.xlsx", school="石门镇中心小学", fill_date=date(2026, 11, 25))
    ws = load_workbook(path).worksheets[0]
    values = [c.value for row in ws.iter_rows(max_row=3) for c in row if c.value]
    assert "2026年11月25日" in values and not any(isinstance(v, str) and "2026-11-25" in v for v in values)


def test_check_results_sheet_prints_on_the_page(tmp_path: Path) -> None:
    source = tmp_path / "石门镇中心小学台账.xlsx"
    source.write_bytes((SAMPLES / "ledger-filled.xlsx").read_bytes())
    result = CliRunner().invoke(cli, ["ledger", "check", str(source), "--as-of", "2024-05-01",
                                      "--annotate", str(tmp_path / "out")])
    assert result.exit_code == 1
    wb = load_workbook(next((tmp_path / "out").glob("*.xlsx")))
    ws = wb["检查结果"]
    assert ws["A1"].value == "石门镇中心小学台账.xlsx 检查结果"
    assert re.fullmatch(r"检查日期：\d{4}年\d{1,2}月\d{1,2}日.*", str(ws["A2"].value))
    assert [c.value for c in ws[3]][:8] == ["文件", "工作表", "行", "列", "单元格", "代码", "级别", "说明"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$3:$3"
    assert sum(ws.column_dimensions[c].width for c in "ABCDEFGHI") <= 130
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            if cell.value is not None:
                assert cell.alignment.wrap_text, cell.coordinate  # long file and column names wrap, never spill
    buf = io.BytesIO()
    wb.save(buf)
