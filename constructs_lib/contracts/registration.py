"""Contract of the model registration step (derived from its ports; the served handler is the training
step's)."""

from __future__ import annotations

from constructs_lib.specs.registration import MODEL_REGISTRATION_PORTS

__all__ = ["MODEL_REGISTRATION_CONTRACT"]

MODEL_REGISTRATION_CONTRACT = MODEL_REGISTRATION_PORTS.contract()
