"""Small pure validators shared by the models, the roster reader and the ledger checker.

Each validator takes a raw value (as a clerk or a spreadsheet reader hands it over) and
returns the normalised value, or raises :class:`~formkit.core.errors.ValueProblem` with a
stable code and a Chinese message. None of them does I/O.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import mul

from formkit.core.enums import normalize_text
from formkit.core.errors import ValueProblem

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")
_EXCEL_EPOCH = date(1899, 12, 30)
# Excel serials we accept as dates: 1950-01-01 .. 2099-12-31. Wider ranges make ordinary
# numbers (a count, a phone fragment) look like dates.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73050


def mask_id(value: object) -> str:
    """Mask an ID-like value for messages: first 4 and last 4 characters kept."""
    text = normalize_text(value) if value is not None else ""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_phone(value: object) -> str:
    """Mask a phone number for messages: 138****1234."""
    text = normalize_text(value) if value is not None else ""
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7:
        return "*" * len(text)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of an ID number."""
    if len(first17) != len(ID_WEIGHTS):
        raise ValueError(f"id_check_char needs 17 digits, got {len(first17)} characters")
    if first17.isascii() and first17.isdigit():
        # The usual case in one C call (it runs for every ID of a ledger): the weights are
        # 2^17 … 2^1 mod 11 and 13 ≡ 2 (mod 11), so the weighted sum is 2 × (the digits read in base 13).
        return ID_CHECK[2 * int(first17, 13) % 11]
    return ID_CHECK[sum(map(mul, map(int, first17), ID_WEIGHTS)) % 11]


def _today() -> date:
    """``date.today()``, looked up once per second: parse_id asks for every ID of a ledger, and
    the local date of a second is the date of every instant in it."""
    second = int(time.time())
    if second != _TODAY[0]:
        _TODAY[:] = [second, date.fromtimestamp(second)]
    return _TODAY[1]  # type: ignore[return-value]


_TODAY: list[int | date] = [-1, date.min]


def looks_like_float_id(value: object) -> bool:
    """True when ``value`` is an ID that a spreadsheet stored as a number (digits lost)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value >= 1e16
    if isinstance(value, int):
        return value >= 10**16
    return bool(_FLOAT_ID.fullmatch(normalize_text(value)))


_FLOAT_ID = re.compile(r"\d(\.\d+)?[eE]\+?1[67]")


@dataclass(frozen=True, slots=True)  # slots: a large ledger keeps one per row
class IdInfo:
    """What an ID number says about its holder."""

    number: str
    birth_date: date
    sex: str  # 男 / 女


def parse_id(value: object, *, today: date | None = None) -> IdInfo:
    """Validate a 18-character 身份证号 and return it normalised with birth date and sex.

    Codes: ``id-precision-lost`` (stored as a number), ``id-format``, ``id-birthdate``,
    ``id-checksum``.
    """
    # A str is normalised once, for the float test and the number (looks_like_float_id inlined).
    shown = normalize_text(value) if isinstance(value, str) else None
    if (_FLOAT_ID.fullmatch(shown) is not None) if shown is not None else looks_like_float_id(value):
        raise ValueProblem(
            "id-precision-lost",
            "身份证号被表格存成了数字，末几位已经丢失，无法恢复。请把该列设置为“文本”格式后，按原件重新录入。",
            _show_float(value),
        )
    text = (shown if shown is not None else normalize_text(value)).upper().replace(" ", "")
    if type(value) is str and text == value:
        text = value  # the cell's own string: a ledger keeps the case and its cell side by side
    if not _ID_SHAPE.fullmatch(text):
        raise ValueProblem(
            "id-format",
            f"身份证号应为18位（17位数字加1位校验码），现在是{len(text)}个字符。请核对原件。",
            mask_id(text),
        )
    born = _BIRTHS.get(text[6:14])
    if born is None:
        try:
            born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise ValueProblem(
                "id-birthdate", "身份证号第7-14位不是有效的出生日期。请核对原件。", mask_id(text)
            ) from None
        if len(_BIRTHS) < _BIRTHS_KEPT:
            _BIRTHS[text[6:14]] = born
    if born > (today or _today()) or born.year < 1900:
        raise ValueProblem(
            "id-birthdate", "身份证号中的出生日期不合理（晚于今天或早于1900年）。请核对原件。", mask_id(text)
        )
    if id_check_char(text[:17]) != text[17]:
        raise ValueProblem(
            "id-checksum",
            "身份证号校验位不对，说明有数字录错了。请对照户口簿或身份证逐位核对。",
            mask_id(text),
        )
    return IdInfo(text, born, "男" if int(text[16]) % 2 else "女")


_BIRTHS: dict[str, date] = {}
"""Birth dates read from IDs (``20130512`` → the date): a ledger's children share a few thousand."""
_BIRTHS_KEPT = 40_000


