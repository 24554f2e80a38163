"""Batch generation: a roster in, one document per student out, plus a print-ready file.

Order of work, each step safe to interrupt:
1. pass 1: read the roster (every ledger sheet of a workbook) and validate **every** row in the
   worker processes before anything is written, keeping per row only a fingerprint of its data
   and, for a valid row, what naming and numbering need: memory stays flat in the roster size;
2. give each notice its document number from the register (same student and form → same number),
   all in one transaction that also records the notices as issued for ``ledger due``;
3. pass 2: read the roster again (a row whose data changed since pass 1 stops the batch) and
   render in the workers (each compiles the template once and validates its rows again, since no
   model is kept), a chunk of documents per task, writing each chunk's files atomically with one
   sync for the chunk; an existing file is replaced only if it is formkit's own unchanged output
   (its hash is in the manifest) or ``overwrite`` is given — a clerk's edits are never lost;
4. journal every finished chunk once its files are on disk (a thread writes and syncs the
   journal, so the batch keeps the workers fed), so a killed batch resumes where it stopped;
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
import queue
import re
import signal
import sys
import threading
import time
import tomllib
import warnings
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    new_private_file,
    output_error,
    read_input,
    read_regular,
    remove_leftovers,
    replaceable,
    safe_component,
)
from formkit.core.settings import Settings, settings_or_default
from formkit.core.validators import mask_id, mask_message, mask_sensitive, neutralise_formula
from formkit.documents.forms import FormSpec, build_context, get_form, validate_record
from formkit.documents.roster import Roster, SheetRow, roster_rows, sheet_of
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


@dataclass(slots=True)
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
    sheet: str = ""
    """The roster's worksheet holding ``row`` ("" for CSV, JSON and plain records): in a township
    workbook (one sheet per school) a row number alone names two students."""


@dataclass
class BatchResult:
    """What a batch did; ``to_json()`` is what ``formkit batch --json`` prints."""

    form: str
    out_dir: str
    items: list[BatchItem] = field(default_factory=list)
    invalid: list[tuple[int, list[Problem]]] = field(default_factory=list)
    merged: str = ""
    dry_run: bool = False
    sheets: list[str] = field(default_factory=list)
    """The roster's worksheets that were read; with several, messages name each row's sheet."""

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
            # Worksheet names come from the roster: one named after a student's ID is masked.
            "sheets": [mask_message(s) for s in self.sheets],
            "items": [{**asdict(i), "sheet": mask_message(i.sheet)} for i in self.items],
            "invalid": _invalid_dicts(self.invalid),
            "merged": self.merged,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _invalid_dicts(invalid: list[tuple[int, list[Problem]]]) -> list[dict[str, Any]]:
    return [{"sheet": mask_message(sheet_of(r)), "row": r, "problems": [p.to_dict() for p in ps]} for r, ps in invalid]


def row_label(row: int, several_sheets: bool) -> str:
    """``第7行``, or ``工作表“平寨中学”第7行`` when the roster has several sheets (``row`` a :class:`SheetRow`)."""
    sheet = sheet_of(row)
    return f"工作表“{mask_message(sheet)}”第{int(row)}行" if several_sheets and sheet else f"第{int(row)}行"


@dataclass(slots=True)
class _Plan:
    """What naming and numbering need to know about one valid row (the model itself is dropped)."""

    row: int
    """The row number (a :class:`SheetRow` once back in the batch process)."""
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
    """Some roster rows are invalid; ``rows`` holds (row number, problems) for each.

    Each row number is a :class:`~formkit.documents.roster.SheetRow` when the roster is a workbook
    (``row.sheet`` names its worksheet); ``sheets`` lists the worksheets read.
    """

    code = "invalid-roster"

    def __init__(self, message: str, rows: list[tuple[int, list[Problem]]], source: str,
                 sheets: Sequence[str] = ()) -> None:
        super().__init__(message, [p for _, ps in rows for p in ps], where=source)
        self.rows = rows
        self.source = source
        self.sheets = list(sheets)

    def __str__(self) -> str:
        lines = [self.message]
        for row, problems in self.rows:
            for p in problems:
                column = _column_for(p.path)
                where = row_label(row, len(self.sheets) > 1) + (f"“{column}”列" if column else f"（{p.field}）")
                shown = f"（值：{p.value}）" if p.value else ""
                lines.append(f"  - {where}：{p.message}{shown} [{p.code}]")
        return "\n".join(lines)


_PATH_TO_HEADER = {c.path: c.header for c in LEDGER_COLUMNS if c.path}


def _column_for(path: str) -> str:
    return _PATH_TO_HEADER.get(path, "")


CONFIG_NAME = "formkit.toml"


def find_config(*near: Path | str) -> Path | None:
    """The ``formkit.toml`` that applies to inputs ``near``: the one beside the first input (in its
    folder, or in it when it is a folder), else the one in the working folder, else ``None``."""
    search = [p if p.is_dir() else p.parent for p in map(Path, near[:1])] + [Path.cwd()]
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
            raise UsageError(f"发文信息应写成 键=值，例如 issuer.body=石门镇人民政府；收到的是“{pair}”。", code="setting-format")
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
                 columns: Mapping[str, str] | None = None,
                 options: Settings | None = None) -> list[tuple[SheetRow, dict[str, Any]]]:
    """Roster rows as (row number with its sheet, nested dict); see :func:`formkit.documents.roster.roster_rows`."""
    return list(roster_rows(path, columns, sheet=sheet, settings=options).rows)


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

class _WorkerState(threading.local):
    """What a worker renders with (form, issuer settings, county options, compiled template).

    Thread-local: with one job (or a handful of rows) the batch runs in the caller's thread, and
    the web desk runs two clerks' batches in two server threads at once; a process-wide dict
    would let one batch render with the other's template.
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


