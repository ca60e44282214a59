"""Specification of the tabular preprocessing step (raw table in, train/val/test directory out)."""

from __future__ import annotations

import functools

from constructs_lib.specs.base import (
    DependencySpec,
    DependencyType,
    NodeType,
    OutputSpec,
    SageMakerStepKind,
    StepSpecification,
)

__all__ = ["tabular_preprocessing_spec"]


@functools.lru_cache(maxsize=1)
def tabular_preprocessing_spec() -> StepSpecification:
    """``raw_data`` (a table) in; ``processed_data`` (``train/``, ``val/``, ``test/``) out.

    ``processed_data`` has no alias: the PyTorch training step's ``input_path`` is fed from it by the
    resolver's typed tier (``processed_data`` type, compatible source, keywords), as the seed documents
    ("Previous step's processed_data output"). An alias named after one consumer's input would couple this
    step to that consumer and win by name over every typed reason.
    """
    return StepSpecification(
        step_type="TabularPreprocessingStep",
        node_type=NodeType.INTERNAL,
        sagemaker_step_kind=SageMakerStepKind.PROCESSING,
        dependencies=(
            DependencySpec(
                logical_name="raw_data",
                dependency_type=DependencyType.RAW_DATA,
                required=True,
                compatible_sources=("DataLoadStep",),
                semantic_keywords=("raw", "data", "table", "input"),
                data_type="S3Uri",
                description="The raw table: .csv, .csv.gz or .parquet files under one S3 prefix.",
            ),
        ),
        outputs=(
            OutputSpec(
                logical_name="processed_data",
                output_type=DependencyType.PROCESSED_DATA,
                property_path="properties.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri",
                data_type="S3Uri",
                description="S3 prefix with train/, val/ and test/, each holding part-0.csv.",
            ),
        ),
    )
