"""HTML form fields generated from a form's pydantic model, and the way back.

Each leaf field becomes one input named by its dotted English path (``student.name``,
``case.attempts.0.date``); its Chinese label, whether it is required, and the dropdown
choices of an enumeration all come from the model and the enumeration table, so a county
that changes ``enums.toml`` sees its own choices here too.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from formkit.core import models as m
from formkit.core.enums import EnumTable, load_enums
from formkit.core.errors import Problem
from formkit.documents.forms import FormSpec

_ENUM_ALIASES = {
    "sex": m.Sex, "ethnicity": m.Ethnicity, "relation": m.Relation, "reason": m.Reason, "status": m.Status,
    "placement": m.Placement, "category": m.Category, "destination": m.Destination, "grade": m.Grade,
}
_VALIDATOR_TO_ENUM = {id(typing.get_args(alias)[1].func): name for name, alias in _ENUM_ALIASES.items()}
_DATE_FUNC = id(typing.get_args(m.CnDate)[1].func)
_YESNO_FUNC = id(typing.get_args(m.YesNo)[1].func)
LIST_ROWS = 2
"""How many rows a list of sub-records (劝返记录, 家访记录, 各校情况) gets on the page."""


@dataclass
class Field:
    path: str
    label: str
    kind: str  # text / date / select / yesno / number
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str = ""


@dataclass
class Group:
    path: str
    label: str
    fields: list[Field] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


def _validators(info: FieldInfo) -> list[Any]:
    found = list(info.metadata)
    for arg in typing.get_args(info.annotation):
        found += list(getattr(arg, "__metadata__", ()))
    return [getattr(v, "func", None) for v in found]


def _sub_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, is_list) for a field holding a sub-record or a list of them."""
    origin = typing.get_origin(annotation)
    if origin is list:
        inner = typing.get_args(annotation)[0]
        return (inner, True) if isinstance(inner, type) and issubclass(inner, BaseModel) else (None, False)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found, many = _sub_model(arg)
            if found is not None:
                return found, many
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _leaf(path: str, info: FieldInfo, required: bool, enums: EnumTable) -> Field:
    funcs = [id(f) for f in _validators(info) if f is not None]
    default: Any = "" if info.is_required() or info.default is None or isinstance(info.default, list) else info.default
    if isinstance(default, bool):
        default = "是" if default else "否"
    elif isinstance(default, date):
        default = default.isoformat()
    label = info.title or path.rsplit(".", 1)[-1]
    for func in funcs:
        if func in _VALIDATOR_TO_ENUM:
            choices = enums[_VALIDATOR_TO_ENUM[func]].canonical
            return Field(path, label, "select", required, tuple(choices), str(default))
        if func == _DATE_FUNC:
            return Field(path, label, "date", required, default=str(default))
        if func == _YESNO_FUNC:
            return Field(path, label, "yesno", required, ("否", "是"), str(default or "否"))
    return Field(path, label, "text", required, default=str(default))


def _group(model: type[BaseModel], prefix: str, label: str, requires: set[str], enums: EnumTable,
           optional: bool = False) -> Group:
    """``optional``: a list row, whose own required fields only matter once the row is used."""
    group = Group(prefix, label)
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        sub, many = _sub_model(info.annotation)
        title = info.title or name
        if sub is not None and many:
            for i in range(LIST_ROWS):
                group.groups.append(_group(sub, f"{path}.{i}", f"{title}（第{i + 1}条）", set(), enums, True))
        elif sub is not None:
            group.groups.append(_group(sub, path, title, requires, enums, optional))
        else:
            group.fields.append(_leaf(path, info, not optional and (info.is_required() or path in requires), enums))
    return group


def form_groups(spec: FormSpec, enums: EnumTable | None = None) -> Group:
    """The whole input form for ``spec``: top-level fields first, then one box per sub-record;
    drop-down lists offer the values of ``enums`` (default: the shipped table)."""
    return _group(spec.model, "", spec.title, set(spec.requires), enums or load_enums())


def record_from_form(values: dict[str, str]) -> dict[str, Any]:
    """Nested record from dotted form keys; blanks are left out so defaults apply."""
    record: dict[str, Any] = {}
    for key, raw in values.items():
        value = raw.strip()
        if not value:
            continue
        node: Any = record
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    out: dict[str, Any] = _lists(record)
    return out


def _lists(node: Any) -> Any:
    """Turn ``{"0": {...}, "1": {...}}`` (list rows on the page) into a list, dropping empty rows."""
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def problems_by_field(problems: list[Problem], group: Group) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Attach each problem to the input it concerns; the rest (record-level rules) go on top.

    A whole sub-record left empty (``school`` missing) is shown at its first required input.
    """
    leaves = leaf_fields(group)
    paths = {f.path for f in leaves}
    placed: dict[str, list[Problem]] = {}
    loose: list[Problem] = []
    for problem in problems:
        path = problem.path
        if path and path not in paths:
            inside = [f for f in leaves if f.path.startswith(path + ".")]
            target = next((f for f in inside if f.required), inside[0] if inside else None)
            path = target.path if target else path
        while path and path not in paths:
            path = path.rpartition(".")[0]
        if path:
            placed.setdefault(path, []).append(problem)
        else:
            loose.append(problem)
    return placed, loose


def leaf_fields(group: Group) -> list[Field]:
    out = list(group.fields)
    for sub in group.groups:
        out += leaf_fields(sub)
    return out


def leaf_paths(group: Group) -> set[str]:
    return {f.path for f in leaf_fields(group)}
