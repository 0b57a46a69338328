"""Every module of the package is imported by some test file, so a new module cannot arrive
without a test of its own.

A module counts as tested when a file under ``tests/`` imports it: ``import behavtrack.x.y``,
``from behavtrack.x.y import ...``, ``from behavtrack.x import y``, or ``from behavtrack.x import
name`` where the package ``behavtrack.x`` re-exports ``name`` from ``behavtrack.x.y``.
``__init__`` and ``__main__`` files and the CLI (``behavtrack/cli/``, run end to end by the
integration tests) are not listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "behavtrack"

#: Modules without a direct test, each with its reason. This list only ever shrinks.
UNTESTED = {
    # the version string alone; ``behavtrack.__version__`` carries it (packaging reads it)
    "behavtrack._version",
}


def package_modules() -> set[str]:
    """Dotted names of the package's modules (no ``__init__``, ``__main__`` or CLI)."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        if rel.name in ("__init__", "__main__") or rel.parts[:2] == ("behavtrack", "cli"):
            continue
        out.add(".".join(rel.parts))
    return out


def imports_of(source: str) -> set[str]:
    """Every dotted name a source file imports, and ``module.name`` for ``from`` imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def reexports(package: str) -> dict[str, str]:
    """Name -> home module of what a package's ``__init__.py`` imports from its modules."""
    init = ROOT.joinpath(*package.split("."), "__init__.py")
    if not init.is_file():
        return {}
    out = {}
    for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            home = node.module if node.level == 0 else f"{package}.{node.module}"
            out.update({a.asname or a.name: home for a in node.names})
    return out


def covered(names: set[str], modules: set[str]) -> set[str]:
    """The modules among ``names``, plus those whose objects a package re-exports by name."""
    out = names & modules
    for name in names - modules:
        package, _, attr = name.rpartition(".")
        if package.startswith("behavtrack") and package not in modules:
            home = reexports(package).get(attr)
            if home in modules:
                out.add(home)
    return out


def modules_under_test(modules: set[str]) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names |= imports_of(path.read_text(encoding="utf-8"))
    return covered(names, modules)


def test_every_module_is_imported_by_a_test():
    modules = package_modules()
    assert len(modules) > 50  # the walk found the package
    missing = sorted(modules - modules_under_test(modules) - UNTESTED)
    assert not missing, ("modules without a test (add tests/unit/test_<stage>_<module>.py): "
                         f"{missing}")


def test_the_allow_list_only_names_untested_modules():
    modules = package_modules()
    stale = sorted(UNTESTED - (modules - modules_under_test(modules)))
    assert not stale, f"these have a test (or are gone): remove them from UNTESTED: {stale}"


def test_each_import_form_counts_and_nothing_else():
    modules = {"behavtrack.a.b", "behavtrack.a.c", "behavtrack.d.e", "behavtrack.f.g",
               "behavtrack.h.i", "behavtrack.task.trials", "behavtrack.task.chance"}
    names = imports_of("import behavtrack.a.b\nfrom behavtrack.d.e import x\n"
                       "from behavtrack.f import g\nfrom . import c\nimport behavtrack.h\n"
                       "from behavtrack.task import trials_from_events\n")
    # the package behavtrack.task re-exports trials_from_events from behavtrack.task.trials
    assert covered(names, modules) == {"behavtrack.a.b", "behavtrack.d.e", "behavtrack.f.g",
                                       "behavtrack.task.trials"}
