"""Production job settings: typed, validated at config time with named fields, applied once for every job
kind, and present in the definition exactly as SageMaker reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import (
    ConfigError,
    DataLoadConfig,
    PipelineBuilderTemplate,
    PyTorchModelConfig,
    SynthError,
    TabularPreprocessingConfig,
)
from constructs_lib import placeholders as P
from constructs_lib.config.job import DEFAULT_RETRY_POLICIES, RetryPolicy, check_iso8601_duration
from constructs_lib.config.registration import ModelRegistrationConfig
from constructs_lib.config.training_pytorch import image_kind
from constructs_lib.context import Infrastructure
from constructs_lib.examples import seed_dag_config_map, seed_dag_template, seed_training_config

REGION = "us-east-1"
INFRA = Infrastructure(
    subnets=(P.subnet(0), P.subnet(1)),
    security_group_ids=(P.security_group(0),),
    volume_kms_key=P.VOLUME_KEY,
    output_kms_key=P.OUTPUT_KEY,
    tags=(("team", "ml"), ("cost-center", "42")),
)


def training_step(infra: Infrastructure | None = None, **overrides: Any) -> tuple[dict[str, Any], Any]:
    overrides.setdefault("env", {})
    built = PipelineBuilderTemplate.single_step(seed_training_config(**overrides), region=REGION).build(
        "p", infra
    )
    (step,) = built.definition["Steps"]
    return step, built


# ------------------------------------------------------------------------------------------ retries
def test_default_retries_are_in_every_job_step_with_their_exact_exception_types() -> None:
    built = seed_dag_template().build("p")
    for step in built.definition["Steps"]:
        policies = step.get("RetryPolicies")
        assert policies, step["Name"]
        types = [p["ExceptionType"] for p in policies]
        if step["Name"].startswith("model-"):  # the model node's steps: step-call retries only
            assert types == [["Step.SERVICE_FAULT", "Step.THROTTLING"]]
        else:
            assert types == [
                ["Step.SERVICE_FAULT", "Step.THROTTLING"],
                ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"],
                ["SageMaker.RESOURCE_LIMIT"],
            ]
    (train,) = [s for s in built.definition["Steps"] if s["Name"] == "train"]
    assert train["RetryPolicies"][1] == {
        "BackoffRate": 2.0,
        "ExceptionType": ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 60,
        "MaxAttempts": 3,
    }
    assert (
        train["RetryPolicies"][2]["ExpireAfterMin"] == 60 and "MaxAttempts" not in train["RetryPolicies"][2]
    )


def test_custom_and_no_retries() -> None:
    step, _ = training_step(
        retry_policies=(
            RetryPolicy(exception_types=("Step.THROTTLING",), interval_seconds=30, max_attempts=2),
        )
    )
    assert step["RetryPolicies"] == [
        {"BackoffRate": 2.0, "ExceptionType": ["Step.THROTTLING"], "IntervalSeconds": 30, "MaxAttempts": 2}
    ]
    step, _ = training_step(retry_policies=())
    assert "RetryPolicies" not in step


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"exception_types": (), "max_attempts": 1}, "exception_types", "at least one"),
        (
            {"exception_types": ("Step.THROTTLING", "SageMaker.CAPACITY_ERROR"), "max_attempts": 1},
            "exception_types",
            "not both",
        ),
        ({"exception_types": ("Step.THROTTLING",), "max_attempts": 21}, "max_attempts", "1..20"),
        (
            {"exception_types": ("Step.THROTTLING",), "expire_after_minutes": 14401},
            "expire_after_minutes",
            "1..14400",
        ),
        (
            {"exception_types": ("Step.THROTTLING",), "max_attempts": 1, "interval_seconds": 43201},
            "interval_seconds",
            "1..43200",
        ),
        (
            {"exception_types": ("Step.THROTTLING",), "max_attempts": 1, "backoff_rate": 0.5},
            "backoff_rate",
            ">= 1.0",
        ),
        ({"exception_types": ("Step.THROTTLING",)}, "max_attempts", "exactly one"),
        (
            {"exception_types": ("Step.THROTTLING",), "max_attempts": 2, "expire_after_minutes": 5},
            "max_attempts",
            "exactly one",
        ),
        ({"exception_types": ("Step.OOPS",), "max_attempts": 1}, "exception_types", ""),
    ],
)
def test_retry_policy_limits(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**kwargs)
    assert field in str(info.value) and fragment in str(info.value)


def test_an_exception_type_in_two_policies_and_job_retries_on_a_model_are_refused() -> None:
    twice = (
        RetryPolicy(exception_types=("Step.THROTTLING",), max_attempts=1),
        RetryPolicy(exception_types=("Step.THROTTLING",), max_attempts=2),
    )
    with pytest.raises(ConfigError, match="retried by two policies"):
        seed_training_config(retry_policies=twice)
    with pytest.raises(ConfigError, match="this step creates no job") as info:
        PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311", retry_policies=DEFAULT_RETRY_POLICIES
        )
    assert "retry_policies[1]" in str(info.value)
    with pytest.raises(ConfigError, match="this step creates no job") as info:
        ModelRegistrationConfig(retry_policies=DEFAULT_RETRY_POLICIES)
    assert "retry_policies[1]" in str(info.value)


def test_the_lifecycle_steps_get_their_default_retries() -> None:
    """Evaluation (a processing job): job and step retries; registration (a CreateModelPackage call):
    step retries only; the gate (evaluated by SageMaker Pipelines itself) has none."""
    from constructs_lib.examples import lifecycle_template

    definition = lifecycle_template().build("p").definition
    steps = {s["Name"]: s for s in definition["Steps"]}
    gate = steps.pop("quality_gate")
    assert "RetryPolicies" not in gate
    steps.update({s["Name"]: s for s in gate["Arguments"]["IfSteps"]})
    types = {name: [p["ExceptionType"] for p in s.get("RetryPolicies", [])] for name, s in steps.items()}
    assert types["evaluate"][1] == ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"]
    (register,) = [n for n in types if n.startswith("register")]
    assert types[register] == [["Step.SERVICE_FAULT", "Step.THROTTLING"]]


# ------------------------------------------------------------------------------------------ caching
@pytest.mark.parametrize("value", ["P30D", "PT12H", "P1DT6H", "P2W", "PT90M", "P1Y"])
def test_iso_durations(value: str) -> None:
    assert check_iso8601_duration(value, field="x") == value


@pytest.mark.parametrize("value", ["30d", "P", "PT", "P0D", "p30d", "P1.5D", "PT1H30", "1 day", ""])
def test_bad_iso_durations(value: str) -> None:
    with pytest.raises(ConfigError, match="ISO 8601 duration"):
        check_iso8601_duration(value, field="cache_expire_after")


def test_caching_is_off_by_default_and_on_when_asked() -> None:
    step, _ = training_step()
    assert "CacheConfig" not in step
    step, _ = training_step(cache_expire_after="P30D")
    assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    prep = TabularPreprocessingConfig(cache_expire_after="PT12H")
    built = PipelineBuilderTemplate.single_step(prep, region=REGION).build("p")
    assert built.definition["Steps"][0]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}


# ------------------------------------------------------------------------------------------ spot, checkpoints
def test_spot_with_checkpoints_per_execution() -> None:
    step, built = training_step(use_spot_instances=True)
    args = step["Arguments"]
    assert args["EnableManagedSpotTraining"] is True
    assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800}
    assert args["CheckpointConfig"] == {
        "LocalPath": "/opt/ml/checkpoints",
        "S3Uri": {
            "Std:Join": {
                "On": "/",
                "Values": [
                    f"s3://{P.ARTIFACT_BUCKET}/p/PyTorchTraining/checkpoints",
                    {"Get": "Execution.PipelineExecutionId"},
                ],
            }
        },
    }
    access = built.access["PyTorchTraining"]
    checkpoints = f"s3://{P.ARTIFACT_BUCKET}/p/PyTorchTraining/checkpoints"
    assert checkpoints in access.prefix_reads and checkpoints in access.writes  # listed, read, written
    assert built.warnings == ()


def test_custom_checkpoint_location_and_local_path() -> None:
    step, _ = training_step(
        checkpoints="on", checkpoint_s3_uri="s3://ckpt-bucket/team/", checkpoint_local_path="/opt/ml/ckpt"
    )
    args = step["Arguments"]
    assert "EnableManagedSpotTraining" not in args
    assert args["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"][0] == "s3://ckpt-bucket/team"
    assert args["CheckpointConfig"]["LocalPath"] == "/opt/ml/ckpt"
    assert args["Environment"]["CONSTRUCTS_LIB_CHECKPOINT_DIR"] == "/opt/ml/ckpt"


def test_the_checkpoint_directory_variable_counts_against_the_job_environment_limit() -> None:
    """SageMaker refuses a CreateTrainingJob with more than 100 environment variables: the step's own
    variables (launcher and checkpoint directory) count, and a user's copy of them is refused."""
    ckpt = {"checkpoints": "on", "checkpoint_local_path": "/opt/ml/ckpt"}
    step, _ = training_step(env={f"V{i}": "x" for i in range(97)}, **ckpt)
    assert len(step["Arguments"]["Environment"]) == 100
    with pytest.raises(ConfigError, match="too many environment variables: 98") as info:
        seed_training_config(env={f"V{i}": "x" for i in range(98)}, **ckpt)
    assert "CONSTRUCTS_LIB_CHECKPOINT_DIR" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="set by the training step"):
        seed_training_config(env={"CONSTRUCTS_LIB_CHECKPOINT_DIR": "/tmp"}, **ckpt)


