"""Regenerate the Word templates in templates/docx/ from code.

Run ``python tools/build_templates.py`` after changing a wording or a layout, then
render every form (``make look``) and look at the PNGs. The .docx files are committed so
that clerks and counties can open, review and restyle them in Word or WPS.

Typography follows GB/T 9704-2012 for the notices and pledges: A4, 版心 156 mm × 225 mm
(margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm), title 二号 (22 pt) in a
小标宋 face, body 三号 (16 pt) 仿宋 on a line grid of 22 lines × 28 characters (the
standard's own figure: 225 mm ÷ 22 = 28.95 pt per line), page numbers "— 1 —" in the
footer. Tabular forms keep the side margins but use smaller type (五号, 10.5 pt) so that
the widest values (phone numbers, dates) never wrap inside their cells.
Signature slots are always left empty: a printed name may stand beside a slot, never in it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt

OUT = Path(__file__).resolve().parents[1] / "templates" / "docx"

FANGSONG = "仿宋"
SONG = "宋体"
HEI = "黑体"
TITLE_FONT = "方正小标宋简体"
LATIN = "Times New Roman"
# Word and WPS use altName when a face is missing; formkit's fontconfig maps the same names
# to Noto CJK for LibreOffice (src/formkit/data/fonts.conf).
FALLBACKS = {TITLE_FONT: SONG, FANGSONG: "FangSong", SONG: "SimSun", HEI: "SimHei"}

# GB/T 9704-2012: 版心 156 mm × 225 mm, 22 lines × 28 characters.
GB_MARGINS = {"top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}
GB_LINE = 28.95  # 225 mm / 22 lines, in points
BODY = 16.0  # 三号
TITLE = 22.0  # 二号
TABLE = 10.5  # 五号

Run = str | tuple[str, str]


def set_font(run, east: str = FANGSONG, size: float = BODY, bold: bool = False, underline: bool = False) -> None:
    run.font.name = LATIN
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.underline = underline
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east)
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)


def _no_snap(paragraph) -> None:
    # Exact line spacing carries the grid; snapping as well would let LibreOffice double it.
    ppr = paragraph._p.get_or_add_pPr()
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    ppr.append(snap)


def _set_grid(section, line_pitch_pt: float | None) -> None:
    sect = section._sectPr
    for old in sect.findall(qn("w:docGrid")):
        sect.remove(old)
    grid_el = OxmlElement("w:docGrid")
    if line_pitch_pt:
        grid_el.set(qn("w:type"), "lines")
        grid_el.set(qn("w:linePitch"), str(round(line_pitch_pt * 20)))
    else:
        grid_el.set(qn("w:linePitch"), "312")
    sect.append(grid_el)


def _page_number_footer(section) -> None:
    """GB/T 9704 page numbers: 四号 arabic figures between dashes, in every section's footer."""
    footer = section.footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text, kind in (("— ", None), ("", "begin"), (" PAGE ", "instr"), ("", "separate"), ("1", None),
                       ("", "end"), (" —", None)):
        run = p.add_run(text if kind is None else "")
        set_font(run, SONG, 14)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
        elif kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._element.append(fld)


def _font_fallbacks(doc) -> None:
    for rel in doc.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            part = rel.target_part
            root = parse_xml(part.blob)
            for name, alt in FALLBACKS.items():
                font = parse_xml(f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alt}"/>'
                                 '<w:charset w:val="86"/></w:font>')
                root.append(font)
            from lxml import etree

            part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def new_document(*, top: float = GB_MARGINS["top"], bottom: float = GB_MARGINS["bottom"],
                 left: float = GB_MARGINS["left"], right: float = GB_MARGINS["right"],
                 line_grid: float | None = GB_LINE, landscape: bool = False):
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    section.left_margin, section.right_margin = Cm(left), Cm(right)
    section.footer_distance = Cm(2.0 if bottom >= 3 else 0.8)
    _set_grid(section, line_grid)
    _page_number_footer(section)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.font.size = Pt(BODY)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), FANGSONG)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    # Chinese documents: no extra space between paragraphs.
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    # The default python-docx document has an empty first paragraph; drop it.
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)
    _font_fallbacks(doc)
    return doc


