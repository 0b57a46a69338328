"""Per-frame features of each animal from pose, arena geometry and the rig's events.

:func:`compute_features` returns a table indexed by ``(individual, frame)`` whose columns are
documented in :data:`FEATURES` (name, unit, meaning) and in ``docs/features.md``.
"""

from behavtrack.features.clean import CleanReport, clean_pose, interpolate_gaps
from behavtrack.features.table import FEATURE_NAMES, FEATURES, Feature, compute_features

__all__ = ["CleanReport", "FEATURES", "FEATURE_NAMES", "Feature", "clean_pose",
           "compute_features", "interpolate_gaps"]
