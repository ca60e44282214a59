"""Specification of the data-load step (the public stand-in for the seed's Cradle loader)."""

from __future__ import annotations

import functools

from constructs_lib.specs.base import (
    DependencyType,
    NodeType,
    OutputSpec,
    SageMakerStepKind,
    StepSpecification,
)

__all__ = ["data_load_spec"]


@functools.lru_cache(maxsize=1)
def data_load_spec() -> StepSpecification:
    """No dependencies (its source is a pipeline parameter); ``raw_data`` (the validated table) out."""
    return StepSpecification(
        step_type="DataLoadStep",
        node_type=NodeType.SOURCE,
        sagemaker_step_kind=SageMakerStepKind.PROCESSING,
        dependencies=(),
        outputs=(
            OutputSpec(
                logical_name="raw_data",
                output_type=DependencyType.RAW_DATA,
                property_path="properties.ProcessingOutputConfig.Outputs['raw_data'].S3Output.S3Uri",
                data_type="S3Uri",
                description="S3 prefix holding the validated table as part-0.csv.",
            ),
        ),
    )
