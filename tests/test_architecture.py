"""The layers drawn in docs/architecture.md, enforced on the code.

Every import counts, including the ones inside functions and under ``TYPE_CHECKING``: a lazy
import still makes one module depend on another, it only hides the dependency from a reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import formkit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "formkit"

# Lower number = lower layer. A module may import its own layer and the ones below, never above.
# web and cli are clients of the public API: they may import the facade ``formkit`` (its __all__).
FACADE_USERS = {"web", "cli"}
LAYERS = {"core": 0, "tables": 1, "documents": 2, "ledger": 3, "web": 4, "cli": 5, "__main__": 6, "__init__": 6}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: the public facade
        return LAYERS["__init__"]
    return LAYERS[parts[1]]


def _imports() -> dict[str, set[str]]:
    """Every module of formkit → the formkit modules it imports (resolved to modules, not names)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import; formkit uses absolute imports"
                base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                if target == "formkit" or target.startswith("formkit."):
                    while target not in modules:  # `import formkit.x.y` names a module; strip attributes
                        target = target.rpartition(".")[0]
                    if target != name:
                        found.add(target)
        graph[name] = found
    return graph


def test_layout_has_the_documented_packages() -> None:
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == ["core", "documents", "ledger", "tables", "web"]
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cli.py"], "new modules belong in a layer package"


def test_no_upward_imports() -> None:
    upward = [
        f"{module} → {target}"
        for module, targets in _imports().items()
        for target in targets
        if _layer(target) > _layer(module) and not (target == "formkit" and module.split(".")[1] in FACADE_USERS)
    ]
    assert not upward, "imports against the layers of docs/architecture.md:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = _imports()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if nxt == "formkit":
                continue  # the facade imports everything lazily; only web and cli may use it (checked above)
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_architecture_doc_lists_every_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(formkit(?:\.\w+)+)`", doc))
    actual = {m for m in _imports() if m != "formkit"}
    assert actual - named == set(), f"modules missing from docs/architecture.md: {sorted(actual - named)}"
    assert named - actual - {"formkit.__all__"} == set(), f"docs name modules that do not exist: {sorted(named - actual)}"


def test_cli_uses_only_the_public_api() -> None:
    """cli.py is a thin shell: anything it needs from formkit is a public, documented name."""
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    private: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("formkit"):
            if node.module != "formkit":
                private.append(f"line {node.lineno}: from {node.module} import …")
            else:
                private += [f"line {node.lineno}: {a.name}" for a in node.names if a.name not in formkit.__all__]
        elif isinstance(node, ast.Import):
            private += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("formkit")]
    assert not private, "cli.py imports beyond formkit.__all__:\n" + "\n".join(private)


def test_python_dash_m_formkit_runs_the_cli() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "formkit", "--help"], capture_output=True, text=True, check=True)
    assert "formkit" in out.stdout and "ledger" in out.stdout
