"""``TabularPreprocessingStepBuilder``: a SageMaker ``ProcessingStep`` in the scikit-learn image.

Also home of :class:`ProcessingStepBuilderBase`, shared with the data-load builder: how the library's
processing steps receive their code and where their outputs go.

**Code.** The script's directory is packed like training code (a deterministic ``sourcedir.tar.gz``, a
:class:`~constructs_lib.builders.base.CodePackage` the CDK layer uploads as a file asset and whose
placeholder URI it substitutes) and delivered on the processing input ``code``
(``/opt/ml/processing/input/code``). The container's entry point is a short ``/bin/sh`` bootstrap that
unpacks whatever archive arrived there and ``exec``\\ s ``python3 <entry point>`` with the step's arguments.
So the step works whatever object key the asset gets (CDK names file assets by content hash, which would
break the SDK's usual ``python3 /opt/ml/processing/input/code/<script name>`` entry point), and a script
may import helper modules packed beside it.

**Outputs.** Each output goes to ``<prefix>/<execution id>/<output name>`` (``prefix`` =
``config.output_path`` or ``<artifact root>/<pipeline>/<node>``), so runs never overwrite each other.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from constructs_lib import limits, placeholders
from constructs_lib.builders.base import CodePackage, InputValue, S3Access, StepBuilderBase
from constructs_lib.config.preprocessing_tabular import ProcessingJobConfig, TabularPreprocessingConfig
from constructs_lib.contracts.base import ScriptContract
from constructs_lib.contracts.data_load import PROCESSING_BASE_ENV, PROCESSING_CODE_DIR
from constructs_lib.contracts.preprocessing_tabular import TABULAR_PREPROCESSING_CONTRACT
from constructs_lib.errors import ConfigError
from constructs_lib.specs.base import StepSpecification
from constructs_lib.specs.preprocessing_tabular import tabular_preprocessing_spec

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = [
    "CODE_INPUT_NAME",
    "ProcessingStepBuilderBase",
    "TabularPreprocessingStepBuilder",
    "bootstrap_entrypoint",
]

#: Name of the processing input that carries the packed code.
CODE_INPUT_NAME = "code"


def bootstrap_entrypoint(entry_point: str) -> list[str]:
    """The ``ContainerEntrypoint`` of a library processing job: unpack the code archive(s) delivered on
    ``/opt/ml/processing/input/code`` into a fresh directory and ``exec python3 <entry_point>`` with the
    job's ``ContainerArguments``. ``$SM_PROCESSING_BASE`` relocates ``/opt/ml/processing`` (tests)."""
    code_dir = PROCESSING_CODE_DIR.removeprefix("/opt/ml/processing")
    script = (
        f'set -e; base="${{{PROCESSING_BASE_ENV}:-/opt/ml/processing}}"; code="$(mktemp -d)"; '
        f'for f in "$base"{code_dir}/*; do tar -xzf "$f" -C "$code"; done; '
        f'exec python3 "$code/{entry_point}" "$@"'
    )
    # "$0" of the script; the job's ContainerArguments follow and become "$@".
    return ["/bin/sh", "-c", script, "constructs-lib-processing"]


