"""The clerk's desk: formkit's whole day of work as local web pages (Starlette on uvicorn).

Pages are rendered on the server (Jinja, autoescaped) and work without JavaScript; the
one script only makes the progress bar smoother. Everything runs on the clerk's own
machine: the server binds to 127.0.0.1 unless told otherwise, and then only behind a
password. Each browser session works in its own temporary folder.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import sys
import threading
import webbrowser
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from formkit import (
    BatchResult,
    FormkitError,
    InputFileError,
    InvalidRosterError,
    LedgerReport,
    RecordError,
    Settings,
    Summary,
    UsageError,
    __version__,
    annotate,
    batch,
    check_ledger,
    check_template,
    due,
    due_record,
    forms,
    get_form,
    load_settings,
    render,
    report_record,
    summary,
    validate_record,
)
from formkit.documents.batch import row_label
from formkit.web import fields as fl
from formkit.web.charts import stacked_bars
from formkit.web.state import (
    LEDGER_SUFFIXES,
    ROSTER_SUFFIXES,
    Job,
    Session,
    Store,
    extract_ledgers,
    safe_name,
    unique_path,
    zip_folder,
)

HERE = Path(__file__).parent
SESSION_COOKIE = "formkit_session"
ISSUER_COOKIE = "formkit_issuer"
ISSUER_FIELDS = (("body", "发文单位", "text"), ("issue_date", "发文日期", "date"), ("deadline", "期限（返校/入学）", "date"),
                 ("number_prefix", "文号前缀", "text"), ("contact", "联系人", "text"), ("contact_phone", "联系电话", "text"))
DUE_FORMS = ("dropout-report", "return-notice", "compel-notice")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_PORT = 8765

ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]


class Limits:
    """Upload limits for one request (the workbook guards still apply to every file)."""

    def __init__(self, max_request_bytes: int = 100 * 1024 * 1024, max_files: int = 50) -> None:
        self.max_request_bytes = max_request_bytes
        self.max_files = max_files


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the real (Chinese) name per RFC 5987."""
    name = safe_name(name, "download")
    stem, dot, suffix = name.rpartition(".")
    ascii_stem = "".join(c for c in stem if c.isascii() and (c.isalnum() or c in "_-"))
    # Browsers that ignore filename* get a plain name rather than a row of underscores.
    fallback = f"{ascii_stem if any(c.isalpha() for c in ascii_stem) else ('formkit-' + ascii_stem.strip('_-')).strip('-')}{dot}{suffix}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _Guard:
    """Outermost layer: password (non-loopback only), request size, and the session cookie."""

    def __init__(self, app: ASGIApp, store: Store, limits: Limits, password: str | None) -> None:
        self.app, self.store, self.limits, self.password = app, store, limits, password

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.password is not None and not self._authorised(headers.get("authorization", "")):
            await _plain(send, 401, "需要密码才能使用。", [(b"www-authenticate", b'Basic realm="formkit", charset="UTF-8"')])
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limits.max_request_bytes:
            await _plain(send, 413, self._too_large())
            return
        session = self.store.get(_cookie(headers.get("cookie", ""), SESSION_COOKIE))
        fresh = session is None
        if session is None:
            session = self.store.create()
        scope.setdefault("state", {})["session"] = session
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limits.max_request_bytes:
                raise HTTPException(413, self._too_large())
            return message

        async def with_cookie(message: Any) -> None:
            if fresh and message["type"] == "http.response.start":
                cookie = f"{SESSION_COOKIE}={session.id}; Path=/; HttpOnly; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, counted, with_cookie)

    def _too_large(self) -> str:
        return f"上传的内容超过 {self.limits.max_request_bytes // 1048576} MB 的上限。请分批上传，或只上传需要的文件。"

    def _authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _, _, given = base64.b64decode(token).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), (self.password or "").encode())


