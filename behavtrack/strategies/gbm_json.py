"""A fitted ``HistGradientBoostingClassifier`` as JSON, and a fast validated predictor for it.

Models are never pickled. :func:`gbm_to_dict` turns a fitted
:class:`sklearn.ensemble.HistGradientBoostingClassifier` (numeric features only) into a
JSON-ready dict of lists, numbers and strings; :meth:`GBMPosterior.from_dict` validates such
a dict and rebuilds a predictor whose :meth:`GBMPosterior.predict_proba` gives the very same
numbers as ``est.predict_proba`` (bit for bit: floats are written as their shortest exact
``repr``, trees are summed in the same order, and the same link is applied).

Layout (``schema_version`` 1)::

    {"kind": "behavtrack.GBMPosterior", "schema_version": 1,
     "producer": {"behavtrack": "...", "scikit-learn": "..."},
     "feature_names": [n_features str],
     "classes": [n_classes str | int | float],
     "loss": "binary_logistic" | "multiclass_softmax",
     "n_iter": n_iter,
     "n_trees_per_iteration": K,          # 1 if binary, else n_classes
     "baseline": [K float],               # raw score before the first tree
     "trees": [n_iter x [K x tree]]}

and each ``tree`` is a dict of equally long lists, one entry per node, in scikit-learn's
node order (depth first, root at 0, children after their parent)::

    {"value": [...],               # leaf value (0.0 on split nodes: unused)
     "feature_idx": [...],         # split feature (0 on leaves)
     "num_threshold": [...],       # go left if x <= threshold; null = +inf (0.0 on leaves)
     "missing_go_to_left": [...],  # 0/1: where NaN goes
     "left": [...], "right": [...],# child node indices (0 on leaves)
     "is_leaf": [...]}             # 0/1

Prediction uses behavtrack's own compiled tree walker (``_treewalk``, a small C extension
built at install) when it was built and agrees with a pure-numpy traversal on probe rows;
else scikit-learn's Cython ``TreePredictor`` (private API) when it can be rebuilt and agrees
too; else the pure-numpy vectorised traversal, which gives the same numbers, about two to
three times more slowly than scikit-learn's and five times more slowly than the walker.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np

from behavtrack.errors import InputError
from behavtrack.strategies.model_file import check_schema, model_error

__all__ = ["GBMPosterior", "gbm_to_dict", "GBM_KIND", "GBM_SCHEMA_VERSION"]

GBM_KIND = "behavtrack.GBMPosterior"
GBM_SCHEMA_VERSION = 1

_NODE_FIELDS = ("value", "feature_idx", "num_threshold", "missing_go_to_left", "left",
                "right", "is_leaf")
_LOSSES = ("binary_logistic", "multiclass_softmax")
_BROKEN = "the file was edited or truncated; export the model again"

Backend = Literal["auto", "compiled", "sklearn", "numpy", "loaded"]
#: Rows of one prediction from which a ``"loaded"`` model without the compiled walker imports
#: scikit-learn for its faster tree predictor: about 1.2 s of imports against about 30 us of
#: CPU saved per row with the shipped models (400 trees, one thread; 61 vs 31 us measured on
#: this 2-core machine). Classifying a whole recording predicts one animal per call (18,000
#: rows an hour at 5 Hz); classifying in chunks (:mod:`behavtrack.strategies.stream`) never
#: reaches it.
SKLEARN_MIN_ROWS = 60_000

#: One node for the compiled walker: the C ``node_t`` of ``_treewalk.c``, field for field.
_NODE_DTYPE = np.dtype([("threshold", "<f8"), ("value", "<f8"), ("feature", "<i4"),
                        ("child", "<i4", (2,)), ("nan_left", "u1"), ("pad", "V3")])
assert _NODE_DTYPE.itemsize == 32


def _treewalk() -> Any:
    """Return the compiled tree walker module, or raise ``ImportError`` (not built here)."""
    from behavtrack.strategies import _treewalk  # type: ignore[attr-defined]

    return _treewalk


# ---- export ----------------------------------------------------------------------------
def _json_label(label: Any, source: str) -> str | int | float:
    """Return a class label as a plain JSON scalar (str, int or finite float)."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, bool) or not isinstance(label, str | int | float):
        raise InputError(source, f"class label {label!r} is not a string or a number",
                         "encode the classes as strings or integers")
    if isinstance(label, float) and not math.isfinite(label):
        raise InputError(source, f"class label {label!r} is not finite")
    return label


