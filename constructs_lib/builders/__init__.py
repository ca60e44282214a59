"""Step builders: one per step type. ``ALL_BUILDERS`` lists the built-in ones (the registry's source)."""

from __future__ import annotations

from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder

__all__ = ["ALL_BUILDERS", "PyTorchTrainingStepBuilder", "StepBuilderBase"]

ALL_BUILDERS: tuple[type[StepBuilderBase], ...] = (PyTorchTrainingStepBuilder,)
