"""The seed's companion steps: data load, tabular preprocessing and the PyTorch model.

Configs (validation against botocore's limits and the SDK's image catalogues), specifications, builders
(the real SDK steps they make, offline), their code packages, and the shipped scripts run for real on a
tiny table, through the exact entry point and arguments the pipeline definition holds.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import importlib.util
import inspect
import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import netguard

from constructs_lib import (
    ConfigError,
    DataLoadConfig,
    DataLoadStepBuilder,
    ModelQualityGateConfig,
    ModelRegistrationConfig,
    PyTorchEvaluationConfig,
    PyTorchModelConfig,
    PyTorchModelStepBuilder,
    TabularPreprocessingConfig,
    TabularPreprocessingStepBuilder,
    limits,
    placeholders,
)
from constructs_lib.builders.base import StepBuilderBase, StepResult
from constructs_lib.config.base import StrictModel
from constructs_lib.config.model_pytorch import GRAVITON_FAMILIES
from constructs_lib.contracts.data_load import DATA_LOAD_CONTRACT
from constructs_lib.contracts.preprocessing_tabular import TABULAR_PREPROCESSING_CONTRACT
from constructs_lib.examples import seed_hyperparameters
from constructs_lib.packaging import pack_source_dir
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, check_property_path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "constructs_lib" / "scripts"
BUCKET = placeholders.ARTIFACT_BUCKET


@pytest.fixture(scope="module")
def session() -> Any:
    from constructs_lib.sdk_adapter import offline_session

    return offline_session("us-east-1", BUCKET)


def built_definition(builder: StepBuilderBase, **create: Any) -> tuple[list[dict[str, Any]], StepResult]:
    """The builder's step(s) exactly as in a pipeline definition, and the build's result."""
    from sagemaker.workflow.pipeline import Pipeline

    result = builder.build(**create)
    pipeline = Pipeline(
        name="p",
        parameters=list(result.parameters),
        steps=[result.step],
        sagemaker_session=builder.context.session,
    )
    steps: list[dict[str, Any]] = json.loads(pipeline.definition())["Steps"]
    return steps, result


def definition_of(builder: StepBuilderBase, **create: Any) -> list[dict[str, Any]]:
    """The builder's step(s) exactly as in a pipeline definition."""
    return built_definition(builder, **create)[0]


