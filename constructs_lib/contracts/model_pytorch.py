"""Contract of the inference script ``scripts/pytorch_inference/inference.py`` (SageMaker PyTorch serving
container paths)."""

from __future__ import annotations

from constructs_lib.contracts.base import ScriptContract

__all__ = ["PYTORCH_INFERENCE_CONTRACT"]

PYTORCH_INFERENCE_CONTRACT = ScriptContract(
    entry_point="inference.py",
    expected_input_paths={
        # SageMaker extracts ModelDataUrl (model.pt, model_meta.json, code/) here
        "model_data": "/opt/ml/model",
    },
    expected_output_paths={},
    config_paths={"code": "/opt/ml/model/code"},
    required_env_vars=(),
    optional_env_vars={},
    description=(
        "model_fn loads model.pt + model_meta.json (the reference train.py's format, via its load_model); "
        "input_fn reads text/csv (header row) or application/json records; predict_fn returns the "
        "probability of label 1 per row; output_fn writes application/json or text/csv."
    ),
)