def test_spot_without_checkpoints_is_a_warning_with_a_stable_id() -> None:
    step, built = training_step(use_spot_instances=True, checkpoints="off", max_wait_seconds=100_000)
    assert "CheckpointConfig" not in step["Arguments"]
    assert step["Arguments"]["StoppingCondition"]["MaxWaitTimeInSeconds"] == 100_000
    (warning,) = built.warnings
    assert warning.id == "constructs_lib:spot-without-checkpoints" and warning.step == "PyTorchTraining"


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"max_wait_seconds": 100_000}, "max_wait_seconds", "managed spot training only"),
        (
            {"use_spot_instances": True, "max_wait_seconds": 3600},
            "max_wait_seconds",
            "at least max_runtime_seconds",
        ),
        ({"use_spot_instances": True, "max_wait_seconds": 30 * 86400}, "max_wait_seconds", "at most 28 days"),
        (
            {"checkpoints": "off", "checkpoint_s3_uri": "s3://ckpt-bucket/c/"},
            "checkpoint_s3_uri",
            "checkpoints='off'",
        ),
        ({"checkpoint_local_path": "checkpoints"}, "checkpoint_local_path", "absolute directory"),
        ({"checkpoint_s3_uri": "s3:/nope"}, "checkpoint_s3_uri", "not a valid S3 URI"),
        ({"cache_expire_after": "30 days"}, "cache_expire_after", "ISO 8601"),
    ],
)
def test_spot_and_checkpoint_errors_name_the_field(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        seed_training_config(**kwargs)
    assert f"PyTorchTrainingConfig.{field}" in str(info.value) and fragment in str(info.value)


# ------------------------------------------------------------------------------------------ instance choices
def test_instance_type_and_count_as_parameters() -> None:
    step, built = training_step(
        training_instance_type_choices=("ml.g5.12xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge"),
        training_instance_count_choices=(1, 2),
    )
    params = {p["Name"]: p for p in built.definition["Parameters"]}
    assert params["PyTorchTrainingInstanceType"] == {
        "Name": "PyTorchTrainingInstanceType",
        "Type": "String",
        "DefaultValue": "ml.g5.12xlarge",
        "EnumValues": ["ml.g5.12xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge"],
    }
    assert params["PyTorchTrainingInstanceCount"] == {
        "Name": "PyTorchTrainingInstanceCount",
        "Type": "Integer",
        "DefaultValue": 1,
    }
    resources = step["Arguments"]["ResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.PyTorchTrainingInstanceType"}
    assert resources["InstanceCount"] == {"Get": "Parameters.PyTorchTrainingInstanceCount"}
    # one image for every choice (all GPU), and the launcher uses every GPU of the instance it lands on
    assert step["Arguments"]["AlgorithmSpecification"]["TrainingImage"].endswith(
        "pytorch-training:1.13.1-gpu-py39"
    )
    assert step["Arguments"]["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"


def test_one_gpu_choices_with_more_instances_turn_distribution_on() -> None:
    step, _ = training_step(
        training_instance_type="ml.g5.2xlarge",
        training_instance_type_choices=("ml.g5.2xlarge",),
        training_instance_count_choices=(1, 2),
    )
    assert step["Arguments"]["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    step, _ = training_step(
        training_instance_type="ml.m5.xlarge",
        training_instance_type_choices=("ml.m5.xlarge", "ml.c5.2xlarge"),
    )
    assert "sagemaker_torch_distributed_enabled" not in step["Arguments"]["HyperParameters"]
    assert step["Arguments"]["AlgorithmSpecification"]["TrainingImage"].endswith("-cpu-py39")


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        (
            {"training_instance_type_choices": ("ml.g5.2xlarge",)},
            "training_instance_type_choices",
            "must be one of the choices",
        ),
        (
            {"training_instance_type_choices": ("ml.g5.12xlarge", "ml.g5.13xlarge")},
            "training_instance_type_choices[1]",
            "did you mean",
        ),
        (
            {"training_instance_type_choices": ("ml.g5.12xlarge", "ml.m5.xlarge")},
            "training_instance_type_choices",
            "different training images",
        ),
        (
            {"training_instance_type_choices": ("ml.g5.12xlarge", "ml.g5.12xlarge")},
            "training_instance_type_choices",
            "repeat",
        ),
        (
            {"training_instance_count_choices": (2, 4)},
            "training_instance_count_choices",
            "must be one of the choices",
        ),
        ({"training_instance_count_choices": (1, 0)}, "training_instance_count_choices[1]", "1..100"),
    ],
)
def test_choice_errors_name_the_field(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        seed_training_config(**kwargs)
    assert f"PyTorchTrainingConfig.{field}" in str(info.value) and fragment in str(info.value)


def test_image_kind_is_the_sdks_rule_for_every_training_instance_type() -> None:
    from sagemaker import image_uris

    from constructs_lib import limits

    for instance_type in limits.training_instance_types():
        sdk = image_uris._processor(instance_type, ["cpu", "gpu", "neuron", "trn", "inf"])
        expected = {"trn": "neuron", "inf": "neuron"}.get(sdk, sdk)
        assert image_kind(instance_type) == expected, instance_type


def test_processing_instance_choices() -> None:
    cfg = DataLoadConfig(
        processing_instance_type_choices=("ml.m5.xlarge", "ml.m5.4xlarge"),
        processing_instance_count_choices=(1,),
    )
    built = PipelineBuilderTemplate.single_step(cfg, region=REGION).build("p")
    cluster = built.definition["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.DataLoadInstanceType"}
    assert cluster["InstanceCount"] == {"Get": "Parameters.DataLoadInstanceCount"}
    with pytest.raises(ConfigError, match=r"processing_instance_type_choices\[1\].*CPU instances only"):
        DataLoadConfig(processing_instance_type_choices=("ml.m5.xlarge", "ml.g5.xlarge"))


# ------------------------------------------------------------------------------------------ network, KMS, tags
def test_vpc_kms_and_tags_reach_every_job_kind() -> None:
    built = seed_dag_template().build("p", INFRA)
    vpc = {"SecurityGroupIds": [P.security_group(0)], "Subnets": [P.subnet(0), P.subnet(1)]}
    tags = [{"Key": "cost-center", "Value": "42"}, {"Key": "team", "Value": "ml"}]
    steps = {s["Name"]: s["Arguments"] for s in built.definition["Steps"]}
    for name in ("data_load", "preprocess"):
        args = steps[name]
        assert args["NetworkConfig"]["VpcConfig"] == vpc
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == P.VOLUME_KEY
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == P.OUTPUT_KEY
        assert args["Tags"] == tags
    train = steps["train"]
    assert train["VpcConfig"] == vpc
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == P.VOLUME_KEY
    assert train["OutputDataConfig"]["KmsKeyId"] == P.OUTPUT_KEY
    assert train["Tags"] == tags
    model = steps["model-CreateModel"]
    assert model["VpcConfig"] == vpc and model["Tags"] == tags
    for node in ("data_load", "preprocess", "train"):
        access = built.access[node]
        assert access.subnets == (P.subnet(0), P.subnet(1)) and access.security_groups == (
            P.security_group(0),
        )
        assert access.volume_keys == (P.VOLUME_KEY,) and access.kms_keys == (P.OUTPUT_KEY,)


def test_without_infrastructure_nothing_of_it_is_needed() -> None:
    built = seed_dag_template().build("p")
    access = built.pipeline_access()
    assert (access.subnets, access.security_groups, access.kms_keys, access.volume_keys) == ((), (), (), ())
    assert "VpcConfig" not in json.dumps(built.definition) and "KmsKeyId" not in json.dumps(built.definition)


def test_network_isolation_and_encrypted_traffic() -> None:
    step, built = training_step(
        enable_network_isolation=True, encrypt_inter_container_traffic=True, source_dir=_no_requirements()
    )
    args = step["Arguments"]
    assert args["EnableNetworkIsolation"] is True and args["EnableInterContainerTrafficEncryption"] is True
    # isolated: SageMaker delivers the code on the "code" channel (listed and fetched by SageMaker)
    channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
    assert set(channels) == {"code", "data"}
    access = built.access["PyTorchTraining"]
    assert access.object_reads == () and any("sourcedir" in u for u in access.prefix_reads)
    prep = PipelineBuilderTemplate.single_step(
        TabularPreprocessingConfig(enable_network_isolation=True, encrypt_inter_container_traffic=True),
        region=REGION,
    ).build("p")
    network = prep.definition["Steps"][0]["Arguments"]["NetworkConfig"]
    assert network == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}


