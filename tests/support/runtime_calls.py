"""What AWS does at run time with a synthesized stack: every call SageMaker Pipelines, the SageMaker jobs and
the other services make, under which principal, on which resource, with which request context keys.

Derived from the synthesized CloudFormation template only (never from the library's internal objects):
the ``AWS::SageMaker::Pipeline`` definitions are resolved with fake physical values, then each step's
``Arguments`` (the Create* request SageMaker Pipelines sends) are read the way AWS's documentation says the
service uses them. The policies come from the same template (and, for the CDK assets bucket, from the
bootstrap template shipped with the pinned CDK CLI). :func:`check` evaluates each call with
:mod:`support.iam_eval`.

Documentation each call relies on (``Call.source`` names a key of :data:`SOURCES`).
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from constructs_lib.definition import all_steps
from support.iam_eval import Decision, Request, Statement, evaluate, statements_of
from support.intrinsics import Physical, resolve

ROOT = Path(__file__).resolve().parents[2]
#: The CDK bootstrap template of the pinned CDK CLI (``package.json``): the assets bucket's policy.
BOOTSTRAP_TEMPLATE = (
    ROOT / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"
)

#: Title and URL of each document a call is derived from.
SOURCES: dict[str, tuple[str, str]] = {
    "sm-roles": (
        "SageMaker Developer Guide: How to use SageMaker AI execution roles (CreateTrainingJob / "
        "CreateProcessingJob / CreateModel API: Execution Role Permissions; Passing Roles)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html",
    ),
    "processing-s3input": (
        "SageMaker API Reference: ProcessingS3Input (S3DataType S3Prefix: all objects with the key name prefix)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html",
    ),
    "s3datasource": (
        "SageMaker API Reference: S3DataSource (S3Prefix / ManifestFile / AugmentedManifestFile)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html",
    ),
    "s3-listbucket-prefix": (
        "Amazon S3 User Guide: Policy condition keys (s3:prefix of ListBucket)",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html",
    ),
    "model-artifacts": (
        "SageMaker API Reference: OutputDataConfig / ModelArtifacts (S3OutputPath/<job name>/output/model.tar.gz)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelArtifacts.html",
    ),
    "checkpoints": (
        "SageMaker Developer Guide: Checkpoints in Amazon SageMaker AI (synced to and from CheckpointConfig.S3Uri)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html",
    ),
    "debugger": (
        "SageMaker API Reference: DebugHookConfig / TensorBoardOutputConfig / ProfilerConfig (S3OutputPath)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DebugHookConfig.html",
    ),
    "submit-dir": (
        "sagemaker-training-toolkit: sagemaker_submit_directory is downloaded with S3 GetObject "
        "(files.download_and_extract); FACTS.md 'Run time in AWS'",
        "https://github.com/aws/sagemaker-training-toolkit/blob/master/src/sagemaker_training/files.py",
    ),
    "cw-logs-arn": (
        "CloudWatch Logs User Guide: Overview of managing access permissions (log group ARN with the trailing "
        ":* for every action except TagResource/UntagResource/ListTagsForResource)",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html",
    ),
    "sm-logging": (
        "SageMaker Developer Guide: Log Amazon SageMaker AI events with Amazon CloudWatch (log groups "
        "/aws/sagemaker/TrainingJobs, ProcessingJobs, TransformJobs; streams <job>/algo-<n>-<epoch>)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html",
    ),
    "sm-metrics": (
        "SageMaker Developer Guide: Amazon SageMaker AI metrics in Amazon CloudWatch (namespaces "
        "/aws/sagemaker/TrainingJobs, /aws/sagemaker/ProcessingJobs, /aws/sagemaker/TransformJobs)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html",
    ),
    "ecr-pull": (
        "Amazon ECR User Guide: Private repository policies / IAM (GetAuthorizationToken on *; "
        "BatchCheckLayerAvailability, GetDownloadUrlForLayer, BatchGetImage on the repository)",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html",
    ),
    "codeartifact": (
        "CodeArtifact User Guide: AWS CodeArtifact authentication and tokens (GetAuthorizationToken on the "
        "domain and sts:GetServiceBearerToken with sts:AWSServiceName); sagemaker-training toolkit >= 4.7.0 "
        "reads CA_REPOSITORY_ARN and calls GetAuthorizationToken/GetRepositoryEndpoint before pip",
        "https://docs.aws.amazon.com/codeartifact/latest/ug/tokens-authentication.html",
    ),
    "kms-s3": (
        "Amazon S3 User Guide: Using server-side encryption with AWS KMS keys (GetObject needs kms:Decrypt, "
        "PutObject kms:GenerateDataKey; kms:ViaService s3.<region>.amazonaws.com)",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html",
    ),
    "kms-volume": (
        "SageMaker Developer Guide: execution role permissions for a volume KMS key (kms:CreateGrant); "
        "AWS KMS Developer Guide: kms:GrantIsForAWSResource (grants that AWS services create for EBS volumes)",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource",
    ),
    "kms-output": (
        "SageMaker API Reference: OutputDataConfig.KmsKeyId (the execution role needs kms:Encrypt; the key "
        "policy must grant the role)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html",
    ),
    "vpc": (
        "SageMaker Developer Guide: Give SageMaker AI training jobs access to resources in your Amazon VPC "
        "(ec2:CreateNetworkInterface... on the job role; condition keys ec2:Subnet, ec2:Vpc)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html",
    ),
    "pipelines-run": (
        "SageMaker Developer Guide: Pipelines IAM access management (the pipeline role calls the Create/Describe/"
        "Stop API of every step's job and passes the step's role); SageMaker API Reference: "
        "CreateTrainingJob/CreateProcessingJob/CreateTransformJob/CreateModel (RoleArn needs iam:PassRole)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html",
    ),
    "tags": (
        "SageMaker API Reference: AddTags; Service Authorization Reference for SageMaker (a Create* call with "
        "Tags needs sagemaker:AddTags on the created resource)",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html",
    ),
    "passrole": (
        "IAM User Guide: Grant a user permissions to pass a role to an AWS service (iam:PassedToService)",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
    ),
    "propertyfile": (
        "SageMaker Developer Guide: Pass Data Between Steps (PropertyFile / JsonGet: the pipeline reads the "
        "processing output file from S3)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-propertyfile.html",
    ),
    "model-registry": (
        "SageMaker Developer Guide: Register a Model Version (CreateModelPackage in a model package group)",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html",
    ),
    "job-names": (
        "SageMaker Developer Guide: Pipelines steps (jobs are named pipelines-<execution-id>-<step>-<suffix>); "
        "FACTS.md 'Run time in AWS'",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html",
    ),
    "scheduler": (
        "EventBridge Scheduler User Guide: Set up the execution role (the schedule's role calls the target: "
        "sagemaker:StartPipelineExecution)",
        "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role",
    ),
    "events-target": (
        "EventBridge User Guide: Permissions for targets (a SageMaker pipeline target uses the target's RoleArn; "
        "SNS targets need a topic policy for events.amazonaws.com, and a KMS key policy for an encrypted topic)",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions",
    ),
    "parameters": (
        "SageMaker Developer Guide: Pipeline parameters (overridden per execution in StartPipelineExecution "
        "PipelineParameters); the documented behaviour to implement: overrides only inside declared input locations",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-parameters.html",
    ),
}

#: Realistic generated values (documented formats).
EXECUTION_ID = "8d0j7ogwl3gl"  # PipelineExecutionId: 12 lowercase alphanumerics
EPOCH = "1767225600"  # log stream suffix: <job>/algo-<n>-<epoch_timestamp>
OVERRIDE_URI = "s3://some-other-bucket/data/"  # an execution parameter override outside the declared inputs
EXAMPLE_OBJECT = "part-00000.csv"
SAGEMAKER = "sagemaker.amazonaws.com"


class CallListError(RuntimeError):
    """The template holds something the call list cannot derive (an unknown step type, an unresolvable
    reference): the test fails with this message instead of silently checking less."""


@dataclass(frozen=True)
class Call:
    """One run-time call.

    Attributes:
        stack: the stack's name.
        step: the pipeline step it belongs to ("" for other principals).
        principal: the caller's ARN, or a service principal.
        action, resource, context: what IAM evaluates.
        purpose: why the service makes the call.
        source: a key of :data:`SOURCES`.
        expect_allowed: False for a call that must be denied (an override outside the declared inputs).
    """

    stack: str
    step: str
    principal: str
    action: str
    resource: str
    context: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    purpose: str = ""
    source: str = ""
    expect_allowed: bool = True

    def request(self) -> Request:
        return Request(self.principal, self.action, self.resource, dict(self.context))


@dataclass
class Principal:
    """An IAM role of the stack and the statements that apply to it (``identity`` is None for a role the
    template does not define: its permissions cannot be checked here)."""

    arn: str
    label: str
    identity: list[Statement] | None
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    call: Call
    decision: Decision

    @property
    def ok(self) -> bool:
        return self.decision.allowed == self.call.expect_allowed


@dataclass
class StackCalls:
    """The run-time calls of one stack and the policies that decide them."""

    stack: str
    calls: list[Call]
    principals: dict[str, Principal]
    bucket_policies: dict[str, list[Statement]]
    key_policies: dict[str, list[Statement]]
    topic_policies: dict[str, list[Statement]]
    display: Callable[[str], str]

    def unverifiable(self) -> list[Call]:
        """Calls under a principal whose policies the template does not hold (an imported role)."""
        return [
            c
            for c in self.calls
            if (p := self.principals.get(c.principal)) is not None and p.identity is None
        ]

    def checkable(self) -> list[Call]:
        skip = set(self.unverifiable())
        return [c for c in self.calls if c not in skip]

    def decide(self, call: Call) -> Decision:
        principal = self.principals.get(call.principal)
        identity: list[Statement] = []
        unknown: list[str] = []
        if principal is not None:
            identity = principal.identity or []
            unknown = principal.unknown
        elif call.principal.startswith("arn:"):
            unknown = [f"policies of {call.principal} (not defined in the template)"]
        resource_policy: list[Statement] = []
        kms = False
        if call.resource.startswith("arn:aws:s3:::"):
            bucket = call.resource[len("arn:aws:s3:::") :].split("/", 1)[0]
            resource_policy = self.bucket_policies.get(bucket, [])
        elif call.resource.startswith("arn:aws:kms:") and call.action.startswith("kms:"):
            kms = True
            if call.resource not in self.key_policies:
                unknown = [*unknown, f"key policy of {call.resource} (not defined in the template)"]
            resource_policy = self.key_policies.get(call.resource, [])
        elif call.resource.startswith("arn:aws:sns:"):
            resource_policy = self.topic_policies.get(call.resource, [])
        parts = call.resource.split(":")
        resource_account = (
            parts[4] if call.resource.startswith("arn:") and len(parts) > 4 and parts[4] else None
        )
        return evaluate(
            call.request(),
            identity=identity,
            resource_policy=resource_policy,
            kms_key_policy=kms,
            unknown_policies=unknown,
            resource_account=resource_account,
        )

    def results(self) -> list[Result]:
        return [Result(c, self.decide(c)) for c in self.checkable()]


# ---------------------------------------------------------------------------------------------------------
# Physical values
# ---------------------------------------------------------------------------------------------------------

#: Resource types whose ``Ref`` is an ARN (CloudFormation resource reference "Return values").
_REF_IS_ARN = {
    "AWS::SNS::Topic": lambda p, name: f"arn:aws:sns:{p.region}:{p.account}:{name}",
    "AWS::IAM::ManagedPolicy": lambda p, name: f"arn:aws:iam::{p.account}:policy/{name}",
}
_ATTRIBUTE_ARNS = {
    ("AWS::SNS::Topic", "TopicArn"): lambda p, name: f"arn:aws:sns:{p.region}:{p.account}:{name}",
    ("AWS::Events::Rule", "Arn"): lambda p, name: f"arn:aws:events:{p.region}:{p.account}:rule/{name}",
    ("AWS::Scheduler::Schedule", "Arn"): lambda p, name: (
        f"arn:aws:scheduler:{p.region}:{p.account}:schedule/default/{name}"
    ),
    ("AWS::SageMaker::Pipeline", "PipelineArn"): lambda p, name: (
        f"arn:aws:sagemaker:{p.region}:{p.account}:pipeline/{name}"
    ),
    # not an ARN, but shaped like the real value (sg- and 17 hex digits; botocore allows 32 characters)
    ("AWS::EC2::SecurityGroup", "GroupId"): lambda p, name: (
        "sg-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:17]
    ),
}


def typed_physical(template: Mapping[str, Any], base: Physical) -> Physical:
    """``base`` (e.g. ``fake_physical``) with ARNs where CloudFormation returns ARNs for the types it does not
    model (an SNS topic's ``Ref``, a rule's ``Arn``, ...)."""
    resources = template.get("Resources", {})

    def type_of(logical: str) -> str:
        return str(resources.get(logical, {}).get("Type", ""))

    refs = dict(base.refs)
    for logical, name in base.refs.items():
        make = _REF_IS_ARN.get(type_of(logical))
        if make is not None:
            refs[logical] = make(base, name)

    def attribute(logical: str, attr: str) -> str:
        make = _ATTRIBUTE_ARNS.get((type_of(logical), attr))
        if make is not None:
            return make(base, base.refs.get(logical, logical))
        return base.attribute(logical, attr)

    return replace(base, refs=refs, attribute=attribute)


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def _s3(uri: str, where: str) -> tuple[str, str]:
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
    if not m:
        raise CallListError(f"{where}: {uri!r} is not an s3:// URI")
    return m.group(1), m.group(2)


def _join(prefix: str, name: str) -> str:
    return prefix + name if prefix.endswith("/") or not prefix else f"{prefix}/{name}"


def _suffix(step: str) -> str:
    """A deterministic 10-character job-name suffix (Pipelines appends a random one)."""
    alphabet = string.ascii_letters + string.digits
    digest = hashlib.sha256(step.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def job_name(step: str, limit: int = 63) -> str:
    """``pipelines-<execution-id>-<step>-<suffix>``, the step part shortened to fit ``limit``."""
    room = limit - len(f"pipelines-{EXECUTION_ID}--{_suffix(step)}")
    return f"pipelines-{EXECUTION_ID}-{step[:room]}-{_suffix(step)}"


def _ecr_repository(image: str, where: str) -> str:
    m = re.fullmatch(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)(?:[:@].*)?", image)
    if not m:
        raise CallListError(f"{where}: image {image!r} is not an ECR image URI")
    account, region, repo = m.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


# ---------------------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, stack: str, template: Mapping[str, Any], physical: Physical) -> None:
        self.stack = stack
        self.template = template
        self.physical = typed_physical(template, physical)
        self.region = self.physical.region
        self.account = self.physical.account
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.calls: list[Call] = []
        self.bucket_kms: dict[str, str] = {}

    # -- template access --------------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        try:
            return resolve(value, self.physical)
        except Exception as exc:  # the resolver's SynthError, or a malformed intrinsic
            raise CallListError(f"{self.stack}: cannot resolve {where}: {exc}") from exc

    def of_type(self, cfn_type: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [(k, v.get("Properties", {})) for k, v in self.resources.items() if v.get("Type") == cfn_type]

    # -- principals and policies -------------------------------------------------------------------------

    def principals(self) -> dict[str, Principal]:
        roles: dict[str, Principal] = {}
        names: dict[str, str] = {}
        managed = {
            self.resolve({"Ref": logical}, logical): (logical, props)
            for logical, props in self.of_type("AWS::IAM::ManagedPolicy")
        }
        for logical, props in self.of_type("AWS::IAM::Role"):
            arn = self.physical.attribute(logical, "Arn")
            statements: list[Statement] = []
            for policy in props.get("Policies", []):
                doc = self.resolve(policy["PolicyDocument"], f"{logical} policy {policy.get('PolicyName')}")
                statements += statements_of(doc, f"{self.stack}/{logical}/{policy.get('PolicyName', '')}")
            unknown = []
            for ref in self.resolve(props.get("ManagedPolicyArns", []), f"{logical} ManagedPolicyArns"):
                if ref in managed:
                    mp_logical, mp_props = managed[ref]
                    statements += statements_of(
                        self.resolve(mp_props["PolicyDocument"], mp_logical), f"{self.stack}/{mp_logical}"
                    )
                else:
                    unknown.append(ref)  # AWS-managed or outside the template: cannot be evaluated
            if "PermissionsBoundary" in props:
                unknown.append(f"permissions boundary {self.resolve(props['PermissionsBoundary'], logical)}")
            roles[arn] = Principal(arn, logical, statements, unknown)
            names[self.resolve({"Ref": logical}, logical)] = arn
        for cfn_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for logical, props in self.of_type(cfn_type):
                for role_name in self.resolve(props.get("Roles", []), f"{logical} Roles"):
                    found = names.get(role_name) or next(
                        (a for a in roles if a.endswith(f":role/{role_name}")), None
                    )
                    if found is None:
                        continue  # a policy attached to a role outside the template
                    doc = self.resolve(props["PolicyDocument"], logical)
                    roles[found].identity = [
                        *(roles[found].identity or []),
                        *statements_of(doc, f"{self.stack}/{logical}"),
                    ]
        return roles

    def bucket_policies(self) -> dict[str, list[Statement]]:
        found: dict[str, list[Statement]] = {}
        for logical, props in self.of_type("AWS::S3::BucketPolicy"):
            bucket = self.resolve(props["Bucket"], f"{logical} Bucket")
            doc = self.resolve(props["PolicyDocument"], logical)
            found[bucket] = found.get(bucket, []) + statements_of(
                doc, f"{self.stack}/{logical}", resource_policy=True
            )
        # The CDK assets bucket belongs to the bootstrap stack: its policy is the pinned CLI's template.
        assets = f"cdk-hnb659fds-assets-{self.account}-{self.region}"
        found[assets] = bootstrap_bucket_policy(assets)
        for logical, props in self.of_type("AWS::S3::Bucket"):
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                default = rule.get("ServerSideEncryptionByDefault", {})
                if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and "KMSMasterKeyID" in default:
                    name = self.resolve({"Ref": logical}, logical)
                    self.bucket_kms[name] = self.key_arn(self.resolve(default["KMSMasterKeyID"], logical))
        return found

    def key_arn(self, value: str) -> str:
        """A key id, key ARN or reference of a template key as the key ARN IAM evaluates."""
        for logical, _ in self.of_type("AWS::KMS::Key"):
            arn = self.physical.attribute(logical, "Arn")
            if value in (arn, self.physical.refs.get(logical), self.physical.attribute(logical, "KeyId")):
                return arn
        if value.startswith("arn:aws:kms:"):
            return value
        return f"arn:aws:kms:{self.region}:{self.account}:key/{value}"

    def key_policies(self) -> dict[str, list[Statement]]:
        return {
            self.physical.attribute(logical, "Arn"): statements_of(
                self.resolve(props.get("KeyPolicy", {}), logical),
                f"{self.stack}/{logical}",
                resource_policy=True,
            )
            for logical, props in self.of_type("AWS::KMS::Key")
        }

    def topic_policies(self) -> dict[str, list[Statement]]:
        found: dict[str, list[Statement]] = {}
        for logical, props in self.of_type("AWS::SNS::TopicPolicy"):
            doc = self.resolve(props["PolicyDocument"], logical)
            for topic in self.resolve(props.get("Topics", []), f"{logical} Topics"):
                found[topic] = found.get(topic, []) + statements_of(
                    doc, f"{self.stack}/{logical}", resource_policy=True
                )
        return found

    # -- emitting calls ----------------------------------------------------------------------------------

    def add(
        self,
        step: str,
        principal: str,
        actions: str | Sequence[str],
        resource: str,
        purpose: str,
        source: str,
        context: Mapping[str, str | Sequence[str]] | None = None,
        *,
        expect_allowed: bool = True,
    ) -> None:
        ctx = tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in (context or {}).items()))
        for action in [actions] if isinstance(actions, str) else actions:
            call = Call(self.stack, step, principal, action, resource, ctx, purpose, source, expect_allowed)
            if call not in self.calls:
                self.calls.append(call)

    def s3_read_prefix(
        self, step: str, role: str, uri: str, what: str, *, expect_allowed: bool = True
    ) -> None:
        """An ``S3Prefix`` input: SageMaker lists the prefix as the job role, then gets each object."""
        bucket, key = _s3(uri, f"{step} {what}")
        # SageMaker API Reference, ProcessingS3Input / S3DataSource: S3Prefix = every object below the prefix.
        # S3 User Guide, policy condition keys: ListBucket carries the prefix as s3:prefix.
        self.add(
            step, role, "s3:ListBucket", f"arn:aws:s3:::{bucket}", f"list the {what} prefix", "s3datasource",
            {"s3:prefix": key}, expect_allowed=expect_allowed,
        )  # fmt: skip
        # A prefix naming one object (a model.tar.gz, a code tarball) is that object; else an object below it.
        obj = (
            key
            if re.search(r"\.[A-Za-z0-9][A-Za-z0-9_-]*$", key.rsplit("/", 1)[-1])
            else _join(key, EXAMPLE_OBJECT)
        )
        self.s3_get(
            step, role, bucket, obj, f"read the {what}", "s3datasource", expect_allowed=expect_allowed
        )

    def s3_get(
        self, step: str, role: str, bucket: str, key: str, purpose: str, source: str, **kw: Any
    ) -> None:
        self.add(step, role, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", purpose, source, **kw)
        if bucket in self.bucket_kms:
            # S3 User Guide (SSE-KMS): reading an object encrypted with a KMS key needs kms:Decrypt.
            self.add(
                step,
                role,
                "kms:Decrypt",
                self.bucket_kms[bucket],
                f"{purpose} (SSE-KMS)",
                "kms-s3",
                self.via_s3(),
                **kw,
            )

    def s3_put(
        self, step: str, role: str, bucket: str, key: str, purpose: str, source: str, kms: str = ""
    ) -> None:
        context = (
            {
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": kms,
            }
            if kms
            else {}
        )
        self.add(step, role, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", purpose, source, context)
        key_arn = kms or self.bucket_kms.get(bucket, "")
        if key_arn:
            # S3 User Guide (SSE-KMS): an upload needs kms:GenerateDataKey (and kms:Decrypt for multipart parts).
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                self.add(step, role, action, key_arn, f"{purpose} (SSE-KMS)", "kms-s3", self.via_s3())
            if kms:
                # OutputDataConfig/ProcessingOutputConfig KmsKeyId: "the execution role must include kms:Encrypt".
                self.add(step, role, "kms:Encrypt", key_arn, f"{purpose} (output KMS key)", "kms-output")

    def via_s3(self) -> dict[str, str]:
        return {"kms:ViaService": f"s3.{self.region}.amazonaws.com", "kms:CallerAccount": self.account}

    def logs(self, step: str, role: str, group: str, stream: str) -> None:
        # SageMaker logging: /aws/sagemaker/<Kind>Jobs, stream <job>/algo-1-<epoch>.
        # CloudWatch Logs access overview: IAM evaluates log-group actions against log-group:NAME:* (the form
        # with the trailing :*), and PutLogEvents/CreateLogStream against the stream
        # (log-group:NAME:log-stream:STREAM: a denied CreateLogStream names that resource, e.g.
        # https://github.com/aws-solutions/aws-crr-monitor/issues/8).
        group_arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{group}"
        self.add(
            step,
            role,
            ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            f"{group_arn}:*",
            f"create/find the log group {group}",
            "cw-logs-arn",
        )
        self.add(
            step,
            role,
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"{group_arn}:log-stream:{stream}",
            "write the job's log stream",
            "sm-logging",
        )

    def metrics(self, step: str, role: str, namespace: str) -> None:
        # SageMaker metrics in CloudWatch: the job's metrics go to /aws/sagemaker/<Kind>Jobs.
        self.add(
            step,
            role,
            "cloudwatch:PutMetricData",
            "*",
            "publish the job's metrics",
            "sm-metrics",
            {"cloudwatch:namespace": namespace},
        )

    def ecr(self, step: str, role: str, image: str) -> None:
        repo = _ecr_repository(image, step)
        # SageMaker roles (Execution Role Permissions) + ECR: a login token, then the image layers.
        self.add(step, role, "ecr:GetAuthorizationToken", "*", "log in to ECR", "ecr-pull")
        self.add(
            step, role, ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            repo, f"pull {image.split('/', 1)[1]}", "ecr-pull",
        )  # fmt: skip

    def codeartifact(self, step: str, role: str, environment: Mapping[str, Any]) -> None:
        arn = environment.get("CA_REPOSITORY_ARN")
        if not isinstance(arn, str):
            return
        m = re.fullmatch(r"arn:aws:codeartifact:([a-z0-9-]+):(\d{12}):repository/([^/]+)/([^/]+)", arn)
        if not m:
            raise CallListError(f"{step}: CA_REPOSITORY_ARN {arn!r} is not a CodeArtifact repository ARN")
        region, owner, domain, _ = m.groups()
        # CodeArtifact tokens: GetAuthorizationToken on the domain + sts:GetServiceBearerToken; the toolkit then
        # calls GetRepositoryEndpoint and pip reads from the repository.
        self.add(
            step,
            role,
            "codeartifact:GetAuthorizationToken",
            f"arn:aws:codeartifact:{region}:{owner}:domain/{domain}",
            "CodeArtifact login (CA_REPOSITORY_ARN)",
            "codeartifact",
        )
        self.add(
            step,
            role,
            "sts:GetServiceBearerToken",
            "*",
            "CodeArtifact login (CA_REPOSITORY_ARN)",
            "codeartifact",
            {"sts:AWSServiceName": "codeartifact.amazonaws.com"},
        )
        self.add(
            step,
            role,
            ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            arn,
            "install requirements.txt from CodeArtifact",
            "codeartifact",
        )

    def vpc(self, step: str, role: str, config: Mapping[str, Any] | None) -> None:
        if not config:
            return
        subnets = [str(s) for s in config.get("Subnets", [])]
        groups = [str(g) for g in config.get("SecurityGroupIds", [])]
        prefix = f"arn:aws:ec2:{self.region}:{self.account}"
        eni = f"{prefix}:network-interface/*"
        # SageMaker VPC mode: the job role creates and deletes the ENIs in the step's subnets.
        for subnet in subnets:
            sub_arn = f"{prefix}:subnet/{subnet}"
            self.add(
                step,
                role,
                "ec2:CreateNetworkInterface",
                eni,
                "create the job's ENI",
                "vpc",
                {"ec2:Subnet": sub_arn},
            )
            self.add(
                step, role, "ec2:CreateNetworkInterface", sub_arn, "create the job's ENI in the subnet", "vpc"
            )
        for group in groups:
            self.add(
                step,
                role,
                "ec2:CreateNetworkInterface",
                f"{prefix}:security-group/{group}",
                "attach the security group",
                "vpc",
            )
        # The ENI exists in one of the step's subnets: IAM evaluates these actions on the network-interface
        # resource with its ec2:Subnet (Service Authorization Reference for Amazon EC2, condition keys of the
        # network-interface resource type).
        for subnet in subnets:
            self.add(
                step,
                role,
                [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                eni,
                "manage the job's ENI",
                "vpc",
                {"ec2:Subnet": f"{prefix}:subnet/{subnet}"},
            )
        self.add(
            step, role,
            ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "*", "inspect the VPC", "vpc",
        )  # fmt: skip

    def volume_key(self, step: str, roles: Sequence[str], key: Any) -> None:
        if not key:
            return
        arn = self.key_arn(str(key))
        for role in roles:
            # The volume grant: the SageMaker guide names the execution role; the caller of the Create* call (the
            # pipeline role) creates the grant for the EBS volume. Both are checked (GrantIsForAWSResource).
            self.add(
                step,
                role,
                "kms:CreateGrant",
                arn,
                "encrypt the job's storage volume",
                "kms-volume",
                {"kms:GrantIsForAWSResource": "true"},
            )
            self.add(step, role, "kms:DescribeKey", arn, "encrypt the job's storage volume", "kms-volume")

    def pipeline_calls(
        self, step: str, pipeline_role: str, kind: str, name: str, job_role: str | None
    ) -> None:
        """The pipeline role: Create/Describe/Stop of the job, AddTags on it, PassRole of the job's role."""
        resource = f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"  # SageMaker ARNs: lower case
        verb = {
            "training-job": "TrainingJob",
            "processing-job": "ProcessingJob",
            "transform-job": "TransformJob",
        }.get(kind)
        if verb is not None:
            self.add(
                step, pipeline_role, [f"sagemaker:Create{verb}", f"sagemaker:Describe{verb}", f"sagemaker:Stop{verb}"],
                resource, f"run the {kind}", "pipelines-run",
            )  # fmt: skip
        elif kind == "model":
            self.add(
                step, pipeline_role, "sagemaker:CreateModel", resource, "create the model", "pipelines-run"
            )
        self.add(step, pipeline_role, "sagemaker:AddTags", resource, f"tag the {kind} it creates", "tags")
        if job_role is not None:
            self.add(
                step,
                pipeline_role,
                "iam:PassRole",
                job_role,
                f"pass the {kind}'s role",
                "passrole",
                {"iam:PassedToService": SAGEMAKER},
            )


