"""Contract of the PyTorch training script (derived from the step's ports)."""

from __future__ import annotations

from constructs_lib.specs.training_pytorch import PYTORCH_TRAINING_PORTS

__all__ = ["PYTORCH_TRAINING_CONTRACT"]

PYTORCH_TRAINING_CONTRACT = PYTORCH_TRAINING_PORTS.contract()