def gbm_to_dict(est: Any, feature_names: Sequence[str]) -> dict[str, Any]:
    """Return a JSON-ready dict holding everything ``est.predict_proba`` needs.

    Parameters
    ----------
    est
        A fitted :class:`sklearn.ensemble.HistGradientBoostingClassifier` trained on numeric
        features only (categorical features are refused).
    feature_names
        The names of the ``est.n_features_in_`` columns, in the order ``est`` was fitted on
        (must equal ``est.feature_names_in_`` when ``est`` was fitted on a DataFrame).

    Returns
    -------
    dict
        Only dicts, lists, strings and numbers; ``json.dumps(d, allow_nan=False)`` works and
        the round trip is bit exact. See the module docstring for the layout.

    Raises
    ------
    InputError
        If ``est`` is not a fitted classifier of that kind, uses categorical features, or
        ``feature_names`` does not match it.

    """
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier

    from behavtrack import __version__

    src = "gbm estimator"
    if not isinstance(est, HistGradientBoostingClassifier):
        raise InputError(src, f"is a {type(est).__name__}, not a HistGradientBoostingClassifier")
    try:
        predictors = est._predictors
        baseline = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()
        n_trees = int(est.n_trees_per_iteration_)
        classes = list(est.classes_)
        n_features = int(est.n_features_in_)
    except AttributeError:
        raise InputError(src, "is not fitted (or comes from an unsupported scikit-learn)",
                         "call fit() first") from None
    is_cat = getattr(est, "is_categorical_", None)
    if is_cat is not None and np.any(is_cat):
        raise InputError(src, f"uses categorical features {np.flatnonzero(is_cat).tolist()}",
                         "only numeric features can be exported; refit with "
                         "categorical_features=None")
    if getattr(est, "loss", "log_loss") != "log_loss":
        raise InputError(src, f"has loss {est.loss!r}; only 'log_loss' can be exported")
    names = [str(n) for n in feature_names]
    if len(names) != n_features:
        raise InputError("feature_names", f"has {len(names)} names but the estimator was "
                         f"fitted on {n_features} features")
    if len(set(names)) != len(names):
        raise InputError("feature_names", "holds duplicate names")
    fitted_names = getattr(est, "feature_names_in_", None)
    if fitted_names is not None and list(map(str, fitted_names)) != names:
        raise InputError("feature_names", "differ from the estimator's feature_names_in_",
                         "pass list(est.feature_names_in_)")
    n_classes = len(classes)
    expected_k = 1 if n_classes == 2 else n_classes
    if n_classes < 2 or n_trees != expected_k or baseline.shape != (n_trees,):
        raise InputError(src, f"has {n_classes} classes, {n_trees} trees per iteration and "
                         f"a baseline of shape {baseline.shape}; these do not fit together")
    trees = []
    for i, iteration in enumerate(predictors):
        if len(iteration) != n_trees:
            raise InputError(src, f"iteration {i} has {len(iteration)} trees, expected {n_trees}")
        row = []
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            if np.any(nodes["is_categorical"][~leaf]):
                raise InputError(src, f"tree [{i}][{k}] has a categorical split",
                                 "only numeric features can be exported")
            thr = nodes["num_threshold"].astype(np.float64)
            split = ~leaf
            row.append({
                "value": np.where(leaf, nodes["value"], 0.0).tolist(),
                "feature_idx": np.where(split, nodes["feature_idx"], 0).astype(int).tolist(),
                "num_threshold": [None if t == math.inf else t
                                  for t in np.where(split, thr, 0.0).tolist()],
                "missing_go_to_left": np.where(split, nodes["missing_go_to_left"], 0)
                .astype(int).tolist(),
                "left": np.where(split, nodes["left"], 0).astype(int).tolist(),
                "right": np.where(split, nodes["right"], 0).astype(int).tolist(),
                "is_leaf": leaf.astype(int).tolist(),
            })
        trees.append(row)
    data = {
        "kind": GBM_KIND,
        "schema_version": GBM_SCHEMA_VERSION,
        "producer": {"behavtrack": __version__, "scikit-learn": sklearn.__version__},
        "feature_names": names,
        "classes": [_json_label(c, src) for c in classes],
        "loss": "binary_logistic" if n_trees == 1 else "multiclass_softmax",
        "n_iter": len(trees),
        "n_trees_per_iteration": n_trees,
        "baseline": baseline.tolist(),
        "trees": trees,
    }
    # refuse anything the loader would refuse, now rather than at load time
    GBMPosterior.from_dict(data, source=src, backend="numpy")
    return data


# ---- numeric helpers -------------------------------------------------------------------
@dataclass(frozen=True)
class _FlatTrees:
    """All trees of the model in one set of arrays (node indices are global)."""

    value: np.ndarray       # float64, per node
    feature: np.ndarray     # intp
    threshold: np.ndarray   # float64 (+inf for null)
    nan_left: np.ndarray    # bool
    left: np.ndarray        # intp, global
    right: np.ndarray       # intp, global
    is_leaf: np.ndarray     # bool
    roots: np.ndarray       # intp, one per tree, trees in (iteration, class) order


