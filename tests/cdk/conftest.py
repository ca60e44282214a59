"""Session-scoped synthesized stacks, shared by every CDK test (each distinct stack is synthesized once)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Before aws_cdk starts its jsii kernel (it inherits the environment).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from synth_support import (
    DEV_TAGS,
    EXISTING_BUCKET,
    EXISTING_GROUP_ARN,
    EXISTING_JOB_ROLE,
    INPUT_PARAM,
    INPUTS_PIPELINE,
    PIPELINE_NAME,
    REGION,
    SHARED_ACCOUNT,
    Synth,
    load_app_module,
    synth_one,
)

from constructs_lib import examples
from constructs_lib.config.registration import ModelRegistrationConfig
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.constructs import InputLocation, PyTorchTrainingPipeline, SageMakerPipeline

#: Names of the fixtures holding one synthesized stack each (the scanners run over all of them).
STACK_FIXTURES = (
    "example",
    "dag_example",
    "byo_role_example",
    "production_example",
    "operations_example",
    "lifecycle_example",
    "lifecycle_shared",
    "no_codeartifact",
    "dev_s3",
    "byo_bucket",
    "changed",
    "with_inputs",
    "cdk_scheduler_target",
    "direct_subnets",
    "existing_group",
    "spot_no_checkpoints",
)


@pytest.fixture(scope="session")
def example_app_module():  # type: ignore[no-untyped-def]
    return load_app_module()


@pytest.fixture(scope="session")
def example(example_app: dict[str, Synth]) -> Synth:
    return example_app["ConstructsLibExample"]


@pytest.fixture(scope="session")
def dag_example(example_app: dict[str, Synth]) -> Synth:
    if "ConstructsLibDagExample" not in example_app:
        pytest.skip("the library has no data-load/preprocessing/model step types yet")
    return example_app["ConstructsLibDagExample"]


@pytest.fixture(scope="session")
def byo_role_example(example_app: dict[str, Synth]) -> Synth:
    return example_app["ConstructsLibByoRoleExample"]


@pytest.fixture(scope="session")
def production_example(example_app: dict[str, Synth]) -> Synth:
    return example_app["ConstructsLibProductionExample"]


@pytest.fixture(scope="session")
def operations_example(example_app: dict[str, Synth]) -> Synth:
    return example_app["ConstructsLibOperationsExample"]


@pytest.fixture(scope="session")
def lifecycle_example(example_app: dict[str, Synth]) -> Synth:
    return example_app["ConstructsLibLifecycleExample"]


@pytest.fixture(scope="session")
def lifecycle_shared(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """The lifecycle pipeline with a KMS key, retain_on_delete=False and its group shared with an account."""
    from constructs_lib.constructs import SageMakerPipeline

    return synth_pipeline(
        "LifecycleShared",
        lambda stack: SageMakerPipeline(
            stack,
            "Lifecycle",
            template=examples.lifecycle_template(REGION),
            pipeline_name="lifecycle-shared",
            kms_encryption=True,
            retain_on_delete=False,
            share_model_packages_with=[SHARED_ACCOUNT],
        ),
    )


@pytest.fixture(scope="session")
def seed_config() -> Callable[..., PyTorchTrainingConfig]:
    """Factory: the seed's training config (the packaged reference script as source_dir) with overrides."""
    return examples.seed_training_config


