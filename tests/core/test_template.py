"""PipelineBuilderTemplate: checks on its inputs, pipeline parameters, and the built pipeline."""

from __future__ import annotations

import json

import pytest

from constructs_lib import (
    ConfigError,
    DagError,
    PipelineBuilderTemplate,
    PipelineDAG,
    PyTorchTrainingStepBuilder,
    step_builder_map,
)
from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.examples import seed_training_config


def one_node(node: str = "train") -> PipelineDAG:
    dag = PipelineDAG()
    dag.add_node(node)
    return dag


def test_registry_keys_match_class_names() -> None:
    registry = step_builder_map()
    assert registry["PyTorchTrainingStep"] is PyTorchTrainingStepBuilder
    for key, cls in registry.items():
        assert cls.__name__ == f"{key}Builder"
        assert cls.specification().step_type == key


def test_generate_pipeline_returns_sdk_pipeline() -> None:
    from sagemaker.workflow.pipeline import Pipeline

    template = PipelineBuilderTemplate(
        dag=one_node(),
        config_map={"train": seed_training_config()},
        step_builder_map={"PyTorchTrainingStep": PyTorchTrainingStepBuilder},
        region="us-east-1",
    )
    pipeline = template.generate_pipeline("my-pipeline")
    assert isinstance(pipeline, Pipeline) and pipeline.name == "my-pipeline"


def test_pipeline_parameter_for_unwired_input() -> None:
    built = PipelineBuilderTemplate.single_step(
        seed_training_config(), node="train", region="us-east-1"
    ).build("p")
    definition = built.definition
    assert definition["Parameters"] == [
        {
            "DefaultValue": "s3://constructs-lib-placeholder-artifact-bucket/p/train/input/",
            "Name": "trainInputPath",
            "Type": "String",
        }
    ]
    channel = definition["Steps"][0]["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == {"Get": "Parameters.trainInputPath"}


def test_config_input_path_used_without_parameter() -> None:
    cfg = seed_training_config(input_path="s3://data-bucket/ready/")
    built = PipelineBuilderTemplate.single_step(cfg, region="us-east-1").build("p")
    assert built.definition["Parameters"] == []
    assert "s3://data-bucket/ready/" in built.definition_json
    assert built.access["PyTorchTraining"].prefix_reads == ("s3://data-bucket/ready/",)


def test_missing_config() -> None:
    dag = one_node()
    dag.add_node("other")
    with pytest.raises(ConfigError) as err:
        PipelineBuilderTemplate(dag=dag, config_map={"train": seed_training_config()}, region="us-east-1")
    assert "other" in str(err.value) and "needs a config" in str(err.value)


def test_config_for_unknown_node() -> None:
    with pytest.raises(ConfigError, match="not in the DAG"):
        PipelineBuilderTemplate(
            dag=one_node(),
            config_map={"train": seed_training_config(), "x": seed_training_config()},
            region="us-east-1",
        )


def test_unknown_builder_key() -> None:
    with pytest.raises(ConfigError) as err:
        PipelineBuilderTemplate(
            dag=one_node(),
            config_map={"train": seed_training_config()},
            step_builder_map={"PyTorchTraining": PyTorchTrainingStepBuilder},
            region="us-east-1",
        )
    assert "PyTorchTraining" in str(err.value) and "PyTorchTrainingStep" in str(err.value)


def test_builder_missing_for_a_config() -> None:
    with pytest.raises(ConfigError, match="no builder for step type 'PyTorchTrainingStep'"):
        PipelineBuilderTemplate(
            dag=one_node(),
            config_map={"train": seed_training_config()},
            step_builder_map={},
            region="us-east-1",
        )


def test_wrong_builder_class_for_key() -> None:
    class Impostor(PyTorchTrainingStepBuilder):
        pass

    with pytest.raises(ConfigError, match="not the builder registered"):
        PipelineBuilderTemplate(
            dag=one_node(),
            config_map={"train": seed_training_config()},
            step_builder_map={"PyTorchTrainingStep": Impostor},
            region="us-east-1",
        )


def test_empty_dag_and_wrong_type() -> None:
    with pytest.raises(DagError, match="no nodes"):
        PipelineBuilderTemplate(dag=PipelineDAG(), config_map={}, region="us-east-1")
    with pytest.raises(DagError, match="PipelineDAG"):
        PipelineBuilderTemplate(dag={"train": []}, config_map={}, region="us-east-1")  # type: ignore[arg-type]


def test_region_rules() -> None:
    with pytest.raises(ConfigError, match="no AWS region"):
        PipelineBuilderTemplate(dag=one_node(), config_map={"train": seed_training_config()})
    from_config = PipelineBuilderTemplate(
        dag=one_node(), config_map={"train": seed_training_config(region="eu-west-1")}
    )
    assert from_config.region == "eu-west-1"
    with pytest.raises(ConfigError, match="region other than the pipeline's"):
        PipelineBuilderTemplate(
            dag=one_node(), config_map={"train": seed_training_config(region="eu-west-1")}, region="us-east-1"
        )


@pytest.mark.parametrize("name", ["", "-bad", "bad-", "has_underscore", "a" * 257])
def test_pipeline_name_rules(name: str) -> None:
    template = PipelineBuilderTemplate.single_step(seed_training_config(), region="us-east-1")
    with pytest.raises(ConfigError, match="pipeline name"):
        template.build(name)


def test_pipeline_name_at_limit() -> None:
    template = PipelineBuilderTemplate.single_step(seed_training_config(), region="us-east-1")
    assert template.build("a" * 256).name == "a" * 256


def test_definition_round_trips_and_is_canonical() -> None:
    built = PipelineBuilderTemplate.single_step(seed_training_config(), region="us-east-1").build("p")
    assert json.loads(built.definition_json) == built.definition
    assert (
        json.dumps(built.definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        == built.definition_json
    )
    assert set(built.timings) == {"steps", "definition"}
    (pkg,) = built.code_packages
    assert pkg.node == "PyTorchTraining" and pkg.placeholder_uri in built.definition_json


def test_builder_is_abstract() -> None:
    with pytest.raises(TypeError):
        StepBuilderBase(seed_training_config())  # type: ignore[abstract]
