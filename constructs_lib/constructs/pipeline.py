"""``SageMakerPipeline`` (any :class:`PipelineBuilderTemplate`) and ``PyTorchTrainingPipeline`` (the seed's
PyTorch training step) as CDK constructs.

The construct is built in phases, each a method of its own: the props are validated into one frozen
:class:`~constructs_lib.constructs.props.PipelineProps`; then storage (artifact bucket, access logs, key),
roles, the definition (built by the pure core with placeholders, the placeholders then replaced by
CloudFormation references in the finished dict, rendered with ``Stack.to_json_string``: the SageMaker SDK
never sees a CDK token), the grants (derived from the steps' access needs alone) and the
``AWS::SageMaker::Pipeline`` resource; last the operations (provenance tags, schedules, data-arrival
triggers, failure alerts: :mod:`~constructs_lib.constructs.operations`).

``SageMakerPipeline`` is an ``aws_cdk.Resource`` implementing ``aws_sagemaker.IPipeline``, so CDK's own
integrations (``aws_scheduler_targets.SageMakerStartPipelineExecution``...) accept it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Unpack

import jsii
from aws_cdk import Annotations, RemovalPolicy, Resource, Stack, Tags, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces import aws_sagemaker as sagemaker_refs
from constructs import Construct

from constructs_lib import limits, placeholders
from constructs_lib.access import AccessNeeds, ecr_repository, parse_s3_uri
from constructs_lib.cache import build_with_cache
from constructs_lib.codeartifact import parse_repository_arn
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.constructs.code import code_asset, code_key_suffix
from constructs_lib.constructs.handlers import handler_policy_resources, tidy_cdk_handlers
from constructs_lib.constructs.model_registry import model_package_groups
from constructs_lib.constructs.nag import flatten_cfn_reference
from constructs_lib.constructs.operations import (
    OperationsContext,
    add_operations,
    provenance_tags,
    tag_provenance,
)
from constructs_lib.constructs.policies import (
    SAGEMAKER_PRINCIPAL,
    BucketRef,
    Grant,
    S3Read,
    attach,
    job_role_statements,
    network_statements,
    object_read,
    output_key_statements,
    pipeline_role_statements,
    prefix_read,
    volume_key_statements,
)
from constructs_lib.constructs.props import (
    DEFAULT_INLINE_THRESHOLD_CHARS,
    DefinitionStorage,
    InputLocation,
    PipelineOptions,
    PipelineProps,
)
from constructs_lib.constructs.storage import ArtifactStorage
from constructs_lib.context import Infrastructure
from constructs_lib.definition import (
    DEFINITION_PREFIX,
    canonical_json,
    check_definition_size,
    find_placeholders,
    substitute,
)
from constructs_lib.errors import ConfigError, ConstructsLibError, SynthError
from constructs_lib.template import BuiltPipeline, PipelineBuilderTemplate

if (
    TYPE_CHECKING
):  # pragma: no cover - aws_ec2 costs ~0.1 s to import (only a VPC needs it); assets: local code
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_s3_assets as s3_assets

__all__ = [
    "DEFAULT_INLINE_THRESHOLD_CHARS",
    "DEFINITION_PREFIX",
    "ROLE_NOT_MODIFIED_WARNING_ID",
    "DefinitionStorage",
    "PyTorchTrainingPipeline",
    "SageMakerPipeline",
    "concrete_region",
]

#: Id of the warning added when a passed-in role is immutable and could not be given its permissions.
ROLE_NOT_MODIFIED_WARNING_ID = "constructs_lib:role-not-modified"

# Upper bounds of deploy-time values, to check the definition's size before deployment: S3 bucket names
# are at most 63 characters, role ARNs at most 2,048 (botocore RoleArn), CDK asset keys are a 64-hex hash
# plus the extension.
_MAX_BUCKET = "b" * 63
_MAX_ROLE_ARN = "arn:aws-iso-b:iam::000000000000:role/" + "r" * 64
_MAX_ASSET_URL = f"s3://{_MAX_BUCKET}/{'k' * 64}.tar.gz"
_MAX_KEY_ARN = "arn:aws-iso-b:kms:us-isob-east-1:000000000000:key/" + "k" * 36
_MAX_NETWORK_ID = "subnet-" + "0" * 17

#: Above this many distinct key prefixes under ``<pipeline name>/`` in the artifact bucket, the job role's
#: S3 grants name the pipeline's prefix instead (about 200 policy characters per step prefix would pass
#: IAM's 10,240-character limit on a role's inline policies at ~50 steps).
MAX_EXACT_ARTIFACT_PREFIXES = 8


def concrete_region(scope: Construct) -> str:
    """The region of ``scope``'s stack; :class:`SynthError` when the stack is environment-agnostic."""
    region = Stack.of(scope).region
    if Token.is_unresolved(region):
        raise SynthError(
            f"stack {Stack.of(scope).node.path!r} has no concrete region, but a SageMaker pipeline needs "
            "one: its training image URIs and ARNs are regional",
            field="region",
            hint="create the stack with env=Environment(region='us-east-1'), or (with this project's "
            "app.py) set the context key constructs_lib:region in cdk.json or -c constructs_lib:region=..., "
            "or export CDK_DEFAULT_REGION",
        )
    return region