def test_network_isolation_of_the_model_step() -> None:
    """``PyTorchModelConfig.enable_network_isolation`` reaches ``CreateModel`` (the one non-job step whose API
    has the field); off by default."""
    from constructs_lib.config.model_pytorch import PyTorchModelConfig
    from constructs_lib.dag import PipelineDAG

    def create_model(**settings: Any) -> dict[str, Any]:
        configs = seed_dag_config_map()
        configs["model"] = PyTorchModelConfig(framework_version="1.13.1", py_version="py39", **settings)
        dag = PipelineDAG()
        for node in configs:
            dag.add_node(node)
        for a, b in (("data_load", "preprocess"), ("preprocess", "train"), ("train", "model")):
            dag.add_edge(a, b)
        built = PipelineBuilderTemplate(dag=dag, config_map=configs, region=REGION).build("p")  # type: ignore[arg-type]
        return {s["Name"]: s["Arguments"] for s in built.definition["Steps"]}["model-CreateModel"]

    assert create_model(enable_network_isolation=True)["EnableNetworkIsolation"] is True
    assert create_model().get("EnableNetworkIsolation", False) is False


def test_the_sdk_enums_are_looked_up_by_value() -> None:
    """The workaround ``sdk_adapter.enum_members_by_value`` exists because the SDK's enum metaclass ignores a
    positional value (``StepExceptionTypeEnum("Step.THROTTLING")`` is ``SERVICE_FAULT``); if the SDK fixes
    it, the first assertion tells us the workaround can go."""
    from sagemaker.workflow.retry import SageMakerJobExceptionTypeEnum, StepExceptionTypeEnum

    from constructs_lib.sdk_adapter import enum_members_by_value

    assert StepExceptionTypeEnum("Step.THROTTLING") is not StepExceptionTypeEnum.THROTTLING
    by_value = enum_members_by_value(StepExceptionTypeEnum)
    assert by_value["Step.THROTTLING"] is StepExceptionTypeEnum.THROTTLING
    jobs = enum_members_by_value(SageMakerJobExceptionTypeEnum)
    assert {m.value for m in jobs.values()} == set(jobs) and len(jobs) == len(SageMakerJobExceptionTypeEnum)
    step, _ = training_step(
        retry_policies=[RetryPolicy(exception_types=("Step.THROTTLING",), max_attempts=2)],
    )
    assert step["RetryPolicies"][0]["ExceptionType"] == ["Step.THROTTLING"]


