"""Step builders: one per step type. ``ALL_BUILDERS`` lists the built-in ones (the registry's source)."""

from __future__ import annotations

from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.builders.data_load import DataLoadStepBuilder
from constructs_lib.builders.evaluation_pytorch import PyTorchEvaluationStepBuilder
from constructs_lib.builders.model_pytorch import PyTorchModelStepBuilder
from constructs_lib.builders.preprocessing_tabular import TabularPreprocessingStepBuilder
from constructs_lib.builders.quality_gate import ModelQualityGateStepBuilder
from constructs_lib.builders.registration import ModelRegistrationStepBuilder
from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder

__all__ = [
    "ALL_BUILDERS",
    "DataLoadStepBuilder",
    "ModelQualityGateStepBuilder",
    "ModelRegistrationStepBuilder",
    "PyTorchEvaluationStepBuilder",
    "PyTorchModelStepBuilder",
    "PyTorchTrainingStepBuilder",
    "StepBuilderBase",
    "TabularPreprocessingStepBuilder",
]

ALL_BUILDERS: tuple[type[StepBuilderBase], ...] = (
    DataLoadStepBuilder,
    TabularPreprocessingStepBuilder,
    PyTorchTrainingStepBuilder,
    PyTorchModelStepBuilder,
    PyTorchEvaluationStepBuilder,
    ModelQualityGateStepBuilder,
    ModelRegistrationStepBuilder,
)
