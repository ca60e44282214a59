"""The pipeline constructs' props, declared once: :class:`PipelineOptions` types the keyword arguments of
:class:`~constructs_lib.constructs.pipeline.SageMakerPipeline` and
:class:`~constructs_lib.constructs.pipeline.PyTorchTrainingPipeline` (which forwards them unchanged), and
:class:`PipelineProps` is the one frozen, validated value the construct is built from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, TypedDict, get_args

from aws_cdk import Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs_lib import limits
from constructs_lib.config.base import check_s3_uri
from constructs_lib.constructs.operations import (
    DataArrivalTrigger,
    PipelineAlerts,
    PipelineSchedule,
    check_alerts,
    check_schedules,
    check_triggers,
)
from constructs_lib.errors import ConfigError
from constructs_lib.names import check_pipeline_name
from constructs_lib.provenance import PROVENANCE_PREFIX, PROVENANCE_TAG_KEYS
from constructs_lib.template import PipelineBuilderTemplate

if (
    TYPE_CHECKING
):  # pragma: no cover - aws_ec2 costs ~0.1 s to import (only a VPC needs it), aws_sns is for alerts
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_sns as sns

__all__ = [
    "DEFAULT_INLINE_THRESHOLD_CHARS",
    "DefinitionStorage",
    "InputLocation",
    "PipelineOptions",
    "PipelineProps",
    "check_tags",
]

DefinitionStorage = Literal["auto", "inline", "s3"]

#: Largest definition (in characters, every deploy-time value counted at its maximum length) that is
#: put inline into the template. Inline, the definition is an escaped ``Fn::Join`` (measured: ~1.2x its
#: length) beside the roles, buckets and policies (measured: 8-10 KB for the example stacks, compact
#: JSON); 20,000 characters keep such a template near 35 KB, comfortably under CloudFormation's
#: 51,200-byte limit for a template body passed inline, so no deploy path depends on the template going
#: through S3. Larger definitions go to S3 (``PipelineDefinitionS3Location``), where only SageMaker's
#: 1,048,576-character limit applies.
DEFAULT_INLINE_THRESHOLD_CHARS = 20_000


@dataclass(frozen=True)
class InputLocation:
    """An S3 location executions may read their inputs from (see ``PipelineProps.input_locations``).

    Attributes:
        bucket: the bucket (``s3.Bucket.from_bucket_name(...)`` for an existing one). Its KMS key, if the
            construct knows it (``encryption_key``), is granted for decryption too.
        prefix: the key prefix inside it, e.g. ``"landing/customers/"``. Default ``""``: the whole bucket.
    """

    bucket: s3.IBucket
    prefix: str = ""


#: What ``input_locations`` accepts: a bucket (all of it), an ``s3://bucket/prefix`` URI, or an
#: :class:`InputLocation`.
InputLocationLike = s3.IBucket | str | InputLocation


class PipelineOptions(TypedDict, total=False):
    """The optional props of the pipeline constructs (defaults and meaning: :class:`PipelineProps`)."""

    job_role: iam.IRole | None
    pipeline_role: iam.IRole | None
    artifact_bucket: s3.IBucket | None
    encryption_key: kms.IKey | None
    kms_encryption: bool
    retain_on_delete: bool
    definition_storage: DefinitionStorage
    inline_threshold_chars: int
    description: str | None
    tags: Mapping[str, str] | None
    input_locations: Sequence[InputLocationLike]
    vpc: ec2.IVpc | None
    vpc_subnets: ec2.SubnetSelection | None
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]
    volume_kms_key: kms.IKey | None
    output_kms_key: kms.IKey | None
    max_parallel_steps: int | None
    schedule: PipelineSchedule | Sequence[PipelineSchedule] | None
    trigger: DataArrivalTrigger | Sequence[DataArrivalTrigger] | None
    alerts: PipelineAlerts | sns.ITopic | bool | None
    share_model_packages_with: Sequence[str]


@dataclass(frozen=True)
class PipelineProps:
    """Every prop of a pipeline construct, validated once (:meth:`validated`).

    Attributes:
        template: the pipeline's DAG, configs and builders. Its ``role`` must be ``None`` (the construct
            passes its job role); its ``region`` must be the stack's.
        pipeline_name: SageMaker pipeline name, 1-256 characters ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``. Required;
            it is the pipeline's identity, so changing it replaces the pipeline.
        job_role: role the SageMaker jobs run as. Default ``None``: a new role trusted by
            ``sagemaker.amazonaws.com`` with exactly the permissions the steps need. A role passed in gets
            those permissions added when it is mutable; an immutable one (``mutable=False``) is left as is
            and a ``constructs_lib:role-not-modified`` warning lists what it needs.
        pipeline_role: role SageMaker Pipelines runs as. Default ``None``: a new role allowed to create,
            describe, stop and tag the pipeline's job kinds and to pass ``job_role`` to SageMaker only. A
            passed-in role is treated like ``job_role``.
        artifact_bucket: bucket for outputs, default input locations and (when stored in S3) the
            definition. Default ``None``: a new bucket (see ``kms_encryption``, ``retain_on_delete``) plus its
            access-log bucket.
        encryption_key: KMS key of the artifact bucket. With a new bucket: encrypt it with this key. With
            ``artifact_bucket``: the key that bucket uses (the job role gets Decrypt/GenerateDataKey on it).
            Default ``None``: a new bucket uses SSE-S3 unless ``kms_encryption``; for a passed-in bucket, its
            own ``encryption_key`` if it has one.
        kms_encryption: create a customer-managed KMS key with yearly rotation for the new artifact bucket.
            Default ``False`` (SSE-S3). Not allowed with ``artifact_bucket``.
        retain_on_delete: keep the buckets (and created key) when the stack is deleted. Default ``True``.
            ``False`` deletes them *with their objects* on stack deletion and adds the warning
            ``constructs_lib:data-deleted-on-stack-delete``. Has no effect on a passed-in bucket.
        definition_storage: ``"inline"`` puts the definition into the template (``PipelineDefinitionBody``);
            ``"s3"`` stores it in the artifact bucket under ``pipeline-definitions/<name>/<hash>.json`` with a
            CDK ``BucketDeployment`` (deploy-time values substituted at deploy time) and references it
            (``PipelineDefinitionS3Location``); ``"auto"`` (default) is inline up to
            ``inline_threshold_chars`` and S3 beyond.
        inline_threshold_chars: the ``"auto"`` switch point. Default
            :data:`DEFAULT_INLINE_THRESHOLD_CHARS` (20,000).
        description: the pipeline's description (at most 3,072 characters). Default ``None``: none.
        tags: tags for the pipeline and every taggable resource of the construct (SageMaker tag rules: at
            most 50; keys 1-128, values 0-256 characters; no ``aws:`` keys). Default ``None``: none.
        input_locations: S3 locations that executions may read their inputs from when they override an
            input parameter (``RawDataS3Uri``, ``<node>InputPath``...): each a bucket (all of it), an
            ``s3://bucket/prefix`` URI or an :class:`InputLocation`; the job role may list and read below
            them (and decrypt with a bucket's known KMS key). Default ``()``: only the parameters' default
            locations and the pipeline's own outputs are readable, so an override pointing anywhere else is
            denied by IAM when the job starts.
        vpc: run every job (and the model) in this VPC (``VpcConfig``/``NetworkConfig``); the job role gets
            the EC2 network-interface permissions SageMaker needs, limited to the chosen subnets. Default
            ``None``: no VPC (and no EC2 permission), unless ``subnets`` is given.
        vpc_subnets: which subnets of ``vpc``. Default ``None``: CDK's default selection (the private subnets,
            else the isolated, else the public ones). At most 16 (SageMaker's limit).
        subnets: the subnets, given directly (without ``vpc``; then ``security_groups`` is required). Default
            ``()``.
        security_groups: the jobs' security groups (at most 5). Default ``()``: with ``vpc``, one security group
            is created that allows all outbound traffic and inbound traffic only from itself (distributed
            training talks between the job's instances).
        volume_kms_key: KMS key of the jobs' ML storage volumes (``VolumeKmsKeyId``). Default ``None``: the
            artifact bucket's KMS key when it has one, else AWS managed encryption. The job role (and the
            pipeline role, which creates the jobs) may create grants on it only for AWS resources
            (``kms:GrantIsForAWSResource``).
        output_kms_key: KMS key that encrypts the jobs' outputs and checkpoints (``KmsKeyId``). Default
            ``None``: the artifact bucket's KMS key when it has one, else the bucket's default encryption.
        max_parallel_steps: the most steps of one execution that run at once
            (``ParallelismConfiguration.MaxParallelExecutionSteps``, ``>= 1``). Default ``None``: SageMaker's
            default (50).
        schedule: start the pipeline on a schedule: one or several
            :class:`~constructs_lib.constructs.operations.PipelineSchedule` (a ``rate``/``cron`` expression,
            a time zone, parameter values), each an ``AWS::Scheduler::Schedule`` running as one role that may
            start this pipeline only. Default ``()``: no schedule.
        trigger: start the pipeline when data arrives: one or several
            :class:`~constructs_lib.constructs.operations.DataArrivalTrigger` (a bucket, a key prefix, the S3
            input parameter that gets the location), each an EventBridge rule on S3 ``Object Created``
            events. Default ``()``: no trigger.
        alerts: send failed/stopped executions and failed steps to SNS: ``True`` (a created topic, KMS-
            encrypted, TLS-only), an ``sns.ITopic``, or a
            :class:`~constructs_lib.constructs.operations.PipelineAlerts`. Default ``None``: no alerts.
        share_model_packages_with: AWS account IDs (12 digits) that may see the model versions of the model
            package groups this construct creates (their resource policy allows
            ``sagemaker:DescribeModelPackageGroup`` on the group, ``sagemaker:DescribeModelPackage`` and
            ``sagemaker:ListModelPackages`` on its versions, to those accounts only), e.g. a production
            account that promotes approved versions. Default ``()``: no resource policy, the groups stay
            private to this account.

    The ``AWS::SageMaker::Pipeline`` always carries the provenance tags ``constructs-lib:version``,
    ``constructs-lib:config-sha256`` and ``constructs-lib:code-sha256``; ``tags`` may not use the
    ``constructs-lib:`` prefix, and leaves room for them under SageMaker's 50-tag limit.
    """

    template: PipelineBuilderTemplate
    pipeline_name: str
    job_role: iam.IRole | None = None
    pipeline_role: iam.IRole | None = None
    artifact_bucket: s3.IBucket | None = None
    encryption_key: kms.IKey | None = None
    kms_encryption: bool = False
    retain_on_delete: bool = True
    definition_storage: DefinitionStorage = "auto"
    inline_threshold_chars: int = DEFAULT_INLINE_THRESHOLD_CHARS
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    input_locations: tuple[InputLocationLike, ...] = ()
    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    subnets: tuple[ec2.ISubnet, ...] = ()
    security_groups: tuple[ec2.ISecurityGroup, ...] = ()
    volume_kms_key: kms.IKey | None = None
    output_kms_key: kms.IKey | None = None
    max_parallel_steps: int | None = None
    schedule: tuple[PipelineSchedule, ...] = ()
    trigger: tuple[DataArrivalTrigger, ...] = ()
    alerts: PipelineAlerts | None = None
    share_model_packages_with: tuple[str, ...] = ()

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """Names of the optional props (the keys of :class:`PipelineOptions`)."""
        return frozenset(f.name for f in fields(cls)) - {"template", "pipeline_name"}

    @classmethod
    def create(cls, *, template: Any, pipeline_name: Any, **options: Any) -> PipelineProps:
        """Check every prop and return the frozen value (tags sorted)."""
        unknown = sorted(set(options) - cls.option_names())
        if unknown:
            raise ConfigError(
                "unknown construct prop",
                field=unknown[0],
                value=unknown,
                hint=f"props: template, pipeline_name, {', '.join(sorted(cls.option_names()))}",
            )
        if options.get("tags") is None:
            options.pop("tags", None)
        props = cls(template=template, pipeline_name=pipeline_name, **options)
        props._check()
        return props

    def _check(self) -> None:
        if not isinstance(self.template, PipelineBuilderTemplate):
            raise ConfigError(
                "template must be a PipelineBuilderTemplate",
                field="template",
                value=type(self.template).__name__,
            )
        if Token.is_unresolved(self.pipeline_name):
            raise ConfigError(
                "pipeline_name must be a plain string, not a CDK token",
                field="pipeline_name",
                hint="the name is used in S3 locations and ARNs at synth time",
            )
        check_pipeline_name(self.pipeline_name)
        if self.definition_storage not in get_args(DefinitionStorage):
            raise ConfigError(
                "unknown definition_storage",
                field="definition_storage",
                value=self.definition_storage,
                hint="one of 'auto', 'inline', 's3'",
            )
        if (
            isinstance(self.inline_threshold_chars, bool)
            or not isinstance(self.inline_threshold_chars, int)
            or self.inline_threshold_chars < 1
        ):
            raise ConfigError(
                "must be a positive number of characters",
                field="inline_threshold_chars",
                value=self.inline_threshold_chars,
            )
        if self.description is not None:
            if not isinstance(self.description, str):
                raise ConfigError("must be a string", field="description", value=self.description)
            max_desc = limits.shape("PipelineDescription").max or 3072
            if len(self.description) > max_desc:
                raise ConfigError(
                    f"description is {len(self.description)} characters; SageMaker allows {max_desc}",
                    field="description",
                )
        for name in ("kms_encryption", "retain_on_delete"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError("must be True or False", field=name, value=getattr(self, name))
        _require(
            self.job_role, "job_role", ("role_arn", "add_to_principal_policy"), "iam.Role.from_role_arn(...)"
        )
        _require(
            self.pipeline_role,
            "pipeline_role",
            ("role_arn", "add_to_principal_policy"),
            "iam.Role.from_role_arn(...)",
        )
        _require(
            self.artifact_bucket,
            "artifact_bucket",
            ("bucket_name", "bucket_arn"),
            "s3.Bucket.from_bucket_name(...)",
        )
        _require(self.encryption_key, "encryption_key", ("key_arn",), "kms.Key.from_key_arn(...)")
        if not isinstance(self.tags, Mapping):
            raise ConfigError(
                "must be a mapping of tag keys to values",
                field="tags",
                value=self.tags,
                hint='e.g. {"team": "ml"}',
            )
        object.__setattr__(self, "tags", check_tags(self.tags))
        object.__setattr__(self, "schedule", check_schedules(self.schedule))
        object.__setattr__(self, "trigger", check_triggers(self.trigger))
        object.__setattr__(self, "alerts", check_alerts(self.alerts))
        # A trigger's location must be readable by the job role: it becomes a declared input location.
        triggered = tuple(InputLocation(bucket=t.bucket, prefix=t.prefix) for t in self.trigger)
        object.__setattr__(self, "input_locations", _check_input_locations(self.input_locations) + triggered)
        object.__setattr__(self, "share_model_packages_with", _check_accounts(self.share_model_packages_with))
        self._check_network()
        _require(self.volume_kms_key, "volume_kms_key", ("key_arn",), "kms.Key.from_key_arn(...)")
        _require(self.output_kms_key, "output_kms_key", ("key_arn",), "kms.Key.from_key_arn(...)")
        if self.max_parallel_steps is not None:
            low = limits.shape("MaxParallelExecutionSteps").min or 1
            if (
                isinstance(self.max_parallel_steps, bool)
                or not isinstance(self.max_parallel_steps, int)
                or (self.max_parallel_steps < low)
            ):
                raise ConfigError(
                    f"must be an integer >= {low}", field="max_parallel_steps", value=self.max_parallel_steps
                )

    def _check_network(self) -> None:
        _require(self.vpc, "vpc", ("vpc_id", "select_subnets"), "ec2.Vpc.from_vpc_attributes(...)")
        for name in ("subnets", "security_groups"):
            value = getattr(self, name)
            if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                raise ConfigError(f"must be a list of {name.replace('_', ' ')}", field=name, value=value)
            object.__setattr__(self, name, tuple(value))
        for i, subnet in enumerate(self.subnets):
            _require(subnet, f"subnets[{i}]", ("subnet_id",), "ec2.Subnet.from_subnet_id(...)")
        for i, group in enumerate(self.security_groups):
            _require(
                group,
                f"security_groups[{i}]",
                ("security_group_id",),
                "ec2.SecurityGroup.from_security_group_id(...)",
            )
        if self.vpc is not None and self.subnets:
            raise ConfigError(
                "give vpc (with vpc_subnets) or subnets, not both",
                field="subnets",
                hint="vpc=..., vpc_subnets=ec2.SubnetSelection(...) selects subnets of that VPC",
            )
        if self.vpc_subnets is not None and self.vpc is None:
            raise ConfigError("vpc_subnets selects subnets of vpc, which is not given", field="vpc_subnets")
        if self.subnets and not self.security_groups:
            raise ConfigError(
                "with subnets but no vpc, security_groups are required (a security group belongs to a VPC)",
                field="security_groups",
                hint="pass security_groups=[...], or give vpc=... to have one created",
            )
        if self.security_groups and self.vpc is None and not self.subnets:
            raise ConfigError("security_groups without vpc or subnets", field="security_groups")
        max_groups = limits.shape("VpcSecurityGroupIds").max or 5
        if len(self.security_groups) > max_groups:
            raise ConfigError(
                f"SageMaker accepts at most {max_groups} security groups",
                field="security_groups",
                value=len(self.security_groups),
            )
        if self.artifact_bucket is not None and self.kms_encryption:
            raise ConfigError(
                "kms_encryption creates a key for a bucket this construct creates; it cannot re-encrypt a "
                "passed-in artifact_bucket",
                field="kms_encryption",
                hint="pass encryption_key=<the bucket's key> so the job role can use it, or drop artifact_bucket",
            )
        if self.template.role is not None:
            raise ConfigError(
                "the template has a role; the construct sets the job role itself",
                field="template.role",
                value=self.template.role,
                hint="build the template with role=None and pass job_role=iam.Role.from_role_arn(...)",
            )


def _check_input_locations(value: object) -> tuple[InputLocationLike, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(
            "must be a list of buckets, s3:// URIs or InputLocation values",
            field="input_locations",
            value=value,
            hint='e.g. input_locations=["s3://landing-bucket/customers/"]',
        )
    checked: list[InputLocationLike] = []
    for i, item in enumerate(value):
        where = f"input_locations[{i}]"
        if isinstance(item, str):
            check_s3_uri(item, field=where)
        elif isinstance(item, InputLocation):
            _require(
                item.bucket,
                f"{where}.bucket",
                ("bucket_name", "bucket_arn"),
                "s3.Bucket.from_bucket_name(...)",
            )
            if not isinstance(item.prefix, str) or item.prefix.startswith("/"):
                raise ConfigError(
                    "a key prefix (no leading '/')",
                    field=f"{where}.prefix",
                    value=item.prefix,
                    hint="e.g. 'landing/'",
                )
        else:
            _require(item, where, ("bucket_name", "bucket_arn"), "s3.Bucket.from_bucket_name(...)")
            if item is None:
                raise ConfigError("must not be None", field=where)
        checked.append(item)
    return tuple(checked)


def _check_accounts(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(
            "must be a list of AWS account IDs",
            field="share_model_packages_with",
            value=value,
            hint='e.g. share_model_packages_with=["210987654321"]',
        )
    for i, item in enumerate(value):
        if not isinstance(item, str) or not re.fullmatch(r"[0-9]{12}", item):
            raise ConfigError(
                "not an AWS account ID (12 digits)",
                field=f"share_model_packages_with[{i}]",
                value=item,
                hint="e.g. '210987654321'",
            )
    return tuple(sorted(set(value)))


def _require(value: object, field: str, attributes: tuple[str, ...], hint: str) -> None:
    """``value`` is ``None`` or a construct with ``attributes`` (jsii interfaces cannot be ``isinstance``-d)."""
    if value is not None and not all(hasattr(value, a) for a in attributes):
        raise ConfigError(
            f"must be a CDK construct with {', '.join(attributes)}",
            field=field,
            value=value if isinstance(value, str | int | float) else type(value).__name__,
            hint=f"import an existing one with {hint}",
        )


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """SageMaker's tag rules (botocore ``TagKey``/``TagValue``/``TagList``), with room left for the
    library's provenance tags (whose ``constructs-lib:`` prefix is refused); returns the tags sorted."""
    reserved = len(PROVENANCE_TAG_KEYS)
    key_shape = limits.shape("TagKey")
    value_shape = limits.shape("TagValue")
    list_shape = limits.shape("TagList")
    if list_shape.max is not None and len(tags) > list_shape.max - reserved:
        raise ConfigError(
            f"too many tags: {len(tags)}",
            field="tags",
            hint=f"SageMaker allows at most {list_shape.max}, and {reserved} are the pipeline's provenance tags",
        )
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError("tag keys and values must be strings", field=f"tags[{key!r}]", value=value)
        if not (key_shape.min or 1) <= len(key) <= (key_shape.max or 128) or not key_shape.fullmatch(key):
            raise ConfigError(
                "invalid tag key",
                field="tags",
                value=key,
                hint=f"1-{key_shape.max} characters of letters, digits, spaces and _.:/=+-@",
            )
        if key.lower().startswith("aws:"):
            raise ConfigError("tag keys starting with 'aws:' are reserved by AWS", field="tags", value=key)
        if key.lower().startswith(PROVENANCE_PREFIX):
            raise ConfigError(
                f"tag keys starting with {PROVENANCE_PREFIX!r} are the library's provenance tags",
                field="tags",
                value=key,
                hint="use another prefix",
            )
        if len(value) > (value_shape.max or 256) or not value_shape.fullmatch(value):
            raise ConfigError(
                "invalid tag value",
                field=f"tags[{key!r}]",
                value=value,
                hint=f"0-{value_shape.max} characters of letters, digits, spaces and _.:/=+-@",
            )
    return dict(sorted(tags.items()))