@pytest.fixture(scope="session")
def synth_pipeline(tmp_path_factory: pytest.TempPathFactory, staging_dir: Path) -> Callable[..., Synth]:
    """Factory: synthesize a one-stack app whose stack is built by ``build(stack)``."""

    def make(stack_name: str, build: Callable[[cdk.Stack], object], **kwargs: object) -> Synth:
        return synth_one(tmp_path_factory.mktemp(stack_name), stack_name, build, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def no_codeartifact(synth_pipeline, seed_config) -> Synth:  # type: ignore[no-untyped-def]
    """The seed config without ``CA_REPOSITORY_ARN``."""
    return synth_pipeline(
        "NoCodeArtifact",
        lambda stack: PyTorchTrainingPipeline(
            stack, "Training", config=seed_config(env={}), pipeline_name=PIPELINE_NAME
        ),
    )


@pytest.fixture(scope="session")
def dev_s3(synth_pipeline, seed_config) -> Synth:  # type: ignore[no-untyped-def]
    """KMS key, retain_on_delete=False, tags, and the definition in S3 (the "auto" switch, low threshold)."""
    return synth_pipeline(
        "DevS3",
        lambda stack: PyTorchTrainingPipeline(
            stack,
            "Training",
            config=seed_config(),
            pipeline_name=PIPELINE_NAME,
            kms_encryption=True,
            retain_on_delete=False,
            definition_storage="auto",
            inline_threshold_chars=1_000,
            tags=DEV_TAGS,
        ),
    )


@pytest.fixture(scope="session")
def byo_bucket(synth_pipeline, seed_config) -> Synth:  # type: ignore[no-untyped-def]
    """Existing bucket and existing *mutable* job role; an operator role granted start-execution."""

    def build(stack: cdk.Stack) -> PyTorchTrainingPipeline:
        bucket = s3.Bucket.from_bucket_name(stack, "ExistingBucket", EXISTING_BUCKET)
        role = iam.Role.from_role_arn(stack, "ExistingJobRole", EXISTING_JOB_ROLE, mutable=True)
        pipeline = PyTorchTrainingPipeline(
            stack,
            "Training",
            config=seed_config(),
            pipeline_name=PIPELINE_NAME,
            artifact_bucket=bucket,
            job_role=role,
        )
        operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
        pipeline.grant_start_execution(operator)
        return pipeline

    return synth_pipeline("ByoBucket", build)


@pytest.fixture(scope="session")
def changed(synth_pipeline, seed_config) -> Synth:  # type: ignore[no-untyped-def]
    """The example stack's construct with other hyperparameters, instance type and environment."""
    hp = examples.seed_hyperparameters().model_copy(update={"epochs": 25, "learning_rate": 0.01})
    config = seed_config(
        hyperparameters=hp,
        training_instance_type="ml.p3.2xlarge",
        env={"CA_REPOSITORY_ARN": examples.SEED_CA_REPOSITORY_ARN, "LOG_LEVEL": "debug"},
    )
    return synth_pipeline(
        "ConstructsLibExample",
        lambda stack: PyTorchTrainingPipeline(
            stack,
            "Training",
            config=config,
            pipeline_name=PIPELINE_NAME,
            description="Trains the seed's tabular PyTorch model",
        ),
        env=cdk.Environment(region=REGION),
    )


@pytest.fixture(scope="session")
def code_changed(synth_pipeline, seed_config, tmp_path_factory: pytest.TempPathFactory) -> Synth:  # type: ignore[no-untyped-def]
    """The example stack's construct with a changed training script (one more comment line)."""
    import shutil

    source = tmp_path_factory.mktemp("changed-code") / "src"
    shutil.copytree(examples.REFERENCE_TRAINING_DIR, source)
    train = source / "train.py"
    train.write_text(train.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    return synth_pipeline(
        "ConstructsLibExample",
        lambda stack: PyTorchTrainingPipeline(
            stack,
            "Training",
            config=seed_config(source_dir=str(source)),
            pipeline_name=PIPELINE_NAME,
            description="Trains the seed's tabular PyTorch model",
        ),
        env=cdk.Environment(region=REGION),
    )


@pytest.fixture(params=STACK_FIXTURES)
def any_stack(request: pytest.FixtureRequest) -> Synth:
    """Each synthesized stack in turn."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ variants that single tests look at
@pytest.fixture(scope="session")
def with_inputs(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """The seed DAG with ``input_locations``: a URI and an imported KMS-encrypted bucket's prefix."""
    from aws_cdk import aws_kms as kms

    def build(stack):  # type: ignore[no-untyped-def]
        key = kms.Key.from_key_arn(
            stack, "LakeKey", "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
        )
        lake = s3.Bucket.from_bucket_attributes(
            stack, "Lake", bucket_name="team-data-lake", encryption_key=key
        )
        return SageMakerPipeline(
            stack,
            "Pipeline",
            template=examples.seed_dag_template(),
            pipeline_name=INPUTS_PIPELINE,
            input_locations=["s3://landing-zone/customers/", InputLocation(bucket=lake, prefix="curated/")],
        )

    return synth_pipeline("InputLocations", build)


@pytest.fixture(scope="session")
def cdk_scheduler_target(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """GIVEN CDK's own ``SageMakerStartPipelineExecution`` target (no role passed: CDK makes one) pointed at
    the construct, and ``apply_removal_policy`` through the ``IResource`` interface."""
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk import aws_scheduler_targets as scheduler_targets

    def build(stack: cdk.Stack) -> PyTorchTrainingPipeline:
        pipeline = PyTorchTrainingPipeline(
            stack, "Training", config=examples.seed_training_config(), pipeline_name=PIPELINE_NAME
        )
        scheduler.Schedule(
            stack,
            "Nightly",
            schedule=scheduler.ScheduleExpression.cron(hour="2", minute="0"),
            target=scheduler_targets.SageMakerStartPipelineExecution(
                pipeline,
                pipeline_parameter_list=[
                    scheduler_targets.SageMakerPipelineParameter(
                        name=INPUT_PARAM, value=f"s3://{pipeline.artifact_bucket.bucket_name}/nightly/"
                    )
                ],
            ),
        )
        resource: cdk.IResource = pipeline
        resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        return pipeline

    return synth_pipeline("CdkSchedulerTarget", build)


@pytest.fixture(scope="session")
def direct_subnets(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """The seed DAG in subnets given directly (no VPC) with an imported, immutable security group."""
    from aws_cdk import aws_ec2 as ec2

    def build(stack: cdk.Stack) -> SageMakerPipeline:
        return SageMakerPipeline(
            stack,
            "P",
            template=examples.seed_dag_template(),
            pipeline_name="direct-subnets",
            subnets=[ec2.Subnet.from_subnet_id(stack, "S1", "subnet-0123")],
            security_groups=[ec2.SecurityGroup.from_security_group_id(stack, "G", "sg-0123", mutable=False)],
        )

    return synth_pipeline("DirectSubnets", build)


@pytest.fixture(scope="session")
def existing_group(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """The lifecycle DAG registering into an existing group (:data:`EXISTING_GROUP_ARN`): none is created."""
    configs = examples.lifecycle_config_map() | {
        "register": ModelRegistrationConfig(model_package_group_arn=EXISTING_GROUP_ARN)
    }
    template = examples.lifecycle_template(REGION)
    template.config_map.update(configs)  # the same DAG, the registration into an existing group
    return synth_pipeline(
        "ExistingGroup",
        lambda stack: SageMakerPipeline(stack, "Lifecycle", template=template, pipeline_name="lc"),
    )


@pytest.fixture(scope="session")
def spot_no_checkpoints(synth_pipeline) -> Synth:  # type: ignore[no-untyped-def]
    """Spot training with checkpoints off (a build warning the construct turns into an annotation)."""
    return synth_pipeline(
        "SpotNoCheckpoints",
        lambda stack: PyTorchTrainingPipeline(
            stack,
            "Training",
            config=examples.seed_training_config(use_spot_instances=True, checkpoints="off"),
            pipeline_name="spot-no-checkpoints",
        ),
    )
