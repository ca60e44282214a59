"""Contract of the inference script `scripts/pytorch_inference/inference.py` (derived from the step's ports)."""

from __future__ import annotations

from constructs_lib.specs.model_pytorch import PYTORCH_MODEL_PORTS

__all__ = ["PYTORCH_INFERENCE_CONTRACT"]

PYTORCH_INFERENCE_CONTRACT = PYTORCH_MODEL_PORTS.contract()
