"""Render one record of one form to DOCX (or PDF) bytes/files."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from formkit.core.fileio import Source, atomic_write, source_bytes, source_name, work_area
from formkit.core.settings import Settings, settings_or_default
from formkit.documents.engine import CompiledTemplate
from formkit.documents.forms import (
    FormSpec,
    build_context,
    get_form,
    load_template_bytes,
    template_source,
    validate_record,
)


def compiled_form(name: str, templates_dir: Path | None = None) -> CompiledTemplate:
    """The template of form ``name`` (override in ``templates_dir`` or shipped), compiled once per process.

    An override is recompiled when its file changes.
    """
    shown, override = template_source(name, templates_dir)
    stamp = override.stat().st_mtime_ns if override is not None else 0
    return _compiled(name, shown, stamp, templates_dir if override is not None else None)


@cache
def _compiled(name: str, shown: str, stamp: int, templates_dir: Path | None) -> CompiledTemplate:
    return CompiledTemplate(load_template_bytes(name, templates_dir), Path(shown).name)


def compile_template_file(path: Source) -> CompiledTemplate:
    """Compile a user-supplied template (a path, its bytes or a binary file object; read once)."""
    return CompiledTemplate(source_bytes(path, "模板文件"), Path(source_name(path)).name)


def _as_record(spec: FormSpec, record: BaseModel | object, settings: Settings | None = None) -> BaseModel:
    if isinstance(record, spec.model):
        return record
    if isinstance(record, BaseModel):
        record = record.model_dump()
    return validate_record(spec, record, settings=settings)


def render(
    form: str,
    record: BaseModel | dict[str, Any],
    *,
    context: dict[str, Any] | None = None,
    template: Source | CompiledTemplate | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
) -> bytes:
    """Validate ``record`` for ``form`` and return the rendered .docx as bytes.

    ``context`` adds or overrides template variables; ``template`` replaces the shipped
    template (a path, the bytes or a binary file object, or an already compiled template for
    repeated use); ``timeout`` limits the render in seconds (default ``settings.render_seconds``,
    10; safe in any thread); ``settings`` also give the county templates folder and enumerations.
    Raises ``RecordError`` for invalid data and ``TemplateError`` for a broken
    or hostile template.
    """
    spec = get_form(form)
    chosen = settings_or_default(settings)
    model = _as_record(spec, record, chosen)
    if template is None:
        compiled = compiled_form(spec.name, chosen.templates_dir)
    elif isinstance(template, CompiledTemplate):
        compiled = template
    else:
        compiled = compile_template_file(template)
    seconds = chosen.render_seconds if timeout is None else timeout
    return compiled.render(build_context(spec, model, context, enums=chosen.enums), timeout=seconds)


def render_to(
    path: Path | str,
    form: str,
    record: BaseModel | dict[str, Any],
    *,
    context: dict[str, Any] | None = None,
    template: Source | CompiledTemplate | None = None,
    settings: Settings | None = None,
) -> Path:
    """Render to ``path`` (replacing it); a ``.pdf`` suffix converts through LibreOffice."""
    render_document(form, record, Path(path), context=context, template=template, force=True, settings=settings)
    return Path(path)


def render_document(
    form: str,
    data: BaseModel | dict[str, Any] | object,
    output: Path,
    *,
    pdf: bool = False,
    template: Source | CompiledTemplate | None = None,
    context: dict[str, Any] | None = None,
    force: bool = False,
    where: str = "",
    settings: Settings | None = None,
) -> list[Path]:
    """Validate, render and write one document (and its PDF when asked); return the paths.

    Existing files are kept unless ``force``: a clerk may have edited them by hand.
    """
    from formkit.core.errors import OutputError
    from formkit.documents.pdf import convert_to_pdf

    spec = get_form(form)
    record = data if isinstance(data, spec.model) else validate_record(spec, data, where=where, settings=settings)
    wants_pdf_only = output.suffix.lower() == ".pdf"
    docx_path = output if not wants_pdf_only else output.with_suffix(".docx")
    targets = [output] if wants_pdf_only else [docx_path] + ([docx_path.with_suffix(".pdf")] if pdf else [])
    if not force:
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            raise OutputError(f"文件已存在：{'、'.join(existing)}。它可能被手工修改过；确认要覆盖请加 --force。")
    payload = render(spec.name, record, template=template, context=context, settings=settings)
    if wants_pdf_only:
        # The intermediate .docx holds the student's data: it lives beside the output (where the next
        # run sweeps what a kill left), never in /tmp.
        with work_area(output.parent) as work:
            tmp_docx = work / (output.stem + ".docx")
            tmp_docx.write_bytes(payload)
            (made,) = convert_to_pdf([tmp_docx], work / "pdf", settings=settings)
            atomic_write(output, made.read_bytes())
        return [output]
    atomic_write(docx_path, payload)
    if pdf:
        convert_to_pdf([docx_path], docx_path.parent, settings=settings)
    return targets
