from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import formkit.documents.batch as fb
from formkit.cli import cli
from formkit.documents.engine import docx_text
from tests.helpers import ROOT, SAMPLES, needs_soffice

RECORDS: list[dict[str, Any]] = json.loads((SAMPLES / "records.json").read_text(encoding="utf-8"))
SETTINGS = fb.load_settings(None, ["body=石门镇人民政府", "issue_date=2024-04-08", "number_prefix=石镇教复"])


def run(out: Path, reg: Path, source: Any = None, **kw: Any) -> fb.BatchResult:
    return fb.batch("return-notice", source if source is not None else SAMPLES / "roster.xlsx", out,
                    issuer=SETTINGS, register=reg, jobs=kw.pop("jobs", 1), **kw)


def test_roster_to_documents_with_numbers_and_manifest(tmp_path: Path) -> None:
    result = run(tmp_path / "out", tmp_path / "reg.sqlite")
    assert result.counts == {"written": 12}
    first = result.items[0]
    assert first.file == "001_石门镇中心小学_王小明_辍学生返校通知书.docx"
    assert first.doc_number == "石镇教复〔2024〕1号" and first.id_masked.startswith("5201****")
    text = docx_text((tmp_path / "out" / first.file).read_bytes())
    assert "石镇教复〔2024〕1号" in text and "王小明" in text and "石门镇人民政府" in text
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [i["file"] for i in manifest["items"]] == [i.file for i in result.items]
    with (tmp_path / "out" / "manifest.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["工作表", "行号", "学生", "身份证号", "文号"] and len(rows) == 13


def test_numbers_reused_for_same_student_never_for_another(tmp_path: Path) -> None:
    reg = tmp_path / "reg.sqlite"
    first = run(tmp_path / "a", reg)
    second = run(tmp_path / "b", reg, source=list(reversed(RECORDS)))
    by_name = {i.name: i.doc_number for i in first.items}
    assert {i.name: i.doc_number for i in second.items} == by_name
    newcomer = json.loads(json.dumps(RECORDS[0]))
    newcomer["student"].update(name="新同学", id_number="520121201305120354", xjh=None)
    third = run(tmp_path / "c", reg, source=[newcomer])
    assert third.items[0].doc_number == "石镇教复〔2024〕13号"
    assert third.items[0].doc_number not in by_name.values()


def test_invalid_rows_stop_everything_and_name_row_and_column(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(RECORDS))
    bad[2]["guardian"]["phone"] = "123"
    bad[5]["student"]["id_number"] = bad[5]["student"]["id_number"][:17] + "0"
    with pytest.raises(fb.InvalidRosterError) as err:
        run(tmp_path / "out", tmp_path / "reg.sqlite", source=bad)
    text = str(err.value)
    assert "第3行“联系电话”列" in text and "第6行“身份证号”列" in text
    assert bad[5]["student"]["id_number"] not in text
    assert not (tmp_path / "out").exists()
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=bad, skip_invalid=True)
    assert result.counts == {"written": 10, "skipped-invalid": 2}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [i["row"] for i in manifest["invalid"]] == [3, 6]


def test_gbk_csv_with_header_synonyms(tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    rec = RECORDS[0]
    lines = ["青山县石门镇学生名单", "姓名,身份证号码,学校名称,家长姓名,家长电话,辍学时间,关系",
             f"{rec['student']['name']},{rec['student']['id_number']},石门镇中心小学,王建国,13885120001,2024年3月4日,父"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=path)
    assert result.counts == {"written": 1} and result.items[0].row == 3
    assert "2024年3月4日" in docx_text((tmp_path / "out" / result.items[0].file).read_bytes())


def test_names_are_sanitised_and_collisions_get_suffixes(tmp_path: Path) -> None:
    a = json.loads(json.dumps(RECORDS[0]))
    a["student"].update(name="../../etc/passwd", id_number=None, xjh=None)
    a["school"]["school"] = "CON"
    b = json.loads(json.dumps(a))
    a["seq"] = b["seq"] = 7
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=[a, b])
    files = sorted(p.name for p in (tmp_path / "out").glob("*.docx"))
    assert len(files) == 2 and all("/" not in f and ".." not in f for f in files)
    assert files[0].endswith("_2.docx") or files[1].endswith("_2.docx")
    assert all((tmp_path / "out" / i.file).resolve().parent == (tmp_path / "out").resolve() for i in result.items)


