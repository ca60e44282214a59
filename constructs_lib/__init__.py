# ruff: noqa: F401
"""constructs_lib: typed configs -> a deterministic, offline-built SageMaker Pipeline that trains a PyTorch
model -> AWS CDK constructs that deploy it with its roles, buckets and CodeArtifact permissions.

Public names are importable from the package root. They are loaded on first use, so ``import
constructs_lib`` and validating a config import neither the SageMaker SDK nor ``aws_cdk``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "ConstructsLibError": "constructs_lib.errors",
    "ConfigError": "constructs_lib.errors",
    "SpecError": "constructs_lib.errors",
    "DagError": "constructs_lib.errors",
    "ResolutionError": "constructs_lib.errors",
    "SynthError": "constructs_lib.errors",
    # configs
    "ModelHyperparameters": "constructs_lib.config.hyperparameters",
    "TabularClassifierHyperparameters": "constructs_lib.config.hyperparameters",
    "PyTorchTrainingConfig": "constructs_lib.config.training_pytorch",
    "TabularPreprocessingConfig": "constructs_lib.config.preprocessing_tabular",
    "PyTorchModelConfig": "constructs_lib.config.model_pytorch",
    "DataLoadConfig": "constructs_lib.config.data_load",
    "PyTorchEvaluationConfig": "constructs_lib.config.evaluation_pytorch",
    "ModelQualityGateConfig": "constructs_lib.config.quality_gate",
    "ModelRegistrationConfig": "constructs_lib.config.registration",
    # specs and contracts
    "StepSpecification": "constructs_lib.specs.base",
    "DependencySpec": "constructs_lib.specs.base",
    "OutputSpec": "constructs_lib.specs.base",
    "DependencyType": "constructs_lib.specs.base",
    "NodeType": "constructs_lib.specs.base",
    "ScriptContract": "constructs_lib.contracts.base",
    # builders
    "StepBuilderBase": "constructs_lib.builders.base",
    "PyTorchTrainingStepBuilder": "constructs_lib.builders.training_pytorch",
    "TabularPreprocessingStepBuilder": "constructs_lib.builders.preprocessing_tabular",
    "PyTorchModelStepBuilder": "constructs_lib.builders.model_pytorch",
    "DataLoadStepBuilder": "constructs_lib.builders.data_load",
    "PyTorchEvaluationStepBuilder": "constructs_lib.builders.evaluation_pytorch",
    "ModelQualityGateStepBuilder": "constructs_lib.builders.quality_gate",
    "ModelRegistrationStepBuilder": "constructs_lib.builders.registration",
    # wiring
    "DependencyResolver": "constructs_lib.resolver",
    "Resolution": "constructs_lib.resolver",
    "PipelineDAG": "constructs_lib.dag",
    "PipelineBuilderTemplate": "constructs_lib.template",
    "BuiltPipeline": "constructs_lib.template",
    "BuildContext": "constructs_lib.context",
    "step_builder_map": "constructs_lib.registry",
    "check_alignment": "constructs_lib.alignment",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.alignment import check_alignment
    from constructs_lib.builders.base import StepBuilderBase
    from constructs_lib.builders.data_load import DataLoadStepBuilder
    from constructs_lib.builders.evaluation_pytorch import PyTorchEvaluationStepBuilder
    from constructs_lib.builders.model_pytorch import PyTorchModelStepBuilder
    from constructs_lib.builders.preprocessing_tabular import TabularPreprocessingStepBuilder
    from constructs_lib.builders.quality_gate import ModelQualityGateStepBuilder
    from constructs_lib.builders.registration import ModelRegistrationStepBuilder
    from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder
    from constructs_lib.config.data_load import DataLoadConfig
    from constructs_lib.config.evaluation_pytorch import PyTorchEvaluationConfig
    from constructs_lib.config.hyperparameters import ModelHyperparameters, TabularClassifierHyperparameters
    from constructs_lib.config.model_pytorch import PyTorchModelConfig
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig
    from constructs_lib.config.quality_gate import ModelQualityGateConfig
    from constructs_lib.config.registration import ModelRegistrationConfig
    from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
    from constructs_lib.context import BuildContext
    from constructs_lib.contracts.base import ScriptContract
    from constructs_lib.dag import PipelineDAG
    from constructs_lib.errors import (
        ConfigError,
        ConstructsLibError,
        DagError,
        ResolutionError,
        SpecError,
        SynthError,
    )
    from constructs_lib.registry import step_builder_map
    from constructs_lib.resolver import DependencyResolver, Resolution
    from constructs_lib.specs.base import (
        DependencySpec,
        DependencyType,
        NodeType,
        OutputSpec,
        StepSpecification,
    )
    from constructs_lib.template import BuiltPipeline, PipelineBuilderTemplate
