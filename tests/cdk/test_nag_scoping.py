"""cdk-nag acknowledgments cover the library's own statements only, never the user's.

GIVEN pipelines whose roles and buckets get extra statements from *user code* (a wildcard on the created
job role and pipeline role, on imported mutable roles, a public statement in a bucket policy, the user's
own ``BucketDeployment`` sharing CDK's handler with the library's)
WHEN the app is synthesized under ``add_aws_solutions_checks`` (cdk-nag's real AwsSolutions pack, run by
CDK's validation plugin mechanism)
THEN the synth fails, and the report lists exactly the user's additions, while every finding of the
library's own statements stays acknowledged.

The mechanism: CDK (and cdk-nag) honour an acknowledgment on the violating CloudFormation resource and on
its ancestors in the construct tree. The library acknowledges on the ``AWS::IAM::Role`` resource of a role
it creates (which holds the role's inline policy) or on its own ``AWS::IAM::Policy`` for a passed-in role,
never on the role construct, whose ``DefaultPolicy`` child receives ``add_to_principal_policy`` from user
code.

Bucket policies: no rule of the AwsSolutions pack inspects the principals, actions or resources of a
bucket-policy statement (``S5`` looks only at static-website buckets, ``S10`` only for the TLS-only
deny). The library acknowledges nothing on buckets, so the findings that do fire on a user's bucket
(``S1``, ``S10`` on the bucket and on its policy) surface unhindered; and its own buckets block public
policies (``BlockPublicPolicy``), so it checks them itself: a statement from user code that allows every
principal without a condition (S3 would refuse the policy on deploy) fails the synth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from synth_support import CONTEXT, REGION, Synth

from constructs_lib.constructs import PyTorchTrainingPipeline, add_aws_solutions_checks
from constructs_lib.examples import seed_training_config

pytestmark = pytest.mark.slow

ACK_KEY = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
STAR = "AwsSolutions-IAM5[Resource::*]"
#: A finding the library itself acknowledges on the pipeline role (its job ARNs end in ``/*``).
TRAINING_JOBS = (
    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:{REGION}:<AWS::AccountId>:training-job/*]"
)


#: CDK's singleton BucketDeployment handler of the stack with the user's own deployment.
HANDLER = "UserDeployment/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"
HANDLER_POLICY = f"{HANDLER}/ServiceRole/DefaultPolicy/Resource"
USER_SITE_OBJECTS = "AwsSolutions-IAM5[Resource::<UserSite6661BB0C.Arn>/*]"


@dataclass(frozen=True)
class UserApp:
    """The synthesized app with user additions and CDK's validation report of it."""

    app: cdk.App
    outdir: Path
    error: str
    #: rule id (``Rule[finding]``) -> construct paths reported for it
    violations: dict[str, set[str]]


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory, staging_dir: Path) -> Iterator[UserApp]:
    outdir = tmp_path_factory.mktemp("nag-scoping")
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    env = cdk.Environment(region=REGION)

    # 1. the library creates both roles and the bucket; user code adds to all three
    created = cdk.Stack(app, "UserAdditions", env=env)
    pipeline = PyTorchTrainingPipeline(
        created, "Training", config=seed_training_config(), pipeline_name="user-additions"
    )
    pipeline.job_role.add_to_principal_policy(
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=["*"])
    )
    pipeline.pipeline_role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sagemaker:DeleteTrainingJob"],
            # the very wildcard ARN the library acknowledges for its own statements on this role
            resources=[f"arn:{cdk.Aws.PARTITION}:sagemaker:{REGION}:{cdk.Aws.ACCOUNT_ID}:training-job/*"],
        )
    )
    # (a public statement on the created bucket fails the synth by itself: see test_a_public_bucket_policy_...)
    pipeline.artifact_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=[pipeline.artifact_bucket.arn_for_objects("*")],
            conditions={"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg"}},
        )
    )

    # 2. the user passes in mutable imported roles and a bucket of their own, and adds to each
    byo = cdk.Stack(app, "UserByo", env=env)
    job_role = iam.Role.from_role_arn(
        byo, "ExistingJobRole", "arn:aws:iam::123456789012:role/jobs", mutable=True
    )
    pipeline_role = iam.Role.from_role_arn(
        byo, "ExistingPipelineRole", "arn:aws:iam::123456789012:role/pipelines", mutable=True
    )
    bucket = s3.Bucket(byo, "UserBucket")
    PyTorchTrainingPipeline(
        byo,
        "Training",
        config=seed_training_config(),
        pipeline_name="user-byo",
        job_role=job_role,
        pipeline_role=pipeline_role,
        artifact_bucket=bucket,
    )
    job_role.add_to_principal_policy(
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=["*"])
    )
    pipeline_role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.AnyPrincipal()], actions=["s3:*"], resources=[bucket.arn_for_objects("*")]
        )
    )

    # 3. the user's own BucketDeployment shares CDK's singleton handler with the library's (a definition
    #    stored in S3): only the library's deployment's findings are acknowledged on it
    shared = cdk.Stack(app, "UserDeployment", env=env)
    site = s3.Bucket(shared, "UserSite", enforce_ssl=True)
    s3deploy.BucketDeployment(
        shared,
        "UserFiles",
        sources=[s3deploy.Source.data("index.html", "<p>hi</p>")],
        destination_bucket=site,
    )
    PyTorchTrainingPipeline(
        shared,
        "Training",
        config=seed_training_config(),
        pipeline_name="user-deployment",
        definition_storage="s3",
    )

    add_aws_solutions_checks(app)
    with pytest.raises(Exception, match="ValidationFailed") as failure:
        app.synth()
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    violations: dict[str, set[str]] = {}
    for plugin in report["pluginReports"]:
        assert plugin["pluginName"] == "AwsSolutions"
        for violation in plugin["violations"]:
            paths = {c["constructPath"] for c in violation["violatingConstructs"]}
            violations.setdefault(violation["ruleName"], set()).update(paths)
    yield UserApp(app=app, outdir=outdir, error=str(failure.value), violations=violations)


