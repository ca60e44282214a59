"""Step builders: one per step type. ``ALL_BUILDERS`` lists the built-in ones (the registry's source).

The builder classes load on first use (``from constructs_lib.builders import DataLoadStepBuilder``,
``ALL_BUILDERS``): importing this package, :mod:`.base` or one builder's module imports no other builder,
so a synth answered from the re-synth cache loads only the builder its config names (:data:`BUILTIN`
names each built-in one without importing it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.builders.base import StepBuilderBase
    from constructs_lib.builders.data_load import DataLoadStepBuilder
    from constructs_lib.builders.evaluation_pytorch import PyTorchEvaluationStepBuilder
    from constructs_lib.builders.model_pytorch import PyTorchModelStepBuilder
    from constructs_lib.builders.preprocessing_tabular import TabularPreprocessingStepBuilder
    from constructs_lib.builders.quality_gate import ModelQualityGateStepBuilder
    from constructs_lib.builders.registration import ModelRegistrationStepBuilder
    from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder

    ALL_BUILDERS: tuple[type[StepBuilderBase], ...]

__all__ = [
    "ALL_BUILDERS",
    "BUILTIN",
    "BuiltinStepType",
    "DataLoadStepBuilder",
    "ModelQualityGateStepBuilder",
    "ModelRegistrationStepBuilder",
    "PyTorchEvaluationStepBuilder",
    "PyTorchModelStepBuilder",
    "PyTorchTrainingStepBuilder",
    "StepBuilderBase",
    "TabularPreprocessingStepBuilder",
]


@dataclass(frozen=True)
class BuiltinStepType:
    """A built-in step type, by name only (nothing imported).

    Attributes:
        module: the module of its builder class, ``<step type>Builder``.
        config_module: the module of the config class it builds.
        config_class: that config class's name.
    """

    module: str
    config_module: str
    config_class: str


#: The built-in step types, in registration order: step type -> where its builder and config live. The
#: registry checks each entry against the class when it loads it.
BUILTIN: Mapping[str, BuiltinStepType] = MappingProxyType(
    {
        "DataLoadStep": BuiltinStepType(
            "constructs_lib.builders.data_load", "constructs_lib.config.data_load", "DataLoadConfig"
        ),
        "TabularPreprocessingStep": BuiltinStepType(
            "constructs_lib.builders.preprocessing_tabular",
            "constructs_lib.config.preprocessing_tabular",
            "TabularPreprocessingConfig",
        ),
        "PyTorchTrainingStep": BuiltinStepType(
            "constructs_lib.builders.training_pytorch",
            "constructs_lib.config.training_pytorch",
            "PyTorchTrainingConfig",
        ),
        "PyTorchModelStep": BuiltinStepType(
            "constructs_lib.builders.model_pytorch",
            "constructs_lib.config.model_pytorch",
            "PyTorchModelConfig",
        ),
        "PyTorchEvaluationStep": BuiltinStepType(
            "constructs_lib.builders.evaluation_pytorch",
            "constructs_lib.config.evaluation_pytorch",
            "PyTorchEvaluationConfig",
        ),
        "ModelQualityGateStep": BuiltinStepType(
            "constructs_lib.builders.quality_gate",
            "constructs_lib.config.quality_gate",
            "ModelQualityGateConfig",
        ),
        "ModelRegistrationStep": BuiltinStepType(
            "constructs_lib.builders.registration",
            "constructs_lib.config.registration",
            "ModelRegistrationConfig",
        ),
    }
)


def __getattr__(name: str) -> Any:
    """Load a builder class (or ``ALL_BUILDERS``, ``StepBuilderBase``) on first access."""
    if name == "ALL_BUILDERS":
        value: Any = tuple(__getattr__(f"{step_type}Builder") for step_type in BUILTIN)
    elif name == "StepBuilderBase":
        value = importlib.import_module(f"{__name__}.base").StepBuilderBase
    else:
        entry = BUILTIN.get(name.removesuffix("Builder")) if name.endswith("Builder") else None
        if entry is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(entry.module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
