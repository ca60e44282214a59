"""``TabularPreprocessingStepBuilder``: a SageMaker ``ProcessingStep`` in the scikit-learn image that splits a
raw table into ``train/``, ``val/`` and ``test/``."""

from __future__ import annotations

from collections.abc import Mapping

from constructs_lib.builders.base import InputValue
from constructs_lib.builders.processing import ProcessingStepBuilderBase
from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig
from constructs_lib.specs.preprocessing_tabular import TABULAR_PREPROCESSING_PORTS

__all__ = ["TabularPreprocessingStepBuilder"]


class TabularPreprocessingStepBuilder(ProcessingStepBuilderBase):
    """Builds the tabular preprocessing step: ``raw_data`` in, ``processed_data`` (train/val/test) out."""

    STEP_TYPE = "TabularPreprocessingStep"
    CONFIG_CLASS = TabularPreprocessingConfig
    DEFAULT_STEP_NAME = "TabularPreprocessing"
    PORTS = TABULAR_PREPROCESSING_PORTS

    config: TabularPreprocessingConfig

    @classmethod
    def example_config(cls) -> TabularPreprocessingConfig:
        """A valid sample config (the defaults, stratified on a ``label`` column)."""
        return TabularPreprocessingConfig(label_name="label")

    def script_arguments(self) -> list[str]:
        return self.config.script_arguments()

    def configured_inputs(self) -> dict[str, InputValue]:
        return {"raw_data": self.config.raw_data_path} if self.config.raw_data_path else {}

    def default_raw_data_uri(self) -> str:
        """Default of the ``<node>RawData`` parameter: ``<artifact root>/<pipeline>/<node>/input/``."""
        return self.context.default_location(self.step_name, "input") + "/"

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "raw_data" in resolved:
            return {}
        if self.config.raw_data_path is not None:
            return {"raw_data": self.config.raw_data_path}
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.parameters import ParameterString

        return {
            "raw_data": ParameterString(
                name=f"{self.step_name}RawData", default_value=self.default_raw_data_uri()
            )
        }