_STATE = _WorkerState()


def _worker_state() -> dict[str, Any]:
    return _STATE.data


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


def _init_worker(form: str, template: bytes | None, settings: dict[str, Any], parent: int | None = None,
                 options: Settings | None = None) -> None:
    from formkit.documents.engine import CompiledTemplate
    from formkit.documents.render import compiled_form

    if parent is not None:
        _die_with_parent(parent)
    spec = get_form(form)
    chosen = settings_or_default(options)
    state = _worker_state()
    state.clear()
    state.update(spec=spec, settings=settings, options=chosen, seconds=chosen.render_seconds,
                 compiled=(CompiledTemplate(template, spec.template) if template is not None
                           else compiled_form(form, chosen.templates_dir)))


def _validated(spec: FormSpec, raw: dict[str, Any], settings: dict[str, Any],
               options: Settings | None = None) -> BaseModel | list[Problem]:
    """The row's model, or every problem that keeps it from being one."""
    # A lone surrogate (valid in JSON text, impossible in any UTF-8 file) is a data error
    # of its row, not a crash when the manifest or a document is written.
    broken = _bad_characters(raw)
    try:
        record = validate_record(spec, _apply_settings(raw, spec, settings), settings=options)
    except RecordError as exc:
        return [_shown(p) for p in broken + exc.problems]
    return broken or record


Check = tuple[int, bytes]
"""(position in the roster, pickled raw record)."""
Checked = tuple[int, "_Plan | list[Problem]"]


def _check_chunk(chunk: list[Check]) -> list[Checked]:
    """Pass 1 in a worker: validate each row, keep only what naming and numbering need."""
    state = _worker_state()
    spec, settings, options = state["spec"], state["settings"], state["options"]
    out: list[Checked] = []
    for index, blob in chunk:
        got = _validated(spec, pickle.loads(blob), settings, options)
        out.append((index, got if isinstance(got, list) else _plan_of(0, index, got)))
    return out


Task = tuple[int, bytes, str, str, str, bool]
"""(item position, pickled raw record, target path, document number, hash formkit wrote there, force)."""
Outcome = tuple[int, str, str]
"""(item position, sha256, status)."""
CHUNK = 32
"""Documents per worker task: each chunk is one round trip to a worker and one group sync."""


