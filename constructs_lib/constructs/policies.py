"""Least-privilege IAM statements for the job role and the pipeline role, derived from the steps'
:class:`~constructs_lib.access.AccessNeeds` alone (never from configs or the definition's text).

No managed policies and no ``*`` action: each statement names its actions, and its resources are the
exact ARNs the pipeline touches. Where a resource must end in ``*`` (object keys and job names SageMaker
generates) or IAM has no resource-level permission (``Resource: *``), the statement carries the reason,
and :func:`attach` acknowledges exactly that cdk-nag finding with it, on exactly the CloudFormation
resource that holds the library's statements (never on a role or parent that also holds the user's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws, CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.access import EcrRepository
from constructs_lib.codeartifact import CodeArtifactRepository
from constructs_lib.constructs.nag import (
    R_ENI,
    R_JOB_ARNS,
    R_LOG_GROUP,
    R_LOG_STREAMS,
    R_MODEL_PACKAGES,
    R_S3_PREFIX,
    R_STAR,
)
from constructs_lib.errors import SynthError
from constructs_lib.names import parse_group_arn

__all__ = [
    "MODEL_PACKAGE_GROUP_ACTIONS",
    "RESOURCE_ACTIONS",
    "BucketRef",
    "Grant",
    "S3Read",
    "job_role_statements",
    "model_package_arns",
    "network_statements",
    "object_read",
    "output_key_statements",
    "pipeline_role_statements",
    "prefix_read",
    "volume_key_statements",
]

#: SageMaker resource type a step creates -> the API actions the pipeline role calls for it, in the order
#: statements are written.
RESOURCE_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "training-job": (
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ),
    "processing-job": (
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ),
    "model": ("sagemaker:CreateModel", "sagemaker:DescribeModel"),
    "transform-job": (
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    ),
    # a model version in a model package group (the registration step); its resources are the
    # packages of the groups in AccessNeeds.model_package_groups, not model-package/*
    "model-package": ("sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"),
}

#: What registering into a model package group calls on the group itself (SageMaker Pipelines describes
#: it, and creates it when it does not exist yet).
MODEL_PACKAGE_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup")


def model_package_arns(stack: Stack, group: str) -> tuple[str, str]:
    """``(group ARN, ARN of its packages "<group>/*")`` of ``group``: a name (a group of ``stack``'s account
    and region) or an existing group's ARN. Unlike job ARNs, model package ARNs keep the group name's case
    (``model-package/modelPackageGroupTurbine/1``)."""
    arn = parse_group_arn(group)
    if arn is None:
        base = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}"
        name = group
    else:
        base = f"arn:{arn.partition}:sagemaker:{arn.region}:{arn.account}"
        name = arn.name
    return f"{base}:model-package-group/{name}", f"{base}:model-package/{name}/*"


def ordered_kinds(creates: Iterable[str]) -> list[str]:
    """``creates`` in :data:`RESOURCE_ACTIONS` order; :class:`SynthError` for a resource type without a
    mapping (never a silent over- or under-grant)."""
    wanted = set(creates)
    unknown = sorted(wanted - set(RESOURCE_ACTIONS))
    if unknown:
        raise SynthError(
            f"no IAM mapping for the SageMaker resource types {unknown}",
            field="access.creates",
            value=unknown,
            hint=f"supported: {', '.join(RESOURCE_ACTIONS)}; add it to "
            "constructs_lib.constructs.policies.RESOURCE_ACTIONS",
        )
    return [kind for kind in RESOURCE_ACTIONS if kind in wanted]


#: The principal both roles trust.
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"

S3_READ_ACTIONS = ("s3:GetObject",)
S3_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class Grant:
    """A policy statement and, when a resource holds a wildcard, why that is acceptable."""

    statement: iam.PolicyStatement
    reason: str | None = None


@dataclass(frozen=True)
class BucketRef:
    """A bucket: its ARN (a string that may hold CDK tokens) and a plain ``label`` that orders
    statements deterministically (token strings must never be sorted: their numbering is not stable).
    """

    arn: str
    label: str

    def objects(self, pattern: str) -> str:
        """ARN of the keys matching ``pattern`` (e.g. ``prefix/*``)."""
        return f"{self.arn}/{pattern}"


def _unique(items: Iterable[str]) -> list[str]:
    """``items`` without repeats, in their first order."""
    return list(dict.fromkeys(items))


def _pattern(key: str) -> str:
    """SageMaker's ``S3Prefix`` semantics: every key that starts with ``key``."""
    return f"{key}*"


def _output_pattern(key: str) -> str:
    """SageMaker writes ``<S3OutputPath>/<job-name>/...``: every key below the ``key`` "directory"."""
    return f"{key.rstrip('/')}/*" if key else "*"


def _sid(prefix: str, index: int, total: int) -> str:
    return prefix if total == 1 else f"{prefix}{index}"


@dataclass(frozen=True)
class S3Read:
    """Objects a job reads: ``pattern`` under ``bucket`` (``s3:GetObject``), and when ``listed`` also the
    listing of keys matching it (``s3:ListBucket`` limited by ``s3:prefix``), as SageMaker lists an
    ``S3Prefix`` input before it downloads it."""

    bucket: BucketRef
    pattern: str
    listed: bool


def prefix_read(bucket: BucketRef, key: str) -> S3Read:
    """SageMaker's ``S3Prefix`` semantics: every key that starts with ``key``, listed then fetched."""
    return S3Read(bucket, _pattern(key), listed=True)


def object_read(bucket: BucketRef, key: str) -> S3Read:
    """One object fetched with ``s3:GetObject`` (e.g. a training job's code tarball)."""
    return S3Read(bucket, key, listed=False)


def job_role_statements(
    *,
    stack: Stack,
    reads: Sequence[S3Read],
    writes: Sequence[tuple[BucketRef, str]],
    log_groups: Sequence[str],
    ecr: Sequence[EcrRepository],
    codeartifact: Sequence[CodeArtifactRepository],
    key_arns: Sequence[str],
) -> list[Grant]:
    """The job role's statements (deterministic order and ``Sid`` s).

    Args:
        stack: the stack (its region and account go into ARNs).
        reads: what the jobs read (``s3:GetObject`` on each pattern; ``s3:ListBucket`` on the bucket,
            limited by an ``s3:prefix`` condition, for the listed ones).
        writes: ``(bucket, key prefix)`` the jobs write below (``s3:PutObject``/``AbortMultipartUpload``).
        log_groups: CloudWatch log groups (and metric namespaces) the jobs write to.
        ecr: the image repositories to pull from.
        codeartifact: repositories to install packages from (empty: no CodeArtifact statement).
        key_arns: KMS keys of the buckets the jobs use (empty: no KMS statement).

    Statements and resources are ordered by plain strings (bucket labels, key patterns, ARNs without
    tokens) or kept in the given order, never by token strings.
    """
    grants: list[Grant] = []
    buckets = {r.bucket.label: r.bucket for r in reads}
    patterns = sorted({(r.bucket.label, r.pattern) for r in reads})
    if patterns:
        resources = [buckets[label].objects(p) for label, p in patterns]
        grants.append(
            Grant(
                iam.PolicyStatement(sid="ReadInputs", actions=list(S3_READ_ACTIONS), resources=resources),
                R_S3_PREFIX,
            )
        )
    listed = sorted({(r.bucket.label, r.pattern) for r in reads if r.listed})
    labels = sorted({label for label, _ in listed})
    for i, label in enumerate(labels):
        prefixes = sorted({p for lb, p in listed if lb == label})
        conditions = None if "*" in prefixes else {"StringLike": {"s3:prefix": prefixes}}
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid=_sid("ListInputs", i, len(labels)),
                    actions=["s3:ListBucket"],
                    resources=[buckets[label].arn],
                    conditions=conditions,
                )
            )
        )
    if writes:
        write_buckets = {b.label: b for b, _ in writes}
        write_keys = sorted({(b.label, _output_pattern(k)) for b, k in writes})
        resources = [write_buckets[label].objects(p) for label, p in write_keys]
        grants.append(
            Grant(
                iam.PolicyStatement(sid="WriteOutputs", actions=list(S3_WRITE_ACTIONS), resources=resources),
                R_S3_PREFIX,
            )
        )
    if key_arns:
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="UseBucketKey", actions=list(KMS_ACTIONS), resources=_unique(key_arns)
                )
            )
        )
    if log_groups:
        base = f"arn:{Aws.PARTITION}:logs:{stack.region}:{stack.account}:log-group:"
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="CreateLogGroups",
                    actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                    # IAM authorizes these actions on ``log-group:<name>:*`` (CloudWatch Logs' own ARN form
                    # for every action but the tagging ones), never on the bare group ARN.
                    resources=[f"{base}{g}:*" for g in log_groups],
                ),
                R_LOG_GROUP,
            )
        )
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="WriteLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{base}{g}:log-stream:*" for g in log_groups],
                ),
                R_LOG_STREAMS,
            )
        )
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="PutMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": log_groups}},
                ),
                R_STAR,
            )
        )
    if ecr:
        grants.append(
            Grant(
                iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                R_STAR,
            )
        )
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="PullImages",
                    actions=list(ECR_PULL_ACTIONS),
                    resources=[
                        f"arn:{Aws.PARTITION}:ecr:{r.region}:{r.account}:repository/{r.repository}"
                        for r in ecr
                    ],
                )
            )
        )
    if codeartifact:
        grants.extend(codeartifact_statements(codeartifact))
    return grants


def codeartifact_statements(repositories: Iterable[CodeArtifactRepository]) -> list[Grant]:
    """Read access to CodeArtifact repositories: a token for the domain, the repository endpoint and
    packages, and the STS bearer token CodeArtifact's token exchange needs."""
    repos = list(repositories)
    return [
        Grant(
            iam.PolicyStatement(
                sid="CodeArtifactToken",
                actions=["codeartifact:GetAuthorizationToken"],
                resources=sorted({r.domain_arn for r in repos}),
            )
        ),
        Grant(
            iam.PolicyStatement(
                sid="CodeArtifactRead",
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=sorted({r.repository_arn for r in repos}),
            )
        ),
        Grant(
            iam.PolicyStatement(
                sid="CodeArtifactBearerToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            ),
            R_STAR,
        ),
    ]


def output_key_statements(key_arns: Sequence[str]) -> list[Grant]:
    """The job role encrypts its outputs and checkpoints with the output KMS key: S3 server-side encryption
    needs ``kms:GenerateDataKey`` to write and ``kms:Decrypt`` for multipart parts and reads, only through S3
    (``kms:ViaService``); SageMaker's ``OutputDataConfig.KmsKeyId`` also documents ``kms:Encrypt`` for the
    execution role (SageMaker's own call, so no ``kms:ViaService`` to rely on)."""
    if not key_arns:
        return []
    keys = _unique(key_arns)
    return [
        Grant(
            iam.PolicyStatement(
                sid="UseOutputKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=keys,
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.{Aws.URL_SUFFIX}"}},
            )
        ),
        Grant(iam.PolicyStatement(sid="EncryptOutputs", actions=["kms:Encrypt"], resources=keys)),
    ]


def volume_key_statements(key_arns: Sequence[str]) -> list[Grant]:
    """A volume KMS key: SageMaker creates a grant on it for the job's ML storage volumes; the grant may be
    for AWS resources only (``kms:GrantIsForAWSResource``), and the key may be described."""
    if not key_arns:
        return []
    keys = _unique(key_arns)
    return [
        Grant(
            iam.PolicyStatement(
                sid="GrantVolumeKey",
                actions=["kms:CreateGrant"],
                resources=keys,
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        ),
        Grant(iam.PolicyStatement(sid="DescribeVolumeKey", actions=["kms:DescribeKey"], resources=keys)),
    ]


def network_statements(*, stack: Stack, subnet_ids: Sequence[str], group_ids: Sequence[str]) -> list[Grant]:
    """VPC mode: the job role creates, shares and deletes the jobs' network interfaces in the given subnets
    only (``ec2:Subnet``), with the given security groups, and may describe the VPC (the ``Describe*``
    actions have no resource-level permissions)."""
    if not subnet_ids:
        return []
    base = f"arn:{Aws.PARTITION}:ec2:{stack.region}:{stack.account}"
    eni = f"{base}:network-interface/*"
    subnet_arns = [f"{base}:subnet/{s}" for s in subnet_ids]
    in_subnets = {"ArnEquals": {"ec2:Subnet": subnet_arns}}
    return [
        Grant(
            iam.PolicyStatement(
                sid="CreateJobEnis",
                actions=["ec2:CreateNetworkInterface"],
                resources=[eni],
                conditions=in_subnets,
            ),
            R_ENI,
        ),
        Grant(
            iam.PolicyStatement(
                sid="UseJobSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[*subnet_arns, *(f"{base}:security-group/{g}" for g in group_ids)],
            )
        ),
        Grant(
            iam.PolicyStatement(
                sid="ManageJobEnis",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[eni],
                conditions=in_subnets,
            ),
            R_ENI,
        ),
        Grant(
            iam.PolicyStatement(
                sid="DescribeNetwork",
                actions=[
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            ),
            R_STAR,
        ),
    ]


def pipeline_role_statements(
    *,
    stack: Stack,
    creates: Iterable[str],
    job_role_arn: str,
    model_package_groups: Sequence[str] = (),
    reads: Sequence[S3Read] = (),
    key_arns: Sequence[str] = (),
) -> list[Grant]:
    """The pipeline role's statements: create/describe/stop each SageMaker resource type the steps create
    (and tag it) in this account and region, model versions only in ``model_package_groups`` (names of
    this account and region, or ARNs), read the objects SageMaker Pipelines itself reads (``reads``: a
    condition's property file, the model data of a registration; with ``key_arns`` to decrypt them), and
    pass the job role to SageMaker only."""
    grants: list[Grant] = []
    arns: list[str] = []
    for kind in ordered_kinds(creates):
        sid = "".join(part.capitalize() for part in kind.split("-"))
        if kind == "model-package":
            if not model_package_groups:
                raise SynthError(
                    "a step creates model packages but names no model package group",
                    field="access.model_package_groups",
                    hint="report a bug: the registration step declares its group",
                )
            groups = [model_package_arns(stack, g) for g in model_package_groups]
            packages = [p for _, p in groups]
            arns.extend(packages)
            grants.append(
                Grant(
                    iam.PolicyStatement(
                        sid="RegisterModelPackages", actions=list(RESOURCE_ACTIONS[kind]), resources=packages
                    ),
                    R_MODEL_PACKAGES,
                )
            )
            grants.append(
                Grant(
                    iam.PolicyStatement(
                        sid="UseModelPackageGroups",
                        actions=list(MODEL_PACKAGE_GROUP_ACTIONS),
                        resources=[g for g, _ in groups],
                    )
                )
            )
            continue
        arn = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}:{kind}/*"
        arns.append(arn)
        grants.append(
            Grant(
                iam.PolicyStatement(sid=f"Run{sid}", actions=list(RESOURCE_ACTIONS[kind]), resources=[arn]),
                R_JOB_ARNS,
            )
        )
    if reads:
        buckets = {r.bucket.label: r.bucket for r in reads}
        patterns = sorted({(r.bucket.label, r.pattern) for r in reads})
        grants.append(
            Grant(
                iam.PolicyStatement(
                    sid="ReadStepOutputs",
                    actions=list(S3_READ_ACTIONS),
                    resources=[buckets[label].objects(p) for label, p in patterns],
                ),
                R_S3_PREFIX,
            )
        )
        if key_arns:
            grants.append(
                Grant(
                    iam.PolicyStatement(
                        sid="DecryptStepOutputs", actions=["kms:Decrypt"], resources=_unique(key_arns)
                    )
                )
            )
    if arns:
        grants.append(
            Grant(
                iam.PolicyStatement(sid="TagJobs", actions=["sagemaker:AddTags"], resources=arns), R_JOB_ARNS
            )
        )
    grants.append(
        Grant(
            iam.PolicyStatement(
                sid="PassJobRole",
                actions=["iam:PassRole"],
                resources=[job_role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_PRINCIPAL}},
            )
        )
    )
    return grants


def attach(
    scope: Construct,
    role: iam.IRole,
    document: iam.PolicyDocument | None,
    grants: Sequence[Grant],
    *,
    policy_id: str,
) -> CfnResource | None:
    """Give ``role`` the ``grants`` and acknowledge each wildcard resource's cdk-nag finding, with the
    grant's reason, on exactly the CloudFormation resource that holds the library's statements.

    * A role this library created (``document`` is its inline policy): the statements go into that
      inline policy, which CloudFormation keeps inside the ``AWS::IAM::Role`` resource; the findings are
      acknowledged on that resource only. Statements a user adds later with
      ``role.add_to_principal_policy(...)`` go to the role's separate ``DefaultPolicy`` resource, which no
      acknowledgment covers.
    * A role passed in (imported, or created by the user): the statements get their own ``iam.Policy``
      (``policy_id``, a child of ``scope``) attached to the role, never the role's ``DefaultPolicy``
      (where the user's own statements go); the findings are acknowledged on that policy's
      ``AWS::IAM::Policy`` only.

    Returns the resource that holds the statements, or ``None`` when nothing could be attached (an
    immutable imported role: its policy construct is removed again).
    """
    from constructs_lib.constructs.nag import acknowledge_findings, resource_findings

    holder: CfnResource
    if document is not None:
        if grants:
            document.add_statements(*(grant.statement for grant in grants))
        default_child = role.node.default_child
        if not isinstance(default_child, CfnResource):  # pragma: no cover - iam.Role always has one
            raise SynthError(
                f"role {role.node.path!r} has no CloudFormation resource to hold its inline policy",
                hint="report a bug",
            )
        holder = default_child
    else:
        policy = iam.Policy(scope, policy_id, statements=[g.statement for g in grants])
        role.attach_inline_policy(policy)
        cfn_policy = policy.node.default_child
        # An immutable imported role accepts the call and attaches nothing: the policy then names no role.
        if not isinstance(cfn_policy, CfnResource) or not Stack.of(scope).resolve(
            getattr(cfn_policy, "roles", None)
        ):
            scope.node.try_remove_child(policy_id)
            return None
        holder = cfn_policy
    # one resolve for every resource of the grants with a reason (each jsii call is a round trip)
    reasoned = [
        (resource, grant.reason)
        for grant in grants
        if grant.reason is not None
        for resource in grant.statement.resources
    ]
    findings: dict[str, str] = {}
    for finding, (_, reason) in zip(
        resource_findings(scope, [r for r, _ in reasoned]), reasoned, strict=True
    ):
        if "*" in finding:
            findings.setdefault(finding, reason)
    acknowledge_findings(holder, "AwsSolutions-IAM5", dict(sorted(findings.items())))
    return holder
