"""Render one record of one form to DOCX (or PDF) bytes/files."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from formkit.core.fileio import Source, atomic_write, claim_output, source_bytes, source_name, work_area
from formkit.core.settings import Settings, settings_or_default
from formkit.documents.engine import TEMPLATE_LIMITS, CompiledTemplate
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
    # An override is named by its path: the clerk must see which county file is broken.
    return CompiledTemplate(load_template_bytes(name, templates_dir), shown)


def compile_template_file(path: Source) -> CompiledTemplate:
    """Compile a user-supplied template (a path, its bytes or a binary file object; read once)."""
    return CompiledTemplate(source_bytes(path, "模板文件", TEMPLATE_LIMITS.max_file_bytes), Path(source_name(path)).name)


def _as_record(spec: FormSpec, record: BaseModel | object, settings: Settings | None = None,
               where: str = "") -> BaseModel:
    if isinstance(record, spec.model):
        return record
    if isinstance(record, BaseModel):
        record = record.model_dump()
    return validate_record(spec, record, where=where, settings=settings)


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
    pdf: bool = False,
    overwrite: bool = False,
    where: str = "",
    settings: Settings | None = None,
) -> Path:
    """Validate ``record``, render it and write it to ``path``; returns ``path``.

    A ``.pdf`` suffix converts through LibreOffice (no .docx is left); ``pdf`` also writes a
    PDF beside a ``.docx`` (same name, ``.pdf``). An existing target is kept and
    ``OutputError`` (code ``output-exists``) raised before anything is written, unless
    ``overwrite``: a clerk may have edited it by hand. ``where`` names the record's source
    in error messages. Raises ``RecordError``, ``TemplateError`` and ``ConversionError``
    like :func:`render`.
    """
    from formkit.documents.pdf import convert_to_pdf

    output = Path(path)
    spec = get_form(form)
    chosen = settings_or_default(settings)
    model = _as_record(spec, record, chosen, where)
    wants_pdf_only = output.suffix.lower() == ".pdf"
    docx_path = output if not wants_pdf_only else output.with_suffix(".docx")
    targets = [output] if wants_pdf_only else [docx_path] + ([docx_path.with_suffix(".pdf")] if pdf else [])
    claim_output(targets, overwrite)
    payload = render(spec.name, model, template=template, context=context, settings=chosen)
    if wants_pdf_only:
        # The intermediate .docx holds the student's data: it lives beside the output (where the next
        # run sweeps what a kill left), never in /tmp.
        with work_area(output.parent) as work:
            tmp_docx = work / (output.stem + ".docx")
            tmp_docx.write_bytes(payload)
            (made,) = convert_to_pdf([tmp_docx], work / "pdf", settings=chosen)
            atomic_write(output, made.read_bytes(), replace=overwrite)
        return output
    atomic_write(docx_path, payload, replace=overwrite)
    if pdf:
        convert_to_pdf([docx_path], docx_path.parent, settings=chosen)
    return output
