"""``SageMakerPipeline`` (any :class:`PipelineBuilderTemplate`) and ``PyTorchTrainingPipeline`` (the seed's
PyTorch training step) as CDK constructs.

The definition is built by the pure core with placeholders (role, artifact bucket, code locations), then
the placeholders are replaced by CloudFormation references in the finished dict and the dict is rendered
with ``Stack.to_json_string``: the SageMaker SDK never sees a CDK token, and the template holds exactly one
``Fn::Join`` per definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from aws_cdk import Annotations, Stack, Tags, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import limits, placeholders
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.constructs import analysis
from constructs_lib.constructs.code import code_asset
from constructs_lib.constructs.handlers import tidy_cdk_handlers
from constructs_lib.constructs.policies import (
    SAGEMAKER_PRINCIPAL,
    BucketRef,
    Grant,
    attach,
    job_role_statements,
    pipeline_role_statements,
)
from constructs_lib.constructs.storage import ArtifactStorage
from constructs_lib.context import check_pipeline_name
from constructs_lib.definition import canonical_json, check_definition_size, find_placeholders, substitute
from constructs_lib.errors import ConfigError, ConstructsLibError, SynthError
from constructs_lib.template import BuiltPipeline, PipelineBuilderTemplate

__all__ = [
    "DEFAULT_INLINE_THRESHOLD_CHARS",
    "DEFINITION_PREFIX",
    "ROLE_NOT_MODIFIED_WARNING_ID",
    "DefinitionStorage",
    "PyTorchTrainingPipeline",
    "SageMakerPipeline",
    "concrete_region",
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

#: Key prefix, in the artifact bucket, of definitions stored in S3.
DEFINITION_PREFIX = "pipeline-definitions"

#: Id of the warning added when a passed-in role is immutable and could not be given its permissions.
ROLE_NOT_MODIFIED_WARNING_ID = "constructs_lib:role-not-modified"

# Upper bounds of deploy-time values, to check the definition's size before deployment: S3 bucket names
# are at most 63 characters, role ARNs at most 2,048 (botocore RoleArn), CDK asset keys are a 64-hex hash
# plus the extension.
_MAX_BUCKET = "b" * 63
_MAX_ROLE_ARN = "arn:aws-iso-b:iam::000000000000:role/" + "r" * 64
_MAX_ASSET_URL = f"s3://{_MAX_BUCKET}/{'k' * 64}.tar.gz"


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


def _require(value: object, field: str, attributes: tuple[str, ...], hint: str) -> None:
    """``value`` is ``None`` or a construct with ``attributes`` (jsii interfaces cannot be ``isinstance``-d)."""
    if value is not None and not all(hasattr(value, a) for a in attributes):
        raise ConfigError(
            f"must be a CDK construct with {', '.join(attributes)}",
            field=field,
            value=value if isinstance(value, str | int | float) else type(value).__name__,
            hint=f"import an existing one with {hint}",
        )


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    key_shape = limits.shape("TagKey")
    value_shape = limits.shape("TagValue")
    list_shape = limits.shape("TagList")
    if list_shape.max is not None and len(tags) > list_shape.max:
        raise ConfigError(
            f"too many tags: {len(tags)}", field="tags", hint=f"SageMaker allows at most {list_shape.max}"
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
        if len(value) > (value_shape.max or 256) or not value_shape.fullmatch(value):
            raise ConfigError(
                "invalid tag value",
                field=f"tags[{key!r}]",
                value=value,
                hint=f"0-{value_shape.max} characters of letters, digits, spaces and _.:/=+-@",
            )
    return dict(sorted(tags.items()))


#: Above this many distinct key prefixes under ``<pipeline name>/`` in the artifact bucket, the job role's
#: S3 grants name the pipeline's prefix instead (about 200 policy characters per step prefix would pass
#: IAM's 10,240-character limit on a role's inline policies at ~50 steps).
MAX_EXACT_ARTIFACT_PREFIXES = 8


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


class SageMakerPipeline(Construct):
    """A SageMaker pipeline built from a :class:`~constructs_lib.template.PipelineBuilderTemplate`, with
    the roles, bucket and code it needs.

    Creates (unless passed in): a private, versioned, TLS-only artifact bucket with access logs; a job
    role (what the training/processing containers run as) and a pipeline role (what SageMaker Pipelines
    runs as), each with least-privilege inline policies derived from the definition; one S3 file asset
    per local ``source_dir`` (a deterministic ``sourcedir.tar.gz``); and the ``AWS::SageMaker::Pipeline``.

    Args:
        scope: parent construct; its stack must have a concrete region.
        construct_id: construct id.
        template: the pipeline's DAG, configs and builders. Its ``role`` must be ``None`` (the construct
            passes its job role); its ``region`` must be the stack's.
        pipeline_name: SageMaker pipeline name, 1-256 characters ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``. Required;
            it is the pipeline's identity, so changing it replaces the pipeline.
        job_role: role the SageMaker jobs run as. Default ``None``: a new role trusted by
            ``sagemaker.amazonaws.com`` with exactly the permissions the definition needs. A role passed in
            gets those permissions added when it is mutable; an immutable one (``mutable=False``) is left
            as is and a ``constructs_lib:role-not-modified`` warning lists nothing was added.
        pipeline_role: role SageMaker Pipelines runs as. Default ``None``: a new role allowed to create,
            describe, stop and tag the pipeline's job kinds and to pass ``job_role`` to SageMaker only.
            A passed-in role is treated like ``job_role``.
        artifact_bucket: bucket for outputs, default input locations and (when stored in S3) the
            definition. Default ``None``: a new bucket (see ``kms_encryption``, ``retain_on_delete``) plus
            its access-log bucket.
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
            ``"s3"`` stores it in the artifact bucket under ``pipeline-definitions/<name>/<hash>.json`` with
            a CDK ``BucketDeployment`` (deploy-time values substituted at deploy time) and references it
            (``PipelineDefinitionS3Location``); ``"auto"`` (default) is inline up to
            ``inline_threshold_chars`` and S3 beyond.
        inline_threshold_chars: the ``"auto"`` switch point. Default
            :data:`DEFAULT_INLINE_THRESHOLD_CHARS` (20,000).
        description: the pipeline's description (at most 3,072 characters). Default ``None``: none.
        tags: tags for the pipeline and every taggable resource of this construct (SageMaker tag rules:
            at most 50; keys 1-128, values 0-256 characters; no ``aws:`` keys). Default ``None``: none.

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
        job_role: iam.IRole | None = None,
        pipeline_role: iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        kms_encryption: bool = False,
        retain_on_delete: bool = True,
        definition_storage: DefinitionStorage = "auto",
        inline_threshold_chars: int = DEFAULT_INLINE_THRESHOLD_CHARS,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        try:
            self._setup(
                template=template,
                pipeline_name=pipeline_name,
                job_role=job_role,
                pipeline_role=pipeline_role,
                artifact_bucket=artifact_bucket,
                encryption_key=encryption_key,
                kms_encryption=kms_encryption,
                retain_on_delete=retain_on_delete,
                definition_storage=definition_storage,
                inline_threshold_chars=inline_threshold_chars,
                description=description,
                tags=tags,
            )
        except ConstructsLibError:
            raise
        except Exception as exc:  # jsii / CDK errors get the construct's context
            raise SynthError(
                f"construct {self.node.path!r}: CDK failed while building the pipeline: "
                f"{type(exc).__name__}: {exc}",
                hint="check the construct's props; report a bug if they are valid",
            ) from exc

    # ------------------------------------------------------------------ construction
    def _setup(
        self,
        *,
        template: PipelineBuilderTemplate,
        pipeline_name: str,
        job_role: iam.IRole | None,
        pipeline_role: iam.IRole | None,
        artifact_bucket: s3.IBucket | None,
        encryption_key: kms.IKey | None,
        kms_encryption: bool,
        retain_on_delete: bool,
        definition_storage: DefinitionStorage,
        inline_threshold_chars: int,
        description: str | None,
        tags: Mapping[str, str] | None,
    ) -> None:
        stack = Stack.of(self)
        if not isinstance(template, PipelineBuilderTemplate):
            raise ConfigError(
                "template must be a PipelineBuilderTemplate", field="template", value=type(template).__name__
            )
        if Token.is_unresolved(pipeline_name):
            raise ConfigError(
                "pipeline_name must be a plain string, not a CDK token",
                field="pipeline_name",
                hint="the name is used in S3 locations and ARNs at synth time",
            )
        check_pipeline_name(pipeline_name)
        if definition_storage not in get_args(DefinitionStorage):
            raise ConfigError(
                "unknown definition_storage",
                field="definition_storage",
                value=definition_storage,
                hint="one of 'auto', 'inline', 's3'",
            )
        if not isinstance(inline_threshold_chars, int) or inline_threshold_chars < 1:
            raise ConfigError(
                "must be a positive number of characters",
                field="inline_threshold_chars",
                value=inline_threshold_chars,
            )
        if description is not None:
            if not isinstance(description, str):
                raise ConfigError("must be a string", field="description", value=description)
            max_desc = limits.shape("PipelineDescription").max or 3072
            if len(description) > max_desc:
                raise ConfigError(
                    f"description is {len(description)} characters; SageMaker allows {max_desc}",
                    field="description",
                )
        _require(job_role, "job_role", ("role_arn", "add_to_principal_policy"), "iam.Role.from_role_arn(...)")
        _require(
            pipeline_role,
            "pipeline_role",
            ("role_arn", "add_to_principal_policy"),
            "iam.Role.from_role_arn(...)",
        )
        _require(
            artifact_bucket,
            "artifact_bucket",
            ("bucket_name", "bucket_arn"),
            "s3.Bucket.from_bucket_name(...)",
        )
        _require(encryption_key, "encryption_key", ("key_arn",), "kms.Key.from_key_arn(...)")
        if tags is not None and not isinstance(tags, Mapping):
            raise ConfigError(
                "must be a mapping of tag keys to values",
                field="tags",
                value=tags,
                hint='e.g. {"team": "ml"}',
            )
        checked_tags = _check_tags(tags or {})
        if artifact_bucket is not None and kms_encryption:
            raise ConfigError(
                "kms_encryption creates a key for a bucket this construct creates; it cannot re-encrypt a "
                "passed-in artifact_bucket",
                field="kms_encryption",
                hint="pass encryption_key=<the bucket's key> so the job role can use it, or drop artifact_bucket",
            )
        if template.role is not None:
            raise ConfigError(
                "the template has a role; the construct sets the job role itself",
                field="template.role",
                value=template.role,
                hint="build the template with role=None and pass job_role=iam.Role.from_role_arn(...)",
            )
        region = concrete_region(self)
        if template.region != region:
            raise SynthError(
                f"the template builds for region {template.region!r} but the stack deploys to {region!r}",
                field="region",
                value=template.region,
                hint="build the template with region=Stack.of(scope).region (image URIs are regional)",
            )

        self._config_map: Mapping[str, Any] = dict(template.config_map)
        self._policy_dependencies: list[Construct] = []
        #: The SageMaker pipeline name.
        self.pipeline_name: str = pipeline_name
        #: ``arn:<partition>:sagemaker:<region>:<account>:pipeline/<name in lower case>`` (SageMaker
        #: lower-cases pipeline names in ARNs).
        self.pipeline_arn: str = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=pipeline_name.lower()
        )

        # ---- storage
        self.storage: ArtifactStorage | None = None
        if artifact_bucket is None:
            self.storage = ArtifactStorage(
                self,
                "Storage",
                kms_encryption=kms_encryption,
                encryption_key=encryption_key,
                retain_on_delete=retain_on_delete,
            )
            artifact_bucket = self.storage.bucket
            encryption_key = self.storage.encryption_key
        elif encryption_key is None:
            encryption_key = artifact_bucket.encryption_key
        #: The artifact bucket (created here or passed in).
        self.artifact_bucket: s3.IBucket = artifact_bucket
        #: Access-log bucket of a created artifact bucket; ``None`` for a passed-in one.
        self.access_log_bucket: s3.IBucket | None = self.storage.access_log_bucket if self.storage else None
        #: KMS key of the artifact bucket; ``None`` with SSE-S3.
        self.encryption_key: kms.IKey | None = encryption_key

        # ---- roles (created before the definition: the definition references the job role's ARN)
        self._job_document: iam.PolicyDocument | None = None
        if job_role is None:
            self._job_document = iam.PolicyDocument()
            job_role = iam.Role(
                self,
                "JobRole",
                assumed_by=iam.ServicePrincipal(SAGEMAKER_PRINCIPAL),
                description=f"SageMaker jobs of pipeline {pipeline_name} run as this role",
                inline_policies={"JobPermissions": self._job_document},
            )
        #: The role SageMaker jobs run as.
        self.job_role: iam.IRole = job_role
        self._pipeline_document: iam.PolicyDocument | None = None
        if pipeline_role is None:
            self._pipeline_document = iam.PolicyDocument()
            pipeline_role = iam.Role(
                self,
                "PipelineRole",
                assumed_by=iam.ServicePrincipal(SAGEMAKER_PRINCIPAL),
                description=f"SageMaker Pipelines runs pipeline {pipeline_name} as this role",
                inline_policies={"PipelinePermissions": self._pipeline_document},
            )
        #: The role SageMaker Pipelines runs the pipeline as.
        self.pipeline_role: iam.IRole = pipeline_role

        # ---- definition
        try:
            built = template.build(pipeline_name)
        except ConstructsLibError:
            raise
        except Exception as exc:
            raise SynthError(
                f"building the pipeline definition failed: {type(exc).__name__}: {exc}",
                step=pipeline_name,
                hint="check the step configs",
            ) from exc
        #: The core's build result (definition with placeholders, code packages, S3 access, ...).
        self.built: BuiltPipeline = built

        #: Training code assets, by DAG node.
        self.code_assets: dict[str, s3_assets.Asset] = {}
        code_urls: dict[str, str] = {}
        code_hashes: dict[str, str] = {}
        for package in built.code_packages:
            asset = code_asset(self, f"SourceCode-{package.node}", package)
            self.code_assets[package.node] = asset
            code_urls[package.placeholder_uri] = asset.s3_object_url
            code_hashes[package.placeholder_uri] = asset.asset_hash

        replacements = {
            f"s3://{placeholders.ARTIFACT_BUCKET}": f"s3://{artifact_bucket.bucket_name}",
            placeholders.JOB_ROLE_ARN: job_role.role_arn,
            **code_urls,
        }
        definition: dict[str, Any] = substitute(built.definition, replacements)
        left = find_placeholders(definition)
        if left:
            raise SynthError(
                "placeholders left in the pipeline definition after substitution",
                step=pipeline_name,
                value=left,
                hint="a builder used a placeholder the construct does not know; report a bug",
            )
        worst_case = substitute(
            built.definition,
            {
                f"s3://{placeholders.ARTIFACT_BUCKET}": f"s3://{_MAX_BUCKET}",
                placeholders.JOB_ROLE_ARN: _MAX_ROLE_ARN
                if Token.is_unresolved(job_role.role_arn)
                else job_role.role_arn,
                **dict.fromkeys(code_urls, _MAX_ASSET_URL),
            },
        )
        #: Length of the definition with every deploy-time value at its maximum length.
        self.definition_size_chars: int = check_definition_size(
            canonical_json(worst_case), pipeline=pipeline_name
        )

        # ---- permissions
        self._grant_job_role(built, definition=built.definition)
        kinds = analysis.job_kinds(built.definition)
        self._attach(
            self.pipeline_role,
            self._pipeline_document,
            pipeline_role_statements(stack=stack, job_kinds=kinds, job_role_arn=job_role.role_arn),
            "pipeline_role",
        )

        # ---- the pipeline
        storage_kind = definition_storage
        if storage_kind == "auto":
            storage_kind = "s3" if self.definition_size_chars > inline_threshold_chars else "inline"
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
                (built.definition_json + "\n" + json.dumps(code_hashes, sort_keys=True)).encode("utf-8")
            ).hexdigest()
            key = f"{DEFINITION_PREFIX}/{pipeline_name}/{digest}.json"
            self.definition_object_key = key
            self.definition_deployment = s3deploy.BucketDeployment(
                self,
                "DefinitionDeployment",
                # No ``escape``: json_data already renders each token as a complete JSON string literal
                # (quotes included); the handler's JSON escaping would escape those quotes again.
                sources=[s3deploy.Source.json_data(key, definition)],
                destination_bucket=artifact_bucket,
                prune=False,
                retain_on_delete=True,
            )
            pipeline_definition = {
                "PipelineDefinitionS3Location": {"Bucket": artifact_bucket.bucket_name, "Key": key}
            }
        #: The ``AWS::SageMaker::Pipeline`` resource.
        self.cfn_pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_definition=pipeline_definition,
            role_arn=pipeline_role.role_arn,
            pipeline_description=description,
        )
        if self.definition_deployment is not None:
            self.cfn_pipeline.node.add_dependency(self.definition_deployment)
        for dep in self._policy_dependencies:
            self.cfn_pipeline.node.add_dependency(dep)
        for key_name, value in checked_tags.items():
            Tags.of(self).add(key_name, value)
        tidy_cdk_handlers(self)

    def _attach(
        self, role: iam.IRole, document: iam.PolicyDocument | None, grants: list[Grant], prop: str
    ) -> None:
        before = {c.node.path for c in role.node.find_all()}
        if not attach(self, role, document, grants):
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
        if document is None:  # a mutable imported role: the pipeline must wait for its new policy
            self._policy_dependencies.extend(
                c for c in role.node.find_all() if c.node.path not in before and isinstance(c, iam.Policy)
            )

    def _grant_job_role(self, built: BuiltPipeline, *, definition: Mapping[str, Any]) -> None:
        stack = Stack.of(self)
        bucket = self.artifact_bucket

        def ref(name: str) -> BucketRef:
            if analysis.is_placeholder_bucket(name):
                return BucketRef(bucket.bucket_arn, label="")  # the artifact bucket sorts first
            return BucketRef(f"arn:{stack.partition}:s3:::{name}", label=name)

        code_objects = {
            uri: asset.bucket.arn_for_objects(asset.s3_object_key)
            for uri, asset in ((p.placeholder_uri, self.code_assets[p.node]) for p in built.code_packages)
        }
        reads: list[tuple[BucketRef, str]] = []
        writes: list[tuple[BucketRef, str]] = []
        for node in sorted(built.s3_access):
            access = built.s3_access[node]
            for uri in access.reads:
                if uri in code_objects:
                    continue
                loc = self._location(uri, node)
                reads.append((ref(loc.bucket), loc.key))
            for uri in access.writes:
                loc = self._location(uri, node)
                writes.append((ref(loc.bucket), loc.key))
        for uri in analysis.parameter_default_reads(definition):
            loc = self._location(uri, None)
            reads.append((ref(loc.bucket), loc.key))
        # A step's outputs are its successors' inputs (wired as property references, which name no
        # URI): every output prefix is readable too.
        reads.extend(writes)
        reads = _merge_pipeline_prefixes(reads, self.pipeline_name)
        writes = _merge_pipeline_prefixes(writes, self.pipeline_name)

        envs = {node: dict(getattr(cfg, "env", None) or {}) for node, cfg in self._config_map.items()}
        key_arns = [self.encryption_key.key_arn] if self.encryption_key is not None else []
        grants = job_role_statements(
            stack=stack,
            reads=reads,
            writes=writes,
            code_objects=list(code_objects.values()),
            job_kinds=analysis.job_kinds(definition),
            ecr=analysis.ecr_repositories(definition),
            codeartifact=analysis.codeartifact_repositories(envs),
            key_arns=key_arns,
        )
        self._attach(self.job_role, self._job_document, grants, "job_role")

    def _location(self, uri: str, node: str | None) -> analysis.S3Location:
        loc = analysis.parse_s3_uri(uri, step=node)
        leftover = find_placeholders(loc.uri) if not analysis.is_placeholder_bucket(loc.bucket) else []
        if leftover:
            raise SynthError(
                "a declared S3 location holds a placeholder the construct cannot map",
                step=node,
                field="s3_access",
                value=uri,
                hint="report a bug: builders may only use the artifact-bucket and code placeholders",
            )
        return loc

    # ------------------------------------------------------------------ API
    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start this pipeline and see its executions: ``sagemaker:StartPipelineExecution``,
        ``sagemaker:DescribePipeline`` and ``sagemaker:ListPipelineExecutions`` on this pipeline's ARN only."""
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
    :class:`SageMakerPipeline`'s, with the same defaults.

    Args:
        scope: parent construct; its stack must have a concrete region.
        construct_id: construct id.
        pipeline_name: SageMaker pipeline name. Required.
        config: the training step's config. Default ``None`` (then ``template`` is required).
        template: a full template. Default ``None`` (then ``config`` is required).
        job_role, pipeline_role, artifact_bucket, encryption_key, kms_encryption, retain_on_delete,
            definition_storage, inline_threshold_chars, description, tags: see :class:`SageMakerPipeline`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        config: PyTorchTrainingConfig | None = None,
        template: PipelineBuilderTemplate | None = None,
        job_role: iam.IRole | None = None,
        pipeline_role: iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        kms_encryption: bool = False,
        retain_on_delete: bool = True,
        definition_storage: DefinitionStorage = "auto",
        inline_threshold_chars: int = DEFAULT_INLINE_THRESHOLD_CHARS,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
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
        assert template is not None
        if "PyTorchTrainingStep" not in template.node_types.values():
            raise ConfigError(
                "the template has no PyTorch training step",
                field="template",
                value=sorted(set(template.node_types.values())),
                hint="use SageMakerPipeline for pipelines without a PyTorchTrainingStep",
            )
        super().__init__(
            scope,
            construct_id,
            template=template,
            pipeline_name=pipeline_name,
            job_role=job_role,
            pipeline_role=pipeline_role,
            artifact_bucket=artifact_bucket,
            encryption_key=encryption_key,
            kms_encryption=kms_encryption,
            retain_on_delete=retain_on_delete,
            definition_storage=definition_storage,
            inline_threshold_chars=inline_threshold_chars,
            description=description,
            tags=tags,
        )
