"""Deploy smoke test against a local moto server (no AWS): create the stack, check what CloudFormation
made, resolve and register the pipeline definition, then update the stack with a changed config and
check that the buckets and their data survived.

moto creates buckets, roles and policies from the template but skips ``AWS::SageMaker::Pipeline``; the
test therefore resolves the definition itself (:mod:`constructs_lib.intrinsics`) against the
stack's physical resources and registers it with ``create_pipeline``.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK = "ConstructsLibMotoSmoke"
PIPELINE_NAME = "constructs-lib-moto-smoke"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = Path(sys.executable).parent / "moto_server"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **{k.upper(): v for k, v in CREDENTIALS.items() if k != "region_name"}},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def aws(moto_endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    session = boto3.session.Session(**CREDENTIALS)

    def client(service: str):  # type: ignore[no-untyped-def]
        return session.client(service, endpoint_url=moto_endpoint)

    return client


def _synth(tmp: Path, *, changed: bool = False) -> tuple[dict[str, Any], Path]:
    """The seed training stack (local source_dir: a real code asset); ``changed``: other hyperparameters
    and instance type. Returns the template and the cloud assembly directory."""
    import aws_cdk as cdk

    from constructs_lib.constructs import PyTorchTrainingPipeline
    from constructs_lib.examples import seed_hyperparameters, seed_training_config

    overrides: dict[str, Any] = {}
    if changed:
        overrides = {
            "hyperparameters": seed_hyperparameters().model_copy(update={"epochs": 3, "batch_size": 128}),
            "training_instance_type": "ml.m5.xlarge",
        }
    app = cdk.App(outdir=str(tmp), context={"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True})
    stack = cdk.Stack(app, STACK, env=cdk.Environment(region=REGION))
    PyTorchTrainingPipeline(
        stack, "Training", config=seed_training_config(**overrides), pipeline_name=PIPELINE_NAME
    )
    assembly = app.synth()
    return assembly.get_stack_by_name(STACK).template, tmp


def _upload_assets(aws, outdir: Path) -> None:  # type: ignore[no-untyped-def]
    """What ``cdk deploy`` does first: put the file assets into the bootstrap bucket."""
    s3 = aws("s3")
    manifest = json.loads((outdir / f"{STACK}.assets.json").read_text())
    for entry in manifest["files"].values():
        for dest in entry["destinations"].values():
            bucket = (
                dest["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
            )
            if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                s3.create_bucket(Bucket=bucket)
            s3.put_object(
                Bucket=bucket, Key=dest["objectKey"], Body=(outdir / entry["source"]["path"]).read_bytes()
            )


def _wait(aws, status: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cfn = aws("cloudformation")
    deadline = time.monotonic() + 30
    while True:
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        if stack["StackStatus"] == status:
            return stack  # type: ignore[no-any-return]
        assert not stack["StackStatus"].endswith(("FAILED", "ROLLBACK_COMPLETE")), stack
        assert time.monotonic() < deadline, stack["StackStatus"]
        time.sleep(0.2)


def _physical(aws) -> tuple[dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    # moto lists some resources it did not create (e.g. the skipped pipeline) without ids
    resources = [
        r
        for r in aws("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
        if "LogicalResourceId" in r and "PhysicalResourceId" in r
    ]
    return (
        {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources},
        {r["LogicalResourceId"]: r["ResourceType"] for r in resources},
    )


def _resolver(aws, template: dict[str, Any]):  # type: ignore[no-untyped-def]
    from support.intrinsics import Physical

    refs, types = _physical(aws)
    iam = aws("iam")

    def attribute(logical: str, attr: str) -> str:
        kind = types.get(logical) or template["Resources"][logical]["Type"]
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return str(iam.get_role(RoleName=refs[logical])["Role"]["Arn"])
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{refs[logical]}"
        raise AssertionError(f"unexpected attribute {logical}.{attr}")

    return (
        Physical(refs=refs, attribute=attribute, region=REGION, account=ACCOUNT, stack_name=STACK),
        refs,
        types,
    )


@pytest.fixture(scope="module")
def deployed(aws, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The stack created in moto from the seed example's template."""
    aws("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String", Overwrite=True
    )
    template, outdir = _synth(tmp_path_factory.mktemp("v1"))
    _upload_assets(aws, outdir)
    aws("cloudformation").create_stack(
        StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    _wait(aws, "CREATE_COMPLETE")
    return template


def test_buckets_roles_and_policies_exist(aws, deployed) -> None:  # type: ignore[no-untyped-def]
    refs, types = _physical(aws)
    buckets = [refs[k] for k, t in types.items() if t == "AWS::S3::Bucket"]
    assert len(buckets) == 2
    s3 = aws("s3")
    for bucket in buckets:
        s3.head_bucket(Bucket=bucket)
    artifact = next(refs[k] for k in refs if "ArtifactBucket" in k and types[k] == "AWS::S3::Bucket")
    # (moto's CloudFormation ignores VersioningConfiguration; tests/cdk asserts it on the template)
    # (nor bucket policies and public-access blocks: also asserted on the template in tests/cdk)
    rules = s3.get_bucket_encryption(Bucket=artifact)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    iam = aws("iam")
    roles = {k: refs[k] for k, t in types.items() if t == "AWS::IAM::Role"}
    assert {"JobRole", "PipelineRole"} <= {
        next(n for n in ("JobRole", "PipelineRole") if n in k) for k in roles
    }
    for logical, name in roles.items():
        role = iam.get_role(RoleName=name)["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "sagemaker.amazonaws.com"
        }
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
        policy_names = iam.list_role_policies(RoleName=name)["PolicyNames"]
        assert len(policy_names) == 1, logical
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_names[0])["PolicyDocument"]
        if isinstance(document, str):  # moto returns the document as Python's repr of the dict
            document = ast.literal_eval(document)
        sids = {s["Sid"] for s in document["Statement"]}
        assert ("PassJobRole" in sids) if "PipelineRole" in logical else ("WriteOutputs" in sids)


