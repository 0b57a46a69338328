"""The cooperation-task simulator: pairs of mice over days of training, with ground truth.

:func:`simulate_session` makes one session (noisy pose as a tracker gives it, the exact
pose, per-frame truth labels, the rig's event log, the arena with the day's window);
:func:`simulate_cohort` makes N pairs x D days with the curriculum carried from day to day;
:func:`write_session` writes a session folder; :func:`render_video` draws the overhead
video. The model is described in ``docs/simulator.md``.
"""

from behavtrack.simulate.config import SimulationConfig
from behavtrack.simulate.session import (
    SimulatedSession,
    simulate_cohort,
    simulate_session,
)

__all__ = [
    "SimulationConfig",
    "SimulatedSession",
    "simulate_session",
    "simulate_cohort",
    "write_session",
    "render_video",
]


def __getattr__(name: str):  # lazy: writing and rendering pull in cv2 and HDF5
    if name == "write_session":
        from behavtrack.simulate.write import write_session

        return write_session
    if name == "render_video":
        from behavtrack.simulate.render import render_video

        return render_video
    raise AttributeError(name)
