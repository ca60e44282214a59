"""PyTorchTrainingConfig: the seed's parameters, defaults and every validation rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from constructs_lib import ConfigError, ModelHyperparameters, PyTorchTrainingConfig, limits
from constructs_lib.examples import SEED_CA_REPOSITORY_ARN, seed_training_config

BASE = {
    "source_dir": "s3://my-bucket/scripts/sourcedir.tar.gz",
    "framework_version": "1.13.1",
    "py_version": "py39",
}


def make(**kw: object) -> PyTorchTrainingConfig:
    return PyTorchTrainingConfig(**{**BASE, **kw})  # type: ignore[arg-type]


def test_seed_defaults() -> None:
    cfg = make()
    assert cfg.training_instance_type == "ml.g5.12xlarge"
    assert cfg.training_instance_count == 1
    assert cfg.training_volume_size == 30
    assert cfg.training_entry_point == "train.py"
    assert cfg.hyperparameters is None
    assert cfg.env == {}


def test_seed_example_is_valid() -> None:
    cfg = seed_training_config()
    assert cfg.env == {"CA_REPOSITORY_ARN": SEED_CA_REPOSITORY_ARN}
    assert cfg.hyperparameters is not None and cfg.hyperparameters.epochs == 10


def test_config_is_frozen() -> None:
    cfg = make()
    with pytest.raises(Exception, match="frozen"):
        cfg.training_instance_count = 2  # type: ignore[misc]


@pytest.mark.parametrize("missing", ["source_dir", "framework_version", "py_version"])
def test_required_fields(missing: str) -> None:
    values = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingConfig(**values)  # type: ignore[arg-type]
    assert missing in str(err.value) and "field required" in str(err.value)


@pytest.mark.parametrize("field", ["source_dir", "framework_version", "py_version", "training_entry_point"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_required_fields_not_blank(field: str, blank: str) -> None:
    with pytest.raises(ConfigError) as err:
        make(**{field: blank})
    assert field in str(err.value)
    assert "must be provided" in str(err.value)


def test_unknown_field_rejected_with_allowed_list() -> None:
    with pytest.raises(ConfigError) as err:
        make(training_instance_typ="ml.m5.xlarge")
    msg = str(err.value)
    assert "training_instance_typ" in msg and "unknown field" in msg
    assert "training_instance_type" in msg  # the allowed fields are listed


def test_instance_type_from_botocore_enum() -> None:
    allowed = limits.training_instance_types()
    assert "ml.g5.12xlarge" in allowed and len(allowed) > 100
    # every enum value is accepted...
    for itype in ("ml.m5.xlarge", "ml.p4d.24xlarge", allowed[-1]):
        assert make(training_instance_type=itype).training_instance_type == itype
    # ...and a hosting-only / misspelled one is not, with a suggestion
    with pytest.raises(ConfigError) as err:
        make(training_instance_type="ml.g5.12xlarg")
    assert "ml.g5.12xlarg" in str(err.value) and "did you mean ml.g5.12xlarge" in str(err.value)
    with pytest.raises(ConfigError, match="not a SageMaker training instance type"):
        make(training_instance_type="m5.xlarge")


def test_framework_py_pair_lists_allowed_versions() -> None:
    with pytest.raises(ConfigError) as err:
        make(framework_version="1.13.1", py_version="py310")
    msg = str(err.value)
    assert "py_version" in msg and "py310" in msg and "py39" in msg
    assert make(framework_version="2.3.0", py_version="py311").py_version == "py311"


def test_unknown_framework_version_lists_supported() -> None:
    with pytest.raises(ConfigError) as err:
        make(framework_version="9.9.9")
    assert "framework_version" in str(err.value) and "1.13.1" in str(err.value)


@pytest.mark.parametrize("count", [0, -1])
def test_instance_count_at_least_one(count: int) -> None:
    with pytest.raises(ConfigError, match="training_instance_count"):
        make(training_instance_count=count)


def test_volume_size_bounds() -> None:
    high = limits.max_volume_size_gb()
    assert make(training_volume_size=1).training_volume_size == 1
    assert make(training_volume_size=high).training_volume_size == high
    for bad in (0, high + 1):
        with pytest.raises(ConfigError) as err:
            make(training_volume_size=bad)
        assert "training_volume_size" in str(err.value) and f"1..{high}" in str(err.value)


def test_env_rules_from_botocore() -> None:
    key = limits.shape("TrainingEnvironmentKey")
    value = limits.shape("TrainingEnvironmentValue")
    count = limits.shape("TrainingEnvironmentMap")
    assert (key.max, value.max, count.max) == (512, 512, 100)
    ok = make(env={"A" * key.max: "v" * value.max})
    assert len(ok.env) == 1
    with pytest.raises(ConfigError, match="name is 513 characters"):
        make(env={"A" * (key.max + 1): "v"})
    with pytest.raises(ConfigError, match="value is 513 characters"):
        make(env={"A": "v" * (value.max + 1)})
    assert len(make(env={f"K{i}": "v" for i in range(count.max)}).env) == count.max
    with pytest.raises(ConfigError, match="too many environment variables: 101"):
        make(env={f"K{i}": "v" for i in range(count.max + 1)})
    for bad in ("1ABC", "A-B", "A B", ""):
        with pytest.raises(ConfigError, match="invalid environment variable name"):
            make(env={bad: "v"})
    with pytest.raises(ConfigError, match=r"env\.A.*valid string"):
        make(env={"A": 1})


def test_codeartifact_arn_validated() -> None:
    with pytest.raises(ConfigError) as err:
        make(env={"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:123:repository/d"})
    assert "arn:<partition>:codeartifact" in str(err.value)


def test_source_dir_forms() -> None:
    assert make(source_dir="./code").is_local_source
    assert not make(source_dir="s3://b-b/a/sourcedir.tar.gz").is_local_source
    for bad in (
        "s3://my-bucket/scripts/",
        "s3://my-bucket/scripts/code.zip",
        "s3://B/x.tar.gz",
        "https://x/y",
    ):
        with pytest.raises(ConfigError, match="source_dir"):
            make(source_dir=bad)


@pytest.mark.parametrize("entry", ["/abs/train.py", "../train.py", "train.sh", "a\\b.py"])
def test_entry_point_rules(entry: str) -> None:
    with pytest.raises(ConfigError, match="training_entry_point"):
        make(training_entry_point=entry)


def test_runtime_and_region_and_s3_paths() -> None:
    with pytest.raises(ConfigError, match="max_runtime_seconds"):
        make(max_runtime_seconds=0)
    with pytest.raises(ConfigError, match="max_runtime_seconds"):
        make(max_runtime_seconds=28 * 24 * 3600 + 1)
    with pytest.raises(ConfigError, match="region"):
        make(region="US-EAST")
    with pytest.raises(ConfigError, match="output_path"):
        make(output_path="/local/dir")
    assert make(input_path="s3://data-bucket/train/").input_path == "s3://data-bucket/train/"


def test_several_errors_reported_together() -> None:
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingConfig(
            source_dir="", framework_version="1.13.1", py_version="py39", training_instance_count=0
        )
    assert len(err.value.errors) == 2
    assert "source_dir" in str(err.value) and "training_instance_count" in str(err.value)


def test_config_error_is_a_value_error_with_context() -> None:
    with pytest.raises(ValueError) as err:
        make(training_instance_count=0)
    exc = err.value
    assert isinstance(exc, ConfigError)
    assert exc.field == "PyTorchTrainingConfig.training_instance_count" and exc.value == 0


def test_model_copy_revalidates() -> None:
    cfg = make()
    assert cfg.model_copy(update={"training_instance_count": 2}).training_instance_count == 2
    with pytest.raises(ConfigError):
        cfg.model_copy(update={"training_instance_count": 0})


def test_validation_does_not_import_sdk_or_cdk() -> None:
    code = (
        "import sys, constructs_lib\n"
        "from constructs_lib import PyTorchTrainingConfig\n"
        "from constructs_lib.examples import seed_training_config\n"
        "seed_training_config()\n"
        "bad = [m for m in ('sagemaker', 'aws_cdk', 'jsii') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hyperparameters_accept_model_instance() -> None:
    hp = ModelHyperparameters(
        id_name="id", label_name="y", full_field_list=["id", "y", "x"], tab_field_list=["x"]
    )
    assert make(hyperparameters=hp).hyperparameters == hp
