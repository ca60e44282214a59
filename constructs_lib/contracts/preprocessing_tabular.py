"""Contract of ``scripts/tabular_preprocessing/preprocess.py`` (SageMaker Processing container paths)."""

from __future__ import annotations

from constructs_lib.contracts.base import ScriptContract
from constructs_lib.contracts.data_load import PROCESSING_BASE_ENV, PROCESSING_CODE_DIR

__all__ = ["TABULAR_PREPROCESSING_CONTRACT"]

TABULAR_PREPROCESSING_CONTRACT = ScriptContract(
    entry_point="preprocess.py",
    expected_input_paths={
        "raw_data": "/opt/ml/processing/input/raw",
    },
    expected_output_paths={
        # train/part-0.csv, val/part-0.csv, test/part-0.csv below it
        "processed_data": "/opt/ml/processing/output/processed_data",
    },
    config_paths={"code": PROCESSING_CODE_DIR},
    required_env_vars=(),
    optional_env_vars={PROCESSING_BASE_ENV: "/opt/ml/processing"},
    description=(
        "Reads the raw table, splits its rows deterministically (numpy RandomState(seed), per label value "
        "when --label-name is given) into train/val/test by the given ratios and writes each split as "
        "processed_data/<split>/part-0.csv."
    ),
)
