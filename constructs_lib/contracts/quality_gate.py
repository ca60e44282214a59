"""Contract of the model quality gate (derived from its ports; a condition runs no script)."""

from __future__ import annotations

from constructs_lib.specs.quality_gate import MODEL_QUALITY_GATE_PORTS

__all__ = ["MODEL_QUALITY_GATE_CONTRACT"]

MODEL_QUALITY_GATE_CONTRACT = MODEL_QUALITY_GATE_PORTS.contract()
