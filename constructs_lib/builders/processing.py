"""``ProcessingStepBuilderBase``: what every SageMaker Processing step of the library shares — how it
receives its code, where its outputs go, its image, and its access needs.

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib import limits, placeholders
from constructs_lib.access import AccessNeeds
from constructs_lib.builders import settings
from constructs_lib.builders.base import (
    BuiltStep,
    CodePackage,
    FactValue,
    InputValue,
    StepBuilderBase,
    static_uris,
)
from constructs_lib.config.base import SCRIPTS_DIR
from constructs_lib.config.processing import ProcessingJobConfig
from constructs_lib.errors import ConfigError
from constructs_lib.ports import CODE_CHANNEL, PROCESSING_BASE_ENV, PROCESSING_CODE_DIR

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = ["ProcessingStepBuilderBase", "bootstrap_entrypoint"]


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


class ProcessingStepBuilderBase(StepBuilderBase):
    """Shared by the library's processing builders: code package, bootstrap, inputs, outputs, image.

    Subclasses declare ``PORTS`` (each input's processing input name and container path, each output's
    container path) and implement :meth:`script_arguments`; an input that is no dependency gets its value
    (a pipeline parameter) from :meth:`default_inputs`.
    """

    config: ProcessingJobConfig

    #: SageMaker's CloudWatch log group (and metric namespace) of processing jobs.
    LOG_GROUP = "/aws/sagemaker/ProcessingJobs"

    @classmethod
    def shipped_script(cls) -> Path | None:
        config_cls = cls.CONFIG_CLASS
        source = getattr(config_cls, "SHIPPED_SOURCE", "")
        entry = getattr(config_cls, "SHIPPED_ENTRY_POINT", "")
        return SCRIPTS_DIR / source / entry if source and entry else None

    # ------------------------------------------------------------------ derived values
    @property
    def code_uri(self) -> str:
        """Where the packed code is: the config's ``s3://…tar.gz`` or a placeholder for the CDK asset."""
        if self.config.is_local_source or self.config.source_dir is None:
            return placeholders.code_uri(self.step_name)
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

    def output_facts(self) -> dict[str, dict[str, FactValue]]:
        """Besides the property files of the base class: each output's S3 ``location`` (the prefix below
        which every execution writes ``<execution id>/<output name>``)."""
        facts = super().output_facts()
        for port in self.PORTS.outputs:
            facts.setdefault(port.name, {})["location"] = self.output_prefix
        return facts

    def property_files(self) -> list[Any]:
        """The SDK ``PropertyFile`` of every output port that declares one (what a condition reads with
        ``JsonGet``)."""
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.properties import PropertyFile

        return [
            PropertyFile(name=port.property_file.name, output_name=port.name, path=port.property_file.path)
            for port in sorted(self.PORTS.outputs, key=lambda p: p.name)
            if port.property_file is not None
        ]

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def script_arguments(self) -> list[str]:
        """The job's ``ContainerArguments``."""

    # ------------------------------------------------------------------ SDK
    def image_uri(self) -> str:
        """SageMaker's scikit-learn image for the config's version and instance type (looked up offline)."""
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker import image_uris

        uri: str = image_uris.retrieve(
            "sklearn",
            self.context.region,
            version=self.config.framework_version,
            instance_type=self.config.processing_instance_type,
        )
        return uri

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import Join
        from sagemaker.workflow.steps import ProcessingStep

        processing_inputs = [
            ProcessingInput(source=self.code_uri, destination=PROCESSING_CODE_DIR, input_name=CODE_CHANNEL),
            *(
                ProcessingInput(
                    source=inputs[port.name], destination=port.container_path, input_name=port.channel
                )
                for port in sorted(self.PORTS.inputs, key=lambda p: p.name)
            ),
        ]
        processing_outputs = [
            ProcessingOutput(
                output_name=port.name,
                source=port.container_path,
                destination=Join(
                    on="/", values=[self.output_prefix, ExecutionVariables.PIPELINE_EXECUTION_ID, port.name]
                ),
            )
            for port in sorted(self.PORTS.outputs, key=lambda p: p.name)
        ]
        image = self.image_uri()
        instances = settings.instance_choice(
            self.step_name,
            instance_type=self.config.processing_instance_type,
            type_choices=self.config.processing_instance_type_choices,
            count=self.config.processing_instance_count,
            count_choices=self.config.processing_instance_count_choices,
        )
        infra = self.context.infrastructure
        processor = Processor(
            role=self.context.role_arn,
            image_uri=image,
            instance_count=instances.instance_count,
            instance_type=instances.instance_type,
            entrypoint=self.entrypoint(),
            volume_size_in_gb=self.config.processing_volume_size,
            volume_kms_key=infra.volume_kms_key,
            output_kms_key=infra.output_kms_key,
            max_runtime_in_seconds=self.config.max_runtime_seconds,
            env=dict(self.config.env) or None,
            tags=settings.tags(self.context),
            network_config=settings.processing_network_config(self.context, self.config),
            sagemaker_session=self.context.session,
        )
        step_args = processor.run(
            inputs=processing_inputs, outputs=processing_outputs, arguments=self.script_arguments()
        )
        step = ProcessingStep(
            name=self.step_name,
            step_args=step_args,
            depends_on=[s.name for s in depends_on] or None,
            retry_policies=settings.retry_policies(self.config) or None,
            cache_config=settings.cache_config(self.config),
            property_files=self.property_files() or None,
        )
        reads, parameters = static_uris([inputs[port.name] for port in self.PORTS.inputs])
        access = AccessNeeds(
            creates=("processing-job",),
            # every processing input, the code included, is an S3Prefix input: listed, then fetched
            prefix_reads=(self.code_uri, *reads),
            writes=(self.output_prefix,),
            images=(image,),
            log_groups=(self.LOG_GROUP,),
            codeartifact=self.codeartifact_repositories(),
            parameters=parameters,
        ) | settings.infrastructure_access(self.context)
        return BuiltStep(step=step, access=access, parameters=instances.parameters)