def _static_uris(values: Iterable[InputValue]) -> tuple[str, ...]:
    """Plain URIs and pipeline parameters' default values among ``values`` (sorted, unique)."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(getattr(value, "default_value", None), str):
            found.add(value.default_value)
    return tuple(sorted(found))


class ProcessingStepBuilderBase(StepBuilderBase):
    """Shared by the library's processing builders: code package, bootstrap, inputs, outputs, image.

    Subclasses declare ``CHANNELS`` (logical input name -> processing input name; every contract input)
    and implement :meth:`script_arguments` and :meth:`channel_values`.
    """

    config: ProcessingJobConfig

    # ------------------------------------------------------------------ derived values
    @property
    def code_uri(self) -> str:
        """Where the packed code is: the config's ``s3://…tar.gz`` or a placeholder for the CDK asset."""
        if self.config.is_local_source:
            return placeholders.code_uri(self.step_name)
        assert self.config.source_dir is not None
        return self.config.source_dir

    @property
    def output_prefix(self) -> str:
        """``config.output_path`` or ``<artifact root>/<pipeline>/<node>`` (no trailing slash)."""
        if self.config.output_path is not None:
            return self.config.output_path
        return f"{self.context.artifact_root}/{self.context.pipeline_name}/{self.step_name}"

    def entrypoint(self) -> list[str]:
        """The job's ``ContainerEntrypoint`` (see :func:`bootstrap_entrypoint`), checked against botocore."""
        entrypoint = bootstrap_entrypoint(self.config.processing_entry_point)
        item_max = limits.shape("ContainerEntrypointString").max or 256
        too_long = [e for e in entrypoint if len(e) > item_max]
        if too_long:
            raise ConfigError(
                f"the job's entry point command is longer than {item_max} characters",
                step=self.step_name,
                field="processing_entry_point",
                value=self.config.processing_entry_point,
                hint="use a shorter script path",
            )
        return entrypoint

    def code_packages(self) -> tuple[CodePackage, ...]:
        local = self.config.local_source_dir
        if local is None:
            return ()
        return (
            CodePackage(
                node=self.step_name,
                placeholder_uri=self.code_uri,
                source_dir=str(local),
                entry_point=self.config.processing_entry_point,
            ),
        )

    def s3_access(self) -> S3Access:
        """Reads: the code and the inputs known at synth time (plain URIs and the default values of the
        pipeline parameters the step made; outputs of other steps are theirs to declare). Writes: the
        output prefix."""
        inputs = getattr(self, "_static_input_uris", None)
        if inputs is None:  # not built yet: what the config alone says
            inputs = self.static_input_uris()
        return S3Access(reads=(self.code_uri, *inputs), writes=(self.output_prefix,))

    def static_input_uris(self) -> tuple[str, ...]:
        """S3 URIs the job reads that the config alone determines (before the step is built)."""
        return ()

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def script_arguments(self) -> list[str]:
        """The job's ``ContainerArguments``."""

    def channel_values(self, inputs: Mapping[str, InputValue]) -> dict[str, InputValue]:
        """Logical input name -> S3 URI or pipeline variable, for every key of ``CHANNELS``. Default: the
        resolved dependencies."""
        return dict(inputs)

    # ------------------------------------------------------------------ SDK
    def image_uri(self) -> str:
        """SageMaker's scikit-learn image for the config's version and instance type (looked up offline)."""
        from constructs_lib.sdk_adapter import import_sagemaker

        import_sagemaker()
        from sagemaker import image_uris

        uri: str = image_uris.retrieve(
            "sklearn",
            self.context.region,
            version=self.config.framework_version,
            instance_type=self.config.processing_instance_type,
        )
        return uri

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> Step:
        from constructs_lib.sdk_adapter import import_sagemaker

        import_sagemaker()
        from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import Join
        from sagemaker.workflow.steps import ProcessingStep

        contract = self.contract()
        values = self.channel_values(inputs)
        self._static_input_uris = _static_uris(values.values())
        processing_inputs = [
            ProcessingInput(
                source=self.code_uri, destination=PROCESSING_CODE_DIR, input_name=CODE_INPUT_NAME
            ),
            *(
                ProcessingInput(
                    source=values[name],
                    destination=contract.expected_input_paths[name],
                    input_name=channel,
                )
                for name, channel in sorted(self.CHANNELS.items())
            ),
        ]
        processing_outputs = [
            ProcessingOutput(
                output_name=name,
                source=path,
                destination=Join(
                    on="/", values=[self.output_prefix, ExecutionVariables.PIPELINE_EXECUTION_ID, name]
                ),
            )
            for name, path in sorted(contract.expected_output_paths.items())
        ]
        processor = Processor(
            role=self.context.role_arn,
            image_uri=self.image_uri(),
            instance_count=self.config.processing_instance_count,
            instance_type=self.config.processing_instance_type,
            entrypoint=self.entrypoint(),
            volume_size_in_gb=self.config.processing_volume_size,
            max_runtime_in_seconds=self.config.max_runtime_seconds,
            env=dict(self.config.env) or None,
            sagemaker_session=self.context.session,
        )
        step_args = processor.run(
            inputs=processing_inputs, outputs=processing_outputs, arguments=self.script_arguments()
        )
        return ProcessingStep(
            name=self.step_name,
            step_args=step_args,
            depends_on=[s.name for s in depends_on] or None,
        )


class TabularPreprocessingStepBuilder(ProcessingStepBuilderBase):
    """Builds the tabular preprocessing step: ``raw_data`` in, ``processed_data`` (train/val/test) out."""

    STEP_TYPE = "TabularPreprocessingStep"
    CONFIG_CLASS = TabularPreprocessingConfig
    DEFAULT_STEP_NAME = "TabularPreprocessing"
    CHANNELS = {"raw_data": "raw_data"}

    config: TabularPreprocessingConfig

    @classmethod
    def specification(cls) -> StepSpecification:
        return tabular_preprocessing_spec()

    @classmethod
    def contract(cls) -> ScriptContract:
        return TABULAR_PREPROCESSING_CONTRACT

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

    def static_input_uris(self) -> tuple[str, ...]:
        return (self.config.raw_data_path or self.default_raw_data_uri(),)

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "raw_data" in resolved:
            return {}
        if self.config.raw_data_path is not None:
            return {"raw_data": self.config.raw_data_path}
        from constructs_lib.sdk_adapter import import_sagemaker

        import_sagemaker()
        from sagemaker.workflow.parameters import ParameterString

        param = ParameterString(name=f"{self.step_name}RawData", default_value=self.default_raw_data_uri())
        self.parameters: tuple[Any, ...] = (param,)
        return {"raw_data": param}
