"""The example CDK app: ``cdk synth`` (or ``make synth``) runs it offline, without AWS credentials.

Stacks:

* ``ConstructsLibExample``: the seed's usage example, a one-step ``PyTorchTrainingPipeline`` (seed
  hyperparameters, ``CA_REPOSITORY_ARN``, PyTorch 1.13.1/py39 on ml.g5.12xlarge) training with the
  packaged reference script ``constructs_lib/scripts/pytorch_training``.
* ``ConstructsLibDagExample``: the seed's full DAG (load -> preprocess -> train -> model) through
  ``PipelineBuilderTemplate`` (only when the library provides those step types).
* ``ConstructsLibByoRoleExample``: the same training step, running as an existing (imported, immutable)
  job role.
* ``ConstructsLibProductionExample``: the seed's DAG with the production settings: VPC, KMS keys, spot with
  checkpoints, caching, retries, instance type and count as pipeline parameters, network isolation.
* ``ConstructsLibOperationsExample``: the seed's DAG operated: started every day at 06:00 Berlin time and
  whenever a ``_SUCCESS`` marker lands under ``incoming/`` of a landing bucket created in the stack, with
  failed/stopped executions and failed steps sent to an encrypted SNS topic.
* ``ConstructsLibLifecycleExample``: from raw data to a registered model version: load -> preprocess ->
  train -> evaluate -> quality gate (AUC ROC >= 0.75) -> register into a model package group, which the
  stack creates; no repack job (the training step packs the inference code into model.tar.gz).

Region (SageMaker image URIs are regional, so the stacks need a concrete one), first found wins:

1. the context key ``constructs_lib:region`` (``cdk synth -c constructs_lib:region=eu-west-1``, or put it
   under ``context`` in ``cdk.json``);
2. the environment: ``CDK_DEFAULT_REGION`` (set by the CDK CLI from your AWS profile), then ``AWS_REGION``;
3. ``us-east-1``.

The account stays unresolved (``AWS::AccountId``), so the templates do not depend on who synthesizes them.
cdk-nag's AwsSolutions checks run on every stack: ``cdk synth`` fails on any unacknowledged finding.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from constructs_lib.errors import ConstructsLibError


def _fail(exc: BaseException) -> int:
    """Print one line for a failure of the app (a library error, or jsii unable to start) and return 2."""
    if isinstance(exc, ConstructsLibError):
        print(exc.one_line(), file=sys.stderr)
    else:
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__).rstrip(
            "."
        )
        print(
            f"SynthError: the CDK's JavaScript runtime (jsii) failed: {first}. Check that HOME is a "
            "writable directory, or set JSII_RUNTIME_PACKAGE_CACHE_ROOT to one.",
            file=sys.stderr,
        )
    return 2


# jsii prints a large Node-20 end-of-life banner on every start; the CDK CLI run through `make` sets this
# too, but `python app.py` alone should be as quiet.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

try:
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from constructs import Construct
except Exception as _exc:  # jsii starts a Node process on import: e.g. an unusable HOME stops it
    if __name__ == "__main__":
        sys.exit(_fail(_exc))
    raise

from constructs_lib.constructs import (  # noqa: E402
    ArtifactStorage,
    DataArrivalTrigger,
    PipelineSchedule,
    PyTorchTrainingPipeline,
    SageMakerPipeline,
    add_aws_solutions_checks,
)
from constructs_lib.constructs.pipeline import ROLE_NOT_MODIFIED_WARNING_ID  # noqa: E402
from constructs_lib.examples import (  # noqa: E402
    lifecycle_template,
    production_dag_template,
    seed_dag_template,
    seed_training_config,
)
from constructs_lib.template import PipelineBuilderTemplate  # noqa: E402

#: Context key that selects the region of every stack.
REGION_CONTEXT_KEY = "constructs_lib:region"
#: Region used when neither the context nor the environment names one.
DEFAULT_REGION = "us-east-1"
#: The platform VPC of the production example (imported by attributes: synth needs no AWS lookup).
EXAMPLE_VPC_ID = "vpc-0a1b2c3d4e5f60718"
EXAMPLE_PRIVATE_SUBNET_IDS = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
EXAMPLE_PRIVATE_ROUTE_TABLE_IDS = ("rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002")
#: The existing role of the bring-your-own-role example.
EXAMPLE_JOB_ROLE_ARN = "arn:aws:iam::123456789012:role/existing-sagemaker-job-role"


def resolve_region(context_value: object, environ: Mapping[str, str]) -> str:
    """The region: ``context_value`` (from ``constructs_lib:region``), else ``CDK_DEFAULT_REGION``, else
    ``AWS_REGION``, else :data:`DEFAULT_REGION`."""
    if isinstance(context_value, str) and context_value:
        return context_value
    return environ.get("CDK_DEFAULT_REGION") or environ.get("AWS_REGION") or DEFAULT_REGION


def example_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibExample``: the seed's training step as a one-step pipeline."""
    stack = cdk.Stack(scope, "ConstructsLibExample", env=env, description="constructs_lib: PyTorch training")
    PyTorchTrainingPipeline(
        stack,
        "Training",
        config=seed_training_config(),
        pipeline_name="constructs-lib-pytorch-training",
        description="Trains the seed's tabular PyTorch model",
    )
    return stack


def dag_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibDagExample``: the seed's full DAG (load -> preprocess -> train -> model)."""
    region = env.region
    assert region is not None
    template: PipelineBuilderTemplate = seed_dag_template(region)
    stack = cdk.Stack(scope, "ConstructsLibDagExample", env=env, description="constructs_lib: seed DAG")
    PyTorchTrainingPipeline(
        stack,
        "Training",
        template=template,
        pipeline_name="constructs-lib-seed-dag",
        description="Loads, preprocesses, trains and packages the seed's tabular PyTorch model",
    )
    return stack


