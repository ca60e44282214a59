"""From a trained model to an approved one: inference code packed by the training step (no repack job),
evaluation through the packed handler, a quality gate whose successors run in its branch, and the
registration in a model package group, all built offline with the real SageMaker SDK."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from support import netguard

from constructs_lib import (
    ConfigError,
    DagError,
    ModelQualityGateConfig,
    ModelRegistrationConfig,
    PipelineBuilderTemplate,
    PipelineDAG,
    PyTorchEvaluationConfig,
    PyTorchEvaluationStepBuilder,
    PyTorchModelConfig,
    PyTorchTrainingStepBuilder,
)
from constructs_lib.builders.base import StepResult
from constructs_lib.definition import all_steps
from constructs_lib.examples import (
    REFERENCE_TRAINING_DIR,
    lifecycle_config_map,
    lifecycle_template,
    seed_training_config,
)
from constructs_lib.inference_code import LAUNCHER_PATH
from constructs_lib.packaging import pack_source_dir
from constructs_lib.specs.evaluation_pytorch import EVALUATION_METRICS

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "constructs_lib" / "scripts"
ROOT_URI = "s3://constructs-lib-placeholder-artifact-bucket/lc"


@pytest.fixture(scope="module")
def built() -> Any:
    return lifecycle_template().build("lc")


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step, those in condition branches included."""
    return {step["Name"]: dict(step) for step in all_steps(definition["Steps"])}


def own_code(tmp_path: Path, handler: str = "serve.py") -> tuple[Path, Path]:
    """A copy of the reference training code (not the packaged directory) and a handler directory."""
    source = tmp_path / "train-src"
    shutil.copytree(REFERENCE_TRAINING_DIR, source)
    inference = tmp_path / "inference-src"
    inference.mkdir()
    (inference / handler).write_text(
        "def model_fn(d): ...\ndef input_fn(b, c): ...\ndef predict_fn(x, m): ...\ndef output_fn(p, a): ...\n"
    )
    (inference / "helpers").mkdir()
    (inference / "helpers" / "util.py").write_text("X = 1\n")
    return source, inference


# ============================================================================ the pipeline's shape
def test_gate_holds_the_registration_in_its_branch(built: Any) -> None:
    top = [(s["Name"], s["Type"]) for s in built.definition["Steps"]]
    assert top == [
        ("data_load", "Processing"),
        ("preprocess", "Processing"),
        ("train", "Training"),
        ("evaluate", "Processing"),
        ("quality_gate", "Condition"),
    ]
    gate = built.definition["Steps"][-1]
    assert gate["DependsOn"] == ["evaluate"]
    (register,) = gate["Arguments"]["IfSteps"]
    assert (register["Name"], register["Type"]) == ("register-RegisterModel", "RegisterModel")
    # wired from train and evaluate, never waiting on the gate (it is inside it)
    assert register["DependsOn"] == ["train", "evaluate"]
    (fail,) = gate["Arguments"]["ElseSteps"]
    assert (fail["Name"], fail["Type"]) == ("quality_gate-Fail", "Fail")


