"""``python -m constructs_lib verify`` against a local moto server: a stack deployed with CloudFormation, its
pipeline registered (moto skips ``AWS::SageMaker::Pipeline``) with the definition resolved by the
independent resolver of :mod:`constructs_lib.intrinsics`; no drift right after; an
``UpdatePipeline`` that bypasses CloudFormation is reported as exactly that change, exit 1.

``verify`` runs in a child process with the network guard, fake credentials and ``AWS_ENDPOINT_URL``
pointing at moto in the child's environment only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.netguard import guarded_env
from test_moto_deploy import CREDENTIALS, moto_endpoint  # noqa: F401  (the session's moto server)

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

REGION = CREDENTIALS["region_name"]
STACK = "ConstructsLibVerify"
PIPELINE_NAME = "constructs-lib-verify"
STEP = "PyTorchTraining"


def _client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.session.Session(**CREDENTIALS).client(service, endpoint_url=endpoint)


def _synth(outdir: Path) -> dict[str, Any]:
    import aws_cdk as cdk

    from constructs_lib.constructs import PyTorchTrainingPipeline
    from constructs_lib.examples import seed_training_config

    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True})
    stack = cdk.Stack(app, STACK, env=cdk.Environment(region=REGION))
    PyTorchTrainingPipeline(
        stack, "Training", config=seed_training_config(), pipeline_name=PIPELINE_NAME, tags={"team": "ml"}
    )
    return dict(app.synth().get_stack_by_name(STACK).template)


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """cdk.out of the stack, deployed to moto; its pipeline registered with the template's tags."""
    from support.intrinsics import Physical, pipeline_definitions

    cdk_out = tmp_path_factory.mktemp("verify") / "cdk.out"
    template = _synth(cdk_out)
    _client(moto_endpoint, "ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String", Overwrite=True
    )
    cfn = _client(moto_endpoint, "cloudformation")
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    deadline = time.monotonic() + 30
    while (status := cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]) != "CREATE_COMPLETE":
        assert "FAIL" not in status and "ROLLBACK" not in status and time.monotonic() < deadline, status
        time.sleep(0.2)
    refs = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=STACK)["StackResources"]
        if "LogicalResourceId" in r and "PhysicalResourceId" in r
    }
    iam = _client(moto_endpoint, "iam")

    def attribute(logical: str, attr: str) -> str:
        kind = template["Resources"][logical]["Type"]
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return str(iam.get_role(RoleName=refs[logical])["Role"]["Arn"])
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{refs[logical]}"
        raise AssertionError(f"unexpected attribute {logical}.{attr}")

    physical = Physical(
        refs=refs, attribute=attribute, region=REGION, account="123456789012", stack_name=STACK
    )
    ((logical, definition),) = pipeline_definitions(template, physical).items()
    props = template["Resources"][logical]["Properties"]
    _client(moto_endpoint, "sagemaker").create_pipeline(
        PipelineName=PIPELINE_NAME,
        PipelineDefinition=json.dumps(definition),
        RoleArn=physical.attribute(props["RoleArn"]["Fn::GetAtt"][0], "Arn"),
        Tags=props.get("Tags", []),
    )
    return cdk_out


def _verify(endpoint: str, cdk_out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = guarded_env()
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "constructs_lib", "verify", "--cdk-out", str(cdk_out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_no_drift_right_after_deploy(moto_endpoint: str, deployed: Path) -> None:  # noqa: F811
    result = _verify(moto_endpoint, deployed, "--pipeline", PIPELINE_NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"step {STEP} (Training): unchanged" in out
    assert "no drift: the live pipeline matches the synthesized code" in out
    assert f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE_NAME}" in out
    live = next(line for line in out.splitlines() if line.startswith("  live:"))
    synthesized = next(line for line in out.splitlines() if line.startswith("  synthesized:"))
    assert live.split(":", 1)[1].strip() == synthesized.split(":", 1)[1].strip()  # same tags both sides
    assert "provenance tags differ" not in out


def test_update_pipeline_outside_cloudformation_is_drift(moto_endpoint: str, deployed: Path) -> None:  # noqa: F811
    sagemaker = _client(moto_endpoint, "sagemaker")
    live = json.loads(sagemaker.describe_pipeline(PipelineName=PIPELINE_NAME)["PipelineDefinition"])
    assert live["Steps"][0]["Arguments"]["HyperParameters"]["learning_rate"] == "0.001"
    live["Steps"][0]["Arguments"]["HyperParameters"]["learning_rate"] = "0.0005"
    sagemaker.update_pipeline(PipelineName=PIPELINE_NAME, PipelineDefinition=json.dumps(live))

    result = _verify(moto_endpoint, deployed, "--pipeline", PIPELINE_NAME, "--region", REGION)
    assert result.returncode == 1, result.stdout + result.stderr
    changed = [line for line in result.stdout.splitlines() if line.startswith("  ") and "->" in line]
    assert changed == [f"  {STEP}: Arguments.HyperParameters.learning_rate 0.001 -> 0.0005"]
    assert "drift: the live pipeline differs from the synthesized code" in result.stdout

    as_json = _verify(moto_endpoint, deployed, "--pipeline", PIPELINE_NAME, "--format", "json")
    assert as_json.returncode == 1, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["drift"] is True
    assert report["diff"]["pipeline"] == []
    ((step,),) = [report["diff"]["steps"]]
    assert step["status"] == "changed"
    assert step["changes"] == [
        {
            "path": "Arguments.HyperParameters.learning_rate",
            "change": "changed",
            "old": "0.001",
            "new": "0.0005",
        }
    ]


def test_provenance_tag_changed_on_the_live_pipeline(moto_endpoint: str, deployed: Path) -> None:  # noqa: F811
    sagemaker = _client(moto_endpoint, "sagemaker")
    arn = sagemaker.describe_pipeline(PipelineName=PIPELINE_NAME)["PipelineArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "constructs-lib:config-sha256", "Value": "deadbeef"}])
    result = _verify(moto_endpoint, deployed, "--pipeline", PIPELINE_NAME)
    live = next(line for line in result.stdout.splitlines() if line.startswith("  live:"))
    assert "constructs-lib:config-sha256=deadbeef" in live
    assert "provenance tags differ: the live pipeline was not deployed from this code" in result.stdout


def test_errors_are_one_line_exit_2(moto_endpoint: str, deployed: Path) -> None:  # noqa: F811
    unknown = _verify(moto_endpoint, deployed, "--pipeline", "no-such-pipeline")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("ConfigError: field '--pipeline': unknown pipeline in ")
    assert f"one of: {STACK}/{PIPELINE_NAME}" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1

    elsewhere = _verify(moto_endpoint, deployed, "--pipeline", PIPELINE_NAME, "--region", "eu-west-1")
    assert elsewhere.returncode == 2, elsewhere.stdout
    assert f"sagemaker:DescribePipeline {PIPELINE_NAME} failed in eu-west-1" in elsewhere.stderr
    assert len(elsewhere.stderr.strip().splitlines()) == 1