def production_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibProductionExample``: the seed's DAG with every production setting switched on: a VPC
    (imported by attributes), KMS keys, managed spot with checkpoints, step caching, retries, the training
    instance type and count as pipeline parameters, network isolation of the processing jobs, encrypted
    traffic between training instances, tags and a parallelism limit."""
    region = env.region
    assert region is not None
    stack = cdk.Stack(
        scope, "ConstructsLibProductionExample", env=env, description="constructs_lib: production settings"
    )
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "PlatformVpc",
        vpc_id=EXAMPLE_VPC_ID,
        availability_zones=[f"{region}a", f"{region}b"],
        private_subnet_ids=list(EXAMPLE_PRIVATE_SUBNET_IDS),
        private_subnet_route_table_ids=list(EXAMPLE_PRIVATE_ROUTE_TABLE_IDS),
    )
    volume_key = kms.Key(
        stack,
        "JobVolumeKey",
        description="Encrypts the ML storage volumes of the production pipeline's jobs",
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    training = seed_training_config(
        training_instance_type_choices=("ml.g5.12xlarge", "ml.g5.2xlarge"),
        training_instance_count_choices=(1, 2),
        use_spot_instances=True,
        cache_expire_after="P30D",
        encrypt_inter_container_traffic=True,
    )
    template = production_dag_template(region, training)
    PyTorchTrainingPipeline(
        stack,
        "Training",
        template=template,
        pipeline_name="constructs-lib-production",
        description="The seed's DAG with the production job settings",
        kms_encryption=True,
        vpc=vpc,
        volume_kms_key=volume_key,
        max_parallel_steps=2,
        tags={"project": "constructs-lib", "data-classification": "confidential"},
    )
    return stack


def byo_role_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibByoRoleExample``: jobs run as an existing role the construct must not modify."""
    stack = cdk.Stack(
        scope, "ConstructsLibByoRoleExample", env=env, description="constructs_lib: bring your own job role"
    )
    job_role = iam.Role.from_role_arn(stack, "ExistingJobRole", EXAMPLE_JOB_ROLE_ARN, mutable=False)
    PyTorchTrainingPipeline(
        stack,
        "Training",
        config=seed_training_config(),
        pipeline_name="constructs-lib-byo-role",
        job_role=job_role,
    )
    cdk.Annotations.of(stack).acknowledge_warning(
        ROLE_NOT_MODIFIED_WARNING_ID,
        "The platform team manages existing-sagemaker-job-role's permissions.",
    )
    return stack


def operations_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibOperationsExample``: the seed's DAG on a daily schedule, a data-arrival trigger and
    failure alerts."""
    region = env.region
    assert region is not None
    stack = cdk.Stack(
        scope,
        "ConstructsLibOperationsExample",
        env=env,
        description="constructs_lib: a scheduled, data-triggered, alerting pipeline",
    )
    # The landing bucket: private, versioned, TLS-only, with access logs (the library's own storage).
    landing = ArtifactStorage(Construct(stack, "Landing"), "Storage").bucket
    incoming = f"s3://{landing.bucket_name}/incoming/"
    PyTorchTrainingPipeline(
        stack,
        "Training",
        template=seed_dag_template(region),
        pipeline_name="constructs-lib-operations",
        description="Retrains the seed's tabular PyTorch model daily and when new data lands",
        schedule=PipelineSchedule(
            "cron(0 6 * * ? *)",
            time_zone="Europe/Berlin",
            parameters={"RawDataS3Uri": incoming},
            name="Daily",
        ),
        trigger=DataArrivalTrigger(
            bucket=landing, prefix="incoming/", suffix="_SUCCESS", parameter="RawDataS3Uri", name="Incoming"
        ),
        alerts=True,
    )
    return stack


def lifecycle_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
    """``ConstructsLibLifecycleExample``: train, evaluate, gate on AUC ROC and register the model."""
    region = env.region
    assert region is not None
    stack = cdk.Stack(
        scope,
        "ConstructsLibLifecycleExample",
        env=env,
        description="constructs_lib: evaluate, gate, register",
    )
    SageMakerPipeline(
        stack,
        "Lifecycle",
        template=lifecycle_template(region),
        pipeline_name="constructs-lib-lifecycle",
        description="Trains, evaluates and registers the seed's model when its AUC ROC reaches 0.75",
    )
    return stack


#: Every example stack, in synthesis order (a builder may return ``None`` to skip its stack).
STACKS: tuple[Callable[[cdk.App, cdk.Environment], cdk.Stack | None], ...] = (
    example_stack,
    dag_stack,
    byo_role_stack,
    production_stack,
    operations_stack,
    lifecycle_stack,
)


def build_app(app: cdk.App | None = None, *, environ: Mapping[str, str] | None = None) -> cdk.App:
    """Add the example stacks and the cdk-nag checks to ``app`` (default: a new ``cdk.App()``)."""
    app = app if app is not None else cdk.App()
    region = resolve_region(
        app.node.try_get_context(REGION_CONTEXT_KEY), os.environ if environ is None else environ
    )
    env = cdk.Environment(region=region)
    for build in STACKS:
        build(app, env)
    add_aws_solutions_checks(app)
    return app


def main() -> int:
    """Synthesize the app; a failure prints one line on stderr and exits 2."""
    try:
        build_app().synth()
    except Exception as exc:
        return _fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
