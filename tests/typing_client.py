"""Uses formkit's public API the way a client program would; checked by mypy --strict."""

from __future__ import annotations

from pathlib import Path

import formkit


def make_notice(record: dict[str, object], out: Path) -> Path:
    spec: formkit.FormSpec = formkit.get_form("return-notice")
    try:
        model = formkit.validate_record(spec.name, record)
    except formkit.RecordError as err:
        codes: list[str] = [p.code for p in err.problems]
        raise SystemExit(", ".join(codes)) from err
    data: bytes = formkit.render(spec.name, model)
    out.write_bytes(data)
    return formkit.render_to(out.with_suffix(".pdf"), spec.name, model)


def list_forms() -> list[str]:
    return [f"{f.name}:{f.title}" for f in formkit.forms()]