def _no_requirements() -> str:
    import shutil
    import tempfile

    from constructs_lib.examples import REFERENCE_TRAINING_DIR

    target = Path(tempfile.mkdtemp()) / "src"
    shutil.copytree(REFERENCE_TRAINING_DIR, target)
    (target / "requirements.txt").unlink()
    return str(target)


def test_network_isolation_refuses_what_needs_the_network() -> None:
    with pytest.raises(ConfigError, match=r"requirements\.txt") as info:
        training_step(enable_network_isolation=True)
    assert info.value.field == "enable_network_isolation" and info.value.step == "PyTorchTraining"
    with pytest.raises(ConfigError, match="CA_REPOSITORY_ARN needs network access"):
        training_step(
            enable_network_isolation=True,
            source_dir=_no_requirements(),
            env={
                "CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"
            },
        )


def test_infrastructure_rules() -> None:
    with pytest.raises(ConfigError, match="subnets and security groups together"):
        Infrastructure(subnets=("subnet-1",))
    with pytest.raises(ConfigError, match="at most 5"):
        Infrastructure(subnets=("subnet-1",), security_group_ids=tuple(f"sg-{i}" for i in range(6)))
    assert Infrastructure(tags=(("b", "2"), ("a", "1"))).tags == (("a", "1"), ("b", "2"))


