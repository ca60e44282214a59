"""Contract of the PyTorch training script (the real SageMaker training container paths)."""

from __future__ import annotations

from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV
from constructs_lib.contracts.base import ScriptContract

__all__ = ["PYTORCH_TRAINING_CONTRACT"]

PYTORCH_TRAINING_CONTRACT = ScriptContract(
    entry_point="train.py",
    expected_input_paths={
        # the single "data" channel; the script reads train/, val/ and test/ below it
        "input_path": "/opt/ml/input/data/data",
    },
    expected_output_paths={
        "model_artifacts": "/opt/ml/model",
        "output_path": "/opt/ml/output/data",
    },
    config_paths={
        "hyperparameters": "/opt/ml/input/config/hyperparameters.json",
        "input_data_config": "/opt/ml/input/config/inputdataconfig.json",
        "resource_config": "/opt/ml/input/config/resourceconfig.json",
    },
    channel_env_vars={
        "input_path": "SM_CHANNEL_DATA",
        "model_artifacts": "SM_MODEL_DIR",
        "output_path": "SM_OUTPUT_DATA_DIR",
    },
    required_env_vars=(),
    optional_env_vars={CA_REPOSITORY_ARN_ENV: ""},
    description=(
        "Trains a tabular binary classifier with PyTorch: reads train/val/test from the data channel, "
        "writes the model to SM_MODEL_DIR and test metrics to SM_OUTPUT_DATA_DIR, prints the four metrics "
        "per epoch."
    ),
)
