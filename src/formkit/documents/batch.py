"""Batch generation: a roster in, one document per student out, plus a print-ready file.

Order of work, each step safe to interrupt:
1. read the roster and validate **every** row before writing anything (each row once: the
   workers render from the plain context built here);
2. give each notice its document number from the register (same student and form → same number),
   all in one transaction that also records the notices as issued for ``ledger due``;
3. render in worker processes (each compiles the template once), a chunk of documents per task,
   and write each chunk's files atomically with one sync for the chunk; an existing file is
   replaced only if it is formkit's own unchanged output (its hash is in the manifest) or
   ``force`` is given — a clerk's edits are never lost;
4. journal every finished chunk once its files are on disk, so a killed batch resumes where it stopped;
5. convert to PDF with one LibreOffice process per worker, and merge with bookmarks.

The manifest records only hashes formkit itself wrote, so a kept edit is recognised as an
edit on every later run. One batch at a time works in an output folder (a lock file; a
second batch waits briefly, then refuses with ``output-locked``); each run has its own
journal and temp names, and the manifest merges what earlier runs wrote. Worker processes
and LibreOffice die with the batch, and what a killed run left is removed by the next one.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import pickle
import re
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from formkit.core.errors import InputFileError, OutputError, Problem, RecordError, UsageError
from formkit.core.fileio import (
    FileGroup,
    atomic_stream,
    atomic_write,
    folder_lock,
    inside,
    new_private_file,
    output_error,
    read_input,
    read_regular,
    remove_leftovers,
    safe_component,
)
from formkit.core.settings import Settings, settings_or_default
from formkit.core.validators import mask_id, mask_message, mask_sensitive, neutralise_formula
from formkit.documents.forms import FormSpec, build_context, get_form, validate_record
from formkit.tables.columns import LEDGER_COLUMNS

MANIFEST = "manifest.json"
MANIFEST_CSV = "manifest.csv"
JOURNAL_PREFIX = ".formkit-journal"
"""Each run journals to ``.formkit-journal-<pid>-<random>.jsonl``; the next run reads every one left."""
JOURNAL = JOURNAL_PREFIX + ".jsonl"
"""The single journal of formkit before per-run journals; still read (never written) after an upgrade."""
ISSUER_KEYS = {"body", "title", "doc_number", "issue_date", "deadline", "contact", "contact_phone", "report_to",
               "village", "handler", "signer"}
Progress = Callable[[int, int], None]


@dataclass
class BatchItem:
    """One planned or produced document."""

    row: int
    name: str
    id_masked: str
    file: str
    doc_number: str = ""
    sha256: str = ""
    status: str = ""
    """written / unchanged / updated / kept-edited / skipped-invalid / planned."""
    pdf: str = ""


@dataclass
class BatchResult:
    """What a batch did; ``to_json()`` is what ``formkit batch --json`` prints."""

    form: str
    out_dir: str
    items: list[BatchItem] = field(default_factory=list)
    invalid: list[tuple[int, list[Problem]]] = field(default_factory=list)
    merged: str = ""
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "out_dir": self.out_dir,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "items": [asdict(i) for i in self.items],
            "invalid": [{"row": r, "problems": [p.to_dict() for p in ps]} for r, ps in self.invalid],
            "merged": self.merged,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class _Plan:
    """What the render pass needs to know about one valid row (the model itself is dropped)."""

    row: int
    index: int
    seq: int
    school: str
    name: str
    id_masked: str
    student_key: str
    year: int
    doc_number: str
    issue_date: date | None
    deadline: date | None


def _plan_of(row: int, index: int, record: BaseModel) -> _Plan:
    student = getattr(record, "student", None)
    issuer = getattr(record, "issuer", None)
    return _Plan(
        row, index, int(getattr(record, "seq", None) or index + 1),
        str(getattr(getattr(record, "school", None), "school", "") or ""), _display_name(record),
        mask_id(student.id_number) if student is not None and student.id_number else "", _student_key(record),
        issuer.issue_date.year if issuer is not None else 0, str(getattr(issuer, "doc_number", "") or ""),
        getattr(issuer, "issue_date", None), getattr(issuer, "deadline", None),
    )


class InvalidRosterError(RecordError):
    """Some roster rows are invalid; ``rows`` holds (row number, problems) for each."""

    code = "invalid-roster"

    def __init__(self, message: str, rows: list[tuple[int, list[Problem]]], source: str) -> None:
        super().__init__(message, [p for _, ps in rows for p in ps], where=source)
        self.rows = rows
        self.source = source

    def __str__(self) -> str:
        lines = [self.message]
        for row, problems in self.rows:
            for p in problems:
                column = _column_for(p.path)
                where = f"第{row}行" + (f"“{column}”列" if column else f"（{p.field}）")
                shown = f"（值：{p.value}）" if p.value else ""
                lines.append(f"  - {where}：{p.message}{shown} [{p.code}]")
        return "\n".join(lines)


_PATH_TO_HEADER = {c.path: c.header for c in LEDGER_COLUMNS if c.path}


def _column_for(path: str) -> str:
    return _PATH_TO_HEADER.get(path, "")


CONFIG_NAME = "formkit.toml"


def find_config(search: Sequence[Path]) -> Path | None:
    """The first ``formkit.toml`` in ``search`` (e.g. the roster's folder, then the working folder)."""
    for folder in search:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(config: Path | None, sets: Sequence[str] = ()) -> dict[str, Any]:
    """Issue-level values: a TOML config (``[issuer]`` table and top-level keys), then ``--set`` pairs."""
    settings: dict[str, Any] = {}
    if config is not None:
        data = read_input(config, "配置文件")
        try:
            raw = tomllib.loads(data.decode("utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(f"配置文件 {config} 格式不对：{exc}。", path=str(config), code="config-invalid") from None
        for key, value in raw.items():
            if key == "columns":
                continue  # header pins, read by formkit.tables.columns.pins_from_config; not record values
            if isinstance(value, dict):
                for sub, inner in value.items():
                    settings[f"{key}.{sub}"] = inner
            else:
                settings[key] = value
    for pair in sets:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set 应写成 键=值，例如 --set issuer.body=石门镇人民政府；收到的是“{pair}”。")
        settings[key.strip()] = value.strip()
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, date):
            value = value.isoformat()
        if isinstance(value, str) and _SURROGATE.search(value):
            raise UsageError(f"发文信息 {key} 含有无法识别的字符（{_scrub(value)}），多为复制或编码出错。请重新输入。")
        bare = key.removeprefix("issuer.")
        out[f"issuer.{bare}" if bare in ISSUER_KEYS or bare == "number_prefix" else key] = value
    return out


def _plain_copy(node: Any) -> Any:
    """A copy of a raw record holding only JSON types (other values become their text), so
    settings can be merged in without touching the caller's dicts."""
    kind = type(node)
    if kind is dict:
        return {str(k): _plain_copy(value) for k, value in node.items()}
    if kind is str or kind is int or kind is float or kind is bool or node is None:
        return node
    if isinstance(node, dict):
        return {str(k): _plain_copy(value) for k, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain_copy(value) for value in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str.__str__(node) if isinstance(node, str) else str(node)


def _apply_settings(record: dict[str, Any], spec: FormSpec, settings: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = _plain_copy(record)
    wants_issuer = "issuer" in spec.model.model_fields
    for key, value in settings.items():
        if key == "issuer.number_prefix":
            continue
        if key.startswith("issuer."):
            if wants_issuer:
                merged.setdefault("issuer", {}).setdefault(key.split(".", 1)[1], value)
            continue
        node = merged
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(parts[-1], value)
    return merged


def read_records(path: Path, sheet: str | None = None,
                 options: Settings | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Roster rows as (row number, nested dict); see :func:`formkit.documents.roster.read_rows`."""
    from formkit.documents.roster import read_rows

    return read_rows(path, sheet=sheet, settings=options)


def _student_key(record: BaseModel) -> str:
    student = getattr(record, "student", None)
    if student is not None and student.id_number:
        return str(student.id_number)
    school = getattr(getattr(record, "school", None), "school", "")
    name = getattr(student, "name", "") or getattr(record, "teacher", "")
    birth = getattr(student, "birth_date", "") if student is not None else ""
    return f"{school}|{name}|{birth}"


def _display_name(record: BaseModel) -> str:
    student = getattr(record, "student", None)
    if student is not None:
        return str(student.name)
    return str(getattr(record, "teacher", None) or getattr(record, "area", ""))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(text: str) -> str:
    """``text`` with lone surrogates (which no UTF-8 file can hold) shown as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _bad_characters(node: Any, path: str = "") -> list[Problem]:
    """A problem for every text in a raw record that holds a lone surrogate (e.g. "\\ud800" in JSON)."""
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _bad_characters(value, f"{path}.{key}" if path else str(key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in _bad_characters(value, f"{path}.{i}")]
    if isinstance(node, str) and _SURROGATE.search(node):
        found = _SURROGATE.search(node)
        assert found is not None
        return [Problem("invalid-character", _column_for(path) or _scrub(path),
                        f"含有无法识别的字符（U+{ord(found.group(0)):04X}，多为复制粘贴或导出时编码出错），请删除或重新输入该项",
                        mask_sensitive(_scrub(node)), path=_scrub(path))]
    return []


def _shown(problem: Problem) -> Problem:
    """``problem`` safe for terminal, manifest and JSON: IDs and phones masked, no lone surrogates."""
    return dataclasses.replace(problem, value=mask_sensitive(_scrub(problem.value)),
                               message=mask_message(_scrub(problem.message)), field=_scrub(problem.field))


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        raise OutputError(f"{path} 是符号链接（快捷方式），为安全起见已拒绝。请删除它后重试。", code="output-symlink")


def _load_manifest(out_dir: Path) -> tuple[dict[str, str], list[dict[str, Any]], list[Path]]:
    """What earlier runs wrote: file name → sha256 formkit wrote there (manifest plus every journal
    a killed run left), the earlier manifest's items, and the journal files read.

    Names that are symbolic links are never read through: a linked journal is ignored, a
    linked manifest refused.
    """
    hashes: dict[str, str] = {}
    earlier: list[dict[str, Any]] = []
    manifest = out_dir / MANIFEST
    _refuse_symlink(manifest)
    data = read_regular(manifest)
    if data is not None:
        try:
            items = json.loads(data.decode("utf-8")).get("items", [])
            earlier = [i for i in items if isinstance(i, dict)]
            for item in earlier:
                if item.get("sha256") and isinstance(item.get("file"), str):
                    hashes[item["file"]] = str(item["sha256"])
        except (UnicodeDecodeError, ValueError, AttributeError, TypeError):
            earlier = []  # a damaged manifest only means fewer files count as formkit's own
    journals = sorted(p for p in out_dir.glob(JOURNAL_PREFIX + "*.jsonl") if not p.is_symlink())
    for journal in journals:
        text = (read_regular(journal) or b"").decode("utf-8", errors="replace")
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                hashes[entry["file"]] = entry["sha256"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # the last line of a killed run may be cut short
    return hashes, earlier, journals


# --- worker side --------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _die_with_parent(parent: int) -> None:
    """Make this worker process end when the batch process ends, even by SIGKILL.

    On Linux the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere
    a daemon thread watches the parent pid. Without this, killed batches left workers blocked
    forever on their task queue.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        else:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="formkit-parent-watch", daemon=True).start()


def _init_worker(form: str, template: bytes | None, parent: int | None = None,
                 templates_dir: Path | None = None, seconds: float | None = None) -> None:
    from formkit.documents.engine import CompiledTemplate
    from formkit.documents.render import compiled_form

    if parent is not None:
        _die_with_parent(parent)
    spec = get_form(form)
    _WORKER["spec"] = spec
    _WORKER["seconds"] = seconds
    _WORKER["compiled"] = (CompiledTemplate(template, spec.template) if template is not None
                           else compiled_form(form, templates_dir))


Task = tuple[int, bytes, str, str, str, bool]
"""(index, pickled plain context, target path, document number, hash formkit wrote there, force)."""
Outcome = tuple[int, str, str]
"""(index, sha256, status)."""
CHUNK = 32
"""Documents per worker task: each chunk is one round trip to a worker and one group sync."""


def _render_chunk(tasks: list[Task]) -> list[Outcome]:
    """Render a chunk of documents and write those allowed to be written, as one durable group.

    Each context was validated and built once, in the main process; the worker only renders.
    ``known`` is the hash formkit recorded for a file last time ("" if none): a file that
    still has it is formkit's own output and may be replaced; any other is a clerk's. A kept
    file returns ``known`` again, never the edited file's hash, so the manifest goes on
    recording only what formkit wrote and the edit stays kept on every later run. The
    outcomes are returned only after every written file is on disk, so the journal line the
    batch then writes for it implies the file.
    """
    compiled = _WORKER["compiled"]
    outcomes: list[Outcome] = []
    with FileGroup() as group:
        for index, blob, target, doc_number, known, force in tasks:
            context = pickle.loads(blob)
            if doc_number and isinstance(context.get("issuer"), dict):
                context["issuer"]["doc_number"] = doc_number
            payload = compiled.render(context, timeout=_WORKER.get("seconds"))
            digest = hashlib.sha256(payload).hexdigest()
            path = Path(target)
            status = "written"
            if path.exists():
                now = hashlib.sha256(path.read_bytes()).hexdigest()
                if now == digest:
                    outcomes.append((index, digest, "unchanged"))
                    continue
                if not force and known != now:
                    outcomes.append((index, known, "kept-edited"))
                    continue
                status = "updated"
            group.add(path, payload)
            outcomes.append((index, digest, status))
        group.commit()
    return outcomes


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_tasks(form: str, template: bytes | None, tasks: Iterable[Task], total: int, jobs: int,
               progress: Progress | None, options: Settings | None = None) -> Iterable[list[Outcome]]:
    """Yield each chunk's outcomes as it finishes; at most two chunks per worker are in flight."""
    done = 0
    size = max(1, min(CHUNK, total // (jobs * 4) or 1))
    chosen = settings_or_default(options)
    if jobs <= 1 or total < 8:
        _init_worker(form, template, None, chosen.templates_dir, chosen.render_seconds)
        for chunk in _chunks(tasks, size):
            outcomes = _render_chunk(chunk)
            done += len(outcomes)
            yield outcomes
            if progress:
                progress(done, total)
        return
    window = jobs * 2
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(form, template, os.getpid(), chosen.templates_dir,
                                       chosen.render_seconds)) as pool:
        pending: set[Future[list[Outcome]]] = set()
        iterator = _chunks(tasks, size)
        while True:
            while len(pending) < window:
                work = next(iterator, None)
                if work is None:
                    break
                pending.add(pool.submit(_render_chunk, work))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                outcomes = future.result()
                done += len(outcomes)
                yield outcomes
                if progress:
                    progress(done, total)


def _plan_names(plans: list[_Plan], spec: FormSpec, out_dir: Path) -> list[str]:
    used: set[str] = set()
    names = []
    for plan in plans:
        stem = spec.filename.removesuffix(".docx").format(
            seq=f"{plan.seq:03d}", school=safe_component(plan.school, limit=30),
            name=safe_component(plan.name, limit=20), title=safe_component(spec.title, limit=30),
        )
        stem = safe_component(stem, limit=120)
        candidate, n = stem, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}_{n}", n + 1
        used.add(candidate.lower())
        inside(out_dir, Path(candidate + ".docx"))
        names.append(candidate + ".docx")
    return names


def batch(
    form: str,
    records_or_path: Path | str | Iterable[dict[str, Any]] | Iterable[tuple[int, dict[str, Any]]],
    out_dir: Path | str,
    *,
    settings: dict[str, Any] | None = None,
    pdf: bool = False,
    merge: bool = False,
    jobs: int | None = None,
    skip_invalid: bool = False,
    force: bool = False,
    dry_run: bool = False,
    register: Path | str | None = None,
    template: Path | str | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    options: Settings | None = None,
) -> BatchResult:
    """Generate ``form`` for every record; see the module docstring for the guarantees.

    ``records_or_path`` is a roster file (.xlsx/.xls/.csv/.json) or nested record dicts; ``sheet``
    picks the worksheet of a workbook holding several ledger sheets.
    ``settings`` holds issue-level values (``issuer.body``, ``issuer.issue_date``,
    ``issuer.number_prefix``, …; see :func:`load_settings`). Raises ``InvalidRosterError``
    (a ``RecordError``) listing every invalid row unless ``skip_invalid``, and ``OutputError``
    when the folder cannot be written or another batch holds it for longer than
    ``options.lock_wait`` seconds (code ``output-locked``). ``options`` (a :class:`Settings`) gives the
    county templates, enumerations, limits, pinned columns and render time limit.
    """
    spec = get_form(form)
    settings = dict(settings or {})
    source = str(records_or_path) if isinstance(records_or_path, str | Path) else "记录列表"
    if isinstance(records_or_path, str | Path):
        rows = read_records(Path(records_or_path), sheet, options)
    else:
        # Plain dicts are numbered from 1; (row, dict) pairs keep the caller's row numbers.
        rows = [item if isinstance(item, tuple) else (n, item) for n, item in enumerate(records_or_path, 1)]
    if not rows:
        raise InputFileError(f"{source} 中没有任何记录行。", path=source, code="no-rows")
    _require_issuer(spec, rows, settings)
    # Pass 1 validates every row and keeps only a small plan per row: memory does not grow
    # with models or rendered documents, only with the roster itself.
    plans: list[_Plan] = []
    contexts: list[bytes] = []
    invalid: list[tuple[int, list[Problem]]] = []
    for index, (row, raw) in enumerate(rows):
        # A lone surrogate (valid in JSON text, impossible in any UTF-8 file) is a data error
        # of its row, not a crash when the manifest or a document is written.
        broken = _bad_characters(raw)
        try:
            record = validate_record(spec, _apply_settings(raw, spec, settings), settings=options)
        except RecordError as exc:
            invalid.append((row, [_shown(p) for p in broken + exc.problems]))
            continue
        if broken:
            invalid.append((row, broken))
            continue
        plans.append(_plan_of(row, index, record))
        # The workers render from this plain data: each row is validated exactly once, and a
        # pickled context is smaller than the roster row it replaces.
        contexts.append(pickle.dumps(build_context(spec, record, enums=settings_or_default(options).enums), protocol=pickle.HIGHEST_PROTOCOL))
    del rows
    if invalid and not skip_invalid:
        raise InvalidRosterError(
            f"{source}：{len(invalid)} 行数据有问题，未生成任何文书。请改正后重试（或加 --skip-invalid 跳过这些行）：",
            invalid, source)
    out = Path(out_dir)
    template_bytes = read_input(Path(template), "模板文件") if template is not None else None
    if template is not None:
        from formkit.documents.engine import CompiledTemplate

        CompiledTemplate(template_bytes or b"", Path(template).name)  # fail early, in the main process
    names = _plan_names(plans, spec, out)
    result = BatchResult(spec.name, str(out), invalid=invalid, dry_run=dry_run)
    numbers = _assign_numbers(spec, plans, settings, register, dry_run, form=spec.name)
    for plan, name, number in zip(plans, names, numbers, strict=True):
        result.items.append(BatchItem(plan.row, plan.name, plan.id_masked, name, number, status="planned"))
    for row, _ in invalid:
        result.items.append(BatchItem(row, "", "", "", status="skipped-invalid"))
    if dry_run:
        return result
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    with folder_lock(out, wait=settings_or_default(options).lock_wait) as token:
        remove_leftovers(out)  # what killed earlier runs left: half-written files, PDF work folders
        known, earlier, journals = _load_manifest(out)
        tasks = (
            (i, blob, str(out / name), number, known.get(name, ""), force)
            for i, (blob, name, number) in enumerate(zip(contexts, names, numbers, strict=True))
        )
        journal_path = out / f"{JOURNAL_PREFIX}-{token}.jsonl"
        journal = new_private_file(journal_path)
        try:
            for outcomes in _run_tasks(spec.name, template_bytes, tasks, len(plans),
                                       jobs or os.cpu_count() or 1, progress, options):
                lines = []
                for index, digest, status in outcomes:
                    item = result.items[index]
                    item.sha256, item.status = digest, status
                    contexts[index] = b""  # rendered: only the plan stays in memory
                    if status != "kept-edited":
                        lines.append(json.dumps({"file": item.file, "sha256": digest}, ensure_ascii=False) + "\n")
                # The chunk's files are already on disk (the worker synced them), so these lines
                # may claim them; one sync per chunk instead of one per document.
                try:
                    journal.write("".join(lines))
                    journal.flush()
                    os.fsync(journal.fileno())
                except OSError as exc:
                    raise output_error(exc, journal_path) from None
        finally:
            journal.close()
        produced = [i for i in result.items if i.file]
        if pdf:
            _convert(out, produced, jobs or os.cpu_count() or 1, options)
        if merge and produced:
            result.merged = _merge(out, produced, pdf, options)
        _write_manifest(out, result, earlier, known)
        for done in [*journals, journal_path]:
            done.unlink(missing_ok=True)
    return result


def _require_issuer(spec: FormSpec, rows: list[tuple[int, dict[str, Any]]], settings: dict[str, Any]) -> None:
    """One clear message when no row and no setting says who issues the notices."""
    if "issuer" not in spec.model.model_fields:
        return
    labels = {"body": "发文单位", "issue_date": "发文日期"}
    missing = [k for k in labels if f"issuer.{k}" not in settings
               and not any((raw.get("issuer") or {}).get(k) for _, raw in rows)]
    if missing:
        example = " ".join(f"--set {k}=…" for k in missing)
        raise UsageError(
            f"缺少发文信息：{'、'.join(labels[k] for k in missing)}。请用 {example} 指定，"
            f"或写在 formkit.toml 的 [issuer] 中（可参考 samples/formkit.toml）。"
        )


def _assign_numbers(spec: FormSpec, plans: list[_Plan], settings: dict[str, Any], register: Path | str | None,
                    dry_run: bool, *, form: str) -> list[str]:
    """Every plan's document number, from one register transaction that also records the notices
    as issued (so ``ledger due`` knows them). The register is used when numbers are assigned
    from it (``issuer.number_prefix``) or when the caller names one."""
    prefix = str(settings.get("issuer.number_prefix") or "") if spec.numbered else ""
    numbers = [plan.doc_number for plan in plans]
    if not prefix and register is None:
        return numbers
    from formkit.documents.register import (
        IssuedDocument,
        NumberRegister,
        default_register_path,
        format_number,
    )

    wanted = [i for i, plan in enumerate(plans) if prefix and not plan.doc_number]  # a roster's number wins

    def issued(given: list[int]) -> list[IssuedDocument]:
        for i, n in zip(wanted, given, strict=True):
            numbers[i] = format_number(prefix, plans[i].year, n) if n else f"{prefix}〔{plans[i].year}〕（待分配）号"
        # Recorded with the numbers, before rendering: a number once given is the notice's, and
        # a re-run produces the same notice again, so a later failure leaves nothing wrong behind.
        return [IssuedDocument(form, plan.student_key, plan.issue_date, number, plan.deadline)
                for plan, number in zip(plans, numbers, strict=True) if plan.issue_date is not None]

    with NumberRegister(Path(register) if register else default_register_path()) as reg:
        given = reg.numbers_for([(prefix, plans[i].year, form, plans[i].student_key) for i in wanted],
                                dry_run=dry_run, issued=issued)
    if dry_run:
        issued(given)
    return numbers


def _convert(out: Path, items: list[BatchItem], jobs: int, options: Settings | None = None) -> None:
    from formkit.documents.pdf import convert_to_pdf

    todo = []
    for item in items:
        docx_path = out / item.file
        pdf_path = docx_path.with_suffix(".pdf")
        item.pdf = pdf_path.name
        stale = not pdf_path.exists() or pdf_path.stat().st_mtime < docx_path.stat().st_mtime
        if stale:
            todo.append(docx_path)
    if not todo:
        return
    workers = max(1, min(jobs, len(todo)))
    chunks = [todo[i::workers] for i in range(workers)]
    # One LibreOffice process per worker: start-up dominates the cost of a page.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(convert_to_pdf, chunk, out, settings=options) for chunk in chunks]:
            future.result()


def _merge(out: Path, items: list[BatchItem], pdf: bool, options: Settings | None = None) -> str:
    if pdf:
        from formkit.documents.pdf import merge_pdfs

        target = out / "merged.pdf"
        merge_pdfs([(out / i.pdf, f"{i.file.split('_', 1)[0]} {i.name}") for i in items], target, settings=options)
        return target.name
    from formkit.documents.engine import merge_docx

    target = out / "merged.docx"
    atomic_write(target, merge_docx([out / i.file for i in items]))
    return target.name


def _earlier_items(out: Path, result: BatchResult, earlier: list[dict[str, Any]],
                   known: dict[str, str]) -> list[BatchItem]:
    """Items of earlier runs for documents this run did not touch and that are still in the folder,
    so a second batch into the folder does not make the first one's files look like clerks' edits."""
    mine = {i.file for i in result.items if i.file}
    kept: list[BatchItem] = []
    for entry in earlier:
        name = entry.get("file")
        if not isinstance(name, str) or not name or name in mine or "/" in name or "\\" in name:
            continue
        if not (out / name).is_file() or (out / name).is_symlink():
            continue
        try:
            kept.append(BatchItem(int(entry.get("row") or 0), str(entry.get("name", "")), str(entry.get("id_masked", "")),
                                  name, str(entry.get("doc_number", "")),
                                  known.get(name, str(entry.get("sha256", ""))),
                                  str(entry.get("status", "")), str(entry.get("pdf", ""))))
        except (TypeError, ValueError):
            continue
        mine.add(name)
    return kept


def _write_manifest(out: Path, result: BatchResult, earlier: list[dict[str, Any]] | None = None,
                    known: dict[str, str] | None = None) -> None:
    """manifest.json (``result.to_dict()``, followed by the items of earlier runs whose documents are
    still there) and manifest.csv, streamed item by item so a 10,000-document batch never builds the
    whole manifest in memory. Runs hold the folder's lock, so this read-modify-write loses nothing."""
    head = {"form": result.form, "out_dir": result.out_dir, "dry_run": result.dry_run, "counts": result.counts,
            "invalid": [{"row": r, "problems": [p.to_dict() for p in ps]} for r, ps in result.invalid],
            "merged": result.merged}
    items = [*result.items, *_earlier_items(out, result, earlier or [], known or {})]
    with atomic_stream(out / MANIFEST) as handle:
        handle.write(_scrub(json.dumps(head, ensure_ascii=False, indent=2))[:-2] + ',\n  "items": [')
        for i, item in enumerate(items):
            handle.write(("," if i else "") + "\n    " + _scrub(json.dumps(asdict(item), ensure_ascii=False)))
        handle.write("\n  ]\n}\n")
    with atomic_stream(out / MANIFEST_CSV) as handle:
        handle.write("\ufeff")  # Excel in China opens a BOM-less UTF-8 CSV as GBK and shows mojibake.
        writer = csv.writer(handle)
        writer.writerow(["行号", "学生", "身份证号", "文号", "文件", "PDF", "SHA-256", "状态"])
        for item in items:
            # Names come from rosters: "=HYPERLINK(…)" must stay text when Excel opens the file.
            writer.writerow([neutralise_formula(_scrub(str(cell))) for cell in (
                item.row, item.name, item.id_masked, item.doc_number, item.file, item.pdf, item.sha256, item.status)])


__all__ = ["BatchItem", "BatchResult", "InvalidRosterError", "batch", "find_config", "format_batch", "load_settings",
           "read_records"]


_STATUS_CN = {"written": "新生成", "unchanged": "未变化", "updated": "已更新", "kept-edited": "已被手工修改，保留未覆盖",
              "skipped-invalid": "数据有误，已跳过", "planned": "将生成"}


def format_batch(result: BatchResult) -> str:
    """Chinese summary of a batch for the terminal."""
    lines = []
    if result.dry_run:
        lines.append(f"试运行：以下 {len(result.items)} 份文书将写到 {result.out_dir}（未写任何文件）。")
        for item in result.items:
            lines.append(f"  第{item.row}行 {item.name} → {item.file or '（跳过）'} {item.doc_number}")
    for row, problems in result.invalid:
        for p in problems:
            column = _column_for(p.path)
            shown = f"（值：{p.value}）" if p.value else ""
            lines.append(f"  跳过第{row}行：{column or p.field}：{p.message}{shown} [{p.code}]")
    kept = [i for i in result.items if i.status == "kept-edited"]
    for item in kept:
        lines.append(f"  {item.file} 已被手工修改，未覆盖（确认要覆盖请加 --force）。")
    if not result.dry_run:
        counts = "，".join(f"{_STATUS_CN.get(k, k)} {v} 份" for k, v in result.counts.items())
        lines.append(f"完成：{counts}。输出在 {result.out_dir}，清单见 manifest.json / manifest.csv。")
        if result.merged:
            lines.append(f"合并打印文件：{Path(result.out_dir) / result.merged}")
    return "\n".join(lines)