async def _plain(send: Any, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class Desk:
    """The web application and its state; ``app`` is the ASGI entry point."""

    def __init__(self, *, register: Path | None = None, work_dir: Path | None = None, idle_minutes: float = 60,
                 limits: Limits | None = None, password: str | None = None,
                 settings: Settings | None = None) -> None:
        self.register = register
        self.settings = settings or Settings()
        self.limits = limits or Limits()
        self.store = Store(work_dir, idle_minutes * 60)
        self.idle_minutes = idle_minutes
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(["html"], default=True), trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(version=__version__, idle_minutes=int(idle_minutes))
        self.env.filters["basename"] = lambda p: Path(str(p)).name
        self.env.globals["row_label"] = row_label
        routes = [
            Route("/", self.home),
            Route("/generate", self.generate_page),
            Route("/generate", self.posted(self.generate_roster), methods=["POST"]),
            Route("/generate/one", self.one_page),
            Route("/generate/one", self.posted(self.one_post), methods=["POST"]),
            Route("/jobs/{job}", self.job_page),
            Route("/jobs/{job}/status", self.job_status),
            Route("/jobs/{job}/download", self.job_download),
            Route("/ledgers", self.ledgers_page),
            Route("/ledgers", self.posted(self.ledgers_upload), methods=["POST"]),
            Route("/ledgers/clear", self.posted(self.ledgers_clear), methods=["POST"]),
            Route("/ledgers/annotated", self.posted(self.ledgers_annotated), methods=["POST"]),
            Route("/due", self.due_page),
            Route("/due", self.posted(self.due_generate), methods=["POST"]),
            Route("/summary", self.summary_page),
            Route("/summary/workbook", self.posted(self.summary_workbook), methods=["POST"]),
            Route("/summary/report", self.posted(self.summary_report), methods=["POST"]),
            Route("/templates", self.templates_page),
            Route("/templates", self.posted(self.templates_upload), methods=["POST"]),
            Route("/templates/remove", self.posted(self.templates_remove), methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        inner = Starlette(routes=routes, exception_handlers={HTTPException: self.http_error})  # type: ignore[dict-item]
        self.app = _Guard(inner, self.store, self.limits, password)

    def start_sweeper(self, every_seconds: float = 60) -> None:
        """Delete idle sessions even when nobody makes a request (a desk left running overnight)."""

        def loop() -> None:
            while True:
                threading.Event().wait(every_seconds)
                self.store.sweep()

        threading.Thread(target=loop, name="formkit-sweeper", daemon=True).start()

    # --- plumbing ---------------------------------------------------------------------

    @staticmethod
    def posted(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Close the uploaded files' spool files once the handler is done with them."""

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            finally:
                form = getattr(request.state, "form", None)
                if form is not None:
                    await form.close()

        return run

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = _session(request)
        context.setdefault("nav", template.removesuffix(".html"))
        for key in ("error", "message"):
            if isinstance(context.get(key), str):
                context[key] = self.clean(session, context[key])
        html = self.env.get_template(template).render(csrf=session.csrf, session=session, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        if "session" not in request.scope.get("state", {}):
            return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain; charset=utf-8")
        return self.page(request, "error.html", exc.status_code, message=exc.detail, nav="")

    async def form(self, request: Request) -> FormData:
        """The posted form, after the CSRF token check (every POST goes through here)."""
        try:
            data = await request.form(max_files=self.limits.max_files + 2, max_fields=2000)
            request.state.form = data
        except HTTPException:
            raise
        except Exception as exc:  # multipart parser: too many files or a malformed body
            raise HTTPException(400, f"上传的内容无法读取：{exc}。一次最多上传 {self.limits.max_files} 个文件。") from None
        token = data.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, _session(request).csrf):
            raise HTTPException(403, "页面已过期或不是从本页面提交的（安全校验未通过）。请返回页面刷新后再操作。")
        return data

    def issuer(self, request: Request) -> dict[str, str]:
        raw = request.cookies.get(ISSUER_COOKIE, "")
        try:
            saved = json.loads(base64.urlsafe_b64decode(raw.encode()).decode("utf-8")) if raw else {}
        except (ValueError, binascii.Error):
            saved = {}
        return {k: str(saved.get(k, "")) for k, _, _ in ISSUER_FIELDS} if isinstance(saved, dict) else {}

    @staticmethod
    def remember(response: Response, values: dict[str, str]) -> None:
        token = base64.urlsafe_b64encode(json.dumps(values, ensure_ascii=False).encode()).decode()
        response.set_cookie(ISSUER_COOKIE, token, max_age=365 * 86400, httponly=True, samesite="lax")

    async def save_uploads(self, files: list[UploadFile], folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
        files = [f for f in files if f.filename]
        if len(files) > self.limits.max_files:
            raise HTTPException(413, f"一次最多上传 {self.limits.max_files} 个文件，这次选了 {len(files)} 个。请分批上传。")
        saved = []
        for upload in files:
            name = safe_name(upload.filename or "")
            if not name.lower().endswith(suffixes):
                raise InputFileError(f"{name}：不支持这种文件。可以上传：{'、'.join(suffixes)}。", path=name,
                                     code="unsupported-file")
            dest = unique_path(folder, name)
            with dest.open("wb") as out:
                await upload.seek(0)
                shutil.copyfileobj(upload.file, out)
            saved.append(dest)
        return saved

    def report(self, session: Session, as_of: date) -> LedgerReport:
        key = ("report", tuple(session.ledgers), as_of)
        cached = session.cache.get("report")
        if cached is None or cached[0] != key:
            cached = (key, check_ledger(session.ledgers, as_of, settings=self.settings))
            session.cache["report"] = cached
        result: LedgerReport = cached[1]
        return result

    @staticmethod
    def clean(session: Session, text: str) -> str:
        """Library messages name files by path; the clerk sees the name they uploaded, not our temp folder."""
        return re.sub(re.escape(str(session.root)) + r"[^\s：，。；“”（）]*",
                      lambda m: Path(m.group(0)).name, text)

    def shown(self, session: Session, path: str) -> str:
        """A ledger's name as the clerk uploaded it, never the server's temp path."""
        try:
            return Path(path).relative_to(session.root / "ledgers").as_posix()
        except ValueError:
            return Path(path).name

    # --- pages ------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return self.page(request, "home.html")

    async def generate_page(self, request: Request) -> Response:
        return self.page(request, "generate.html", forms=forms(), issuer=self.issuer(request),
                         issuer_fields=ISSUER_FIELDS, chosen=request.query_params.get("form", "return-notice"))

    def _settings(self, data: FormData, base: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        settings = dict(base)
        remembered: dict[str, str] = {}
        for key, _, _ in ISSUER_FIELDS:
            value = data.get(f"issuer_{key}")
            if isinstance(value, str) and value.strip():
                settings[f"issuer.{key}"] = value.strip()
            current = settings.get(f"issuer.{key}")
            remembered[key] = "" if current is None else str(current)
        return settings, remembered

    async def generate_roster(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        form_name = str(data.get("form", ""))
        context: dict[str, Any] = {"forms": forms(), "issuer_fields": ISSUER_FIELDS, "chosen": form_name}
        try:
            spec = get_form(form_name)
            base: dict[str, Any] = {}
            config = data.get("config")
            if isinstance(config, UploadFile) and config.filename:
                path = (await self.save_uploads([config], session.folder("uploads"), (".toml",)))[0]
                base = load_settings(path)
            settings, remembered = self._settings(data, base)
            context["issuer"] = remembered
            roster_upload = data.get("roster")
            if not isinstance(roster_upload, UploadFile) or not roster_upload.filename:
                raise UsageError("请选择名单文件（xlsx、xls、csv 或 json）。")
            roster = (await self.save_uploads([roster_upload], session.folder("uploads"), ROSTER_SUFFIXES))[0]
            skip = data.get("skip_invalid") == "1"
            options = {"pdf": data.get("pdf") == "1", "merge": data.get("merge") == "1"}
            template = session.templates.get(spec.name)
            # The dry run validates every row (and reads the register) before anything is written.
            planned = await run_in_threadpool(
                lambda: batch(spec.name, roster, session.folder("dry"), issuer=settings, dry_run=True,
                              skip_invalid=skip, register=self.register, template=template, settings=self.settings))
        except InvalidRosterError as exc:
            # A township workbook holds one school per sheet: its rows are named with their sheet.
            rows = [(row_label(row, len(exc.sheets) > 1), p) for row, problems in exc.rows for p in problems]
            message = (f"{roster.name}：{len(exc.rows)} 行数据有问题，还没有生成任何文书。"
                       "请在名单里改正后重新上传，或勾选“跳过有错误的行”。")
            response = self.page(request, "generate.html", 200, invalid=rows, message=message, **context)
            self.remember(response, context["issuer"])
            return response
        except FormkitError as exc:
            typed = "issuer" in context
            context.setdefault("issuer", self.issuer(request))
            response = self.page(request, "generate.html", 200, error=str(exc), **context)
            if typed:
                self.remember(response, context["issuer"])
            return response

        def work(job: Job) -> None:
            job.phase = "正在生成文书"
            job.results.append(batch(spec.name, roster, job.out_dir / spec.title, issuer=settings, skip_invalid=skip,
                                     register=self.register, template=template, jobs=1,
                                     progress=_progress(job, options["pdf"]), pdf=options["pdf"],
                                     merge=options["merge"], settings=self.settings))

        job = session.start_job(f"{spec.title}（{roster.name}）", work, total=sum(1 for i in planned.items if i.file))
        job.zip_name = f"{spec.title}_{date.today().isoformat()}.zip"
        redirect = RedirectResponse(f"/jobs/{job.id}", status_code=303)
        self.remember(redirect, context["issuer"])
        return redirect

    async def one_page(self, request: Request) -> Response:
        spec = _form_or_404(request.query_params.get("form", "return-notice"))
        issuer = self.issuer(request)
        values = {f"issuer.{k}": v for k, v in issuer.items() if v}
        return self.page(request, "one.html", spec=spec, forms=forms(), group=fl.form_groups(spec, self.settings.enums), values=values,
                         placed={}, loose=[], number_prefix=issuer.get("number_prefix", ""), nav="generate")

    async def one_post(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        spec = _form_or_404(str(data.get("form", "")))
        group = fl.form_groups(spec, self.settings.enums)
        paths = fl.leaf_paths(group)
        values = {k: v for k, v in data.items() if isinstance(v, str) and k in paths}
        prefix = str(data.get("number_prefix", "")).strip()
        record = fl.record_from_form(values)
        try:
            validate_record(spec, record, settings=self.settings)
        except RecordError as exc:
            placed, loose = fl.problems_by_field(exc.problems, group)
            return self.page(request, "one.html", 200, spec=spec, forms=forms(), group=group, values=values,
                             placed=placed, loose=loose, number_prefix=prefix, nav="generate")
        settings = {"issuer.number_prefix": prefix} if prefix else {}
        template = session.templates.get(spec.name)
        name = str(record.get("student", {}).get("name", "")) or spec.title

        def work(job: Job) -> None:
            job.phase = "正在生成文书"
            job.results.append(batch(spec.name, [record], job.out_dir / spec.title, issuer=settings,
                                     register=self.register, template=template, jobs=1, progress=_progress(job, False),
                                     settings=self.settings))

        job = session.start_job(f"{spec.title}（{name}）", work)
        job.zip_name = f"{spec.title}_{safe_name(name)}.zip"
        response = RedirectResponse(f"/jobs/{job.id}", status_code=303)
        issuer = self.issuer(request)
        for key, _, _ in ISSUER_FIELDS:
            issuer[key] = values.get(f"issuer.{key}", issuer.get(key, ""))
        issuer["number_prefix"] = prefix
        self.remember(response, issuer)
        return response

    def job(self, request: Request) -> Job:
        job = _session(request).jobs.get(request.path_params["job"])
        if job is None:
            raise HTTPException(404, "找不到这项任务：可能已下载并清理，或长时间未操作已过期。请重新生成。")
        return job

    async def job_page(self, request: Request) -> Response:
        job = self.job(request)
        results: list[BatchResult] = job.results
        return self.page(request, "job.html", job=job, results=results, nav="generate",
                         status_names=STATUS_NAMES, error=job.error)

    async def job_status(self, request: Request) -> Response:
        return JSONResponse(self.job(request).to_dict(), headers={"Cache-Control": "no-store"})

    async def job_download(self, request: Request) -> Response:
        job = self.job(request)
        if not job.finished or job.error or job.downloaded:
            raise HTTPException(409, "这项任务还没有可下载的结果（尚未完成、出错或已下载过）。")
        archive = zip_folder(job.out_dir, job.out_dir.parent / f"{job.id}.zip", skip=lambda p: p.name.startswith("."))

        def cleanup() -> None:
            job.downloaded = True
            shutil.rmtree(job.out_dir, ignore_errors=True)
            archive.unlink(missing_ok=True)

        return FileResponse(archive, media_type="application/zip", background=BackgroundTask(cleanup),
                            headers={"Content-Disposition": content_disposition(job.zip_name)})

    # --- ledgers ----------------------------------------------------------------------

    def as_of(self, request: Request) -> date:
        text = request.query_params.get("as_of", "")
        try:
            return date.fromisoformat(text) if text else date.today()
        except ValueError:
            return date.today()

    async def ledgers_page(self, request: Request, error: str = "") -> Response:
        session = _session(request)
        if not session.ledgers:
            return self.page(request, "ledgers.html", report=None, error=error)
        when = self.as_of(request)
        report = await run_in_threadpool(self.report, session, when)
        schools = _schools(report)
        q = request.query_params
        chosen = {k: q.get(k, "") for k in ("school", "severity", "code", "file")}
        rows = []
        for f in report.findings:
            item = {"file": self.shown(session, f.file), "sheet": f.sheet, "row": f.row, "cell": f.cell,
                    "column": f.column, "code": f.code, "severity": f.severity, "message": f.message, "value": f.value,
                    "school": schools.get((f.file, f.row), "")}
            if all(not v or str(item[k]) == v for k, v in chosen.items()):
                rows.append(item)
        options = {
            "school": sorted({s for s in schools.values() if s}),
            "code": sorted({f.code for f in report.findings}),
            "file": sorted({self.shown(session, f.file) for f in report.findings}),
        }
        files = [{"name": self.shown(session, f.path), "sheet": f.sheet, "rows": f.rows,
                  "error": f.error.replace(f.path, self.shown(session, f.path)),
                  "errors": sum(1 for x in report.findings if x.file == f.path and x.severity == "error"),
                  "warnings": sum(1 for x in report.findings if x.file == f.path and x.severity != "error")}
                 for f in report.files]
        return self.page(request, "ledgers.html", report=report, rows=rows[:2000], total=len(rows), files=files,
                         options=options, chosen=chosen, as_of=when, error=error)

    async def ledgers_upload(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        uploads = [f for f in data.getlist("files") if isinstance(f, UploadFile)]
        target = session.folder("ledgers")
        added: list[Path] = []
        try:
            if not any(f.filename for f in uploads):
                raise UsageError("请先选择台账文件（.xlsx/.xls），或整个文件夹压缩成的 .zip。")
            for path in await self.save_uploads(uploads, session.folder("uploads"), (*LEDGER_SUFFIXES, ".zip")):
                if path.suffix.lower() == ".zip":
                    folder = unique_path(target, safe_name(path.stem))
                    added += extract_ledgers(path, path.name, folder, self.limits.max_files, self.settings.limits)
                else:
                    dest = unique_path(target, path.name)
                    path.replace(dest)
                    added.append(dest)
        except FormkitError as exc:
            return await self.ledgers_page(request, error=str(exc))
        if len(session.ledgers) + len(added) > self.limits.max_files * 4:
            for path in added:
                path.unlink(missing_ok=True)
            return await self.ledgers_page(request, error="本次会话上传的台账太多了。请先点“清除已上传的台账”，再分批检查。")
        session.ledgers += added
        return RedirectResponse("/ledgers", status_code=303)

    async def ledgers_clear(self, request: Request) -> Response:
        await self.form(request)
        session = _session(request)
        shutil.rmtree(session.root / "ledgers", ignore_errors=True)
        session.ledgers.clear()
        session.cache.clear()
        return RedirectResponse("/ledgers", status_code=303)

    async def ledgers_annotated(self, request: Request) -> Response:
        await self.form(request)
        session = _session(request)
        if not session.ledgers:
            raise HTTPException(409, "还没有上传台账。")
        report = await run_in_threadpool(self.report, session, self.as_of(request))
        folder = session.root / "annotated" / secrets.token_hex(4)
        written = await run_in_threadpool(annotate, report, folder)
        if not written:
            raise HTTPException(409, "没有可以标注的台账（文件都无法读取）。")
        archive = zip_folder(folder, folder.with_suffix(".zip"))
        return FileResponse(archive, media_type="application/zip",
                            background=BackgroundTask(_remove, folder, archive),
                            headers={"Content-Disposition": content_disposition(f"台账检查标注_{date.today().isoformat()}.zip")})

    # --- due and summary ------------------------------------------------------------------

    async def due_page(self, request: Request) -> Response:
        session = _session(request)
        when = self.as_of(request)
        items = due(await run_in_threadpool(self.report, session, when), when) if session.ledgers else []
        rows = [{**i.to_dict(), "file": self.shown(session, i.file)} for i in items]
        return self.page(request, "due.html", items=rows, as_of=when, issuer=self.issuer(request),
                         issuer_fields=ISSUER_FIELDS, generatable=sum(1 for i in items if i.form))

    async def due_generate(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        if not session.ledgers:
            raise HTTPException(409, "还没有上传台账。请先在“检查台账”页上传。")
        when = self.as_of(request)
        items = due(await run_in_threadpool(self.report, session, when), when)
        settings, remembered = self._settings(data, {})
        pdf = data.get("pdf") == "1"
        templates = dict(session.templates)
        register = self.register
        if not any(i.form for i in items):
            raise HTTPException(409, "截至今天没有需要生成的文书。")

        def work(job: Job) -> None:
            for form in DUE_FORMS:
                records = [(i.row, due_record(i, when)) for i in items if i.form == form]
                if not records:
                    continue
                title = get_form(form).title
                job.phase = f"正在生成{title}"
                job.results.append(batch(form, records, job.out_dir / title, issuer=settings, pdf=pdf, merge=True,
                                         skip_invalid=True, register=register, template=templates.get(form), jobs=1,
                                         progress=_progress(job, pdf), settings=self.settings))

        job = session.start_job("待办文书", work)
        job.zip_name = f"待办文书_{when.isoformat()}.zip"
        response = RedirectResponse(f"/jobs/{job.id}", status_code=303)
        self.remember(response, remembered)
        return response

    def figures(self, session: Session, month: str) -> tuple[Summary, Path]:
        key = ("summary", tuple(session.ledgers), month)
        cached = session.cache.get("summary")
        if cached is None or cached[0] != key:
            out = session.folder("summary") / "汇总.xlsx"
            # The session's own working copy: a later month replaces it.
            cached = (key, summary(session.ledgers, out, month or None, overwrite=True, settings=self.settings), out)
            session.cache["summary"] = cached
        return cached[1], cached[2]

    async def summary_page(self, request: Request) -> Response:
        session = _session(request)
        month = request.query_params.get("month", "")
        if not session.ledgers:
            return self.page(request, "summary.html", figures=None, month=month)
        try:
            figures, _ = await run_in_threadpool(self.figures, session, month)
        except FormkitError as exc:
            return self.page(request, "summary.html", figures=None, month=month, error=str(exc))
        charts = [stacked_bars(title, rows) for title, rows in
                  (("各校案例数", figures.by("school")), ("各年级案例数", figures.by("grade")),
                   ("辍学原因", figures.by("reason")), ("对象类别", figures.by("category"))) if rows]
        y, m = figures.month or (date.today().year, date.today().month)
        return self.page(request, "summary.html", figures=figures, totals=figures.totals(), monthly=figures.monthly(),
                         charts=charts, month=month or f"{y}-{m:02d}", by_school=figures.by("school"),
                         area=figures.area, errors=[(self.shown(session, p), n) for p, n in figures.files_with_errors],
                         skipped=[self.shown(session, p) for p in figures.skipped])

    async def summary_workbook(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        if not session.ledgers:
            raise HTTPException(409, "还没有上传台账。")
        _, path = await run_in_threadpool(self.figures, session, str(data.get("month", "")))
        return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": content_disposition(f"控辍保学汇总_{date.today().isoformat()}.xlsx")})

    async def summary_report(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        if not session.ledgers:
            raise HTTPException(409, "还没有上传台账。")
        figures, _ = await run_in_threadpool(self.figures, session, str(data.get("month", "")))
        area = str(data.get("area", "")).strip() or figures.area or "本乡镇"
        record = report_record(figures, area)
        template = session.templates.get("monthly-report")
        body = render("monthly-report", record, template=template, settings=self.settings)
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        headers={"Content-Disposition": content_disposition(f"{area}控辍保学工作月报_{record['month']}.docx")})

    # --- templates --------------------------------------------------------------------

    async def templates_page(self, request: Request, **extra: Any) -> Response:
        session = _session(request)
        active = [(get_form(f).title, f, p.name) for f, p in session.templates.items()]
        return self.page(request, "templates.html", forms=forms(), active=active, **extra)

    async def templates_upload(self, request: Request) -> Response:
        data = await self.form(request)
        session = _session(request)
        upload = data.get("template")
        form_name = str(data.get("form", "")) or None
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise UsageError("请选择一个 .docx 模板文件。")
            if form_name:
                get_form(form_name)
            path = (await self.save_uploads([upload], session.folder("templates"), (".docx",)))[0]
            report = await run_in_threadpool(check_template, path, form_name)
        except FormkitError as exc:
            return await self.templates_page(request, error=str(exc))
        used = False
        if report.valid:
            session.templates[report.form] = path
            used = True
        return await self.templates_page(request, report=report, used=used, file_name=path.name,
                                         form_title=get_form(report.form).title)

    async def templates_remove(self, request: Request) -> Response:
        data = await self.form(request)
        _session(request).templates.pop(str(data.get("form", "")), None)
        return RedirectResponse("/templates", status_code=303)


STATUS_NAMES = {"written": "已生成", "unchanged": "未变化", "updated": "已更新", "kept-edited": "已被手工修改，未覆盖",
                "skipped-invalid": "有错误，已跳过", "planned": "计划生成"}


def _remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _session(request: Request) -> Session:
    session: Session = request.scope["state"]["session"]
    return session


def _form_or_404(name: str) -> Any:
    try:
        return get_form(name)
    except UsageError as exc:
        raise HTTPException(404, str(exc)) from None


def _progress(job: Job, pdf: bool) -> Callable[[int, int], None]:
    job.share = 0.6 if pdf else 1.0

    def update(done: int, total: int) -> None:
        job.done, job.total = done, total
        if done >= total:
            job.phase = "正在转换 PDF 并合并（需要 LibreOffice，可能要一两分钟）" if pdf else "正在整理清单"

    return update


def _schools(report: LedgerReport) -> dict[tuple[str, int], str]:
    """(file, row) → school, for the findings table's school filter."""
    out: dict[tuple[str, int], str] = {}
    for table in report.tables:
        declared = table.declared.get("school", "") if isinstance(table.declared, dict) else ""
        for number, values in table.rows:
            school = table.value(values, "school") if "school" in table.columns else None
            out[(table.path, number)] = str(school or declared or "").strip()
    return out


def create_app(**options: Any) -> ASGIApp:
    """The ASGI application (see :class:`Desk` for the options)."""
    return Desk(**options).app


def free_port(host: str, start: int) -> int:
    for port in range(start, start + 50):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise UsageError(f"端口 {start}–{start + 49} 都被占用了。请用 --port 指定其他端口。")


def start_in_thread(desk: Desk, port: int, host: str = "127.0.0.1") -> Callable[[], None]:
    """Serve ``desk`` from a background thread (browser tests, ``make look``); returns a stop function."""
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(desk.app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="formkit-web", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError(f"web server did not start on port {port}")

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        desk.store.close()

    return stop


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, open_browser: bool = False,
          password: str | None = None, idle_minutes: float = 60, settings: Settings | None = None) -> None:
    """Run the desk until Ctrl+C. A host other than loopback needs a password; ``settings`` are the
    county's (templates folder, enumerations, limits …) for every call the page makes."""
    import uvicorn

    if host not in LOOPBACK:
        if not password:
            raise UsageError(f"--host {host} 会让局域网里的其他电脑也能打开本页面，必须同时用 --password 设置密码。")
        print("警告：页面对本机以外开放。学生和家长的姓名、身份证号等个人信息会经网络传输（未加密），"
              "只应在可信的内部网络中这样用，用完请关闭。", file=sys.stderr)
    desk = Desk(password=password if host not in LOOPBACK else password or None, idle_minutes=idle_minutes,
                settings=settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/"
    desk.start_sweeper()
    print(f"formkit 网页已启动：{url}  （按 Ctrl+C 结束；数据只在本机处理）", file=sys.stderr)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(desk.app, host=host, port=port, log_level="warning")
    finally:
        desk.store.close()


def desk() -> None:
    """``formkit-desk``: start on a free local port and open the browser (for a desktop shortcut)."""
    port = free_port("127.0.0.1", int(os.environ.get("FORMKIT_PORT", DEFAULT_PORT)))
    try:
        serve("127.0.0.1", port, open_browser=True)
    except FormkitError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
