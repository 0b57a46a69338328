"""From video to pose: the built-in OpenCV tracker and the DeepLabCut / SLEAP backends.

:func:`track_video` runs the built-in tracker (background model, segmentation, body
keypoints, identities, head-tail disambiguation);
:func:`behavtrack.tracking.backends.run_backend` runs a lab's trained DeepLabCut or SLEAP
model in-process or through the lab's own Python environment; :func:`track` picks one.
"""

from behavtrack.tracking.tracker import track, track_video

__all__ = ["track", "track_video"]
