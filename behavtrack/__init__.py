"""behavtrack: poses, strategy bouts and learning curves of mouse pairs in a cooperation task.

The package is laid out in the order data flows through it::

    io -> tracking -> features -> strategies -> task -> learning -> compare

``simulate`` makes sessions with known truth; ``batch`` runs the pipeline over many
sessions; ``cli`` and ``napari`` are thin faces over the library.

The in-memory API, for a notebook (nothing is written)::

    import behavtrack as bt
    pose = bt.load_pose("rec_dlc.csv", fps=30)
    labels = bt.classify(pose)              # per-frame behaviour and posteriors
    bouts = bt.bouts_from_labels(labels)

Progress bars go to stderr; ``bt.set_progress(False)`` turns them off for the process,
``with bt.progress_bars(False): ...`` for a block (off from the start when the environment
has ``BEHAVTRACK_QUIET=1``).
"""

import importlib

from behavtrack._version import __version__
from behavtrack.errors import BehavtrackError, InputError

#: The in-memory API (``import behavtrack as bt``): name -> module. Each is imported on first
#: use, so ``import behavtrack`` stays light. Writers of output folders live in
#: :mod:`behavtrack.export`; the workflows that read and write whole folders in
#: :mod:`behavtrack.workflows` (``classify_session``, ``compute_stats``, ``compare``) and
#: :mod:`behavtrack.batch`.
_API: dict[str, str] = {
    "load_pose": "behavtrack.io.pose",
    "load_arena": "behavtrack.io.arena",
    "load_events": "behavtrack.io.events",
    "load_boris": "behavtrack.io.boris",
    "compute_features": "behavtrack.features.table",
    "feature_request": "behavtrack.features.table",
    "load_model": "behavtrack.strategies.model_file",
    "classify": "behavtrack.strategies.frames",
    "bouts_from_labels": "behavtrack.strategies.frames",
    "trials_from_events": "behavtrack.task.trials",
    "session_table": "behavtrack.learning.sessions",
    "learning_curves": "behavtrack.learning.curves",
    # progress bars on stderr: one switch for the whole process (``BEHAVTRACK_QUIET=1``: off)
    "set_progress": "behavtrack.files",
    "progress_bars": "behavtrack.files",
    "progress_enabled": "behavtrack.files",
}

__all__ = ["BehavtrackError", "InputError", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'behavtrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
