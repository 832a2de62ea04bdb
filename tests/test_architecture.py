"""The package's shape, read from its source with ``ast`` (nothing is imported):

- no import cycle between storygraph modules, counting every import: at module level,
  inside functions, and under ``if TYPE_CHECKING:``; relative imports are resolved;
- no function (or method) longer than 60 lines, no module longer than 400 lines.

An import edge goes to the module whose code runs or whose namespace is read:
``from .export import write`` is an edge to ``storygraph.export``, ``from . import graph``
to ``storygraph.graph``, ``from . import __version__`` to ``storygraph`` (the package's
``__init__``). The parent packages Python initialises on the way are not edges: every module
would then depend on ``storygraph/__init__.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "storygraph"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(path, package.parent): path for path in sorted(package.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The storygraph modules that the module ``name`` (at ``path``) imports, anywhere in it."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_longest_known(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else _longest_known(base, known))
    return found - {"", name}


def _longest_known(dotted: str, known: set[str]) -> str:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return ""  # not a storygraph module (numpy, click, ...)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(package)
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, modules in sorted order)."""
    state: dict[str, str] = {}  # "open" while on the search path, "done" after
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_import_cycle():
    graph = import_graph()
    assert "storygraph.pipeline" in graph and graph["storygraph.pipeline"], "the scan found no imports"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_only_the_cli_and_the_facade_import_the_pipeline_and_nothing_imports_the_facade():
    graph = import_graph()
    assert sorted(m for m, deps in graph.items() if "storygraph.pipeline" in deps) == ["storygraph", "storygraph.cli"]
    assert sorted(m for m, deps in graph.items() if "storygraph" in deps) == []


def test_writers_read_the_data_layer_not_the_result_or_the_pipeline():
    graph = import_graph()
    writers = {m: deps for m, deps in graph.items() if m.startswith("storygraph.export")}
    assert writers and all(not deps & {"storygraph.result", "storygraph.pipeline"} for deps in writers.values())


def test_no_function_over_60_lines():
    too_long = [f"{name}: {entry}" for name, path in modules().items() for entry in long_functions(path)]
    assert too_long == []


def test_no_module_over_400_lines():
    too_long = {name: n for name, path in modules().items()
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


# --- the checks themselves can fail -------------------------------------------------------------

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "storygraph"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("files, expected", [
    # a function-level import closing the loop
    ({"__init__.py": "", "a.py": "from .b import x\n", "b.py": "def f():\n    from . import a\n"},
     ["storygraph.a", "storygraph.b", "storygraph.a"]),
    # an import under TYPE_CHECKING, from a subpackage with a two-dot relative import
    ({"__init__.py": "", "model.py": "from .export import write\n", "export/__init__.py": "",
      "export/json.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..model import R\n",
      "export/more.py": "", "pipeline.py": ""},
     None),
    ({"__init__.py": "", "model.py": "from .export.json import dumps\n", "export/__init__.py": "",
      "export/json.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..model import R\n"},
     ["storygraph.export.json", "storygraph.model", "storygraph.export.json"]),
    # "from . import __version__" reads the package's __init__, which imports the pipeline lazily
    ({"__init__.py": "def __getattr__(n):\n    from . import pipeline\n", "pipeline.py": "from . import cache\n",
      "cache.py": "from . import __version__\n"},
     ["storygraph", "storygraph.pipeline", "storygraph.cache", "storygraph"]),
])
def test_cycle_finder_sees_every_kind_of_import(tmp_path, files, expected):
    graph = import_graph(_package(tmp_path, files))
    assert find_cycle(graph) == expected


def test_long_function_is_reported(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def short():\n    pass\n\n\nclass C:\n    def long(self):\n" + "        x = 1\n" * 60,
                    encoding="utf-8")
    assert long_functions(path, 60) == ["m.py:6 long (61 lines)"]
