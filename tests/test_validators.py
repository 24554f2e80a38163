from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formkit.core import validators as v
from formkit.core.enums import enum, load_enums, parse_enum_table
from formkit.core.errors import InputFileError, ValueProblem
from tests.helpers import make_id


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    area = draw(st.integers(110000, 659999))
    born = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2024, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{area:06d}{born:%Y%m%d}{seq:03d}"
    return first17 + v.id_check_char(first17)


@given(valid_ids())
def test_every_generated_valid_id_passes(idn: str) -> None:
    info = v.parse_id(idn)
    assert info.number == idn
    assert info.sex == ("男" if int(idn[16]) % 2 else "女")


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_character_mutation_fails(idn: str, pos: int, char: str) -> None:
    if idn[pos] == char:
        return
    mutated = idn[:pos] + char + idn[pos + 1 :]
    with pytest.raises(ValueProblem) as err:
        v.parse_id(mutated)
    assert err.value.code in {"id-checksum", "id-format", "id-birthdate"}


def test_id_known_value_and_normalisation() -> None:
    idn = "11010519491231002X"  # the GB 11643 standard's own example
    assert v.parse_id(idn).birth_date == date(1949, 12, 31)
    assert v.parse_id(idn.lower()).number == idn
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in idn)
    assert v.parse_id(f"\u3000{full_width}\u00a0").number == idn
    assert v.parse_id(idn).sex == "女"


def test_id_errors_have_codes_and_mask() -> None:
    good = make_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValueProblem) as err:
        v.parse_id(bad)
    assert err.value.code == "id-checksum"
    assert err.value.value == bad[:4] + "*" * 10 + bad[-4:]
    assert bad not in str(err.value)
    with pytest.raises(ValueProblem, match="18位") as err2:
        v.parse_id("5201")
    assert err2.value.code == "id-format"
    future = "520121" + "20991231" + "011"
    with pytest.raises(ValueProblem) as err3:
        v.parse_id(future + v.id_check_char(future))
    assert err3.value.code == "id-birthdate"
    impossible = "520121" + "20130230" + "011"
    with pytest.raises(ValueProblem) as err4:
        v.parse_id(impossible + v.id_check_char(impossible))
    assert err4.value.code == "id-birthdate"


@pytest.mark.parametrize("value", [5.20121201305121e17, 520121201305120000, "5.20121201305121E+17"])
def test_id_stored_as_number_is_precision_lost(value: object) -> None:
    with pytest.raises(ValueProblem) as err:
        v.parse_id(value)
    assert err.value.code == "id-precision-lost"
    assert "文本" in err.value.message


def test_xjh_kinds() -> None:
    idn = make_id()
    g = v.parse_xjh("g" + idn)
    assert g.kind == "G" and g.linked_id == idn and v.xjh_matches_id(g, idn)
    other = make_id(seq="023")
    assert not v.xjh_matches_id(g, other)
    j_body = "520121" + "20130512" + "777"
    j = v.parse_xjh("J" + j_body + v.id_check_char(j_body))
    assert j.kind == "J" and j.birth_date == date(2013, 5, 12)
    lnum = v.parse_xjh("L520121201305121234")
    assert lnum.kind == "L" and lnum.birth_date == date(2013, 5, 12)
    for bad in ("X" + idn, "G" + idn[:-1] + ("0" if idn[-1] != "0" else "1"), "L52012120131312123A", "G123"):
        with pytest.raises(ValueProblem) as err:
            v.parse_xjh(bad)
        assert err.value.code == "xjh-format"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13885120001", "13885120001"),
        ("138 8512 0001", "13885120001"),
        ("+86 138-8512-0001", "13885120001"),
        (13885120001.0, "13885120001"),
        ("0851-86221234", "0851-86221234"),
        ("010-12345678", "010-12345678"),
        ("１３８８５１２０００１", "13885120001"),
    ],
)
def test_phone_accepts(raw: object, expected: str) -> None:
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12885120001", "1388512000", "86221234", "abc", "138851200011"])
def test_phone_rejects(raw: str) -> None:
    with pytest.raises(ValueProblem) as err:
        v.normalize_phone(raw)
    assert err.value.code == "phone-format"