class _Execution:
    """Values of a pipeline definition's expressions for one example execution."""

    def __init__(
        self, definition: Mapping[str, Any], pipeline_arn: str, overrides: Mapping[str, str] | None = None
    ) -> None:
        self.parameters = {p["Name"]: p for p in definition.get("Parameters", [])}
        self.steps: dict[str, Mapping[str, Any]] = {}
        for step in all_steps(definition.get("Steps", [])):
            self.steps[step["Name"]] = step
        self.pipeline_arn = pipeline_arn
        self.overrides = dict(overrides or {})

    def value(self, expr: Any, where: str) -> str:
        if isinstance(expr, str):
            return expr
        if isinstance(expr, int | float) and not isinstance(expr, bool):
            return str(expr)
        if isinstance(expr, Mapping) and set(expr) == {"Get"}:
            return self.get(str(expr["Get"]), where)
        if isinstance(expr, Mapping) and set(expr) == {"Std:Join"}:
            join = expr["Std:Join"]
            return str(join.get("On", "")).join(self.value(v, where) for v in join.get("Values", []))
        raise CallListError(f"{where}: cannot evaluate the expression {json.dumps(expr)}")

    def get(self, path: str, where: str) -> str:
        if path.startswith("Parameters."):
            name = path[len("Parameters.") :]
            if name in self.overrides:
                return self.overrides[name]
            param = self.parameters.get(name)
            if param is None or "DefaultValue" not in param:
                raise CallListError(f"{where}: parameter {name!r} has no default value")
            return str(param["DefaultValue"])
        if path == "Execution.PipelineExecutionId":
            return EXECUTION_ID
        if path == "Execution.PipelineExecutionArn":
            return f"{self.pipeline_arn}/execution/{EXECUTION_ID}"
        m = re.fullmatch(r"Steps\.([^.]+)\.(.+)", path)
        if m and m.group(1) in self.steps:
            step = self.steps[m.group(1)]
            args = step.get("Arguments", {})
            rest = m.group(2)
            out = re.fullmatch(r"ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri", rest)
            if out:
                for output in args.get("ProcessingOutputConfig", {}).get("Outputs", []):
                    if output.get("OutputName") == out.group(1):
                        return self.value(output["S3Output"]["S3Uri"], f"{where} <- {path}")
            if rest == "ModelArtifacts.S3ModelArtifacts":
                base = self.value(args["OutputDataConfig"]["S3OutputPath"], f"{where} <- {path}")
                return _join(base, f"{job_name(step['Name'])}/output/model.tar.gz")
            if rest in ("ModelName", "TrainingJobName", "ProcessingJobName", "TransformJobName"):
                return job_name(step["Name"])
        raise CallListError(f"{where}: cannot evaluate {{'Get': {path!r}}}")