def _acknowledged_at(app: cdk.App) -> dict[str, set[str]]:
    """construct path -> rule ids acknowledged there (CDK's acknowledged-rules metadata; aws-cdk-lib
    prefixes a plugin rule id with ``Annotation::``, as cdk-nag strips it)."""
    found: dict[str, set[str]] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACK_KEY:
                ids = {re.sub(r"^annotation::", "", k, flags=re.I) for k in dict(entry.data)}
                found.setdefault(construct.node.path, set()).update(ids)
    return found


def test_user_wildcards_on_created_roles_fail_the_synth(user_app: UserApp) -> None:
    """The library acknowledges ``Resource::*`` (job role) and ``training-job/*`` (pipeline role) for its
    own statements; the same findings in the user's statements are still reported."""
    assert "UserAdditions/Training/JobRole/DefaultPolicy/Resource" in user_app.violations[STAR]
    assert user_app.violations[TRAINING_JOBS] == {
        "UserAdditions/Training/PipelineRole/DefaultPolicy/Resource"
    }
    acks = _acknowledged_at(user_app.app)
    assert STAR in acks["UserAdditions/Training/JobRole/Resource"]
    assert TRAINING_JOBS in acks["UserAdditions/Training/PipelineRole/Resource"]


def test_user_wildcards_on_imported_roles_fail_the_synth(user_app: UserApp) -> None:
    """A passed-in role's ``Policy`` (where ``add_to_principal_policy`` lands) is the user's; the library's
    statements live in its own ``JobRolePolicy`` / ``PipelineRolePolicy``."""
    assert {"UserByo/ExistingJobRole/Policy/Resource", "UserByo/ExistingPipelineRole/Policy/Resource"} <= (
        user_app.violations[STAR]
    )
    acks = _acknowledged_at(user_app.app)
    assert STAR in acks["UserByo/Training/JobRolePolicy/Resource"]
    assert TRAINING_JOBS in acks["UserByo/Training/PipelineRolePolicy/Resource"]


