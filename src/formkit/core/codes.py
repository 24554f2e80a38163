"""Every error and finding code formkit uses, declared once.

A code is the stable English name a program can rely on; the Chinese title and meaning are
what a clerk reads in ``docs/error-codes.md`` (generated from this table by
``tools/gen_docs.py``). Three kinds:

* ``error``: raised as a :class:`~formkit.core.errors.FormkitError` (the call stops);
* ``finding``: reported in a report (ledger findings, record problems), with a severity;
* ``lint``: reported by the template linter (``check_template``).

A finding's severity lives here and nowhere else: ``Finding``, ``Problem``, ``RuleProblem``,
``HeaderProblem`` and ``TemplateIssue`` look it up from their code, and every constructor of
those (and of ``FormkitError``/``ValueProblem``) refuses a code that is not registered. The
lookups are single dict reads because the ledger checker creates millions of findings.

``cli_hint`` is for raised errors only: what a command-line user would do about it, naming the
flag (``--force``, ``--skip-invalid``…). Library messages never name flags; the ``formkit``
command appends the hint to the message it prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Kind = Literal["error", "finding", "lint"]
Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class CodeInfo:
    """One registered code: what it is, how serious, what it means to a clerk."""

    code: str
    kind: Kind
    title: str
    """Chinese, a few words."""
    meaning: str
    """Chinese, one sentence: what it means and what to do."""
    severity: Severity = "error"
    """For findings and lint issues; raised errors are always ``error``."""
    cli_hint: str = ""
    """Raised errors only: the command-line way out (names the flag); the CLI appends it."""
    lint: bool = False
    """A raised template error that ``check_template`` also reports as an issue."""


class UnregisteredCodeError(LookupError):
    """A code that is not in the registry: a formkit defect, never the user's."""


def _e(code: str, title: str, meaning: str, cli_hint: str = "", *, lint: bool = False) -> CodeInfo:
    return CodeInfo(code, "error", title, meaning, "error", cli_hint, lint)


def _f(code: str, severity: Severity, title: str, meaning: str) -> CodeInfo:
    return CodeInfo(code, "finding", title, meaning, severity)


def _l(code: str, severity: Severity, title: str, meaning: str) -> CodeInfo:
    return CodeInfo(code, "lint", title, meaning, severity)


_FORCE = "确认要覆盖请加 --force。"