def _show_float(value: object) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return mask_id(f"{value:.0f}")
    return mask_id(value)


def normalize_id(value: object) -> str:
    """Validate an ID number and return its normalised text (upper-case X)."""
    return parse_id(value).number


@dataclass(frozen=True, slots=True)
class XjhInfo:
    """A parsed 全国学籍号."""

    number: str
    kind: str  # G / J / L
    birth_date: date | None
    linked_id: str | None  # for G numbers: the ID number inside


def parse_xjh(value: object) -> XjhInfo:
    """Validate a 全国学籍号 (G + ID, J + ID-like code, L + area + birth date + 4 digits).

    Code: ``xjh-format``. A G number whose ID part is well-formed but differs from the
    student's ID is *not* an error here; callers compare with :func:`xjh_matches_id`.
    """
    text = normalize_text(value).upper().replace(" ", "")
    if len(text) != 19 or text[0] not in "GJL":
        raise ValueProblem(
            "xjh-format",
            "学籍号应为19位：字母G、J或L开头，后接18位。请从学籍系统复制。",
            mask_id(text),
        )
    kind, body = text[0], text[1:]
    if kind in "GJ":
        try:
            info = parse_id(body)
        except ValueProblem:
            raise ValueProblem(
                "xjh-format",
                f"{kind}字头学籍号的后18位应是有效的身份证号或同规则编码，校验不通过。请从学籍系统复制。",
                mask_id(text),
            ) from None
        return XjhInfo(text, kind, info.birth_date, info.number if kind == "G" else None)
    if not body.isdigit():
        raise ValueProblem("xjh-format", "L字头临时学籍号后18位应全为数字。", mask_id(text))
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise ValueProblem("xjh-format", "L字头学籍号第8-15位不是有效的出生日期。", mask_id(text)) from None
    return XjhInfo(text, kind, born, None)


def xjh_matches_id(xjh: XjhInfo, id_number: str) -> bool:
    """False only for a G number whose embedded ID differs from ``id_number``."""
    return xjh.kind != "G" or xjh.linked_id == id_number


_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_NOISE = re.compile(r"[\s()（）]")
_COUNTRY_CODE = re.compile(r"^(\+?86)-?")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def normalize_phone(value: object) -> str:
    """Validate a mobile (1[3-9] + 9 digits) or landline-with-area-code number.

    Spaces and dashes inside mobile numbers are dropped; a ``+86`` prefix is removed.
    Code: ``phone-format``.
    """
    if type(value) is str and value.isascii() and value.isdigit() and _MOBILE.fullmatch(value):
        return value  # the usual cell, as the steps below would return it
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = normalize_text(value)
    compact = _PHONE_NOISE.sub("", text)
    compact = _COUNTRY_CODE.sub("", compact)
    mobile = compact.replace("-", "")
    if _MOBILE.fullmatch(mobile):
        return mobile
    if _LANDLINE.fullmatch(compact):
        return compact
    raise ValueProblem(
        "phone-format",
        # The example is written in pieces: a whole number would be masked (by shape) in every report.
        "联系电话应为11位手机号（1开头）或带区号的固定电话（区号如0851，加7-8位号码）。请核对。",
        mask_phone(text) if len(re.sub(r"\D", "", text)) >= 7 else text,
    )


