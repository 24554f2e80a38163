"""Batch output safety: kept edits stay kept, the register hides IDs, file modes, locking,
hostile roster values in the manifest, output errors, and clean-up after a kill."""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import formkit.core.fileio as fileio
import formkit.documents.batch as fb
from formkit import Settings
from formkit.cli import cli
from formkit.core.errors import OutputError
from formkit.core.validators import id_check_char
from formkit.documents.engine import docx_text
from formkit.documents.register import NumberRegister
from tests.helpers import ROOT, SAMPLES, needs_soffice

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
SETTINGS = fb.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08", "number_prefix=石镇教复"])
SETS = ["--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08", "--set", "number_prefix=石镇教复"]
FIRST = "001_石门镇中心小学_王小明_辍学生返校通知书.docx"


def run(out: Path, reg: Path, source: Any = None, **kw: Any) -> fb.BatchResult:
    return fb.batch("return-notice", source if source is not None else RECORDS, out, issuer=SETTINGS,
                    register=reg, jobs=kw.pop("jobs", 1), **kw)


def manifest_items(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {i["file"]: i for i in data["items"] if i["file"]}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def roster_file(tmp_path: Path, records: list[dict[str, Any]], name: str = "roster.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def many_records(count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        rec = json.loads(json.dumps(RECORDS[i % 12]))
        born = rec["student"]["birth_date"].replace("-", "")
        first17 = f"5201{i // 100 % 10}{i // 10 % 10}{born}{i % 10}0{1 if rec['student']['sex'] == '男' else 2}"
        rec["student"].update(id_number=first17 + id_check_char(first17), xjh=None, name=f"{rec['student']['name']}{i}")
        rec["seq"] = i + 1
        out.append(rec)
    return out


# --- 1. a kept edit stays kept ------------------------------------------------------------


def test_kept_edit_survives_three_reruns_and_manifest_keeps_formkits_hash(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", tmp_path / "reg.sqlite"
    run(out, reg)
    written = manifest_items(out)[FIRST]["sha256"]
    edited = out / FIRST
    edited.write_bytes(b"edited by a clerk")
    for _ in range(3):
        again = run(out, reg)
        assert again.counts == {"unchanged": 11, "kept-edited": 1}
        assert edited.read_bytes() == b"edited by a clerk"
        assert manifest_items(out)[FIRST]["sha256"] == written  # what formkit wrote, never the edit
    forced = run(out, reg, overwrite=True)
    assert forced.counts == {"unchanged": 11, "updated": 1}
    assert sha(edited) == written and manifest_items(out)[FIRST]["sha256"] == written


def test_cli_kept_edit_survives_three_reruns_and_exits_0(tmp_path: Path) -> None:
    roster = roster_file(tmp_path, RECORDS)
    args = ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), *SETS,
            "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    edited = tmp_path / "out" / FIRST
    edited.write_bytes(b"edited")
    for _ in range(3):
        again = CliRunner().invoke(cli, args)
        assert again.exit_code == 0, again.output  # a kept edit is reported, not an error
        assert "已被手工修改，未覆盖" in again.output and "已更新" not in again.output
        assert edited.read_bytes() == b"edited"
    forced = CliRunner().invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0 and "已更新 1 份" in forced.output
    assert docx_text(edited.read_bytes()).count("王小明") >= 1


def test_ledger_due_generate_keeps_edit_on_every_rerun(tmp_path: Path) -> None:
    out = tmp_path / "due"

    def args(run: int) -> list[str]:
        # A fresh register each run: the notice is proposed again (a register that remembers it would not
        # propose it at all) and gets the same number, so only the clerk's edit differs.
        return ["ledger", "due", str(SAMPLES / "ledger-clean.xlsx"), "--as-of", "2024-05-01", "--generate", str(out),
                "--set", "body=石门镇人民政府", "--set", "issue_date=2024-05-02", "--set", "number_prefix=石镇教复",
                "--set", "deadline=2024-05-20", "--set", "report_to=石门镇中学",
                "--register", str(tmp_path / f"reg{run}.sqlite")]

    first = CliRunner().invoke(cli, args(0))
    assert first.exit_code == 0, first.output  # listing and generating what is due is not a finding
    (doc,) = (out / "deadline-notice").glob("*.docx")
    written = sha(doc)
    doc.write_bytes(b"hand-edited notice")
    for run in range(1, 4):
        again = CliRunner().invoke(cli, args(run))
        assert again.exit_code == 0, again.output
        assert doc.read_bytes() == b"hand-edited notice" and "已更新" not in again.output
        assert manifest_items(out / "deadline-notice")[doc.name]["sha256"] == written
    forced = CliRunner().invoke(cli, [*args(4), "--force"])
    assert forced.exit_code == 0 and sha(doc) == written


def test_due_exit_codes(tmp_path: Path) -> None:
    clean = CliRunner().invoke(cli, ["ledger", "due", str(SAMPLES / "ledger-clean.xlsx"), "--as-of", "2024-05-01"])
    assert clean.exit_code == 0 and "罗天宇" in clean.output  # something is due: still 0
    with_errors = CliRunner().invoke(cli, ["ledger", "due", str(SAMPLES / "ledger-filled.xlsx"), "--as-of",
                                           "2024-05-01"])
    assert with_errors.exit_code == 1 and "ledger check" in with_errors.output
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    unusable = CliRunner().invoke(cli, ["ledger", "due", str(broken), "--as-of", "2024-05-01"])
    assert unusable.exit_code == 2 and "内部错误" not in unusable.output


# --- 2. the register ----------------------------------------------------------------------


def test_register_is_0600_and_holds_no_id(tmp_path: Path) -> None:
    reg = tmp_path / "reg.sqlite"
    old = os.umask(0o022)
    try:
        result = run(tmp_path / "out", reg, source=RECORDS[:3])
    finally:
        os.umask(old)
    assert stat.S_IMODE(reg.stat().st_mode) == 0o600
    raw = reg.read_bytes()
    for record in RECORDS[:3]:
        assert record["student"]["id_number"].encode() not in raw
        assert record["student"]["id_number"][:14].encode() not in raw
    with NumberRegister(reg) as opened:
        assert opened.student_digest(RECORDS[0]["student"]["id_number"]).encode() in raw
        assert opened.number_for("石镇教复", 2024, "return-notice", RECORDS[0]["student"]["id_number"]) == 1
    assert [i.doc_number for i in result.items] == [f"石镇教复〔2024〕{n}号" for n in (1, 2, 3)]


def test_old_plain_register_is_migrated_without_losing_numbers(tmp_path: Path) -> None:
    reg = tmp_path / "old.sqlite"
    ident = RECORDS[1]["student"]["id_number"]
    db = sqlite3.connect(reg)
    db.executescript("""
        CREATE TABLE counters (prefix TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,
                               PRIMARY KEY (prefix, year));
        CREATE TABLE assigned (prefix TEXT NOT NULL, year INTEGER NOT NULL, form TEXT NOT NULL,
                               student TEXT NOT NULL, number INTEGER NOT NULL,
                               PRIMARY KEY (prefix, year, form, student), UNIQUE (prefix, year, number));
    """)
    db.execute("INSERT INTO counters VALUES ('石镇教复', 2024, 7)")
    db.execute("INSERT INTO assigned VALUES ('石镇教复', 2024, 'return-notice', ?, 7)", (ident,))
    db.commit()
    db.close()
    os.chmod(reg, 0o644)
    assert ident.encode() in reg.read_bytes()
    result = run(tmp_path / "out", reg, source=RECORDS[:2])
    assert [i.doc_number for i in result.items] == ["石镇教复〔2024〕8号", "石镇教复〔2024〕7号"]
    assert ident.encode() not in reg.read_bytes() and stat.S_IMODE(reg.stat().st_mode) == 0o600
    again = run(tmp_path / "out2", reg, source=RECORDS[:2])
    assert [i.doc_number for i in again.items] == ["石镇教复〔2024〕8号", "石镇教复〔2024〕7号"]


# --- 3. file modes ------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_outputs_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=RECORDS[:2])
        fileio.atomic_write(tmp_path / "single.bin", b"x")
    finally:
        os.umask(old)
    for name in [*(i.file for i in result.items), "manifest.json", "manifest.csv"]:
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == mode, name
    assert stat.S_IMODE((tmp_path / "single.bin").stat().st_mode) == mode


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "kept.docx"
    target.write_bytes(b"old")
    os.chmod(target, 0o604)
    old = os.umask(0o077)
    try:
        fileio.atomic_write(target, b"new")
        run(tmp_path / "out", tmp_path / "reg.sqlite", source=RECORDS[:1])
        os.chmod(tmp_path / "out" / FIRST, 0o640)
        (tmp_path / "out" / "manifest.json").chmod(0o644)
        run(tmp_path / "out", tmp_path / "reg.sqlite", source=RECORDS[:1], overwrite=True)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o604
    assert stat.S_IMODE((tmp_path / "out" / "manifest.json").stat().st_mode) == 0o644


# --- 4. concurrency -----------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_live_lock_refuses_with_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    lock = out / fileio.LOCK_NAME
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run": "other",
                                "started": "2024-04-08 09:00:00"}), encoding="utf-8")
    monkeypatch.setenv("FORMKIT_LOCK_WAIT", "0.3")
    roster = roster_file(tmp_path, RECORDS[:2])
    result = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(out), *SETS,
                                      "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"])
    assert result.exit_code == 2 and "正在被另一个 formkit 任务使用" in result.output
    assert str(os.getpid()) in result.output and "内部错误" not in result.output
    assert lock.exists() and not list(out.glob("*.docx"))
    with pytest.raises(OutputError) as caught:
        run(out, tmp_path / "reg.sqlite", source=RECORDS[:2], settings=Settings(lock_wait=0.3))
    assert caught.value.code == "output-locked"


