from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from formkit.validators import id_check_char

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