_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_MONTH_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月?"),
    re.compile(r"(\d{4})(\d{2})"),
)
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _bad_date(shown: str, why: str = "") -> ValueProblem:
    return ValueProblem(
        "date-format",
        f"“{shown}”不是有效的日期{why}。请写成2024-03-05或2024年3月5日。",
        shown,
    )


def _make_date(shown: str, y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise _bad_date(shown, "（没有这一天）") from None


def _from_number(value: float, shown: str) -> date:
    if not math.isfinite(value) or value != int(value):
        raise _bad_date(shown)
    n = int(value)
    if 19000101 <= n <= 29991231:
        return _make_date(shown, n // 10000, n // 100 % 100, n % 100)
    if _SERIAL_MIN <= n <= _SERIAL_MAX:
        return _EXCEL_EPOCH + timedelta(days=n)
    raise _bad_date(shown)


def parse_date(value: object) -> date:
    """Parse a date as clerks and spreadsheets write it.

    Accepts ``date``/``datetime``, ISO ``2024-03-05``, ``2024/3/5``, ``2024.3.5``,
    ``2024年3月5日``, ``20240305`` (text or integer) and Excel serial numbers (1950–2099).
    Pydantic's own date parsing is never used: it reads integers as Unix timestamps.
    Code: ``date-format``.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _bad_date(str(value))
    if isinstance(value, int | float):
        return _from_number(float(value), str(value))
    shown = normalize_text(value)
    text = _TIME_SUFFIX.sub("", shown.replace(" ", "") if "年" in shown else shown).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            return _make_date(shown, int(m[1]), int(m[2]), int(m[3]))
    if re.fullmatch(r"\d+(\.0+)?", text):
        return _from_number(float(text), shown)
    raise _bad_date(shown)


@dataclass(frozen=True, order=True)
class Month:
    """A year and month, for 年月 columns (``2010.03``, ``2010年3月``)."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year}年{self.month}月"

    @classmethod
    def of(cls, d: date) -> Month:
        return cls(d.year, d.month)


def parse_date_or_month(value: object) -> date | Month:
    """Parse a full date, or a year and month when that is all the cell holds.

    ``2010.03`` is read as March 2010 (never as 2010.3 the number). Code: ``date-format``.
    """
    if isinstance(value, date | int | float):
        if isinstance(value, float) and 1900 < value < 2100 and not value.is_integer():
            # 2010.03 typed into a General cell arrives as the float 2010.03.
            # Excel drops trailing zeros: 2010.10 arrives as 2010.1, 2010.3 means March.
            year = int(value)
            hundredths = round((value - year) * 100)
            if hundredths == 10:
                shown = f"{value:g}"
                raise ValueProblem("date-format", f"“{shown}”无法分辨是{year}年1月还是{year}年10月（Excel会把{year}.10存成"
                                   f"{shown}）。请写成文字，如“{year}年10月”或“{year}年1月”。", shown)
            month = hundredths // 10 if hundredths % 10 == 0 else hundredths
            if 1 <= month <= 12:
                return Month(year, month)
            raise _bad_date(f"{value:g}")
        return parse_date(value)
    shown = normalize_text(value)
    try:
        return parse_date(shown)
    except ValueProblem:
        pass
    text = shown.replace(" ", "")
    for pattern in _MONTH_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            year, month = int(m[1]), int(m[2])
            if 1900 <= year <= 2100 and 1 <= month <= 12:
                return Month(year, month)
            raise _bad_date(shown, "（月份应在1-12之间）")
    raise _bad_date(shown)


def month_of(value: date | Month) -> Month:
    """The month a date or month falls in (for month-precision comparisons)."""
    return value if isinstance(value, Month) else Month.of(value)


def compare_dates(a: date | Month, b: date | Month) -> int:
    """Compare two dates, at month precision when either is only a month. -1, 0 or 1."""
    if isinstance(a, date) and isinstance(b, date):
        return (a > b) - (a < b)
    ma, mb = month_of(a), month_of(b)
    return (ma > mb) - (ma < mb)


def format_date(value: date | Month) -> str:
    """``2024年3月5日`` (or ``2024年3月`` for a month)."""
    if isinstance(value, Month):
        return str(value)
    return f"{value.year}年{value.month}月{value.day}日"


def parse_yes_no(value: object) -> bool:
    """是/否 with the usual marks (√, ×, Y, N, 1, 0); empty means 否. Code: ``enum``."""
    from formkit.core.enums import enum

    if value is None or (isinstance(value, str) and not normalize_text(value)):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return enum("yesno").match(value) == "是"


def parse_count(value: object) -> int:
    """A non-negative whole number (劝返次数); ``2次`` and ``2.0`` are accepted. Code: ``number-format``."""
    if type(value) is float and value.is_integer() and value >= 0:
        return int(value)  # the usual cell (a spreadsheet's numbers are floats), as below
    if isinstance(value, bool):
        raise ValueProblem("number-format", "应填写次数（整数）。", str(value))
    if isinstance(value, int | float) and math.isfinite(value) and value == int(value) and value >= 0:
        return int(value)
    text = normalize_text(value).removesuffix("次")
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    raise ValueProblem("number-format", f"“{normalize_text(value)}”不是整数，请填写阿拉伯数字，如 2。", normalize_text(value))


def age_on(birth: date | Month, when: date | Month) -> int:
    """Full years of age on ``when`` (month precision when either side is a month)."""
    b, w = month_of(birth), month_of(when)
    years = w.year - b.year - (1 if w.month < b.month else 0)
    if isinstance(birth, date) and isinstance(when, date) and w.month == b.month and when.day < birth.day:
        years -= 1
    return years


# Anything shaped like an ID number (18 chars, or a 15-digit old-style one), a 学籍号 (letter + 18),
# or a mobile/landline number, wherever it appears in free text; also as people write them by hand,
# in groups ("138-8512-0001", "5201 2120 1305 1201 19") or with the country code ("+8613885120001").
_SEP = "[ -]?"
_PII = re.compile(
    rf"(?<![0-9A-Za-z])(?:[GJLgjl]?\d(?:{_SEP}\d){{16}}{_SEP}[\dXx]|\d(?:{_SEP}\d){{14}}"
    rf"|(?:\+?86{_SEP})?1[3-9]\d(?:{_SEP}\d){{8}}|0\d{{2,3}}-?\d{{7,8}})(?![0-9A-Za-z])"
)


_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c - 0xFEE0).isalnum()}


