"""``PyTorchTrainingConfig``: the seed's parameters for the PyTorch training step, plus what a pipeline needs."""

from __future__ import annotations

import json
from typing import Any, Generic, Literal, Self

from pydantic import Field, SerializeAsAny, StrictInt, ValidationInfo, field_validator, model_validator
from typing_extensions import TypeVar

from constructs_lib import limits
from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV, parse_repository_arn
from constructs_lib.config.base import (
    check_entry_point,
    check_env,
    check_framework_pair,
    check_instance_type,
    check_present,
    check_range,
    check_region,
    check_s3_uri,
    check_source_location,
)
from constructs_lib.config.hyperparameters import ModelHyperparameters
from constructs_lib.config.job import ComputeJobSettings, check_count_choices, check_type_choices
from constructs_lib.errors import ConfigError

__all__ = [
    "CHECKPOINT_DIR_ENV",
    "DEFAULT_CHECKPOINT_LOCAL_PATH",
    "MAX_RUNTIME_SECONDS",
    "HyperparametersT",
    "PyTorchTrainingConfig",
    "image_kind",
]

#: SageMaker's documented ceiling for ``StoppingCondition.MaxRuntimeInSeconds`` (28 days); botocore
#: publishes only the minimum (1).
MAX_RUNTIME_SECONDS = 28 * 24 * 3600
#: Where SageMaker syncs a training job's checkpoints in the container (``CheckpointConfig.LocalPath``).
DEFAULT_CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
#: Environment variable naming the checkpoint directory when it is not ``/opt/ml/checkpoints`` (the
#: reference ``train.py`` reads it).
CHECKPOINT_DIR_ENV = "CONSTRUCTS_LIB_CHECKPOINT_DIR"
#: Most instances a training job may have (SageMaker's documented default quota ceiling is lower; the API
#: accepts this many).
MAX_TRAINING_INSTANCE_COUNT = 100

#: The class of a config's ``hyperparameters``: ``ModelHyperparameters`` or a subclass of it.
HyperparametersT = TypeVar("HyperparametersT", bound=ModelHyperparameters, default=ModelHyperparameters)


