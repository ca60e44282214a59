"""CDK assertions on the synthesized pipeline, buckets and roles (GIVEN a config, WHEN synthesized, THEN ...)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match
from synth_support import (
    ACCOUNT,
    DEV_TAGS,
    EXISTING_BUCKET,
    EXISTING_JOB_ROLE,
    PIPELINE_NAME,
    REGION,
    Synth,
    by_sid,
    policy_statements,
)

from constructs_lib import placeholders
from constructs_lib.constructs.storage import DATA_DELETED_WARNING_ID
from constructs_lib.definition import find_placeholders
from constructs_lib.metrics import metric_definitions

SEED_CA = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"
CA_DOMAIN = "arn:aws:codeartifact:us-east-1:123456789012:domain/my-domain"


# ---------------------------------------------------------------------------------------------- pipeline
def test_pipeline_resource_has_name_role_and_inline_definition(example: Synth) -> None:
    example.template.has_resource_properties(
        "AWS::SageMaker::Pipeline",
        {
            "PipelineName": PIPELINE_NAME,
            "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("TrainingPipelineRole"), "Arn"]},
            "PipelineDefinition": {"PipelineDefinitionBody": Match.any_value()},
        },
    )


def test_definition_has_metrics_data_channel_and_resources(example: Synth) -> None:
    definition = example.definition()
    (step,) = definition["Steps"]
    args = step["Arguments"]
    assert step["Type"] == "Training"
    assert args["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": m["Name"], "Regex": m["Regex"]} for m in metric_definitions()
    ]
    assert [m["Name"] for m in args["AlgorithmSpecification"]["MetricDefinitions"]] == [
        "Train Loss",
        "Validation Loss",
        "Validation F1 Score",
        "Validation AUC ROC",
    ]
    (channel,) = args["InputDataConfig"]
    assert channel["ChannelName"] == "data"
    assert channel["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert args["ResourceConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.g5.12xlarge",
        "VolumeSizeInGB": 30,
    }
    # the reference training code packs the reference inference code (the launcher's two variables)
    assert args["Environment"] == {
        "CA_REPOSITORY_ARN": SEED_CA,
        "CONSTRUCTS_LIB_ENTRY_POINT": "train.py",
        "CONSTRUCTS_LIB_INFERENCE_CODE": "constructs_lib_inference",
    }
    assert args["AlgorithmSpecification"]["TrainingImage"].startswith(
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39"
    )


def test_definition_references_are_the_stack_resources(example: Synth) -> None:
    """Every placeholder became a reference: role ARN, artifact bucket, code asset URL."""
    text = json.dumps(example.json["Resources"])
    assert find_placeholders(example.json) == []
    assert placeholders.ARTIFACT_BUCKET not in text
    definition = example.definition()
    args = definition["Steps"][0]["Arguments"]
    job_role_logical, _ = example.one("AWS::IAM::Role", "JobRole")
    bucket_logical, _ = example.one("AWS::S3::Bucket", "ArtifactBucket")
    assert args["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/phys-{job_role_logical.lower()}"
    assert args["OutputDataConfig"]["S3OutputPath"].startswith(
        f"s3://phys-{bucket_logical.lower()}/{PIPELINE_NAME}/"
    )
    (asset_hash,) = example.asset_hashes()
    submit = json.loads(args["HyperParameters"]["sagemaker_submit_directory"])
    # the object key ends with the pipeline's code suffix: the job role's grant on code is stable
    assert submit == f"s3://cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/{asset_hash}.{PIPELINE_NAME}-code"


def test_code_asset_is_the_packed_tarball(example: Synth) -> None:
    import tarfile

    (asset_hash,) = example.asset_hashes()
    path = example.outdir / f"asset.{asset_hash}.{PIPELINE_NAME}-code"
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
    assert "train.py" in names
    # every seed hyperparameter fits inline: no hyperparameters file, so the code package is independent
    # of the hyperparameters
    assert "constructs_lib_hyperparameters.json" not in names


# ---------------------------------------------------------------------------------------------- buckets
def test_artifact_bucket_is_private_versioned_encrypted_logged_and_retained(example: Synth) -> None:
    _logical, bucket = example.one("AWS::S3::Bucket", "ArtifactBucket")
    log_logical, log_bucket = example.one("AWS::S3::Bucket", "AccessLogBucket")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_logical},
        "LogFilePrefix": "artifact-bucket/",
    }
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert log_bucket["DeletionPolicy"] == "Retain"
    assert log_bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert not example.resources("Custom::S3AutoDeleteObjects")


@pytest.mark.parametrize("bucket_part", ["ArtifactBucket", "AccessLogBucket"])
def test_buckets_deny_non_tls_requests(example: Synth, bucket_part: str) -> None:
    logical, _ = example.one("AWS::S3::Bucket", bucket_part)
    example.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logical},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_access_log_delivery_uses_a_bucket_policy(example: Synth) -> None:
    log_logical, log_bucket = example.one("AWS::S3::Bucket", "AccessLogBucket")
    assert "AccessControl" not in log_bucket["Properties"]
    example.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": log_logical},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logging.s3.amazonaws.com"}})]
                )
            },
        },
    )


# ---------------------------------------------------------------------------------------------- IAM
def test_no_managed_policies_and_sagemaker_trust(example: Synth) -> None:
    for _logical, role in example.resources("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"]
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
            }
        ]
    assert not example.resources("AWS::IAM::ManagedPolicy")
    assert not example.resources("AWS::IAM::Policy")


def test_job_role_statements_are_exact(example: Synth) -> None:
    statements = policy_statements(example.role("JobRole"))
    resolved = {s["Sid"]: example.resolved(s) for s in statements}
    bucket_logical, _ = example.one("AWS::S3::Bucket", "ArtifactBucket")
    bucket_arn = f"arn:aws:s3:::phys-{bucket_logical.lower()}"
    prefix = f"{PIPELINE_NAME}/PyTorchTraining"
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs"
    assert resolved == {
        "ReadInputs": {
            "Sid": "ReadInputs",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                f"{bucket_arn}/{prefix}/input/*",
                f"{bucket_arn}/{prefix}/model*",
                f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/*.{PIPELINE_NAME}-code",
            ],
        },
        "ListInputs": {
            "Sid": "ListInputs",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/input/*", f"{prefix}/model*"]}},
        },
        "WriteOutputs": {
            "Sid": "WriteOutputs",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/{prefix}/model/*",
        },
        "CreateLogGroups": {
            "Sid": "CreateLogGroups",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            "Resource": f"{log_group}:*",
        },
        "WriteLogs": {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:log-stream:*",
        },
        "PutMetrics": {
            "Sid": "PutMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": ["/aws/sagemaker/TrainingJobs"]}},
        },
        "EcrLogin": {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        "PullImages": {
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:aws:ecr:{REGION}:763104351884:repository/pytorch-training",
        },
        "CodeArtifactToken": {
            "Sid": "CodeArtifactToken",
            "Effect": "Allow",
            "Action": "codeartifact:GetAuthorizationToken",
            "Resource": CA_DOMAIN,
        },
        "CodeArtifactRead": {
            "Sid": "CodeArtifactRead",
            "Effect": "Allow",
            "Action": ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            "Resource": SEED_CA,
        },
        "CodeArtifactBearerToken": {
            "Sid": "CodeArtifactBearerToken",
            "Effect": "Allow",
            "Action": "sts:GetServiceBearerToken",
            "Resource": "*",
            "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
        },
    }


def test_pipeline_role_statements_are_exact(example: Synth) -> None:
    statements = policy_statements(example.role("PipelineRole"))
    resolved = {s["Sid"]: example.resolved(s) for s in statements}
    job_role_logical, _ = example.one("AWS::IAM::Role", "JobRole")
    jobs = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/*"
    assert resolved == {
        "RunTrainingJob": {
            "Sid": "RunTrainingJob",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
            ],
            "Resource": jobs,
        },
        "TagJobs": {"Sid": "TagJobs", "Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": jobs},
        "PassJobRole": {
            "Sid": "PassJobRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/phys-{job_role_logical.lower()}",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    }


def test_codeartifact_statements_absent_without_repository_arn(no_codeartifact: Synth) -> None:
    sids = by_sid(policy_statements(no_codeartifact.role("JobRole")))
    assert not [s for s in sids if s.startswith("CodeArtifact")]
    assert "codeartifact" not in json.dumps(no_codeartifact.json)
    assert "sts:GetServiceBearerToken" not in json.dumps(no_codeartifact.json)
    environment = no_codeartifact.definition()["Steps"][0]["Arguments"].get("Environment", {})
    assert "CA_REPOSITORY_ARN" not in environment and not [k for k in environment if "CODEARTIFACT" in k]


def test_dag_pipeline_grants_processing_and_model_steps(dag_example: Synth) -> None:
    types = sorted({s["Type"] for s in dag_example.definition()["Steps"]})
    assert "Processing" in types and "Training" in types
    pipeline_sids = by_sid(policy_statements(dag_example.role("PipelineRole")))
    assert "RunProcessingJob" in pipeline_sids and "RunTrainingJob" in pipeline_sids
    if "Model" in types:
        assert dag_example.resolved(pipeline_sids["RunModel"])["Resource"] == (
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/*"
        )
    job = {
        k: dag_example.resolved(v) for k, v in by_sid(policy_statements(dag_example.role("JobRole"))).items()
    }
    assert job["WriteLogs"]["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:*",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs:log-stream:*",
    ] or job["WriteLogs"]["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs:log-stream:*",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:*",
    ]
    # every step's output prefix is readable (outputs feed the next step's inputs)
    writes = job["WriteOutputs"]["Resource"]
    reads = job["ReadInputs"]["Resource"]
    for w in writes:
        assert w.removesuffix("/*") + "*" in reads


# ---------------------------------------------------------------------------------------------- options
def test_dev_stack_deletes_data_with_a_warning(dev_s3: Synth) -> None:
    for _logical, bucket in dev_s3.resources("AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Delete"
    assert len(dev_s3.resources("Custom::S3AutoDeleteObjects")) == 2
    warnings = [
        entry
        for construct in dev_s3.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:warning"
    ]
    assert any(DATA_DELETED_WARNING_ID in str(w.data) for w in warnings)


def test_example_has_no_data_deletion_warning(example: Synth) -> None:
    texts = [
        str(e.data)
        for c in example.stack.node.find_all()
        for e in c.node.metadata
        if e.type == "aws:cdk:warning"
    ]
    assert not [t for t in texts if DATA_DELETED_WARNING_ID in t]


def test_kms_key_rotates_and_encrypts_the_bucket(dev_s3: Synth) -> None:
    key_logical, key = dev_s3.one("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    _, bucket = dev_s3.one("AWS::S3::Bucket", "ArtifactBucket")
    assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [key_logical, "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    sids = by_sid(policy_statements(dev_s3.role("JobRole")))
    assert sids["UseBucketKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sids["UseBucketKey"]["Resource"] == {"Fn::GetAtt": [key_logical, "Arn"]}


def test_tags_reach_pipeline_buckets_and_roles(dev_s3: Synth) -> None:
    expected = [{"Key": k, "Value": v} for k, v in sorted(DEV_TAGS.items())]
    for cfn_type in ("AWS::SageMaker::Pipeline", "AWS::S3::Bucket", "AWS::IAM::Role"):
        for logical, resource in dev_s3.resources(cfn_type).items():
            if logical.startswith("Custom"):
                continue
            tags = resource["Properties"].get("Tags", [])
            for tag in expected:
                assert tag in tags, (logical, tags)


def test_byo_bucket_and_role(byo_bucket: Synth) -> None:
    assert not byo_bucket.resources("AWS::S3::Bucket")
    pipeline = byo_bucket.pipeline
    assert pipeline is not None and pipeline.access_log_bucket is None
    roles = byo_bucket.resources("AWS::IAM::Role")
    assert sorted(k for k in roles if "JobRole" in k) == []
    # the mutable imported job role gets its permissions as a policy of the pipeline's own, attached by name
    # (not the role's DefaultPolicy, where user code's add_to_principal_policy goes)
    policies = byo_bucket.resources("AWS::IAM::Policy")
    assert not [k for k in policies if k.startswith("ExistingJobRole")]
    job_policy = [p for k, p in policies.items() if k.startswith("TrainingJobRolePolicy")]
    assert len(job_policy) == 1
    assert job_policy[0]["Properties"]["Roles"] == ["team-sagemaker-jobs"]
    statements = by_sid(job_policy[0]["Properties"]["PolicyDocument"]["Statement"])
    assert byo_bucket.resolved(statements["WriteOutputs"])["Resource"] == (
        f"arn:aws:s3:::{EXISTING_BUCKET}/{PIPELINE_NAME}/PyTorchTraining/model/*"
    )
    pass_role = by_sid(policy_statements(byo_bucket.role("PipelineRole")))["PassJobRole"]
    assert pass_role["Resource"] == EXISTING_JOB_ROLE
    # the pipeline waits for the imported role's new policy
    _, pipe = byo_bucket.one("AWS::SageMaker::Pipeline")
    job_policy_logical = next(k for k in policies if k.startswith("TrainingJobRolePolicy"))
    assert job_policy_logical in pipe.get("DependsOn", [])
    definition = byo_bucket.definition()
    assert definition["Steps"][0]["Arguments"]["RoleArn"] == EXISTING_JOB_ROLE
    assert definition["Steps"][0]["Arguments"]["OutputDataConfig"]["S3OutputPath"].startswith(
        f"s3://{EXISTING_BUCKET}/"
    )


def test_grant_start_execution_is_scoped_to_this_pipeline(byo_bucket: Synth) -> None:
    policies = byo_bucket.resources("AWS::IAM::Policy")
    (operator_policy,) = [p for k, p in policies.items() if k.startswith("Operator")]
    (statement,) = operator_policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == [
        "sagemaker:StartPipelineExecution",
        "sagemaker:DescribePipeline",
        "sagemaker:ListPipelineExecutions",
    ]
    assert byo_bucket.resolved(statement["Resource"]) == (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PIPELINE_NAME}"
    )


def test_immutable_byo_role_is_left_alone(byo_role_example: Synth, example_app_module) -> None:  # type: ignore[no-untyped-def]
    assert not [k for k in byo_role_example.resources("AWS::IAM::Role") if "JobRole" in k]
    assert not byo_role_example.resources("AWS::IAM::Policy")
    pass_role = by_sid(policy_statements(byo_role_example.role("PipelineRole")))["PassJobRole"]
    assert pass_role["Resource"] == example_app_module.EXAMPLE_JOB_ROLE_ARN
    definition = byo_role_example.definition()
    assert definition["Steps"][0]["Arguments"]["RoleArn"] == example_app_module.EXAMPLE_JOB_ROLE_ARN
    # app.py acknowledges the warning: nothing is reported for the stack
    manifest = json.loads((byo_role_example.outdir / "manifest.json").read_text())
    entries = manifest["artifacts"][byo_role_example.name].get("metadata", {})
    assert not [e for v in entries.values() for e in v if e["type"] == "aws:cdk:warning"]


def test_props_are_declared_once() -> None:
    from constructs_lib.constructs.props import PipelineOptions, PipelineProps

    assert set(PipelineOptions.__annotations__) == set(PipelineProps.option_names())


def test_unknown_prop_is_named() -> None:
    from constructs_lib.constructs.props import PipelineProps
    from constructs_lib.errors import ConfigError
    from constructs_lib.examples import seed_dag_template

    with pytest.raises(ConfigError, match="unknown construct prop") as info:
        PipelineProps.create(template=seed_dag_template(), pipeline_name="p", retain_on_delet=False)
    assert info.value.field == "retain_on_delet"
