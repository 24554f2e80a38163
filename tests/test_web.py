"""The clerk's web desk through Starlette's TestClient: every page, and every safety rule."""

from __future__ import annotations

import base64
import io
import re
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import formkit
from formkit.cli import cli
from formkit.web.app import Desk, Limits, content_disposition, serve
from tests.helpers import ROOT, SAMPLES, filled_ledger_kept_once, make_id

BAD = ROOT / "tests" / "data" / "bad"
PAGES = {"/": "今天要办什么", "/generate": "生成文书", "/generate/one?form=return-notice": "逐项填写",
         "/ledgers": "检查台账", "/due": "待办文书", "/summary": "汇总上报", "/templates": "使用县里的模板"}
POSTS = ["/generate", "/generate/one", "/ledgers", "/ledgers/clear", "/ledgers/annotated", "/due",
         "/summary/workbook", "/summary/report", "/templates", "/templates/remove"]


class Clerk:
    """One browser: a TestClient with its cookies, and the page's CSRF token."""

    def __init__(self, tmp: Path, **options: Any) -> None:
        self.tmp = tmp
        self.register = tmp / "register.sqlite"
        self.desk = Desk(register=self.register, work_dir=tmp / "work", **options)
        self.http = TestClient(self.desk.app)

    @property
    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.http.get("/generate").text)
        assert found
        return found.group(1)

    def post(self, url: str, data: dict[str, str] | None = None, files: Any = None, follow: bool = True) -> Any:
        return self.http.post(url, data={"csrf": self.csrf, **(data or {})}, files=files, follow_redirects=follow)

    def wait(self, job_url: str) -> dict[str, Any]:
        for _ in range(600):
            state: dict[str, Any] = self.http.get(job_url + "/status").json()
            if state["finished"]:
                return state
            time.sleep(0.1)
        raise AssertionError("job did not finish")

    def upload_ledgers(self, *paths: Path) -> Any:
        return self.post("/ledgers", files=[("files", (p.name, p.read_bytes())) for p in paths])

    def upload_ledgers_bytes(self, name: str, data: bytes) -> str:
        response = self.post("/ledgers", files=[("files", (name, data))])
        assert response.status_code == 200
        return str(response.text)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def zip_of(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


@pytest.fixture
def clerk(tmp_path: Path) -> Clerk:
    return Clerk(tmp_path)


@pytest.mark.parametrize("url", list(PAGES))
def test_every_page_renders_in_chinese_without_outside_resources(clerk: Clerk, url: str) -> None:
    page = clerk.http.get(url)
    assert page.status_code == 200
    assert PAGES[url] in page.text and '<html lang="zh-CN">' in page.text
    # Offline: every script, style and link stays on this server.
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert clerk.http.get("/static/style.css").status_code == 200


@pytest.mark.parametrize("url", POSTS)
def test_every_post_without_the_csrf_token_is_refused(clerk: Clerk, url: str) -> None:
    clerk.http.get("/")
    missing = clerk.http.post(url, data={"form": "return-notice"})
    wrong = clerk.http.post(url, data={"csrf": "forged", "form": "return-notice"})
    for response in (missing, wrong):
        assert response.status_code == 403
        assert "安全校验未通过" in response.text


def test_csrf_token_belongs_to_one_browser_session(tmp_path: Path) -> None:
    alice, other = Clerk(tmp_path), None
    token = alice.csrf
    other = TestClient(alice.desk.app)
    refused = other.post("/ledgers/clear", data={"csrf": token})
    assert refused.status_code == 403


def test_roster_batch_numbers_from_the_register_and_downloads_once(clerk: Clerk) -> None:
    response = clerk.post("/generate", {"form": "return-notice", "merge": "1"}, files={
        "roster": ("roster.xlsx", (SAMPLES / "roster.xlsx").read_bytes()),
        "config": ("formkit.toml", (SAMPLES / "formkit.toml").read_bytes())}, follow=False)
    assert response.status_code == 303
    job = response.headers["location"]
    assert clerk.wait(job)["error"] == ""
    page = text(clerk.http.get(job).text)
    assert "石镇教复〔2024〕1号" in page and "已生成 12 份" in page
    download = clerk.http.get(job + "/download")
    disposition = download.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("辍学生返校通知书_")
    archive = zip_of(download)
    names = archive.namelist()
    assert any(n.endswith("manifest.json") for n in names) and any(n.endswith("merged.docx") for n in names)
    first = next(n for n in names if n.endswith(".docx") and "王小明" in n)
    body = docx_text(archive.read(first))
    assert "王小明" in body and "石门镇人民政府" in body
    # The same register as the CLI: asking the library again gives the same numbers.
    again = formkit.batch("return-notice", SAMPLES / "roster.xlsx", clerk.register.parent / "dry", dry_run=True,
                          issuer=formkit.load_settings(SAMPLES / "formkit.toml"), register=clerk.register)
    assert [i.doc_number for i in again.items][:2] == ["石镇教复〔2024〕1号", "石镇教复〔2024〕2号"]
    # Downloaded once: the session's copy is gone and a second download is refused.
    assert clerk.http.get(job + "/download").status_code == 409
    assert "临时文件已删除" in clerk.http.get(job).text
    job_id = job.rsplit("/", 1)[1]
    (kept,) = [sess.jobs[job_id] for sess in clerk.desk.store.sessions.values() if job_id in sess.jobs]
    assert not kept.out_dir.exists()


def test_issuer_settings_are_remembered_between_visits(clerk: Clerk) -> None:
    clerk.post("/generate", {"form": "return-notice", "issuer_body": "龙井乡人民政府", "issuer_number_prefix": "龙教复"},
               files={"roster": ("名单.csv", "姓名\n".encode())})
    assert "formkit_issuer" in clerk.http.cookies
    page = clerk.http.get("/generate").text
    assert 'value="龙井乡人民政府"' in page and 'value="龙教复"' in page


def test_invalid_roster_rows_are_listed_by_row_and_column_before_anything_is_generated(clerk: Clerk) -> None:
    good, bad = make_id(), make_id(seq="021")[:-1] + ("0" if make_id(seq="021")[-1] != "0" else "1")
    roster = ("姓名,身份证号,学校,监护人姓名,辍学时间\n"
              f"张三,{good},石门镇中心小学,张大山,2024-03-01\n"
              f"李四,{bad},石门镇中心小学,李大山,2024-03-01\n").encode()
    page = clerk.post("/generate", {"form": "return-notice", "issuer_body": "石门镇人民政府",
                                    "issuer_issue_date": "2024-04-08"}, files={"roster": ("名单.csv", roster)})
    shown = text(page.text)
    assert "还没有生成任何文书" in shown and "第3行" in shown and "身份证号" in shown and "id-checksum" in shown
    assert bad not in page.text and bad[:4] + "**********" in page.text
    assert not clerk.desk.store.sessions[next(iter(clerk.desk.store.sessions))].jobs


def test_hostile_roster_gets_the_same_words_as_the_cli(clerk: Clerk, tmp_path: Path) -> None:
    copy = tmp_path / "truncated.xlsx"
    shutil.copyfile(BAD / "truncated.xlsx", copy)
    with pytest.raises(formkit.InputFileError) as expected:
        formkit.batch("return-notice", copy, tmp_path / "out", dry_run=True,
                      issuer={"issuer.body": "x", "issuer.issue_date": "2024-04-08"})
    page = clerk.post("/generate", {"form": "return-notice", "issuer_body": "x", "issuer_issue_date": "2024-04-08"},
                      files={"roster": ("truncated.xlsx", copy.read_bytes())})
    words = str(expected.value).split(str(copy))[-1].strip("：:，。 ")
    assert words and words in text(page.text)


def test_one_record_form_comes_from_the_model_and_shows_errors_beside_fields(clerk: Clerk) -> None:
    form = clerk.http.get("/generate/one?form=return-notice").text
    assert '<select name="guardian.relation"' in form and "<option>母亲</option>" in form
    assert 'name="case.dropout_date"' in form and "监护人姓名" in form
    wrong_id = make_id()[:-1] + ("1" if make_id()[-1] != "1" else "2")
    data = {"form": "return-notice", "student.name": "<script>alert(1)</script>", "student.id_number": wrong_id,
            "school.school": "石门镇中心小学", "guardian.name": "张大山", "case.dropout_date": "2024-03-01",
            "issuer.body": "石门镇人民政府", "issuer.issue_date": "2024-04-08"}
    page = clerk.post("/generate/one", data).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The typed ID goes back only into its own input (so the clerk can correct one digit); every
    # message shows it masked.
    assert wrong_id not in re.sub(r'value="[^"]*"', "", page) and wrong_id[:4] + "**********" in page
    beside = re.search(r'name="student.id_number".*?</label>', page, re.S)
    assert beside and "field-error" in beside.group(0) and "校验" in beside.group(0)

    data.update({"student.name": "张小三", "student.id_number": make_id(), "number_prefix": "石镇教复"})
    response = clerk.post("/generate/one", data, follow=False)
    assert response.status_code == 303
    clerk.wait(response.headers["location"])
    archive = zip_of(clerk.http.get(response.headers["location"] + "/download"))
    (document,) = [n for n in archive.namelist() if n.endswith(".docx")]
    body = docx_text(archive.read(document))
    assert "张小三" in body and "石镇教复〔2024〕1号" in body
    assert 'value="石门镇人民政府"' in clerk.http.get("/generate/one?form=compel-notice").text


def test_ledger_check_findings_filters_and_annotated_copy(clerk: Clerk) -> None:
    page = text(clerk.upload_ledgers(SAMPLES / "ledger-filled.xlsx", SAMPLES / "ledger-b.xlsx").text)
    report = formkit.check_ledger([SAMPLES / "ledger-filled.xlsx", SAMPLES / "ledger-b.xlsx"])
    assert f"{report.counts['error']} 个错误" in page
    checksum = next(f for f in report.findings if f.code == "id-checksum")
    assert f"{checksum.cell}" in page and checksum.message in page
    warnings = text(clerk.http.get("/ledgers?severity=warning").text)
    assert "compel-notice-due" in warnings.split("代码", 2)[-1] and "id-checksum" not in warnings.split("代码", 2)[-1]
    only = text(clerk.http.get("/ledgers?code=id-checksum").text)
    assert f"显示 {sum(1 for f in report.findings if f.code == 'id-checksum')} /" in only
    archive = zip_of(clerk.post("/ledgers/annotated"))
    name = next(n for n in archive.namelist() if n.startswith("ledger-filled"))
    book = openpyxl.load_workbook(io.BytesIO(archive.read(name)))
    assert book[checksum.sheet][checksum.cell].comment is not None


def test_unreadable_ledger_gives_the_cli_words_without_the_server_path(clerk: Clerk, tmp_path: Path) -> None:
    copy = tmp_path / "zip-bomb.xlsx"
    shutil.copyfile(BAD / "zip-bomb.xlsx", copy)
    (summary,) = formkit.check_ledger([copy]).files
    assert summary.error
    page = clerk.upload_ledgers(copy).text
    assert summary.error.replace(str(copy), "zip-bomb.xlsx") in page
    assert str(clerk.desk.store.base) not in page


def test_zip_of_a_folder_is_extracted_and_traversal_is_refused(clerk: Clerk) -> None:
    folder = io.BytesIO()
    with zipfile.ZipFile(folder, "w") as archive:
        archive.write(SAMPLES / "ledger-filled.xlsx", "石门镇/ledger-filled.xlsx")
        archive.write(SAMPLES / "ledger-b.xlsx", "石门镇/ledger-b.xlsx")
        archive.writestr("石门镇/说明.txt", "不是台账")
    page = text(clerk.upload_ledgers_bytes("石门镇.zip", folder.getvalue()))
    assert "ledger-filled.xlsx" in page and "ledger-b.xlsx" in page

    hostile = io.BytesIO()
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.write(SAMPLES / "ledger-b.xlsx", "../../escaped.xlsx")
    page = text(clerk.upload_ledgers_bytes("evil.zip", hostile.getvalue()))
    assert "路径不安全" in page
    assert not list(clerk.tmp.rglob("escaped.xlsx"))


def test_zip_bomb_archive_is_refused_before_inflating(tmp_path: Path) -> None:
    clerk = Clerk(tmp_path)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xlsx", b"\0" * (60 * 1024 * 1024))
    page = text(clerk.upload_ledgers_bytes("bomb.zip", bomb.getvalue()))
    assert "压缩炸弹" in page


def test_upload_size_and_count_limits(tmp_path: Path) -> None:
    clerk = Clerk(tmp_path, limits=Limits(max_request_bytes=50_000, max_files=2))
    big = clerk.post("/ledgers", files=[("files", ("big.xlsx", b"x" * 60_000))])
    assert big.status_code == 413 and "上限" in big.text
    many = clerk.post("/ledgers", files=[("files", (f"{i}.xlsx", b"x")) for i in range(3)])
    assert many.status_code == 413 and "一次最多上传 2 个文件" in many.text


def test_due_list_and_generating_the_due_paperwork(clerk: Clerk, tmp_path: Path) -> None:
    filled = filled_ledger_kept_once(tmp_path)
    clerk.upload_ledgers(filled)
    items = formkit.due([filled])
    page = text(clerk.http.get("/due").text)
    assert f"共 {len(items)} 项" in page and items[0].title in page and items[0].reason in page
    response = clerk.post("/due", {"issuer_body": "龙井乡人民政府", "issuer_issue_date": "2024-04-20"}, follow=False)
    assert response.status_code == 303
    assert clerk.wait(response.headers["location"])["error"] == ""
    archive = zip_of(clerk.http.get(response.headers["location"] + "/download"))
    wanted = {i.title for i in items if i.form}
    folders = {n.split("/")[0] for n in archive.namelist()}
    assert wanted <= folders
    compel = next(n for n in archive.namelist() if n.startswith("敦返复学通知书/") and n.endswith("通知书.docx"))
    assert "龙井乡人民政府" in docx_text(archive.read(compel))


def test_summary_page_charts_workbook_and_monthly_report(clerk: Clerk) -> None:
    clerk.upload_ledgers(SAMPLES / "ledger-filled.xlsx", SAMPLES / "ledger-b.xlsx")
    page = clerk.http.get("/summary?month=2024-04").text
    figures = formkit.summary([SAMPLES / "ledger-filled.xlsx", SAMPLES / "ledger-b.xlsx"],
                              clerk.register.parent / "s.xlsx", "2024-04")
    assert page.count("<svg") >= 3 and "各校案例数" in page
    assert f"<b>{figures.totals()['cases']}</b>案例" in page
    workbook = clerk.post("/summary/workbook", {"month": "2024-04"})
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    assert len(book.sheetnames) >= 2
    report = clerk.post("/summary/report", {"month": "2024-04", "area": "石门镇"})
    assert "filename*=UTF-8''" in report.headers["content-disposition"]
    body = docx_text(report.content)
    assert "石门镇" in body and "2024年4月" in body


def test_template_upload_lints_and_is_used_for_the_session(clerk: Clerk, tmp_path: Path) -> None:
    shipped = (ROOT / "templates" / "docx" / "return-notice.docx").read_bytes()
    broken = _edit_docx(shipped, "student.name", "student.nmae")
    page = text(clerk.post("/templates", {"form": "return-notice"}, files={"template": ("县版.docx", broken)}).text)
    assert "有错误" in page and "nmae" in page and "未启用" in page
    marked = _edit_docx(shipped, "通知书", "县版通知书", count=1)
    page = text(clerk.post("/templates", {"form": "return-notice"}, files={"template": ("县版.docx", marked)}).text)
    assert "检查通过" in page and "将使用这个模板" in page
    response = clerk.post("/generate", {"form": "return-notice", "issuer_body": "石门镇人民政府",
                                        "issuer_issue_date": "2024-04-08"},
                          files={"roster": ("roster.xlsx", (SAMPLES / "roster.xlsx").read_bytes())}, follow=False)
    clerk.wait(response.headers["location"])
    archive = zip_of(clerk.http.get(response.headers["location"] + "/download"))
    first = next(n for n in archive.namelist() if n.endswith("通知书.docx"))
    assert "县版通知书" in docx_text(archive.read(first))
    clerk.post("/templates/remove", {"form": "return-notice"})
    assert "正在使用的模板" not in clerk.http.get("/templates").text


def _edit_docx(data: bytes, old: str, new: str, count: int = -1) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                assert old.encode() in body
                body = body.decode("utf-8").replace(old, new, count).encode("utf-8")
            target.writestr(info, body)
    return out.getvalue()


def test_idle_sessions_are_deleted(clerk: Clerk) -> None:
    clerk.upload_ledgers(SAMPLES / "ledger-b.xlsx")
    (session,) = clerk.desk.store.sessions.values()
    assert session.root.exists()
    clerk.desk.store.sweep(now=time.monotonic() + clerk.desk.store.idle_seconds + 1)
    assert not session.root.exists() and not clerk.desk.store.sessions


def test_password_is_required_when_set(tmp_path: Path) -> None:
    clerk = Clerk(tmp_path, password="秘密123")
    assert clerk.http.get("/").status_code == 401
    token = base64.b64encode("科员:秘密123".encode()).decode()
    assert clerk.http.get("/", headers={"Authorization": f"Basic {token}"}).status_code == 200
    wrong = base64.b64encode(b"x:nope").decode()
    assert clerk.http.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401


def test_non_loopback_host_needs_a_password() -> None:
    with pytest.raises(formkit.UsageError, match="--password"):
        serve("0.0.0.0", 8765)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--password" in result.output


def test_serve_on_the_network_warns_and_desk_opens_the_browser(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from formkit.web import app as web

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    serve("0.0.0.0", 8765, password="口令")
    assert ran[-1]["host"] == "0.0.0.0"
    assert "个人信息会经网络传输" in capsys.readouterr().err
    opened: list[dict[str, Any]] = []
    monkeypatch.setattr(web, "serve", lambda host, port, **kw: opened.append({"host": host, "port": port, **kw}))
    web.desk()
    assert opened == [{"host": "127.0.0.1", "port": opened[0]["port"], "open_browser": True}]


def test_content_disposition_carries_chinese_names_safely() -> None:
    header = content_disposition("../石门镇/汇总 表.xlsx")
    fallback, star = header.split("; filename*=UTF-8''")
    assert fallback.isascii() and "/" not in fallback and ".." not in fallback
    assert unquote(star) == "汇总 表.xlsx"