class PyTorchTrainingConfig(ComputeJobSettings, Generic[HyperparametersT]):
    """Configuration of one PyTorch training step (the seed's table, same names and defaults), plus the job
    settings every compute step shares (:class:`~constructs_lib.config.job.ComputeJobSettings`: retries,
    caching, network isolation, inter-container encryption).

    ``hyperparameters`` may be an instance of any subclass of ``ModelHyperparameters`` (your own
    script's fields); it keeps its class through ``model_copy``, and ``model_dump`` / ``fingerprint``
    carry every field of that class. To validate such a dump back, parametrize the config with the class
    (``PyTorchTrainingConfig[MyHyperparameters].model_validate(data)``): the plain class validates the
    ``hyperparameters`` of a dump as ``ModelHyperparameters`` and refuses the subclass's fields as
    unknown (never drops them). A parametrized config is still a ``PyTorchTrainingConfig``.
    """

    training_instance_type: str = "ml.g5.12xlarge"
    """Instance type of the training job; one of botocore's ``TrainingInstanceType`` values.
    Default ``ml.g5.12xlarge`` (4 GPUs: the builder turns on SageMaker's ``torch_distributed`` launcher)."""

    training_instance_count: StrictInt = 1
    """Number of training instances, ``>= 1``. Default ``1``."""

    training_volume_size: StrictInt = 30
    """ML storage volume per instance in GB, ``1..16384``. Default ``30``."""

    training_entry_point: str = "train.py"
    """Script run by the training toolkit, relative to ``source_dir``; a ``.py`` file. Default ``train.py``."""

    source_dir: str
    """Required. A local directory holding the entry point (packed into a deterministic
    ``sourcedir.tar.gz`` and shipped as a CDK asset), or an ``s3://…/sourcedir.tar.gz`` used as is."""

    framework_version: str
    """Required. PyTorch version of the training image, e.g. ``1.13.1`` or ``2.3.0``."""

    py_version: str
    """Required. Python version of the training image, e.g. ``py39``; must pair with ``framework_version``."""

    hyperparameters: SerializeAsAny[HyperparametersT] | None = None
    """Hyperparameters passed to the script: every field of their class (``ModelHyperparameters``, or
    your subclass of it) and nothing else. Default ``None`` (none passed)."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the training job (botocore ``TrainingEnvironmentMap``: at most 100, names
    ``[a-zA-Z_][a-zA-Z0-9_]*`` up to 512 chars, values up to 512 chars). ``CA_REPOSITORY_ARN`` must be a
    CodeArtifact repository ARN; it grants the job read access to that repository. Default ``{}``."""

    input_path: str | None = None
    """S3 URI of the data directory (``train/``, ``val/``, ``test/``). Used only when no predecessor step
    provides ``input_path``. Default ``None``: a pipeline parameter ``<Node>InputPath`` is created whose
    default is ``<artifact root>/<pipeline>/input/<node>/``."""

    output_path: str | None = None
    """S3 URI under which SageMaker writes model artifacts. Default ``None``:
    ``<artifact root>/<pipeline>/<node>/``, in the construct's artifact bucket."""

    max_runtime_seconds: StrictInt = 24 * 3600
    """Job time limit (``StoppingCondition.MaxRuntimeInSeconds``), ``1..2419200``. Default ``86400`` (1 day)."""

    distribution: Literal["auto", "off"] = "auto"
    """``auto`` (default): SageMaker's ``torch_distributed`` launcher (DDP, one process per GPU) when the
    instance has more than one GPU or there is more than one GPU instance; CPU multi-instance jobs run one
    process per host that joins a gloo group. ``off``: always a single process per host."""

    use_spot_instances: bool = False
    """Train on managed spot capacity (up to ~90% cheaper; SageMaker may interrupt and resume the job).
    Default ``False``."""

    max_wait_seconds: StrictInt | None = None
    """With spot: the most the job may take including waits for capacity
    (``StoppingCondition.MaxWaitTimeInSeconds``), ``>= max_runtime_seconds`` and at most 28 days. Default
    ``None``: twice ``max_runtime_seconds``, capped at 28 days. Only with ``use_spot_instances``."""

    checkpoints: Literal["auto", "on", "off"] = "auto"
    """Checkpoint syncing (``CheckpointConfig``): SageMaker copies ``checkpoint_local_path`` to
    ``checkpoint_s3_uri`` while the job runs and back when it restarts (after a spot interruption or a job
    retry of the same execution), and the reference ``train.py`` resumes from the newest checkpoint.
    ``auto`` (default): on with spot, off otherwise; ``on``; ``off`` (with spot: a warning
    ``constructs_lib:spot-without-checkpoints``, an interruption restarts training from scratch)."""

    checkpoint_s3_uri: str | None = None
    """Where checkpoints are kept. Default ``None``: ``<artifact root>/<pipeline>/<node>/checkpoints/
    <execution id>`` — one prefix per execution, so a new execution never resumes an old one's training;
    the job role may read and write it."""

    checkpoint_local_path: str = DEFAULT_CHECKPOINT_LOCAL_PATH
    """The directory in the container that is synced (absolute). Default ``/opt/ml/checkpoints``; another
    path is passed to the script as ``CONSTRUCTS_LIB_CHECKPOINT_DIR``."""

    training_instance_type_choices: tuple[str, ...] = ()
    """Instance types an execution may pick without a redeploy: with choices the instance type is the
    pipeline parameter ``<node>InstanceType`` (default ``training_instance_type``, which must be a choice;
    SageMaker refuses any other value when the execution starts). Every choice is checked at synth: a
    training instance type, the same image kind (CPU or GPU) as the default, and the distribution rule (any
    GPU choice turns on SageMaker's ``torch_distributed`` launcher, which starts one process per GPU of the
    instance the job lands on). Default ``()``: a fixed instance type."""

    training_instance_count_choices: tuple[StrictInt, ...] = ()
    """Instance counts an execution may pick: with choices the count is the pipeline parameter
    ``<node>InstanceCount`` (default ``training_instance_count``, which must be a choice). Each is checked at
    synth (``1..100``); SageMaker has no allowed values for an integer parameter, so a count outside the
    choices is not refused at start (the job is still correct: the training script uses every host).
    Default ``()``: a fixed count."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    # ------------------------------------------------------------------ inference code in model.tar.gz
    inference_source_dir: str | None = None
    """Local directory with the model's inference code (a handler defining ``model_fn``, ``input_fn``,
    ``predict_fn``, ``output_fn`` and whatever it imports). The training step packs it into the code
    tarball and the job copies it into ``model.tar.gz``'s ``code/`` after the training script succeeded,
    where SageMaker's PyTorch serving container imports it: the model, evaluation and registration steps use
    the training output as it is, with no repack job. Default ``None``: the library's reference inference
    code (``inference.py`` + ``model.py``) when ``source_dir`` is the reference training directory (it
    reads what the reference ``train.py`` writes); otherwise no inference code is packed, and a model,
    evaluation or registration step fed by this training step is refused (the library never guesses which
    handler fits your script's model files)."""

    inference_entry_point: str = "inference.py"
    """The handler script, relative to ``inference_source_dir`` (the model's ``SAGEMAKER_PROGRAM``); a
    ``.py`` file. Used only when inference code is packed. Default ``inference.py`` (the only value with
    the reference inference code)."""

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """``PyTorchTrainingConfig[MyHyperparameters]`` (class names only, in error messages too)."""
        return f"{cls.__name__}[{', '.join(getattr(p, '__name__', str(p)) for p in params)}]"

    @field_validator("training_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        return check_instance_type(
            v, field="training_instance_type", allowed=limits.training_instance_types(), kind="training"
        )

    @field_validator("training_instance_count")
    @classmethod
    def _count(cls, v: int) -> int:
        if v < 1:
            raise ConfigError("must be >= 1", field="training_instance_count", value=v)
        return v

    @field_validator("training_volume_size")
    @classmethod
    def _volume(cls, v: int) -> int:
        low = limits.shape("VolumeSizeInGB").min or 1
        high = limits.max_volume_size_gb()
        return check_range(
            v, field="training_volume_size", low=low, high=high, unit="GB", what="volume size out of range"
        )

    @field_validator("training_entry_point")
    @classmethod
    def _entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="training_entry_point")

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        if not v or not v.strip():
            raise ConfigError(
                "must be provided",
                field="source_dir",
                value=v,
                hint="a local directory with the entry point, or s3://…/sourcedir.tar.gz",
            )
        return check_source_location(v)

    @field_validator("framework_version", "py_version")
    @classmethod
    def _present(cls, v: str, info: ValidationInfo) -> str:
        return check_present(v, field=info.field_name or "value", hint="e.g. framework 2.3.0 with py311")

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        check_env(v, field="env")
        if CA_REPOSITORY_ARN_ENV in v:
            parse_repository_arn(v[CA_REPOSITORY_ARN_ENV])
        return dict(sorted(v.items()))

    @field_validator("input_path", "output_path")
    @classmethod
    def _s3(cls, v: str | None, info: object) -> str | None:
        if v is None:
            return v
        return check_s3_uri(v, field=getattr(info, "field_name", "path"))

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, v: int) -> int:
        low = limits.shape("MaxRuntimeInSeconds").min or 1
        return check_range(v, field="max_runtime_seconds", low=low, high=MAX_RUNTIME_SECONDS, unit="seconds")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return check_region(v)

    @field_validator("checkpoint_s3_uri")
    @classmethod
    def _checkpoint_uri(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="checkpoint_s3_uri")

    @field_validator("checkpoint_local_path")
    @classmethod
    def _checkpoint_path(cls, v: str) -> str:
        shape = limits.shape("DirectoryPath")
        if not v.startswith("/") or len(v) > (shape.max or 4096) or ".." in v.split("/"):
            raise ConfigError(
                "must be an absolute directory path in the container",
                field="checkpoint_local_path",
                value=v,
                hint=f"e.g. {DEFAULT_CHECKPOINT_LOCAL_PATH!r}",
            )
        return v.rstrip("/") or "/"

    @model_validator(mode="after")
    def _pair(self) -> Self:
        check_framework_pair("pytorch", "training", self.framework_version, self.py_version)
        return self

    @model_validator(mode="after")
    def _spot_and_choices(self) -> Self:
        if self.max_wait_seconds is not None:
            if not self.use_spot_instances:
                raise ConfigError(
                    "max_wait_seconds applies to managed spot training only",
                    field="max_wait_seconds",
                    value=self.max_wait_seconds,
                    hint="set use_spot_instances=True, or drop max_wait_seconds",
                )
            check_range(
                self.max_wait_seconds,
                field="max_wait_seconds",
                low=self.max_runtime_seconds,
                high=MAX_RUNTIME_SECONDS,
                unit="seconds",
                what="must be at least max_runtime_seconds and at most 28 days",
            )
        if self.checkpoints == "off" and self.checkpoint_s3_uri is not None:
            raise ConfigError(
                "checkpoint_s3_uri is set but checkpoints='off'",
                field="checkpoint_s3_uri",
                value=self.checkpoint_s3_uri,
                hint="drop checkpoint_s3_uri, or set checkpoints='on'",
            )
        check_type_choices(
            self.training_instance_type_choices,
            default=self.training_instance_type,
            field="training_instance_type_choices",
            default_field="training_instance_type",
            allowed=limits.training_instance_types(),
            kind="training",
        )
        check_count_choices(
            self.training_instance_count_choices,
            default=self.training_instance_count,
            field="training_instance_count_choices",
            default_field="training_instance_count",
            high=MAX_TRAINING_INSTANCE_COUNT,
        )
        kinds = {t: image_kind(t) for t in self.instance_types}
        if len(set(kinds.values())) > 1:
            raise ConfigError(
                "the instance type choices need different training images (CPU and GPU or Neuron)",
                field="training_instance_type_choices",
                value=dict(sorted(kinds.items())),
                hint="choose instance types of one kind: all CPU or all GPU",
            )
        return self

    @field_validator("inference_source_dir")
    @classmethod
    def _inference_source_dir(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or "://" in v):
            raise ConfigError(
                "must be a local directory",
                field="inference_source_dir",
                value=v,
                hint="a local directory with your inference handler, or None",
            )
        return v

    @field_validator("inference_entry_point")
    @classmethod
    def _inference_entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="inference_entry_point", example="inference.py")

    @model_validator(mode="after")
    def _inference_code(self) -> Self:
        from constructs_lib.inference_code import REFERENCE_INFERENCE_ENTRY_POINT

        if self.inference_source_dir is not None and not self.is_local_source:
            raise ConfigError(
                "inference code can only be packed beside a local source_dir (an s3:// tarball is used "
                "as it is)",
                field="inference_source_dir",
                value=self.inference_source_dir,
                hint="use a local source_dir, or put the handler into your tarball and write it to "
                "$SM_MODEL_DIR/code/ from your training script",
            )
        if (
            self.inference_code == "reference"
            and self.inference_entry_point != REFERENCE_INFERENCE_ENTRY_POINT
        ):
            raise ConfigError(
                "with the reference inference code (inference_source_dir=None) the handler is fixed",
                field="inference_entry_point",
                value=self.inference_entry_point,
                hint=f"leave it at {REFERENCE_INFERENCE_ENTRY_POINT!r}, or set inference_source_dir",
            )
        added = self.added_env_names
        if added:
            reserved = sorted(set(added) & set(self.env))
            if reserved:
                raise ConfigError(
                    "these variables are set by the training step (the inference-code launcher, a checkpoint "
                    "directory other than the default)",
                    field="env",
                    value=reserved,
                    hint="remove them; training_entry_point, inference_source_dir and checkpoint_local_path "
                    "choose their values",
                )
            limit = (limits.shape("TrainingEnvironmentMap").max or 100) - len(added)
            if len(self.env) > limit:
                raise ConfigError(
                    f"too many environment variables: {len(self.env)}",
                    field="env",
                    hint=f"at most {limit}: the training step adds {', '.join(added)}",
                )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def instance_types(self) -> tuple[str, ...]:
        """Every instance type the job may run on (the choices, or the one type)."""
        return self.training_instance_type_choices or (self.training_instance_type,)

    @property
    def instance_counts(self) -> tuple[int, ...]:
        """Every instance count the job may have (the choices, or the one count)."""
        return self.training_instance_count_choices or (self.training_instance_count,)

    @property
    def checkpointing(self) -> bool:
        """True when the job syncs checkpoints (``checkpoints`` on, or auto with spot)."""
        return self.checkpoints == "on" or (self.checkpoints == "auto" and self.use_spot_instances)

    @property
    def added_env_names(self) -> tuple[str, ...]:
        """The variables the training step adds to ``env``, sorted: :data:`CHECKPOINT_DIR_ENV` when checkpoints
        sync another directory than ``/opt/ml/checkpoints``, and the inference-code launcher's two when the step
        packs inference code. They count against SageMaker's 100 and may not be set in ``env``."""
        from constructs_lib.inference_code import ENTRY_POINT_ENV, INFERENCE_CODE_ENV

        names: list[str] = []
        if self.checkpointing and self.checkpoint_local_path != DEFAULT_CHECKPOINT_LOCAL_PATH:
            names.append(CHECKPOINT_DIR_ENV)
        if self.inference_code is not None:
            names += [ENTRY_POINT_ENV, INFERENCE_CODE_ENV]
        return tuple(sorted(names))

    @property
    def is_local_source(self) -> bool:
        """True when ``source_dir`` is a local directory (packed and shipped as an asset)."""
        return not self.source_dir.startswith("s3://")

    @property
    def inference_code(self) -> str | None:
        """What inference code the training step packs into ``model.tar.gz``: ``"reference"`` (the
        library's, for the reference training code), ``"custom"`` (``inference_source_dir``) or ``None``."""
        from constructs_lib.inference_code import is_reference_training_dir

        if self.inference_source_dir is not None:
            return "custom"
        if self.is_local_source and is_reference_training_dir(self.source_dir):
            return "reference"
        return None

    def hyperparameter_payload(self) -> dict[str, object]:
        """All hyperparameter values (plain JSON values, keys sorted); ``{}`` without hyperparameters."""
        return self.hyperparameters.to_values() if self.hyperparameters is not None else {}

    def fingerprint(self) -> str:
        """Canonical JSON of the config, every field of the hyperparameters' class included (for reports
        and cache keys)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def image_kind(instance_type: str) -> str:
    """Which framework image an instance type needs, by its family as the SageMaker SDK decides
    (``sagemaker.image_uris._processor``): ``gpu`` for the ``g*``/``p*`` families, ``neuron`` for ``inf*``/
    ``trn*``, ``cpu`` otherwise (a test keeps this equal to the SDK for every training instance type)."""
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    if family.startswith(("inf", "trn")):
        return "neuron"
    return "gpu" if family[:1] in ("g", "p") else "cpu"