def test_pipeline_definition_resolves_and_registers(aws, deployed) -> None:  # type: ignore[no-untyped-def]
    from support.intrinsics import pipeline_definitions

    from constructs_lib.definition import find_placeholders

    physical, refs, types = _resolver(aws, deployed)
    ((pipeline_logical, definition),) = pipeline_definitions(deployed, physical).items()
    role_logical = next(k for k in refs if "JobRole" in k and types[k] == "AWS::IAM::Role")
    pipeline_role_logical = next(k for k in refs if "PipelineRole" in k and types[k] == "AWS::IAM::Role")
    artifact = next(refs[k] for k in refs if "ArtifactBucket" in k and types[k] == "AWS::S3::Bucket")
    job_role_arn = physical.attribute(role_logical, "Arn")

    sagemaker = aws("sagemaker")
    sagemaker.create_pipeline(
        PipelineName=PIPELINE_NAME,
        PipelineDefinition=json.dumps(definition),
        RoleArn=physical.attribute(pipeline_role_logical, "Arn"),
    )
    described = sagemaker.describe_pipeline(PipelineName=PIPELINE_NAME)
    stored = json.loads(described["PipelineDefinition"])
    assert find_placeholders(stored) == []
    args = stored["Steps"][0]["Arguments"]
    assert args["RoleArn"] == job_role_arn
    assert args["OutputDataConfig"]["S3OutputPath"].startswith(f"s3://{artifact}/{PIPELINE_NAME}/")
    submit = json.loads(args["HyperParameters"]["sagemaker_submit_directory"])
    bucket, key = submit.removeprefix("s3://").split("/", 1)
    aws("s3").head_object(Bucket=bucket, Key=key)  # the code asset is where the definition says
    assert pipeline_logical in deployed["Resources"]


def test_update_keeps_buckets_and_data(aws, deployed, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    refs_before, types = _physical(aws)
    buckets_before = {k: v for k, v in refs_before.items() if types[k] == "AWS::S3::Bucket"}
    artifact = next(v for k, v in buckets_before.items() if "ArtifactBucket" in k)
    s3 = aws("s3")
    s3.put_object(Bucket=artifact, Key="keep/me.txt", Body=b"still here")

    template, outdir = _synth(tmp_path_factory.mktemp("v2"), changed=True)
    assert template != deployed
    _upload_assets(aws, outdir)
    aws("cloudformation").update_stack(
        StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    _wait(aws, "UPDATE_COMPLETE")

    refs_after, types_after = _physical(aws)
    assert {k: v for k, v in refs_after.items() if types_after[k] == "AWS::S3::Bucket"} == buckets_before
    assert s3.get_object(Bucket=artifact, Key="keep/me.txt")["Body"].read() == b"still here"
    physical, _, _ = _resolver(aws, template)
    from support.intrinsics import pipeline_definitions

    (definition,) = pipeline_definitions(template, physical).values()
    args = definition["Steps"][0]["Arguments"]
    assert args["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert args["HyperParameters"]["epochs"] == "3"
    aws("sagemaker").update_pipeline(PipelineName=PIPELINE_NAME, PipelineDefinition=json.dumps(definition))
    stored = json.loads(aws("sagemaker").describe_pipeline(PipelineName=PIPELINE_NAME)["PipelineDefinition"])
    assert stored["Steps"][0]["Arguments"]["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
