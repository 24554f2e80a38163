"""Enumerations as data: load them from TOML and match clerk wordings to canonical values.

The default table ships as ``formkit/data/enums.toml``; a county adjusts it with its own copy,
loaded with :func:`load_enums` and passed to the library in :class:`formkit.core.settings.Settings`
(the command line reads the path from ``FORMKIT_ENUMS``). Matching is forgiving in the ways clerks
need (full-width characters, stray spaces, listed synonyms, case of Latin letters) and
strict otherwise: an unknown value is rejected with the closest allowed value suggested.
"""

from __future__ import annotations

import difflib
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from formkit.core.errors import InputFileError, ValueProblem


def normalize_text(value: object) -> str:
    """NFKC-normalise and strip a cell value (full-width digits, NBSP, ideographic spaces)."""
    text = unicodedata.normalize("NFKC", str(value))
    return text.strip()


def _key(value: str) -> str:
    # Inner spaces never change the meaning of an enumeration value; case only for Latin.
    return "".join(normalize_text(value).split()).upper()


@dataclass(frozen=True)
class Enumeration:
    """One enumeration: canonical values, their synonyms, and matching rules."""

    name: str
    label: str
    canonical: tuple[str, ...]
    lookup: dict[str, str] = field(repr=False)
    needs_note: frozenset[str] = frozenset()
    returned: frozenset[str] = frozenset()

    def match(self, value: object) -> str:
        """Return the canonical value for ``value`` or raise ``ValueProblem`` (code ``enum``)."""
        key = _key(str(value))
        found = self.lookup.get(key)
        if found is not None:
            return found
        shown = normalize_text(value)
        hint = self.suggest(shown)
        tip = f"是不是“{hint}”？" if hint else ""
        allowed = "、".join(self.canonical[:12]) + ("等" if len(self.canonical) > 12 else "")
        raise ValueProblem(
            "enum",
            f"{self.label}“{shown}”不是规定的值。{tip}请从下拉列表中选择：{allowed}。",
            shown,
        )

    def suggest(self, value: str) -> str | None:
        """The canonical value closest to ``value``, or None when nothing is close."""
        key = _key(value)
        if not key:
            return None
        # Containment catches the common case of a longer local wording (e.g. 家庭经济特别困难).
        for candidate, canonical in self.lookup.items():
            if len(candidate) >= 2 and (candidate in key or key in candidate):
                return canonical
        close = difflib.get_close_matches(key, list(self.lookup), n=1, cutoff=0.5)
        return self.lookup[close[0]] if close else None


@dataclass(frozen=True)
class EnumTable:
    """All enumerations, by name (``reason``, ``status``, ``placement``, …)."""

    items: dict[str, Enumeration]
    source: str

    def __getitem__(self, name: str) -> Enumeration:
        return self.items[name]


def _build(name: str, spec: dict[str, object], source: str) -> Enumeration:
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise InputFileError(f"枚举文件 {source} 中 [{name}] 缺少 values 列表。", path=source)
    canonical: list[str] = []
    lookup: dict[str, str] = {}
    suffix = str(spec.get("accept_suffix", ""))
    for group in values:
        if isinstance(group, str):
            group = [group]
        if not isinstance(group, list) or not group:
            raise InputFileError(f"枚举文件 {source} 中 [{name}] 的取值格式不对。", path=source)
        head = normalize_text(group[0])
        canonical.append(head)
        for alias in group:
            lookup[_key(str(alias))] = head
            if suffix:
                alias_s = str(alias)
                stem = alias_s.removesuffix(suffix)
                lookup[_key(stem)] = head
                lookup[_key(stem + suffix)] = head
    label = str(spec.get("label", name))

    def subset(key: str) -> frozenset[str]:
        raw = spec.get(key, [])
        return frozenset(lookup[_key(str(v))] for v in raw) if isinstance(raw, list) else frozenset()

    return Enumeration(name, label, tuple(canonical), lookup, subset("needs_note"), subset("returned"))


def parse_enum_table(text: str, source: str) -> EnumTable:
    """Parse a TOML enumeration table (see ``data/enums.toml`` for the format)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"枚举文件 {source} 不是有效的 TOML：{exc}", path=source) from None
    items = {name: _build(name, spec, source) for name, spec in raw.items() if isinstance(spec, dict)}
    return EnumTable(items, source)


@cache
def load_enums(path: str | Path | None = None) -> EnumTable:
    """Load the enumeration table: the packaged one, adjusted by the county file ``path`` when given."""
    chosen = str(path) if path else None
    if chosen:
        try:
            text = Path(chosen).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputFileError(f"找不到枚举文件 {chosen}。请检查路径。", path=chosen, code="file-missing") from None
        except UnicodeDecodeError:
            raise InputFileError(f"枚举文件 {chosen} 不是 UTF-8 编码。请另存为 UTF-8 编码的 TOML。", path=chosen,
                                 code="file-encoding") from None
        except OSError as exc:
            raise InputFileError(f"无法读取枚举文件 {chosen}（{exc.strerror}）。请检查文件权限，或换一个文件。",
                                 path=chosen, code="file-unreadable") from None
        table = parse_enum_table(text, chosen)
        default = parse_enum_table(_packaged_text(), "formkit/data/enums.toml")
        # A county file may adjust a few enumerations; the rest keep their defaults.
        return EnumTable({**default.items, **table.items}, chosen)
    return parse_enum_table(_packaged_text(), "formkit/data/enums.toml")


def _packaged_text() -> str:
    return resources.files("formkit").joinpath("data/enums.toml").read_text(encoding="utf-8")


def enum(name: str) -> Enumeration:
    """The shipped enumeration ``name`` (``load_enums()[name]``); a county table travels in ``Settings``."""
    return load_enums()[name]