def new_section(doc, *, top: float, bottom: float, left: float, right: float, line_grid: float | None = None):
    """A new page with its own margins (the stub and receipt page of a notice)."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    section.left_margin, section.right_margin = Cm(left), Cm(right)
    section.footer_distance = Cm(0.8)
    _set_grid(section, line_grid)
    return section


def para(container, runs: list[Run] | str, *, size: float = BODY, align: str = "left", indent: bool = True,
         bold: bool = False, east: str = FANGSONG, line: float | None = None, before: float = 0, after: float = 0,
         keep_next: bool = False):
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = {"left": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                     "right": WD_ALIGN_PARAGRAPH.RIGHT, "plain": WD_ALIGN_PARAGRAPH.LEFT}[align]
    if indent and align == "left":
        fmt.first_line_indent = Pt(size * 2)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line if line else size * 1.6)
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.widow_control = True
    if keep_next:
        fmt.keep_with_next = True
    _no_snap(p)
    for item in [runs] if isinstance(runs, str) else runs:
        text, style = (item, "") if isinstance(item, str) else item
        run = p.add_run(text)
        set_font(run, HEI if "h" in style else east, size, bold=bold or "b" in style, underline="u" in style)
    return p


def title(doc, text: str, *, size: float = TITLE, after: float = 0, before: float = 0, line: float | None = None) -> None:
    para(doc, [text], size=size, align="center", indent=False, bold=True, east=TITLE_FONT,
         line=line or size * 1.5, before=before, after=after, keep_next=True)


def cut_line(doc, label: str = "沿 此 线 剪 开") -> None:
    dashes = "-" * 34
    para(doc, [f"{dashes} {label} {dashes}"], size=9, align="center", indent=False, line=14, before=6, after=6)


def set_borders(table) -> None:
    tbl_pr = table._element.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "6")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    tbl_pr.append(borders)


def _cell_margins(table, side_cm: float = 0.1) -> None:
    # Narrow side padding: a phone number or a date must fit its cell on one line.
    mar = OxmlElement("w:tblCellMar")
    for edge, value in (("top", 0.03), ("left", side_cm), ("bottom", 0.03), ("right", side_cm)):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(round(value / 2.54 * 1440)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._element.tblPr.append(mar)


def _fixed_layout(table) -> None:
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._element.tblPr.append(layout)


def _cant_split(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    tr_pr.append(el)


def grid(doc, widths_cm: list[float], rows: list[list[Run | list[Run] | None]], *, size: float = TABLE,
         heights: dict[int, float] | None = None, label_cols: tuple[int, ...] = (), align_left: tuple[int, ...] = (),
         borders: bool = True, keep_together: bool = False, line: float | None = None, header_row: bool = False):
    """A bordered form table. A ``None`` cell merges into its left neighbour."""
    table = doc.add_table(rows=len(rows), cols=len(widths_cm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _fixed_layout(table)
    _cell_margins(table)
    if borders:
        set_borders(table)
    for r, row in enumerate(rows):
        tr = table.rows[r]
        _cant_split(tr)
        if header_row and r == 0:
            # A table that runs onto a second page repeats its column heads there.
            tr._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        if heights and r in heights:
            tr.height = Cm(heights[r])
        c = 0
        while c < len(row):
            span = 1
            while c + span < len(row) and row[c + span] is None:
                span += 1
            cell = tr.cells[c]
            if span > 1:
                cell = cell.merge(tr.cells[c + span - 1])
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            content = row[c]
            runs = content if isinstance(content, list) else [content]
            p = cell.paragraphs[0]
            if line:
                p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
                p.paragraph_format.line_spacing = Pt(line)
            else:
                p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            _no_snap(p)
            if keep_together and r < len(rows) - 1:
                p.paragraph_format.keep_with_next = True
            is_label = c in label_cols
            p.paragraph_format.alignment = (
                WD_ALIGN_PARAGRAPH.LEFT if (span > 1 or c in align_left) and not is_label else WD_ALIGN_PARAGRAPH.CENTER
            )
            for item in runs:
                text, style = (item, "") if isinstance(item, str) else item
                run = p.add_run(text)
                set_font(run, HEI if is_label or "h" in style else FANGSONG, size, bold="b" in style)
            c += span
    # LibreOffice lays tables out from the grid columns, Word from the cell widths: set both.
    for i, w in enumerate(widths_cm):
        table.columns[i].width = Cm(w)
    for row in table.rows:
        for i, w in enumerate(widths_cm):
            row.cells[i].width = Cm(w)
    return table


CLASS = "{{ school.school }}{{ school.grade }}{{ school.class_name }}"
BR = "{{ '\\n' }}"
"""A line break inside a cell or paragraph (the engine turns a newline into <w:br/>)."""
SIGN_DATE = "　　　　年　　月　　日"


# --- 辍学报告单 --------------------------------------------------------------------------
def dropout_report() -> Document:
    # A one-page table form: GB side margins, shorter top and bottom so that six visits fit.
    doc = new_document(top=2.5, bottom=2.0, line_grid=None)
    title(doc, "辍学报告单", after=6, line=30)
    para(doc, ["填报学校：{{ school.school }}　　　　填报日期：{{ report_date|cn_date|blank(6) }}"],
         size=TABLE, align="plain", indent=False, line=18, after=4)
    # Widths (cm, 15.6 in all) are set so that a date like 2013年12月12日, an 11-digit mobile or a
    # landline with area code and the label 开始缺课时间 each stay on one line at 10.5 pt.
    w = [2.5, 3.5, 1.9, 3.0, 1.9, 2.8]
    reasons = ("{% for r in reasons %}{{ case.reason|checked(r) }}{{ r }}{% if not loop.last %}"
               "{{ '\\n' if loop.index % 5 == 0 else '　' }}{% endif %}{% endfor %}")
    visits = ("{% for v in visits %}{{ v.date|cn_date }}　{{ v.visitors }}家访："
              "{{ v.result or '（结果未记录）' }}{{ '\\n' if not loop.last else '' }}{% else %}（未记录）{% endfor %}")
    grid(doc, w, [
        ["学生姓名", "{{ student.name }}", "性　别", "{{ student.sex }}", "民　族", "{{ student.ethnicity }}"],
        ["出生日期", "{{ student.birth_date|cn_date }}", "身份证号", "{{ student.id_number }}", None, None],
        ["学籍号", "{{ student.xjh }}", None, "年级班级", "{{ school.grade }}{{ school.class_name }}", None],
        ["监护人", "{{ guardian.name }}", "关　系", "{{ guardian.relation }}", "联系电话", "{{ guardian.phone }}"],
        ["家庭住址", "{{ guardian.address }}", None, None, None, None],
        ["开始缺课时间", "{{ case.dropout_date|cn_date }}", "建档立卡",
         "{{ case.poverty|checked(true) }}是　{{ case.poverty|checked(false) }}否",
         "是否残疾", "{{ case.disability|checked(true) }}是　{{ case.disability|checked(false) }}否"],
        ["家访情况", [visits], None, None, None, None],
        ["辍学原因", [reasons], None, None, None, None],
        ["班主任报告", ["{{ visit_summary }}现按规定报告。" + BR
                     + "班主任：{{ teacher }}　　联系电话：{{ teacher_phone|blank(7) }}" + BR + BR
                     + "班主任（签字）：　　　　　　　　　　" + SIGN_DATE],
         None, None, None, None],
        ["学校意见", ["{{ school_opinion|blank(12) }}" + BR + BR
                    + "负责人（签字）：　　　　　　　学校（盖章）" + SIGN_DATE],
         None, None, None, None],
        ["乡镇（街道）" + BR + "接收情况", ["接收意见：" + BR + BR
                                    + "接收人（签字）：　　　　　　　乡镇（盖章）" + SIGN_DATE],
         None, None, None, None],
    ], size=TABLE, label_cols=(0,), line=16,
        heights={0: 0.9, 1: 0.9, 2: 0.9, 3: 0.9, 4: 0.9, 5: 0.9, 6: 2.2, 7: 1.6, 8: 2.6, 9: 2.6, 10: 2.2})
    para(doc, ["说明：学生无故缺课，班主任应当日联系家长并家访；家访一周仍未返校的，填写本表报学校，"
               "学校当即报乡镇人民政府（街道办事处）。本表一式三份，班主任、学校、乡镇各留一份。"],
         size=9, align="left", indent=False, line=14, before=6)
    return doc


# --- notices: notice page, then stub and receipt page ------------------------------------
STUB_PAGE = {"top": 2.0, "bottom": 1.8, "left": 2.4, "right": 2.2}
STUB_WIDTHS = [2.8, 5.4, 2.8, 5.4]  # 16.4 cm: the stub page's text width


def stub(doc, name: str, extra_rows: list[list[Run | list[Run] | None]]) -> None:
    para(doc, [f"{name}（存根）"], size=14, align="center", indent=False, bold=True, east=SONG, line=22)
    para(doc, ["{{ issuer.doc_number }}"], size=TABLE, align="right", indent=False, line=16)
    grid(doc, STUB_WIDTHS, [
        ["学生姓名", "{{ student.name }}", "学校班级", CLASS],
        ["监护人", "{{ guardian.name }}{% if guardian.relation %}（{{ guardian.relation }}）{% endif %}", "联系电话",
         "{{ guardian.phone }}"],
        *extra_rows,
        ["发文单位", "{{ issuer.body }}", "发文日期", "{{ issuer.issue_date|cn_date }}"],
        ["经办人", "{{ issuer.handler }}", "签发人", "{{ issuer.signer }}"],
        ["回证收回", ["☐ 已收回　　收回日期：" + SIGN_DATE], None, None],
    ], size=TABLE, label_cols=(0, 2), heights={i: 0.75 for i in range(8)})


def receipt(doc, name: str) -> None:
    para(doc, ["送 达 回 证"], size=14, align="center", indent=False, bold=True, east=SONG, line=22)
    para(doc, ["（本回证随通知书送达，签收后交回发文单位）"], size=9, align="center", indent=False, line=14, after=2)
    grid(doc, STUB_WIDTHS, [
        ["送达文书", [f"《{name}》" + "{{ issuer.doc_number }}"], None, None],
        ["受送达人", "{{ guardian.name }}", "学生姓名", "{{ student.name }}"],
        ["送达地点", "{{ guardian.address }}", None, None],
        ["送达方式", ["☐ 直接送达　　☐ 留置送达　　☐ 委托送达"], None, None],
        ["送达人（签字）", "", "送达时间", SIGN_DATE],
        ["受送达人" + BR + "（签字）", "", "签收时间", SIGN_DATE],
        ["见证人（签字）", "", "见证人身份", ""],
        ["拒收、留置" + BR + "情况说明", "", None, None],
        ["监护人意见", ["☐ 按期送孩子到校" + BR + "☐ 有困难，需要帮助：＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿"], None, None],
    ], size=TABLE, label_cols=(0, 2), line=16, heights={0: 0.8, 1: 0.8, 2: 0.8, 3: 0.8, 4: 1.1, 5: 1.1, 6: 1.1, 7: 2.4, 8: 1.3})
    para(doc, ["说明：受送达人在“受送达人（签字）”栏签名并写明签收时间。受送达人拒绝签收的，送达人在"
               "“拒收、留置情况说明”栏写明拒收事由和经过，请见证人签字，把通知书留在受送达人住处，并勾选“留置送达”。"],
         size=9, align="left", indent=False, line=14, before=3)


def notice_head(doc, name: str) -> None:
    title(doc, name, line=GB_LINE * 1.5)
    para(doc, ["{{ issuer.doc_number }}"], size=BODY, align="center", indent=False, line=GB_LINE, after=0)
    para(doc, [""], size=BODY, indent=False, line=GB_LINE * 0.5)
    para(doc, ["{{ guardian.name }}（{{ student.name }}的{{ guardian.relation|blank(2) }}）："],
         indent=False, line=GB_LINE)


def notice_body(doc, paragraphs: list[list[Run]]) -> None:
    for runs in paragraphs:
        para(doc, runs, line=GB_LINE)


CONTACT = ("{% if issuer.contact %}联系人：{{ issuer.contact }}　　{% endif %}"
           "{% if issuer.contact_phone %}联系电话：{{ issuer.contact_phone }}{% endif %}")


def contact_line(doc) -> None:
    # Without a configured contact the line is left out, not printed with empty blanks.
    para(doc, ["{%p if issuer.contact or issuer.contact_phone %}"], line=GB_LINE)
    para(doc, [CONTACT], line=GB_LINE)
    para(doc, ["{%p endif %}"], line=GB_LINE)


def issuer_block(doc) -> None:
    # GB/T 9704: the issuing body and date stand right, the seal goes over them. A joint
    # notice ("学校　乡镇人民政府") gets one line and one seal mark per body.
    para(doc, [""], line=GB_LINE, keep_next=True)
    para(doc, ["{{ issuer.body|replace('　', '（盖章）\\n') }}（盖章）"], align="right", indent=False,
         line=GB_LINE, keep_next=True)
    para(doc, ["{{ issuer.issue_date|cn_date }}"], align="right", indent=False, line=GB_LINE)


def stub_receipt_page(doc, name: str, extra_rows: list[list[Run | list[Run] | None]]) -> None:
    new_section(doc, **STUB_PAGE)
    if extra_rows:
        stub(doc, name, extra_rows)
        cut_line(doc)
    receipt(doc, name)


def return_notice() -> Document:
    doc = new_document()
    name = "辍学生返校通知书"
    notice_head(doc, name)
    notice_body(doc, [
        ["您的孩子{{ student.name }}是" + CLASS + "学生，自{{ case.dropout_date|cn_date }}起一直没有到校上课。"
         "班主任和村（居）委会已多次联系、上门了解情况，孩子至今没有返回学校。"],
        ["依照《中华人民共和国义务教育法》第五条，父母或者其他法定监护人负有保证适龄子女按时入学、"
         "接受并完成义务教育的责任。"],
        ["请您收到本通知后，于{{ issuer.deadline|cn_date }}前送{{ student.name }}到{{ issuer.report_to or school.school }}报到，"
         "回到班级继续学习。孩子在学习、生活或家庭经济上有困难的，请告诉学校或村（居）委会，我们会尽力帮助解决。"],
        ["逾期仍未返校的，乡镇人民政府将依法督促监护人履行义务。"],
    ])
    contact_line(doc)
    issuer_block(doc)
    stub_receipt_page(doc, name, [
        ["辍学时间", "{{ case.dropout_date|cn_date }}", "返校期限", "{{ issuer.deadline|cn_date }}前"],
    ])
    return doc


def compel_notice() -> Document:
    doc = new_document()
    name = "{{ issuer.title or form_title }}"
    notice_head(doc, name)
    notice_body(doc, [
        ["你的子女（被监护人）{{ student.name }}原是" + CLASS + "学生，自{{ case.dropout_date|cn_date }}起辍学。"
         "{{ case.attempts[0].date|cn_date }}和{{ case.attempts[1].date|cn_date }}，我们两次组织人员上门劝返，"
         "{{ student.name }}至今仍未回到学校。"],
        ["《中华人民共和国义务教育法》第五条规定了监护人保证适龄子女入学并完成义务教育的责任；依照该法第五十八条，"
         "监护人无正当理由不送适龄子女入学接受义务教育的，由乡镇人民政府或者县级人民政府教育行政部门批评教育，并责令限期改正。"],
        ["现责令你于{{ issuer.deadline|cn_date }}前，将{{ student.name }}送到{{ issuer.report_to or school.school }}办理复学手续。"
         "孩子返校确有困难的，请在期限届满前向我们说明，我们将按照政策给予帮助。"],
        ["逾期仍不履行的，我们将会同有关部门依法进一步处理。"],
    ])
    contact_line(doc)
    issuer_block(doc)
    stub_receipt_page(doc, name, [
        ["第一次劝返", "{{ case.attempts[0].date|cn_date }}", "第二次劝返", "{{ case.attempts[1].date|cn_date }}"],
        ["辍学时间", "{{ case.dropout_date|cn_date }}", "复学期限", "{{ issuer.deadline|cn_date }}前"],
    ])
    return doc


def deadline_notice() -> Document:
    doc = new_document()
    name = "限期入学（复学）通知书"
    notice_head(doc, name)
    notice_body(doc, [
        ["{% if case.category == '适龄未入学' %}您的孩子{{ student.name }}（{{ student.birth_date|cn_date }}出生）已到入学年龄，"
         "至今没有到学校报名入学。"
         "{% elif case.category == '开学未报名' %}本学期已经开学，您的孩子{{ student.name }}（原" + CLASS + "学生）至今没有到校报名注册。"
         "{% elif case.category == '小学毕业未升入初中' %}您的孩子{{ student.name }}已在{{ school.school }}读完小学，至今没有到初中学校报到入学。"
         "{% else %}您的孩子{{ student.name }}（原" + CLASS + "学生）自{{ case.dropout_date|cn_date }}起没有到校上课。{% endif %}"],
        ["依照《中华人民共和国义务教育法》第五条，父母或者其他法定监护人应当保证适龄子女按时入学，接受并完成义务教育。"],
        ["请您于{{ issuer.deadline|cn_date }}前，带孩子到{{ issuer.report_to or school.school }}办理"
         "{{ enrol_action }}手续。"
         "有困难的，请及时与学校联系，学校和政府将帮助解决。逾期不办理的，将依照该法第五十八条由乡镇人民政府责令限期改正。"],
    ])
    contact_line(doc)
    issuer_block(doc)
    stub_receipt_page(doc, name, [
        ["对象类别", "{{ case.category }}", "报到期限", "{{ issuer.deadline|cn_date }}前"],
    ])
    return doc


# --- pledges ---------------------------------------------------------------------------
def numbered(doc, heading: str, items: list[str], *, keep: bool = False) -> None:
    para(doc, [(heading, "h")], indent=True, line=GB_LINE, keep_next=True)
    for i, text in enumerate(items, 1):
        para(doc, [f"{i}. {text}"], line=GB_LINE, keep_next=keep)


def signatures(doc, rows: list[list[str]]) -> None:
    """The two-party signature block: all signature slots empty, kept on the page of the last clause."""
    para(doc, [""], line=GB_LINE * 0.6, keep_next=True)
    grid(doc, [7.8, 7.8], rows, size=14, align_left=(0, 1), borders=False, keep_together=True,
         heights={i: 1.15 for i in range(len(rows))})


def pledge_teacher() -> Document:
    doc = new_document()
    title(doc, "控辍保学目标责任书", line=GB_LINE * 1.5)
    para(doc, ["（{{ school_year }}学年）"], align="center", indent=False, line=GB_LINE)
    para(doc, ["甲方：{{ school.school }}"], indent=False, line=GB_LINE)
    para(doc, ["　　　校长：{{ principal|blank(4) }}"], indent=False, line=GB_LINE)
    para(doc, ["乙方：{{ teacher }}（{{ school.grade }}{{ school.class_name }}班主任）"], indent=False, line=GB_LINE)
    para(doc, ["为落实控辍保学责任，保证本班每一名学生都能完成义务教育，甲乙双方商定签订本责任书。"], line=GB_LINE)
    numbered(doc, "一、工作目标", [
        "本学年本班在籍学生{{ enrolled }}人。年度辍学率控制在{{ '%g'|format(dropout_rate_max) }}%以内，"
        "巩固率不低于{{ '%g'|format(retention_min) }}%。班级辍学率超过1%的，年度考核实行一票否决。",
        "学生到校情况当天掌握，辍学苗头早发现、早报告、早劝返。",
    ])
    numbered(doc, "二、乙方职责", [
        "每天清点学生到校情况；学生未到校的，当天联系家长，查明原因并记录。",
        "学生连续缺课的，及时家访并填写家访记录；家访一周仍未返校的，填写《辍学报告单》报学校。",
        "建立学习困难、留守、建档立卡家庭等重点学生名册，落实结对帮扶和心理疏导。",
        "配合学校、乡镇人民政府和村（居）委会开展劝返，如实填写辍学生台账，按月更新。",
        "与本班每位学生的家长签订控辍保学责任书，宣传《中华人民共和国义务教育法》。",
    ])
    numbered(doc, "三、甲方职责", [
        "为乙方开展家访、劝返提供时间、交通和经费保障。",
        "收到乙方的辍学报告后当即报告乡镇人民政府（街道办事处），并组织劝返。",
        "落实资助政策，优先帮扶建档立卡家庭和家庭人均收入低于当地平均水平的学生。",
    ])
    # Clause 四 travels with 五 and the signatures, so no page ever holds the signatures alone.
    numbered(doc, "四、考核与奖惩", [
        "目标完成情况纳入乙方年度考核、评优评先和绩效工资分配。",
        "因工作不到位造成学生辍学，或发现辍学未按规定报告的，取消乙方当年评优资格，并依规追究责任。",
    ], keep=True)
    para(doc, ["五、本责任书一式两份，甲乙双方各执一份，自签订之日起至本学年结束时有效。"], line=GB_LINE, keep_next=True)
    signatures(doc, [
        ["甲方（盖章）：", "乙方（签字）："],
        ["校长（签字）：", "联系电话："],
        ["日期：{{ sign_date|cn_date|blank(6) }}", "日期：{{ sign_date|cn_date|blank(6) }}"],
    ])
    return doc


def pledge_parent() -> Document:
    doc = new_document()
    title(doc, "控辍保学责任书", line=GB_LINE * 1.5)
    para(doc, ["（学校—家长　{{ school_year }}学年）"], align="center", indent=False, line=GB_LINE)
    para(doc, ["甲方：{{ school.school }}（班主任：{{ teacher|blank(4) }}）"], indent=False, line=GB_LINE)
    para(doc, ["乙方：{{ guardian.name }}（" + CLASS + "学生{{ student.name }}的{{ guardian.relation|blank(2) }}）"],
         indent=False, line=GB_LINE)
    para(doc, ["孩子完成九年义务教育，需要学校和家庭共同负责。为保证{{ student.name }}按时到校、完成学业，双方约定如下。"],
         line=GB_LINE)
    numbered(doc, "一、乙方（监护人）的责任", [
        "依照《中华人民共和国义务教育法》第五条，保证孩子按时入学、接受并完成义务教育；不让孩子辍学、外出打工，不为未成年子女办理婚事。",
        "孩子因病因事不能到校的，当天向班主任请假；孩子有厌学、情绪异常等情况的，及时告知学校。",
        "关心孩子的学习和身心健康，参加家长会，与班主任保持联系。",
        "家长外出务工的，委托有监护能力的亲属照管孩子，并把委托人姓名和电话告诉班主任。",
    ])
    numbered(doc, "二、甲方（学校）的责任", [
        "关爱每一名学生，因材施教，不因成绩等原因歧视、劝退学生。",
        "学生未到校的，当天联系家长；学生连续缺课的，及时家访。",
        "按政策落实资助和帮扶，对家庭经济困难学生优先给予帮助。",
    ])
    numbered(doc, "三、其他", [
        "监护人无正当理由不送适龄子女入学接受义务教育的，依照《中华人民共和国义务教育法》第五十八条，"
        "由乡镇人民政府或者县级人民政府教育行政部门批评教育，责令限期改正。",
        "本责任书一式两份，双方各执一份。",
    ], keep=True)
    signatures(doc, [
        ["甲方（盖章）：", "乙方（签字）："],
        ["班主任（签字）：", "联系电话：{{ guardian.phone|blank(7) }}"],
        ["日期：{{ sign_date|cn_date|blank(6) }}", "日期：{{ sign_date|cn_date|blank(6) }}"],
    ])
    return doc


def home_visit() -> Document:
    doc = new_document(top=2.2, bottom=1.8, line_grid=None)
    title(doc, "家访记录表", after=6, line=30)
    para(doc, ["学校：{{ school.school }}　　　　年级班级：{{ school.grade }}{{ school.class_name }}"],
         size=TABLE, align="plain", indent=False, line=18, after=4)
    grid(doc, [2.3, 3.6, 1.7, 2.8, 2.0, 3.2], [
        ["学生姓名", "{{ student.name }}", "性　别", "{{ student.sex }}", "出生日期", "{{ student.birth_date|cn_date }}"],
        ["监护人", "{{ guardian.name }}", "关　系", "{{ guardian.relation }}", "联系电话", "{{ guardian.phone }}"],
        ["家庭住址", "{{ guardian.address }}", None, None, None, None],
    ], size=TABLE, label_cols=(0, 2, 4), line=16, heights={0: 0.9, 1: 0.9, 2: 0.9})
    para(doc, [("家访经过（每次家访一行）", "h")], size=TABLE, align="plain", indent=False, line=18, before=6, after=2)
    # One table row per recorded visit: docxtpl's {%tr %} repeats the middle row.
    # 3.2 cm: LibreOffice and Word add a quarter-em between CJK and digits, so 2024年10月29日
    # needs about 3 cm at 10 pt.
    grid(doc, [3.2, 2.9, 4.75, 4.75], [
        [("家访时间", "h"), ("家访人员" + BR + "接待人", "h"), ("家庭情况和缺课原因", "h"), ("家访结果和下一步措施", "h")],
        ["{%tr for v in visits %}", None, None, None],
        ["{{ v.date|cn_date }}", "{{ v.visitors }}" + BR + "{{ v.met }}",
         "{{ v.situation }}{{ v.reason }}", "{{ v.result }}{{ v.next_step }}"],
        ["{%tr endfor %}", None, None, None],
    ], size=10, align_left=(2, 3), line=13, heights={0: 0.9, 2: 1.4}, header_row=True)
    para(doc, [""], size=TABLE, line=18)
    para(doc, ["家访人（签字）：　　　　　　监护人（签字）：　　　　　　日期：　　年　　月　　日"],
         size=TABLE, align="plain", indent=False, line=22, before=6)
    para(doc, ["说明：每次家访后当天填写；家访一周仍未返校的，另填《辍学报告单》报学校。本表由班主任保存，学校备查。"],
         size=9, align="plain", indent=False, line=14, before=4)
    return doc


def monthly_report() -> Document:
    doc = new_document()
    title(doc, "控辍保学工作月报", line=GB_LINE * 1.5)
    para(doc, ["（{{ month }}）"], align="center", indent=False, line=GB_LINE)
    para(doc, ["填报单位：{{ area }}（盖章）　　报送日期：{{ report_date|cn_date|blank(6) }}"], size=14,
         align="plain", indent=False, line=GB_LINE)
    para(doc, ["{{ area }}辍学生台账现共登记案例{{ totals.cases }}人：已劝返复学{{ totals.returned }}人"
               "（其中已消帐{{ totals.closed }}人），因休学、转学等其他去向{{ totals.other }}人，仍未返校{{ totals.out }}人；"
               "建档立卡贫困家庭学生{{ totals.poverty }}人。"], line=GB_LINE)
    para(doc, ["本月新增辍学（失学）{{ new }}人，本月劝返复学{{ returned_this_month }}人，"
               "月末仍未返校{{ out_at_end }}人。仍未返校的学生已逐一落实劝返责任人，名单见汇总表“明细”工作表。"],
         line=GB_LINE)
    para(doc, [("各校情况", "h")], indent=False, line=GB_LINE, keep_next=True)
    grid(doc, [4.2, 1.8, 1.8, 2.1, 1.9, 1.9, 1.9], [
        [("学校", "h"), ("案例数", "h"), ("已复学", "h"), ("其中：" + BR + "已消帐", "h"), ("其他去向", "h"),
         ("仍未返校", "h"), ("建档立卡", "h")],
        ["{%tr for s in schools %}", None, None, None, None, None, None],
        ["{{ s.school }}", "{{ s.cases }}", "{{ s.returned }}", "{{ s.closed }}", "{{ s.other }}", "{{ s.out }}",
         "{{ s.poverty }}"],
        ["{%tr endfor %}", None, None, None, None, None, None],
        ["合计", "{{ totals.cases }}", "{{ totals.returned }}", "{{ totals.closed }}", "{{ totals.other }}",
         "{{ totals.out }}", "{{ totals.poverty }}"],
    ], size=TABLE, label_cols=(), line=16, heights={0: 1.0, 2: 0.8, 4: 0.8}, header_row=True)
    para(doc, ["注：案例数＝已复学＋其他去向＋仍未返校；“其中：已消帐”已含在已复学内，建档立卡学生已含在案例数内。"],
         size=TABLE, align="plain", indent=False, line=16, before=3)
    para(doc, ["填报人：{{ contact|blank(4) }}　　联系电话：{{ contact_phone|blank(7) }}"], size=14,
         align="plain", indent=False, line=GB_LINE, before=8)
    para(doc, ["审核人（签字）："], size=14, align="plain", indent=False, line=GB_LINE)
    return doc


BUILDERS = {
    "dropout-report": dropout_report,
    "return-notice": return_notice,
    "compel-notice": compel_notice,
    "deadline-notice": deadline_notice,
    "pledge-teacher": pledge_teacher,
    "pledge-parent": pledge_parent,
    "home-visit": home_visit,
    "monthly-report": monthly_report,
}


def build_xlsx() -> None:
    sys.path.insert(0, str(OUT.parents[1] / "src"))
    from formkit.ledger.workbook import build_ledger_template

    target = OUT.parent / "xlsx" / "ledger.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    build_ledger_template().save(str(target))
    print(f"wrote {target.relative_to(OUT.parents[1])}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        path = OUT / f"{name}.docx"
        doc = build()
        doc.core_properties.author = "formkit"
        doc.core_properties.title = name
        doc.save(str(path))
        print(f"wrote {path.relative_to(OUT.parents[1])}")
    build_xlsx()
    return 0


if __name__ == "__main__":
    sys.exit(main())
