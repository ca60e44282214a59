"""The seed's DAG example end to end: data_load -> preprocess -> train -> model, offline and deterministic."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import netguard
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib import (
    DataLoadConfig,
    DataLoadStepBuilder,
    PipelineBuilderTemplate,
    PipelineDAG,
    PyTorchModelConfig,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    TabularPreprocessingConfig,
    TabularPreprocessingStepBuilder,
    examples,
)
from constructs_lib.config.base import StrictModel
from constructs_lib.definition import canonical_json, find_placeholders
from constructs_lib.examples import seed_training_config
from constructs_lib.packaging import pack_source_dir
from constructs_lib.template import BuiltPipeline

ROOT = Path(__file__).resolve().parents[2]

STEP_BUILDER_MAP = {
    "DataLoadStep": DataLoadStepBuilder,
    "TabularPreprocessingStep": TabularPreprocessingStepBuilder,
    "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
    "PyTorchModelStep": PyTorchModelStepBuilder,
}


def seed_dag() -> PipelineDAG:
    dag = PipelineDAG()
    dag.add_node("data_load")
    dag.add_node("preprocess")
    dag.add_node("train")
    dag.add_node("model")
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    return dag


def seed_config_map() -> dict[str, StrictModel]:
    return {
        "data_load": DataLoadConfig(required_columns=("customer_id", "target")),
        "preprocess": TabularPreprocessingConfig(label_name="target"),
        "train": seed_training_config(),
        "model": PyTorchModelConfig(framework_version="1.13.1", py_version="py39"),
    }


def seed_template(sagemaker_session: Any = None) -> PipelineBuilderTemplate:
    return PipelineBuilderTemplate(
        dag=seed_dag(),
        config_map=seed_config_map(),
        step_builder_map=STEP_BUILDER_MAP,
        sagemaker_session=sagemaker_session,
        region="us-east-1",
    )


@pytest.fixture(scope="module")
def session() -> Any:
    """One offline session for the tests that build again (creating one costs about a second)."""
    from constructs_lib import placeholders
    from constructs_lib.sdk_adapter import offline_session

    return offline_session("us-east-1", placeholders.ARTIFACT_BUCKET)


@pytest.fixture(scope="module")
def built() -> BuiltPipeline:
    netguard.reset()
    result = seed_template().build("my-pipeline")
    assert netguard.attempts() == [], f"network access attempted: {netguard.attempts()}"
    return result


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in definition["Steps"]}


# ---------------------------------------------------------------------------------------------- GIVEN the seed


def test_generate_pipeline_returns_a_real_sdk_pipeline(
    no_network_attempts: None, session: Any, built: BuiltPipeline
) -> None:
    from sagemaker.workflow.pipeline import Pipeline

    pipeline = seed_template(session).generate_pipeline("my-pipeline")
    assert isinstance(pipeline, Pipeline)
    assert pipeline.name == "my-pipeline"
    # a session passed in changes nothing in the definition
    assert canonical_json(json.loads(pipeline.definition())) == built.definition_json


def test_steps_in_dag_order(built: BuiltPipeline) -> None:
    # the model node is the SDK's ModelStep: one CreateModel (no repack job: model.tar.gz has its code/)
    assert [s["Name"] for s in built.definition["Steps"]] == [
        "data_load",
        "preprocess",
        "train",
        "model-CreateModel",
    ]
    assert [s["Type"] for s in built.definition["Steps"]] == ["Processing", "Processing", "Training", "Model"]
    assert built.step_types == {
        "data_load": "DataLoadStep",
        "preprocess": "TabularPreprocessingStep",
        "train": "PyTorchTrainingStep",
        "model": "PyTorchModelStep",
    }


def test_raw_data_comes_from_a_pipeline_parameter(built: BuiltPipeline) -> None:
    assert built.definition["Parameters"] == [
        {
            "DefaultValue": "s3://constructs-lib-placeholder-artifact-bucket/my-pipeline/raw/",
            "Name": "RawDataS3Uri",
            "Type": "String",
        }
    ]
    inputs = steps_by_name(built.definition)["data_load"]["Arguments"]["ProcessingInputs"]
    raw = next(i for i in inputs if i["InputName"] == "raw_source")
    assert raw["S3Input"]["S3Uri"] == {"Get": "Parameters.RawDataS3Uri"}
    assert raw["S3Input"]["LocalPath"] == "/opt/ml/processing/input/raw_source"


def test_preprocess_reads_the_loaded_data(built: BuiltPipeline) -> None:
    inputs = steps_by_name(built.definition)["preprocess"]["Arguments"]["ProcessingInputs"]
    raw = next(i for i in inputs if i["InputName"] == "raw_data")
    assert raw["S3Input"]["S3Uri"] == {
        "Get": "Steps.data_load.ProcessingOutputConfig.Outputs['raw_data'].S3Output.S3Uri"
    }


def test_training_data_channel_is_the_processed_data(built: BuiltPipeline) -> None:
    channels = steps_by_name(built.definition)["train"]["Arguments"]["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["data"]
    assert channels[0]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }


def test_model_is_created_from_the_training_artifacts(built: BuiltPipeline) -> None:
    steps = steps_by_name(built.definition)
    artifacts = {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    # the training job copies the inference code into its model.tar.gz's code/ (the launcher) ...
    train = steps["train"]["Arguments"]
    assert train["HyperParameters"]["sagemaker_program"] == '"constructs_lib_launcher.py"'
    assert train["Environment"]["CONSTRUCTS_LIB_INFERENCE_CODE"] == "constructs_lib_inference"
    # ... so CreateModel uses train's archive as it is, with the PyTorch inference image
    container = steps["model-CreateModel"]["Arguments"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == artifacts
    assert (
        container["Image"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.13.1-cpu-py39"
    )
    assert container["Environment"] == {
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_REGION": "us-east-1",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }


def test_depends_on_follows_the_dag(built: BuiltPipeline) -> None:
    depends = {s["Name"]: s.get("DependsOn") for s in built.definition["Steps"]}
    assert depends == {
        "data_load": None,
        "preprocess": ["data_load"],
        "train": ["preprocess"],
        "model-CreateModel": ["train"],
    }


def test_explain_lines() -> None:
    assert seed_template().explain("my-pipeline").splitlines() == [
        "preprocess.raw_data <- data_load.raw_data [name 1.00: logical name 'raw_data']",
        "train.input_path <- preprocess.processed_data [typed 0.93: type processed_data, data type S3Uri, "
        "compatible source TabularPreprocessingStep, keywords data/processed]",
        "model.model_data <- train.model_artifacts [name 1.00: alias 'model_data']; also considered: "
        "train.output_path (score 0.00, typed: type job_output != model_artifacts)",
    ]


def test_built_explain_matches_the_plan(built: BuiltPipeline) -> None:
    assert built.explain() == seed_template().explain("my-pipeline")


def test_mermaid() -> None:
    assert seed_template().to_mermaid("my-pipeline") == (
        "flowchart TD\n"
        '    n0["data_load"]\n'
        '    n1["preprocess"]\n'
        '    n2["train"]\n'
        '    n3["model"]\n'
        '    n0 -- "raw_data → raw_data" --> n1\n'
        '    n1 -- "processed_data → input_path" --> n2\n'
        '    n2 -- "model_artifacts → model_data" --> n3\n'
    )


def test_definition_snapshot(built: BuiltPipeline, snapshot: SnapshotAssertion) -> None:
    assert built.definition_json == canonical_json(built.definition)
    assert json.loads(built.definition_json) == snapshot.use_extension(JSONSnapshotExtension)


def test_placeholders_left_for_the_cdk_layer(built: BuiltPipeline) -> None:
    assert find_placeholders(built.definition) == [
        "constructs-lib-placeholder-artifact-bucket",
        "constructs-lib-placeholder-code",
        "constructs-lib-placeholder-job-role",
    ]


def test_every_code_package_packs(built: BuiltPipeline) -> None:
    packages = {p.node: p for p in built.code_packages}
    # the model step packs nothing: its handler is in the training step's package
    assert sorted(packages) == ["data_load", "preprocess", "train"]
    assert sorted(n for n in packages["train"].extra_files if n.startswith("constructs_lib_")) == [
        "constructs_lib_inference/inference.py",
        "constructs_lib_inference/model.py",
        "constructs_lib_launcher.py",
    ]
    for node, package in packages.items():
        assert package.placeholder_uri == f"s3://constructs-lib-placeholder-code/{node}/sourcedir.tar.gz"
        data = pack_source_dir(
            package.source_dir, entry_point=package.entry_point, extra_files=package.extra_files
        )
        assert data[:2] == b"\x1f\x8b"
        assert package.placeholder_uri in built.definition_json


def test_access_needs(built: BuiltPipeline) -> None:
    root = "s3://constructs-lib-placeholder-artifact-bucket/my-pipeline"
    code = "s3://constructs-lib-placeholder-code"
    access = built.access
    # processing code is an S3Prefix input (listed, then fetched); so is the raw-data parameter's default
    assert access["data_load"].prefix_reads == (f"{root}/raw/", f"{code}/data_load/sourcedir.tar.gz")
    assert access["data_load"].parameters == ("RawDataS3Uri",)
    assert access["data_load"].writes == (f"{root}/data_load",)
    # preprocess reads data_load's output, which is data_load's to declare
    assert access["preprocess"].prefix_reads == (f"{code}/preprocess/sourcedir.tar.gz",)
    assert access["preprocess"].writes == (f"{root}/preprocess",)
    # a training job's code tarball is fetched with GetObject only
    assert access["train"].object_reads == (f"{code}/train/sourcedir.tar.gz",)
    assert access["train"].prefix_reads == ()
    assert access["train"].codeartifact == (examples.SEED_CA_REPOSITORY_ARN,)
    # the model reads train's output (train's to declare), writes nothing and runs no job
    assert access["model"].object_reads == ()
    assert access["model"].writes == ()
    assert access["model"].images == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.13.1-cpu-py39",
    )
    assert built.pipeline_access().creates == ("model", "processing-job", "training-job")
    assert built.pipeline_access().log_groups == (
        "/aws/sagemaker/ProcessingJobs",
        "/aws/sagemaker/TrainingJobs",
    )


def test_seed_usage_create_step_with_dependencies(no_network_attempts: None, session: Any) -> None:
    """The seed's ``builder.create_step(dependencies=[preprocessing_step])``, step by step."""
    from sagemaker.workflow.pipeline import Pipeline

    preprocessing_step = TabularPreprocessingStepBuilder(
        config=TabularPreprocessingConfig(label_name="target"), sagemaker_session=session
    ).create_step(inputs={"raw_data": "s3://my-bucket/raw/"})
    builder = PyTorchTrainingStepBuilder(config=seed_training_config(), sagemaker_session=session)
    training_step = builder.create_step(dependencies=[preprocessing_step])
    model_builder = PyTorchModelStepBuilder(
        config=PyTorchModelConfig(framework_version="1.13.1", py_version="py39"), sagemaker_session=session
    )
    model_step = model_builder.create_step(dependencies=[training_step])
    # the same resolution, as values of a build (builders keep no state between calls)
    assert [r.explain() for r in builder.build(dependencies=[preprocessing_step]).resolutions] == [
        "PyTorchTraining.input_path <- TabularPreprocessing.processed_data [typed 0.93: type processed_data, "
        "data type S3Uri, compatible source TabularPreprocessingStep, keywords data/processed]"
    ]
    assert model_builder.build(dependencies=[training_step]).resolutions[0].output == "model_artifacts"
    assert not hasattr(builder, "resolutions") and not hasattr(builder, "parameters")

    pipeline = Pipeline(
        name="seed",
        steps=[preprocessing_step, training_step, model_step],
        sagemaker_session=builder.context.session,
    )
    steps = steps_by_name(json.loads(pipeline.definition()))
    train_args = steps["PyTorchTraining"]["Arguments"]
    assert train_args["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.TabularPreprocessing.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
    assert steps["PyTorchTraining"]["DependsOn"] == ["TabularPreprocessing"]
    assert steps["PyTorchModel-CreateModel"]["DependsOn"] == ["PyTorchTraining"]


_CHILD = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from core.test_seed_dag import seed_template
print(hashlib.sha256(seed_template().build("my-pipeline").definition_json.encode()).hexdigest())
"""


@pytest.mark.slow
def test_definition_is_byte_identical_across_processes(built: BuiltPipeline, tmp_path: Path) -> None:
    log = tmp_path / "netguard.log"
    script = _CHILD.format(tests=str(ROOT / "tests"))
    children = []
    for seed in ("1", "4242"):
        env = netguard.guarded_env()
        env["PYTHONHASHSEED"] = seed
        env["CONSTRUCTS_LIB_NETGUARD_LOG"] = str(log)
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    digests = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        digests.append(out.strip().splitlines()[-1])
    expected = hashlib.sha256(built.definition_json.encode()).hexdigest()
    assert digests == [expected, expected]
    assert not log.exists() or log.read_text() == "", f"network access attempted: {log.read_text()}"