#: Types of the values of a model's number lists that need no closer look (JSON's).
_NUMBER_TYPES = frozenset({int, float})
_INT_TYPES = frozenset({int})


def _effective_n_threads(n_threads: int | None) -> int:
    """Resolve ``n_threads`` (``None``: the usable cores, honouring threadpoolctl limits)."""
    if n_threads is not None:
        if n_threads < 1:
            raise InputError("n_threads", f"must be >= 1, got {n_threads}")
        return int(n_threads)
    if "sklearn" in sys.modules:  # loaded anyway: it also knows threadpoolctl's limits
        try:  # honours OMP_NUM_THREADS, cgroup quotas and threadpoolctl's OpenMP limits
            from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

            return max(1, int(_openmp_effective_n_threads()))
        except Exception:  # noqa: BLE001 - private helper of a future scikit-learn
            pass
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _sklearn_tree_predictor() -> tuple[type, np.dtype]:
    """Return scikit-learn's private ``TreePredictor`` class and its node dtype."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    return TreePredictor, PREDICTOR_RECORD_DTYPE


def _link(raw: np.ndarray, loss: str) -> np.ndarray:
    """Apply scikit-learn's inverse link to raw scores (same operations, same bits)."""
    if loss == "binary_logistic":
        from scipy.special import expit  # only here: its import costs about 0.25 s

        proba = np.empty((raw.shape[0], 2), dtype=raw.dtype)
        proba[:, 1] = expit(raw[:, 0])
        proba[:, 0] = 1 - proba[:, 1]
        return proba
    proba = np.array(raw, copy=True, order="K")  # as sklearn.utils.extmath.softmax
    proba -= proba.max(axis=1).reshape(-1, 1)
    np.exp(proba, out=proba)
    proba /= proba.sum(axis=1).reshape(-1, 1)
    return proba