def test_only_the_user_additions_are_reported(user_app: UserApp) -> None:
    """Every finding of the library's own statements stays acknowledged: the report holds exactly the
    user's additions (and the findings of the user's own bucket)."""
    assert user_app.violations == {
        STAR: {
            "UserAdditions/Training/JobRole/DefaultPolicy/Resource",
            "UserByo/ExistingJobRole/Policy/Resource",
            "UserByo/ExistingPipelineRole/Policy/Resource",
        },
        TRAINING_JOBS: {"UserAdditions/Training/PipelineRole/DefaultPolicy/Resource"},
        "AwsSolutions-S1": {"UserByo/UserBucket/Resource", "UserDeployment/UserSite/Resource"},
        "AwsSolutions-S10": {"UserByo/UserBucket/Resource", "UserByo/UserBucket/Policy/Resource"},
        # the user's BucketDeployment writes to their bucket through the handler the library's shares
        USER_SITE_OBJECTS: {HANDLER_POLICY},
    }
    assert "AwsSolutions-IAM5[Resource::*]" in user_app.error


def test_acknowledgments_sit_on_the_library_resources_only(user_app: UserApp) -> None:
    """No acknowledgment on a role construct, a bucket, a stack or the app: only on the four
    CloudFormation resources that hold the library's statements."""
    assert set(_acknowledged_at(user_app.app)) == {
        "UserAdditions/Training/JobRole/Resource",
        "UserAdditions/Training/PipelineRole/Resource",
        "UserByo/Training/JobRolePolicy/Resource",
        "UserByo/Training/PipelineRolePolicy/Resource",
        "UserDeployment/Training/JobRole/Resource",
        "UserDeployment/Training/PipelineRole/Resource",
        # CDK's handler of the library's BucketDeployment: each finding on the resource that holds it
        f"{HANDLER}/Resource",
        f"{HANDLER}/ServiceRole/Resource",
        HANDLER_POLICY,
    }
    template = json.loads((user_app.outdir / "UserByo.template.json").read_text(encoding="utf-8"))
    policies = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Policy"}
    (library_job_policy,) = [v for k, v in policies.items() if k.startswith("TrainingJobRolePolicy")]
    assert library_job_policy["Properties"]["Roles"] == ["jobs"]
    sids = {s.get("Sid") for s in library_job_policy["Properties"]["PolicyDocument"]["Statement"]}
    assert {"ReadInputs", "WriteOutputs", "EcrLogin"} <= sids
    (user_job_policy,) = [v for k, v in policies.items() if k.startswith("ExistingJobRolePolicy")]
    assert [s["Action"] for s in user_job_policy["Properties"]["PolicyDocument"]["Statement"]] == [
        "secretsmanager:GetSecretValue"
    ]


def test_a_shared_cdk_handler_keeps_the_users_findings(user_app: UserApp) -> None:
    """CDK's ``BucketDeployment`` handler is one Lambda per stack, shared by the user's deployment and the
    library's (definition in S3). The library acknowledges the runtime, the managed policy and the
    wildcards of the statements its own deployment added (its artifact bucket, CDK's asset bucket), each on
    the resource that holds it; the user's bucket's object wildcard on the same policy stays reported."""
    acks = _acknowledged_at(user_app.app)
    assert acks[f"{HANDLER}/Resource"] == {"AwsSolutions-L1"}
    assert acks[f"{HANDLER}/ServiceRole/Resource"] == {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
    }
    policy_acks = acks[HANDLER_POLICY]
    assert any(
        a.startswith("AwsSolutions-IAM5[Resource::<TrainingStorageArtifactBucket") for a in policy_acks
    )
    assert USER_SITE_OBJECTS not in policy_acks
    assert user_app.violations[USER_SITE_OBJECTS] == {HANDLER_POLICY}


