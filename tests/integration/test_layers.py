"""The package's imports run one way: each ``behavtrack.*`` import is checked against the layers.

Every module of ``behavtrack`` is parsed (``ast``; no module is imported) and every import of a
``behavtrack`` module is collected, at the top of a module or inside a function alike. An
import is allowed when the imported module's layer is the importer's own layer or a layer
below it in :data:`LAYERS`; the outer layer (:data:`OUTER`) may import anything. The layers,
lowest first:

0. ``core``: ``behavtrack._version``, ``behavtrack.errors``, ``behavtrack.files``,
   ``behavtrack.parallel`` (forked workers) and the packaged data (``behavtrack.data``);
1. ``io``: every on-disk format (readers, writers, finding inputs);
2. ``simulate`` and ``tracking``: the two sources of poses (the simulator's sessions, the
   trackers), side by side: neither imports the other;
3. ``features``: per-frame features from pose and arena;
4. ``strategies``: the classifiers, frame labels and bouts (and the agents' grid behaviours);
5. ``task``: trials, success, chance;
6. ``export``: per-session outputs (tables, raster, provenance, NWB; an NWB file carries the
   trials);
7. ``learning``: the sessions table, curves, fits, the agents' rollouts as sessions;
8. ``compare``: mice vs agents and the report;
9. ``agents``: the agents' side (environment, replay, training, which evaluates its
   checkpoints with ``learning``);
10. outer: ``workflows``, ``batch``, ``demo``, ``cli``, ``napari`` and the package itself
    (``behavtrack/__init__.py``: the in-memory API, importing lazily from every stage).

``from behavtrack import __version__`` (or an error class) is an import of ``core``: the
package re-exports those names from ``behavtrack._version`` and ``behavtrack.errors``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import behavtrack

PACKAGE = Path(behavtrack.__file__).parent

#: The layers, lowest first: a module may import its own layer and those before it.
#: Layers that share a rank are siblings (neither may import the other).
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("io",),
    ("simulate", "tracking"),
    ("features",),
    ("strategies",),
    ("task",),
    ("export",),
    ("learning",),
    ("compare",),
    ("agents",),
]
#: Subpackages and modules of the outer layer: they may import anything.
OUTER = ("workflows", "batch", "demo", "cli", "napari", "__main__", "")
#: Modules of ``core`` (the names right under ``behavtrack``).
CORE = ("_version", "errors", "files", "parallel", "data")
#: Names that ``behavtrack/__init__.py`` re-exports from ``core``.
CORE_NAMES = ("__version__", "BehavtrackError", "InputError")

#: Known backward edges, to be removed (and then deleted from here). None is left: the
#: folder-writing classify workflow, which wrote its output folder through ``export`` from
#: ``strategies/pipeline.py``, moved to ``workflows/classify.py``. Only edges *from*
#: ``behavtrack.strategies.pipeline`` may ever be listed, e.g.
#: ``("behavtrack.strategies.pipeline", "behavtrack.export")``.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def layer_of(module: str) -> str:
    """Return the layer of a ``behavtrack`` module: a name of :data:`LAYERS`, or ``outer``."""
    parts = module.split(".")
    assert parts[0] == "behavtrack", module
    top = parts[1] if len(parts) > 1 else ""
    if top in CORE:
        return "core"
    if top in OUTER:
        return "outer"
    if any(top in names for names in LAYERS):
        return top
    raise AssertionError(f"{module}: its folder {top!r} is in no layer: add it to LAYERS")


def rank(layer: str) -> int:
    """Return a layer's position (the outer layer is above every other)."""
    if layer == "outer":
        return len(LAYERS)
    return next(i for i, names in enumerate(LAYERS) if layer in names)


