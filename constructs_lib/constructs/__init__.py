"""AWS CDK constructs for constructs_lib pipelines (the only package that imports ``aws_cdk``/``cdk_nag``).

    from constructs_lib.constructs import PyTorchTrainingPipeline, SageMakerPipeline

Names are loaded on first use, so importing one name does not load every CDK module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "SageMakerPipeline": "constructs_lib.constructs.pipeline",
    "PyTorchTrainingPipeline": "constructs_lib.constructs.pipeline",
    "DEFAULT_INLINE_THRESHOLD_CHARS": "constructs_lib.constructs.props",
    "DefinitionStorage": "constructs_lib.constructs.props",
    "PipelineOptions": "constructs_lib.constructs.props",
    "InputLocation": "constructs_lib.constructs.props",
    "PipelineProps": "constructs_lib.constructs.props",
    "concrete_region": "constructs_lib.constructs.pipeline",
    "ArtifactStorage": "constructs_lib.constructs.storage",
    "DataArrivalTrigger": "constructs_lib.constructs.operations",
    "PipelineAlerts": "constructs_lib.constructs.operations",
    "PipelineSchedule": "constructs_lib.constructs.operations",
    "ACKNOWLEDGED_FINDINGS": "constructs_lib.constructs.nag",
    "add_aws_solutions_checks": "constructs_lib.constructs.nag",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'constructs_lib.constructs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.constructs.nag import ACKNOWLEDGED_FINDINGS as ACKNOWLEDGED_FINDINGS
    from constructs_lib.constructs.nag import add_aws_solutions_checks as add_aws_solutions_checks
    from constructs_lib.constructs.operations import DataArrivalTrigger as DataArrivalTrigger
    from constructs_lib.constructs.operations import PipelineAlerts as PipelineAlerts
    from constructs_lib.constructs.operations import PipelineSchedule as PipelineSchedule
    from constructs_lib.constructs.pipeline import PyTorchTrainingPipeline as PyTorchTrainingPipeline
    from constructs_lib.constructs.pipeline import SageMakerPipeline as SageMakerPipeline
    from constructs_lib.constructs.pipeline import concrete_region as concrete_region
    from constructs_lib.constructs.props import (
        DEFAULT_INLINE_THRESHOLD_CHARS as DEFAULT_INLINE_THRESHOLD_CHARS,
    )
    from constructs_lib.constructs.props import DefinitionStorage as DefinitionStorage
    from constructs_lib.constructs.props import InputLocation as InputLocation
    from constructs_lib.constructs.props import PipelineOptions as PipelineOptions
    from constructs_lib.constructs.props import PipelineProps as PipelineProps
    from constructs_lib.constructs.storage import ArtifactStorage as ArtifactStorage
