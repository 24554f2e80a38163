"""The wheel carries the templates and data files, and an installed formkit finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import ROOT


def test_wheel_contains_templates_and_finds_them_when_installed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("formkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for form in ("return-notice", "compel-notice", "dropout-report"):
        assert f"formkit/templates/docx/{form}.docx" in names
    assert "formkit/data/enums.toml" in names and "formkit/py.typed" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from the extracted wheel only (not the source tree), as an installed package would.
    code = (
        "import formkit, formkit.core.resources as r, sys;"
        "root = r.template_root();"
        "assert 'site' in str(root), root;"
        "data = formkit.render('return-notice', __import__('json').load(open(sys.argv[1], encoding='utf-8')));"
        "print(len(data))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "samples" / "return-notice.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 10_000
