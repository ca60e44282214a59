"""Contract of the data-load script `scripts/data_load/load.py` (derived from the step's ports)."""

from __future__ import annotations

from constructs_lib.specs.data_load import DATA_LOAD_PORTS

__all__ = ["DATA_LOAD_CONTRACT"]

DATA_LOAD_CONTRACT = DATA_LOAD_PORTS.contract()