def test_a_bucket_policy_statement_from_user_code_is_not_hidden(user_app: UserApp) -> None:
    """No AwsSolutions rule looks at a bucket-policy statement's principal (see the module docstring), so
    nothing reports the user's organisation-wide statement on the created artifact bucket, and nothing of
    the library hides anything there: no acknowledgement on a bucket or its policy."""
    template = json.loads((user_app.outdir / "UserAdditions.template.json").read_text(encoding="utf-8"))
    bucket_policies = [v for v in template["Resources"].values() if v["Type"] == "AWS::S3::BucketPolicy"]
    shared = [
        s
        for p in bucket_policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"AWS": "*"}
    ]
    assert len(shared) == 1 and shared[0]["Condition"]
    acknowledged = [p for p in _acknowledged_at(user_app.app) if not p.startswith(HANDLER)]
    assert not [p for p in acknowledged if "Storage" in p or "Bucket" in p]
    buckets = [v["Properties"] for v in template["Resources"].values() if v["Type"] == "AWS::S3::Bucket"]
    assert all(b["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True for b in buckets)


@pytest.mark.parametrize("principal", [iam.AnyPrincipal(), iam.StarPrincipal()], ids=["AWS-star", "star"])
@pytest.mark.parametrize("bucket", ["bucket", "access_log_bucket"])
def test_a_public_bucket_policy_statement_fails_the_synth(
    tmp_path: Path, staging_dir: Path, principal: iam.IPrincipal, bucket: str
) -> None:
    """GIVEN user code that adds an unconditional ``Allow`` to every principal on a bucket the library
    created (which blocks public policies: S3 would refuse the policy on deploy) WHEN the app is synthesized
    under ``add_aws_solutions_checks`` THEN the synth fails, naming the bucket and the statement."""
    app = cdk.App(outdir=str(tmp_path), context=CONTEXT)
    stack = cdk.Stack(app, "PublicStatement", env=cdk.Environment(region=REGION))
    pipeline = PyTorchTrainingPipeline(
        stack, "Training", config=seed_training_config(), pipeline_name="public-statement"
    )
    target = getattr(pipeline.storage, bucket)
    target.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EveryoneMayRead",
            principals=[principal],
            actions=["s3:GetObject"],
            resources=[target.arn_for_objects("*")],
        )
    )
    add_aws_solutions_checks(app)
    with pytest.raises(Exception, match="EveryoneMayRead") as failure:
        app.synth()
    message = str(failure.value)
    assert f"PublicStatement/Training/Storage/{target.node.id}" in message
    assert "allows every principal without a condition" in message and "BlockPublicPolicy" in message


def test_the_example_app_still_synthesizes_under_cdk_nag(example_app: dict[str, Synth]) -> None:
    """``app.py`` with cdk-nag attached synthesizes (the session fixture fails on any finding)."""
    assert {"ConstructsLibExample", "ConstructsLibByoRoleExample"} <= set(example_app)


def test_which_statements_count_as_public() -> None:
    """Only what S3 judges public whatever the details: an unconditional Allow to every principal (or to
    all but some, ``NotPrincipal``). Denies, named principals and conditional statements pass."""
    from constructs_lib.constructs.storage import public_statements

    def doc(**statement: object) -> dict[str, object]:
        return {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **statement}]}

    assert public_statements(doc(Principal="*"))
    assert public_statements(doc(Principal={"AWS": ["arn:aws:iam::123456789012:root", "*"]}))
    assert public_statements(doc(NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}))
    assert not public_statements(doc(Principal="*", Effect="Deny"))
    assert not public_statements(doc(Principal={"Service": "logging.s3.amazonaws.com"}))
    assert not public_statements(doc(Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
