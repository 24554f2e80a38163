"""County templates are untrusted code: the attack corpus (tests/make_template_attacks.py) and the sandbox."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import formkit
from formkit import CompiledTemplate, TemplateError
from formkit.documents.engine import docx_text
from formkit.documents.forms import build_context, get_form, validate_record
from tests.helpers import ROOT, SAMPLES, filled_ledger_kept_once, sample
from tests.make_template_attacks import ATTACKS, MARKER, OUT
from tests.test_engine import make_template

MEMORY_LIMIT = 3 * 1024**3
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FORMKIT_RENDER_SECONDS": "2"}
SEAL = ["--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08"]
PICKLES = ["pickle-attr.docx", "pickle-direct.docx", "pickle-getitem.docx", "pickle-map.docx"]


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "formkit.cli", *args], capture_output=True, text=True, timeout=120,
                          env=ENV, preexec_fn=_limit, cwd=cwd, check=False)


_PROBE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import formkit
from formkit.documents.lint import check_template
from tests.helpers import sample
record = sample("return-notice")
results = {}
for path in sys.argv[2:]:
    started = time.monotonic()
    report = check_template(path, "return-notice")
    checked = time.monotonic() - started
    started = time.monotonic()
    try:
        formkit.render("return-notice", record, template=Path(path), settings=formkit.Settings(render_seconds=2))
        code = "rendered"
    except formkit.FormkitError as exc:
        code = exc.code
    results[path] = {"check": [i.code for i in report.issues if i.severity == "error"], "check_seconds": checked,
                     "render": code, "render_seconds": time.monotonic() - started}
    print(json.dumps(results), flush=True)
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], Path]:
    """Check and render every attack once, in a child limited to 3 GB, from an empty folder."""
    cwd = tmp_path_factory.mktemp("attacks")
    paths = [str(OUT / name) for name in sorted(ATTACKS)]
    result = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT), *paths], capture_output=True, text=True,
                            timeout=600, env=ENV, preexec_fn=_limit, cwd=cwd, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    return {Path(k).name: v for k, v in last.items()}, cwd


def test_attack_corpus_is_complete() -> None:
    assert sorted(p.name for p in OUT.iterdir()) == sorted(ATTACKS)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused_by_check_and_render(name: str, outcomes: tuple[dict[str, dict[str, Any]], Path]) -> None:
    results, cwd = outcomes
    check_code, render_code = ATTACKS[name]
    seen = results[name]
    assert seen["render"] == render_code, seen
    if check_code:
        assert check_code in seen["check"], seen
    assert seen["check_seconds"] < 15 and seen["render_seconds"] < 15, seen
    assert not (cwd / MARKER).exists()


@pytest.mark.parametrize("name", PICKLES)
def test_pickle_payload_runs_nowhere(name: str, tmp_path: Path) -> None:
    """The payload of issue 16 #1 in every place a county template is used: nothing runs, nothing is written."""
    template = OUT / name
    render = _cli(["render", "return-notice", str(SAMPLES / "return-notice.json"), "-o", str(tmp_path / "r.docx"),
                   "--template", str(template)], tmp_path)
    batch = _cli(["batch", "return-notice", str(SAMPLES / "records.json"), "-o", str(tmp_path / "b"), *SEAL,
                  "--register", str(tmp_path / "r.sqlite"), "--template", str(template), "--jobs", "1"], tmp_path)
    due = _cli(["ledger", "due", str(filled_ledger_kept_once(tmp_path)), "--as-of", "2024-05-01", "--generate",
                str(tmp_path / "due"), "--config", str(SAMPLES / "formkit.toml"), "--register",
                str(tmp_path / "d.sqlite"), "--template", f"compel-notice={template}"], tmp_path)
    check = _cli(["template", "check", str(template), "--form", "return-notice"], tmp_path)
    for result in (render, batch, due):
        output = result.stdout + result.stderr
        assert result.returncode == 2, output[-2000:]
        assert "Traceback" not in output and "内部错误" not in output and name in output
    assert check.returncode == 1 and "unsafe-" in check.stdout
    assert not (tmp_path / MARKER).exists()
    assert not list(tmp_path.rglob("*.docx"))