def test_stale_lock_of_dead_process_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / fileio.LOCK_NAME).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "run": "x"}),
                                        encoding="utf-8")
    (out / f"{fileio.TEMP_PREFIX}{_dead_pid()}-abc.docx").write_bytes(b"half")
    work = out / f"{fileio.WORK_PREFIX}{_dead_pid()}-abc"
    work.mkdir()
    (work / "personal.docx").write_bytes(b"data")
    result = run(out, tmp_path / "reg.sqlite", source=RECORDS[:2])
    assert result.counts == {"written": 2}
    assert [p.name for p in out.iterdir() if p.name.startswith(".formkit")] == []


def test_symlinked_journal_is_not_followed_and_target_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("do not touch\n", encoding="utf-8")
    for name in (".formkit-journal.jsonl", f"{fb.JOURNAL_PREFIX}-{_dead_pid()}-abc.jsonl"):
        (out / name).symlink_to(target)
    result = run(out, tmp_path / "reg.sqlite", source=RECORDS[:2])
    assert result.counts == {"written": 2}
    assert target.read_text(encoding="utf-8") == "do not touch\n"
    assert all((out / n).is_symlink() for n in (".formkit-journal.jsonl",))


def test_symlinked_manifest_and_lock_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").symlink_to(target)
    with pytest.raises(OutputError) as caught:
        run(out, tmp_path / "reg.sqlite", source=RECORDS[:1])
    assert caught.value.code == "output-symlink" and target.read_text(encoding="utf-8") == "{}"
    other = tmp_path / "other"
    other.mkdir()
    (other / fileio.LOCK_NAME).symlink_to(target)
    with pytest.raises(OutputError) as locked:
        run(other, tmp_path / "reg.sqlite", source=RECORDS[:1])
    assert locked.value.code == "output-symlink" and target.read_text(encoding="utf-8") == "{}"


