"""The hand-written peer: the seed's PyTorch training pipeline without constructs_lib.

What a user writes with only the SageMaker Python SDK v2 and aws-cdk-lib: a ``PyTorch`` estimator, a
``TrainingStep``, ``Pipeline.definition()`` inlined into a ``CfnPipeline``, an artifact bucket and one IAM
role. It carries the same values as the example app (the seed's hyperparameters, sent as the JSON strings
the SDK makes of them; ``CA_REPOSITORY_ARN``; PyTorch 1.13.1/py39 on ``ml.g5.12xlarge`` with the
``torch_distributed`` launcher; the four metric definitions) and the same measures that keep the SDK
offline: an explicit ``output_path``, an ``s3://…tar.gz`` ``source_dir``, a role ARN string, a boto session
with static dummy credentials and a region, telemetry replaced by a no-op and ``expand_role`` bypassed.

    python bench/baseline_app.py OUTDIR        # synthesizes the app into OUTDIR (no AWS call)
"""

from __future__ import annotations

import os
import sys

# The SDK prints a v3-migration banner on import; botocore probes the instance-metadata address.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

import aws_cdk as cdk
import boto3
import sagemaker.telemetry.telemetry_logging as telemetry
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker_cfn
from constructs import Construct
from sagemaker.inputs import TrainingInput
from sagemaker.pytorch import PyTorch
from sagemaker.workflow.parameters import ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.steps import TrainingStep

ACCOUNT = "123456789012"
REGION = "us-east-1"
PIPELINE_NAME = "pytorch-training"
STEP_NAME = "PyTorchTraining"
BUCKET_NAME = f"pytorch-training-artifacts-{ACCOUNT}-{REGION}"
ROLE_NAME = "pytorch-training-job-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
SOURCE_DIR = "s3://my-bucket/scripts/sourcedir.tar.gz"
CA_REPOSITORY_ARN = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"

#: The seed's hyperparameters (plus the reference script's defaults); the SDK JSON-encodes each value.
HYPERPARAMETERS: dict[str, object] = {
    "batch_size": 64,
    "cat_field_list": ["feature3"],
    "dropout": 0.1,
    "embedding_dim": 8,
    "epochs": 10,
    "full_field_list": ["customer_id", "target", "feature1", "feature2", "feature3"],
    "hidden_dims": [64, 32],
    "id_name": "customer_id",
    "label_name": "target",
    "learning_rate": 0.001,
    "seed": 42,
    "tab_field_list": ["feature1", "feature2"],
}

_NUMBER = r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
METRIC_DEFINITIONS = [
    {"Name": name, "Regex": rf"\b{name}: {_NUMBER}"}
    for name in ("Train Loss", "Validation Loss", "Validation F1 Score", "Validation AUC ROC")
]


def _no_telemetry(*_args: object, **_kwargs: object) -> None:
    return None


# fit() would send telemetry (an STS call and an HTTPS GET).
telemetry._send_telemetry_request = _no_telemetry


class OfflinePipelineSession(PipelineSession):  # type: ignore[misc]
    """A ``PipelineSession`` that never calls AWS while the definition is built."""

    def expand_role(self, role: str) -> str:
        # a role without "/" would trigger iam:GetRole; ours is a full ARN, but be explicit
        return role

    def default_bucket(self) -> str:
        # would call sts:GetCallerIdentity and s3:HeadBucket
        return BUCKET_NAME


def pipeline_definition() -> str:
    """The SageMaker pipeline definition (JSON text), built offline."""
    session = OfflinePipelineSession(
        boto_session=boto3.Session(
            region_name=REGION,
            aws_access_key_id="offline-no-credentials",
            aws_secret_access_key="offline-no-credentials",
        ),
        default_bucket=BUCKET_NAME,
        sagemaker_config={},
    )
    input_path = ParameterString(
        name=f"{STEP_NAME}InputPath",
        default_value=f"s3://{BUCKET_NAME}/{PIPELINE_NAME}/{STEP_NAME}/input/",
    )
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=SOURCE_DIR,
        framework_version="1.13.1",
        py_version="py39",
        instance_type="ml.g5.12xlarge",
        instance_count=1,
        volume_size=30,
        max_run=24 * 3600,
        role=ROLE_ARN,
        sagemaker_session=session,
        output_path=f"s3://{BUCKET_NAME}/{PIPELINE_NAME}/{STEP_NAME}/model",
        code_location=f"s3://{BUCKET_NAME}/{PIPELINE_NAME}/{STEP_NAME}/code",
        hyperparameters=HYPERPARAMETERS,
        environment={"CA_REPOSITORY_ARN": CA_REPOSITORY_ARN},
        metric_definitions=METRIC_DEFINITIONS,
        distribution={"torch_distributed": {"enabled": True}},
        debugger_hook_config=False,
        disable_profiler=True,
    )
    step = TrainingStep(
        name=STEP_NAME,
        step_args=estimator.fit(inputs={"data": TrainingInput(s3_data=input_path, s3_data_type="S3Prefix")}),
        # the retries a production pipeline wants (constructs_lib's defaults): throttling and service faults,
        # capacity and internal errors, resource limits
        retry_policies=[
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
                interval_seconds=5,
                backoff_rate=2.0,
                max_attempts=5,
            ),
            SageMakerJobStepRetryPolicy(
                failure_reason_types=[
                    SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                ],
                interval_seconds=60,
                backoff_rate=2.0,
                max_attempts=3,
            ),
            SageMakerJobStepRetryPolicy(
                failure_reason_types=[SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT],
                interval_seconds=300,
                backoff_rate=2.0,
                expire_after_mins=60,
            ),
        ],
    )
    pipeline = Pipeline(
        name=PIPELINE_NAME,
        parameters=[input_path],
        steps=[step],
        sagemaker_session=session,
        # no Experiments entities per execution (the role is not granted SageMaker Experiments)
        pipeline_experiment_config=None,
    )
    text: str = pipeline.definition()
    return text


class BaselineStack(cdk.Stack):
    """Bucket, job role with its grants, and the ``CfnPipeline`` with the definition inlined."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = s3.Bucket(
            self,
            "Artifacts",
            bucket_name=BUCKET_NAME,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
        )
        role = iam.Role(
            self,
            "JobRole",
            role_name=ROLE_NAME,
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        )
        bucket.grant_read_write(role)
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::my-bucket/scripts/*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["codeartifact:GetAuthorizationToken"],
                resources=[f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/my-domain"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=[CA_REPOSITORY_ARN],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                ],
                resources=[f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/*"],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["iam:PassRole"], resources=[ROLE_ARN]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=["*"],
            )
        )
        pipeline = sagemaker_cfn.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=PIPELINE_NAME,
            role_arn=role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": pipeline_definition()},
        )
        pipeline.node.add_dependency(role)


def main(argv: list[str] | None = None) -> int:
    """Synthesize the app into ``argv[0]`` (default: the CDK CLI's ``CDK_OUTDIR``, or a temporary
    directory)."""
    args = sys.argv[1:] if argv is None else argv
    app = cdk.App(outdir=args[0]) if args else cdk.App()
    BaselineStack(app, "BaselinePyTorchTraining", env=cdk.Environment(account=ACCOUNT, region=REGION))
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
