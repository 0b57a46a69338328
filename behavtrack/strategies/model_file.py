"""Where the shipped models live, which one fits a recording, and how a model file is loaded.

Two models are shipped (``models/README.md`` says how each was trained):

- ``default.json``: the cooperation task (two mice on either side of a partition, poke ports,
  the rig's log), trained on the simulated ``labeled_examples/``;
- ``social.json``: two mice in one open arena, trained on three real recordings with human
  interaction labels; it needs no arena and detects ``interaction``.

:func:`choose_model` picks one for a recording: the social model for two animals without an
arena or in an open arena, the cooperation model otherwise.

A model file is JSON (never pickle): a dict with its ``kind`` (the class that reads it) and
``schema_version`` (its layout). :func:`load_model` reads any model file (:func:`model_from_dict`
chooses the class by its ``kind``). The readers of the layouts share :func:`model_error` (the
one-line error naming the file), :func:`check_schema` (kind, version and fields) and
:func:`rebuild_model`. The Gaussian HMM's layout is here (:func:`hmm_to_dict`,
:func:`read_hmm_dict`); the hybrid's is in :mod:`behavtrack.strategies.hybrid_model`
(:func:`~behavtrack.strategies.hybrid_model.read_hybrid_dict`), its trees' in
:mod:`behavtrack.strategies.gbm_json`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

import numpy as np

from behavtrack.errors import InputError

__all__ = ["SHIPPED_MODELS", "default_model_path", "shipped_model_path", "choose_model",
           "load_model", "load_fitted", "load_model_shared", "load_shareable",
           "adopt_shared_model", "model_from_dict",
           "read_model_json", "HMM_KIND", "HMM_SCHEMA_VERSION", "RETRAIN", "TRAIN_ONE", "Fail",
           "model_error", "check_schema", "rebuild_model", "hmm_to_dict", "read_hmm_dict"]

#: Shipped model name -> what it is for.
SHIPPED_MODELS: dict[str, str] = {
    "default": "the cooperation task: a partition, poke ports and the rig's log (simulated "
               "labelled sessions)",
    "social": "two mice in one open arena, no arena file needed (3 real recordings with "
              "human interaction labels)",
}

#: ``kind`` of a Gaussian HMM model file (:class:`~behavtrack.strategies.hmm.HMMClassifier`).
HMM_KIND = "behavtrack.HMMClassifier"
#: Layout version of the Gaussian HMM model files this behavtrack writes and reads.
HMM_SCHEMA_VERSION = 1
#: The remedy for a model file this behavtrack cannot read.
RETRAIN = "retrain the model with this behavtrack"
#: The remedy for a file that is no model at all.
TRAIN_ONE = "train one with 'behavtrack train'"


def shipped_model_path(name: str = "default") -> Path:
    """Return the path of a shipped model (``"default"`` or ``"social"``).

    That is ``behavtrack/data/models/<name>.json`` when installed, else ``models/<name>.json``
    of the source tree. ``BEHAVTRACK_MODEL`` overrides the default model's path.
    """
    if name not in SHIPPED_MODELS:
        raise InputError("model", f"no shipped model {name!r}",
                         f"shipped: {', '.join(SHIPPED_MODELS)}")
    env = os.environ.get("BEHAVTRACK_MODEL")
    if env and name == "default":
        return Path(env)
    here = Path(__file__).resolve()
    for cand in (here.parents[1] / "data" / "models" / f"{name}.json",
                 here.parents[2] / "models" / f"{name}.json"):
        if cand.is_file():
            return cand
    return here.parents[2] / "models" / f"{name}.json"


def default_model_path() -> Path:
    """Return the path of the shipped cooperation-task model (see :func:`shipped_model_path`)."""
    return shipped_model_path("default")


def choose_model(arena: Any = None, n_individuals: int = 2) -> tuple[str, str]:
    """Name of the shipped model that fits a recording, and why.

    Parameters
    ----------
    arena
        The recording's arena, or ``None``.
    n_individuals
        Animals in the pose.

    Returns
    -------
    name, reason
        ``("social", ...)`` for two animals without an arena or in an open arena, else
        ``("default", ...)``.

    Examples
    --------
    >>> choose_model(None, 2)[0]
    'social'

    """
    if n_individuals == 2 and arena is None:
        return "social", "two animals and no arena"
    if n_individuals == 2 and getattr(arena, "is_open", False):
        return "social", "two animals in an open arena"
    if arena is None:
        return "default", f"{n_individuals} animal(s) and no arena"
    return "default", "an arena with compartments (the cooperation task)"


def model_from_dict(data: Any, source: str = "<model>") -> Any:
    """Rebuild a classifier from its JSON dict, choosing the class by its ``kind``."""
    from behavtrack.strategies.hmm import HMMClassifier
    from behavtrack.strategies.hybrid import KIND as HYBRID_KIND
    from behavtrack.strategies.hybrid import HybridHMMClassifier

    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == HYBRID_KIND:
        return HybridHMMClassifier.from_dict(data, source=source)
    if kind == HMM_KIND:
        return HMMClassifier.from_dict(data, source=source)
    raise InputError(source, f"is not a behavtrack model (kind {kind!r})", TRAIN_ONE)


def read_model_json(path: str | os.PathLike) -> Any:
    """Return the parsed JSON of a model file, or raise the one-line error."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such model file", "check the path")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(p, f"is not a JSON model file ({type(exc).__name__})",
                         "models are JSON written by 'behavtrack train'") from None