def test_arguments_as_an_execution_with_default_parameters_runs_them() -> None:
    """What the local run uses: parameters at their defaults, the execution id and joins evaluated."""
    from constructs_lib import PyTorchTrainingStepBuilder
    from constructs_lib.definition import as_executed

    builder = PyTorchTrainingStepBuilder(
        seed_training_config(
            training_instance_type_choices=("ml.g5.12xlarge", "ml.g5.2xlarge"),
            use_spot_instances=True,
            env={},
        ),
        region=REGION,
    )
    args = builder.training_job_arguments(executed=True)
    assert args["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert (
        args["CheckpointConfig"]["S3Uri"]
        == f"s3://{P.ARTIFACT_BUCKET}/pipeline/PyTorchTraining/checkpoints/local-execution"
    )
    # SageMaker substitutes the parameter's value as it is (not JSON-encoded like the SDK's literals)
    assert args["HyperParameters"]["sagemaker_instance_type"] == "ml.g5.12xlarge"
    other_step = {"Get": "Steps.prep.ProcessingOutputConfig.Outputs['x'].S3Output.S3Uri"}
    assert as_executed({"a": other_step}, {}) == {"a": other_step}  # other steps' outputs stay references
    with pytest.raises(SynthError, match="unknown pipeline parameter"):
        as_executed({"Get": "Parameters.Nope"}, {})