def allowed(importer: str, imported: str) -> bool:
    """Whether module ``importer`` may import module ``imported`` (both ``behavtrack.*``)."""
    a, b = layer_of(importer), layer_of(imported)
    return a == "outer" or a == b or rank(b) < rank(a)


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """Return the dotted name of a module file of the package."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[tuple[str, int]]:
    """Return the ``behavtrack`` modules a module's source imports, with their line numbers.

    Every ``import`` and ``from ... import`` anywhere in the module (also inside functions,
    methods and ``if TYPE_CHECKING`` blocks) counts. Relative imports are resolved against
    ``module``. ``from behavtrack.x import y`` counts as an import of ``behavtrack.x`` (the
    same layer as a submodule ``behavtrack.x.y``); ``from behavtrack import y`` as one of
    ``behavtrack.y``, or of ``core`` for the names in :data:`CORE_NAMES`.
    """
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names
                      if a.name.split(".")[0] == "behavtrack"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "behavtrack":
                continue
            if target == "behavtrack":  # names of the package itself
                for alias in node.names:
                    if alias.name in CORE_NAMES:
                        found.append(("behavtrack._version" if alias.name == "__version__"
                                      else "behavtrack.errors", node.lineno))
                    else:
                        found.append((f"behavtrack.{alias.name}", node.lineno))
            else:
                found.append((target, node.lineno))
    return found


def backward_edges(
    source: str, module: str, is_package: bool = False,
    exceptions: set[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Return the imports of a module that run against the layers (one line each)."""
    out = []
    for target, line in imports_of(source, module, is_package):
        if target == module or (module, target) in exceptions:
            continue
        if not allowed(module, target):
            out.append(f"{module} (line {line}) imports {target}: "
                       f"{layer_of(module)} may not import {layer_of(target)}")
    return out


def package_modules() -> list[tuple[str, Path]]:
    """Return every module of the package (dotted name, file)."""
    return [(module_name(p), p) for p in sorted(PACKAGE.rglob("*.py"))]


def test_exceptions_are_only_the_pipeline_workflow():
    assert {a for a, _ in KNOWN_EXCEPTIONS} <= {"behavtrack.strategies.pipeline"}


def test_every_module_is_in_a_layer():
    for name, _ in package_modules():
        layer_of(name)


def test_no_import_runs_against_the_layers():
    bad = []
    for name, path in package_modules():
        bad += backward_edges(path.read_text(encoding="utf-8"), name,
                              path.name == "__init__.py", KNOWN_EXCEPTIONS)
    assert not bad, "imports against the flow:\n" + "\n".join(bad)


def test_known_exceptions_still_exist():
    """An exception that no longer occurs is removed from the list (the list only shrinks)."""
    edges = set()
    for name, path in package_modules():
        edges |= {(name, t) for t, _ in imports_of(path.read_text(encoding="utf-8"), name,
                                                    path.name == "__init__.py")}
    stale = KNOWN_EXCEPTIONS - edges
    assert not stale, f"remove from KNOWN_EXCEPTIONS: {sorted(stale)}"


@pytest.mark.parametrize(("module", "source", "n_bad"), [
    # a backward edge at the top of a module, and one hidden inside a function
    ("behavtrack.learning.x", "from behavtrack.compare.report import headline\n", 1),
    ("behavtrack.io.x", "def f():\n    import behavtrack.features.table\n", 1),
    ("behavtrack.task.x", "from behavtrack import workflows\n", 1),
    # siblings do not import each other
    ("behavtrack.tracking.x", "from behavtrack.simulate import write\n", 1),
    # relative imports are resolved
    ("behavtrack.strategies.x", "from ..learning import sessions\n", 1),
    ("behavtrack.strategies.x", "from .hmm import HMMClassifier\n", 0),
    # forward edges, the core and the outer layer are fine
    ("behavtrack.learning.x", "from behavtrack import __version__\n"
                              "from behavtrack.task.trials import trials_from_events\n"
                              "from behavtrack.io.session import read_session_meta\n", 0),
    ("behavtrack.workflows.x", "from behavtrack.napari.session import load_review_session\n", 0),
    ("behavtrack.cli.x", "from behavtrack.workflows.stats import compute_stats\n", 0),
    # a stage does not import export, nor the writers of a workflow
    ("behavtrack.strategies.rules", "from behavtrack.export import write_provenance\n", 1),
    ("behavtrack.strategies.pipeline", "from behavtrack.learning import sessions\n", 1),
])
def test_checker_finds_backward_edges(module, source, n_bad):
    assert len(backward_edges(source, module, exceptions=KNOWN_EXCEPTIONS)) == n_bad


def test_an_exception_excuses_only_its_own_edge():
    known = {("behavtrack.strategies.pipeline", "behavtrack.export")}
    source = "from behavtrack.export import write_provenance\n"
    assert backward_edges(source, "behavtrack.strategies.pipeline", exceptions=known) == []
    assert len(backward_edges(source, "behavtrack.strategies.rules", exceptions=known)) == 1