def _model_path(path: str | os.PathLike | None) -> Path:
    """``path``, or the shipped default model (refused in one line if it is missing)."""
    p = Path(path) if path is not None else default_model_path()
    if path is None and not p.is_file():
        raise InputError(p, "the shipped default model is missing",
                         "build it: see models/README.md, or give a model JSON (model=)")
    return p


def load_model(path: str | os.PathLike | None = None) -> Any:
    """Load a model file (JSON, validated); ``None`` loads the shipped default model."""
    p = _model_path(path)
    return model_from_dict(read_model_json(p), source=str(p))


def load_fitted(path: str | os.PathLike | None = None) -> Any:
    """Load a model file for classifying only (no refitting).

    A hybrid model comes back as a :class:`~behavtrack.strategies.hybrid_model.HybridModel`:
    it decodes exactly as the estimator :func:`load_model` returns, without importing
    scikit-learn's estimators (about a second at every start of ``behavtrack classify``). A
    Gaussian HMM model comes back as its estimator.

    Parameters
    ----------
    path
        The model JSON; ``None`` loads the shipped default model.

    Returns
    -------
    HybridModel or HMMClassifier

    """
    p = _model_path(path)
    data = read_model_json(p)
    hybrid = _hybrid_model(data, str(p))
    return hybrid if hybrid is not None else model_from_dict(data, source=str(p))


def _hybrid_model(data: Any, source: str) -> Any:
    """Return a hybrid model's dict as a ``HybridModel`` (no scikit-learn); else ``None``."""
    from behavtrack.strategies.hybrid_model import KIND, HybridModel

    if isinstance(data, dict) and data.get("kind") == KIND:
        return HybridModel.from_dict(data, source=source)
    return None


@functools.lru_cache(maxsize=4)
def _load_fitted_version(path: str, size: int, mtime_ns: int) -> Any:
    return load_fitted(path)


#: Models loaded elsewhere and given to this process (:func:`adopt_shared_model`), by file
#: version (resolved path, size, modification time).
_ADOPTED: dict[tuple[str, int, int], Any] = {}


