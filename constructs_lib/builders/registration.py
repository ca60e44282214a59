"""``ModelRegistrationStepBuilder``: ``sagemaker.model.Model(...).register(...)`` in a ``ModelStep``: one
``CreateModelPackage`` (``<node>-RegisterModel``) into a model package group, no repack job.

The package's container is SageMaker's PyTorch inference image with the training step's
``model.tar.gz`` as it is (``SAGEMAKER_PROGRAM`` = the handler the training step packed into ``code/``,
checked in :meth:`ModelRegistrationStepBuilder.for_inputs`). The approval status is a pipeline parameter
whose allowed values are SageMaker's three statuses; the evaluation report, when an evaluation step feeds
``evaluation``, becomes ``ModelMetrics.ModelQuality.Statistics``. Its access needs: the pipeline role
creates model packages in exactly this group (``model-package`` + ``model_package_groups``) and reads the
model data (SageMaker validates it when it creates the package).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
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
from constructs_lib.config.registration import APPROVAL_STATUSES, ModelRegistrationConfig
from constructs_lib.errors import ConfigError
from constructs_lib.specs.registration import MODEL_REGISTRATION_PORTS

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = ["REGISTER_MODEL_SUFFIX", "ModelRegistrationStepBuilder"]

#: Suffix the SDK's ``ModelStep`` appends to the node name for its ``RegisterModel`` step.
REGISTER_MODEL_SUFFIX = "-RegisterModel"


class ModelRegistrationStepBuilder(StepBuilderBase):
    """Builds the registration step: ``model_data`` (+ ``evaluation``) in, ``model_package_arn`` out."""

    STEP_TYPE = "ModelRegistrationStep"
    CONFIG_CLASS = ModelRegistrationConfig
    DEFAULT_STEP_NAME = "ModelRegistration"
    PORTS = MODEL_REGISTRATION_PORTS

    config: ModelRegistrationConfig

    def __init__(self, config: StrictModel, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        if len(self.step_name) + len(REGISTER_MODEL_SUFFIX) > 64:
            raise ConfigError(
                f"the SDK names this node's step '<name>{REGISTER_MODEL_SUFFIX}', which must fit SageMaker's "
                "64-character step names",
                step=self.step_name,
                field="step_name",
                value=self.step_name,
                hint=f"use a node name of at most {64 - len(REGISTER_MODEL_SUFFIX)} characters",
            )
        self._sources: Mapping[str, Upstream] = {}

    @classmethod
    def example_config(cls) -> ModelRegistrationConfig:
        """A valid sample config (PyTorch 2.3.0 / py311, CPU hosting)."""
        return ModelRegistrationConfig(framework_version="2.3.0", py_version="py311")

    # ------------------------------------------------------------------ derived values
    @property
    def model_package_group(self) -> str:
        """The group registered into: an existing group's ARN, or the name of the group the construct
        creates (configured, or derived from the pipeline name)."""
        return self.config.group(self.context.pipeline_name)

    def configured_inputs(self) -> dict[str, InputValue]:
        return {"model_data": self.config.model_data} if self.config.model_data else {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "model_data" in resolved:
            return {}
        return {"model_data": model_data_parameter(self.step_name, self.config.model_data, self.context)}

    def for_inputs(self, upstream: Mapping[str, Upstream]) -> ModelRegistrationStepBuilder:
        """Refuse a training step that packs no handler or another one; take its PyTorch version when the
        config sets none; remember where the model data and the report are."""
        require_packed_handler(
            self.step_name,
            upstream,
            entry_point=self.config.inference_entry_point,
            field="inference_entry_point",
        )
        fw, py = framework_from(
            self.step_name, upstream, self.config.framework_version, self.config.py_version, scope="inference"
        )
        if (fw, py) != (self.config.framework_version, self.config.py_version):
            config = self.config.model_copy(update={"framework_version": fw, "py_version": py})
            builder = type(self)(config, step_name=self.step_name, context=self.context)
        else:
            builder = copy.copy(self)  # for_inputs never changes self
        builder._sources = dict(upstream)
        return builder

    # ------------------------------------------------------------------ SDK
    def image_uri(self) -> str:
        """SageMaker's PyTorch inference image for the config's versions and first inference instance."""
        return pytorch_image_uri(
            self.context.region,
            self.config.framework_version,
            self.config.py_version,
            self.config.image_instance_type,
            scope="inference",
            step=self.step_name,
        )

    def _metrics(self, evaluation: InputValue | None) -> Any:
        if evaluation is None:
            return None
        from sagemaker.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.workflow.functions import Join

        source = self._sources.get("evaluation")
        path = source.facts.get("property_file_path") if source is not None else None
        report = path if isinstance(path, str) else "evaluation.json"
        return ModelMetrics(
            model_statistics=MetricsSource(
                content_type="application/json", s3_uri=Join(on="/", values=[evaluation, report])
            )
        )

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.model import Model
        from sagemaker.workflow.model_step import ModelStep
        from sagemaker.workflow.parameters import ParameterString

        model_data = inputs["model_data"]
        image = self.image_uri()
        model = Model(
            image_uri=image,
            model_data=model_data,
            role=self.context.role_arn,
            env=handler_environment(self.config.inference_entry_point, self.context.region, self.config.env),
            sagemaker_session=self.context.session,
        )
        approval = ParameterString(
            name=self.config.approval_parameter_name,
            default_value=self.config.approval_status,
            enum_values=list(APPROVAL_STATUSES),
        )
        step_args = model.register(
            content_types=list(self.config.content_types),
            response_types=list(self.config.response_types),
            inference_instances=list(self.config.inference_instances),
            transform_instances=list(self.config.transform_instances),
            model_package_group_name=self.model_package_group,
            approval_status=approval,
            model_metrics=self._metrics(inputs.get("evaluation")),
            description=self.config.description,
            framework="PYTORCH",
            framework_version=self.config.framework_version,
        )
        step = ModelStep(
            name=self.step_name,
            step_args=step_args,
            depends_on=[s.name for s in depends_on] or None,
            retry_policies=settings.retry_policies(self.config, jobs=False) or None,
        )
        reads, _ = static_uris([model_data])
        source = self._sources.get("model_data")
        location = source.facts.get("location") if source is not None else None
        access = AccessNeeds(
            creates=("model-package",),
            model_package_groups=(self.model_package_group,),
            # SageMaker checks the model data when it creates the package, as the pipeline role
            pipeline_reads=(*reads, *([location] if isinstance(location, str) else [])),
        )
        return BuiltStep(step=step, access=access, parameters=(approval,))
