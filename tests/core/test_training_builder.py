"""PyTorchTrainingStepBuilder: a real SDK TrainingStep, the definition it yields, offline and deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigError, ModelHyperparameters, PyTorchTrainingStepBuilder
from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE
from constructs_lib.examples import SEED_CA_REPOSITORY_ARN, seed_training_config
from constructs_lib.metrics import metric_definitions
from constructs_lib.template import PipelineBuilderTemplate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seed_args() -> dict[str, Any]:
    builder = PyTorchTrainingStepBuilder(seed_training_config(), region="us-east-1")
    return builder.training_job_arguments(input_path="s3://data-bucket/processed/")


def test_create_step_returns_real_sdk_objects() -> None:
    from sagemaker.pytorch import PyTorch
    from sagemaker.workflow.steps import TrainingStep

    builder = PyTorchTrainingStepBuilder(config=seed_training_config(), region="us-east-1")
    assert isinstance(builder.create_estimator(), PyTorch)
    step = builder.create_step(inputs={"input_path": "s3://data-bucket/processed/"})
    assert isinstance(step, TrainingStep)
    assert step.properties.ModelArtifacts.S3ModelArtifacts.expr == {
        "Get": "Steps.PyTorchTraining.ModelArtifacts.S3ModelArtifacts"
    }


def test_metric_definitions_reach_the_definition(seed_args: dict[str, Any]) -> None:
    assert seed_args["AlgorithmSpecification"]["MetricDefinitions"] == metric_definitions()


def test_resource_config(seed_args: dict[str, Any]) -> None:
    assert seed_args["ResourceConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.g5.12xlarge",
        "VolumeSizeInGB": 30,
    }
    assert seed_args["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    image = seed_args["AlgorithmSpecification"]["TrainingImage"]
    assert image == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39"


def test_environment(seed_args: dict[str, Any]) -> None:
    # the reference training code packs the reference inference code: the launcher's two variables
    assert seed_args["Environment"] == {
        "CA_REPOSITORY_ARN": SEED_CA_REPOSITORY_ARN,
        "CONSTRUCTS_LIB_ENTRY_POINT": "train.py",
        "CONSTRUCTS_LIB_INFERENCE_CODE": "constructs_lib_inference",
    }


def test_hyperparameters(seed_args: dict[str, Any]) -> None:
    hps = seed_args["HyperParameters"]
    sent = seed_training_config().hyperparameters
    assert sent is not None and type(sent).from_sagemaker(hps) == sent
    # SageMaker runs the launcher, which runs train.py and then copies the inference code into the model
    assert json.loads(hps["sagemaker_program"]) == "constructs_lib_launcher.py"
    assert json.loads(hps["sagemaker_submit_directory"]).endswith("/PyTorchTraining/sourcedir.tar.gz")
    # 4 GPUs on ml.g5.12xlarge: SageMaker's torch_distributed launcher is on
    assert hps["sagemaker_torch_distributed_enabled"] == "true"
    assert all(len(v) <= 2500 for v in hps.values())


def test_input_channel(seed_args: dict[str, Any]) -> None:
    assert seed_args["InputDataConfig"] == [
        {
            "ChannelName": "data",
            "DataSource": {
                "S3DataSource": {
                    "S3DataDistributionType": "FullyReplicated",
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://data-bucket/processed/",
                }
            },
        }
    ]


def test_output_config(seed_args: dict[str, Any]) -> None:
    path = seed_args["OutputDataConfig"]["S3OutputPath"]
    assert path == "s3://constructs-lib-placeholder-artifact-bucket/pipeline/PyTorchTraining/model"
    cfg = seed_training_config(output_path="s3://models-bucket/team/")
    args = PyTorchTrainingStepBuilder(cfg, region="us-east-1").training_job_arguments()
    assert args["OutputDataConfig"]["S3OutputPath"] == "s3://models-bucket/team/"


def test_distribution_rules() -> None:
    def hps(**kw: object) -> dict[str, str]:
        cfg = seed_training_config(**kw)
        return PyTorchTrainingStepBuilder(cfg, region="us-east-1").training_job_arguments()["HyperParameters"]

    assert "sagemaker_torch_distributed_enabled" not in hps(training_instance_type="ml.g5.2xlarge")  # 1 GPU
    assert "sagemaker_torch_distributed_enabled" not in hps(training_instance_type="ml.m5.xlarge")  # CPU
    assert (
        hps(training_instance_type="ml.g5.2xlarge", training_instance_count=2)[
            "sagemaker_torch_distributed_enabled"
        ]
        == "true"
    )
    assert "sagemaker_torch_distributed_enabled" not in hps(distribution="off")
    with pytest.raises(ConfigError, match="torch_distributed"):
        hps(framework_version="1.12.1", py_version="py38")


def test_long_feature_list_ships_as_file(tmp_path: Path) -> None:
    names = [f"feature_{i:04d}" for i in range(500)]
    hp = ModelHyperparameters(
        id_name="id", label_name="y", full_field_list=["id", "y", *names], tab_field_list=names
    )
    cfg = seed_training_config(source_dir=str(tmp_path), hyperparameters=hp)
    builder = PyTorchTrainingStepBuilder(cfg, region="us-east-1")
    args = builder.training_job_arguments()
    inline = args["HyperParameters"]
    assert "full_field_list" not in inline and "tab_field_list" not in inline
    assert inline["id_name"] == '"id"' and inline["epochs"] == "10"
    assert all(len(v) <= 2500 for v in inline.values())
    (package,) = builder.code_packages()
    shipped = json.loads(package.extra_files[HYPERPARAMETERS_FILE])
    assert ModelHyperparameters(**shipped) == hp  # nothing truncated


def test_long_feature_list_with_s3_code_is_an_error() -> None:
    names = [f"feature_{i:04d}" for i in range(500)]
    hp = ModelHyperparameters(
        id_name="id", label_name="y", full_field_list=["id", "y", *names], tab_field_list=names
    )
    cfg = seed_training_config(source_dir="s3://code-bucket/sourcedir.tar.gz", hyperparameters=hp)
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingStepBuilder(cfg, region="us-east-1").training_job_arguments()
    assert (
        "full_field_list" in str(err.value)
        and "2500" in str(err.value)
        and "local source_dir" in str(err.value)
    )


def test_s3_source_dir_used_as_is() -> None:
    cfg = seed_training_config(source_dir="s3://code-bucket/v1/sourcedir.tar.gz")
    builder = PyTorchTrainingStepBuilder(cfg, region="us-east-1")
    args = builder.training_job_arguments()
    assert (
        json.loads(args["HyperParameters"]["sagemaker_submit_directory"])
        == "s3://code-bucket/v1/sourcedir.tar.gz"
    )
    assert builder.code_packages() == ()


def test_region_required() -> None:
    with pytest.raises(ConfigError, match="region"):
        PyTorchTrainingStepBuilder(seed_training_config())


def test_wrong_config_type() -> None:
    with pytest.raises(ConfigError, match="needs a PyTorchTrainingConfig"):
        PyTorchTrainingStepBuilder(seed_training_config().hyperparameters, region="us-east-1")  # type: ignore[arg-type]


def test_building_is_offline(no_network_attempts: None) -> None:
    built = PipelineBuilderTemplate.single_step(seed_training_config(), region="eu-west-1").build(
        "offline-check"
    )
    assert "eu-west-1" in built.definition_json


_DETERMINISM_SCRIPT = """
import sys
from constructs_lib.examples import seed_training_config
from constructs_lib.template import PipelineBuilderTemplate
built = PipelineBuilderTemplate.single_step(seed_training_config(), region="us-east-1").build("my-pipeline")
sys.stdout.write(built.definition_json)
"""


def _definition_in_subprocess(seed: str, tmp_path: Path) -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.netguard import guarded_env

    env = guarded_env()
    env["PYTHONHASHSEED"] = seed
    log = tmp_path / f"net-{seed}.log"
    env["CONSTRUCTS_LIB_NETGUARD_LOG"] = str(log)
    out = subprocess.run(
        [sys.executable, "-c", _DETERMINISM_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert not log.exists() or log.read_text() == "", f"network attempted: {log.read_text()}"
    return out.stdout


def test_definition_byte_identical_across_processes(tmp_path: Path) -> None:
    a = _definition_in_subprocess("1", tmp_path)
    b = _definition_in_subprocess("4242", tmp_path)
    assert a == b
    assert str(Path.home()) not in a and os.getcwd() not in a
    assert json.loads(a)["Steps"][0]["Name"] == "PyTorchTraining"


# ------------------------------------------------------------------------------------------ region rule
def test_seed_usage_without_region_takes_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's ``PyTorchTrainingStepBuilder(config=config)``: the region comes from the environment, as
    every boto3 and SDK user expects (explicit argument, then config, then session, then environment)."""
    from constructs_lib import PyTorchTrainingStepBuilder
    from constructs_lib.examples import seed_training_config

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert PyTorchTrainingStepBuilder(config=seed_training_config()).context.region == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # AWS_REGION wins, as in boto3
    assert PyTorchTrainingStepBuilder(config=seed_training_config()).context.region == "eu-central-1"
    # the config, then the argument, beat the environment
    assert PyTorchTrainingStepBuilder(seed_training_config(region="us-west-2")).context.region == "us-west-2"
    assert (
        PyTorchTrainingStepBuilder(seed_training_config(), region="ap-south-1").context.region == "ap-south-1"
    )


def test_no_region_anywhere_is_an_error_never_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from constructs_lib import ConfigError, PyTorchTrainingStepBuilder
    from constructs_lib.examples import seed_training_config

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ConfigError, match="no AWS region") as info:
        PyTorchTrainingStepBuilder(config=seed_training_config())
    assert info.value.field == "region" and "AWS_REGION" in str(info.value)
    with pytest.raises(ConfigError, match="not an AWS region code"):
        monkeypatch.setenv("AWS_REGION", "moon-1")
        PyTorchTrainingStepBuilder(config=seed_training_config())


def test_explicit_region_conflicting_with_the_config_is_refused() -> None:
    from constructs_lib import ConfigError, PyTorchTrainingStepBuilder
    from constructs_lib.examples import seed_training_config

    with pytest.raises(ConfigError, match="a region other than the pipeline's 'us-east-1'"):
        PyTorchTrainingStepBuilder(seed_training_config(region="eu-west-1"), region="us-east-1")