def _merge_pipeline_prefixes(
    items: list[tuple[BucketRef, str]], pipeline_name: str
) -> list[tuple[BucketRef, str]]:
    """Replace the artifact-bucket prefixes under ``<pipeline_name>/`` by that one prefix when there are more
    than :data:`MAX_EXACT_ARTIFACT_PREFIXES` of them (all steps share one job role, so the union of their
    prefixes is granted either way; this keeps the policy size constant in the number of steps)."""
    root = f"{pipeline_name}/"
    under = {key for bucket, key in items if bucket.label == "" and key.startswith(root)}
    if len(under) <= MAX_EXACT_ARTIFACT_PREFIXES:
        return items
    merged: list[tuple[BucketRef, str]] = []
    seen = False
    for bucket, key in items:
        if bucket.label == "" and key.startswith(root):
            if not seen:
                merged.append((bucket, root))
                seen = True
            continue
        merged.append((bucket, key))
    return merged


def _merge_reads(reads: list[S3Read], pipeline_name: str) -> list[S3Read]:
    """:func:`_merge_pipeline_prefixes` for listed prefix reads of the artifact bucket."""
    listed = [(r.bucket, r.pattern.removesuffix("*")) for r in reads if r.listed and r.pattern.endswith("*")]
    kept = [r for r in reads if not (r.listed and r.pattern.endswith("*"))]
    return kept + [prefix_read(b, k) for b, k in _merge_pipeline_prefixes(listed, pipeline_name)]


@dataclass(frozen=True)
class _Code:
    """The CDK file assets of the built pipeline's code packages, by placeholder URI."""

    assets: dict[str, s3_assets.Asset]
    urls: dict[str, str]
    hashes: dict[str, str]


