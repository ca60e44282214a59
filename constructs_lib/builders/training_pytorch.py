"""``PyTorchTrainingStepBuilder``: a real ``sagemaker.pytorch.PyTorch`` estimator in a ``TrainingStep``."""

from __future__ import annotations

import json
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
from constructs_lib.builders.serving import pytorch_image_uri
from constructs_lib.builders.settings import BuildWarning, InstanceChoice
from constructs_lib.config.base import SCRIPTS_DIR
from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE
from constructs_lib.config.training_pytorch import (
    CHECKPOINT_DIR_ENV,
    MAX_RUNTIME_SECONDS,
    PyTorchTrainingConfig,
)
from constructs_lib.errors import ConfigError, SynthError
from constructs_lib.metrics import metric_definitions
from constructs_lib.specs.training_pytorch import PYTORCH_TRAINING_PORTS

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

    from constructs_lib.packaging import ExtraDir

__all__ = ["CHECKPOINT_DIR_ENV", "SPOT_WITHOUT_CHECKPOINTS_WARNING_ID", "PyTorchTrainingStepBuilder"]

#: Id of the warning for managed spot training without checkpoints.
SPOT_WITHOUT_CHECKPOINTS_WARNING_ID = "constructs_lib:spot-without-checkpoints"

#: SageMaker's own entries the SDK adds to ``HyperParameters`` (program, submit dir, region, log level,
#: instance type, distribution flag): counted against botocore's 100-entry limit.
_SDK_HYPERPARAMETER_RESERVE = 8


