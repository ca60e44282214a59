"""What a step's jobs need from AWS at run time: the one access model of the library.

Every builder returns, with its SDK step, an :class:`AccessNeeds` value: the S3 locations its job reads
(with list rights for ``S3Prefix`` inputs) and writes, its code objects, container images, CloudWatch log
group, CodeArtifact repositories, and the SageMaker resources the pipeline role creates for it. The CDK layer
(:mod:`constructs_lib.constructs.policies`) turns these values, and nothing else, into IAM statements: it
neither reads configs nor scrapes the definition.

Pure Python and JSON-serializable (:meth:`AccessNeeds.to_json` / :meth:`AccessNeeds.from_json`), so a
cached build (no SageMaker SDK) carries the same facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from constructs_lib.errors import SynthError

__all__ = [
    "AccessNeeds",
    "EcrRepository",
    "S3Location",
    "ecr_repository",
    "parse_s3_uri",
]

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?$")
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\."
    r"amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/\-]*?)(?::[\w.\-]+|@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class AccessNeeds:
    """What one step (or, merged, a whole pipeline) needs at run time. Every field is a sorted tuple of
    unique plain strings; URIs may hold the library's placeholders (artifact bucket, code objects).

    Attributes:
        creates: SageMaker resource types the pipeline role creates, describes and stops for the step
            (``training-job``, ``processing-job``, ``model``...). Default ``()``.
        prefix_reads: S3 URIs the job reads as ``S3Prefix`` inputs: SageMaker lists the prefix
            (``s3:ListBucket`` with ``s3:prefix``) and gets every object below it. Default ``()``.
        object_reads: S3 URIs of single objects the job gets (``s3:GetObject`` only), e.g. a training job's
            code tarball (``sagemaker_submit_directory``). Default ``()``.
        writes: S3 prefixes the job writes below (``s3:PutObject``). Default ``()``.
        images: container image URIs the job role pulls from ECR. Default ``()``.
        log_groups: CloudWatch Logs groups (and metric namespaces) the containers write to. Default ``()``.
        codeartifact: CodeArtifact repository ARNs the job installs packages from (``CA_REPOSITORY_ARN``).
            Default ``()``.
        parameters: names of pipeline parameters whose value is an S3 input location of the step (their
            defaults are in ``prefix_reads``; an execution may override them). Default ``()``.
        kms_keys: KMS keys the job encrypts and decrypts data with (outputs, checkpoints). Default ``()``.
        volume_keys: KMS keys of the job's ML storage volumes (SageMaker creates a grant for the volume).
            Default ``()``.
        subnets: subnet ids the job's network interfaces are created in (VPC mode). Default ``()``.
        security_groups: security group ids of those network interfaces. Default ``()``.
        pipeline_reads: S3 prefixes below which the *pipeline role* (SageMaker Pipelines itself, not a
            job) gets objects (``s3:GetObject``): a property file a condition reads with ``JsonGet``, the
            model data a registration step validates. Default ``()``.
        model_package_groups: model package groups the pipeline role registers model versions into: a
            name (a group of the stack's account and region, which the CDK construct creates) or the ARN
            of an existing group (not created). Default ``()``.
    """

    creates: tuple[str, ...] = ()
    prefix_reads: tuple[str, ...] = ()
    object_reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    codeartifact: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    kms_keys: tuple[str, ...] = ()
    volume_keys: tuple[str, ...] = ()
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    pipeline_reads: tuple[str, ...] = ()
    model_package_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"AccessNeeds.{f.name} must be an iterable of strings, got {value!r}")
            object.__setattr__(self, f.name, tuple(sorted(set(value))))

    @classmethod
    def merge(cls, needs: Iterable[AccessNeeds]) -> AccessNeeds:
        """The union of several steps' needs (what one role shared by those steps must allow)."""
        items = list(needs)
        merged: dict[str, Any] = {
            f.name: tuple(v for n in items for v in getattr(n, f.name)) for f in fields(cls)
        }
        return cls(**merged)

    def __or__(self, other: AccessNeeds) -> AccessNeeds:
        """The union of two needs."""
        return AccessNeeds.merge([self, other])

    def to_json(self) -> dict[str, list[str]]:
        """Plain JSON (lists of strings)."""
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccessNeeds:
        """Inverse of :meth:`to_json`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown AccessNeeds fields: {unknown}")
        return cls(**{k: tuple(v) for k, v in data.items()})


@dataclass(frozen=True)
class S3Location:
    """An ``s3://bucket/key`` split in two. ``bucket`` may still be a placeholder bucket name."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        """The location as an ``s3://`` URI."""
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


def parse_s3_uri(uri: str, *, step: str | None = None) -> S3Location:
    """Split ``s3://bucket[/key]``; :class:`SynthError` when ``uri`` is not an S3 URI."""
    m = _S3_URI.match(uri) if isinstance(uri, str) else None
    if m is None:
        raise SynthError(
            "not an s3:// URI in the step's declared S3 access",
            step=step,
            field="access",
            value=uri,
            hint="builders must declare s3://bucket/prefix locations",
        )
    return S3Location(bucket=m.group("bucket"), key=m.group("key") or "")


@dataclass(frozen=True)
class EcrRepository:
    """An ECR repository an image is pulled from (e.g. AWS's ``763104351884``/``pytorch-training``)."""

    account: str
    region: str
    repository: str


def ecr_repository(image_uri: str, *, step: str | None = None) -> EcrRepository:
    """The ECR repository of ``image_uri``; :class:`SynthError` for an image that is not an ECR URI
    (no pull permission could be derived for it)."""
    m = _ECR_IMAGE.match(image_uri) if isinstance(image_uri, str) else None
    if m is None:
        raise SynthError(
            "container image is not an Amazon ECR image URI; pull permissions cannot be derived",
            step=step,
            field="image",
            value=image_uri,
            hint="use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> images",
        )
    return EcrRepository(m.group("account"), m.group("region"), m.group("repository"))