def test_two_concurrent_batches_into_one_folder_both_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FORMKIT_LOCK_WAIT": "300"}
    halves = [roster_file(tmp_path, RECORDS[:6], "a.json"), roster_file(tmp_path, RECORDS[6:], "b.json")]
    procs = [subprocess.Popen([sys.executable, "-m", "formkit.cli", "batch", "return-notice", str(r), "-o", str(out),
                               *SETS, "--register", str(tmp_path / "reg.sqlite"), "--jobs", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in halves]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    items = manifest_items(out)
    docs = sorted(p.name for p in out.glob("*.docx"))
    assert sorted(items) == docs and len(docs) == 12
    assert all(items[name]["sha256"] == sha(out / name) for name in docs)
    assert [p.name for p in out.iterdir() if p.name.startswith(".formkit")] == []
    again = run(out, tmp_path / "reg.sqlite", source=RECORDS)  # every file is recognised as formkit's own
    assert again.counts == {"unchanged": 12}


def test_manifest_merges_earlier_runs(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", tmp_path / "reg.sqlite"
    run(out, reg, source=RECORDS[:6])
    run(out, reg, source=RECORDS[6:])
    assert len(manifest_items(out)) == 12
    (out / FIRST).unlink()
    run(out, reg, source=RECORDS[6:])
    assert FIRST not in manifest_items(out) and len(manifest_items(out)) == 11


# --- 5 and 6. hostile roster values in the manifest --------------------------------------


def test_lone_surrogate_is_rejected_with_row_and_column(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(RECORDS[:3]))
    bad[1]["student"]["name"] = "王\ud800明"
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(bad), encoding="ascii")  # "\ud800" as JSON escapes it
    with pytest.raises(fb.InvalidRosterError) as caught:
        run(tmp_path / "out", tmp_path / "reg.sqlite", source=roster)
    assert caught.value.rows[0][0] == 2 and caught.value.rows[0][1][0].code == "invalid-character"
    assert "第2行" in str(caught.value) and "\ud800" not in str(caught.value)
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=roster, skip_invalid=True)
    assert result.counts == {"written": 2, "skipped-invalid": 1}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["invalid"][0]["row"] == 2
    cli_run = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(tmp_path / "cli"), *SETS,
                                       "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1", "--skip-invalid"])
    assert cli_run.exit_code == 1 and "invalid-character" in cli_run.output and "内部错误" not in cli_run.output