@pytest.mark.parametrize(
    "raw",
    [
        date(2024, 3, 5),
        "2024-03-05",
        "2024/3/5",
        "2024.3.5",
        "2024年3月5日",
        "2024 年 3 月 5 日",
        "20240305",
        20240305,
        45356,
        45356.0,
        "45356",
        "2024-03-05 00:00:00",
        "２０２４－０３－０５",
    ],
)
def test_dates_accepted(raw: object) -> None:
    assert v.parse_date(raw) == date(2024, 3, 5)


@pytest.mark.parametrize("raw", ["2024-02-30", "2023年2月29日", "20241301", "明天", "3/5/2024", 12, 45356.5, True])
def test_dates_rejected_with_value(raw: object) -> None:
    with pytest.raises(ValueProblem) as err:
        v.parse_date(raw)
    assert err.value.code == "date-format"
    # The message names the bad value (every date message says 日期, so that alone proves nothing).
    assert f"“{str(raw).strip()}”" in err.value.message and err.value.value == str(raw).strip()


def test_month_precision() -> None:
    assert v.parse_date_or_month("2010.03") == v.Month(2010, 3)
    assert v.parse_date_or_month("2010年3月") == v.Month(2010, 3)
    assert v.parse_date_or_month("2010-03") == v.Month(2010, 3)
    assert v.parse_date_or_month(2010.03) == v.Month(2010, 3)
    assert v.parse_date_or_month(2010.3) == v.Month(2010, 3)
    assert v.parse_date_or_month(2010.11) == v.Month(2010, 11)
    assert v.parse_date_or_month("2010.3.5") == date(2010, 3, 5)
    with pytest.raises(ValueProblem):
        v.parse_date_or_month(2010.1)  # January or October: refuse to guess
    with pytest.raises(ValueProblem):
        v.parse_date_or_month("2010.13")
    assert v.compare_dates(v.Month(2024, 3), date(2024, 3, 20)) == 0
    assert v.compare_dates(date(2024, 2, 1), v.Month(2024, 3)) == -1
    assert v.age_on(date(2010, 3, 5), date(2024, 3, 4)) == 13
    assert v.age_on(v.Month(2010, 3), date(2024, 3, 1)) == 14


def test_counts_and_yes_no() -> None:
    assert v.parse_count("2次") == 2 and v.parse_count(2.0) == 2 and v.parse_count("３") == 3
    with pytest.raises(ValueProblem) as err:
        v.parse_count("两")
    assert err.value.code == "number-format"
    for yes in ("是", "√", "Y", "1", 1, "ｙ", " 是 "):
        assert v.parse_yes_no(yes) is True
    for no in ("否", "×", "N", "0", 0, "", None):
        assert v.parse_yes_no(no) is False
    with pytest.raises(ValueProblem):
        v.parse_yes_no("可能")


def test_enum_synonyms_normalisation_and_suggestion() -> None:
    reason = enum("reason")
    assert reason.match("厌学") == "学习困难"
    assert reason.match(" 外出务工\u3000") == "外出打工"
    assert enum("status").match("已销号") == "已消帐"
    assert enum("ethnicity").match("苗") == "苗族"
    assert enum("grade").match("初二") == "八年级"
    with pytest.raises(ValueProblem) as err:
        reason.match("家庭贫困")
    assert err.value.code == "enum"
    assert "因贫" in err.value.message
    assert enum("status").needs_note >= {"休学", "死亡"}


def test_enum_table_from_county_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    county = tmp_path / "enums.toml"
    county.write_text('[reason]\nlabel = "辍学原因"\nvalues = [["务农", "在家务农"], ["其他"]]\n', encoding="utf-8")
    table = load_enums(str(county))
    assert table["reason"].match("在家务农") == "务农"
    assert table["status"].match("劝返中") == "劝返中"  # untouched enumerations keep defaults
    with pytest.raises(InputFileError):
        parse_enum_table("[reason\n", "bad.toml")


def test_masks() -> None:
    assert v.mask_id("52012120130512011X") == "5201**********011X"
    assert v.mask_phone("13885120001") == "138****0001"
