"""Contract of the evaluation script `scripts/pytorch_evaluation/evaluate.py` (derived from the step's ports)."""

from __future__ import annotations

from constructs_lib.specs.evaluation_pytorch import PYTORCH_EVALUATION_PORTS

__all__ = ["PYTORCH_EVALUATION_CONTRACT"]

PYTORCH_EVALUATION_CONTRACT = PYTORCH_EVALUATION_PORTS.contract()
