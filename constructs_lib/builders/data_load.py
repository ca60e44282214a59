"""``DataLoadStepBuilder``: the public stand-in for the seed's internal Cradle data-loading step.

A SageMaker ``ProcessingStep`` (scikit-learn image) whose raw-data location is a pipeline parameter
(``DataLoadConfig.parameter_name``, default ``RawDataS3Uri``), so each execution can load other data
without a redeploy: ``start_pipeline_execution(PipelineParameters=[{"Name": "RawDataS3Uri", "Value":
"s3://…"}])``. The shipped ``load.py`` validates the table and publishes it as ``raw_data``.
"""

from __future__ import annotations

from collections.abc import Mapping

from constructs_lib.builders.base import InputValue
from constructs_lib.builders.processing import ProcessingStepBuilderBase
from constructs_lib.config.data_load import DataLoadConfig
from constructs_lib.specs.data_load import DATA_LOAD_PORTS

__all__ = ["DataLoadStepBuilder"]


class DataLoadStepBuilder(ProcessingStepBuilderBase):
    """Builds the data-load step: a pipeline parameter in (processing input ``raw_source``), ``raw_data`` out."""

    STEP_TYPE = "DataLoadStep"
    CONFIG_CLASS = DataLoadConfig
    DEFAULT_STEP_NAME = "DataLoad"
    #: ``raw_source`` is no dependency: its value is the pipeline parameter, see :meth:`default_inputs`.
    PORTS = DATA_LOAD_PORTS

    config: DataLoadConfig

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

    def script_arguments(self) -> list[str]:
        return self.config.script_arguments()

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.parameters import ParameterString

        return {
            "raw_source": ParameterString(
                name=self.config.parameter_name, default_value=self.raw_data_default
            )
        }
