"""``provenance.json``: the inputs and their checksums, the model, parameters, version, notes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from behavtrack.files import atomic_write_text, sha256

__all__ = ["file_record", "write_provenance"]


def file_record(path: str | os.PathLike | None) -> dict[str, Any] | None:
    """``{"path", "sha256", "bytes"}`` of a file, or ``None`` when there is no file."""
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        return {"path": str(p), "sha256": None, "bytes": None}
    return {"path": str(p.resolve()), "sha256": sha256(p), "bytes": p.stat().st_size}


def write_provenance(path: str | os.PathLike, *, inputs: dict[str, Any],
                     model: dict[str, Any] | None, parameters: dict[str, Any],
                     notes: list[str], extra: dict[str, Any] | None = None) -> Path:
    """Write ``provenance.json`` atomically.

    Parameters
    ----------
    path
        Target file.
    inputs
        Name -> :func:`file_record` (or ``None`` when that input was not given).
    model
        The model file's record plus its training checksum and metrics summary.
    parameters
        Everything else that shaped the result (thresholds, feature groups used, ...).
    notes
        Human-readable remarks (missing animal, no arena, ...).
    extra
        Further keys to store.

    """
    from behavtrack import __version__

    data: dict[str, Any] = {
        "tool": "behavtrack classify",
        "behavtrack_version": __version__,
        "inputs": inputs,
        "model": model,
        "parameters": parameters,
        "notes": notes,
    }
    if extra:
        data.update(extra)
    return atomic_write_text(path, json.dumps(data, indent=1, default=str) + "\n")
