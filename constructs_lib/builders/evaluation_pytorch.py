"""``PyTorchEvaluationStepBuilder``: a SageMaker ``ProcessingStep`` in SageMaker's PyTorch image (CPU)
that scores the training step's ``model.tar.gz`` on the held-out split through the inference code the
model carries, and publishes the model-quality report as the step's ``PropertyFile``."""

from __future__ import annotations

from collections.abc import Mapping

from constructs_lib.builders.base import InputValue, Upstream
from constructs_lib.builders.processing import ProcessingStepBuilderBase
from constructs_lib.builders.serving import (
    framework_from,
    model_data_parameter,
    pytorch_image_uri,
    require_packed_handler,
)
from constructs_lib.config.evaluation_pytorch import PyTorchEvaluationConfig
from constructs_lib.errors import ConfigError
from constructs_lib.specs.evaluation_pytorch import PYTORCH_EVALUATION_PORTS

__all__ = ["PyTorchEvaluationStepBuilder"]


class PyTorchEvaluationStepBuilder(ProcessingStepBuilderBase):
    """Builds the evaluation step: ``model_data`` and ``test_data`` in, ``evaluation`` out.

    Given a training step, it checks that the step packs the handler ``inference_entry_point`` into its
    model and takes the PyTorch version and the label column from it unless the config sets them.
    """

    STEP_TYPE = "PyTorchEvaluationStep"
    CONFIG_CLASS = PyTorchEvaluationConfig
    DEFAULT_STEP_NAME = "PyTorchEvaluation"
    PORTS = PYTORCH_EVALUATION_PORTS

    config: PyTorchEvaluationConfig

    @classmethod
    def example_config(cls) -> PyTorchEvaluationConfig:
        """A valid sample config (PyTorch 2.3.0 / py311, label column ``label``)."""
        return PyTorchEvaluationConfig(framework_version="2.3.0", py_version="py311", label_name="label")

    def script_arguments(self) -> list[str]:
        return self.config.script_arguments()

    def for_inputs(self, upstream: Mapping[str, Upstream]) -> PyTorchEvaluationStepBuilder:
        """Refuse a training step that packs no handler or another one; take its PyTorch version and label
        column when the config sets none."""
        require_packed_handler(
            self.step_name,
            upstream,
            entry_point=self.config.inference_entry_point,
            field="inference_entry_point",
        )
        fw, py = framework_from(
            self.step_name, upstream, self.config.framework_version, self.config.py_version, scope="training"
        )
        update: dict[str, object] = {}
        if (fw, py) != (self.config.framework_version, self.config.py_version):
            update.update(framework_version=fw, py_version=py)
        if self.config.label_name is None:
            source = upstream.get("model_data")
            label = source.facts.get("label_name") if source is not None else None
            if not isinstance(label, str):
                raise ConfigError(
                    "no label column: set label_name, or feed model_data from a training step with "
                    "hyperparameters (their label_name is used)",
                    step=self.step_name,
                    field="label_name",
                )
            update["label_name"] = label
        if not update:
            return self
        config = self.config.model_copy(update=update)
        return type(self)(config, step_name=self.step_name, context=self.context)

    def image_uri(self) -> str:
        """SageMaker's PyTorch training image (CPU build) for the config's versions."""
        return pytorch_image_uri(
            self.context.region,
            self.config.framework_version,
            self.config.py_version,
            self.config.processing_instance_type,
            scope="training",
            step=self.step_name,
        )

    def configured_inputs(self) -> dict[str, InputValue]:
        configured: dict[str, InputValue] = {}
        if self.config.model_data:
            configured["model_data"] = self.config.model_data
        if self.config.test_data_path:
            configured["test_data"] = self.config.test_data_path
        return configured

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.parameters import ParameterString

        defaults: dict[str, InputValue] = {}
        if "model_data" not in resolved:
            defaults["model_data"] = model_data_parameter(
                self.step_name, self.config.model_data, self.context
            )
        if "test_data" not in resolved:
            defaults["test_data"] = ParameterString(
                name=f"{self.step_name}TestData",
                default_value=self.config.test_data_path
                or self.context.default_location(self.step_name, "input") + "/",
            )
        return defaults
