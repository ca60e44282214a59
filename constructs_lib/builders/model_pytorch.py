"""``PyTorchModelStepBuilder``: a plain ``sagemaker.model.Model(...).create()`` in a ``ModelStep`` (the seed's
model step), serving the training step's ``model.tar.gz`` as it is.

How the inference code reaches the model. SageMaker's PyTorch serving containers load the handler from
``/opt/ml/model/code`` (inside ``model.tar.gz``); they do not download ``SAGEMAKER_SUBMIT_DIRECTORY``. The
training step packs the handler into its own ``model.tar.gz`` (see :mod:`constructs_lib.inference_code`), so
this step is one ``CreateModel`` (``<node>-CreateModel``) whose ``ModelDataUrl`` is the training step's
``S3ModelArtifacts``, with ``SAGEMAKER_PROGRAM`` = the handler and ``SAGEMAKER_SUBMIT_DIRECTORY`` =
``/opt/ml/model/code`` (what the SDK sets for a repacked model). No repack job runs: a
``sagemaker.pytorch.PyTorchModel`` with an ``entry_point`` would make the SDK add one (an extra training job
on every execution). A training step that packs no handler, or another one than ``entry_point``, is refused
when the pipeline is built (:meth:`PyTorchModelStepBuilder.for_inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib.access import AccessNeeds
from constructs_lib.builders import settings
from constructs_lib.builders.base import BuiltStep, InputValue, StepBuilderBase, Upstream, static_uris
from constructs_lib.builders.serving import (
    framework_from,
    handler_environment,
    model_data_parameter,
    pytorch_image_uri,
    require_packed_handler,
)
from constructs_lib.config.base import StrictModel
from constructs_lib.config.model_pytorch import INFERENCE_SCRIPTS_DIR, PyTorchModelConfig
from constructs_lib.errors import ConfigError
from constructs_lib.specs.model_pytorch import PYTORCH_MODEL_PORTS

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = ["CREATE_MODEL_SUFFIX", "PyTorchModelStepBuilder"]

#: Suffix the SDK's ``ModelStep`` appends to the node name for its ``CreateModel`` step.
CREATE_MODEL_SUFFIX = "-CreateModel"


class PyTorchModelStepBuilder(StepBuilderBase):
    """Builds the model step: ``model_data`` in, ``model_name`` out (see the module docstring)."""

    STEP_TYPE = "PyTorchModelStep"
    CONFIG_CLASS = PyTorchModelConfig
    DEFAULT_STEP_NAME = "PyTorchModel"
    PORTS = PYTORCH_MODEL_PORTS

    @classmethod
    def shipped_script(cls) -> Path | None:
        """The reference ``inference.py`` (what the reference training code packs)."""
        return INFERENCE_SCRIPTS_DIR / PyTorchModelConfig.SHIPPED_ENTRY_POINT

    config: PyTorchModelConfig

    def __init__(self, config: StrictModel, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        if len(self.step_name) + len(CREATE_MODEL_SUFFIX) > 64:
            raise ConfigError(
                f"the SDK names this node's step '<name>{CREATE_MODEL_SUFFIX}', which must fit SageMaker's "
                "64-character step names",
                step=self.step_name,
                field="step_name",
                value=self.step_name,
                hint=f"use a node name of at most {64 - len(CREATE_MODEL_SUFFIX)} characters",
            )

    @classmethod
    def example_config(cls) -> PyTorchModelConfig:
        """A valid sample config (PyTorch 2.3.0 / py311 on ml.m5.large)."""
        return PyTorchModelConfig(framework_version="2.3.0", py_version="py311")

    # ------------------------------------------------------------------ derived values
    def configured_inputs(self) -> dict[str, InputValue]:
        return {"model_data": self.config.model_data} if self.config.model_data else {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "model_data" in resolved:
            return {}
        return {"model_data": model_data_parameter(self.step_name, self.config.model_data, self.context)}

    def for_inputs(self, upstream: Mapping[str, Upstream]) -> PyTorchModelStepBuilder:
        """Refuse a training step that packs no handler or another one; take its PyTorch version when the
        config sets none."""
        require_packed_handler(self.step_name, upstream, entry_point=self.config.entry_point)
        fw, py = framework_from(
            self.step_name, upstream, self.config.framework_version, self.config.py_version, scope="inference"
        )
        if (fw, py) == (self.config.framework_version, self.config.py_version):
            return self
        config = self.config.model_copy(update={"framework_version": fw, "py_version": py})
        return type(self)(config, step_name=self.step_name, context=self.context)

    # ------------------------------------------------------------------ SDK
    def image_uri(self) -> str:
        """SageMaker's PyTorch inference image for the config's versions and instance type."""
        return pytorch_image_uri(
            self.context.region,
            self.config.framework_version,
            self.config.py_version,
            self.config.inference_instance_type,
            scope="inference",
            step=self.step_name,
        )

    def create_model(self, model_data: InputValue) -> Any:
        """The real ``sagemaker.model.Model`` (no entry point: the SDK adds no repack step)."""
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.model import Model

        return Model(
            image_uri=self.image_uri(),
            model_data=model_data,
            role=self.context.role_arn,
            env=handler_environment(self.config.entry_point, self.context.region, self.config.env),
            sagemaker_session=self.context.session,
            vpc_config=settings.vpc_config(self.context),
            enable_network_isolation=self.config.enable_network_isolation,
        )

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.workflow.model_step import ModelStep

        model_data = inputs["model_data"]
        model = self.create_model(model_data)
        step = ModelStep(
            name=self.step_name,
            step_args=model.create(
                instance_type=self.config.inference_instance_type, tags=settings.tags(self.context)
            ),
            depends_on=[s.name for s in depends_on] or None,
            retry_policies=settings.retry_policies(self.config, jobs=False) or None,
        )
        reads, parameters = static_uris([model_data])
        access = AccessNeeds(
            creates=("model",),
            # the model's role reads ModelDataUrl (one object) whenever the model is deployed or used
            object_reads=reads,
            images=(model.image_uri,),
            parameters=parameters,
        ) | settings.infrastructure_access(self.context, outputs=False, volumes=False)
        return BuiltStep(step=step, access=access)