_ALL: tuple[CodeInfo, ...] = (
    # --- raised: the exception classes' own codes (used when a raise names no code) ---
    _e("formkit-error", "formkit 错误", "formkit 拒绝了这次操作；按消息中的说明处理。"),
    _e("usage", "用法有误", "要求的东西不存在或参数写法不对（如不存在的表单、写错的日期）；按消息改正参数。"),
    _e("input-file", "输入文件无法使用", "输入文件无法使用（如枚举文件格式不对）；按消息修正文件。"),
    _e("invalid-record", "记录有误", "一条记录（一个学生的数据）有问题，消息列出了每一项；逐项改正后重试。"),
    _e("invalid-roster", "名单有误", "名单中有数据有误的行，为免漏发，一份文书也没有生成；改正这些行后重试，或选择跳过它们。",
       "加 --skip-invalid 可跳过这些行，只生成其余的文书。"),
    _e("template", "模板有误", "Word 模板有问题；按消息修正模板。"),
    _e("pdf-conversion", "PDF 转换失败", "LibreOffice 无法把文档转换为 PDF；按消息处理后重试。"),
    _e("output", "无法写出", "输出无法写出（如文件名会写到输出文件夹之外）；按消息换一个文件名或位置。"),
    # --- raised: input files ---
    _e("file-missing", "找不到文件", "给出的路径下没有这个文件；检查路径和文件名。"),
    _e("file-type", "文件类型不对", "文件不是所需的类型（如改了扩展名、是文件夹）；用 Excel/WPS/Word 另存为正确的格式。"),
    _e("file-unreadable", "文件无法读取", "操作系统拒绝读取该文件（权限、占用等）；检查文件权限或关闭占用它的程序。"),
    _e("file-empty", "空文件", "文件是 0 字节，多半没有传完；请对方重新导出或重新发送。"),
    _e("file-too-large", "文件过大", "文件、解压后的内容或内部文件个数超过上限（也可能是压缩炸弹）；拆分后再处理。"),
    _e("file-encrypted", "文件有密码", "文件设置了打开密码；在 Excel/WPS 中取消密码后另存。"),
    _e("file-corrupt", "文件已损坏", "文件不完整或已损坏，多半没有传完；请对方重新发送。"),
    _e("file-hostile", "文件含有攻击内容", "文件含有 XML 实体定义等攻击手法，已拒绝；请对方用 Excel/WPS 重新另存。"),
    _e("file-encoding", "文字编码无法识别", "文本文件不是 UTF-8 或 GBK 编码；另存为“CSV UTF-8”或 UTF-8 编码的 JSON。"),
    _e("sheet-missing", "没有这个工作表", "工作簿中没有指定名称的工作表；按消息列出的现有工作表改正名称。",
       "用 --sheet 指定现有的工作表。"),
    _e("no-header", "找不到表头", "前几行没有找到台账或名单的表头；确认文件对，必要时指定工作表或说明哪一列是哪个字段。",
       "可用 --column 表头=字段 说明哪一列是哪个字段；formkit batch 和 ledger check 还可用 --sheet 工作表名 指定工作表。"),
    _e("no-rows", "没有数据行", "名单里只有表头、没有任何记录行；检查是否选错了文件或工作表。"),
    _e("roster-changed", "名单在生成中被修改", "批量生成分两遍读名单（先全部检查、再逐行生成），两遍之间名单被改动，已停止；已生成的文书保留，保存好名单后重新运行。"),
    _e("template-pair", "模板对应写法不对", "县版模板应写成 表单=模板.docx（如 compel-notice=县版.docx）；按例子改正。", "写成 --template 表单=模板.docx，可重复。"),
    _e("config-invalid", "配置文件格式不对", "formkit.toml 不是有效的 TOML，或其中的表格式不对；按消息改正。"),
    _e("csv-invalid", "CSV 无法读取", "CSV 文件某一行无法读取（过长的单元格或不配对的引号）；在 Excel/WPS 中检查该行后另存。"),
    _e("json-invalid", "JSON 无法读取", "JSON 文件格式不对、嵌套过深或数字位数过多；改正或重新导出。"),
    _e("json-shape", "JSON 结构不对", "JSON 的结构不是所需的样子（一条记录应是对象，名单应是对象的数组）；按说明改正。"),
    _e("docx-invalid", "Word 文档无效", "要合并的文件不是有效的 Word 文档（缺少正文）；重新生成该文档。"),
    _e("register", "文号登记簿无法打开", "文号登记簿（SQLite 文件）无法打开或已损坏；换一个位置，或从备份恢复。",
       "可用 --register 指定其他位置的登记簿。"),
    _e("column-pin", "列名说明写法不对", "“表头=字段”的说明写错了，或字段名不存在；按消息列出的字段名改正。",
       "命令行写法：--column 表头=字段，如 --column 家长联系方式=phone。"),
    _e("setting-format", "发文信息写法不对", "发文信息应写成“键=值”；按示例改正。",
       "命令行写法：--set 键=值，如 --set issuer.body=石门镇人民政府。"),
    _e("issuer-missing", "缺少发文信息", "名单和设置都没有给出发文单位或发文日期；在设置或 formkit.toml 的 [issuer] 中写明。",
       "也可以用 --set body=石门镇人民政府 --set issue_date=2024-03-05 给出。"),
    _e("form-not-guessed", "无法判断表单", "无法从模板文件名判断是哪个表单；指定表单名称。", "用 --form 指定表单。"),
    _e("annotate-target", "标注副本位置不对", "标注副本应写到一个文件夹（只检查一个台账时也可以是 .xlsx 文件名），且不能是被检查的台账本身；换一个位置。",
       "用 --annotate 文件夹 指定，如 --annotate 已检查（原台账不会被改写）。"),
    _e("area-ambiguous", "填报单位不唯一", "台账涉及多个乡镇或县，无法确定月报的填报单位；指定填报单位。",
       "用 --area 指定，如 --area 青山县。"),
    _e("area-missing", "没有填报单位", "台账没有填写乡镇(街道)或县(市、区)，无法确定月报的填报单位；指定填报单位。",
       "用 --area 指定，如 --area 石门镇。"),
    # --- raised: uploads on the web page ---
    _e("unsupported-file", "不支持的文件", "上传的文件类型不受支持；按页面提示上传允许的文件类型。"),
    _e("zip-invalid", "压缩包无法解压", "上传的 zip 压缩包已损坏或用了不支持的压缩方式；用标准 ZIP 重新压缩。"),
    _e("zip-empty", "压缩包里没有台账", "压缩包里没有 .xlsx/.xls 文件；检查压缩的是否是台账文件夹。"),
    _e("zip-unsafe-path", "压缩包路径不安全", "压缩包里的路径会解压到别处（如 ../），已拒绝；把台账文件夹重新压缩后上传。"),
    _e("too-many-files", "文件过多", "一次上传的台账超过上限；分批上传。"),
    # --- raised: templates ---
    _e("template-file", "模板不是 Word 文件", "模板不是有效的 .docx（已损坏、被加密或部件编码不对）；在 Word 中另存为 .docx。",
       lint=True),
    _e("template-too-large", "模板过大", "模板文件或其中的部件过大、解压后过大或压缩比异常（压缩炸弹），已拒绝。", lint=True),
    _e("template-macro", "模板含宏", "模板含有 VBA 宏或 ActiveX（如 .docm 改名为 .docx），已拒绝；在 Word 中另存为 .docx。",
       lint=True),
    _e("template-hostile", "模板含攻击内容", "模板的 XML 部件含有 DOCTYPE/ENTITY 声明（XML 炸弹或外部实体），已拒绝。", lint=True),
    _e("template-external", "模板引用外部内容", "模板含有指向外部的链接（链接的图片、网址/UNC 超链接、OLE 对象、远程模板、"
       "INCLUDEPICTURE 等域），已拒绝；删除这些链接。", lint=True),
    _e("template-syntax", "模板标签语法错误", "模板的标签有语法错误（如 {% if %} 没有 {% endif %}）；按消息中的位置改正。"),
    _e("template-undefined", "模板缺少数据", "模板用到的变量在这条记录里不存在；改正模板中的变量名，或补上数据。"),
    _e("template-unsafe", "模板操作不允许", "模板试图做不允许的操作（调用方法、读取内部属性、包含其他文件等），已拒绝。", lint=True),
    _e("template-runaway", "模板嵌套过深", "模板的标签或表达式嵌套过深或无限递归，已停止；简化模板。", lint=True),
    _e("template-render", "模板渲染失败", "模板渲染时出错；按消息改正模板中的标签。"),
    _e("template-timeout", "模板渲染超时", "一份文档渲染超过时限（多半是模板中有过大的循环），已停止；简化模板。"),
    # --- raised: PDF ---
    _e("soffice-missing", "找不到 LibreOffice", "生成 PDF 需要 LibreOffice，但找不到它；安装 LibreOffice，或只生成 .docx。"),
    _e("uno-missing", "缺少 uno 接口", "找不到 LibreOffice 的 Python 接口（uno）；安装 python3-uno 或改用逐个转换。"),
    _e("soffice-start", "LibreOffice 无法启动", "LibreOffice 无法启动或连接；关闭残留的 LibreOffice 进程后重试。"),
    _e("pdf-failed", "PDF 转换失败", "LibreOffice 没有生成 PDF；检查该文档能否在 Word/WPS 中打开，再重试。"),
    _e("pdf-timeout", "PDF 转换超时", "LibreOffice 转换超时；减少一次转换的文档数或稍后重试。"),
    # --- raised: outputs ---
    _e("output-exists", "输出文件已存在", "要写的文件已经存在，为免覆盖已填写或修改过的内容没有写出；换一个位置，或确认后允许覆盖。",
       _FORCE),
    _e("output-edited", "输出文件已被修改", "要覆盖的文件不是 formkit 上次写出的样子（可能有人修改过），没有写出；换一个位置，或确认后允许覆盖。",
       "确认后加 --force 覆盖，或换一个文件夹。"),
    _e("output-write", "无法写出", "操作系统拒绝写入输出文件；检查文件夹是否存在、可写，磁盘是否已满。"),
    _e("output-no-space", "磁盘空间不足", "磁盘已满或超出配额；清理磁盘空间或换一个输出位置。"),
    _e("output-read-only", "磁盘只读", "输出位置所在的磁盘是只读的；换一个输出文件夹。"),
    _e("output-permission", "没有写权限", "没有权限写入输出位置；换一个有写权限的文件夹，或请管理员开放权限。"),
    _e("output-not-folder", "路径不是文件夹", "输出路径中有一项是文件而不是文件夹；换一个输出位置。"),
    _e("output-is-folder", "同名文件夹已存在", "要写的文件名已被一个文件夹占用；换一个文件名。"),
    _e("output-symlink", "输出是符号链接", "输出位置是符号链接（快捷方式），为安全起见不写入；删除该链接后重试。"),
    _e("output-name-too-long", "路径太长", "文件名或路径太长，无法写入；换一个较短的输出路径。"),
    _e("output-locked", "输出正被占用", "另一个任务正在写同一个输出文件夹；等它结束，或确认没有任务在运行后删除锁文件。"),
    # --- findings: one value ---
    _f("required", "error", "必填项为空", "必填的格子或字段是空的（公式、#N/A 等错误值也按空白处理）；补填实际内容。"),
    _f("id-format", "error", "身份证号格式不对", "身份证号不是18位（17位数字加1位数字或X）；对照户口簿重新录入。"),
    _f("id-checksum", "error", "身份证号校验不通过", "身份证号最后一位校验码算不对，说明有数字录错；逐位核对。"),
    _f("id-birthdate", "error", "身份证号出生日期不对", "身份证号第7-14位不是真实日期，或晚于今天；核对原件。"),
    _f("id-precision-lost", "error", "身份证号末位丢失",
       "身份证号被 Excel 当成数字存储，末几位已变成0，无法恢复；把列设为文本格式后按原件重新录入。"),
    _f("xjh-format", "error", "学籍号格式不对", "全国学籍号不是 G/J/L 开头的19位，或校验不通过；从学籍系统复制。"),
    _f("phone-format", "error", "电话格式不对", "电话不是11位手机号，也不是带区号的固定电话；核对后重新填写。"),
    _f("date-format", "error", "日期看不懂", "日期看不懂或不存在（如2月30日）；写成2024-03-05或2024年3月5日。"),
    _f("date-future", "error", "日期晚于检查日期", "日期晚于检查日期，多半是年份写错；核对年份。"),
    _f("enum", "error", "不是规定的选项", "不是规定的选项（辍学原因、劝返状态、安置方式等）；按提示从下拉列表选择最接近的值。"),
    _f("number-format", "error", "数字格式不对", "应填整数（如劝返次数）或百分数的地方填了别的内容；填写阿拉伯数字。"),
    _f("type", "error", "格式不对", "该项的类型不对（如应是文字却是列表）；按字段说明填写。"),
    _f("unknown-field", "error", "不认识的字段", "记录中有表单没有的一项，多半是列名或键名写错；对照表单字段说明改正。"),
    _f("invalid-character", "error", "无法识别的字符", "值中含有无法识别的字符，多为复制或编码出错；重新输入该项。"),
    # --- findings: one case (the rules) ---
    _f("id-sex-mismatch", "error", "性别与身份证号不符", "性别与身份证号第17位（单数男、双数女）不符；核对性别或身份证号。"),
    _f("id-birth-mismatch", "error", "出生日期与身份证号不符", "出生日期与身份证号中的出生日期不符（只写到月时按月比较）；核对。"),
    _f("xjh-mismatch", "warning", "学籍号与身份证号不一致",
       "G字头学籍号与本人身份证号不一致，或学籍号中的出生日期不同；身份证号变更过属正常，请在备注说明。"),
    _f("age-range", "warning", "不在义务教育年龄", "辍学时不在6-16岁的义务教育年龄内；核对出生日期和辍学时间。"),
    _f("date-order", "error", "日期先后不对",
       "劝返、复学、下达通知书早于辍学，第二次劝返早于第一次，敦返通知书早于第二次劝返，消帐早于复学，或返校期限早于发文日期；核对日期。"),
    _f("attempt-count", "error", "劝返次数不符", "劝返次数与填写的劝返时间个数不符；核对次数或补填时间。"),
    _f("status-incomplete", "error", "劝返状态缺内容",
       "劝返状态要求的内容没填：已复学要填复学时间和安置方式，已消帐还要填消帐时间，休学、转学等要在备注写明。"),
    _f("compel-flag-conflict", "error", "下达标记与时间矛盾",
       "“是否下达敦返通知书”填“否”，却填了通知书下达时间；已下达就改为“是”，未下达就清空下达时间。"),
    _f("compel-notice-due", "warning", "应下达敦返通知书", "两次劝返无效仍未下达敦返复学通知书；由乡镇人民政府下达并填写下达时间。"),
    _f("poverty-closed", "warning", "贫困户学生未说明",
       "建档立卡贫困户学生被标为“无法劝返”但没有说明；这类学生必须劝返，在备注写明原因和帮扶措施。"),
    _f("contradiction", "error", "文书与记录矛盾", "记录与要生成的文书相互矛盾（如状态已复学却要发劝返通知）；核对记录或换一种文书。"),
    # --- findings: the ledger as a whole ---
    _f("duplicate-id", "error", "身份证号重复", "同一身份证号在本表或其他学校的台账中出现了不止一次；核实后只保留一条。"),
    _f("seq-gap", "warning", "序号不连续", "序号与上一行不连续；重新编号。"),
    _f("school-mismatch", "warning", "学校与填报学校不一致", "本行学校与表头“填报学校”不一致；确认该生是否属于本校。"),
    _f("header-missing", "error", "缺少必填列", "缺少必填的列；按台账模板补上这一列（可用常见的列名写法）。"),
    _f("header-ambiguous", "error", "两列无法区分",
       "两列同样像是同一个字段（如“联系电话”和“家长电话”），无法确定检查哪一列；删去或改名多余的列，或在 formkit.toml 的 [columns] 中写明。"),
    _f("header-preferred", "warning", "两列像同一字段",
       "两列都像是同一个字段，已按更贴切的一列检查；确认无误，或删去、改名多余的列。"),
    _f("header-unknown", "info", "非标准列",
       "这些列不是台账的标准列，保留但不检查，不计入错误和提醒；需要检查时在 formkit.toml 的 [columns] 中写明 \"表头\" = \"字段\"。"),
    # --- lint: template check ---
    _l("jinja-syntax", "error", "标签语法错误", "标签语法错误（如 {% if %} 没有 {% endif %}、过滤器名写错）；按提示的段落改正。"),
    _l("unknown-variable", "error", "变量不存在", "模板用到的变量在表单数据里不存在，提示中给出最接近的字段名；改正变量名。"),
    _l("tag-split-paragraph", "error", "标签跨段", "一个标签被回车拆到了两段里，或少了一半括号；把整个标签放在同一段重新输入。"),
    _l("tag-fullwidth", "error", "全角括号", "标签用了全角括号“｛ ｝”；切换到英文输入法重新输入。"),
    _l("tag-malformed", "error", "括号间有空格", "括号之间有空格（“{ {”），不会被当作标签；删去空格。"),
    _l("tag-broken-runs", "error", "标签被拆开",
       "标签被拆开或夹有看不见的字符（从微信、网页复制时带入），模板引擎看不到；删掉整个标签重新输入。"),
    _l("unused-field", "info", "未用到的字段", "模板没有用到的字段，仅供参考，不是错误。"),
    _l("unsafe-call", "error", "调用方法", "模板调用了方法或函数（如 student.parse_raw(…)），模板只能读取数据；删掉调用。"),
    _l("unsafe-attr", "error", "访问内部属性",
       "模板用了 attr/safe/urlize/xmlattr 过滤器或以下划线开头的内部属性（如 __class__），渲染时会被拒绝；删掉它。"),
    _l("unsafe-include", "error", "包含其他文件", "模板用了 include、import 或 extends，试图读取其他文件，渲染时会被拒绝；删掉它。"),
    _l("unsafe-macro", "error", "使用宏", "模板定义或调用了宏（macro、call），渲染时会被拒绝；删掉它。"),
    _l("unsafe-block", "error", "块语句",
       "模板用了块赋值 {% set x %}…{% endset %}、{% filter %} 或 {% block %}，渲染时会被拒绝；删掉它。"),
    _l("unsafe-autoescape", "error", "关闭转义", "模板用 {% autoescape %} 关闭了转义，渲染时会被拒绝；删掉它。"),
    _l("unsafe-recursive", "error", "递归循环", "模板用了递归循环（for … recursive），渲染时会被拒绝；删掉它。"),
    _l("unsafe-size", "error", "过大的常量",
       "模板写了会生成几百万字符的常量参数（如 center(200000000)、'x' * 10**9），渲染时会被拒绝；改小它。"),
)

CODES: Mapping[str, CodeInfo] = MappingProxyType({c.code: c for c in _ALL})
"""Every registered code → its :class:`CodeInfo`, in the order declared."""

_SEVERITY: dict[str, str] = {c.code: c.severity for c in _ALL}


def _unregistered(code: object) -> UnregisteredCodeError:
    return UnregisteredCodeError(f"code {code!r} is not registered in formkit.core.codes")


def require(code: str) -> str:
    """``code`` itself when registered; :class:`UnregisteredCodeError` otherwise."""
    if code not in _SEVERITY:
        raise _unregistered(code)
    return code


def severity(code: str) -> str:
    """The registered severity of ``code`` (the only place a finding's severity comes from)."""
    try:
        return _SEVERITY[code]
    except KeyError:
        raise _unregistered(code) from None


def code_info(code: str) -> CodeInfo:
    """The registry entry for ``code`` (title, meaning, severity, CLI hint)."""
    try:
        return CODES[code]
    except KeyError:
        raise _unregistered(code) from None