def attribute_docstrings(cls: type) -> dict[str, str]:
    """``{field: docstring}`` of the string literals placed under each annotated field in the class body."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = str(nxt.value.value)
    return docs


# ============================================================================================ configs
CONFIG_CLASSES: list[type[StrictModel]] = [
    TabularPreprocessingConfig,
    DataLoadConfig,
    PyTorchModelConfig,
    PyTorchEvaluationConfig,
    ModelQualityGateConfig,
    ModelRegistrationConfig,
]


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_field_documents_its_default(cls: type[StrictModel]) -> None:
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if isinstance(klass, type) and issubclass(klass, StrictModel) and klass is not StrictModel:
            docs.update(attribute_docstrings(klass))
    for name in cls.model_fields:
        assert name in docs, f"{cls.__name__}.{name} has no docstring"
        assert "Default" in docs[name] or "Required" in docs[name], f"{cls.__name__}.{name}: {docs[name]}"


def test_defaults() -> None:
    pre = TabularPreprocessingConfig()
    assert (pre.train_ratio, pre.val_ratio, pre.test_ratio, pre.random_seed) == (0.7, 0.15, 0.15, 42)
    assert (pre.processing_instance_type, pre.processing_instance_count, pre.processing_volume_size) == (
        "ml.m5.xlarge",
        1,
        30,
    )
    assert pre.framework_version == "1.2-1"
    assert pre.processing_entry_point == "preprocess.py"
    assert DataLoadConfig().processing_entry_point == "load.py"
    assert DataLoadConfig().parameter_name == "RawDataS3Uri"
    model = PyTorchModelConfig(framework_version="2.3.0", py_version="py311")
    assert (model.inference_instance_type, model.entry_point) == ("ml.m5.large", "inference.py")


@pytest.mark.parametrize("cls", CONFIG_CLASSES[:2], ids=lambda c: c.__name__)
def test_configs_are_frozen_and_strict(cls: type[StrictModel]) -> None:
    config = cls()
    with pytest.raises(Exception, match="frozen"):
        config.processing_instance_count = 2  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown field"):
        cls(processing_instance=1)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0.01, max_value=0.98, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_ratios_that_sum_to_one_are_accepted(train: float, share: float) -> None:
    rest = 1.0 - train
    val = rest * min(max(share, 0.01), 0.99)
    test = 1.0 - train - val
    if not (0 < val < 1 and 0 < test < 1):
        return
    config = TabularPreprocessingConfig(train_ratio=train, val_ratio=val, test_ratio=test)
    assert config.script_arguments()[:6] == [
        "--train-ratio",
        repr(train),
        "--val-ratio",
        repr(val),
        "--test-ratio",
        repr(test),
    ]


@settings(max_examples=60, deadline=None)
@given(st.tuples(*(st.floats(min_value=0.001, max_value=0.999) for _ in range(3))))
def test_ratios_that_do_not_sum_to_one_are_refused(ratios: tuple[float, float, float]) -> None:
    if abs(sum(ratios) - 1.0) <= 1e-9:
        return
    with pytest.raises(ConfigError, match="must be 1"):
        TabularPreprocessingConfig(train_ratio=ratios[0], val_ratio=ratios[1], test_ratio=ratios[2])


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_each_ratio_is_strictly_inside_0_1(bad: float) -> None:
    with pytest.raises(ConfigError, match="strictly between 0 and 1") as info:
        TabularPreprocessingConfig(val_ratio=bad)
    assert "val_ratio" in str(info.value)


def test_processing_bounds_come_from_botocore() -> None:
    volume = limits.shape("ProcessingVolumeSizeInGB")
    count = limits.shape("ProcessingInstanceCount")
    runtime = limits.shape("ProcessingMaxRuntimeInSeconds")
    assert TabularPreprocessingConfig(processing_volume_size=volume.max).processing_volume_size == volume.max
    assert (
        TabularPreprocessingConfig(processing_instance_count=count.max).processing_instance_count == count.max
    )
    assert TabularPreprocessingConfig(max_runtime_seconds=runtime.max).max_runtime_seconds == runtime.max
    for field, value in (
        ("processing_volume_size", (volume.max or 0) + 1),
        ("processing_volume_size", 0),
        ("processing_instance_count", (count.max or 0) + 1),
        ("processing_instance_count", 0),
        ("max_runtime_seconds", (runtime.max or 0) + 1),
    ):
        with pytest.raises(ConfigError, match="out of range") as info:
            TabularPreprocessingConfig(**{field: value})
        assert field in str(info.value)


def test_processing_instance_type() -> None:
    assert "ml.m5.xlarge" in limits.processing_instance_types()
    with pytest.raises(ConfigError, match=r"did you mean ml\.m5\.xlarge"):
        TabularPreprocessingConfig(processing_instance_type="ml.m5.xlarg")
    with pytest.raises(ConfigError, match="CPU instances only"):
        DataLoadConfig(processing_instance_type="ml.g5.xlarge")


def test_processing_env_uses_the_processing_shapes() -> None:
    key_max = limits.shape("ProcessingEnvironmentKey").max or 256
    value_max = limits.shape("ProcessingEnvironmentValue").max or 256
    ok = TabularPreprocessingConfig(env={"B": "2", "A": "1"})
    assert list(ok.env) == ["A", "B"]
    with pytest.raises(ConfigError, match="invalid environment variable name"):
        TabularPreprocessingConfig(env={"1BAD": "x"})
    with pytest.raises(ConfigError, match="value is"):
        TabularPreprocessingConfig(env={"A": "x" * (value_max + 1)})
    with pytest.raises(ConfigError, match="name is"):
        TabularPreprocessingConfig(env={"A" * (key_max + 1): "x"})
    with pytest.raises(ConfigError, match="too many environment variables"):
        TabularPreprocessingConfig(env={f"V{i}": "x" for i in range(101)})


def test_framework_version_from_the_sdk_catalogue() -> None:
    assert TabularPreprocessingConfig(framework_version="1.0-1").framework_version == "1.0-1"
    with pytest.raises(ConfigError, match=r"supported versions: .*1\.2-1"):
        TabularPreprocessingConfig(framework_version="9.9-9")


def test_source_and_entry_point() -> None:
    with pytest.raises(ConfigError, match="entry point is fixed"):
        TabularPreprocessingConfig(processing_entry_point="other.py")
    own = TabularPreprocessingConfig(source_dir="/src/mine", processing_entry_point="run.py")
    assert own.local_source_dir == Path("/src/mine")
    s3 = TabularPreprocessingConfig(
        source_dir="s3://code-bucket/pre/sourcedir.tar.gz", processing_entry_point="run.py"
    )
    assert s3.local_source_dir is None and not s3.is_local_source
    with pytest.raises(ConfigError, match=r"\.tar\.gz"):
        TabularPreprocessingConfig(source_dir="s3://code-bucket/pre/")
    for bad in ("/abs/run.py", "../run.py", "run.sh", "run me.py", "$(x).py"):
        with pytest.raises(ConfigError):
            TabularPreprocessingConfig(source_dir="/src", processing_entry_point=bad)


def test_data_load_config() -> None:
    config = DataLoadConfig(required_columns=["id", "label"], min_rows=10)
    assert config.required_columns == ("id", "label")
    assert config.script_arguments() == [
        "--min-rows",
        "10",
        "--required-column",
        "id",
        "--required-column",
        "label",
    ]
    with pytest.raises(ConfigError, match="duplicate column names"):
        DataLoadConfig(required_columns=["a", "a"])
    with pytest.raises(ConfigError, match="must be >= 1"):
        DataLoadConfig(min_rows=0)
    with pytest.raises(ConfigError, match="invalid pipeline parameter name"):
        DataLoadConfig(parameter_name="raw data")
    with pytest.raises(ConfigError, match="ContainerArguments"):
        DataLoadConfig(required_columns=[f"c{i}" for i in range(50)])
    with pytest.raises(ConfigError, match="ContainerArgument\\)"):
        DataLoadConfig(required_columns=["x" * 257])


def test_model_config() -> None:
    with pytest.raises(ConfigError, match="no inference image for this Python version") as info:
        PyTorchModelConfig(framework_version="1.13.1", py_version="py310")
    assert "py39" in str(info.value)
    with pytest.raises(ConfigError, match="supported versions"):
        PyTorchModelConfig(framework_version="0.1", py_version="py3")
    with pytest.raises(ConfigError, match="hosting instance type"):
        PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311", inference_instance_type="ml.m5.lrge"
        )
    with pytest.raises(ConfigError, match="CPU and GPU builds only"):
        PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311", inference_instance_type="ml.inf2.xlarge"
        )
    with pytest.raises(ConfigError, match="no pytorch inference_graviton image"):
        PyTorchModelConfig(
            framework_version="1.13.1", py_version="py39", inference_instance_type="ml.c6g.large"
        )
    graviton = PyTorchModelConfig(
        framework_version="2.3.0", py_version="py311", inference_instance_type="ml.c6g.large"
    )
    assert graviton.inference_instance_type == "ml.c6g.large"
    with pytest.raises(ConfigError, match="no PyTorch Graviton image for this instance family"):
        PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311", inference_instance_type="ml.c8g.large"
        )
    with pytest.raises(ConfigError, match="set by the library"):
        PyTorchModelConfig(framework_version="2.3.0", py_version="py311", env={"SAGEMAKER_PROGRAM": "x.py"})
    with pytest.raises(ConfigError, match=r"\.tar\.gz"):
        PyTorchModelConfig(framework_version="2.3.0", py_version="py311", model_data="s3://b-b/model/")
    # the handler now travels inside model.tar.gz: the model step packs no code
    with pytest.raises(ConfigError, match="packs no code any more") as moved:
        PyTorchModelConfig(source_dir="/src")
    assert moved.value.field == "PyTorchModelConfig.source_dir"
    assert "inference_source_dir" in (moved.value.hint or "")
    with pytest.raises(ConfigError, match="packs no code any more"):
        PyTorchModelConfig(output_path="s3://b-b/out/")
    # versions: both or neither (then the training step's)
    assert PyTorchModelConfig().framework_version is None
    with pytest.raises(ConfigError, match="together, or neither"):
        PyTorchModelConfig(framework_version="2.3.0")
    assert PyTorchModelConfig(entry_point="serve.py").entry_point == "serve.py"


def test_graviton_families_match_the_sdk() -> None:
    from sagemaker import fw_utils

    assert sorted(GRAVITON_FAMILIES) == sorted(fw_utils.GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY)


# ============================================================================================ specs
def test_specifications() -> None:
    load = DataLoadStepBuilder.specification()
    pre = TabularPreprocessingStepBuilder.specification()
    model = PyTorchModelStepBuilder.specification()
    assert (load.node_type, pre.node_type, model.node_type) == (
        NodeType.SOURCE,
        NodeType.INTERNAL,
        NodeType.INTERNAL,
    )
    assert load.output("raw_data").output_type is DependencyType.RAW_DATA
    assert pre.dependency("raw_data").compatible_sources == ("DataLoadStep",)
    assert pre.output("processed_data").output_type is DependencyType.PROCESSED_DATA
    # deliberately no alias named after a consumer's input: training finds it by type
    assert pre.output("processed_data").aliases == ()
    assert model.dependency("model_data").compatible_sources == ("PyTorchTrainingStep",)
    assert (
        check_property_path(SageMakerStepKind.MODEL, model.output("model_name").property_path) == "ModelName"
    )
    assert (
        check_property_path(SageMakerStepKind.PROCESSING, pre.output("processed_data").property_path)
        == "ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    )


# ============================================================================================ builders
def test_data_load_step(session: Any, no_network_attempts: None) -> None:
    builder = DataLoadStepBuilder(DataLoadConfig(required_columns=("id",)), sagemaker_session=session)
    (step,), result = built_definition(builder)
    assert step["Name"] == "DataLoad" and step["Type"] == "Processing"
    args = step["Arguments"]
    app = args["AppSpecification"]
    assert (
        app["ImageUri"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert app["ContainerEntrypoint"][:2] == ["/bin/sh", "-c"]
    assert 'exec python3 "$code/load.py" "$@"' in app["ContainerEntrypoint"][2]
    assert app["ContainerArguments"] == ["--min-rows", "1", "--required-column", "id"]
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["code"]["S3Uri"] == "s3://constructs-lib-placeholder-code/DataLoad/sourcedir.tar.gz"
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code"
    assert inputs["raw_source"]["S3Uri"] == {"Get": "Parameters.RawDataS3Uri"}
    (out,) = args["ProcessingOutputConfig"]["Outputs"]
    assert out["OutputName"] == "raw_data"
    assert out["S3Output"]["LocalPath"] == DATA_LOAD_CONTRACT.expected_output_paths["raw_data"]
    assert out["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"s3://{BUCKET}/pipeline/DataLoad",
                {"Get": "Execution.PipelineExecutionId"},
                "raw_data",
            ],
        }
    }
    assert args["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 30,
    }
    assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert "Environment" not in args
    assert [p.default_value for p in result.parameters] == [f"s3://{BUCKET}/pipeline/raw/"]
    assert result.access.parameters == ("RawDataS3Uri",)
    assert result.access.creates == ("processing-job",)
    assert result.access.log_groups == ("/aws/sagemaker/ProcessingJobs",)


def test_data_load_parameter_from_config(session: Any) -> None:
    config = DataLoadConfig(raw_data_s3_uri="s3://data-bucket/raw/", parameter_name="CustomersS3Uri")
    builder = DataLoadStepBuilder(config, sagemaker_session=session, step_name="load")
    result = builder.build()
    (param,) = result.parameters
    assert (param.name, param.default_value) == ("CustomersS3Uri", "s3://data-bucket/raw/")
    # the code arrives as an S3Prefix processing input too: listed, then fetched
    assert result.access.prefix_reads == (
        "s3://constructs-lib-placeholder-code/load/sourcedir.tar.gz",
        "s3://data-bucket/raw/",
    )
    assert len(builder.build().parameters) == 1


def test_preprocessing_step(session: Any, no_network_attempts: None) -> None:
    config = TabularPreprocessingConfig(
        label_name="target", env={"MY_FLAG": "1"}, output_path="s3://out-bucket/prep/"
    )
    builder = TabularPreprocessingStepBuilder(config, sagemaker_session=session, step_name="prep")
    (step,), result = built_definition(builder, inputs={"raw_data": "s3://data-bucket/raw/"})
    args = step["Arguments"]
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--train-ratio", "0.7", "--val-ratio", "0.15", "--test-ratio", "0.15", "--seed", "42",
        "--label-name", "target",
    ]  # fmt: skip
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["raw_data"]["S3Uri"] == "s3://data-bucket/raw/"
    assert inputs["raw_data"]["LocalPath"] == TABULAR_PREPROCESSING_CONTRACT.expected_input_paths["raw_data"]
    (out,) = args["ProcessingOutputConfig"]["Outputs"]
    assert out["S3Output"]["LocalPath"] == "/opt/ml/processing/output/processed_data"
    assert out["S3Output"]["S3Uri"]["Std:Join"]["Values"][0] == "s3://out-bucket/prep"
    assert args["Environment"] == {"MY_FLAG": "1"}
    assert result.access.prefix_reads == (
        "s3://constructs-lib-placeholder-code/prep/sourcedir.tar.gz",
        "s3://data-bucket/raw/",
    )
    assert result.access.writes == ("s3://out-bucket/prep",)
    assert result.access.images == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    )


def test_preprocessing_without_predecessor_gets_a_parameter(session: Any) -> None:
    builder = TabularPreprocessingStepBuilder(
        TabularPreprocessingConfig(), sagemaker_session=session, step_name="prep"
    )
    (step,), result = built_definition(builder)
    raw = next(i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "raw_data")
    assert raw["S3Input"]["S3Uri"] == {"Get": "Parameters.prepRawData"}
    assert result.parameters[0].default_value == f"s3://{BUCKET}/pipeline/prep/input/"
    configured = TabularPreprocessingStepBuilder(
        TabularPreprocessingConfig(raw_data_path="s3://data-bucket/t.csv"), sagemaker_session=session
    )
    (step,) = definition_of(configured)
    raw = next(i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "raw_data")
    assert raw["S3Input"]["S3Uri"] == "s3://data-bucket/t.csv"


def test_processing_code_from_s3_is_used_as_is(session: Any) -> None:
    config = TabularPreprocessingConfig(
        source_dir="s3://code-bucket/pre/sourcedir.tar.gz", processing_entry_point="run.py"
    )
    builder = TabularPreprocessingStepBuilder(config, sagemaker_session=session)
    (step,) = definition_of(builder, inputs={"raw_data": "s3://data-bucket/raw/"})
    code = next(i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "code")
    assert code["S3Input"]["S3Uri"] == "s3://code-bucket/pre/sourcedir.tar.gz"
    assert builder.code_packages() == ()


def test_processing_entry_point_must_fit_the_entrypoint_limit(session: Any) -> None:
    long_name = "scripts/" + "x" * 120 + ".py"
    config = TabularPreprocessingConfig(source_dir="/src", processing_entry_point=long_name)
    builder = TabularPreprocessingStepBuilder(config, sagemaker_session=session)
    with pytest.raises(ConfigError, match="longer than 256 characters") as info:
        builder.create_step(inputs={"raw_data": "s3://data-bucket/raw/"})
    assert info.value.field == "processing_entry_point"


def test_model_step(session: Any, no_network_attempts: None) -> None:
    config = PyTorchModelConfig(
        framework_version="2.3.0", py_version="py311", inference_instance_type="ml.g5.xlarge", env={"B": "1"}
    )
    builder = PyTorchModelStepBuilder(config, sagemaker_session=session, step_name="model")
    steps, result = built_definition(builder, inputs={"model_data": "s3://models-bucket/run/model.tar.gz"})
    # one CreateModel, no repack job: model.tar.gz carries its handler in code/
    assert [s["Name"] for s in steps] == ["model-CreateModel"]
    assert result.parameters == ()
    container = steps[0]["Arguments"]["PrimaryContainer"]
    assert container == {
        "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-gpu-py311",
        "ModelDataUrl": "s3://models-bucket/run/model.tar.gz",
        "Environment": {
            "B": "1",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_REGION": "us-east-1",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        },
    }
    assert result.access.creates == ("model",)
    assert result.access.object_reads == ("s3://models-bucket/run/model.tar.gz",)
    assert result.access.images == (container["Image"],)
    assert builder.code_packages() == ()
    # without a value: a parameter, as before
    (step,), unfed = built_definition(builder)
    assert step["Arguments"]["PrimaryContainer"]["ModelDataUrl"] == {"Get": "Parameters.modelModelData"}
    assert unfed.access.parameters == ("modelModelData",)


def test_model_step_name_must_leave_room_for_the_sdk_suffixes() -> None:
    config = PyTorchModelStepBuilder.example_config()
    PyTorchModelStepBuilder(config, region="us-east-1", step_name="m" * 52)
    with pytest.raises(ConfigError, match="at most 52 characters"):
        PyTorchModelStepBuilder(config, region="us-east-1", step_name="m" * 53)


# ============================================================================================ scripts, for real
def write_table(path: Path, rows: int = 60) -> list[list[str]]:
    """A small table with text that must pass through unchanged (leading zeros, '1.50')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["customer_id", "target", "feature1", "feature2", "feature3"]
    body = [
        [f"{i:04d}", str(int(i % 3 == 0)), f"{(i * 37 % 100) / 10:.2f}", str(i % 7), "abc"[i % 3]]
        for i in range(rows)
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    return [header, *body]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_script(script: Path, base: Path, *args: str) -> Run:
    """The script's ``main`` in this process (pandas is imported once), its base directory relocated;
    the full container-style run is :func:`run_entrypoint`."""
    module = _load_module(f"script_{script.stem}", script)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = module.main(["--base-dir", str(base), *args])
    return Run(code, out.getvalue(), err.getvalue())


def run_entrypoint(step: dict[str, Any], base: Path) -> subprocess.CompletedProcess[str]:
    """Run a processing step's ContainerEntrypoint + ContainerArguments as SageMaker would, with
    /opt/ml/processing relocated to ``base`` and ``python3`` being this interpreter."""
    app = step["Arguments"]["AppSpecification"]
    env = netguard.guarded_env()
    env["SM_PROCESSING_BASE"] = str(base)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        [*app["ContainerEntrypoint"], *app["ContainerArguments"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_preprocess_script_splits_deterministically(tmp_path: Path) -> None:
    table = write_table(tmp_path / "a" / "input" / "raw" / "part.csv", rows=60)
    script = SCRIPTS / "tabular_preprocessing" / "preprocess.py"
    args = (
        "--train-ratio",
        "0.7",
        "--val-ratio",
        "0.15",
        "--test-ratio",
        "0.15",
        "--seed",
        "7",
        "--label-name",
        "target",
    )
    first = run_script(script, tmp_path / "a", *args)
    assert first.returncode == 0, first.stderr
    assert "wrote train=42, val=9, test=9 rows" in first.stdout
    out = tmp_path / "a" / "output" / "processed_data"
    splits = {s: read_rows(out / s / "part-0.csv") for s in ("train", "val", "test")}
    for rows in splits.values():
        assert rows[0] == table[0]
        assert {r[1] for r in rows[1:]} == {"0", "1"}  # stratified: both labels everywhere
    # every input row exactly once, text unchanged, input order kept inside a split
    all_rows = sorted(r for rows in splits.values() for r in rows[1:])
    assert all_rows == sorted(table[1:])
    for rows in splits.values():
        assert rows[1:] == sorted(rows[1:], key=lambda r: r[0])
    # positives (20) are split 14/3/3 like the whole table
    assert [sum(r[1] == "1" for r in splits[s][1:]) for s in ("train", "val", "test")] == [14, 3, 3]

    write_table(tmp_path / "b" / "input" / "raw" / "part.csv", rows=60)
    second = run_script(script, tmp_path / "b", *args)
    assert second.returncode == 0
    for s in ("train", "val", "test"):
        assert (tmp_path / "b" / "output" / "processed_data" / s / "part-0.csv").read_bytes() == (
            out / s / "part-0.csv"
        ).read_bytes()


def test_preprocess_script_reads_parquet_and_refuses_empty_splits(tmp_path: Path) -> None:
    import pandas as pd

    base = tmp_path / "processing"
    raw = base / "input" / "raw"
    raw.mkdir(parents=True)
    pd.DataFrame({"x": range(10), "y": [0, 1] * 5}).to_parquet(raw / "t.parquet")
    script = SCRIPTS / "tabular_preprocessing" / "preprocess.py"
    ok = run_script(script, base, "--train-ratio", "0.6", "--val-ratio", "0.2", "--test-ratio", "0.2")
    assert ok.returncode == 0, ok.stderr
    assert read_rows(base / "output" / "processed_data" / "val" / "part-0.csv")[0] == ["x", "y"]

    bad = run_script(script, base, "--train-ratio", "0.9", "--val-ratio", "0.05", "--test-ratio", "0.05")
    assert bad.returncode == 2
    assert "preprocess.py: error: split test would be empty with 10 rows" in bad.stderr
    # the processing job's ExitMessage file (/opt/ml/output/message in SageMaker)
    assert (
        (tmp_path / "output" / "message").read_text().startswith("preprocess.py: split test would be empty")
    )
    missing = run_script(script, base, "--label-name", "nope")
    assert missing.returncode == 2 and "label column 'nope' is not in the table" in missing.stderr


def test_data_load_script_validates(tmp_path: Path) -> None:
    base = tmp_path / "processing"
    table = write_table(base / "input" / "raw_source" / "2024" / "a.csv", rows=5)
    write_table(base / "input" / "raw_source" / "2025" / "b.csv", rows=3)
    script = SCRIPTS / "data_load" / "load.py"
    ok = run_script(script, base, "--required-column", "customer_id", "--required-column", "target")
    assert ok.returncode == 0, ok.stderr
    rows = read_rows(base / "output" / "raw_data" / "part-0.csv")
    assert rows[0] == table[0] and len(rows) == 1 + 5 + 3
    assert rows[1] == table[1]  # sorted by path: 2024/a.csv first; text unchanged

    missing = run_script(script, base, "--required-column", "label")
    assert missing.returncode == 2
    assert "load.py: error: required columns ['label'] are missing" in missing.stderr
    assert (tmp_path / "output" / "message").read_text().startswith("load.py: required columns")
    few = run_script(script, base, "--min-rows", "100")
    assert few.returncode == 2 and "the table has 8 rows, at least 100 are required" in few.stderr


def test_data_load_script_refuses_mixed_columns_and_no_input(tmp_path: Path) -> None:
    base = tmp_path / "processing"
    script = SCRIPTS / "data_load" / "load.py"
    nothing = run_script(script, base)
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr
    raw = base / "input" / "raw_source"
    write_table(raw / "a.csv", rows=2)
    (raw / "b.csv").write_text("other\n1\n", encoding="utf-8")
    mixed = run_script(script, base)
    assert mixed.returncode == 2 and "b.csv has columns ['other']" in mixed.stderr


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, session: Any) -> Iterator[Path]:
    """data load -> preprocessing, each run through its definition's entry point on its packed code
    (stored under a content-hash-like name, as a CDK asset would be)."""
    root = tmp_path_factory.mktemp("chain")
    load = DataLoadStepBuilder(
        DataLoadConfig(required_columns=("customer_id", "target")), sagemaker_session=session
    )
    pre = TabularPreprocessingStepBuilder(
        TabularPreprocessingConfig(label_name="target"), sagemaker_session=session
    )
    raw_source = write_table(root / "load" / "input" / "raw_source" / "table.csv", rows=90)
    assert raw_source
    for builder, base in ((load, root / "load"), (pre, root / "pre")):
        (package,) = builder.code_packages()
        code = base / "input" / "code"
        code.mkdir(parents=True, exist_ok=True)
        (code / "0f3a9c.gz").write_bytes(
            pack_source_dir(
                package.source_dir, entry_point=package.entry_point, extra_files=package.extra_files
            )
        )
    (load_step,) = definition_of(load)
    done = run_entrypoint(load_step, root / "load")
    assert done.returncode == 0, done.stderr
    # SageMaker would upload raw_data and download it as preprocess's raw_data input
    (root / "pre" / "input" / "raw").mkdir(parents=True)
    (root / "pre" / "input" / "raw" / "part-0.csv").write_bytes(
        (root / "load" / "output" / "raw_data" / "part-0.csv").read_bytes()
    )
    (pre_step,) = definition_of(pre, inputs={"raw_data": "s3://data-bucket/raw/"})
    done = run_entrypoint(pre_step, root / "pre")
    assert done.returncode == 0, done.stderr
    yield root / "pre" / "output" / "processed_data"


def test_processing_entrypoints_run_the_packed_scripts(chain: Path) -> None:
    counts = {s: len(read_rows(chain / s / "part-0.csv")) - 1 for s in ("train", "val", "test")}
    assert counts == {"train": 63, "val": 14, "test": 13}


@pytest.mark.torch
def test_inference_handler_serves_the_trained_model(chain: Path, tmp_path: Path) -> None:
    """train.py on the preprocessed splits, then inference.py's four functions on its model directory:
    they give the probabilities train.py computed for the test split."""
    pytest.importorskip("torch")
    train = _load_module("train", SCRIPTS / "pytorch_training" / "train.py")
    hps = seed_hyperparameters().model_copy(update={"epochs": 2, "batch_size": 16}).to_values()
    model_dir, output_dir = tmp_path / "model", tmp_path / "output"
    environ = {
        "SM_CHANNEL_DATA": str(chain),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_OUTPUT_DIR": str(tmp_path),
        "SM_HPS": json.dumps(hps),
    }
    assert train.main([], environ) == 0
    inference = _load_module("constructs_lib_inference", SCRIPTS / "pytorch_inference" / "inference.py")

    model = inference.model_fn(str(model_dir))
    body = (chain / "test" / "part-0.csv").read_bytes()
    probabilities = inference.predict_fn(inference.input_fn(body, "text/csv"), model)
    expected = read_rows(output_dir / "test_predictions.csv")
    assert probabilities == pytest.approx([float(r[2]) for r in expected[1:]], abs=1e-6)

    as_json = json.loads(inference.output_fn(probabilities, "application/json"))
    assert as_json == {"probabilities": probabilities}
    lines = inference.output_fn(probabilities, "text/csv").splitlines()
    assert [float(line) for line in lines] == probabilities

    records = [{"feature1": 1.5, "feature2": 3, "feature3": "b", "customer_id": "x"}]
    one = inference.predict_fn(
        inference.input_fn(json.dumps({"instances": records}), "application/json"), model
    )
    assert len(one) == 1 and 0.0 <= one[0] <= 1.0
    with pytest.raises(ValueError, match="unsupported content type"):
        inference.input_fn(b"x", "application/x-npy")
    with pytest.raises(ValueError, match="lacks feature columns"):
        inference.predict_fn(inference.input_fn(json.dumps([{"feature1": 1}])), model)
