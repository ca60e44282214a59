"""Contract of `scripts/tabular_preprocessing/preprocess.py` (derived from the step's ports)."""

from __future__ import annotations

from constructs_lib.specs.preprocessing_tabular import TABULAR_PREPROCESSING_PORTS

__all__ = ["TABULAR_PREPROCESSING_CONTRACT"]

TABULAR_PREPROCESSING_CONTRACT = TABULAR_PREPROCESSING_PORTS.contract()
