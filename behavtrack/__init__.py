"""behavtrack: poses, strategy bouts and learning curves of mouse pairs in a cooperation task.

The package is laid out in the order data flows through it::

    io -> tracking -> features -> strategies -> task -> learning -> compare

``simulate`` makes sessions with known truth; ``batch`` runs the pipeline over many
sessions; ``cli`` and ``napari`` are thin faces over the library.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("behavtrack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from behavtrack.errors import BehavtrackError, InputError

__all__ = ["BehavtrackError", "InputError", "__version__"]