def test_rerun_keeps_clerk_edits_unless_force(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", tmp_path / "reg.sqlite"
    run(out, reg)
    edited = out / "001_石门镇中心小学_王小明_辍学生返校通知书.docx"
    edited.write_bytes(b"edited by a clerk")
    again = run(out, reg)
    assert again.counts == {"unchanged": 11, "kept-edited": 1}
    assert edited.read_bytes() == b"edited by a clerk"
    forced = run(out, reg, overwrite=True)
    assert forced.counts == {"unchanged": 11, "updated": 1} and edited.read_bytes().startswith(b"PK")


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", dry_run=True)
    assert not (tmp_path / "out").exists() and {i.status for i in result.items} == {"planned"}
    assert result.items[0].doc_number.endswith("（待分配）号")


def test_parallel_equals_serial(tmp_path: Path) -> None:
    serial = run(tmp_path / "s", tmp_path / "reg.sqlite")
    parallel = run(tmp_path / "p", tmp_path / "reg.sqlite", jobs=2)
    assert [i.sha256 for i in serial.items] == [i.sha256 for i in parallel.items]


def test_merged_docx(tmp_path: Path) -> None:
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", merge=True)
    text = docx_text((tmp_path / "out" / result.merged).read_bytes())
    assert all(r["student"]["name"] in text for r in RECORDS)


@needs_soffice
def test_pdf_and_bookmarked_merge(tmp_path: Path) -> None:
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", pdf=True, merge=True, jobs=2,
                 source=RECORDS[:4])
    reader = PdfReader(tmp_path / "out" / "merged.pdf")
    assert [o.title for o in reader.outline] == [f"{i + 1:03d} {r['student']['name']}" for i, r in enumerate(RECORDS[:4])]
    assert all((tmp_path / "out" / i.pdf).is_file() for i in result.items)


def test_cli_batch_and_json_parity(tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"  # away from samples/formkit.toml, so only --set applies
    roster.write_bytes((SAMPLES / "roster.xlsx").read_bytes())
    args = ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"),
            "--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08", "--set", "number_prefix=石镇教复",
            "--register", str(tmp_path / "reg.sqlite"), "--jobs", "1"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "新生成 12 份" in first.output
    again = CliRunner().invoke(cli, [*args, "--json"])
    lib = run(tmp_path / "out", tmp_path / "reg.sqlite", source=roster)
    assert json.loads(again.output) == lib.to_dict()
    bad = CliRunner().invoke(cli, [*args[:3], "-o", str(tmp_path / "x"), "--set", "oops"])
    assert bad.exit_code == 2 and "键=值" in bad.output


def test_kill_midway_then_rerun_equals_clean_run(tmp_path: Path) -> None:
    roster = tmp_path / "big.json"
    many = []
    from formkit.core.validators import id_check_char

    for i in range(300):
        rec = json.loads(json.dumps(RECORDS[i % 12]))
        first17 = f"5201{i // 100}{i // 10 % 10}{rec['student']['birth_date'].replace('-', '')}{i % 10}0{1 if rec['student']['sex'] == '男' else 2}"
        rec["student"].update(id_number=first17 + id_check_char(first17), xjh=None, name=f"{rec['student']['name']}{i}")
        rec["seq"] = i + 1
        many.append(rec)
    roster.write_text(json.dumps(many, ensure_ascii=False), encoding="utf-8")
    def args(out: str, reg: str) -> list[str]:
        return [sys.executable, "-m", "formkit.cli", "batch", "return-notice", str(roster), "-o", str(tmp_path / out),
                "--set", "body=石门镇人民政府", "--set", "issue_date=2024-04-08", "--set", "number_prefix=石镇教复",
                "--register", str(tmp_path / reg), "--jobs", "1"]

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(args("out", "reg.sqlite"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "out").glob("*.docx"))) < 60:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < len(list((tmp_path / "out").glob("*.docx"))) < 300
    assert not (tmp_path / "out" / "manifest.json").exists()
    subprocess.run(args("out", "reg.sqlite"), env=env, check=True, capture_output=True)
    subprocess.run(args("clean", "reg2.sqlite"), env=env, check=True, capture_output=True)
    got = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    want = json.loads((tmp_path / "clean" / "manifest.json").read_text(encoding="utf-8"))
    key = [(i["file"], i["sha256"], i["doc_number"]) for i in got["items"]]
    assert key == [(i["file"], i["sha256"], i["doc_number"]) for i in want["items"]]
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".formkit")]
    assert leftovers == []


def test_config_found_next_to_roster_and_missing_issuer_is_one_clear_error(tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes((SAMPLES / "roster.xlsx").read_bytes())
    base = ["batch", "return-notice", str(roster), "-o", str(tmp_path / "out"), "--register", str(tmp_path / "r.sqlite"),
            "--jobs", "1"]
    missing = CliRunner().invoke(cli, base)
    assert missing.exit_code == 2 and "发文单位、发文日期" in missing.output and "--set" in missing.output
    (tmp_path / "formkit.toml").write_text((SAMPLES / "formkit.toml").read_text(encoding="utf-8"), encoding="utf-8")
    found = CliRunner().invoke(cli, base)
    assert found.exit_code == 0, found.output
    assert "formkit.toml" in found.output and "新生成 12 份" in found.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["items"][0]["doc_number"] == "石镇教复〔2024〕1号"


def test_manifest_is_the_result_as_json(tmp_path: Path) -> None:
    result = run(tmp_path / "out", tmp_path / "reg.sqlite", source=RECORDS[:3])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")) == result.to_dict()