def test_no_repack_job_and_one_job_per_node(built: Any) -> None:
    steps = steps_by_name(built.definition)
    assert [n for n, s in steps.items() if s["Type"] == "Training"] == ["train"]
    assert not any("Repack" in name for name in steps)
    container = steps["register-RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    # the training step's version and the CPU inference image
    assert (
        container["Image"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.13.1-cpu-py39"
    )
    assert (container["Framework"], container["FrameworkVersion"]) == ("PYTORCH", "1.13.1")


def test_condition_reads_the_declared_json_path(built: Any) -> None:
    gate = steps_by_name(built.definition)["quality_gate"]
    (condition,) = gate["Arguments"]["Conditions"]
    value = {
        "Std:JsonGet": {
            "Path": "binary_classification_metrics.auc.value",
            "PropertyFile": {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"},
        }
    }
    assert condition == {"Type": "GreaterThanOrEqualTo", "LeftValue": value, "RightValue": 0.75}
    evaluate = steps_by_name(built.definition)["evaluate"]
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    # the failure names the metric, its value (the JsonGet, joined) and the threshold
    message = steps_by_name(built.definition)["quality_gate-Fail"]["Arguments"]["ErrorMessage"]["Std:Join"]
    assert message["On"] == "" and value in message["Values"]
    text = "".join(v for v in message["Values"] if isinstance(v, str))
    assert "auc" in text and "binary_classification_metrics.auc.value" in text and "0.75" in text


def test_evaluation_runs_in_the_pytorch_cpu_image_through_the_packed_handler(built: Any) -> None:
    args = steps_by_name(built.definition)["evaluate"]["Arguments"]
    assert (
        args["AppSpecification"]["ImageUri"]
        == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-cpu-py39"
    )
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--label-name", "target", "--inference-entry-point", "inference.py",
        "--decision-threshold", "0.5", "--test-split", "test",
    ]  # fmt: skip
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/input/model"
    assert inputs["data"]["S3Uri"] == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
    (out,) = args["ProcessingOutputConfig"]["Outputs"]
    assert (out["OutputName"], out["S3Output"]["LocalPath"]) == (
        "evaluation",
        "/opt/ml/processing/output/evaluation",
    )
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert args["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600


def test_registration_arguments(built: Any) -> None:
    args = steps_by_name(built.definition)["register-RegisterModel"]["Arguments"]
    assert args["ModelPackageGroupName"] == "lc"  # derived from the pipeline name
    assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert args["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": {
            "Std:Join": {
                "On": "/",
                "Values": [
                    {"Get": "Steps.evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                    "evaluation.json",
                ],
            }
        },
    }
    spec = args["InferenceSpecification"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.large"]
    assert spec["SupportedTransformInstanceTypes"] == ["ml.m5.large"]
    assert spec["SupportedContentTypes"] == ["text/csv", "application/json"]
    (approval,) = [p for p in built.definition["Parameters"] if p["Name"] == "ModelApprovalStatus"]
    assert approval == {
        "Name": "ModelApprovalStatus",
        "Type": "String",
        "DefaultValue": "PendingManualApproval",
        "EnumValues": ["Approved", "Rejected", "PendingManualApproval"],
    }


def test_access_needs(built: Any) -> None:
    access = built.access
    # SageMaker Pipelines reads the property file and validates the model data as the pipeline role
    assert access["quality_gate"].pipeline_reads == (f"{ROOT_URI}/evaluate",)
    assert access["quality_gate"].creates == ()
    assert access["register"].creates == ("model-package",)
    assert access["register"].model_package_groups == ("lc",)
    assert access["register"].pipeline_reads == (f"{ROOT_URI}/train/model",)
    assert access["evaluate"].images == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-cpu-py39",
    )
    assert built.pipeline_access().creates == ("model-package", "processing-job", "training-job")


def test_explain_and_determinism(built: Any) -> None:
    assert "quality_gate.evaluation <- evaluate.evaluation" in built.explain()
    assert "register.evaluation <- evaluate.evaluation" in built.explain()
    assert lifecycle_template().build("lc").definition_json == built.definition_json


# ============================================================================ the gate
def test_gate_metric_names_and_paths() -> None:
    assert ModelQualityGateConfig(min_auc_roc=0.8) == ModelQualityGateConfig(metric="auc", threshold=0.8)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="shorthand"):
        ModelQualityGateConfig(min_auc_roc=0.8, threshold=0.7)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="finite"):
        ModelQualityGateConfig(threshold=math.nan)
    for metric in ("f1", "binary_classification_metrics.f1.value"):
        configs = lifecycle_config_map() | {
            "quality_gate": ModelQualityGateConfig(metric=metric, threshold=0.6)
        }
        built = _template(configs).build("lc")
        (condition,) = steps_by_name(built.definition)["quality_gate"]["Arguments"]["Conditions"]
        assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "binary_classification_metrics.f1.value"


def test_unknown_metric_lists_the_declared_ones() -> None:
    configs = lifecycle_config_map() | {"quality_gate": ModelQualityGateConfig(metric="rmse", threshold=1.0)}
    with pytest.raises(ConfigError) as info:
        _template(configs).build("lc")
    assert info.value.step == "quality_gate" and info.value.field == "metric" and info.value.value == "rmse"
    for metric in EVALUATION_METRICS:
        assert metric in (info.value.hint or "")
    assert "binary_classification_metrics.auc.value" in (info.value.hint or "")


def test_a_loss_gate_compares_at_most() -> None:
    gate = ModelQualityGateConfig(metric="loss", threshold=0.4, direction="at_most")
    built = _template(lifecycle_config_map() | {"quality_gate": gate}).build("lc")
    (condition,) = steps_by_name(built.definition)["quality_gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "LessThanOrEqualTo" and condition["RightValue"] == 0.4


def test_a_gate_needs_the_evaluation_step_itself() -> None:
    from constructs_lib import ModelQualityGateStepBuilder

    builder = ModelQualityGateStepBuilder(ModelQualityGateConfig(threshold=0.7), region="us-east-1")
    with pytest.raises(ConfigError, match="must be its predecessor") as info:
        builder.build(inputs={"evaluation": "s3://bucket/evaluation/"})
    assert info.value.field == "inputs.evaluation"


def test_everything_below_a_gate_is_in_its_branch() -> None:
    # GIVEN a second gate below the first and a model step below the second
    configs = lifecycle_config_map() | {
        "loss_gate": ModelQualityGateConfig(metric="loss", threshold=0.7, direction="at_most"),
        "model": PyTorchModelConfig(),
    }
    edges = [*_edges(), ("quality_gate", "loss_gate"), ("evaluate", "loss_gate"), ("loss_gate", "model")]
    edges += [("train", "model")]
    built = _template(configs, edges).build("lc")
    gate = steps_by_name(built.definition)["quality_gate"]
    assert [s["Name"] for s in gate["Arguments"]["IfSteps"]] == ["register-RegisterModel", "loss_gate"]
    inner = gate["Arguments"]["IfSteps"][1]
    assert [s["Name"] for s in inner["Arguments"]["IfSteps"]] == ["model-CreateModel"]
    assert inner["DependsOn"] == ["evaluate"]  # no DependsOn on the outer gate


def test_two_independent_gates_above_one_step_are_refused() -> None:
    configs = lifecycle_config_map() | {"other_gate": ModelQualityGateConfig(metric="f1", threshold=0.5)}
    edges = [*_edges(), ("evaluate", "other_gate"), ("other_gate", "register")]
    with pytest.raises(DagError, match="several gates") as info:
        _template(configs, edges).build("lc")
    assert info.value.step == "register" and info.value.value == ["other_gate", "quality_gate"]


# ============================================================================ the training step packs the handler
def test_reference_training_code_packs_the_reference_handler() -> None:
    builder = PyTorchTrainingStepBuilder(seed_training_config(), region="us-east-1", step_name="train")
    (package,) = builder.code_packages()
    assert package.entry_point == "train.py"  # the user's script must exist; SageMaker runs the launcher
    assert package.extra_files["constructs_lib_launcher.py"] == LAUNCHER_PATH.read_bytes()
    assert (
        package.extra_files["constructs_lib_inference/inference.py"]
        == (SCRIPTS / "pytorch_inference" / "inference.py").read_bytes()
    )
    with tarfile.open(fileobj=io.BytesIO(package.pack()), mode="r:gz") as tar:
        names = tar.getnames()
    assert {"train.py", "model.py", "constructs_lib_launcher.py", "constructs_lib_inference/model.py"} <= set(
        names
    )
    assert builder.output_facts()["model_artifacts"] == {
        "framework_version": "1.13.1",
        "py_version": "py39",
        "inference_entry_point": "inference.py",
        "label_name": "target",
        "location": "s3://constructs-lib-placeholder-artifact-bucket/pipeline/train/model",
    }


def test_own_training_code_packs_no_handler_unless_told(tmp_path: Path) -> None:
    source, inference = own_code(tmp_path)
    plain = PyTorchTrainingStepBuilder(seed_training_config(source_dir=source), region="us-east-1")
    assert plain.inference_entry_point() is None and plain.sagemaker_entry_point() == "train.py"
    assert "CONSTRUCTS_LIB_ENTRY_POINT" not in plain.job_environment()
    (package,) = plain.code_packages()
    assert package.extra_files == {} and package.extra_dirs == {}
    # GIVEN inference_source_dir: the directory travels below constructs_lib_inference/ (read when packed)
    config = seed_training_config(
        source_dir=source, inference_source_dir=str(inference), inference_entry_point="serve.py"
    )
    builder = PyTorchTrainingStepBuilder(config, region="us-east-1")
    (package,) = builder.code_packages()
    assert sorted(package.extra_files) == ["constructs_lib_launcher.py"]
    with tarfile.open(fileobj=io.BytesIO(package.pack()), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert {"constructs_lib_inference/serve.py", "constructs_lib_inference/helpers/util.py"} <= names
    assert builder.job_environment()["CONSTRUCTS_LIB_INFERENCE_CODE"] == "constructs_lib_inference"
    # a handler that is not there is refused when packing, naming the field
    missing = seed_training_config(
        source_dir=source, inference_source_dir=str(inference), inference_entry_point="nope.py"
    )
    (package,) = PyTorchTrainingStepBuilder(missing, region="us-east-1").code_packages()
    with pytest.raises(ConfigError, match=r"'nope\.py' is not in the directory") as info:
        package.pack()
    assert info.value.field == "inference_source_dir" and "serve.py" in (info.value.hint or "")


def test_inference_code_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="local source_dir") as info:
        seed_training_config(source_dir="s3://code-bucket/src/sourcedir.tar.gz", inference_source_dir="/inf")
    assert info.value.field == "PyTorchTrainingConfig.inference_source_dir"
    with pytest.raises(ConfigError, match="the handler is fixed"):
        seed_training_config(inference_entry_point="serve.py")
    with pytest.raises(ConfigError, match="set by the training step"):
        seed_training_config(env={"CONSTRUCTS_LIB_ENTRY_POINT": "x.py"})
    with pytest.raises(ConfigError, match="local directory"):
        seed_training_config(inference_source_dir="s3://b/inf/")
    # the launcher's name in the user's tree would clash with the generated file
    source, inference = own_code(tmp_path)
    (source / "constructs_lib_launcher.py").write_text("")
    config = seed_training_config(
        source_dir=source, inference_source_dir=str(inference), inference_entry_point="serve.py"
    )
    (package,) = PyTorchTrainingStepBuilder(config, region="us-east-1").code_packages()
    with pytest.raises(ConfigError, match="already exists in source_dir"):
        package.pack()


# ============================================================================ producers are checked
@pytest.mark.parametrize("consumer", ["evaluate", "register"])
def test_a_consumer_of_a_model_without_handler_is_refused(tmp_path: Path, consumer: str) -> None:
    source, _ = own_code(tmp_path)
    configs = lifecycle_config_map(seed_training_config(source_dir=source))
    with pytest.raises(ConfigError, match="packs no inference code") as info:
        _template(configs).build("lc")
    assert info.value.step == "evaluate"  # the first consumer in DAG order
    assert "'train'" in info.value.message and "inference_source_dir" in (info.value.hint or "")
    # with only the registration below train, it is the one refused
    if consumer == "register":
        only = {k: v for k, v in configs.items() if k not in ("evaluate", "quality_gate")}
        edges = [e for e in _edges() if "evaluate" not in e and "quality_gate" not in e]
        with pytest.raises(ConfigError, match="packs no inference code") as info:
            _template(only, edges).build("lc")
        assert info.value.step == "register"


def test_another_handler_than_the_packed_one_is_refused(tmp_path: Path) -> None:
    source, inference = own_code(tmp_path)
    training = seed_training_config(
        source_dir=source, inference_source_dir=str(inference), inference_entry_point="serve.py"
    )
    configs = lifecycle_config_map(training)
    with pytest.raises(ConfigError) as info:
        _template(configs).build("lc")
    assert info.value.step == "evaluate" and info.value.field == "inference_entry_point"
    assert "packs the handler 'serve.py'" in info.value.message
    assert "inference_entry_point='serve.py'" in (info.value.hint or "")
    fixed = configs | {
        "evaluate": PyTorchEvaluationConfig(inference_entry_point="serve.py"),
        "register": ModelRegistrationConfig(inference_entry_point="serve.py"),
    }
    built = _template(fixed).build("lc")
    args = steps_by_name(built.definition)["register-RegisterModel"]["Arguments"]
    assert args["InferenceSpecification"]["Containers"][0]["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"


def test_versions_and_label_default_to_the_training_step_s(tmp_path: Path) -> None:
    training = seed_training_config(framework_version="2.3.0", py_version="py311")
    configs = lifecycle_config_map(training) | {
        "register": ModelRegistrationConfig(inference_instances=("ml.g5.xlarge",)),
    }
    steps = steps_by_name(_template(configs).build("lc").definition)
    assert steps["evaluate"]["Arguments"]["AppSpecification"]["ImageUri"].endswith(
        "pytorch-training:2.3.0-cpu-py311"
    )
    image = steps["register-RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert image.endswith("pytorch-inference:2.3.0-gpu-py311")
    # set on the config: used as they are
    pinned = configs | {
        "evaluate": PyTorchEvaluationConfig(framework_version="2.2.0", py_version="py310", label_name="y")
    }
    args = steps_by_name(_template(pinned).build("lc").definition)["evaluate"]["Arguments"][
        "AppSpecification"
    ]
    assert args["ImageUri"].endswith("pytorch-training:2.2.0-cpu-py310")
    assert args["ContainerArguments"][:2] == ["--label-name", "y"]


def test_an_evaluation_without_training_step_needs_its_versions() -> None:
    builder = PyTorchEvaluationStepBuilder(PyTorchEvaluationConfig(label_name="y"), region="us-east-1")
    with pytest.raises(ConfigError, match="no training step feeds model_data") as info:
        builder.build(inputs={"model_data": "s3://bkt/m/model.tar.gz", "test_data": "s3://bkt/data/"})
    assert info.value.field == "framework_version"
    result: StepResult = PyTorchEvaluationStepBuilder(
        PyTorchEvaluationStepBuilder.example_config(), region="us-east-1"
    ).build()
    assert sorted(p.name for p in result.parameters) == [
        "PyTorchEvaluationModelData",
        "PyTorchEvaluationTestData",
    ]


def test_registration_config_errors() -> None:
    with pytest.raises(ConfigError, match="not both"):
        ModelRegistrationConfig(
            model_package_group_name="a",
            model_package_group_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/a",
        )
    with pytest.raises(ConfigError, match="hosting instance type"):
        ModelRegistrationConfig(inference_instances=("ml.m5.lrge",))
    with pytest.raises(ConfigError, match="mixes cpu and gpu"):
        ModelRegistrationConfig(inference_instances=("ml.m5.large", "ml.g5.xlarge"))
    with pytest.raises(ConfigError, match="transform instance type"):
        ModelRegistrationConfig(transform_instances=("ml.t2.medium",))
    with pytest.raises(ConfigError, match="Input should be 'PendingManualApproval'"):
        ModelRegistrationConfig(approval_status="Maybe")  # type: ignore[arg-type]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/shared-models"
    assert ModelRegistrationConfig(model_package_group_arn=arn).group("p") == arn
    assert ModelRegistrationConfig().group("p" * 100) == "p" * 54 + "-" + _sha8("p" * 100)


def _sha8(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


# ============================================================================ evaluate.py, run for real
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reference train.py on the demo splits (2 epochs), its model directory packed as SageMaker
    would after the launcher copied the reference inference code into ``code/``."""
    pytest.importorskip("torch")
    from constructs_lib.local.demo_data import demo_hyperparameters, write_demo_dataset

    root = tmp_path_factory.mktemp("trained")
    data = write_demo_dataset(root / "data", rows=1600)
    hps = demo_hyperparameters().model_copy(update={"epochs": 2}).to_values()
    model_dir, output_dir = root / "model", root / "output"
    env = {
        **netguard.guarded_env(),
        "SM_CHANNEL_DATA": str(data),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_OUTPUT_DIR": str(root),
        "SM_HPS": json.dumps(hps),
    }
    done = subprocess.run(
        [sys.executable, str(REFERENCE_TRAINING_DIR / "train.py")],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (model_dir / "code").mkdir()
    for name in ("inference.py", "model.py"):
        source = SCRIPTS / ("pytorch_inference" if name == "inference.py" else "pytorch_training") / name
        shutil.copy2(source, model_dir / "code" / name)
    archive = root / "s3" / "model.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return {"data": data, "archive": archive, "metrics": output_dir / "metrics.json"}


def _evaluation_step(**config: Any) -> dict[str, Any]:
    builder = PyTorchEvaluationStepBuilder(
        PyTorchEvaluationConfig(framework_version="2.3.0", py_version="py311", label_name="target", **config),
        region="us-east-1",
        step_name="evaluate",
    )
    from constructs_lib.sdk_adapter import definition_of, pipeline

    result = builder.build(inputs={"model_data": "s3://bkt/m/model.tar.gz", "test_data": "s3://bkt/data/"})
    pipe = pipeline("p", parameters=[], steps=[result.step], session=builder.context.session)
    step: dict[str, Any] = definition_of(pipe)["Steps"][0]
    (package,) = builder.code_packages()
    step["_code"] = package.pack()
    return step


def _run_evaluation(
    step: dict[str, Any], base: Path, archive: Path, data: Path
) -> subprocess.CompletedProcess[str]:
    """The step's ContainerEntrypoint + ContainerArguments as SageMaker runs them, /opt/ml/processing at
    ``base``, with the inputs where the definition's LocalPaths put them."""
    (base / "input" / "code").mkdir(parents=True)
    (base / "input" / "code" / "9a7c1e.tar.gz").write_bytes(step["_code"])
    (base / "input" / "model").mkdir(parents=True)
    shutil.copy2(archive, base / "input" / "model" / "model.tar.gz")
    shutil.copytree(data, base / "input" / "data")
    app = step["Arguments"]["AppSpecification"]
    env = {**netguard.guarded_env(), "SM_PROCESSING_BASE": str(base)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        [*app["ContainerEntrypoint"], *app["ContainerArguments"]],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


@pytest.mark.torch
@pytest.mark.slow
def test_evaluate_scores_through_the_packed_handler(trained: dict[str, Path], tmp_path: Path) -> None:
    step = _evaluation_step()
    done = _run_evaluation(step, tmp_path / "processing", trained["archive"], trained["data"])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "processing" / "output" / "evaluation" / "evaluation.json").read_text())
    metrics = report["binary_classification_metrics"]
    # THEN the gate's path exists and holds a finite number
    gate_path = "binary_classification_metrics.auc.value"
    node: Any = report
    for part in gate_path.split("."):
        node = node[part]
    assert isinstance(node, float) and math.isfinite(node)
    # AND the metrics computed through the handler are train.py's own on the same test split
    own = json.loads(trained["metrics"].read_text())["test"]
    assert metrics["auc"]["value"] == pytest.approx(own["auc_roc"], abs=1e-4)
    assert metrics["f1"]["value"] == pytest.approx(own["f1"], abs=1e-6)
    assert metrics["loss"]["value"] == pytest.approx(own["loss"], abs=1e-4)
    matrix = metrics["confusion_matrix"]
    rows = sum(matrix[a][p] for a in "01" for p in "01")
    assert rows == 240  # 15 % of 1,600 demo rows
    assert metrics["accuracy"]["value"] == pytest.approx((matrix["0"]["0"] + matrix["1"]["1"]) / rows)
    # 200 rows or more: Model Monitor's standard deviations (5 samples of 80 %)
    assert all(isinstance(metrics[m]["standard_deviation"], float) for m in EVALUATION_METRICS)
    assert "NaN" not in json.dumps(report) and "Infinity" not in json.dumps(report)


@pytest.mark.torch
@pytest.mark.slow
def test_evaluate_refuses_a_split_with_one_class(trained: dict[str, Path], tmp_path: Path) -> None:
    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(trained["data"], data)
    test = data / "test" / "part-00000.csv"
    frame = pd.read_csv(test, dtype=str)
    frame[frame["target"] == "1"].head(40).to_csv(test, index=False)
    base = tmp_path / "processing"
    done = _run_evaluation(_evaluation_step(), base, trained["archive"], data)
    assert done.returncode == 2
    assert "AUC ROC is undefined" in done.stderr and "only rows with label 1 (40 rows)" in done.stderr
    assert not (base / "output" / "evaluation" / "evaluation.json").exists()
    assert "AUC ROC is undefined" in (tmp_path / "output" / "message").read_text()
    # fewer than 200 rows: Model Monitor's "NaN" standard deviations, never a NaN number
    frame = pd.read_csv(trained["data"] / "test" / "part-00000.csv", dtype=str).head(50)
    frame.to_csv(test, index=False)
    shutil.rmtree(base)
    done = _run_evaluation(_evaluation_step(), base, trained["archive"], data)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (base / "output" / "evaluation" / "evaluation.json").read_text()
    assert '"standard_deviation": "NaN"' in text and json.loads(text)


@pytest.mark.torch
@pytest.mark.slow
def test_evaluate_refuses_a_model_without_handler(trained: dict[str, Path], tmp_path: Path) -> None:
    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(trained["archive"], "r:gz") as src, tarfile.open(bare, "w:gz") as dst:
        for member in src.getmembers():
            if not member.name.startswith("code"):
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    done = _run_evaluation(_evaluation_step(), tmp_path / "processing", bare, trained["data"])
    assert done.returncode == 2
    assert "the model has no handler code/inference.py" in done.stderr
    assert "model.pt" in done.stderr


def test_evaluation_code_package_is_the_shipped_script() -> None:
    builder = PyTorchEvaluationStepBuilder(PyTorchEvaluationStepBuilder.example_config(), region="us-east-1")
    (package,) = builder.code_packages()
    assert Path(package.source_dir) == SCRIPTS / "pytorch_evaluation"
    assert package.entry_point == "evaluate.py"
    assert pack_source_dir(package.source_dir, entry_point=package.entry_point)[:2] == b"\x1f\x8b"


# ============================================================================ helpers
def _edges() -> list[tuple[str, str]]:
    from constructs_lib.examples import LIFECYCLE_EDGES

    return list(LIFECYCLE_EDGES)


def _template(configs: dict[str, Any], edges: list[tuple[str, str]] | None = None) -> PipelineBuilderTemplate:
    edges = _edges() if edges is None else edges
    nodes = list(dict.fromkeys([n for e in edges for n in e] + list(configs)))
    return PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=nodes, edges=edges), config_map=configs, region="us-east-1"
    )
