"""A transparent rule-based baseline, to compare the HMM with.

Per frame, in this order (the first rule that holds wins; thresholds are parameters):

1. ``interaction``: the noses are within ``interaction_cm`` of each other and both are within
   ``partition_cm`` of the partition (through it);
2. ``waiting``: the nose is within ``port_cm`` of the own poke port and the animal moves
   slower than ``still_cm_s``;
3. ``approach``: the nose closes in on the partition faster than ``approach_cm_s`` (or, without
   an arena, on the partner);
4. ``other``.

Runs shorter than ``min_bout_s`` are then merged into a neighbour. Rules needing an absent
feature never fire (no arena: no waiting; one animal: no interaction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies.smoothing import enforce_min_bout

__all__ = ["RuleClassifier"]


class RuleClassifier(BaseEstimator):
    """The rule baseline (scikit-learn conventions; ``fit`` learns nothing).

    Parameters
    ----------
    interaction_cm, partition_cm, port_cm, still_cm_s, approach_cm_s
        Thresholds of the rules above.
    min_bout_s
        Shortest bout kept.

    """

    def __init__(
        self,
        interaction_cm: float = 4.0,
        partition_cm: float = 3.0,
        port_cm: float = 4.0,
        still_cm_s: float = 3.0,
        approach_cm_s: float = 6.0,
        min_bout_s: float = 0.3,
    ) -> None:
        self.interaction_cm = interaction_cm
        self.partition_cm = partition_cm
        self.port_cm = port_cm
        self.still_cm_s = still_cm_s
        self.approach_cm_s = approach_cm_s
        self.min_bout_s = min_bout_s

    def fit(self, X_list: object = None, y_list: object = None) -> RuleClassifier:
        """No-op (the rules have no fitted state); returns self."""
        return self

    def _col(self, X: pd.DataFrame, name: str) -> np.ndarray | None:
        return X[name].to_numpy(dtype=float) if name in X.columns else None

    def predict(self, X: pd.DataFrame, fps: float | None = None) -> np.ndarray:
        """Behaviour name per frame of one animal's feature table."""
        n = len(X)
        out = np.full(n, BEHAVIORS.index("other"))
        with np.errstate(invalid="ignore"):
            nn = self._col(X, "nose_nose")
            dp = self._col(X, "dist_partition")
            pdp = self._col(X, "partner_dist_partition")
            app = self._col(X, "partition_approach")
            if app is None:
                app = self._col(X, "partner_approach")
            if app is not None:
                out[app > self.approach_cm_s] = BEHAVIORS.index("approach")
            poke, spd = self._col(X, "dist_poke"), self._col(X, "speed")
            if poke is not None and spd is not None:
                out[(poke < self.port_cm) & (spd < self.still_cm_s)] = BEHAVIORS.index("waiting")
            if nn is not None:
                inter = nn < self.interaction_cm
                if dp is not None and pdp is not None:
                    inter &= (dp < self.partition_cm) & (pdp < self.partition_cm)
                out[inter] = BEHAVIORS.index("interaction")
        fps = fps or X.attrs.get("fps")
        if fps and self.min_bout_s > 0:
            onehot = np.eye(len(BEHAVIORS))[out]
            out = enforce_min_bout(out, onehot, int(round(self.min_bout_s * fps)))
        return np.asarray(BEHAVIORS, dtype=object)[out]