def test_manifest_csv_neutralises_formulas_and_masks_ids(tmp_path: Path) -> None:
    hostile = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "＝1+1"]
    records = json.loads(json.dumps(RECORDS[:len(hostile) + 1]))
    for rec, name in zip(records, hostile, strict=False):
        rec["student"]["name"] = name
    secret = RECORDS[0]["student"]["id_number"]
    records[-1]["case"]["dropout_date"] = secret  # an ID typed into a date column
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=records, skip_invalid=True)
    assert result.counts["written"] == len(hostile)
    with (tmp_path / "out" / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index("学生")
    names = [r[at] for r in rows[1:] if r[at]]
    assert len(names) == len(hostile)
    for cell in (c for r in rows for c in r):
        assert not cell or cell[0] not in "=+-@\t\r＝＋－＠", cell
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in names and "'+1+1" in names and "'@SUM(A1)" in names
    text = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert secret not in text and secret not in (tmp_path / "out" / "manifest.csv").read_text(encoding="utf-8-sig")
    assert json.loads(text)["invalid"][0]["row"] == len(hostile) + 1


# --- 7. output errors ---------------------------------------------------------------------


def test_output_folder_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    roster = roster_file(tmp_path, RECORDS[:2])
    result = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(blocker / "out"), *SETS,
                                      "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"])
    assert result.exit_code == 2 and "内部错误" not in result.output and "不是文件夹" in result.output
    with pytest.raises(OutputError) as caught:
        fileio.atomic_write(blocker / "x.docx", b"data")
    assert caught.value.code == "output-not-folder"