def bootstrap_bucket_policy(bucket: str) -> list[Statement]:
    """The assets bucket's policy from the pinned CDK CLI's bootstrap template (``StagingBucketPolicy``)."""
    if not BOOTSTRAP_TEMPLATE.is_file():
        raise CallListError(f"the CDK bootstrap template is missing: {BOOTSTRAP_TEMPLATE} (run `npm ci`)")
    template = yaml.safe_load(BOOTSTRAP_TEMPLATE.read_text())
    doc = template["Resources"]["StagingBucketPolicy"]["Properties"]["PolicyDocument"]
    physical = Physical(
        refs={"StagingBucket": bucket},
        attribute=lambda logical, attr: (
            f"arn:aws:s3:::{bucket}" if (logical, attr) == ("StagingBucket", "Arn") else ""
        ),
    )
    return statements_of(
        resolve(doc, physical), "CDK bootstrap stack/StagingBucketPolicy", resource_policy=True
    )


# ---------------------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------------------


def _training(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    name, args = step["Name"], step["Arguments"]
    job = job_name(name)
    role = ex.value(args["RoleArn"], f"{name} RoleArn")
    b.pipeline_calls(name, pipeline_role, "training-job", job, role)
    b.volume_key(name, [pipeline_role, role], args.get("ResourceConfig", {}).get("VolumeKmsKeyId"))
    # SageMaker roles (CreateTrainingJob): ListBucket + GetObject on every channel, PutObject on the output.
    for channel in args.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise CallListError(
                f"{name}: channel {channel.get('ChannelName')!r} has no S3DataSource (unsupported)"
            )
        _read_input(
            b,
            ex,
            name,
            role,
            source["S3DataType"],
            source["S3Uri"],
            f"channel {channel['ChannelName']}",
            overridable,
        )
    hyper = args.get("HyperParameters", {})
    if "sagemaker_submit_directory" in hyper:
        bucket, key = _s3(
            json.loads(ex.value(hyper["sagemaker_submit_directory"], name)),
            f"{name} sagemaker_submit_directory",
        )
        b.s3_get(
            name, role, bucket, key, "download the code tarball (sagemaker_submit_directory)", "submit-dir"
        )
    output = args["OutputDataConfig"]
    bucket, prefix = _s3(ex.value(output["S3OutputPath"], f"{name} S3OutputPath"), name)
    kms = b.key_arn(str(output["KmsKeyId"])) if output.get("KmsKeyId") else ""
    b.s3_put(
        name,
        role,
        bucket,
        _join(prefix, f"{job}/output/model.tar.gz"),
        "upload model.tar.gz",
        "model-artifacts",
        kms,
    )
    checkpoint = args.get("CheckpointConfig", {}).get("S3Uri")
    if checkpoint:
        uri = ex.value(checkpoint, f"{name} CheckpointConfig")
        b.s3_read_prefix(name, role, uri, "checkpoints")
        cbucket, ckey = _s3(uri, name)
        b.s3_put(name, role, cbucket, _join(ckey, "checkpoint-1.pt"), "upload checkpoints", "checkpoints")
    for config, sub in (
        ("DebugHookConfig", "debug-output"),
        ("TensorBoardOutputConfig", "tensorboard-output"),
        ("ProfilerConfig", "profiler-output"),
    ):
        section = args.get(config, {})
        if section.get("S3OutputPath") and not section.get("DisableProfiler"):
            dbucket, dkey = _s3(ex.value(section["S3OutputPath"], f"{name} {config}"), name)
            b.s3_put(
                name,
                role,
                dbucket,
                _join(dkey, f"{job}/{sub}/index.json"),
                f"write {config} output",
                "debugger",
                kms,
            )
    b.logs(name, role, "/aws/sagemaker/TrainingJobs", f"{job}/algo-1-{EPOCH}")
    b.metrics(name, role, "/aws/sagemaker/TrainingJobs")
    b.ecr(name, role, ex.value(args["AlgorithmSpecification"]["TrainingImage"], name))
    b.codeartifact(name, role, args.get("Environment", {}))
    b.vpc(name, role, args.get("VpcConfig"))


def _processing(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    name, args = step["Name"], step["Arguments"]
    job = job_name(name)
    role = ex.value(args["RoleArn"], f"{name} RoleArn")
    b.pipeline_calls(name, pipeline_role, "processing-job", job, role)
    b.volume_key(
        name,
        [pipeline_role, role],
        args.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId"),
    )
    # SageMaker roles (CreateProcessingJob): every ProcessingInput (the code input too) is read as the job role.
    for item in args.get("ProcessingInputs", []):
        source = item.get("S3Input")
        if source is None:
            raise CallListError(f"{name}: input {item.get('InputName')!r} has no S3Input (unsupported)")
        _read_input(
            b,
            ex,
            name,
            role,
            source["S3DataType"],
            source["S3Uri"],
            f"input {item['InputName']}",
            overridable,
        )
    config = args.get("ProcessingOutputConfig", {})
    kms = b.key_arn(str(config["KmsKeyId"])) if config.get("KmsKeyId") else ""
    for output in config.get("Outputs", []):
        if "S3Output" not in output:
            raise CallListError(f"{name}: output {output.get('OutputName')!r} has no S3Output (unsupported)")
        bucket, key = _s3(ex.value(output["S3Output"]["S3Uri"], f"{name} output"), name)
        b.s3_put(
            name,
            role,
            bucket,
            _join(key, EXAMPLE_OBJECT),
            f"upload output {output['OutputName']}",
            "sm-roles",
            kms,
        )
    b.logs(name, role, "/aws/sagemaker/ProcessingJobs", f"{job}/algo-1-{EPOCH}")
    b.metrics(name, role, "/aws/sagemaker/ProcessingJobs")
    b.ecr(name, role, ex.value(args["AppSpecification"]["ImageUri"], name))
    b.vpc(name, role, args.get("NetworkConfig", {}).get("VpcConfig"))


def _model_containers(args: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in [args.get("PrimaryContainer"), *args.get("Containers", [])] if c]


def _model(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    name, args = step["Name"], step["Arguments"]
    model = job_name(name)
    role = ex.value(args["ExecutionRoleArn"], f"{name} ExecutionRoleArn")
    b.pipeline_calls(name, pipeline_role, "model", model, role)
    # SageMaker roles (CreateModel): the model's execution role pulls the image and reads ModelDataUrl (checked at
    # CreateModel and whenever the model is deployed or used by a transform job).
    for container in _model_containers(args):
        b.ecr(name, role, ex.value(container["Image"], name))
        if container.get("ModelDataUrl"):
            bucket, key = _s3(ex.value(container["ModelDataUrl"], f"{name} ModelDataUrl"), name)
            b.s3_get(name, role, bucket, key, "read the model data (ModelDataUrl)", "sm-roles")
    b.vpc(name, role, args.get("VpcConfig"))


def _transform(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    name, args = step["Name"], step["Arguments"]
    job = job_name(name)
    b.pipeline_calls(name, pipeline_role, "transform-job", job, None)
    model_ref = args.get("ModelName")
    model_step = next(
        (
            s
            for s in ex.steps.values()
            if isinstance(model_ref, Mapping) and model_ref.get("Get") == f"Steps.{s['Name']}.ModelName"
        ),
        None,
    )
    if model_step is None:
        raise CallListError(
            f"{name}: ModelName {model_ref!r} is not a model step of this pipeline (unsupported)"
        )
    margs = model_step["Arguments"]
    role = ex.value(margs["ExecutionRoleArn"], f"{name} model role")
    source = args["TransformInput"]["DataSource"]["S3DataSource"]
    _read_input(b, ex, name, role, source["S3DataType"], source["S3Uri"], "transform input", overridable)
    output = args["TransformOutput"]
    bucket, key = _s3(ex.value(output["S3OutputPath"], f"{name} S3OutputPath"), name)
    kms = b.key_arn(str(output["KmsKeyId"])) if output.get("KmsKeyId") else ""
    b.s3_put(
        name,
        role,
        bucket,
        _join(key, f"{EXAMPLE_OBJECT}.out"),
        "upload the transform output",
        "sm-roles",
        kms,
    )
    b.logs(name, role, "/aws/sagemaker/TransformJobs", f"{job}/i-0123456789abcdef0-{EPOCH}")
    b.metrics(name, role, "/aws/sagemaker/TransformJobs")
    for container in _model_containers(margs):
        b.ecr(name, role, ex.value(container["Image"], name))
        if container.get("ModelDataUrl"):
            mbucket, mkey = _s3(ex.value(container["ModelDataUrl"], name), name)
            b.s3_get(name, role, mbucket, mkey, "read the model data", "sm-roles")
    b.volume_key(name, [pipeline_role, role], args.get("TransformResources", {}).get("VolumeKmsKeyId"))


def _register(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    name, args = step["Name"], step["Arguments"]
    group = ex.value(args.get("ModelPackageGroupName", ""), f"{name} ModelPackageGroupName")
    if not group:
        raise CallListError(
            f"{name}: RegisterModel without ModelPackageGroupName (unversioned packages unsupported)"
        )
    prefix = f"arn:aws:sagemaker:{b.region}:{b.account}"
    m = re.fullmatch(r"arn:aws:sagemaker:([a-z0-9-]+):(\d{12}):model-package-group/(.+)", group)
    if m:  # an existing group named by ARN (possibly of another account)
        prefix, group = f"arn:aws:sagemaker:{m.group(1)}:{m.group(2)}", m.group(3)
    # model package ARNs keep the group name's case (model-package/modelPackageGroupTurbine/1, as denied in
    # https://github.com/aws-samples/ml-edge-getting-started/issues/18), unlike job ARNs
    package = f"{prefix}:model-package/{group}/1"
    # Model registry: CreateModelPackage in the group (the group is described/created first), tags on the package.
    b.add(
        name,
        pipeline_role,
        ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
        package,
        "register the model version",
        "model-registry",
    )
    b.add(
        name,
        pipeline_role,
        ["sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup"],
        f"{prefix}:model-package-group/{group}",
        "find/create the model package group",
        "model-registry",
    )
    for container in args.get("InferenceSpecification", {}).get("Containers", []):
        if container.get("ModelDataUrl"):
            bucket, key = _s3(ex.value(container["ModelDataUrl"], name), name)
            b.s3_get(name, pipeline_role, bucket, key, "validate the model data", "model-registry")


def _condition(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    # PropertyFile + JsonGet: the pipeline role reads the processing step's output file from S3.
    for node in _walk(step.get("Arguments", {}).get("Conditions", [])):
        if not (isinstance(node, Mapping) and "Std:JsonGet" in node):
            continue
        ref = node["Std:JsonGet"].get("PropertyFile", {})
        m = re.fullmatch(
            r"Steps\.([^.]+)\.PropertyFiles\.(.+)",
            str(ref.get("Get", "")) if isinstance(ref, Mapping) else "",
        )
        if not m or m.group(1) not in ex.steps:
            raise CallListError(
                f"{step['Name']}: JsonGet PropertyFile {ref!r} is not a property file of a step"
            )
        source = ex.steps[m.group(1)]
        pf = next(
            (p for p in source.get("PropertyFiles", []) if p.get("PropertyFileName") == m.group(2)), None
        )
        if pf is None:
            raise CallListError(f"{step['Name']}: step {m.group(1)} declares no property file {m.group(2)!r}")
        outputs = source["Arguments"].get("ProcessingOutputConfig", {}).get("Outputs", [])
        out = next((o for o in outputs if o.get("OutputName") == pf["OutputName"]), None)
        if out is None:
            raise CallListError(
                f"{step['Name']}: property file {m.group(2)!r} names no output of {m.group(1)}"
            )
        bucket, key = _s3(ex.value(out["S3Output"]["S3Uri"], step["Name"]), step["Name"])
        b.s3_get(
            step["Name"],
            pipeline_role,
            bucket,
            _join(key, pf["FilePath"]),
            f"read property file {m.group(2)}",
            "propertyfile",
        )


def _nothing(
    b: _Builder, ex: _Execution, step: Mapping[str, Any], pipeline_role: str, overridable: bool
) -> None:
    """A Fail step: no AWS call."""


_STEP_HANDLERS: dict[str, Callable[[_Builder, _Execution, Mapping[str, Any], str, bool], None]] = {
    "Training": _training,
    "Processing": _processing,
    "Model": _model,
    "Transform": _transform,
    "RegisterModel": _register,
    "Condition": _condition,
    "Fail": _nothing,
}


def _read_input(
    b: _Builder,
    ex: _Execution,
    step: str,
    role: str,
    data_type: str,
    uri_expr: Any,
    what: str,
    overridable: bool,
) -> None:
    uri = ex.value(uri_expr, f"{step} {what}")
    if data_type == "S3Prefix":
        b.s3_read_prefix(step, role, uri, what)
    elif data_type in ("ManifestFile", "AugmentedManifestFile"):
        bucket, key = _s3(uri, f"{step} {what}")
        b.s3_get(step, role, bucket, key, f"read the {what} manifest", "s3datasource")
    else:
        raise CallListError(f"{step}: {what} has S3DataType {data_type!r} (unsupported)")
    param = uri_expr.get("Get", "") if isinstance(uri_expr, Mapping) else ""
    # An execution may override the parameter; outside the declared input locations it must be denied.
    if overridable and data_type == "S3Prefix" and isinstance(param, str) and param.startswith("Parameters."):
        override = f"{what} (override {param[len('Parameters.') :]}={OVERRIDE_URI})"
        b.s3_read_prefix(step, role, OVERRIDE_URI, override, expect_allowed=False)


@dataclass(frozen=True)
class _PipelineRun:
    """What running one pipeline of the template needs: its definition and roles."""

    logical: str
    arn: str
    definition: Mapping[str, Any]
    pipeline_role: str


def _run_steps(b: _Builder, run: _PipelineRun, ex: _Execution, overridable: bool) -> None:
    for step in all_steps(run.definition.get("Steps", [])):
        handler = _STEP_HANDLERS.get(step.get("Type", ""))
        if handler is None:
            raise CallListError(
                f"{b.stack}: step {step.get('Name')!r} has type {step.get('Type')!r}: the run-time call list does not know it yet"
            )
        handler(b, ex, step, run.pipeline_role, overridable)


def _event_value(value: str, example_key: str, where: str) -> str:
    """A target parameter value as EventBridge sends it: static, or a dynamic JSON path of the event (EventBridge
    User Guide, event bus targets: dynamic path parameters replace the whole value with the event's field)."""
    if not value.startswith("$."):
        return value
    if value == "$.detail.object.key":
        return example_key
    raise CallListError(f"{where}: dynamic path {value!r} is not modelled (only $.detail.object.key)")


def _run_with_parameters(
    b: _Builder, run: _PipelineRun, parameters: Sequence[Mapping[str, Any]], label: str, example_key: str = ""
) -> None:
    """The calls of an execution started with ``parameters`` (a schedule's or a rule's): every S3 input they
    point at is read as the step's role, so each must be allowed (SageMaker Developer Guide, pipeline
    parameters: StartPipelineExecution's PipelineParameters replace the defaults for that execution)."""
    overrides = {
        str(p["Name"]): _event_value(str(p["Value"]), example_key, f"{b.stack}/{label}") for p in parameters
    }
    if not overrides:
        return
    before = b.calls
    b.calls = []
    _run_steps(b, run, _Execution(run.definition, run.arn, overrides), False)
    new, b.calls = b.calls, before
    shown = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    for call in new:
        if call not in before:
            b.calls.append(replace(call, purpose=f"{call.purpose} [{label}: {shown}]"))


def _pipeline(b: _Builder, logical: str, props: Mapping[str, Any]) -> _PipelineRun:
    definition_prop = props.get("PipelineDefinition", {})
    if "PipelineDefinitionBody" not in definition_prop:
        raise CallListError(
            f"{b.stack}/{logical}: the definition is stored in S3 (PipelineDefinitionS3Location); the run-time "
            "call list reads only inline definitions"
        )
    definition = json.loads(b.resolve(definition_prop["PipelineDefinitionBody"], f"{logical} definition"))
    name = b.resolve(props["PipelineName"], f"{logical} PipelineName")
    pipeline_role = b.resolve(props["RoleArn"], f"{logical} RoleArn")
    arn = f"arn:aws:sagemaker:{b.region}:{b.account}:pipeline/{name.lower()}"
    run = _PipelineRun(logical, arn, definition, pipeline_role)
    _run_steps(b, run, _Execution(definition, arn), True)
    return run


def _parameter_list(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", []))


def _example_key(pattern: Mapping[str, Any]) -> str:
    """An object key an S3 ``Object Created`` rule matches (for ``$.detail.object.key``)."""
    keys = pattern.get("detail", {}).get("object", {}).get("key", [])
    prefix = next((k["prefix"] for k in keys if isinstance(k, Mapping) and "prefix" in k), "")
    wildcard = next((k["wildcard"] for k in keys if isinstance(k, Mapping) and "wildcard" in k), None)
    if wildcard is not None:
        # EventBridge wildcard patterns: '*' matches any characters, '\\*' is a literal star.
        pieces = re.split(r"(?<!\\)\*", str(wildcard))
        return "part-00000".join(p.replace("\\*", "*") for p in pieces)
    return f"{prefix}{EXAMPLE_OBJECT}"


def _schedules(b: _Builder, pipelines: Mapping[str, str], runs: Mapping[str, _PipelineRun]) -> None:
    for logical, props in b.of_type("AWS::Scheduler::Schedule"):
        target = b.resolve(props["Target"], f"{logical} Target")
        arn = target["Arn"]
        if arn == "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution":
            name = json.loads(target.get("Input", "{}")).get("PipelineName", "")
            arn = pipelines.get(name) or f"arn:aws:sagemaker:{b.region}:{b.account}:pipeline/{name.lower()}"
        if ":pipeline/" not in arn:
            raise CallListError(
                f"{b.stack}/{logical}: schedule target {arn!r} is not a SageMaker pipeline (unsupported)"
            )
        # EventBridge Scheduler execution role: the schedule's role calls the target API.
        b.add(
            "",
            target["RoleArn"],
            "sagemaker:StartPipelineExecution",
            arn,
            f"start the pipeline ({logical})",
            "scheduler",
        )
        if arn in runs:
            _run_with_parameters(b, runs[arn], _parameter_list(target), f"schedule {logical}")


def _rules(b: _Builder, topics: Mapping[str, str], runs: Mapping[str, _PipelineRun]) -> None:
    for logical, props in b.of_type("AWS::Events::Rule"):
        rule_arn = b.physical.attribute(logical, "Arn")
        for target in b.resolve(props.get("Targets", []), f"{logical} Targets"):
            arn = target["Arn"]
            if ":pipeline/" in arn:
                b.add(
                    "",
                    target["RoleArn"],
                    "sagemaker:StartPipelineExecution",
                    arn,
                    f"start the pipeline ({logical})",
                    "events-target",
                )
                if arn in runs:
                    pattern = b.resolve(props.get("EventPattern", {}), f"{logical} EventPattern")
                    _run_with_parameters(
                        b, runs[arn], _parameter_list(target), f"rule {logical}", _example_key(pattern)
                    )
            elif arn.startswith("arn:aws:sns:"):
                context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": b.account}
                b.add(
                    "",
                    "events.amazonaws.com",
                    "sns:Publish",
                    arn,
                    f"publish the event ({logical})",
                    "events-target",
                    context,
                )
                key = topics.get(arn)
                if key:
                    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                        b.add(
                            "",
                            "events.amazonaws.com",
                            action,
                            b.key_arn(key),
                            f"publish to the encrypted topic ({logical})",
                            "events-target",
                            context,
                        )
            else:
                raise CallListError(
                    f"{b.stack}/{logical}: rule target {arn!r} is not supported by the call list"
                )


def stack_calls(stack: str, template: Mapping[str, Any], physical: Physical) -> StackCalls:
    """Every run-time call of ``template`` (one stack)."""
    b = _Builder(stack, template, physical)
    principals = b.principals()
    buckets = b.bucket_policies()
    pipelines: dict[str, str] = {}
    runs: dict[str, _PipelineRun] = {}
    for logical, props in b.of_type("AWS::SageMaker::Pipeline"):
        run = _pipeline(b, logical, props)
        name = b.resolve(props["PipelineName"], logical)
        pipelines[name] = run.arn
        runs[run.arn] = run
    topics = {
        b.resolve({"Ref": logical}, logical): b.resolve(props["KmsMasterKeyId"], logical)
        for logical, props in b.of_type("AWS::SNS::Topic")
        if props.get("KmsMasterKeyId")
    }
    _schedules(b, pipelines, runs)
    _rules(b, topics, runs)
    for call in b.calls:  # a role the template does not define: listed, not checkable
        if call.principal.startswith("arn:aws:iam::") and call.principal not in principals:
            principals[call.principal] = Principal(call.principal, call.principal, None)
    return StackCalls(
        stack,
        b.calls,
        principals,
        buckets,
        b.key_policies(),
        b.topic_policies(),
        _display(template, b.physical),
    )


_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def _display(template: Mapping[str, Any], physical: Physical) -> Callable[[str], str]:
    """Readable, stable text for the README: physical names back to logical ids (without the hash
    suffix), asset hashes masked."""
    names = sorted(
        ((name, re.sub(r"[0-9A-F]{8}$", "", logical)) for logical, name in physical.refs.items() if name),
        key=lambda item: -len(item[0]),
    )

    def show(text: str) -> str:
        for name, logical in names:
            text = text.replace(name, f"<{logical}>")
        return _HASH.sub("<asset-hash>", text)

    return show


def describe(call: Call, decision: Decision, show: Callable[[str], str] = str) -> str:
    """One denied (or wrongly allowed) call, for a failure message."""
    context = ", ".join(f"{k}={v!r}" for k, v in call.context) or "-"
    verdict = (
        decision.describe() if not decision.allowed else f"ALLOWED but must be denied ({decision.describe()})"
    )
    title, url = SOURCES.get(call.source, ("", ""))
    return (
        f"- step {call.step or '-'}: {show(call.principal)} {call.action} on {show(call.resource)}\n"
        f"    context: {show(context)}\n    why: {call.purpose} [{title} {url}]\n    -> {show(verdict)}"
    )
