"""Writers of a classify output folder: ethogram, bouts, binary table, provenance, raster PNG.

The file layouts are those of ``../shared/docs/FORMATS.md``; each writer is atomic.
"""

from behavtrack.export.provenance import write_provenance
from behavtrack.export.raster import plot_ethogram
from behavtrack.export.tables import (
    ETHOGRAM_COLUMNS,
    binary_table,
    decimal_strings,
    ethogram_table,
    write_binary,
    write_binary_csv,
    write_ethogram,
    write_ethogram_csv,
)

__all__ = ["ETHOGRAM_COLUMNS", "binary_table", "decimal_strings", "ethogram_table", "plot_ethogram",
           "write_binary", "write_binary_csv", "write_ethogram", "write_ethogram_csv",
           "write_provenance"]