def _file_version(path: Path) -> tuple[str, int, int] | None:
    """Return ``(resolved path, size, mtime_ns)`` of a model file (``None``: unreadable)."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
    except OSError:
        return None
    return str(resolved), st.st_size, st.st_mtime_ns


def load_model_shared(path: str | os.PathLike) -> Any:
    """:func:`load_fitted` once per process while the file is unchanged (read-only use).

    A batch worker classifies many sessions with one model: parsing its JSON and rebuilding
    the trees each time costs about 0.2 s a session. The object returned is shared between
    callers, so it must not be modified (classifying does not modify it); use
    :func:`load_model` for a model of your own. A model given to this process with
    :func:`adopt_shared_model` for this version of the file is returned as it is.
    """
    p = Path(path)
    version = _file_version(p)
    if version is None:
        return load_fitted(p)  # its one-line error
    adopted = _ADOPTED.get(version)
    if adopted is not None:
        return adopted
    return _load_fitted_version(*version)


def load_shareable(path: str | os.PathLike) -> tuple[tuple[str, int, int], Any] | None:
    """Load a hybrid model to hand to other processes (:func:`adopt_shared_model`).

    Parameters
    ----------
    path
        The model JSON.

    Returns
    -------
    (version, model) or None
        The file's version (resolved path, size, modification time) and the model, as
        :func:`load_model_shared` loads it there; ``None`` if the file cannot be read or
        holds another kind of model (a Gaussian HMM needs scikit-learn, which a batch's
        process does not import for it).

    """
    version = _file_version(Path(path))
    if version is None:
        return None
    model = _hybrid_model(read_model_json(Path(version[0])), version[0])
    return None if model is None else (version, model)


def adopt_shared_model(version: tuple[str, int, int], model: Any) -> None:
    """Make :func:`load_model_shared` of that file version return ``model`` in this process.

    A batch's process loads its model once (:func:`load_shareable`) and gives it, pickled,
    to each worker, which then does not parse the JSON and rebuild the trees itself
    (0.1-0.3 s a worker). A file changed since no longer has that version, and is loaded
    from the file.

    Parameters
    ----------
    version
        The version :func:`load_shareable` returned with ``model``.
    model
        The model (read-only, as every model :func:`load_model_shared` returns).

    """
    _ADOPTED[tuple(version)] = model


# ---- the layouts ----------------------------------------------------------------------
class Fail(Protocol):
    """``fail(problem, hint)``: raise the one-line error about a model dict (:func:`model_error`).

    ``hint`` left out, the default remedy ``fail`` was made with is given.
    """

    def __call__(self, problem: str, hint: str | None = ...) -> NoReturn:
        """Raise :class:`~behavtrack.errors.InputError` ``source: problem (hint)``."""


def model_error(source: str | os.PathLike, hint: str | None = None) -> Fail:
    """Return ``fail(problem, hint=hint)``, raising the one-line error that names ``source``.

    Parameters
    ----------
    source
        Where the model dict came from (its file); it starts every message.
    hint
        The remedy given when ``fail`` is called without one.

    Returns
    -------
    Fail
        Raises :class:`~behavtrack.errors.InputError` ``source: problem (hint)``.

    Examples
    --------
    >>> fail = model_error("m.json", "retrain it")
    >>> fail("model field 'arrays' is missing")
    Traceback (most recent call last):
    ...
    behavtrack.errors.InputError: m.json: model field 'arrays' is missing (retrain it)

    """
    def fail(problem: str, hint: str | None = hint) -> NoReturn:
        raise InputError(source, problem, hint)

    return fail


def check_schema(data: Any, fail: Fail, *, kind: str, version: int, fields: Sequence[str],
                 name: str, kind_hint: str, version_hint: str) -> dict[str, Any]:
    """Refuse ``data`` unless it is a dict of ``kind``, of layout ``version``, with ``fields``.

    Parameters
    ----------
    data
        The parsed JSON.
    fail
        Reports a problem (:func:`model_error`); a missing field gets its default hint.
    kind, version
        The ``kind`` and ``schema_version`` the reader accepts.
    fields
        Keys ``data`` must hold.
    name
        What the layout is called in the messages (``"HMM model"``).
    kind_hint, version_hint
        The remedies for another kind and for another version.

    Returns
    -------
    dict
        ``data``.

    Examples
    --------
    >>> fail = model_error("m.json", "retrain it")
    >>> layout = dict(kind="k", version=1, fields=["a"], name="K model",
    ...               kind_hint=TRAIN_ONE, version_hint=RETRAIN)
    >>> check_schema({"kind": "k", "schema_version": 1, "a": 0}, fail, **layout)["a"]
    0
    >>> check_schema({"kind": "k", "schema_version": 1}, fail, **layout)
    Traceback (most recent call last):
    ...
    behavtrack.errors.InputError: m.json: K model field 'a' is missing (retrain it)

    """
    if not isinstance(data, dict) or data.get("kind") != kind:
        got = data.get("kind") if isinstance(data, dict) else type(data).__name__
        fail(f"is not a behavtrack {name} (kind is {got!r}, expected {kind!r})", kind_hint)
    if data.get("schema_version") != version:
        fail(f"{name} schema_version is {data.get('schema_version')!r}; this behavtrack "
             f"reads {version}", version_hint)
    for key in fields:
        if key not in data:
            fail(f"{name} field {key!r} is missing")
    return data


def rebuild_model[M](cls: type[M], params: dict[str, Any], fitted: dict[str, Any],
                     source: str | os.PathLike) -> M:
    """Return ``cls(**params)`` with the attributes ``fitted`` set: a model read back.

    Raises
    ------
    InputError
        ``cls`` takes other parameters (a file of another behavtrack).

    """
    try:
        model = cls(**params)
    except TypeError as exc:
        raise InputError(source, f"model params do not match this behavtrack ({exc})",
                         RETRAIN) from None
    for key, value in fitted.items():
        setattr(model, key, value)
    return model


def hmm_to_dict(model: Any) -> dict[str, Any]:
    """Return the JSON-ready dict of a fitted Gaussian HMM classifier.

    The layout (``schema_version`` :data:`HMM_SCHEMA_VERSION`): ``kind``,
    ``behavtrack_version``, ``params`` (the estimator's parameters), ``feature_names``,
    ``behaviors``, ``fps``, ``arrays`` (``center``, ``scale``: the standardisation;
    ``startprob``, ``transmat``, ``means``, ``covars`` over the hidden states;
    ``state_counts``: labelled frames per behaviour; ``state_behavior``: the behaviour of each
    state), ``training_checksum`` and ``metrics``.

    Parameters
    ----------
    model
        A fitted :class:`~behavtrack.strategies.hmm.HMMClassifier`.

    """
    from behavtrack import __version__

    params = model.get_params()
    params["features"] = None if params["features"] is None else list(params["features"])
    params["behaviors"] = list(params["behaviors"])
    params["log_features"] = list(params["log_features"])
    params["soon_features"] = list(params["soon_features"])
    params["port_features"] = list(params["port_features"])
    if isinstance(params["n_substates"], dict):
        params["n_substates"] = {str(k): int(v) for k, v in params["n_substates"].items()}
    return {
        "schema_version": HMM_SCHEMA_VERSION,
        "kind": HMM_KIND,
        "behavtrack_version": __version__,
        "params": params,
        "feature_names": list(model.feature_names_),
        "behaviors": list(model.behaviors_),
        "fps": model.fps_,
        "arrays": {
            "center": model.center_.tolist(),
            "scale": model.scale_.tolist(),
            "startprob": model.startprob_.tolist(),
            "transmat": model.transmat_.tolist(),
            "means": model.means_.tolist(),
            "covars": np.asarray(model.covars_).tolist(),
            "state_counts": np.asarray(model.state_counts_).tolist(),
            "state_behavior": np.asarray(model.state_behavior_).tolist(),
        },
        "training_checksum": model.training_checksum_,
        "metrics": getattr(model, "metrics_", {}),
    }


def read_hmm_dict(data: Any, source: str | os.PathLike = "<model>"
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a Gaussian HMM model's dict (:func:`hmm_to_dict`); return params, fitted values.

    Parameters
    ----------
    data
        The parsed JSON.
    source
        Where it came from; it starts every error message.

    Returns
    -------
    params, fitted
        The estimator's parameters, and its fitted attributes by name (``means_``, ...).

    Raises
    ------
    InputError
        One line naming ``source`` and the field at fault: another kind or version, an
        unknown feature or behaviour, an array of the wrong shape, non-finite, or not a
        distribution or covariance.

    """
    from behavtrack.features.table import FEATURE_NAMES
    from behavtrack.io.bouts import BEHAVIORS

    fail = model_error(source, RETRAIN)
    check_schema(data, fail, kind=HMM_KIND, version=HMM_SCHEMA_VERSION,
                 fields=("params", "feature_names", "behaviors", "arrays", "training_checksum"),
                 name="HMM model", kind_hint=TRAIN_ONE, version_hint=RETRAIN)
    feats, behs = data["feature_names"], data["behaviors"]
    unknown = [f for f in feats if f not in FEATURE_NAMES]
    if unknown:
        fail(f"model feature(s) {unknown} are not features this behavtrack computes")
    bad = [b for b in behs if b not in BEHAVIORS]
    if bad:
        fail(f"model behaviour(s) {bad} are unknown", f"known: {', '.join(BEHAVIORS)}")
    params = dict(data["params"])
    arrays = data["arrays"]
    sb = np.asarray(arrays.get("state_behavior", range(len(behs))))
    if sb.ndim != 1 or len(sb) == 0 or sb.min() < 0 or sb.max() >= len(behs):
        fail("model array 'state_behavior' does not index the behaviours",
             "the file was edited or truncated")
    k, d, nb = len(sb), len(feats), len(behs)
    full = params.get("covariance_type") == "full"
    shapes = {"center": (d,), "scale": (d,), "startprob": (k,), "transmat": (k, k),
              "means": (k, d), "covars": (k, d, d) if full else (k, d),
              "state_counts": (nb,)}
    got: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name not in arrays:
            fail(f"model array {name!r} is missing")
        arr = np.asarray(arrays[name], dtype=float)
        if arr.shape != shape:
            fail(f"model array {name!r} has shape {arr.shape}, expected {shape} "
                 f"for {k} states x {d} features", "the file was edited or truncated")
        if not np.isfinite(arr).all():
            fail(f"model array {name!r} holds a non-finite value", None)
        got[name] = arr
    if not np.isclose(got["startprob"].sum(), 1) or not np.allclose(
            got["transmat"].sum(1), 1) or (got["transmat"] < 0).any():
        fail("model probabilities do not sum to 1", "the file was edited or truncated")
    var = got["covars"] if not full else np.linalg.eigvalsh(got["covars"])
    if (var <= 0).any():
        fail("model covariances are not positive definite", None)
    if (got["scale"] <= 0).any():
        fail("model feature scales must be positive", None)
    fitted = {
        "feature_names_": list(feats), "behaviors_": list(behs),
        "center_": got["center"], "scale_": got["scale"],
        "startprob_": got["startprob"], "transmat_": got["transmat"],
        "means_": got["means"], "covars_": got["covars"],
        "state_counts_": got["state_counts"].astype(int),
        "state_behavior_": sb.astype(int),
        "fps_": data.get("fps"),
        "training_checksum_": str(data["training_checksum"]),
        "metrics_": data.get("metrics") or {},
    }
    return params, fitted
