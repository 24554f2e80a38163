"""Plain helpers shared by the tests (paths, sample records, ID numbers, skip markers); fixtures live in conftest.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from formkit.core.validators import id_check_char
from formkit.documents.pdf_server import find_uno_python

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def make_id(area: str = "520121", born: str = "20130512", seq: str = "011") -> str:
    first17 = f"{area}{born}{seq}"
    return first17 + id_check_char(first17)


def sample(form: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{form}.json").read_text(encoding="utf-8"))
    return data


needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None and shutil.which("libreoffice") is None,
    reason="LibreOffice not installed (.ci/run installs it)",
)
needs_uno = pytest.mark.skipif(find_uno_python() is None, reason="python3-uno not installed (.ci/run installs it)")


def filled_ledger_kept_once(folder: Path) -> Path:
    """samples/ledger-filled.xlsx with 龙飞's second row (row 11, 是否下达=是) removed, as a clerk would.

    The sample lists 龙飞 twice in contradicting states, so ``ledger due`` refuses both rows; tests that
    need his 敦返复学通知书 due use this copy.
    """
    from openpyxl import load_workbook

    wb = load_workbook(SAMPLES / "ledger-filled.xlsx")
    wb["台账"].delete_rows(11)
    path = folder / "ledger-filled.xlsx"
    wb.save(path)
    return path


def one_case_ledger(reason: str = "厌学", guardian_header: str = "监护人姓名") -> bytes:
    """A one-sheet, one-row ledger (陈小龙, 石桥小学) as xlsx bytes; ``guardian_header`` lets a test use a
    county wording (``户主``) that only a pinned column reads."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(["学生姓名", "身份证号", "学校", "年级", guardian_header, "联系电话", "对象类别", "辍学时间", "辍学原因",
               "劝返责任人", "劝返状态"])
    ws.append(["陈小龙", make_id("520102", "20120315", "011"), "石桥小学", "六年级", "陈大山", "13885120001", "辍学",
               "2024-03-04", reason, "王老师", "劝返中"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
