"""Contract of the data-load script ``scripts/data_load/load.py`` (SageMaker Processing container paths)."""

from __future__ import annotations

from constructs_lib.contracts.base import ScriptContract

__all__ = ["DATA_LOAD_CONTRACT", "PROCESSING_BASE_ENV", "PROCESSING_CODE_DIR"]

#: Environment variable that relocates ``/opt/ml/processing`` (for running the scripts outside SageMaker).
PROCESSING_BASE_ENV = "SM_PROCESSING_BASE"
#: Where a processing job of the library receives its packed code (``sourcedir.tar.gz``).
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code"

DATA_LOAD_CONTRACT = ScriptContract(
    entry_point="load.py",
    expected_input_paths={
        # delivered from the pipeline parameter (DataLoadConfig.parameter_name), not from a predecessor
        "raw_source": "/opt/ml/processing/input/raw_source",
    },
    expected_output_paths={
        "raw_data": "/opt/ml/processing/output/raw_data",
    },
    config_paths={"code": PROCESSING_CODE_DIR},
    required_env_vars=(),
    optional_env_vars={PROCESSING_BASE_ENV: "/opt/ml/processing"},
    description=(
        "Reads every .csv, .csv.gz and .parquet file under raw_source (sorted by path), checks they share "
        "one set of columns, that the required columns are present and that there are at least --min-rows "
        "rows, and writes the table to raw_data/part-0.csv."
    ),
)
