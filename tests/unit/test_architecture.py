"""The house as docs/architecture.md draws it: no import circles, imports go one way.

Read from the source with `ast` (nothing is imported), TYPE_CHECKING imports included: a
circle that only type checkers follow is still a circle for a reader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("installation", "kernels")

# Small modules that import nothing of ours and that every layer may use.
LEAVES = (
    "installation.errors",
    "installation.logs",
    "installation.netcheck",
    "installation.options",
)

# layer -> what it may import besides itself and the leaves (docs/architecture.md, "Imports")
ALLOWED = {
    "kernels": (),
    "installation.models": ("kernels",),
    "installation.show": (),
    "installation.walk": ("installation.show.schema", "installation.models.latents"),
    # walk/midi_map.py: MIDI's pure mapping (the sensors' curves), owned by the midi thread
    # audio/: the live sound input (control/audio_in.py) analyses with the file path's code
    "installation.control": (
        "installation.walk.commands",
        "installation.walk.midi_map",
        "installation.audio",
    ),
    "installation.render": (
        "installation.walk",
        "installation.models",
        "installation.show.schema",
        "installation.show.arrays",
        "kernels",
    ),
    "installation.display": ("installation.render.frame",),
    "installation.audio": (),  # sound files and their analysis: numpy and ffmpeg only
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of our packages."""
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that module `name` imports (a package's submodule, not the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            targets = subs if len(subs) == len(node.names) else [module, *subs]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    known = module_files()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_module_table_finds_the_whole_package():
    graph = import_graph()
    assert "installation.walk.player" in graph and "kernels.upfirdn2d" in graph
    assert "installation.walk.commands" in graph["installation.render.loop"] | graph[
        "installation.walk.player"
    ]


def test_there_are_no_import_circles():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


def test_leaves_import_nothing_but_leaves():
    graph = import_graph()
    for leaf in LEAVES:
        assert graph[leaf] <= set(LEAVES), (leaf, graph[leaf])


def test_imports_go_one_way():
    graph = import_graph()
    wrong = defaultdict(set)
    for name, targets in graph.items():
        layer = next((layer for layer in ALLOWED if _within(name, layer)), None)
        if layer is None:
            continue  # app.py, run/, tools/, cli: the composition side may import anything
        allowed = (layer, *ALLOWED[layer], *LEAVES)
        for target in targets:
            if not any(_within(target, ok) for ok in allowed):
                wrong[name].add(target)
    assert dict(wrong) == {}
