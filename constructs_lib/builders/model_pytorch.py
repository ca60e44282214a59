"""``PyTorchModelStepBuilder``: ``PyTorchModel(...).create()`` in a ``ModelStep`` (the seed's model step).

How the inference code reaches the model. SageMaker's PyTorch serving containers load the handler from
``/opt/ml/model/code`` (inside ``model.tar.gz``); they do not download ``SAGEMAKER_SUBMIT_DIRECTORY``. The
training job's ``model.tar.gz`` holds only ``model.pt`` and ``model_meta.json``, so the SDK's ``ModelStep``
adds a *repack* step before ``CreateModel``: a small training job in the scikit-learn image
(``<node>-RepackModel-0``) that copies the code package into ``code/`` of a new ``model.tar.gz``;
``CreateModel`` (``<node>-CreateModel``) then uses that archive. The definition therefore holds two steps
for this node, and the model's ``ModelDataUrl`` is the repack step's ``S3ModelArtifacts`` whose input is
the training step's ``S3ModelArtifacts``.

Offline. The SDK prepares the repack job's code while it builds the definition: it downloads the code
tarball from S3, adds its ``_repack_model.py`` and ``_repack_script_launcher.sh`` and uploads it again. The
builder puts those two files (from the installed SDK, byte for byte) into the step's
:class:`~constructs_lib.builders.base.CodePackage` instead and turns that preparation off for the repack
step it created, so the definition is built without any AWS call. ``model_data`` is always a pipeline
variable (a property of the training step, or a ``<node>ModelData`` parameter), because a plain S3 string
would make the SDK download and repack the model at synth time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib import placeholders
from constructs_lib.access import AccessNeeds
from constructs_lib.builders import settings
from constructs_lib.builders.base import BuiltStep, CodePackage, InputValue, StepBuilderBase, static_uris
from constructs_lib.config.base import SCRIPTS_DIR, StrictModel
from constructs_lib.config.model_pytorch import INFERENCE_SCRIPTS_DIR, PyTorchModelConfig
from constructs_lib.errors import ConfigError
from constructs_lib.specs.model_pytorch import PYTORCH_MODEL_PORTS

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = ["CREATE_MODEL_SUFFIX", "REPACK_MODEL_SUFFIX", "PyTorchModelStepBuilder"]

#: Suffixes the SDK's ``ModelStep`` appends to the node name for its two steps.
REPACK_MODEL_SUFFIX = "-RepackModel-0"
CREATE_MODEL_SUFFIX = "-CreateModel"

#: The reference model module, shipped beside the default ``inference.py`` (it imports ``load_model``
#: and ``predict`` from it; ``train.py`` imports it too, so the model format has one definition).
REFERENCE_MODEL_MODULE = SCRIPTS_DIR / "pytorch_training" / "model.py"


class PyTorchModelStepBuilder(StepBuilderBase):
    """Builds the model step: ``model_data`` in, ``model_name`` out (see the module docstring)."""

    STEP_TYPE = "PyTorchModelStep"
    CONFIG_CLASS = PyTorchModelConfig
    DEFAULT_STEP_NAME = "PyTorchModel"
    PORTS = PYTORCH_MODEL_PORTS

    @classmethod
    def shipped_script(cls) -> Path | None:
        """The shipped ``inference.py``."""
        return INFERENCE_SCRIPTS_DIR / PyTorchModelConfig.SHIPPED_ENTRY_POINT

    config: PyTorchModelConfig

    def __init__(self, config: StrictModel, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        longest = len(self.step_name) + max(len(REPACK_MODEL_SUFFIX), len(CREATE_MODEL_SUFFIX))
        if longest > 64:
            raise ConfigError(
                f"the SDK names this node's steps '<name>{REPACK_MODEL_SUFFIX}' and '<name>{CREATE_MODEL_SUFFIX}', "
                "which must fit SageMaker's 64-character step names",
                step=self.step_name,
                field="step_name",
                value=self.step_name,
                hint=f"use a node name of at most {64 - len(REPACK_MODEL_SUFFIX)} characters",
            )

    @classmethod
    def example_config(cls) -> PyTorchModelConfig:
        """A valid sample config (PyTorch 2.3.0 / py311 on ml.m5.large)."""
        return PyTorchModelConfig(framework_version="2.3.0", py_version="py311")

    # ------------------------------------------------------------------ derived values
    @property
    def code_uri(self) -> str:
        """Placeholder ``s3://`` URI of the packed inference code (the CDK layer substitutes the asset's)."""
        return placeholders.code_uri(self.step_name)

    @property
    def output_path(self) -> str:
        """Where the repack job writes the model archive with code (``config.output_path`` or
        ``<root>/<pipeline>/<node>/model``)."""
        return self.config.output_path or self.context.default_location(self.step_name, "model")

    @property
    def default_model_data(self) -> str:
        """Default of the ``<node>ModelData`` parameter: ``config.model_data`` or
        ``<root>/<pipeline>/<node>/input/model.tar.gz``."""
        return self.config.model_data or self.context.default_location(self.step_name, "input/model.tar.gz")

    def code_packages(self) -> tuple[CodePackage, ...]:
        from constructs_lib.sdk_adapter import repack_helper_files

        extra = repack_helper_files()
        if self.config.uses_shipped_source:
            extra[REFERENCE_MODEL_MODULE.name] = REFERENCE_MODEL_MODULE.read_bytes()
        return (
            CodePackage(
                node=self.step_name,
                placeholder_uri=self.code_uri,
                source_dir=str(self.config.local_source_dir),
                entry_point=self.config.entry_point,
                extra_files=dict(sorted(extra.items())),
            ),
        )

    def configured_inputs(self) -> dict[str, InputValue]:
        return {"model_data": self.config.model_data} if self.config.model_data else {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "model_data" in resolved:
            return {}
        return {"model_data": self._model_data_parameter(self.default_model_data)}

    def _model_data_parameter(self, default: str) -> Any:
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.parameters import ParameterString

        return ParameterString(name=f"{self.step_name}ModelData", default_value=default)

    # ------------------------------------------------------------------ SDK
    def create_model(self, model_data: InputValue) -> Any:
        """The real ``sagemaker.pytorch.model.PyTorchModel`` (offline session)."""
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.pytorch.model import PyTorchModel

        return PyTorchModel(
            model_data=model_data,
            role=self.context.role_arn,
            entry_point=self.config.entry_point,
            source_dir=self.code_uri,
            framework_version=self.config.framework_version,
            py_version=self.config.py_version,
            env=dict(self.config.env),
            code_location=self.context.default_location(self.step_name, "code"),
            sagemaker_session=self.context.session,
            vpc_config=settings.vpc_config(self.context),
            enable_network_isolation=self.config.enable_network_isolation,
        )

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.workflow import is_pipeline_variable
        from sagemaker.workflow._utils import _RepackModelStep
        from sagemaker.workflow.model_step import ModelStep

        from constructs_lib.sdk_adapter import without_repack_upload

        model_data = inputs["model_data"]
        created: tuple[Any, ...] = ()
        if not is_pipeline_variable(model_data):
            model_data = self._model_data_parameter(str(model_data))
            created = (model_data,)
        model = self.create_model(model_data)
        step_args = model.create(
            instance_type=self.config.inference_instance_type, tags=settings.tags(self.context)
        )
        step = ModelStep(
            name=self.step_name,
            step_args=step_args,
            depends_on=[s.name for s in depends_on] or None,
            repack_model_step_settings={"output_path": self.output_path},
            retry_policies=settings.retry_policies(self.config, jobs=False) or None,
        )
        without_repack_upload(step)
        repack_images = [
            inner.estimator.training_image_uri()
            for inner in step.steps
            if isinstance(inner, _RepackModelStep)
        ]
        reads, parameters = static_uris([model_data])
        access = AccessNeeds(
            # the SDK's repack training job, then CreateModel
            creates=("training-job", "model"),
            prefix_reads=reads,
            object_reads=(self.code_uri,),
            writes=(self.output_path,),
            images=(
                *repack_images,
                model.serving_image_uri(self.context.region, self.config.inference_instance_type),
            ),
            log_groups=("/aws/sagemaker/TrainingJobs",),
            codeartifact=self.codeartifact_repositories(),
            parameters=parameters,
        ) | settings.infrastructure_access(self.context, outputs=False, volumes=False)
        return BuiltStep(step=step, access=access, parameters=created)
