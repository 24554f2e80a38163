"""Batch bookkeeping at disk speed: one register transaction, grouped syncs, one validation per row,
and an engine that copies unchanged members and resolves listing characters only where they are."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
from docxtpl import DocxTemplate

import formkit.core.fileio as fio
import formkit.documents.batch as fb
from formkit.documents.engine import CompiledTemplate, _resolve_listing, docx_text
from formkit.documents.forms import build_context, get_form, load_template_bytes, validate_record
from formkit.documents.register import NumberRegister
from formkit.ledger.due import due
from tests.helpers import ROOT, SAMPLES, filled_ledger_kept_once

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
SETTINGS = fb.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08", "number_prefix=石镇教复"])


def students(prefix: str, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rec = json.loads(json.dumps(RECORDS[i % len(RECORDS)]))
        rec["student"].update(name=f"{prefix}{i}", id_number=None, xjh=None)
        rec["seq"] = i + 1
        out.append(rec)
    return out


def test_plain_batch_records_issued_notices_for_ledger_due(tmp_path: Path) -> None:
    reg = tmp_path / "reg.sqlite"
    ledger = filled_ledger_kept_once(tmp_path)
    before = [i for i in due(ledger, date(2024, 5, 1), register=reg)
              if i.form == "compel-notice"]
    assert [(i.name, i.state) for i in before] == [("龙飞", "due")]
    settings = fb.load_settings(None, ["body=龙井乡人民政府", "issue_date=2024-05-02", "deadline=2024-05-09",
                                       "number_prefix=龙乡教复"])
    result = fb.batch("compel-notice", [(before[0].row, before[0].record)], tmp_path / "out", issuer=settings,
                      register=reg, jobs=1)
    assert result.counts == {"written": 1}
    after = [i for i in due(ledger, date(2024, 5, 10), register=reg)
             if i.form == "compel-notice"]
    assert [(i.name, i.state, i.doc_number) for i in after] == [("龙飞", "issued", "龙乡教复〔2024〕1号")]
    with NumberRegister(reg) as register:
        [issued] = register.issued_documents(before[0].student_key)
    assert (issued.issue_date, issued.deadline) == (date(2024, 5, 2), date(2024, 5, 9))
    # A dry run promises nothing: no number, nothing recorded.
    dry = fb.batch("compel-notice", [(before[0].row, before[0].record)], tmp_path / "dry", issuer=settings,
                   register=tmp_path / "dry.sqlite", dry_run=True)
    assert dry.items[0].doc_number == "龙乡教复〔2024〕（待分配）号"
    with NumberRegister(tmp_path / "dry.sqlite") as register:
        assert register.issued_documents() == []


_RACE = """
import json, sys
from pathlib import Path
import formkit.documents.batch as fb
records = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
settings = fb.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08", "number_prefix=石镇教复"])
result = fb.batch("return-notice", records, sys.argv[2], issuer=settings, register=sys.argv[3], jobs=1)
print(json.dumps({i.name: i.doc_number for i in result.items}, ensure_ascii=False))
"""


def test_two_concurrent_batches_share_one_register_correctly(tmp_path: Path) -> None:
    reg = tmp_path / "reg.sqlite"
    shared = students("同校", 20)
    jobs = []
    for side in ("a", "b"):
        roster = tmp_path / f"{side}.json"
        roster.write_text(json.dumps(students(side, 60) + shared, ensure_ascii=False), encoding="utf-8")
        jobs.append(subprocess.Popen([sys.executable, "-c", _RACE, str(roster), str(tmp_path / side), str(reg)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for job in jobs:
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    a, b = results
    # A student in both batches has one number; different students never share one; no gaps.
    assert all(a[name] == b[name] for name in a if name in b)
    numbers = {**a, **b}
    assert len(numbers) == 140 and len(set(numbers.values())) == 140
    assert sorted(int(n.split("〕")[1].rstrip("号")) for n in numbers.values()) == list(range(1, 141))
    with NumberRegister(reg) as register:
        assert register.numbers_for([("石镇教复", 2024, "return-notice", "新|学生|")]) == [141]


def test_every_row_validated_before_writing_and_again_only_where_rendered(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = validate_record

    def counting(spec: Any, data: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(spec, data, **kw)

    monkeypatch.setattr(fb, "validate_record", counting)
    records = students("学生", 40)
    records[3]["student"]["name"] = ""  # invalid: checked once, never rendered
    original = json.dumps(records, ensure_ascii=False)
    planned = fb.batch("return-notice", records, tmp_path / "dry", issuer=SETTINGS, register=tmp_path / "r.sqlite",
                       jobs=1, dry_run=True, skip_invalid=True)
    assert len(calls) == 40 and not (tmp_path / "dry").exists()
    calls.clear()
    result = fb.batch("return-notice", records, tmp_path / "out", issuer=SETTINGS, register=tmp_path / "r.sqlite",
                      jobs=1, skip_invalid=True)
    # pass 1 checks all 40; pass 2 validates the 39 it renders (no model or context is kept per row)
    assert result.counts == {"written": 39, "skipped-invalid": 1} and len(calls) == 40 + 39
    assert [i.file for i in result.items] == [i.file for i in planned.items]
    assert json.dumps(records, ensure_ascii=False) == original  # the caller's records are not touched
    text = docx_text((tmp_path / "out" / result.items[7].file).read_bytes())
    assert "学生8" in text and "石镇教复〔2024〕8号" in text


def test_workers_give_the_same_documents_as_one_process(tmp_path: Path) -> None:
    records = students("学生", 60)
    records[5]["student"]["name"] = ""  # refused in a worker's pass 1 as in the batch process
    made = {jobs: fb.batch("return-notice", records, tmp_path / f"out{jobs}", issuer=SETTINGS, jobs=jobs,
                           register=tmp_path / f"r{jobs}.sqlite", skip_invalid=True) for jobs in (1, 2)}
    shown = {jobs: [(i.row, i.file, i.doc_number, i.sha256, i.status) for i in r.items] for jobs, r in made.items()}
    assert shown[1] == shown[2] and made[2].counts == {"written": 59, "skipped-invalid": 1}
    assert [(r, [p.code for p in ps]) for r, ps in made[2].invalid] == [(6, ["required"])]


def test_roster_changed_between_the_passes_stops_before_rendering_the_changed_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    roster = tmp_path / "名单.csv"
    header = ["序号", "学生姓名", "性别", "出生日期", "学校", "年级", "班级", "监护人", "联系电话", "家庭住址", "辍学时间"]

    def save(names: list[str]) -> None:
        with roster.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for i, name in enumerate(names, 1):
                writer.writerow([i, name, "男", "2012-03-15", "石门镇中心小学", "五年级", "1班", f"{name}家长",
                                 "13985120001", "石门镇白岩村", "2024-02-26"])

    names = [f"学生{i}" for i in range(60)]
    save(names)
    real = fb.roster_rows
    reads: list[int] = []

    def clerk_saves_meanwhile(*args: Any, **kw: Any) -> Any:
        reads.append(1)
        if len(reads) == 2:  # between pass 1 and pass 2 the clerk blanks row 50's name
            save([*names[:48], "", *names[49:]])
        return real(*args, **kw)

    monkeypatch.setattr(fb, "roster_rows", clerk_saves_meanwhile)
    monkeypatch.setattr(fb, "CHUNK", 4)
    with pytest.raises(fb.InputFileError) as err:
        fb.batch("return-notice", roster, tmp_path / "out", issuer=SETTINGS, register=tmp_path / "r.sqlite", jobs=1)
    assert err.value.code == "roster-changed" and "第50行" in str(err.value)
    made = {p.name for p in (tmp_path / "out").glob("*.docx")}
    assert made and not any("学生48" in n for n in made) and len(made) < 60
    monkeypatch.setattr(fb, "roster_rows", real)
    with pytest.raises(fb.InvalidRosterError):  # the re-run sees the blank name and refuses, as any run does
        fb.batch("return-notice", roster, tmp_path / "out", issuer=SETTINGS, register=tmp_path / "r.sqlite", jobs=1)


def test_journal_lines_only_for_files_already_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fb, "CHUNK", 4)
    real = fio.FileGroup.commit
    commits: list[int] = []

    def failing(self: fio.FileGroup) -> list[Path]:
        commits.append(1)
        if len(commits) == 3:
            raise OSError(28, "No space left on device")
        return real(self)  # the names found taken meanwhile

    monkeypatch.setattr(fio.FileGroup, "commit", failing)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        fb.batch("return-notice", students("学生", 30), out, issuer=SETTINGS, register=tmp_path / "r.sqlite", jobs=1)
    [journal] = out.glob(fb.JOURNAL_PREFIX + "*.jsonl")
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 8  # two chunks of four were synced and journalled; the third never was
    for entry in entries:
        assert hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    assert sorted(p.name for p in out.glob("*.docx")) == sorted(e["file"] for e in entries)
    assert not list(out.glob(fio.TEMP_PREFIX + "*"))
    # The next run resumes: the journalled files are formkit's own and come out unchanged.
    monkeypatch.setattr(fio.FileGroup, "commit", real)
    again = fb.batch("return-notice", students("学生", 30), out, issuer=SETTINGS, register=tmp_path / "r.sqlite",
                     jobs=1)
    assert again.counts == {"unchanged": 8, "written": 22}


def test_file_group_writes_all_or_leaves_targets_untouched(tmp_path: Path) -> None:
    kept = tmp_path / "kept.docx"
    kept.write_bytes(b"old")
    with fio.FileGroup() as group:
        group.add(kept, b"new")
        group.add(tmp_path / "fresh.docx", b"fresh")
    assert kept.read_bytes() == b"old" and not (tmp_path / "fresh.docx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["kept.docx"]
    with fio.FileGroup() as group:
        group.add(kept, b"new")
        group.add(tmp_path / "fresh.docx", b"fresh")
        group.commit()
    assert kept.read_bytes() == b"new" and (tmp_path / "fresh.docx").read_bytes() == b"fresh"


def context(name: str) -> dict[str, Any]:
    spec = get_form("return-notice")
    rec = json.loads(json.dumps(RECORDS[0]))
    rec["student"]["name"] = name
    rec["issuer"] = {"body": "石门镇人民政府", "issue_date": "2024-04-08", "doc_number": "石镇教复〔2024〕3号"}
    return build_context(spec, validate_record(spec, rec))


def test_engine_output_is_deterministic_and_a_complete_package() -> None:
    data = load_template_bytes("return-notice")
    ctx = context("王小明")
    first = CompiledTemplate(data, "return-notice.docx").render(ctx)
    assert CompiledTemplate(data, "return-notice.docx").render(ctx) == first
    assert CompiledTemplate(data, "return-notice.docx").render(context("王小明")) == first
    with zipfile.ZipFile(io.BytesIO(first)) as package, zipfile.ZipFile(io.BytesIO(data)) as source:
        assert package.testzip() is None
        assert sorted(package.namelist()) == sorted(source.namelist())
        assert package.read("word/styles.xml") == source.read("word/styles.xml")
    text = docx_text(first)
    assert "王小明" in text and "石镇教复〔2024〕3号" in text and "受送达人\n（签字）" in text


def test_listing_characters_in_data_still_become_breaks() -> None:
    data = load_template_bytes("return-notice")
    rendered = CompiledTemplate(data, "return-notice.docx").render(context("王\n小明"))
    with zipfile.ZipFile(io.BytesIO(rendered)) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    assert "王</w:t><w:br/>" in xml and "王\n小明" not in xml


@pytest.mark.parametrize("xml", [
    '\n<w:document><w:body><w:p><w:r><w:t>a\nb</w:t></w:r></w:p><w:p w:x="1"><w:r><w:t>c</w:t></w:r></w:p></w:body>',
    "<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>tab\there</w:t></w:r></w:p>\n<w:p><w:r><w:t>x\ay\fz</w:t></w:r></w:p>",
    # A paragraph inside a text box inside a paragraph: docxtpl's scan ends the outer match at the
    # inner </w:p>, so the outer tail is left alone; ours must delimit the same way.
    "<w:p><w:r><w:t>o\n1</w:t></w:r><w:txbx><w:p><w:r><w:t>i\n2</w:t></w:r></w:p></w:txbx>"
    "<w:r><w:t>t\n3</w:t></w:r></w:p><w:p><w:r><w:t>n\n4</w:t></w:r></w:p>",
    "<w:pPr>\n</w:pPr><w:p >no close\n",
    "plain text\nwithout paragraphs",
])
def test_listing_resolution_matches_docxtpl(xml: str) -> None:
    assert _resolve_listing(xml) == DocxTemplate.resolve_listing(cast(Any, None), xml)