@jsii.implements(sagemaker.IPipeline)
class SageMakerPipeline(Resource):
    """A SageMaker pipeline built from a :class:`~constructs_lib.template.PipelineBuilderTemplate`, with
    the roles, bucket and code it needs; an ``aws_sagemaker.IPipeline`` (``pipeline_arn``,
    ``pipeline_name``, ``grant_start_pipeline_execution``).

    Creates (unless passed in): a private, versioned, TLS-only artifact bucket with access logs; a job
    role (what the training/processing containers run as) and a pipeline role (what SageMaker Pipelines
    runs as), each with least-privilege inline policies derived from the steps' access needs; one S3 file
    asset per local ``source_dir`` (a deterministic ``sourcedir.tar.gz``); the
    ``AWS::SageMaker::ModelPackageGroup`` of each registration step that names its group by name; and the
    ``AWS::SageMaker::Pipeline``.

    Args:
        scope: parent construct; its stack must have a concrete region.
        construct_id: construct id.
        template: the pipeline's DAG, configs and builders (see
            :class:`~constructs_lib.constructs.props.PipelineProps`).
        pipeline_name: SageMaker pipeline name. Required.
        **options: the optional props of :class:`~constructs_lib.constructs.props.PipelineProps`
            (``job_role``, ``pipeline_role``, ``artifact_bucket``, ``encryption_key``, ``kms_encryption``,
            ``retain_on_delete``, ``definition_storage``, ``inline_threshold_chars``, ``description``,
            ``tags``, ``input_locations``, ``schedule``, ``trigger``, ``alerts``,
            ``share_model_packages_with``), each documented there with its default.

    Raises:
        SynthError: the stack has no concrete region, the template's region differs from the stack's,
            the definition exceeds SageMaker's size limit or keeps a placeholder, or CDK failed.
        ConfigError: an invalid prop (name, tags, description, conflicting options) or source directory.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        template: PipelineBuilderTemplate,
        pipeline_name: str,
        **options: Unpack[PipelineOptions],
    ) -> None:
        super().__init__(scope, construct_id)
        try:
            #: The validated props.
            self.props: PipelineProps = PipelineProps.create(
                template=template, pipeline_name=pipeline_name, **options
            )
            self._setup()
        except ConstructsLibError:
            raise
        except Exception as exc:  # jsii / CDK errors get the construct's context
            raise SynthError(
                f"construct {self.node.path!r}: CDK failed while building the pipeline: "
                f"{type(exc).__name__}: {exc}",
                hint="check the construct's props; report a bug if they are valid",
            ) from exc

    # ------------------------------------------------------------------ phases
    def _setup(self) -> None:
        props = self.props
        region = concrete_region(self)
        if props.template.region != region:
            raise SynthError(
                f"the template builds for region {props.template.region!r} but the stack deploys to {region!r}",
                field="region",
                value=props.template.region,
                hint="build the template with region=Stack.of(scope).region (image URIs are regional)",
            )
        self._pipeline_arn = Stack.of(self).format_arn(
            service="sagemaker", resource="pipeline", resource_name=props.pipeline_name.lower()
        )
        self._policy_dependencies: list[Construct] = []
        self._deployment_grants: frozenset[str] | set[str] | None = None
        self._storage()
        self._roles()
        self._network()
        self.built: BuiltPipeline = self._build()
        for warning in self.built.warnings:
            Annotations.of(self).add_warning_v2(warning.id, f"step {warning.step!r}: {warning.message}")
        code = self._code(self.built)
        definition = self._definition(self.built, code)
        self._grants(self.built, code)
        self._model_package_groups(self.built)
        self._pipeline_resource(definition, code)
        for key_name, value in props.tags.items():
            Tags.of(self).add(key_name, value)
        self._operations(code)
        tidy_cdk_handlers(self, self._deployment_grants)

    def _storage(self) -> None:
        """The artifact bucket (created, or the one passed in), its access-log bucket and its key."""
        props = self.props
        #: The created storage (``None`` with a passed-in bucket).
        self.storage: ArtifactStorage | None = None
        bucket = props.artifact_bucket
        key = props.encryption_key
        if bucket is None:
            self.storage = ArtifactStorage(
                self,
                "Storage",
                kms_encryption=props.kms_encryption,
                encryption_key=key,
                retain_on_delete=props.retain_on_delete,
            )
            bucket = self.storage.bucket
            key = self.storage.encryption_key
        elif key is None:
            key = bucket.encryption_key
        #: The artifact bucket (created here or passed in).
        self.artifact_bucket: s3.IBucket = bucket
        #: Access-log bucket of a created artifact bucket; ``None`` for a passed-in one.
        self.access_log_bucket: s3.IBucket | None = self.storage.access_log_bucket if self.storage else None
        #: KMS key of the artifact bucket; ``None`` with SSE-S3.
        self.encryption_key: kms.IKey | None = key

    def _roles(self) -> None:
        """The job role and the pipeline role (created before the definition: it names the job role)."""
        props = self.props
        self._job_document: iam.PolicyDocument | None = None
        job_role = props.job_role
        if job_role is None:
            self._job_document = iam.PolicyDocument()
            job_role = iam.Role(
                self,
                "JobRole",
                assumed_by=iam.ServicePrincipal(SAGEMAKER_PRINCIPAL),
                description=f"SageMaker jobs of pipeline {props.pipeline_name} run as this role",
                inline_policies={"JobPermissions": self._job_document},
            )
        #: The role SageMaker jobs run as.
        self.job_role: iam.IRole = job_role
        self._pipeline_document: iam.PolicyDocument | None = None
        pipeline_role = props.pipeline_role
        if pipeline_role is None:
            self._pipeline_document = iam.PolicyDocument()
            pipeline_role = iam.Role(
                self,
                "PipelineRole",
                assumed_by=iam.ServicePrincipal(SAGEMAKER_PRINCIPAL),
                description=f"SageMaker Pipelines runs pipeline {props.pipeline_name} as this role",
                inline_policies={"PipelinePermissions": self._pipeline_document},
            )
        #: The role SageMaker Pipelines runs the pipeline as.
        self.pipeline_role: iam.IRole = pipeline_role

    def _network(self) -> None:
        """The jobs' subnets, security groups (one created in ``vpc`` when none is given) and KMS keys, and the
        placeholders the core builds the definition with."""
        props = self.props
        subnets: list[ec2.ISubnet] = list(props.subnets)
        if props.vpc is not None:
            from aws_cdk import aws_ec2 as ec2  # imported here (~0.1 s): only a VPC needs it

            selection = props.vpc_subnets or ec2.SubnetSelection()
            fields = (
                "availability_zones",
                "one_per_az",
                "subnet_filters",
                "subnet_group_name",
                "subnets",
                "subnet_type",
            )
            chosen = {f: getattr(selection, f) for f in fields if getattr(selection, f) is not None}
            subnets = list(props.vpc.select_subnets(**chosen).subnets)
            if not subnets:
                raise ConfigError("the subnet selection of vpc selects no subnet", field="vpc_subnets")
        max_subnets = limits.shape("Subnets").max or 16
        if len(subnets) > max_subnets:
            raise ConfigError(
                f"SageMaker accepts at most {max_subnets} subnets, the selection has {len(subnets)}",
                field="vpc_subnets",
                hint="select fewer subnets (e.g. ec2.SubnetSelection(subnet_group_name=...))",
            )
        groups: list[ec2.ISecurityGroup] = list(props.security_groups)
        #: The security group created for the jobs (``None`` when given or without a VPC).
        self.security_group: ec2.SecurityGroup | None = None
        if subnets and not groups and props.vpc is not None:
            from aws_cdk import aws_ec2 as ec2

            self.security_group = ec2.SecurityGroup(
                self,
                "JobSecurityGroup",
                vpc=props.vpc,
                description=f"SageMaker jobs of pipeline {props.pipeline_name}: outbound, and between instances",
                allow_all_outbound=True,
            )
            # distributed training talks between the job's instances
            self.security_group.add_ingress_rule(
                self.security_group, ec2.Port.all_traffic(), "between the instances of one job"
            )
            groups = [self.security_group]
        #: The jobs' subnets (empty without a VPC).
        self.subnets: list[ec2.ISubnet] = subnets
        #: The jobs' security groups (empty without a VPC).
        self.security_groups: list[ec2.ISecurityGroup] = groups
        #: KMS key of the jobs' volumes (``None``: AWS managed).
        self.volume_kms_key: kms.IKey | None = props.volume_kms_key or self.encryption_key
        #: KMS key of the jobs' outputs (``None``: the bucket's default encryption).
        self.output_kms_key: kms.IKey | None = props.output_kms_key or self.encryption_key
        self._infrastructure = Infrastructure(
            subnets=tuple(placeholders.subnet(i) for i in range(len(subnets))),
            security_group_ids=tuple(placeholders.security_group(i) for i in range(len(groups))),
            volume_kms_key=placeholders.VOLUME_KEY if self.volume_kms_key is not None else None,
            output_kms_key=placeholders.OUTPUT_KEY if self.output_kms_key is not None else None,
            tags=tuple(props.tags.items()),
        )
        self._infrastructure_values: dict[str, str] = {
            **{placeholders.subnet(i): s.subnet_id for i, s in enumerate(subnets)},
            **{placeholders.security_group(i): g.security_group_id for i, g in enumerate(groups)},
            **({placeholders.VOLUME_KEY: self.volume_kms_key.key_arn} if self.volume_kms_key else {}),
            **({placeholders.OUTPUT_KEY: self.output_kms_key.key_arn} if self.output_kms_key else {}),
        }

    def _build(self) -> BuiltPipeline:
        """The core's build of the definition (placeholders not yet substituted), answered from the
        re-synth cache when its inputs are unchanged (:mod:`constructs_lib.cache`; ``pipeline`` is then
        ``None``)."""
        try:
            return build_with_cache(
                self.props.template,
                self.props.pipeline_name,
                self._infrastructure,
                on_warning=lambda warning_id, message: Annotations.of(self).add_warning_v2(
                    warning_id, message
                ),
            )
        except ConstructsLibError:
            raise
        except Exception as exc:
            raise SynthError(
                f"building the pipeline definition failed: {type(exc).__name__}: {exc}",
                step=self.props.pipeline_name,
                hint="check the step configs",
            ) from exc

    def _code(self, built: BuiltPipeline) -> _Code:
        """One CDK file asset per code package."""
        #: Training code assets, by DAG node.
        self.code_assets: dict[str, s3_assets.Asset] = {}
        assets: dict[str, s3_assets.Asset] = {}
        for package in built.code_packages:
            asset = code_asset(
                self, f"SourceCode-{package.node}", package, pipeline_name=self.props.pipeline_name
            )
            self.code_assets[package.node] = asset
            assets[package.placeholder_uri] = asset
        return _Code(
            assets=assets,
            urls={uri: a.s3_object_url for uri, a in assets.items()},
            hashes={uri: a.asset_hash for uri, a in assets.items()},
        )

    def _definition(self, built: BuiltPipeline, code: _Code) -> dict[str, Any]:
        """The definition with every placeholder replaced by its CloudFormation reference, size-checked with
        every deploy-time value at its maximum length."""
        name = self.props.pipeline_name
        replacements = {
            f"s3://{placeholders.ARTIFACT_BUCKET}": f"s3://{self.artifact_bucket.bucket_name}",
            placeholders.JOB_ROLE_ARN: self.job_role.role_arn,
            **code.urls,
            **self._infrastructure_values,
        }
        definition: dict[str, Any] = substitute(built.definition, replacements)
        left = find_placeholders(definition)
        if left:
            raise SynthError(
                "placeholders left in the pipeline definition after substitution",
                step=name,
                value=left,
                hint="a builder used a placeholder the construct does not know; report a bug",
            )
        worst_case = substitute(
            built.definition,
            {
                f"s3://{placeholders.ARTIFACT_BUCKET}": f"s3://{_MAX_BUCKET}",
                placeholders.JOB_ROLE_ARN: _MAX_ROLE_ARN
                if Token.is_unresolved(self.job_role.role_arn)
                else self.job_role.role_arn,
                **dict.fromkeys(code.urls, _MAX_ASSET_URL),
                **{k: _MAX_KEY_ARN if "key" in k else _MAX_NETWORK_ID for k in self._infrastructure_values},
            },
        )
        #: Length of the definition with every deploy-time value at its maximum length.
        self.definition_size_chars: int = check_definition_size(canonical_json(worst_case), pipeline=name)
        return definition

    def _grants(self, built: BuiltPipeline, code: _Code) -> None:
        """Both roles' statements, from the steps' access needs alone."""
        access = built.pipeline_access()
        values = self._infrastructure_values
        volume_keys = [values[k] for k in access.volume_keys]
        job = [
            *self._job_grants(access, code),
            *output_key_statements([values[k] for k in access.kms_keys]),
            *volume_key_statements(volume_keys),
            *network_statements(
                stack=Stack.of(self),
                subnet_ids=[values[s] for s in access.subnets],
                group_ids=[values[g] for g in access.security_groups],
            ),
        ]
        self._attach(self.job_role, self._job_document, job, "job_role")
        # what SageMaker Pipelines itself reads: objects below step outputs (a property file, model data),
        # encrypted with the bucket's key or the output key
        pipeline_reads = [
            S3Read(self._bucket_ref(loc.bucket), f"{loc.key.rstrip('/')}/*" if loc.key else "*", listed=False)
            for loc in (self._location(uri) for uri in access.pipeline_reads)
        ]
        read_keys = [self.encryption_key.key_arn] if self.encryption_key is not None else []
        read_keys += [values[k] for k in access.kms_keys if values[k] not in read_keys]
        pipeline = [
            *pipeline_role_statements(
                stack=Stack.of(self),
                creates=access.creates,
                job_role_arn=self.job_role.role_arn,
                model_package_groups=access.model_package_groups,
                reads=pipeline_reads,
                key_arns=read_keys,
            ),
            # SageMaker creates the volume grant for the jobs the pipeline role starts
            *volume_key_statements(volume_keys),
        ]
        self._attach(self.pipeline_role, self._pipeline_document, pipeline, "pipeline_role")

    def _model_package_groups(self, built: BuiltPipeline) -> None:
        """The model package groups the registration steps name by name (see :mod:`.model_registry`)."""
        groups = built.pipeline_access().model_package_groups
        #: The ``AWS::SageMaker::ModelPackageGroup`` resources this construct created, by group name.
        self.model_package_groups: dict[str, Any] = model_package_groups(
            self,
            groups,
            pipeline_name=self.props.pipeline_name,
            retain_on_delete=self.props.retain_on_delete,
            share_with_accounts=self.props.share_model_packages_with,
        )
        if self.props.share_model_packages_with and not self.model_package_groups:
            raise ConfigError(
                "share_model_packages_with shares the model package groups this construct creates, and it "
                "creates none",
                field="share_model_packages_with",
                value=list(self.props.share_model_packages_with),
                hint="add a ModelRegistrationStep with model_package_group_name (or its default) to the "
                "template, or share an existing group with its own resource policy",
            )

    def _bucket_ref(self, name: str) -> BucketRef:
        """The artifact bucket for its placeholder (sorting first), else the named bucket."""
        if name == placeholders.ARTIFACT_BUCKET:
            return BucketRef(self.artifact_bucket.bucket_arn, label="")
        return BucketRef(f"arn:{Stack.of(self).partition}:s3:::{name}", label=name)

    def _job_grants(self, access: AccessNeeds, code: _Code) -> list[Grant]:
        stack = Stack.of(self)
        ref = self._bucket_ref

        reads: list[S3Read] = []
        writes: list[tuple[BucketRef, str]] = []
        for uri in access.prefix_reads:
            if uri not in code.assets:
                loc = self._location(uri)
                reads.append(prefix_read(ref(loc.bucket), loc.key))
        for uri in access.object_reads:
            if uri not in code.assets:
                loc = self._location(uri)
                reads.append(object_read(ref(loc.bucket), loc.key))
        code_read = [uri for uri in (*access.prefix_reads, *access.object_reads) if uri in code.assets]
        if code_read:
            # One stable grant for every code package of this pipeline (see code_key_suffix): a code or
            # hyperparameter change never changes an IAM statement.
            assets_bucket = BucketRef(code.assets[code_read[0]].bucket.bucket_arn, label="~code")
            listed = any(uri in code.assets for uri in access.prefix_reads)
            reads.append(
                S3Read(assets_bucket, f"*{code_key_suffix(self.props.pipeline_name)}", listed=listed)
            )
        for uri in access.writes:
            loc = self._location(uri)
            writes.append((ref(loc.bucket), loc.key))
        key_arns = [self.encryption_key.key_arn] if self.encryption_key is not None else []
        for index, location in enumerate(self.props.input_locations):
            if isinstance(location, str):
                loc = parse_s3_uri(location)
                reads.append(prefix_read(ref(loc.bucket), loc.key))
                continue
            input_bucket, prefix = (
                (location.bucket, location.prefix) if isinstance(location, InputLocation) else (location, "")
            )
            reads.append(prefix_read(BucketRef(input_bucket.bucket_arn, label=f"~input{index:03d}"), prefix))
            if input_bucket.encryption_key is not None:
                key_arns.append(input_bucket.encryption_key.key_arn)
        # A step's outputs are its successors' inputs (wired as property references, which name no
        # URI): every output prefix is readable too.
        merged_writes = _merge_pipeline_prefixes(writes, self.props.pipeline_name)
        reads.extend(prefix_read(b, k) for b, k in merged_writes)
        reads = _merge_reads(reads, self.props.pipeline_name)
        ecr = sorted(
            {ecr_repository(image) for image in access.images},
            key=lambda r: (r.account, r.region, r.repository),
        )
        return job_role_statements(
            stack=stack,
            reads=reads,
            writes=merged_writes,
            log_groups=list(access.log_groups),
            ecr=ecr,
            codeartifact=[parse_repository_arn(arn) for arn in access.codeartifact],
            key_arns=key_arns,
        )

    def _pipeline_resource(self, definition: dict[str, Any], code: _Code) -> None:
        """The ``AWS::SageMaker::Pipeline``, with its definition inline or in S3."""
        props = self.props
        stack = Stack.of(self)
        storage_kind = props.definition_storage
        if storage_kind == "auto":
            storage_kind = "s3" if self.definition_size_chars > props.inline_threshold_chars else "inline"
        #: ``"inline"`` or ``"s3"``: where the definition went.
        self.definition_storage: Literal["inline", "s3"] = storage_kind
        #: The ``BucketDeployment`` of a definition stored in S3 (``None`` when inline).
        self.definition_deployment: Any = None
        #: The S3 key of a definition stored in S3 (``None`` when inline).
        self.definition_object_key: str | None = None
        if storage_kind == "inline":
            # A plain dict: the L1 property is untyped (``Any``), so CDK would not rename the typed
            # struct's fields to CloudFormation's PascalCase.
            pipeline_definition: dict[str, Any] = {"PipelineDefinitionBody": stack.to_json_string(definition)}
        else:
            # imported here: aws_s3_deployment (and its Lambda) costs ~0.1 s and only large definitions use it
            from aws_cdk import aws_s3_deployment as s3deploy

            digest = hashlib.sha256(
                (self.built.definition_json + "\n" + json.dumps(code.hashes, sort_keys=True)).encode("utf-8")
            ).hexdigest()
            key = f"{DEFINITION_PREFIX}/{props.pipeline_name}/{digest}.json"
            self.definition_object_key = key
            granted_before = handler_policy_resources(self)
            self.definition_deployment = s3deploy.BucketDeployment(
                self,
                "DefinitionDeployment",
                # No ``escape``: json_data already renders each token as a complete JSON string literal
                # (quotes included); the handler's JSON escaping would escape those quotes again.
                sources=[s3deploy.Source.json_data(key, definition)],
                destination_bucket=self.artifact_bucket,
                prune=False,
                retain_on_delete=True,
            )
            # What this deployment granted its (stack-wide, shared) handler: the only findings of it the
            # library acknowledges.
            destination = [self.artifact_bucket.bucket_arn, self.artifact_bucket.arn_for_objects("*")]
            if self.artifact_bucket.encryption_key is not None:
                destination.append(self.artifact_bucket.encryption_key.key_arn)
            self._deployment_grants = (handler_policy_resources(self) - granted_before) | {
                flatten_cfn_reference(stack.resolve(arn)) for arn in destination
            }
            pipeline_definition = {
                "PipelineDefinitionS3Location": {"Bucket": self.artifact_bucket.bucket_name, "Key": key}
            }
        #: The ``AWS::SageMaker::Pipeline`` resource.
        self.cfn_pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=props.pipeline_name,
            pipeline_definition=pipeline_definition,
            role_arn=self.pipeline_role.role_arn,
            pipeline_description=props.description,
            parallelism_configuration=(
                {"MaxParallelExecutionSteps": props.max_parallel_steps} if props.max_parallel_steps else None
            ),
        )
        if self.definition_deployment is not None:
            self.cfn_pipeline.node.add_dependency(self.definition_deployment)
        for group in self.model_package_groups.values():
            self.cfn_pipeline.node.add_dependency(group)
        for dep in self._policy_dependencies:
            self.cfn_pipeline.node.add_dependency(dep)

    def _operations(self, code: _Code) -> None:
        """Provenance tags on the pipeline resource, then the schedules, data-arrival triggers and failure
        alerts of the props (:mod:`~constructs_lib.constructs.operations`)."""
        props = self.props
        #: The provenance tags of the ``AWS::SageMaker::Pipeline``.
        self.provenance_tags: dict[str, str] = provenance_tags(props.template, code.hashes.values())
        tag_provenance(self.cfn_pipeline, self.provenance_tags)
        locations: list[tuple[str, str]] = []
        for location in props.input_locations:
            if isinstance(location, str):
                loc = parse_s3_uri(location)
                locations.append((loc.bucket, loc.key))
            elif isinstance(location, InputLocation):
                locations.append((location.bucket.bucket_name, location.prefix))
            else:
                locations.append((location.bucket_name, ""))
        operations = add_operations(
            self,
            OperationsContext(
                pipeline=self,
                pipeline_name=props.pipeline_name,
                built=self.built,
                artifact_bucket=self.artifact_bucket,
                input_locations=tuple(locations),
            ),
            schedules=props.schedule,
            triggers=props.trigger,
            alerts=props.alerts,
        )
        #: The schedules' construct (``None`` without ``schedule``).
        self.schedules = operations.schedules
        #: The data-arrival triggers' construct (``None`` without ``trigger``).
        self.triggers = operations.triggers
        #: The failure alerts' construct (``None`` without ``alerts``).
        self.alerts = operations.alerts
        #: The SNS topic alerts go to (``None`` without ``alerts``).
        self.alerts_topic = operations.alerts.topic if operations.alerts is not None else None

    # ------------------------------------------------------------------ helpers
    def _attach(
        self, role: iam.IRole, document: iam.PolicyDocument | None, grants: list[Grant], prop: str
    ) -> None:
        policy_id = "JobRolePolicy" if prop == "job_role" else "PipelineRolePolicy"
        holder = attach(self, role, document, grants, policy_id=policy_id)
        if holder is None:
            Annotations.of(self).add_warning_v2(
                ROLE_NOT_MODIFIED_WARNING_ID,
                f"{prop} is an immutable imported role: no permission was added to it. It needs: "
                + "; ".join(
                    f"{', '.join(g.statement.actions)} on {len(g.statement.resources)} resource(s)"
                    for g in grants
                )
                + ". Import it with mutable=True to let the construct add them, or grant them yourself.",
            )
            return
        if document is None:  # a passed-in role: the pipeline must wait for the policy attached to it
            self._policy_dependencies.append(holder)

    def _location(self, uri: str) -> Any:
        loc = parse_s3_uri(uri)
        leftover = find_placeholders(loc.uri) if loc.bucket != placeholders.ARTIFACT_BUCKET else []
        if leftover:
            raise SynthError(
                "a declared S3 location holds a placeholder the construct cannot map",
                field="access",
                value=uri,
                hint="report a bug: builders may only use the artifact-bucket and code placeholders",
            )
        return loc

    # ------------------------------------------------------------------ API
    @property
    def pipeline_name(self) -> str:
        """The SageMaker pipeline name."""
        return self.props.pipeline_name

    @property
    def pipeline_arn(self) -> str:
        """``arn:<partition>:sagemaker:<region>:<account>:pipeline/<name in lower case>`` (SageMaker
        lower-cases pipeline names in ARNs)."""
        return self._pipeline_arn

    @property
    def pipeline_ref(self) -> sagemaker_refs.PipelineReference:
        """A reference to this pipeline (``IPipelineRef``)."""
        return sagemaker_refs.PipelineReference(pipeline_name=self.props.pipeline_name)

    def grant_start_pipeline_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start this pipeline: ``sagemaker:StartPipelineExecution`` on this pipeline's ARN
        and nothing else (``IPipeline``'s grant; what the Scheduler and EventBridge targets use)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:StartPipelineExecution"], resource_arns=[self.pipeline_arn]
        )

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """Apply ``policy`` to the ``AWS::SageMaker::Pipeline`` (the buckets follow ``retain_on_delete``)."""
        self.cfn_pipeline.apply_removal_policy(policy)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start this pipeline and see its executions: ``sagemaker:StartPipelineExecution``,
        ``sagemaker:DescribePipeline`` and ``sagemaker:ListPipelineExecutions`` on this pipeline's ARN only
        (:meth:`grant_start_pipeline_execution` plus what an operator needs to follow the runs)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipeline",
                "sagemaker:ListPipelineExecutions",
            ],
            resource_arns=[self.pipeline_arn],
        )


class PyTorchTrainingPipeline(SageMakerPipeline):
    """The seed's PyTorch training step as a deployable SageMaker pipeline.

    Give either ``config`` (a one-step pipeline whose step is named ``PyTorchTraining``) or ``template``
    (any DAG that contains at least one ``PyTorchTrainingStep``), not both. Every other prop is
    :class:`SageMakerPipeline`'s, forwarded unchanged.

    Args:
        scope: parent construct; its stack must have a concrete region.
        construct_id: construct id.
        pipeline_name: SageMaker pipeline name. Required.
        config: the training step's config. Default ``None`` (then ``template`` is required).
        template: a full template. Default ``None`` (then ``config`` is required).
        **options: see :class:`~constructs_lib.constructs.props.PipelineProps`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        config: PyTorchTrainingConfig | None = None,
        template: PipelineBuilderTemplate | None = None,
        **options: Unpack[PipelineOptions],
    ) -> None:
        if (config is None) == (template is None):
            raise ConfigError(
                "give exactly one of config and template",
                field="config" if config is None else "template",
                hint="config=PyTorchTrainingConfig(...) for a one-step pipeline, or template=... for a DAG",
            )
        if config is not None:
            if not isinstance(config, PyTorchTrainingConfig):
                raise ConfigError(
                    "config must be a PyTorchTrainingConfig", field="config", value=type(config).__name__
                )
            template = PipelineBuilderTemplate.single_step(config, region=concrete_region(scope))
        if not isinstance(template, PipelineBuilderTemplate):
            raise ConfigError(
                "template must be a PipelineBuilderTemplate", field="template", value=type(template).__name__
            )
        if "PyTorchTrainingStep" not in template.step_types.values():
            raise ConfigError(
                "the template has no PyTorch training step",
                field="template",
                value=sorted(set(template.step_types.values())),
                hint="use SageMakerPipeline for pipelines without a PyTorchTrainingStep",
            )
        super().__init__(scope, construct_id, template=template, pipeline_name=pipeline_name, **options)