def _render_chunk(tasks: list[Task]) -> list[Outcome]:
    """Render a chunk of documents and write those allowed to be written, as one durable group.

    The rows were all validated in pass 1 before this runs; the worker validates its rows again
    (the parent keeps no model or context per row, so memory stays flat) and renders them.
    ``known`` is the hash formkit recorded for a file last time ("" if none): a file that
    still has it is formkit's own output and may be replaced; any other is a clerk's. A kept
    file returns ``known`` again, never the edited file's hash, so the manifest goes on
    recording only what formkit wrote and the edit stays kept on every later run. The
    outcomes are returned only after every written file is on disk, so the journal line the
    batch then writes for it implies the file.
    """
    state = _worker_state()
    spec, settings, compiled, options = state["spec"], state["settings"], state["compiled"], state["options"]
    outcomes: list[Outcome] = []
    fresh: dict[Path, tuple[int, str]] = {}
    with FileGroup() as group:
        for index, blob, target, doc_number, known, force in tasks:
            record = _validated(spec, pickle.loads(blob), settings, options)
            if isinstance(record, list):  # the parent compared the row with pass 1's: never expected
                raise InputFileError(f"{target}：名单中该行的数据在生成过程中变了，已停止。请重新运行。",
                                     code="roster-changed")
            context = build_context(spec, record, enums=options.enums)
            if doc_number and isinstance(context.get("issuer"), dict):
                context["issuer"]["doc_number"] = doc_number
            payload = compiled.render(context, timeout=state.get("seconds"))
            digest = hashlib.sha256(payload).hexdigest()
            path = Path(target)
            status = "written"
            if path.exists():
                now = hashlib.sha256(path.read_bytes()).hexdigest()
                if now == digest:
                    outcomes.append((index, digest, "unchanged"))
                    continue
                # Ours = the file still has the hash formkit recorded writing it (the manifest rule).
                if not replaceable(path, force, ours=known == now):
                    outcomes.append((index, known, "kept-edited"))
                    continue
                status = "updated"
            # A name free when looked at above must still be free when the file is put there.
            group.add(path, payload, replace=force or status == "updated")
            outcomes.append((index, digest, status))
            if status == "written":
                fresh[path] = (len(outcomes) - 1, known)
        for taken in group.commit():
            at, known = fresh[taken]
            outcomes[at] = (outcomes[at][0], known, "kept-edited")
    return outcomes


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Workers:
    """Worker processes (or, for one job, this process) running chunks of rows, a bounded number in flight.

    One pool serves both passes: each worker compiles the template once.
    """

    def __init__(self, form: str, template: bytes | None, settings: dict[str, Any], jobs: int,
                 options: Settings | None = None) -> None:
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None
        if jobs <= 1:
            _init_worker(form, template, settings, None, options)
        else:
            self.pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                            initargs=(form, template, settings, os.getpid(), options))

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def ordered(self, work: Callable[[list[Any]], list[Any]], chunks: Iterable[list[Any]]) -> Iterator[list[Any]]:
        """Each chunk's result, in the order of the chunks."""
        if self.pool is None:
            yield from map(work, chunks)
            return
        window: deque[Future[list[Any]]] = deque()
        iterator = iter(chunks)
        while True:
            while len(window) < self.jobs * 2:
                chunk = next(iterator, None)
                if chunk is None:
                    break
                window.append(self.pool.submit(work, chunk))
            if not window:
                return
            yield window.popleft().result()

    def unordered(self, work: Callable[[list[Any]], list[Any]], chunks: Iterable[list[Any]]) -> Iterator[list[Any]]:
        """Each chunk's result as soon as it is done."""
        if self.pool is None:
            yield from map(work, chunks)
            return
        pending: set[Future[list[Any]]] = set()
        iterator = iter(chunks)
        while True:
            while len(pending) < self.jobs * 2:
                chunk = next(iterator, None)
                if chunk is None:
                    break
                pending.add(self.pool.submit(work, chunk))
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