@pytest.mark.parametrize("name", ["external-image.docx", "macro.docm.docx", "zip-bomb.docx"])
def test_hostile_packages_never_reach_outputs(name: str, tmp_path: Path) -> None:
    """Refused before anything is written, so neither Word, LibreOffice (--pdf) nor --merge ever sees them."""
    batch = _cli(["batch", "return-notice", str(SAMPLES / "records.json"), "-o", str(tmp_path / "b"), *SEAL,
                  "--register", str(tmp_path / "r.sqlite"), "--template", str(OUT / name), "--jobs", "1", "--merge",
                  "--pdf"], tmp_path)
    output = batch.stdout + batch.stderr
    assert batch.returncode == 2, output[-2000:]
    assert name in output and "Traceback" not in output and "内部错误" not in output
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".docx", ".pdf")]


def test_context_is_plain_data() -> None:
    allowed = (str, int, float, bool, date, type(None))

    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert type(key) is str, where
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        else:
            assert type(value) in allowed, f"{where}: {type(value).__name__}"

    for spec in formkit.forms():
        record = validate_record(spec, sample(spec.name))
        walk(build_context(spec, record, {"extra": record}), spec.name)


def test_sandbox_refuses_methods_even_on_live_objects() -> None:
    """A second line: an object that slips into a context (an API caller's) still offers no method."""
    record = validate_record(get_form("return-notice"), sample("return-notice"))
    compiled = CompiledTemplate(make_template("{% set f = student.parse_raw %}{{ f }}"), "live.docx")
    with pytest.raises(TemplateError) as err:
        compiled.render({"student": record.student})  # type: ignore[attr-defined]
    assert err.value.code == "template-unsafe"
    text = CompiledTemplate(make_template("{{ s.items }} {{ s.name|upper }} {{ 'x'.strip() }}")).render(
        {"s": {"items": "条目", "name": "abc"}})
    assert "条目 ABC x" in docx_text(text)


@pytest.mark.parametrize("source", [
    "{{ 'a'.center(9) }}", "{{ 'a'.__class__ }}", "{{ ''.join(['a']) }}", "{{ x.update({}) }}",
    "{{ cycler }}", "{{ lipsum(10) }}", "{{ x|attr('keys') }}", "{{ x|safe }}",
])
def test_no_call_or_attr_reaches_data(source: str) -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(make_template(source), "t.docx").render({"x": {"a": 1}})
    assert err.value.code in ("template-unsafe", "template-syntax", "template-undefined"), err.value


def test_deadline_works_off_the_main_thread_and_spares_host_timers() -> None:
    """No SIGALRM: the limit holds in a worker thread, and a timer the host set keeps running."""
    compiled = CompiledTemplate((OUT / "nested-loops.docx").read_bytes(), "loops.docx")
    context = build_context(get_form("return-notice"), validate_record(get_form("return-notice"),
                                                                       sample("return-notice")))
    caught: list[BaseException] = []

    def work() -> None:
        try:
            compiled.render(context, timeout=1.0)
        except BaseException as exc:  # handed to the main thread
            caught.append(exc)

    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 300)
    try:
        started = time.monotonic()
        thread = threading.Thread(target=work)
        thread.start()
        thread.join(30)
        assert time.monotonic() - started < 10
        assert caught and isinstance(caught[0], TemplateError) and caught[0].code == "template-timeout"
        with pytest.raises(TemplateError) as err:
            compiled.render(context, timeout=0.5)
        assert err.value.code == "template-timeout"
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 200
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_check_does_not_evaluate_constants() -> None:
    """Constant folding used to build ``'a'|center(200000000)`` while compiling (1.8 GB)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = formkit.check_template(OUT / "center-huge.docx", "return-notice")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB
    assert report.form == "return-notice"


def test_jinja_pin() -> None:
    assert '"Jinja2>=3.1.6"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_deep_json_record_is_a_clean_error(tmp_path: Path) -> None:
    """Issue 16 #6: a record nested 100,000 deep gave "内部错误（RecursionError）"."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"student": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    result = _cli(["render", "return-notice", str(deep), "-o", str(tmp_path / "d.docx")], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "deep.json" in output, output
    assert "内部错误" not in output and "Traceback" not in output