def test_disk_full_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))

    monkeypatch.setattr(fileio.os, "replace", full)
    monkeypatch.setattr(fileio.os, "link", full)  # a new file is put in place by a hard link
    roster = roster_file(tmp_path, RECORDS[:2])
    result = CliRunner().invoke(cli, ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), *SETS,
                                      "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"])
    assert result.exit_code == 2 and "磁盘空间不足" in result.output and "内部错误" not in result.output
    assert not list((tmp_path / "out").glob(fileio.TEMP_PREFIX + "*"))
    render = CliRunner().invoke(cli, ["render", "return-notice", str(SAMPLES / "return-notice.json"), "-o",
                                      str(tmp_path / "one.docx")])
    assert render.exit_code == 2 and "磁盘空间不足" in render.output and "内部错误" not in render.output


def test_permission_denied_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.open

    def denied(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if Path(path).name.startswith(fileio.TEMP_PREFIX):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, flags, mode, **kw)

    monkeypatch.setattr(fileio.os, "open", denied)
    with pytest.raises(OutputError) as caught:
        fileio.atomic_write(tmp_path / "x.docx", b"data")
    assert caught.value.code == "output-permission" and "没有权限" in str(caught.value)


# --- 8. nothing keeps running after a kill -----------------------------------------------


def _processes() -> Iterator[tuple[int, int, str, str]]:
    """(pid, ppid, state, cmdline) of every process visible in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        yield int(entry.name), int(fields[1]), fields[0], cmd


def _descendants(root: int) -> set[int]:
    table = [(pid, ppid) for pid, ppid, _, _ in _processes()]
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in table:
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found - {root}


def _still_running(pids: set[int], marker: str) -> list[str]:
    return [f"{pid} {cmd}" for pid, _, state, cmd in _processes()
            if state != "Z" and pid != os.getpid() and (pid in pids or marker in cmd)]


@needs_soffice
@pytest.mark.parametrize("phase", ["render", "pdf"])
def test_kill_leaves_no_process_and_no_temp_folder(tmp_path: Path, phase: str) -> None:
    out = tmp_path / f"killed-{phase}-{os.getpid()}"
    roster = roster_file(tmp_path, many_records(400 if phase == "render" else 12))
    system_temp = tmp_path / "tmp"  # the batch's own TMPDIR: other test runs share /tmp
    system_temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(system_temp)}
    args = [sys.executable, "-m", "formkit.cli", "batch", "return-notice", str(roster), "-o", str(out), *SETS,
            "--register", str(tmp_path / "reg.sqlite"), "--jobs", "2"]
    proc = subprocess.Popen([*args, "--pdf"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    seen: set[int] = set()
    while time.time() < deadline and proc.poll() is None:
        seen |= _descendants(proc.pid)
        if phase == "render" and len(list(out.glob("*.docx"))) >= 20 and len(seen) >= 2:
            break
        if phase == "pdf" and any(cmd.find("soffice") >= 0 and str(out) in cmd for _, _, _, cmd in _processes()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be killed"
    seen |= _descendants(proc.pid)
    assert seen, "the batch had no worker or LibreOffice process to check"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left: list[str] = []
    # The watchdogs clean up within a second on a quiet machine; a shared CI runner may need far longer.
    for _ in range(300):
        left = _still_running(seen, str(out))
        work = list(out.glob(".formkit-work-*")) + list(system_temp.iterdir())
        if not left and not work:
            break
        time.sleep(0.1)
    for line in left:  # never leave a stray process behind, even when the test fails
        with contextlib.suppress(OSError):
            os.kill(int(line.split()[0]), signal.SIGKILL)
    assert left == [] and work == []
    rerun = subprocess.run(args if phase == "render" else [*args, "--pdf"], env=env, capture_output=True,
                           timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert [p.name for p in out.iterdir() if p.name.startswith(".formkit")] == []
    assert len(manifest_items(out)) == (400 if phase == "render" else 12)
    if phase == "pdf":
        assert len(list(out.glob("*.pdf"))) == 12
