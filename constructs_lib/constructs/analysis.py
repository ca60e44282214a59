"""What a built pipeline needs from AWS, read from the :class:`~constructs_lib.template.BuiltPipeline`.

Pure Python (no ``aws_cdk``): the CDK constructs turn these facts into IAM statements. Everything here is
derived from the finished definition and the builders' declarations, never from guesses, so a new step
type either maps to exact permissions or fails the synth with a message naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib import placeholders
from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV, CodeArtifactRepository, parse_repository_arn
from constructs_lib.errors import SynthError

__all__ = [
    "EcrRepository",
    "S3Location",
    "SageMakerJobKind",
    "codeartifact_repositories",
    "ecr_repositories",
    "job_kinds",
    "parameter_default_reads",
    "parse_s3_uri",
    "step_types",
]

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?$")
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\."
    r"amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/\-]*?)(?::[\w.\-]+|@sha256:[0-9a-f]{64})?$"
)
#: Definition keys whose string value is a container image URI (training, processing, model steps).
_IMAGE_KEYS = frozenset({"TrainingImage", "ImageUri", "Image"})


@dataclass(frozen=True)
class S3Location:
    """An ``s3://bucket/key`` split in two. ``bucket`` may still be a placeholder bucket name."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


def parse_s3_uri(uri: str, *, step: str | None = None) -> S3Location:
    """Split ``s3://bucket[/key]``; :class:`SynthError` when ``uri`` is not an S3 URI."""
    m = _S3_URI.match(uri) if isinstance(uri, str) else None
    if m is None:
        raise SynthError(
            "not an s3:// URI in the step's declared S3 access",
            step=step,
            field="s3_access",
            value=uri,
            hint="builders must declare s3://bucket/prefix locations",
        )
    return S3Location(bucket=m.group("bucket"), key=m.group("key") or "")


@dataclass(frozen=True)
class EcrRepository:
    """An ECR repository a step's image is pulled from (e.g. AWS's ``763104351884``/``pytorch-training``)."""

    account: str
    region: str
    repository: str


def _walk(obj: Any) -> Iterator[tuple[str | None, Any]]:
    """Every ``(key, value)`` pair of a JSON-like structure (list items get key ``None``)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield None, v
            yield from _walk(v)


def ecr_repositories(definition: Mapping[str, Any]) -> tuple[EcrRepository, ...]:
    """The ECR repositories of every image URI in ``definition`` (sorted, unique).

    Raises :class:`SynthError` for an image that is not an ECR URI (nothing could be granted for it).
    """
    found: set[EcrRepository] = set()
    for key, value in _walk(definition):
        if key not in _IMAGE_KEYS or not isinstance(value, str):
            continue
        m = _ECR_IMAGE.match(value)
        if m is None:
            raise SynthError(
                "container image is not an Amazon ECR image URI; pull permissions cannot be derived",
                field=key,
                value=value,
                hint="use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> images",
            )
        found.add(EcrRepository(m.group("account"), m.group("region"), m.group("repository")))
    return tuple(sorted(found, key=lambda r: (r.account, r.region, r.repository)))


def _steps(steps: Any) -> Iterator[Mapping[str, Any]]:
    for step in steps or ():
        if not isinstance(step, Mapping):
            continue
        yield step
        args = step.get("Arguments")
        if isinstance(args, Mapping):  # a Condition step nests its branches
            yield from _steps(args.get("IfSteps"))
            yield from _steps(args.get("ElseSteps"))


def step_types(definition: Mapping[str, Any]) -> dict[str, str]:
    """``{step name: definition Type}`` for every step, including those inside condition branches."""
    return {str(s.get("Name")): str(s.get("Type")) for s in _steps(definition.get("Steps"))}


@dataclass(frozen=True)
class SageMakerJobKind:
    """What the pipeline role needs for one definition step ``Type``.

    Attributes:
        step_type: the definition's ``Type`` (``Training``, ``Processing``, ...).
        resource: the SageMaker ARN resource type the step creates (``training-job``, ...).
        actions: the SageMaker API actions the pipeline calls for such a step.
        log_group: the CloudWatch Logs group the job's containers write to (``None``: it writes none).
    """

    step_type: str
    resource: str
    actions: tuple[str, ...]
    log_group: str | None


#: Definition step ``Type`` -> what running it needs. ``None``: the step creates no SageMaker resource.
JOB_KINDS: Mapping[str, SageMakerJobKind | None] = {
    "Training": SageMakerJobKind(
        "Training",
        "training-job",
        ("sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"),
        "/aws/sagemaker/TrainingJobs",
    ),
    "Processing": SageMakerJobKind(
        "Processing",
        "processing-job",
        ("sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"),
        "/aws/sagemaker/ProcessingJobs",
    ),
    "Model": SageMakerJobKind("Model", "model", ("sagemaker:CreateModel", "sagemaker:DescribeModel"), None),
    "Transform": SageMakerJobKind(
        "Transform",
        "transform-job",
        ("sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"),
        "/aws/sagemaker/TransformJobs",
    ),
    "Condition": None,
    "Fail": None,
}


def job_kinds(definition: Mapping[str, Any]) -> tuple[SageMakerJobKind, ...]:
    """The distinct job kinds of ``definition``'s steps, in :data:`JOB_KINDS` order.

    Raises :class:`SynthError` for a step type without a mapping (never a silent over- or under-grant).
    """
    present: set[str] = set()
    for name, step_type in step_types(definition).items():
        if step_type not in JOB_KINDS:
            raise SynthError(
                f"no IAM mapping for pipeline step type {step_type!r}",
                step=name,
                field="Type",
                value=step_type,
                hint=f"supported step types: {', '.join(JOB_KINDS)}; add it to "
                "constructs_lib.constructs.analysis.JOB_KINDS",
            )
        present.add(step_type)
    return tuple(kind for t, kind in JOB_KINDS.items() if t in present and kind is not None)


def parameter_default_reads(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """Default values of the definition's ``s3://`` string parameters (the default input locations the
    builders create when a step has no upstream producer): the job role must be able to read them."""
    found: list[str] = []
    for param in definition.get("Parameters") or ():
        value = param.get("DefaultValue") if isinstance(param, Mapping) else None
        if param.get("Type") == "String" and isinstance(value, str) and value.startswith("s3://"):
            found.append(value)
    return tuple(sorted(set(found)))


def codeartifact_repositories(envs: Mapping[str, Mapping[str, str]]) -> tuple[CodeArtifactRepository, ...]:
    """The CodeArtifact repositories named by ``CA_REPOSITORY_ARN`` in the steps' environments.

    Args:
        envs: step name -> the ``env`` of its config.
    """
    found: dict[str, CodeArtifactRepository] = {}
    for step, env in sorted(envs.items()):
        arn = env.get(CA_REPOSITORY_ARN_ENV)
        if arn is None:
            continue
        repo = parse_repository_arn(arn, field=f"{step}.env[{CA_REPOSITORY_ARN_ENV!r}]")
        found[repo.repository_arn] = repo
    return tuple(found[k] for k in sorted(found))


def is_placeholder_bucket(bucket: str) -> bool:
    """True when ``bucket`` is the artifact-bucket placeholder."""
    return bucket == placeholders.ARTIFACT_BUCKET
