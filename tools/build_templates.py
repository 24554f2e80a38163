"""Regenerate the Word templates in templates/docx/ from code.

Run ``python tools/build_templates.py`` after changing a wording or a layout, then
render every form (``make look``) and look at the PNGs. The .docx files are committed so
that clerks and counties can open, review and restyle them in Word or WPS.

Typography follows GB/T 9704 loosely: A4, title in a bold song/hei face, body in
fangsong at 16 pt (三号) for notices, issuer and date bottom right.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

OUT = Path(__file__).resolve().parents[1] / "templates" / "docx"

FANGSONG = "仿宋"
SONG = "宋体"
HEI = "黑体"
LATIN = "Times New Roman"

Run = str | tuple[str, str]


def set_font(run, east: str = FANGSONG, size: float = 16, bold: bool = False, underline: bool = False) -> None:
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


def new_document(top: float = 2.0, bottom: float = 1.8, left: float = 2.4, right: float = 2.2, landscape: bool = False):
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    section.left_margin, section.right_margin = Cm(left), Cm(right)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.font.size = Pt(16)
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
    return doc


def para(container, runs: list[Run] | str, *, size: float = 16, align: str = "left", indent: bool = True,
         bold: bool = False, east: str = FANGSONG, line: float | None = None, before: float = 0, after: float = 0):
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = {"left": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                     "right": WD_ALIGN_PARAGRAPH.RIGHT, "plain": WD_ALIGN_PARAGRAPH.LEFT}[align]
    if indent and align == "left":
        fmt.first_line_indent = Pt(size * 2)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line if line else size * 1.6)
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    for item in [runs] if isinstance(runs, str) else runs:
        text, style = (item, "") if isinstance(item, str) else item
        run = p.add_run(text)
        set_font(run, HEI if "h" in style else east, size, bold=bold or "b" in style, underline="u" in style)
    return p


def title(doc, text: str, *, size: float = 22, after: float = 6, before: float = 0) -> None:
    para(doc, [text], size=size, align="center", indent=False, bold=True, east=SONG, line=size * 1.5,
         before=before, after=after)


def cut_line(doc, label: str = "沿 此 线 剪 开") -> None:
    dashes = "-" * 34
    para(doc, [f"{dashes} {label} {dashes}"], size=9, align="center", indent=False, line=14, before=4, after=4)


def page_break(doc) -> None:
    p = doc.add_paragraph()
    run = p.add_run()
    br = OxmlElement("w:br")
    br.set(qn("w:type"), "page")
    run._element.append(br)


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


def grid(doc, widths_cm: list[float], rows: list[list[Run | list[Run] | None]], *, size: float = 12,
         heights: dict[int, float] | None = None, label_cols: tuple[int, ...] = (), align_left: tuple[int, ...] = (),
         borders: bool = True):
    """A bordered form table. A ``None`` cell merges into its left neighbour."""
    table = doc.add_table(rows=len(rows), cols=len(widths_cm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    if borders:
        set_borders(table)
    for r, row in enumerate(rows):
        tr = table.rows[r]
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
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
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


def signature(doc, lines: list[list[Run]], size: float = 16) -> None:
    for runs in lines:
        para(doc, runs, size=size, align="right", indent=False)


CLASS = "{{ school.school }}{{ school.grade }}{{ school.class_name }}"


# --- 辍学报告单 --------------------------------------------------------------------------
def dropout_report() -> Document:
    doc = new_document(top=2.0, bottom=1.6, left=2.0, right=2.0)
    title(doc, "辍 学 报 告 单", after=4)
    para(doc, ["学校（盖章）：{{ school.school }}　　　　填报日期：{{ report_date|cn_date|blank(6) }}"],
         size=12, align="plain", indent=False, line=22, after=4)
    w = [2.9, 3.0, 2.1, 4.4, 2.1, 2.5]
    grid(doc, w, [
        ["学生姓名", "{{ student.name }}", "性　别", "{{ student.sex }}", "民　族", "{{ student.ethnicity }}"],
        ["出生日期", "{{ student.birth_date|cn_date }}", "身份证号", "{{ student.id_number }}", None, None],
        ["学籍号", "{{ student.xjh }}", None, "年级班级", "{{ school.grade }}{{ school.class_name }}", None],
        ["监护人", "{{ guardian.name }}", "关　系", "{{ guardian.relation }}", "联系电话", "{{ guardian.phone }}"],
        ["家庭住址", "{{ guardian.address }}", None, None, None, None],
        ["开始缺课时间", "{{ case.dropout_date|cn_date }}", "建档立卡", "{{ case.poverty|checked(true) }}是　{{ case.poverty|checked(false) }}否",
         "是否残疾", "{{ case.disability|checked(true) }}是 {{ case.disability|checked(false) }}否"],
        ["家访情况", ["{% for v in visits %}{{ v.date|cn_date }}　{{ v.visitors }}家访，{{ v.result }}；{% else %}（未记录）{% endfor %}"],
         None, None, None, None],
        ["辍学原因", ["{% for r in reasons %}{{ case.reason|checked(r) }}{{ r }}　{% endfor %}"], None, None, None, None],
        ["班主任报告", ["该生自{{ case.dropout_date|cn_date }}起未到校，经家访一周以上仍未返校，现按规定报告。\n"
                     "班主任（签字）：{{ teacher }}　　联系电话：{{ teacher_phone }}　　{{ report_date|cn_date|blank(6) }}"],
         None, None, None, None],
        ["学校意见", ["{{ school_opinion|blank(12) }}\n\n负责人（签字）：　　　　　　　（盖章）　　　　年　　月　　日"],
         None, None, None, None],
        ["乡镇（街道）\n接收情况", ["已收到本报告。\n\n接收人（签字）：　　　　　　　　　　　　　　　　年　　月　　日"],
         None, None, None, None],
    ], size=12, label_cols=(0,), heights={0: 1.1, 1: 1.1, 2: 1.1, 3: 1.1, 4: 1.1, 5: 1.1, 6: 2.6, 7: 3.0, 8: 2.6, 9: 3.0, 10: 2.4})
    para(doc, ["说明：学生无故缺课，班主任应当日联系家长并家访；家访一周仍未返校的，填写本表报学校，"
               "学校当即报乡镇人民政府（街道办事处）。本表一式三份，班主任、学校、乡镇各留一份。"],
         size=10.5, align="left", indent=False, line=16, before=6)
    return doc


# --- notices: stub, notice, receipt ----------------------------------------------------
def stub(doc, name: str, extra_rows: list[list[Run | list[Run] | None]]) -> None:
    para(doc, [f"{name}（存根）"], size=14, align="center", indent=False, bold=True, east=SONG, line=22)
    para(doc, ["{{ issuer.doc_number }}"], size=10.5, align="right", indent=False, line=16)
    grid(doc, [2.4, 5.0, 2.4, 6.8], [
        ["学生姓名", "{{ student.name }}", "学校班级", CLASS],
        ["监护人", "{{ guardian.name }}（{{ guardian.relation }}）", "联系电话", "{{ guardian.phone }}"],
        *extra_rows,
        ["发文单位", "{{ issuer.body }}", "发文日期", "{{ issuer.issue_date|cn_date }}"],
    ], size=10.5, label_cols=(0, 2))


def receipt(doc, name: str) -> None:
    para(doc, ["回　执（送达回证）"], size=14, align="center", indent=False, bold=True, east=SONG, line=22)
    grid(doc, [2.4, 5.0, 2.4, 6.8], [
        ["送达文书", [f"《{name}》" + "{{ issuer.doc_number }}"], None, None],
        ["受送达人", "{{ guardian.name }}", "学生姓名", "{{ student.name }}"],
        ["送达地点", "{{ guardian.address }}", None, None],
        ["送达时间", "　　年　　月　　日", "送达人签名", ""],
        ["受送达人\n签名", "", "签收日期", "　　年　　月　　日"],
        ["监护人意见", ["☐ 按期送孩子到校　　☐ 有困难，需要帮助：____________________"], None, None],
    ], size=10.5, label_cols=(0, 2))
    para(doc, ["本回执由受送达人签名后，交回{{ issuer.body }}。受送达人拒绝签收的，由送达人注明情况。"],
         size=9, align="plain", indent=False, line=14, before=2)


def notice_body(doc, paragraphs: list[list[Run]], size: float = 15, line: float = 23) -> None:
    for runs in paragraphs:
        para(doc, runs, size=size, line=line)


def issuer_block(doc, size: float = 15) -> None:
    para(doc, ["{{ issuer.body }}"], size=size, align="right", indent=False, line=23, before=4)
    para(doc, ["{{ issuer.issue_date|cn_date }}"], size=size, align="right", indent=False, line=23)


def return_notice() -> Document:
    doc = new_document(top=1.2, bottom=1.0, left=2.2, right=2.2)
    name = "辍学生返校通知书"
    stub(doc, name, [["辍学时间", "{{ case.dropout_date|cn_date }}", "返校期限", "{{ issuer.deadline|cn_date }}前"]])
    cut_line(doc)
    title(doc, name, size=20, after=0)
    para(doc, ["{{ issuer.doc_number }}"], size=12, align="center", indent=False, line=20, after=4)
    para(doc, ["{{ guardian.name }}（{{ student.name }}的{{ guardian.relation|blank(2) }}）："], size=15, indent=False, line=23)
    notice_body(doc, [
        ["您的孩子{{ student.name }}是" + CLASS + "学生，自{{ case.dropout_date|cn_date }}起一直没有到校上课。"
         "班主任和村（居）委会已多次联系、上门了解情况，孩子至今没有返回学校。"],
        ["依照《中华人民共和国义务教育法》第五条，父母或者其他法定监护人负有保证适龄子女按时入学、"
         "接受并完成义务教育的责任。让孩子读完九年义务教育，既是孩子的权利，也是每位家长必须履行的义务。"],
        ["请您收到本通知后，于{{ issuer.deadline|cn_date }}前送{{ student.name }}到{{ issuer.report_to or school.school }}报到，"
         "回到班级继续学习。孩子在学习、生活或家庭经济上有困难的，请告诉学校或村（居）委会，我们会尽力帮助解决。"],
        ["逾期仍未返校的，乡镇人民政府将依法督促监护人履行义务。"],
        ["联系人：{{ issuer.contact|blank(5) }}　　联系电话：{{ issuer.contact_phone|blank(7) }}"],
    ])
    issuer_block(doc)
    cut_line(doc)
    receipt(doc, name)
    return doc


def compel_notice() -> Document:
    doc = new_document(top=1.2, bottom=1.0, left=2.2, right=2.2)
    name = "{{ issuer.title or form_title }}"
    stub(doc, name, [
        ["两次劝返", "{{ case.attempts[0].date|cn_date }}、{{ case.attempts[1].date|cn_date }}", "复学期限", "{{ issuer.deadline|cn_date }}前"],
    ])
    cut_line(doc)
    title(doc, name, size=20, after=0)
    para(doc, ["{{ issuer.doc_number }}"], size=12, align="center", indent=False, line=20, after=4)
    para(doc, ["{{ guardian.name }}（{{ student.name }}的{{ guardian.relation|blank(2) }}）："], size=15, indent=False, line=23)
    notice_body(doc, [
        ["你的子女（被监护人）{{ student.name }}原是" + CLASS + "学生，自{{ case.dropout_date|cn_date }}起辍学。"
         "{{ case.attempts[0].date|cn_date }}和{{ case.attempts[1].date|cn_date }}，我们两次组织人员上门劝返，"
         "{{ student.name }}至今仍未回到学校。"],
        ["《中华人民共和国义务教育法》第五条规定了监护人保证适龄子女入学并完成义务教育的责任；依照该法第五十八条，"
         "监护人无正当理由不送适龄子女入学接受义务教育的，由乡镇人民政府或者县级人民政府教育行政部门批评教育，并责令限期改正。"],
        ["现责令你于{{ issuer.deadline|cn_date }}前，将{{ student.name }}送到{{ issuer.report_to or school.school }}办理复学手续。"
         "孩子返校确有困难的，请在期限届满前向我们说明，我们将按照政策给予帮助。"],
        ["逾期仍不履行的，我们将会同有关部门依法进一步处理，由此产生的法律后果由监护人承担。"],
    ])
    issuer_block(doc)
    cut_line(doc)
    receipt(doc, name)
    return doc


def deadline_notice() -> Document:
    doc = new_document(top=1.8, bottom=1.5, left=2.4, right=2.4)
    name = "限期入学（复学）通知书"
    title(doc, name, size=20, after=0)
    para(doc, ["{{ issuer.doc_number }}"], size=12, align="center", indent=False, line=20, after=6)
    para(doc, ["{{ guardian.name }}（{{ student.name }}的{{ guardian.relation|blank(2) }}）："], size=15, indent=False, line=26)
    notice_body(doc, [
        ["{% if case.category == '适龄未入学' %}您的孩子{{ student.name }}（{{ student.birth_date|cn_date }}出生）已到入学年龄，"
         "至今没有到学校报名入学。"
         "{% elif case.category == '开学未报名' %}本学期已经开学，您的孩子{{ student.name }}（原" + CLASS + "学生）至今没有到校报名注册。"
         "{% elif case.category == '小学毕业未升入初中' %}您的孩子{{ student.name }}已从{{ school.school }}小学毕业，至今没有到初中学校报到入学。"
         "{% else %}您的孩子{{ student.name }}（原" + CLASS + "学生）自{{ case.dropout_date|cn_date }}起没有到校上课。{% endif %}"],
        ["依照《中华人民共和国义务教育法》第五条，父母或者其他法定监护人应当保证适龄子女按时入学，接受并完成义务教育。"],
        ["请您于{{ issuer.deadline|cn_date }}前，带孩子到{{ issuer.report_to or school.school }}办理"
         "{% if case.category in ('适龄未入学', '小学毕业未升入初中') %}入学{% else %}复学{% endif %}手续。"
         "有困难的，请及时与学校联系，学校和政府将帮助解决。逾期不办理的，将依照该法第五十八条由乡镇人民政府责令限期改正。"],
        ["联系人：{{ issuer.contact|blank(5) }}　　联系电话：{{ issuer.contact_phone|blank(7) }}"],
    ], size=15, line=26)
    issuer_block(doc)
    cut_line(doc)
    receipt(doc, name)
    return doc


# --- pledges ---------------------------------------------------------------------------
def numbered(doc, heading: str, items: list[str], size: float = 14, line: float = 22) -> None:
    para(doc, [(heading, "h")], size=size, indent=True, line=line)
    for i, text in enumerate(items, 1):
        para(doc, [f"{i}. {text}"], size=size, line=line)


def pledge_teacher() -> Document:
    doc = new_document(top=2.2, bottom=1.8, left=2.6, right=2.4)
    title(doc, "控辍保学目标责任书", after=0)
    para(doc, ["（{{ school_year }}学年）"], size=14, align="center", indent=False, line=24, after=8)
    para(doc, ["甲方：{{ school.school }}（校长：{{ principal|blank(4) }}）"], size=14, indent=False, line=24)
    para(doc, ["乙方：{{ teacher }}（{{ school.grade }}{{ school.class_name }}班主任）"], size=14, indent=False, line=24)
    para(doc, ["为落实控辍保学责任，保证本班每一名学生都能完成义务教育，甲乙双方商定签订本责任书。"], size=14, line=24)
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
    numbered(doc, "四、考核与奖惩", [
        "目标完成情况纳入乙方年度考核、评优评先和绩效工资分配。",
        "因工作不到位造成学生辍学，或发现辍学未按规定报告的，取消乙方当年评优资格，并依规追究责任。",
    ])
    para(doc, ["五、本责任书一式两份，甲乙双方各执一份，自签订之日起至本学年结束时有效。"], size=14, line=24)
    para(doc, [""], size=14, line=20)
    grid(doc, [8.0, 8.0], [
        ["甲方（盖章）：", "乙方（签字）："],
        ["校长（签字）：", "联系电话："],
        ["日期：{{ sign_date|cn_date|blank(6) }}", "日期：{{ sign_date|cn_date|blank(6) }}"],
    ], size=14, align_left=(0, 1), borders=False, heights={0: 1.2, 1: 1.2, 2: 1.2})
    return doc


def pledge_parent() -> Document:
    doc = new_document(top=2.2, bottom=1.8, left=2.6, right=2.4)
    title(doc, "控辍保学责任书", after=0)
    para(doc, ["（学校—家长　{{ school_year }}学年）"], size=14, align="center", indent=False, line=24, after=8)
    para(doc, ["甲方：{{ school.school }}"], size=14, indent=False, line=24)
    para(doc, ["乙方：{{ guardian.name }}（" + CLASS + "学生{{ student.name }}的{{ guardian.relation|blank(2) }}）"],
         size=14, indent=False, line=24)
    para(doc, ["孩子完成九年义务教育，需要学校和家庭共同负责。为保证{{ student.name }}按时到校、完成学业，双方约定如下。"],
         size=14, line=24)
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
    ])
    para(doc, [""], size=14, line=20)
    grid(doc, [8.0, 8.0], [
        ["甲方（盖章）：", "乙方（签字）："],
        ["班主任（签字）：{{ teacher|blank(4) }}", "联系电话：{{ guardian.phone|blank(7) }}"],
        ["日期：{{ sign_date|cn_date|blank(6) }}", "日期：{{ sign_date|cn_date|blank(6) }}"],
    ], size=14, align_left=(0, 1), borders=False, heights={0: 1.2, 1: 1.2, 2: 1.2})
    return doc


def home_visit() -> Document:
    doc = new_document(top=2.0, bottom=1.6, left=2.0, right=2.0)
    title(doc, "家 访 记 录 表", after=4)
    para(doc, ["学校：{{ school.school }}　　　　年级班级：{{ school.grade }}{{ school.class_name }}"],
         size=12, align="plain", indent=False, line=22, after=4)
    visit = "{% set visit = visits[-1] %}"
    grid(doc, [2.6, 3.5, 2.1, 2.5, 2.2, 4.1], [
        ["学生姓名", visit + "{{ student.name }}", "性　别", "{{ student.sex }}", "出生日期", "{{ student.birth_date|cn_date }}"],
        ["监护人", "{{ guardian.name }}", "关　系", "{{ guardian.relation }}", "联系电话", "{{ guardian.phone }}"],
        ["家庭住址", "{{ guardian.address }}", None, None, None, None],
        ["家访时间", "{{ visit.date|cn_date }}", "家访人员", "{{ visit.visitors }}", None, None],
        ["接待人", "{{ visit.met }}", None, None, None, None],
        ["家庭情况", "{{ visit.situation }}", None, None, None, None],
        ["缺课原因", "{{ visit.reason }}", None, None, None, None],
        ["家访结果", "{{ visit.result }}", None, None, None, None],
        ["下一步措施", "{{ visit.next_step }}", None, None, None, None],
        ["签　名", "家访人：　　　　　　　　　　家长：", None, None, None, None],
    ], size=12, label_cols=(0,), heights={0: 1.1, 1: 1.1, 2: 1.1, 3: 1.1, 4: 1.1, 5: 3.5, 6: 2.8, 7: 2.8, 8: 2.8, 9: 1.6})
    return doc


def monthly_report() -> Document:
    doc = new_document(top=2.2, bottom=1.8, left=2.4, right=2.2)
    title(doc, "控辍保学工作月报", after=0)
    para(doc, ["（{{ month }}）"], size=14, align="center", indent=False, line=24, after=6)
    para(doc, ["填报单位：{{ area }}　　　　报送日期：{{ report_date|cn_date|blank(6) }}"], size=12, align="plain",
         indent=False, line=22, after=4)
    para(doc, ["{{ area }}辍学生台账现共登记案例{{ totals.cases }}人，其中已劝返复学{{ totals.returned }}人"
               "（已消帐{{ totals.closed }}人），因休学、转学等其他去向{{ totals.other }}人，仍未返校{{ totals.out }}人；"
               "建档立卡贫困家庭学生{{ totals.poverty }}人。"], size=14, line=26)
    para(doc, ["本月新增辍学（失学）{{ new }}人，本月劝返复学{{ returned_this_month }}人，"
               "月末仍未返校{{ out_at_end }}人。仍未返校的学生已逐一落实劝返责任人，名单见汇总表“明细”工作表。"],
         size=14, line=26, after=6)
    para(doc, [("各校情况", "h")], size=14, indent=False, line=24)
    grid(doc, [4.2, 2.0, 2.0, 2.0, 2.1, 2.1, 2.0], [
        [("学校", "h"), ("案例数", "h"), ("已复学", "h"), ("已消帐", "h"), ("其他去向", "h"), ("仍未返校", "h"),
         ("建档立卡", "h")],
        ["{%tr for s in schools %}", None, None, None, None, None, None],
        ["{{ s.school }}", "{{ s.cases }}", "{{ s.returned }}", "{{ s.closed }}", "{{ s.other }}", "{{ s.out }}",
         "{{ s.poverty }}"],
        ["{%tr endfor %}", None, None, None, None, None, None],
        ["合计", "{{ totals.cases }}", "{{ totals.returned }}", "{{ totals.closed }}", "{{ totals.other }}",
         "{{ totals.out }}", "{{ totals.poverty }}"],
    ], size=11, label_cols=())
    para(doc, ["填报人：{{ contact|blank(4) }}　　联系电话：{{ contact_phone|blank(7) }}　　审核人："], size=12,
         align="plain", indent=False, line=22, before=10)
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
    from formkit.xlsx_writer import build_ledger_template

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