def _fingerprint(blob: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")


def _plan_names(plans: Iterable[_Plan], spec: FormSpec, out_dir: Path) -> list[str]:
    """A unique file name for every plan, in order."""
    used: set[str] = set()
    names = []
    root = out_dir.resolve()
    title, pattern = safe_component(spec.title, limit=30), spec.filename.removesuffix(".docx")
    schools: dict[str, str] = {}  # a roster names a handful of schools
    for plan in plans:
        school = schools.get(plan.school)
        if school is None:
            school = schools[plan.school] = safe_component(plan.school, limit=30)
        stem = pattern.format(seq=f"{plan.seq:03d}", school=school, name=safe_component(plan.name, limit=20),
                              title=title)
        stem = safe_component(stem, limit=120)
        candidate, n = stem, 2
        sheet = sheet_of(plan.row)
        if candidate.lower() in used and sheet:
            # Two schools' sheets number their students from 1 and may share a name: the
            # sheet tells the clerk which document is whose, where "_2" would not.
            stem = candidate = safe_component(f"{stem}_{sheet}", limit=150)
        while candidate.lower() in used:
            candidate, n = f"{stem}_{n}", n + 1
        key = candidate.lower()
        used.add(candidate if key == candidate else key)  # one string per name, not two
        name = candidate + ".docx"
        # safe_component leaves no separator: a lexical check suffices (resolving every name
        # cost more than validating its row); existing links are replaced, never followed.
        if (root / name).parent != root:
            raise OutputError(f"输出文件名“{name}”会写到输出目录之外，已拒绝。")
        names.append(name)
    return names


def _county_and_issuer(settings: Settings | Mapping[str, Any] | None,
                       issuer: Mapping[str, Any] | None) -> tuple[Settings | None, dict[str, Any]]:
    """Split ``batch``'s arguments into the county :class:`Settings` and the issue-level values.

    Earlier versions took the issue-level values as ``settings=``; a mapping there still works
    (with a warning) so a county's scripts keep running.
    """
    values = dict(issuer or {})
    if settings is None or isinstance(settings, Settings):
        return settings, values
    warnings.warn("batch(settings=<issue-level values>) is deprecated; pass them as issuer= "
                  "(settings= is the county Settings, as on every other call)", DeprecationWarning, stacklevel=3)
    return None, {**settings, **values}


def batch(
    form: str,
    records_or_path: Path | str | Iterable[dict[str, Any]] | Iterable[tuple[int, dict[str, Any]]],
    out_dir: Path | str,
    *,
    issuer: Mapping[str, Any] | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    pdf: bool = False,
    merge: bool = False,
    jobs: int | None = None,
    skip_invalid: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    register: Path | str | None = None,
    template: Path | str | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    force: bool | None = None,
) -> BatchResult:
    """Generate ``form`` for every record; see the module docstring for the guarantees.

    ``records_or_path`` is a roster file (.xlsx/.xls/.csv/.json) or nested record dicts (or
    (row, dict) pairs, the row a :class:`~formkit.documents.roster.SheetRow` to name its sheet). Every
    ledger sheet of a workbook is read (a township workbook holds one school per sheet) unless
    ``sheet`` picks one; each item and invalid row names its sheet.
    ``issuer`` holds issue-level values (``issuer.body``, ``issuer.issue_date``,
    ``issuer.number_prefix``, …; see :func:`load_settings`). Raises ``InvalidRosterError``
    (a ``RecordError``) listing every invalid row unless ``skip_invalid``, and ``OutputError``
    when the folder cannot be written or another batch holds it for longer than
    ``settings.lock_wait`` seconds (code ``output-locked``). A file formkit wrote and nobody
    edited since is replaced; an edited one is kept (``kept-edited``) unless ``overwrite``
    (``force`` is its deprecated name). ``columns`` pins a roster's header wordings to fields.
    ``settings`` (a :class:`Settings`) gives the county templates, enumerations, limits, pinned
    columns (``columns`` wins) and render time limit, as on every other call; a plain mapping
    there is the issue-level values of earlier versions (deprecated: use ``issuer``).

    Memory stays flat in the number of rows: pass 1 validates every row (in the workers)
    keeping a few facts per row, and pass 2 reads the roster again to render; a row that
    changed in between stops the batch (``roster-changed``) instead of being rendered unchecked.
    """
    options, values = _county_and_issuer(settings, issuer)
    if force is not None:
        warnings.warn("force= is deprecated; use overwrite=", DeprecationWarning, stacklevel=2)
        overwrite = overwrite or force
    spec = get_form(form)
    source = str(records_or_path) if isinstance(records_or_path, str | Path) else "记录列表"
    if isinstance(records_or_path, bytes | bytearray | memoryview) or hasattr(records_or_path, "read"):
        # Pass 2 reads the roster again, and its format comes from the file name: an upload
        # must be saved first (a bytes value would otherwise be iterated as numbers).
        raise UsageError("名单应是文件路径（.xlsx/.xls/.csv/.json）或记录列表，不能是文件内容；请先把上传的名单保存为文件。")
    if isinstance(records_or_path, str | Path):
        path = Path(records_or_path)
        roster = roster_rows(path, columns, sheet=sheet, settings=options)

        def again() -> Iterator[tuple[int, dict[str, Any]]]:
            return roster_rows(path, columns, sheet=sheet, settings=options).rows
    else:
        # Plain dicts are numbered from 1; (row, dict) pairs keep the caller's row numbers.
        given = [item if isinstance(item, tuple) else (n, item) for n, item in enumerate(records_or_path, 1)]
        roster = Roster(list(dict.fromkeys(sheet_of(row) for row, _ in given if sheet_of(row))), len(given),
                        iter(given))

        def again() -> Iterator[tuple[int, dict[str, Any]]]:
            return iter(given)
    if not roster.total:
        raise InputFileError(f"{source} 中没有任何记录行。", path=source, code="no-rows")
    sheets, several = roster.sheets, len(roster.sheets) > 1
    template_bytes = None
    if template is not None:
        from formkit.documents.engine import TEMPLATE_LIMITS, CompiledTemplate

        template_bytes = read_input(Path(template), "模板文件", TEMPLATE_LIMITS.max_file_bytes)
        CompiledTemplate(template_bytes or b"", Path(template).name)  # fail early, in the main process
    jobs = jobs or os.cpu_count() or 1
    out = Path(out_dir)
    # A dry run only validates: no worker processes for it (the web page's dry run runs in a
    # server thread, where forking is best avoided).
    with _Workers(spec.name, template_bytes, values, 1 if dry_run or roster.total < 8 else jobs,
                  options) as workers:
        # Pass 1 validates every row before anything is written, keeping per row only a
        # fingerprint of its data and, for a valid row, the facts naming and numbering need.
        fingerprints = array("Q")
        issuer_seen = _IssuerSeen(spec, values)
        rows_of: dict[int, int] = {}
        valid: list[_Plan] = []
        invalid: list[tuple[int, list[Problem]]] = []
        invalid_at: list[int] = []
        shared: dict[Any, Any] = {}

        def checks() -> Iterator[Check]:
            for index, (row, raw) in enumerate(roster.rows):
                blob = pickle.dumps(raw, protocol=pickle.HIGHEST_PROTOCOL)
                fingerprints.append(_fingerprint(blob))
                issuer_seen.see(raw)
                rows_of[index] = row
                yield index, blob

        size = max(1, min(CHUNK * 4, roster.total // (workers.jobs * 4) or 1))
        for checked in workers.ordered(_check_chunk, _chunks(checks(), size)):
            for index, outcome in checked:
                row = rows_of.pop(index)
                if isinstance(outcome, list):
                    invalid.append((row, outcome))
                    invalid_at.append(index)
                else:
                    # Each plan arrives unpickled with its own copies of the school and dates:
                    # sharing one object per distinct value keeps a plan small.
                    outcome.row = row
                    outcome.school = shared.setdefault(outcome.school, outcome.school)
                    outcome.issue_date = shared.setdefault(outcome.issue_date, outcome.issue_date)
                    outcome.deadline = shared.setdefault(outcome.deadline, outcome.deadline)
                    valid.append(outcome)
        issuer_seen.require()
        if spec.numbered:
            # Two rows of one child would give two notices under one number: refused as ledger check does.
            twice = _listed_twice([(p.index, p.row, p.student_key) for p in valid if p.id_masked], several)
            if twice:
                at = {p.index: p.row for p in valid}
                valid = [p for p in valid if p.index not in twice]
                invalid = [entry for _, entry in sorted([*zip(invalid_at, invalid, strict=True),
                                                         *((i, (at[i], [p])) for i, p in twice.items())])]
                invalid_at = sorted([*invalid_at, *twice])
        if invalid and not skip_invalid:
            raise InvalidRosterError(
                f"{source}：{len(invalid)} 行数据有问题，未生成任何文书。请改正后重试（或选择跳过这些行）：",
                invalid, source, sheets)
        names = _plan_names(valid, spec, out)
        numbers = _assign_numbers(spec, valid, values, register, dry_run, form=spec.name)
        result = BatchResult(spec.name, str(out), invalid=invalid, dry_run=dry_run, sheets=sheets)
        slot = array("q", [-1]) * roster.total  # roster position → item position
        for plan, name, number in zip(valid, names, numbers, strict=True):
            slot[plan.index] = len(result.items)
            result.items.append(BatchItem(int(plan.row), plan.name, plan.id_masked, name, number, status="planned",
                                          sheet=sheet_of(plan.row)))
        del valid, names, numbers
        for row, _ in invalid:
            result.items.append(BatchItem(int(row), "", "", "", status="skipped-invalid", sheet=sheet_of(row)))
        if dry_run:
            return result
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(exc, out) from None
        with folder_lock(out, wait=settings_or_default(options).lock_wait) as token:
            remove_leftovers(out)  # what killed earlier runs left: half-written files, PDF work folders
            known, earlier, journals = _load_manifest(out)
            journal = _Journal(out / f"{JOURNAL_PREFIX}-{token}.jsonl")
            planned = len(result.items) - len(invalid)

            def tasks() -> Iterator[Task]:
                # Pass 2 reads the roster again: a row must be the one pass 1 validated.
                count = 0
                # (not read ahead in a thread while numbering: the two reads' peaks would add up)
                for index, (row, raw) in enumerate(again()):
                    count += 1
                    blob = pickle.dumps(raw, protocol=pickle.HIGHEST_PROTOCOL)
                    if index >= len(fingerprints) or _fingerprint(blob) != fingerprints[index]:
                        raise _changed(source, row, several)
                    at = slot[index]
                    if at >= 0:
                        item = result.items[at]
                        yield at, blob, str(out / item.file), item.doc_number, known.get(item.file, ""), overwrite
                if count != len(fingerprints):
                    raise _changed(source, None, several)

            try:
                done = 0
                size = max(1, min(CHUNK, planned // (workers.jobs * 4) or 1))
                for outcomes in workers.unordered(_render_chunk, _chunks(tasks(), size)):
                    lines = []
                    for at, digest, status in outcomes:
                        item = result.items[at]
                        item.sha256, item.status = digest, status
                        if status != "kept-edited":
                            lines.append(json.dumps({"file": item.file, "sha256": digest}, ensure_ascii=False) + "\n")
                    # The chunk's files are already on disk (the worker synced them), so these lines
                    # may claim them.
                    journal.add("".join(lines))
                    done += len(outcomes)
                    if progress:
                        progress(done, planned)
            finally:
                journal.close()
            journal.check()
            produced = [i for i in result.items if i.file]
            if pdf:
                _convert(out, produced, jobs, options)
            if merge and produced:
                result.merged = _merge(out, produced, pdf, options)
            _write_manifest(out, result, earlier, known)
            for finished in [*journals, journal.path]:
                finished.unlink(missing_ok=True)
    return result


class _Journal:
    """The run's journal, written and synced by a thread so the batch keeps the workers fed meanwhile.

    Lines are handed over only for files already on disk, so a line still implies its file;
    lines waiting together are synced together (at most one sync per chunk).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = new_private_file(path)
        self.error: OSError | None = None
        self.waiting: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="formkit-journal", daemon=True)
        self.thread.start()

    def add(self, lines: str) -> None:
        self.check()
        self.waiting.put(lines)

    def _run(self) -> None:
        while True:
            parts = [self.waiting.get()]
            while not self.waiting.empty():
                parts.append(self.waiting.get())
            text = "".join(p for p in parts if p)
            if text and self.error is None:
                try:
                    self.handle.write(text)
                    self.handle.flush()
                    os.fsync(self.handle.fileno())
                except OSError as exc:
                    self.error = exc
            if None in parts:
                return

    def close(self) -> None:
        """Write what is waiting and close (errors are kept for :meth:`check`)."""
        self.waiting.put(None)
        self.thread.join()
        try:
            self.handle.close()
        except OSError as exc:
            self.error = self.error or exc

    def check(self) -> None:
        if self.error is not None:
            raise output_error(self.error, self.path) from None


def _changed(source: str, row: int | None, several: bool) -> InputFileError:
    where = f"（{row_label(row, several)}与检查时不同）" if row is not None else "（行数与检查时不同）"
    return InputFileError(f"{source} 在生成过程中被修改了{where}，已停止；已生成的文书和清单都保留。请保存好名单后重新运行。",
                          path=source, code="roster-changed")


_ISSUER_LABELS = {"body": "发文单位", "issue_date": "发文日期"}


class _IssuerSeen:
    """Whether any row or setting says who issues the notices (one clear message when none does)."""

    def __init__(self, spec: FormSpec, settings: dict[str, Any]) -> None:
        wanted = "issuer" in spec.model.model_fields
        self.missing = {k for k in _ISSUER_LABELS if wanted and f"issuer.{k}" not in settings}

    def see(self, raw: dict[str, Any]) -> None:
        if self.missing:
            given = raw.get("issuer") or {}
            self.missing = {k for k in self.missing if not (isinstance(given, dict) and given.get(k))}

    def require(self) -> None:
        if self.missing:
            missing = [k for k in _ISSUER_LABELS if k in self.missing]
            example = "、".join(f"{k}=…" for k in missing)
            raise UsageError(
                f"缺少发文信息：{'、'.join(_ISSUER_LABELS[k] for k in missing)}。请在发文信息中给出 {example}，"
                f"或写在名单旁的 formkit.toml 里，例如：[issuer] 下一行 body = \"石门镇人民政府\"，"
                f"一行 issue_date = 2024-04-08。",
                code="issuer-missing",
            )


def _listed_twice(rows: Iterable[tuple[int, int, str]], several_sheets: bool) -> dict[int, Problem]:
    """A ``duplicate-id`` problem for every (position, row, ID number) whose ID number another row holds too."""
    places: dict[str, list[tuple[int, int]]] = {}
    for index, row, key in rows:
        places.setdefault(key, []).append((index, row))
    out = {}
    for key, found in places.items():
        if len(found) < 2:
            continue
        for index, _ in found:
            others = "、".join(row_label(r, several_sheets) for i, r in found if i != index)
            out[index] = Problem("duplicate-id", "身份证号", f"身份证号重复，同一学生还出现在：{others}。请核实后只保留一条"
                                 "（否则同一学生会收到两份同一文号的通知书）。", mask_id(key), path="student.id_number")
    return out


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

    wanted = array("q", (i for i, plan in enumerate(plans) if prefix and not plan.doc_number))  # a roster's number wins

    def issued(given: list[int]) -> Iterator[IssuedDocument]:
        for i, n in zip(wanted, given, strict=True):
            numbers[i] = format_number(prefix, plans[i].year, n) if n else f"{prefix}〔{plans[i].year}〕（待分配）号"
        # Recorded with the numbers, before rendering: a number once given is the notice's, and
        # a re-run produces the same notice again, so a later failure leaves nothing wrong behind.
        return (IssuedDocument(form, plan.student_key, plan.issue_date, number, plan.deadline)
                for plan, number in zip(plans, numbers, strict=True) if plan.issue_date is not None)

    with NumberRegister(Path(register) if register else default_register_path()) as reg:
        requests = ((prefix, plans[i].year, form, plans[i].student_key) for i in wanted)
        given = reg.numbers_for(requests, dry_run=dry_run, issued=issued)
    if dry_run:
        for _ in issued(given):
            pass
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
                                  str(entry.get("status", "")), str(entry.get("pdf", "")), str(entry.get("sheet", ""))))
        except (TypeError, ValueError):
            continue
        mine.add(name)
    return kept


_ITEM_FIELDS = [f.name for f in dataclasses.fields(BatchItem)]


def _write_manifest(out: Path, result: BatchResult, earlier: list[dict[str, Any]] | None = None,
                    known: dict[str, str] | None = None) -> None:
    """manifest.json (``result.to_dict()``, followed by the items of earlier runs whose documents are
    still there) and manifest.csv, streamed item by item so a 10,000-document batch never builds the
    whole manifest in memory. Runs hold the folder's lock, so this read-modify-write loses nothing."""
    head = {"form": result.form, "out_dir": result.out_dir, "dry_run": result.dry_run, "counts": result.counts,
            "sheets": [mask_message(s) for s in result.sheets], "invalid": _invalid_dicts(result.invalid),
            "merged": result.merged}
    items = [*result.items, *_earlier_items(out, result, earlier or [], known or {})]
    with atomic_stream(out / MANIFEST) as handle:
        handle.write(_scrub(json.dumps(head, ensure_ascii=False, indent=2))[:-2] + ',\n  "items": [')
        for i, item in enumerate(items):
            fields = {name: getattr(item, name) for name in _ITEM_FIELDS}  # asdict's deep copy, without the cost
            fields["sheet"] = mask_message(item.sheet)  # a sheet may be named after a student's ID
            handle.write(("," if i else "") + "\n    " + _scrub(json.dumps(fields, ensure_ascii=False)))
        handle.write("\n  ]\n}\n")
    with atomic_stream(out / MANIFEST_CSV) as handle:
        handle.write("\ufeff")  # Excel in China opens a BOM-less UTF-8 CSV as GBK and shows mojibake.
        writer = csv.writer(handle)
        writer.writerow(["工作表", "行号", "学生", "身份证号", "文号", "文件", "PDF", "SHA-256", "状态"])
        for item in items:
            # Names come from rosters: "=HYPERLINK(…)" must stay text when Excel opens the file.
            writer.writerow([neutralise_formula(_scrub(str(cell))) for cell in (
                mask_message(item.sheet), item.row, item.name, item.id_masked, item.doc_number, item.file, item.pdf, item.sha256, item.status)])


__all__ = ["BatchItem", "BatchResult", "InvalidRosterError", "batch", "find_config", "format_batch", "load_settings",
           "read_records", "row_label"]


_STATUS_CN = {"written": "新生成", "unchanged": "未变化", "updated": "已更新", "kept-edited": "已被手工修改，保留未覆盖",
              "skipped-invalid": "数据有误，已跳过", "planned": "将生成"}


def format_batch(result: BatchResult) -> str:
    """Chinese summary of a batch for the terminal."""
    lines = []
    several = len(result.sheets) > 1
    if result.dry_run:
        lines.append(f"试运行：以下 {len(result.items)} 份文书将写到 {result.out_dir}（未写任何文件）。")
        for item in result.items:
            lines.append(f"  {row_label(SheetRow(item.row, item.sheet), several)} {item.name} → "
                         f"{item.file or '（跳过）'} {item.doc_number}")
    for row, problems in result.invalid:
        for p in problems:
            column = _column_for(p.path)
            shown = f"（值：{p.value}）" if p.value else ""
            lines.append(f"  跳过{row_label(row, several)}：{column or p.field}：{p.message}{shown} [{p.code}]")
    kept = [i for i in result.items if i.status == "kept-edited"]
    for item in kept:
        lines.append(f"  {item.file} 已被手工修改，未覆盖。")
    if not result.dry_run:
        counts = "，".join(f"{_STATUS_CN.get(k, k)} {v} 份" for k, v in result.counts.items())
        read = ("（读取了工作表" + "、".join(f"“{s}”" for s in result.sheets) + "）") if several else ""
        lines.append(f"完成：{counts}{read}。输出在 {result.out_dir}，清单见 manifest.json / manifest.csv。")
        if result.merged:
            lines.append(f"合并打印文件：{Path(result.out_dir) / result.merged}")
    return "\n".join(lines)