class PyTorchTrainingStepBuilder(StepBuilderBase):
    """Builds the PyTorch training step of the seed.

    The step carries entry point, source dir, framework/py versions, instance type and count, volume size,
    ``Environment`` = ``config.env``, the hyperparameters, the four metric definitions, one ``data`` input
    channel (the ``input_path`` dependency) and an explicit ``output_path`` for the model artifacts.
    """

    STEP_TYPE = "PyTorchTrainingStep"
    CONFIG_CLASS = PyTorchTrainingConfig
    DEFAULT_STEP_NAME = "PyTorchTraining"
    PORTS = PYTORCH_TRAINING_PORTS

    config: PyTorchTrainingConfig

    #: SageMaker's CloudWatch log group (and metric namespace) of training jobs.
    LOG_GROUP = "/aws/sagemaker/TrainingJobs"

    @classmethod
    def shipped_script(cls) -> Path | None:
        """The reference ``train.py``."""
        return SCRIPTS_DIR / "pytorch_training" / "train.py"

    # ------------------------------------------------------------------ derived values
    @property
    def code_uri(self) -> str:
        """Where the packed code is: the config's ``s3://…tar.gz`` or a placeholder for the CDK asset."""
        if self.config.is_local_source:
            return placeholders.code_uri(self.step_name)
        return self.config.source_dir

    @property
    def output_path(self) -> str:
        """S3 prefix of the model artifacts (``config.output_path`` or ``<root>/<pipeline>/<step>/model``)."""
        return self.config.output_path or self.context.default_location(self.step_name, "model")

    def hyperparameters_split(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``(inline, file_payload)`` of every field of the config's hyperparameters class (a user's
        subclass of ``ModelHyperparameters`` sends its own fields, and only what its class declares).

        The values that fit SageMaker's 2,500-character limit go inline; when one does not fit, the
        complete set also ships as ``constructs_lib_hyperparameters.json`` beside local code
        (``file_payload``; ``None`` when everything fits, so the code package does not change with the
        hyperparameters).

        Raises :class:`ConfigError` when a value does not fit and the code is an ``s3://`` tarball (no file
        can be shipped beside it): nothing is ever truncated.
        """
        payload = self.config.hyperparameter_payload()
        if not payload:
            return {}, None
        value_limit = limits.shape("HyperParameterValue").max or 2500
        key_limit = limits.shape("HyperParameterKey").max or 256
        inline: dict[str, Any] = {}
        too_long: dict[str, int] = {}
        for key, value in payload.items():
            if len(key) > key_limit:
                raise ConfigError(
                    f"hyperparameter name longer than {key_limit} characters",
                    step=self.step_name,
                    field="hyperparameters",
                    value=key,
                )
            encoded = json.dumps(value)
            if len(encoded) > value_limit:
                too_long[key] = len(encoded)
            else:
                inline[key] = value
        if too_long and not self.config.is_local_source:
            name, size = next(iter(sorted(too_long.items())))
            raise ConfigError(
                f"hyperparameter {name!r} is {size} characters once encoded; SageMaker allows {value_limit}",
                step=self.step_name,
                field=f"hyperparameters.{name}",
                value=f"<{size} characters>",
                has_value=False,
                hint=(
                    "use a local source_dir: the builder then ships the full hyperparameters as "
                    f"{HYPERPARAMETERS_FILE} beside the code"
                ),
            )
        map_limit = limits.shape("HyperParameters").max or 100
        if len(inline) + _SDK_HYPERPARAMETER_RESERVE > map_limit:
            raise ConfigError(
                f"too many hyperparameters: {len(inline)} plus SageMaker's own exceed {map_limit}",
                step=self.step_name,
                field="hyperparameters",
            )
        # The file ships only when a value does not fit inline: otherwise every hyperparameter change would
        # change the code package too.
        file_payload = payload if too_long and self.config.is_local_source else None
        return inline, file_payload

    def hyperparameters_file_payload(self) -> dict[str, Any] | None:
        """The full hyperparameters shipped as a JSON file beside local code (``None`` for s3 code)."""
        return self.hyperparameters_split()[1]

    # ------------------------------------------------------------------ inference code (model.tar.gz)
    def inference_files(self) -> dict[str, bytes]:
        """Files the code tarball carries so that ``model.tar.gz`` holds its inference code (see
        :mod:`constructs_lib.inference_code`): the launcher at the root and, for the reference inference
        code, its two files under ``constructs_lib_inference/``; ``{}`` when the step packs none.
        ``inference_source_dir`` is packed under that directory by :meth:`inference_dirs` instead."""
        from constructs_lib.inference_code import (
            INFERENCE_CODE_DIR,
            LAUNCHER_FILE,
            LAUNCHER_PATH,
            REFERENCE_INFERENCE_FILES,
        )

        kind = self.config.inference_code
        if kind is None:
            return {}
        files = {LAUNCHER_FILE: LAUNCHER_PATH.read_bytes()}
        if kind == "reference":
            files.update(
                {f"{INFERENCE_CODE_DIR}/{p.name}": p.read_bytes() for p in REFERENCE_INFERENCE_FILES}
            )
        return files

    def inference_dirs(self) -> dict[str, ExtraDir]:
        """``inference_source_dir`` as the code tarball's ``constructs_lib_inference/`` (read when packed;
        its handler ``inference_entry_point`` must be there)."""
        from constructs_lib.inference_code import INFERENCE_CODE_DIR
        from constructs_lib.packaging import ExtraDir

        if self.config.inference_source_dir is None:
            return {}
        return {
            INFERENCE_CODE_DIR: ExtraDir(
                path=self.config.inference_source_dir,
                field="inference_source_dir",
                required=self.config.inference_entry_point,
            )
        }

    def inference_entry_point(self) -> str | None:
        """The handler ``model.tar.gz`` carries in ``code/`` (``SAGEMAKER_PROGRAM`` of a model built from
        it), or ``None`` when the step packs no inference code."""
        return self.config.inference_entry_point if self.config.inference_code is not None else None

    def output_facts(self) -> dict[str, dict[str, FactValue]]:
        """``model_artifacts``: the PyTorch ``framework_version``/``py_version`` it was trained with, the
        ``label_name`` hyperparameter, its S3 ``location`` (prefix) and, when the step packs inference
        code, the ``inference_entry_point`` in its ``code/``."""
        facts = super().output_facts()
        model: dict[str, FactValue] = {
            "framework_version": self.config.framework_version,
            "py_version": self.config.py_version,
        }
        entry = self.inference_entry_point()
        if entry is not None:
            model["inference_entry_point"] = entry
        if self.config.hyperparameters is not None:
            model["label_name"] = self.config.hyperparameters.label_name
        # below it SageMaker writes <job name>/output/model.tar.gz
        model["location"] = self.output_path
        facts["model_artifacts"] = model
        return facts

    def sagemaker_entry_point(self) -> str:
        """SageMaker's entry point (``sagemaker_program``): the launcher when the step packs inference
        code, else ``training_entry_point``."""
        from constructs_lib.inference_code import LAUNCHER_FILE

        return LAUNCHER_FILE if self.config.inference_code is not None else self.config.training_entry_point

    def job_environment(self) -> dict[str, str]:
        """The job's ``Environment``: ``config.env``, the checkpoint directory when it is not SageMaker's
        default (``CONSTRUCTS_LIB_CHECKPOINT_DIR``), plus the launcher's two variables when the step packs
        inference code."""
        from constructs_lib.inference_code import ENTRY_POINT_ENV, INFERENCE_CODE_DIR, INFERENCE_CODE_ENV

        values = {
            CHECKPOINT_DIR_ENV: self.config.checkpoint_local_path,
            ENTRY_POINT_ENV: self.config.training_entry_point,
            INFERENCE_CODE_ENV: INFERENCE_CODE_DIR,
        }
        env = {**self.config.env, **{name: values[name] for name in self.config.added_env_names}}
        return dict(sorted(env.items()))

    def code_packages(self) -> tuple[CodePackage, ...]:
        if not self.config.is_local_source:
            return ()
        payload = self.hyperparameters_file_payload()
        extra: dict[str, bytes] = self.inference_files()
        if payload is not None:
            text = json.dumps(payload, sort_keys=True, indent=2) + "\n"
            extra[HYPERPARAMETERS_FILE] = text.encode("utf-8")
        return (
            CodePackage(
                node=self.step_name,
                placeholder_uri=self.code_uri,
                source_dir=self.config.source_dir,
                entry_point=self.config.training_entry_point,
                extra_files=dict(sorted(extra.items())),
                extra_dirs=self.inference_dirs(),
            ),
        )

    def distribution(self) -> dict[str, Any] | None:
        """SageMaker's ``torch_distributed`` launcher when the job may have more than one GPU in total (over
        every instance type and count it may run with). The toolkit then starts one process per GPU of the
        instance the job lands on, so a choice of instance types with different GPU counts uses every GPU."""
        from constructs_lib.config.training_pytorch import image_kind
        from constructs_lib.sdk_adapter import instance_gpu_count, torch_distributed_gpu_versions

        if self.config.distribution == "off":
            return None
        layouts = {
            (t, n): max(1, instance_gpu_count(self.context.region, t)) * n
            for t in self.config.instance_types
            if image_kind(t) == "gpu"
            for n in self.config.instance_counts
        }
        widest = max(layouts.items(), key=lambda kv: kv[1], default=None)
        if widest is None or widest[1] <= 1:
            # CPU: one process per host (train.py joins a gloo group itself when SM_HOSTS has several).
            return None
        supported = torch_distributed_gpu_versions()
        if self.config.framework_version not in supported:
            (instance_type, count), gpus = widest
            raise ConfigError(
                f"{instance_type} x{count} has {gpus} GPUs, but SageMaker's torch_distributed launcher does "
                "not support this PyTorch version",
                step=self.step_name,
                field="framework_version",
                value=self.config.framework_version,
                hint=f"use one of {', '.join(supported)}, or set distribution='off' to use a single GPU",
            )
        return {"torch_distributed": {"enabled": True}}

    def checkpoint_base(self) -> str | None:
        """The S3 prefix below which each execution keeps its checkpoints (``None`` without checkpoints)."""
        if not self.config.checkpointing:
            return None
        return (
            self.config.checkpoint_s3_uri or self.context.default_location(self.step_name, "checkpoints")
        ).rstrip("/")

    def configured_inputs(self) -> dict[str, InputValue]:
        return {"input_path": self.config.input_path} if self.config.input_path else {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        if "input_path" in resolved:
            return {}
        if self.config.input_path is not None:
            return {"input_path": self.config.input_path}
        from constructs_lib.sdk_adapter import sdk

        with sdk():
            from sagemaker.workflow.parameters import ParameterString

        param = ParameterString(
            name=f"{self.step_name}InputPath",
            default_value=self.context.default_location(self.step_name, "input") + "/",
        )
        return {"input_path": param}

    # ------------------------------------------------------------------ SDK
    def create_estimator(self, instances: InstanceChoice | None = None) -> Any:
        """The real ``sagemaker.pytorch.PyTorch`` estimator for this config (offline session): the seed's
        fields, the job settings, and the deployment's network, KMS keys and tags."""
        from constructs_lib.sdk_adapter import sdk

        config = self.config
        inline, _ = self.hyperparameters_split()
        checkpoint_base = self.checkpoint_base()
        infra = self.context.infrastructure
        with sdk():
            from sagemaker.pytorch import PyTorch
            from sagemaker.workflow.execution_variables import ExecutionVariables
            from sagemaker.workflow.functions import Join

            if instances is None:
                instances = self.instance_choice()
            spot: dict[str, Any] = {}
            if config.use_spot_instances:
                spot = {
                    "use_spot_instances": True,
                    "max_wait": config.max_wait_seconds
                    or min(2 * config.max_runtime_seconds, MAX_RUNTIME_SECONDS),
                }
            if checkpoint_base is not None:
                spot["checkpoint_s3_uri"] = Join(
                    on="/", values=[checkpoint_base, ExecutionVariables.PIPELINE_EXECUTION_ID]
                )
                spot["checkpoint_local_path"] = config.checkpoint_local_path
            image = pytorch_image_uri(
                self.context.region,
                config.framework_version,
                config.py_version,
                config.training_instance_type,
                scope="training",
                step=self.step_name,
            )
            return PyTorch(
                entry_point=self.sagemaker_entry_point(),
                source_dir=self.code_uri,
                framework_version=config.framework_version,
                py_version=config.py_version,
                # explicit: the SDK cannot look an image up for an instance type that is a parameter
                image_uri=image if config.training_instance_type_choices else None,
                instance_type=instances.instance_type,
                instance_count=instances.instance_count,
                volume_size=config.training_volume_size,
                max_run=config.max_runtime_seconds,
                role=self.context.role_arn,
                sagemaker_session=self.context.session,
                output_path=self.output_path,
                code_location=self.context.default_location(self.step_name, "code"),
                hyperparameters=inline,
                environment=self.job_environment(),
                metric_definitions=metric_definitions(),
                distribution=self.distribution(),
                debugger_hook_config=False,
                disable_profiler=True,
                subnets=list(infra.subnets) or None,
                security_group_ids=list(infra.security_group_ids) or None,
                enable_network_isolation=config.enable_network_isolation,
                encrypt_inter_container_traffic=config.encrypt_inter_container_traffic,
                volume_kms_key=infra.volume_kms_key,
                output_kms_key=infra.output_kms_key,
                tags=settings.tags(self.context),
                **spot,
            )

    def instance_choice(self) -> InstanceChoice:
        """The job's instance type and count: values, or parameters when the config declares choices."""
        return settings.instance_choice(
            self.step_name,
            instance_type=self.config.training_instance_type,
            type_choices=self.config.training_instance_type_choices,
            count=self.config.training_instance_count,
            count_choices=self.config.training_instance_count_choices,
        )

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.inputs import TrainingInput
        from sagemaker.workflow.steps import TrainingStep

        self._check_network_isolation()
        instances = self.instance_choice()
        estimator = self.create_estimator(instances)
        channels = self.PORTS.channels()
        step_args = estimator.fit(
            inputs={
                channels[name]: TrainingInput(s3_data=value, s3_data_type="S3Prefix")
                for name, value in sorted(inputs.items())
            }
        )
        step = TrainingStep(
            name=self.step_name,
            step_args=step_args,
            depends_on=[s.name for s in depends_on] or None,
            retry_policies=settings.retry_policies(self.config) or None,
            cache_config=settings.cache_config(self.config),
        )
        reads, parameters = static_uris(list(inputs.values()))
        checkpoint = self.checkpoint_base()
        # With network isolation the SDK delivers the code as an input channel ("code"): listed, then fetched;
        # otherwise the toolkit downloads sagemaker_submit_directory with GetObject only.
        code_listed = self.config.enable_network_isolation
        access = AccessNeeds(
            creates=("training-job",),
            prefix_reads=(
                *reads,
                *([checkpoint] if checkpoint else []),
                *([self.code_uri] if code_listed else []),
            ),
            object_reads=() if code_listed else (self.code_uri,),
            writes=(self.output_path, *([checkpoint] if checkpoint else [])),
            images=(estimator.training_image_uri(),),
            log_groups=(self.LOG_GROUP,),
            codeartifact=self.codeartifact_repositories(),
            parameters=parameters,
        ) | settings.infrastructure_access(self.context)
        warnings: tuple[BuildWarning, ...] = ()
        if self.config.use_spot_instances and checkpoint is None:
            warnings = (
                BuildWarning(
                    SPOT_WITHOUT_CHECKPOINTS_WARNING_ID,
                    self.step_name,
                    "managed spot training without checkpoints: an interruption restarts training from the "
                    "first epoch (set checkpoints='auto' or 'on')",
                ),
            )
        return BuiltStep(step=step, access=access, parameters=instances.parameters, warnings=warnings)

    def _check_network_isolation(self) -> None:
        """Network isolation blocks every network call of the container: a ``requirements.txt`` (the toolkit
        installs it with pip) or a CodeArtifact repository could not work."""
        if not self.config.enable_network_isolation:
            return
        if self.codeartifact_repositories():
            raise ConfigError(
                "CA_REPOSITORY_ARN needs network access, but enable_network_isolation=True",
                step=self.step_name,
                field="enable_network_isolation",
                value=True,
                hint="drop CA_REPOSITORY_ARN (ship the packages in source_dir), or turn network isolation off",
            )
        if self.config.is_local_source and (Path(self.config.source_dir) / "requirements.txt").is_file():
            raise ConfigError(
                "source_dir has a requirements.txt, which SageMaker's toolkit installs with pip: impossible "
                "with enable_network_isolation=True",
                step=self.step_name,
                field="enable_network_isolation",
                value=True,
                hint="vendor the packages into source_dir and remove requirements.txt, or turn isolation off",
            )

    def training_job_arguments(
        self, input_path: str = "s3://constructs-lib-local/input/", *, executed: bool = False
    ) -> dict[str, Any]:
        """The step's ``Arguments`` exactly as in a pipeline definition (for the local run and tests).

        With ``executed=True`` they are as an execution with the parameters' default values sees them
        (parameters, the execution id and joins evaluated: :func:`~constructs_lib.definition.as_executed`).
        """
        from constructs_lib.definition import as_executed
        from constructs_lib.sdk_adapter import definition_of, pipeline

        result = self.build(inputs={"input_path": input_path})
        pipe = pipeline(
            "local", parameters=list(result.parameters), steps=[result.step], session=self.context.session
        )
        try:
            definition = definition_of(pipe)
        except Exception as exc:  # the SDK validates deferred step arguments here
            raise SynthError(
                f"the SageMaker SDK failed to build the step: {type(exc).__name__}: {exc}",
                step=self.step_name,
                hint="check the step's config; report a bug if it is valid",
            ) from exc
        arguments: dict[str, Any] = definition["Steps"][0]["Arguments"]
        if executed:
            defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters") or ()}
            arguments = as_executed(arguments, defaults)
        return arguments