def mask_sensitive(value: object) -> str:
    """``value`` as text with every ID-, 学籍号- or phone-shaped run masked.

    Masking by shape, not by column: a clerk who types an ID into the wrong column must not
    see it echoed in full in messages, reports or outputs.
    """
    text = normalize_text(value) if value is not None else ""
    return _mask_pii(text)


def mask_message(message: str) -> str:
    """:func:`mask_sensitive` for a Chinese sentence: only full-width letters and digits are folded
    (so "１３８…" is masked too); NFKC on the whole text would turn its "，（）：" into ASCII."""
    return _mask_pii(message.translate(_FULLWIDTH_ALNUM).strip())


def _mask_pii(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        token = re.sub(r"[ +-]", "", match.group(0))
        if len(token) == 13 and token.startswith("861"):
            token = token[2:]
        if token[0] in "01" and len(token) <= 13:
            return mask_phone(token)
        return mask_id(token)

    return _PII.sub(hide, text)


_FORMULA_LEAD = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def neutralise_formula(value: str) -> str:
    """Prefix ``'`` to a value a spreadsheet would read as a formula (OWASP CSV-injection rule).

    Covers ``= + - @``, tab and CR, and the full-width forms that NFKC turns into them.
    """
    stripped = value.lstrip(" \u3000\u00a0")
    if stripped and stripped[0] in _FORMULA_LEAD:
        return "'" + value
    return value
