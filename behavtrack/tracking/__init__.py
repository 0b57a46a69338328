"""From video to pose: the built-in OpenCV tracker and the DeepLabCut / SLEAP backends.

:func:`track_video` runs the built-in tracker (background model, segmentation, body
keypoints, identities, head-tail disambiguation); :func:`run_backend` runs a lab's trained
DeepLabCut or SLEAP model in-process or through the lab's own Python environment.
"""

from behavtrack.tracking.tracker import track_video

__all__ = ["track_video"]
