"""``DataLoadStepBuilder``: the public stand-in for the seed's internal Cradle data-loading step.

A SageMaker ``ProcessingStep`` (scikit-learn image) whose raw-data location is a pipeline parameter
(``DataLoadConfig.parameter_name``, default ``RawDataS3Uri``), so each execution can load other data
without a redeploy: ``start_pipeline_execution(PipelineParameters=[{"Name": "RawDataS3Uri", "Value":
"s3://…"}])``. The shipped ``load.py`` validates the table and publishes it as ``raw_data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.builders.base import InputValue
from constructs_lib.builders.preprocessing_tabular import ProcessingStepBuilderBase
from constructs_lib.config.data_load import DataLoadConfig
from constructs_lib.contracts.base import ScriptContract
from constructs_lib.contracts.data_load import DATA_LOAD_CONTRACT
from constructs_lib.specs.base import StepSpecification
from constructs_lib.specs.data_load import data_load_spec

__all__ = ["DataLoadStepBuilder"]


class DataLoadStepBuilder(ProcessingStepBuilderBase):
    """Builds the data-load step: a pipeline parameter in (processing input ``raw_source``), ``raw_data`` out."""

    STEP_TYPE = "DataLoadStep"
    CONFIG_CLASS = DataLoadConfig
    DEFAULT_STEP_NAME = "DataLoad"
    #: ``raw_source`` is no dependency: its value is the pipeline parameter, see :meth:`channel_values`.
    CHANNELS = {"raw_source": "raw_source"}

    config: DataLoadConfig

    @classmethod
    def specification(cls) -> StepSpecification:
        return data_load_spec()

    @classmethod
    def contract(cls) -> ScriptContract:
        return DATA_LOAD_CONTRACT

    @classmethod
    def example_config(cls) -> DataLoadConfig:
        """A valid sample config (the table must have ``id`` and ``label`` columns)."""
        return DataLoadConfig(required_columns=("id", "label"))

    @property
    def raw_data_default(self) -> str:
        """Default of the raw-data parameter: ``config.raw_data_s3_uri`` or ``<root>/<pipeline>/raw/``."""
        if self.config.raw_data_s3_uri is not None:
            return self.config.raw_data_s3_uri
        return f"{self.context.artifact_root}/{self.context.pipeline_name}/raw/"

    def static_input_uris(self) -> tuple[str, ...]:
        return (self.raw_data_default,)

    def script_arguments(self) -> list[str]:
        return self.config.script_arguments()

    def channel_values(self, inputs: Mapping[str, InputValue]) -> dict[str, InputValue]:
        from constructs_lib.sdk_adapter import import_sagemaker

        import_sagemaker()
        from sagemaker.workflow.parameters import ParameterString

        param = ParameterString(name=self.config.parameter_name, default_value=self.raw_data_default)
        self.parameters: tuple[Any, ...] = (param,)
        return {"raw_source": param}
