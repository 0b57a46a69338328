"""behavtrack.files: the one switch of the progress bars (``set_progress``, ``progress_bars``,
``BEHAVTRACK_QUIET``). Atomic writes, staged folders and locks are tested in
``tests/integration/test_user_path.py``."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import behavtrack as bt
from behavtrack.files import progress, progress_bars, progress_enabled, set_progress

PACKAGE = Path(__file__).resolve().parents[2] / "behavtrack"


@pytest.fixture(autouse=True)
def _default_switch(monkeypatch: pytest.MonkeyPatch):
    """Each test starts from the default (no setting, no environment) and leaves it so."""
    monkeypatch.delenv("BEHAVTRACK_QUIET", raising=False)
    set_progress(None)
    yield
    set_progress(None)


def _drawn(capsys: pytest.CaptureFixture[str]) -> str:
    """What a three-step bar called ``steps`` writes to stderr now."""
    items = list(progress(range(3), desc="steps", unit="step"))
    assert items == [0, 1, 2]  # the items go through, bar or not
    captured = capsys.readouterr()
    assert captured.out == ""  # bars never go to stdout
    return captured.err


def test_a_bar_on_stderr_when_on_and_none_when_off(capsys):
    assert progress_enabled()
    err = _drawn(capsys)
    assert "steps:" in err and "/3 " in err
    set_progress(False)
    assert not progress_enabled()
    assert _drawn(capsys) == ""
    items = [1, 2]
    assert progress(items, desc="x") is items  # off: the iterable itself, not a wrapper
    set_progress(True)
    assert "steps" in _drawn(capsys)


def test_the_environment_is_the_default_and_a_setting_overrides_it(capsys, monkeypatch):
    monkeypatch.setenv("BEHAVTRACK_QUIET", "1")
    assert not progress_enabled() and _drawn(capsys) == ""
    monkeypatch.setenv("BEHAVTRACK_QUIET", "0")  # only "1" silences
    assert progress_enabled()
    monkeypatch.setenv("BEHAVTRACK_QUIET", "1")
    set_progress(True)  # code that asks for bars gets them
    assert "steps" in _drawn(capsys)
    set_progress(None)  # back to the environment's default
    assert not progress_enabled()
    with progress_bars(True):
        assert "steps" in _drawn(capsys)
    assert not progress_enabled()


def test_the_context_manager_restores_the_previous_state():
    set_progress(False)
    with progress_bars(True):
        assert progress_enabled()
        with progress_bars(False):
            assert not progress_enabled()
            with progress_bars(None):  # lifts the enclosing blocks: set_progress decides
                assert not progress_enabled()
            set_progress(True)  # inside a block the block still decides ...
            assert not progress_enabled()
        assert progress_enabled()
    assert progress_enabled()  # ... and the process-wide setting holds after it
    set_progress(False)
    with pytest.raises(RuntimeError), progress_bars(True):
        raise RuntimeError("restored on an error too")
    assert not progress_enabled()


def test_a_block_is_this_threads_and_set_progress_every_threads():
    seen: list[bool] = []

    def look() -> None:
        seen.append(progress_enabled())

    with progress_bars(False):  # e.g. a batch job in a worker thread: the others keep theirs
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
    set_progress(False)
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [True, False]


def test_no_empty_bar_and_only_bools(capsys):
    assert progress([], desc="sessions") == []
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="True, False or None"):
        set_progress("no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="True, False or None"), progress_bars(0):  # type: ignore[arg-type]
        pass


def test_the_switch_is_part_of_the_api():
    assert bt.set_progress is set_progress and bt.progress_bars is progress_bars
    assert bt.progress_enabled is progress_enabled


def test_no_library_function_takes_quiet():
    """Bars are switched in one place: no function of the library (the CLI aside, whose
    ``-q`` sets the switch) takes a ``quiet`` parameter to pass down."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                if "quiet" in names:
                    found.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert not found, found