# ---- the predictor ---------------------------------------------------------------------
class GBMPosterior:
    """Class probabilities of a gradient-boosted tree model stored as JSON.

    Build it with :meth:`from_dict` (from :func:`gbm_to_dict` or its JSON round trip).

    Attributes
    ----------
    classes_ : numpy.ndarray
        The class labels, columns of :meth:`predict_proba`.
    feature_names_ : list of str
        The feature columns the model expects, in order.
    n_features_in_ : int
        ``len(feature_names_)``.
    n_iter_ : int
        Number of boosting iterations.
    n_trees_per_iteration_ : int
        1 for a binary model, else the number of classes.
    loss_ : str
        ``"binary_logistic"`` or ``"multiclass_softmax"``.
    backend_ : str
        ``"compiled"`` (behavtrack's C tree walker), ``"sklearn"`` (scikit-learn's Cython
        ``TreePredictor``), ``"numpy"``, or ``"loaded"`` (not decided yet: see ``backend``
        of :meth:`from_dict`).
    n_threads : int or None
        Worker threads for :meth:`predict_proba` (``None``: the usable cores). Results do
        not depend on it: every row is summed in the same order whatever the split.
    source_ : str
        Where the model came from (named in errors).

    """

    #: rows per block for scikit-learn's predictor: about 4 MB of float64 per block
    _BLOCK_BYTES = 4 * 2**20
    #: (row, tree) pairs per block for the numpy traversal
    _BLOCK_PAIRS = 200_000
    #: rows per block for the compiled walker
    _BLOCK_ROWS = 4096

    def __init__(self) -> None:
        raise TypeError("build a GBMPosterior with GBMPosterior.from_dict(data, source)")

    # ---- building ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<model>", *, backend: Backend = "auto",
                  n_threads: int | None = None) -> GBMPosterior:
        """Validate a dict from :func:`gbm_to_dict` and build the predictor.

        Parameters
        ----------
        data
            The dict (for instance ``json.loads`` of a saved model).
        source
            Where ``data`` came from (a file name); it starts every error message.
        backend
            ``"auto"`` (the compiled walker if built, else scikit-learn's ``TreePredictor``
            if usable, else numpy), ``"compiled"`` or ``"sklearn"`` (fail if it is not
            usable), ``"numpy"``, or ``"loaded"``: the compiled walker if built (it costs
            no import); without it, decided at each prediction: scikit-learn's predictor if
            scikit-learn is already imported in this process (a batch worker) or the call
            has enough rows to pay for importing it (:data:`SKLEARN_MIN_ROWS`), else numpy
            without importing it (a short recording classified by a fresh process: the
            import costs about a second). The numbers are the same either way.
        n_threads
            Worker threads for prediction; ``None`` uses the usable cores.

        Returns
        -------
        GBMPosterior

        Raises
        ------
        InputError
            On any problem with ``data`` (one line, starting with ``source``).

        """
        fail = model_error(source, _BROKEN)
        check_schema(data, fail, kind=GBM_KIND, version=GBM_SCHEMA_VERSION,
                     fields=("feature_names", "classes", "loss", "n_iter",
                             "n_trees_per_iteration", "baseline", "trees"),
                     name="GBM model", kind_hint="export one with gbm_to_dict()",
                     version_hint="export the model again")
        names, classes, loss = data["feature_names"], data["classes"], data["loss"]
        if (not isinstance(names, list) or not names
                or not all(isinstance(n, str) for n in names)):
            fail("GBM model 'feature_names' must be a non-empty list of strings")
        if len(set(names)) != len(names):
            fail("GBM model 'feature_names' holds duplicates")
        if (not isinstance(classes, list) or len(classes) < 2
                or any(isinstance(c, bool) or not isinstance(c, str | int | float)
                       or (isinstance(c, float) and not math.isfinite(c)) for c in classes)
                or len(set(classes)) != len(classes)):
            fail("GBM model 'classes' must be a list of at least 2 distinct strings or numbers")
        if loss not in _LOSSES:
            fail(f"GBM model loss {loss!r} is unknown", f"known: {', '.join(_LOSSES)}")
        n_classes = len(classes)
        k_expected = 1 if loss == "binary_logistic" else n_classes
        if (loss == "binary_logistic") != (n_classes == 2):
            fail(f"GBM model loss {loss!r} does not fit {n_classes} classes")
        n_trees, n_iter = data["n_trees_per_iteration"], data["n_iter"]
        if n_trees != k_expected or isinstance(n_trees, bool):
            fail(f"GBM model has n_trees_per_iteration {n_trees!r}, expected {k_expected} "
                 f"for {n_classes} classes")
        if not isinstance(n_iter, int) or isinstance(n_iter, bool) or n_iter < 1:
            fail(f"GBM model n_iter {n_iter!r} is not a positive integer")
        baseline = cls._floats(data["baseline"], source, "'baseline'")
        if baseline.shape != (n_trees,):
            fail(f"GBM model 'baseline' has {baseline.size} values, expected {n_trees}")
        trees = data["trees"]
        if not isinstance(trees, list) or len(trees) != n_iter:
            got = len(trees) if isinstance(trees, list) else type(trees).__name__
            fail(f"GBM model 'trees' holds {got} iterations, expected n_iter={n_iter}")
        n_features = len(names)
        parsed: list[dict[str, np.ndarray]] = []
        for i, iteration in enumerate(trees):
            if not isinstance(iteration, list) or len(iteration) != n_trees:
                fail(f"GBM model iteration {i} does not hold {n_trees} trees")
            for k, tree in enumerate(iteration):
                parsed.append(cls._parse_tree(tree, f"tree [{i}][{k}]", n_features, source))
        producer = data.get("producer", {})
        if not isinstance(producer, dict) or not all(
                isinstance(a, str) and isinstance(b, str) for a, b in producer.items()):
            fail("GBM model 'producer' must map names to version strings")

        self = object.__new__(cls)
        self.source_ = str(source)
        self.feature_names_ = list(names)
        self.n_features_in_ = n_features
        self.classes_ = np.asarray(classes)
        self._classes_json = list(classes)
        self.loss_ = loss
        self.n_iter_ = n_iter
        self.n_trees_per_iteration_ = n_trees
        self.n_threads = n_threads
        self._producer = dict(producer)
        self._baseline = baseline
        self._trees = parsed
        self._flat = self._flatten(parsed)
        self._predictors: list[list[Any]] | None = None
        self._walker: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.backend_ = "numpy"
        if n_threads is not None:
            _effective_n_threads(n_threads)  # refuses n_threads < 1 now
        if backend not in ("auto", "compiled", "sklearn", "numpy", "loaded"):
            raise InputError("backend", "must be 'auto', 'compiled', 'sklearn', 'numpy' or "
                             f"'loaded', got {backend!r}")
        if backend in ("auto", "compiled", "loaded"):
            reason = self._try_compiled()
            if reason is None:
                self.backend_ = "compiled"
                return self
            if backend == "compiled":
                raise InputError("backend", f"the compiled tree walker is not usable here "
                                 f"({reason})", "reinstall behavtrack with a C compiler, or "
                                 "use backend='auto'")
        if backend == "loaded":
            if "sklearn" not in sys.modules:
                self.backend_ = "loaded"  # decided per call (decision_function)
                return self
            backend = "auto"
        if backend != "numpy":
            reason = self._try_sklearn()
            if reason is None:
                self.backend_ = "sklearn"
            elif backend == "sklearn":
                raise InputError("backend", f"scikit-learn's TreePredictor is not usable here "
                                 f"({reason})", "use backend='auto' or 'numpy'")
            else:
                warnings.warn(f"{source}: scikit-learn's TreePredictor is not usable "
                              f"({reason}); predicting with the slower numpy traversal",
                              RuntimeWarning, stacklevel=2)
        return self

    @staticmethod
    def _floats(values: Any, source: str, what: str, allow_null: bool = False) -> np.ndarray:
        """Return ``values`` as a 1-D float64 array, refusing non-numbers and non-finite."""
        if not isinstance(values, list):
            raise InputError(source, f"GBM model {what} is not a list", _BROKEN)
        if allow_null:
            values = [math.inf if v is None else v for v in values]
        if not set(map(type, values)) <= _NUMBER_TYPES and any(  # fast path: plain numbers
                isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise InputError(source, f"GBM model {what} holds a value that is not a number",
                             _BROKEN)
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        bad = ~np.isfinite(arr)
        if allow_null:
            bad &= arr != math.inf
        if bad.any():
            raise InputError(source, f"GBM model {what} holds a non-finite value "
                             f"({arr[bad][0]!r})", _BROKEN)
        return arr

    @classmethod
    def _parse_tree(cls, tree: Any, where: str, n_features: int,
                    source: str) -> dict[str, np.ndarray]:
        """Validate one tree dict and return its fields as arrays."""
        def fail(problem: str) -> NoReturn:
            raise InputError(source, f"GBM model {where} {problem}", _BROKEN)

        if not isinstance(tree, dict):
            fail("is not a dict of node lists")
        missing = [f for f in _NODE_FIELDS if f not in tree]
        if missing:
            fail(f"lacks field(s) {missing}")
        lengths = {len(tree[f]) if isinstance(tree[f], list) else -1 for f in _NODE_FIELDS}
        if len(lengths) != 1 or min(lengths) < 1:
            fail("has node lists that are not lists of one common, non-zero length")
        out: dict[str, np.ndarray] = {
            "value": cls._floats(tree["value"], source, f"{where} 'value'"),
            "num_threshold": cls._floats(tree["num_threshold"], source,
                                         f"{where} 'num_threshold'", allow_null=True),
        }
        for name in ("feature_idx", "missing_go_to_left", "left", "right", "is_leaf"):
            vals = tree[name]
            if not set(map(type, vals)) <= _INT_TYPES and any(  # fast path: plain ints
                    isinstance(v, bool) or not isinstance(v, int) for v in vals):
                fail(f"field {name!r} holds a value that is not an integer")
            try:
                out[name] = np.asarray(vals, dtype=np.int64)
            except OverflowError:
                fail(f"field {name!r} holds an integer that is too large")
        n = out["value"].size
        leaf = out["is_leaf"]
        if ((leaf != 0) & (leaf != 1)).any() or (
                (out["missing_go_to_left"] != 0) & (out["missing_go_to_left"] != 1)).any():
            fail("has 'is_leaf' or 'missing_go_to_left' values other than 0 and 1")
        split = leaf == 0
        feat = out["feature_idx"][split]
        if feat.size and (feat.min() < 0 or feat.max() >= n_features):
            bad = feat[(feat < 0) | (feat >= n_features)][0]
            fail(f"splits on feature index {bad}, outside 0..{n_features - 1}")
        node = np.flatnonzero(split)
        children = np.concatenate([out["left"][split], out["right"][split]])
        parents = np.concatenate([node, node])
        if children.size and ((children <= parents).any() or children.max() >= n):
            fail(f"has a child index that is not after its parent and below {n}")
        # every node but the root is the child of exactly one split: a proper binary tree
        counts = np.bincount(children, minlength=n)
        if counts[0] != 0 or (counts[1:] != 1).any():
            fail("is not a binary tree (a node is reached twice or never)")
        return out

    @staticmethod
    def _flatten(trees: list[dict[str, np.ndarray]]) -> _FlatTrees:
        """Concatenate all trees, making child indices global."""
        sizes = np.array([t["value"].size for t in trees], dtype=np.intp)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        shift = np.repeat(offsets, sizes)

        def cat(name: str) -> np.ndarray:
            return np.concatenate([t[name] for t in trees])

        return _FlatTrees(
            value=cat("value"),
            feature=cat("feature_idx").astype(np.intp),
            threshold=cat("num_threshold"),
            nan_left=cat("missing_go_to_left").astype(bool),
            left=cat("left").astype(np.intp) + shift,
            right=cat("right").astype(np.intp) + shift,
            is_leaf=cat("is_leaf").astype(bool),
            roots=offsets,
        )

    def _try_sklearn(self) -> str | None:
        """Rebuild scikit-learn ``TreePredictor`` objects; return why not, or ``None``."""
        try:
            tree_predictor, dtype = _sklearn_tree_predictor()
            no_bitsets = np.zeros((0, 8), dtype=np.uint32)
            predictors = []
            for j in range(self.n_iter_):
                row = []
                for k in range(self.n_trees_per_iteration_):
                    t = self._trees[j * self.n_trees_per_iteration_ + k]
                    nodes = np.zeros(t["value"].size, dtype=dtype)
                    for name in _NODE_FIELDS:
                        nodes[name] = t[name]
                    row.append(tree_predictor(nodes, no_bitsets, no_bitsets))
                predictors.append(row)
            self._predictors = predictors
            self._known_cat = np.zeros((0, 8), dtype=np.uint32)
            self._f_idx_map = np.zeros(self.n_features_in_, dtype=np.uint32)
            probe = self._probe_rows()
            a = self._raw_scores(probe, "sklearn", 1)
            b = self._raw_scores(probe, "numpy", 1)
        except Exception as exc:  # noqa: BLE001 - private API of a future scikit-learn
            self._predictors = None
            return f"{type(exc).__name__}: {exc}".splitlines()[0]
        if not np.array_equal(a, b):
            self._predictors = None
            return "it disagrees with the numpy traversal on probe rows"
        return None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled walker's module (a batch sends its model to workers)."""
        state = self.__dict__.copy()
        if state.get("_walker") is not None:
            state["_walker"] = (None, *state["_walker"][1:])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; the compiled walker's module is imported again here."""
        walker = state.get("_walker")
        if walker is not None:
            state = {**state, "_walker": (_treewalk(), *walker[1:])}
        self.__dict__.update(state)

    def _try_compiled(self) -> str | None:
        """Set up the compiled walker; return why it is not usable, or ``None``."""
        try:
            walker = _treewalk()
        except ImportError:
            return "behavtrack.strategies._treewalk was not built"
        f = self._flat
        if f.left.size >= 2**31 or self.n_features_in_ >= 2**31:
            return "the model has too many nodes for 32-bit indices"
        nodes = np.zeros(f.left.size, dtype=_NODE_DTYPE)
        children, threshold, feature, _ = self._descent_arrays()  # leaves: their own child
        nodes["threshold"], nodes["value"], nodes["feature"] = threshold, f.value, feature
        nodes["child"][:, 0], nodes["child"][:, 1] = children[1::2], children[0::2]
        nodes["nan_left"] = f.nan_left & ~f.is_leaf
        self._walker = (walker, nodes, f.roots.astype(np.int32),
                        self._tree_depths().astype(np.int32))
        probe = self._probe_rows()
        try:
            a = self._raw_scores(probe, "compiled", 1)
        except ValueError as exc:  # the walker refused the trees
            self._walker = None
            return str(exc)
        if not np.array_equal(a, self._raw_scores(probe, "numpy", 1)):
            self._walker = None
            return "it disagrees with the numpy traversal on probe rows"
        return None

    def _tree_depths(self) -> np.ndarray:
        """Depth of each tree: steps from its root down to its deepest leaf."""
        f = self._flat
        depth = np.zeros(f.roots.size, dtype=np.intp)
        nodes, tree = f.roots, np.arange(f.roots.size)
        level = 0
        while nodes.size:  # one level of every tree at a time
            depth[tree] = level
            split = ~f.is_leaf[nodes]
            nodes = np.concatenate([f.left[nodes[split]], f.right[nodes[split]]])
            tree = np.concatenate([tree[split], tree[split]])
            level += 1
        return depth

    def _probe_rows(self, n_rows: int = 64) -> np.ndarray:
        """Rows made of the model's thresholds, their next floats, NaN and infinities."""
        rng = np.random.default_rng(0)
        f = self._flat
        split = ~f.is_leaf
        special = np.array([np.nan, -np.inf, np.inf, 0.0])
        X = np.full((n_rows, self.n_features_in_), np.nan)
        for j in np.unique(f.feature[split]):
            thr = f.threshold[split & (f.feature == j)]
            cand = np.concatenate([thr, np.nextafter(thr, np.inf), special])
            X[:, j] = rng.choice(cand, n_rows)
        return X

    # ---- predicting --------------------------------------------------------------------
    def _check_X(self, X: Any) -> np.ndarray:
        """Return ``X`` as a float64 2-D array with the model's columns, or raise."""
        if hasattr(X, "columns") and not isinstance(X, np.ndarray):
            cols = [str(c) for c in X.columns]
            lost = [n for n in self.feature_names_ if n not in cols]
            if lost:
                raise InputError(self.source_, f"the features lack {len(lost)} column(s) the "
                                 f"model needs, e.g. {lost[:3]}", "compute the model's features")
            X = X[self.feature_names_]
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(self.source_, "the features are not numeric",
                             "pass a float array of shape (rows, features)") from None
        if arr.ndim != 2:
            raise InputError(self.source_, f"the features have {arr.ndim} dimension(s), "
                             "expected 2 (rows x features)")
        if arr.shape[1] != self.n_features_in_:
            raise InputError(self.source_, f"the features have {arr.shape[1]} columns but the "
                             f"model expects {self.n_features_in_}",
                             "pass the columns of feature_names_, in that order")
        return arr

    def _blocks(self, n_rows: int, rows_per_block: int, n_workers: int,
                work: Callable[[int, int], None]) -> None:
        """Run ``work(start, stop)`` over row blocks, on ``n_workers`` threads."""
        spans = [(s, min(s + rows_per_block, n_rows)) for s in range(0, n_rows, rows_per_block)]
        if n_workers <= 1 or len(spans) <= 1:
            for s, e in spans:
                work(s, e)
            return
        with ThreadPoolExecutor(max_workers=min(n_workers, len(spans))) as pool:
            for _ in pool.map(lambda se: work(*se), spans):
                pass

    def _raw_scores(self, X: np.ndarray, backend: str, n_workers: int) -> np.ndarray:
        """Sum of the baseline and all trees, shape (rows, K), as sklearn's ``_raw_predict``."""
        n_rows, n_feat = X.shape
        # row blocks of a C-ordered array are contiguous: the walker adds into them in place
        raw = np.zeros((n_rows, self.n_trees_per_iteration_), dtype=np.float64,
                       order="C" if backend == "compiled" else "F")
        raw += self._baseline
        if backend == "compiled":
            assert self._walker is not None
            walker, nodes, roots, depths = self._walker
            rows = self._BLOCK_ROWS  # blocks for threads (the walker releases the GIL)

            def work(s: int, e: int) -> None:
                walker.add_trees(np.ascontiguousarray(X[s:e]), nodes, roots, depths,
                                 self.n_trees_per_iteration_, raw[s:e])
        elif backend == "sklearn":
            assert self._predictors is not None
            rows = int(np.clip(self._BLOCK_BYTES // (8 * max(n_feat, 1)), 256, 16384))

            def work(s: int, e: int) -> None:
                Xc = np.ascontiguousarray(X[s:e])
                block = raw[s:e]
                for iteration in self._predictors:
                    for k, predictor in enumerate(iteration):
                        # one OpenMP thread per call: threads work on row blocks instead
                        block[:, k] += predictor.predict(Xc, self._known_cat,
                                                         self._f_idx_map, 1)
        else:
            rows = max(1, self._BLOCK_PAIRS // self._flat.roots.size)

            def work(s: int, e: int) -> None:
                leaf_values = self._numpy_leaf_values(np.ascontiguousarray(X[s:e]))
                acc = np.concatenate([raw[s:e, None, :], leaf_values], axis=1)
                np.add.accumulate(acc, axis=1, out=acc)  # sequential: same order as sklearn
                raw[s:e] = acc[:, -1, :]

        self._blocks(n_rows, rows, n_workers, work)
        return raw

    #: Levels after which finished (row, tree) pairs are set aside; in between, pairs at a
    #: leaf stay there (a leaf is its own child), which costs less than compacting each level.
    _COMPACT_AT = frozenset((5, 8, 10, 12, 14, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64))

    def _descent_arrays(self) -> tuple[np.ndarray, ...]:
        """Node arrays of the descent (built once): children, thresholds, feature, NaN side.

        ``children[2 * node + (x <= threshold)]`` is the next node: index 1 the left child,
        0 the right; a leaf is both its children (threshold +inf, feature 0), so the descent
        may run past it.
        """
        cached = getattr(self, "_descent", None)
        if cached is None:
            f = self._flat
            nodes = np.arange(f.left.size, dtype=np.intp)
            children = np.empty(2 * f.left.size, dtype=np.intp)
            children[0::2] = np.where(f.is_leaf, nodes, f.right)
            children[1::2] = np.where(f.is_leaf, nodes, f.left)
            threshold = np.where(f.is_leaf, np.inf, f.threshold)
            feature = np.where(f.is_leaf, 0, f.feature).astype(np.intp)
            nan_right = ~f.nan_left & ~f.is_leaf
            cached = self._descent = (children, threshold, feature, nan_right)
        return cached

    def _numpy_leaf_values(self, Xc: np.ndarray) -> np.ndarray:
        """Leaf value of every (row, tree) pair, shape (rows, n_iter, K); vectorised.

        Every pair descends one level per step: ``x <= threshold`` goes left, as
        scikit-learn's predictor. A missing value goes to the node's missing side: the
        features are read from two copies, the first with NaN as -inf (so ``<=`` sends it
        left), the second with NaN kept (``<=`` is false: right); each node reads the copy
        of its side.
        """
        f = self._flat
        children, threshold, feature, nan_right = self._descent_arrays()
        n_rows, n_feat = Xc.shape
        n_trees = f.roots.size
        missing = np.isnan(Xc)
        xf = np.concatenate([np.where(missing, -np.inf, Xc).reshape(-1), Xc.reshape(-1)])
        column = feature + nan_right * (n_rows * n_feat)  # index into xf, less the row's
        leaf_node = np.empty(n_rows * n_trees, dtype=np.intp)
        pair = None  # all pairs, in order, until the first compaction
        cur = np.tile(f.roots, n_rows)
        offset = np.repeat(np.arange(n_rows, dtype=np.intp) * n_feat, n_trees)
        level = 0
        while cur.size:
            level += 1
            x = xf.take(offset + column.take(cur))
            go_left = x <= threshold.take(cur)
            cur = children.take(cur * 2 + go_left)
            if level in self._COMPACT_AT or level > 64:
                done = f.is_leaf.take(cur)
                if pair is None and done.all():
                    leaf_node[:] = cur
                    break
                if done.mean() > 0.25 or done.all():
                    if pair is None:
                        pair = np.arange(n_rows * n_trees, dtype=np.intp)
                    leaf_node[pair[done]] = cur[done]
                    keep = ~done
                    pair, cur, offset = pair[keep], cur[keep], offset[keep]
        return f.value.take(leaf_node).reshape(n_rows, self.n_iter_,
                                               self.n_trees_per_iteration_)

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores (baseline plus all trees), shape (rows, K), as sklearn's ``_raw_predict``.

        Parameters
        ----------
        X
            Features, shape (rows, ``n_features_in_``); a DataFrame is reordered by
            ``feature_names_``. NaN means missing (routed as scikit-learn does).

        Returns
        -------
        numpy.ndarray
            Float64 raw scores, shape (rows, ``n_trees_per_iteration_``).

        """
        arr = self._check_X(X)
        backend = self.backend_
        if backend == "loaded":
            backend = "numpy"  # scikit-learn's predictor for a large call, or once imported
            if "sklearn" in sys.modules or len(arr) >= SKLEARN_MIN_ROWS:
                if self._try_sklearn() is None:  # built once; later calls use it
                    self.backend_ = backend = "sklearn"
        return self._raw_scores(arr, backend, _effective_n_threads(self.n_threads))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, equal to the exported estimator's ``predict_proba``.

        Parameters
        ----------
        X
            Features, shape (rows, ``n_features_in_``); a DataFrame is reordered by
            ``feature_names_``. NaN means missing (routed as scikit-learn does).

        Returns
        -------
        numpy.ndarray
            Shape (rows, ``len(classes_)``); columns follow ``classes_``.

        Raises
        ------
        InputError
            If ``X`` is not numeric, not 2-D or has the wrong number of columns.

        """
        return _link(self.decision_function(X), self.loss_)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row (ties go to the first class, as in sklearn)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ---- saving ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict (equal to the one this model was built from)."""
        def tree_dict(t: dict[str, np.ndarray]) -> dict[str, list]:
            d: dict[str, list] = {name: t[name].tolist() for name in _NODE_FIELDS}
            d["num_threshold"] = [None if v == math.inf else v for v in d["num_threshold"]]
            return d

        k = self.n_trees_per_iteration_
        return {
            "kind": GBM_KIND,
            "schema_version": GBM_SCHEMA_VERSION,
            "producer": dict(self._producer),
            "feature_names": list(self.feature_names_),
            "classes": list(self._classes_json),
            "loss": self.loss_,
            "n_iter": self.n_iter_,
            "n_trees_per_iteration": k,
            "baseline": self._baseline.tolist(),
            "trees": [[tree_dict(self._trees[i * k + j]) for j in range(k)]
                      for i in range(self.n_iter_)],
        }

    def __repr__(self) -> str:
        return (f"GBMPosterior({self.n_iter_} iterations x {self.n_trees_per_iteration_} "
                f"trees, {self.n_features_in_} features, classes={self._classes_json!r}, "
                f"backend={self.backend_!r})")
