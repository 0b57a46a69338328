"""The one compiled module of behavtrack; everything else is configured in pyproject.toml.

``behavtrack.strategies._treewalk`` walks the gradient-boosted trees of the classifier (plain
C and the buffer protocol: no numpy headers). It is optional: where it cannot be built (no C
compiler), the install goes on and the same numbers come from the numpy traversal.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("behavtrack.strategies._treewalk",
                             sources=["behavtrack/strategies/_treewalk.c"],
                             optional=True)])
