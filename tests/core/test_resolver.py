"""DependencyResolver on real specs: match, alias, tie, unresolved, override; explainable output."""

from __future__ import annotations

import pytest

from constructs_lib import DependencyResolver, ResolutionError, SpecError
from constructs_lib.resolver import Producer
from constructs_lib.specs.base import (
    DependencySpec,
    DependencyType,
    NodeType,
    OutputSpec,
    SageMakerStepKind,
    StepSpecification,
)
from constructs_lib.specs.training_pytorch import pytorch_training_spec

PROCESSED = "properties.ProcessingOutputConfig.Outputs['{}'].S3Output.S3Uri"


def processing_spec(
    step_type: str, *outputs: tuple[str, DependencyType, tuple[str, ...]]
) -> StepSpecification:
    return StepSpecification(
        step_type=step_type,
        node_type=NodeType.SOURCE,
        sagemaker_step_kind=SageMakerStepKind.PROCESSING,
        outputs=tuple(
            OutputSpec(name, kind, PROCESSED.format(name), aliases=al) for name, kind, al in outputs
        ),
    )


def consumer_spec(*deps: DependencySpec) -> StepSpecification:
    return StepSpecification(
        step_type="Consumer",
        node_type=NodeType.SINK,
        sagemaker_step_kind=SageMakerStepKind.TRAINING,
        dependencies=deps,
    )


TRAIN = pytorch_training_spec()
PREP = processing_spec(
    "TabularPreprocessingStep",
    ("processed_data", DependencyType.PROCESSED_DATA, ()),
    ("statistics", DependencyType.JOB_OUTPUT, ()),
)


def test_typed_match_to_processed_data() -> None:
    (res,) = DependencyResolver().resolve("train", TRAIN, [Producer("preprocess", PREP)])
    assert (res.producer, res.output, res.dependency, res.tier) == (
        "preprocess",
        "processed_data",
        "input_path",
        "typed",
    )
    assert res.score == round(0.5 + 0.2 + 0.2 + 0.1 * 2 / 6, 4)
    line = res.explain()
    assert line.startswith("train.input_path <- preprocess.processed_data [typed 0.93")
    assert "compatible source TabularPreprocessingStep" in line
    assert "statistics (score 0.00" in line  # every candidate is reported


def test_exact_name_beats_typed() -> None:
    producer = processing_spec(
        "Other",
        ("input_path", DependencyType.PROCESSED_DATA, ()),
        ("processed_data", DependencyType.PROCESSED_DATA, ()),
    )
    (res,) = DependencyResolver().resolve("train", TRAIN, [Producer("p", producer)])
    assert (res.output, res.tier, res.score) == ("input_path", "name", 1.0)


def test_alias_match() -> None:
    model = consumer_spec(DependencySpec("model_data", DependencyType.MODEL_ARTIFACTS))
    train_step = Producer("train", TRAIN)
    (res,) = DependencyResolver().resolve("model", model, [train_step])
    assert (res.output, res.tier) == ("model_artifacts", "name")
    assert "alias 'model_data'" in res.reason
    assert res.property_path == "properties.ModelArtifacts.S3ModelArtifacts"


def test_tie_is_an_error_naming_every_candidate() -> None:
    a = processing_spec("SplitA", ("processed_data", DependencyType.PROCESSED_DATA, ()))
    b = processing_spec("SplitB", ("processed_data", DependencyType.PROCESSED_DATA, ()))
    with pytest.raises(ResolutionError) as err:
        DependencyResolver().resolve("train", TRAIN, [Producer("a", a), Producer("b", b)])
    msg = str(err.value)
    assert "step 'train'" in msg and "input_path" in msg and "ambiguous" in msg
    assert "a.processed_data (score 0.73" in msg and "b.processed_data (score 0.73" in msg
    assert "overrides=" in msg


def test_tie_broken_by_override() -> None:
    a = processing_spec("SplitA", ("processed_data", DependencyType.PROCESSED_DATA, ()))
    b = processing_spec("SplitB", ("processed_data", DependencyType.PROCESSED_DATA, ()))
    (res,) = DependencyResolver().resolve(
        "train",
        TRAIN,
        [Producer("a", a), Producer("b", b)],
        overrides={"input_path": ("b", "processed_data")},
    )
    assert (res.producer, res.tier) == ("b", "override")


def test_override_errors() -> None:
    producers = [Producer("preprocess", PREP)]
    with pytest.raises(ResolutionError, match="not a direct predecessor"):
        DependencyResolver().resolve(
            "train", TRAIN, producers, overrides={"input_path": ("nope", "processed_data")}
        )
    with pytest.raises(ResolutionError, match="does not have"):
        DependencyResolver().resolve(
            "train", TRAIN, producers, overrides={"input_path": ("preprocess", "nope")}
        )
    with pytest.raises(ResolutionError, match="dependency the step does not have"):
        DependencyResolver().resolve(
            "train", TRAIN, producers, overrides={"nope": ("preprocess", "processed_data")}
        )


def test_unresolved_required_lists_candidates() -> None:
    other = processing_spec("Stats", ("statistics", DependencyType.JOB_OUTPUT, ()))
    with pytest.raises(ResolutionError) as err:
        DependencyResolver().resolve("train", TRAIN, [Producer("stats", other)])
    msg = str(err.value)
    assert "required dependency 'input_path'" in msg and "stats.statistics (score 0.00" in msg
    assert "job_output != processed_data" in msg


def test_unresolved_optional_is_skipped_and_fallback_allowed() -> None:
    spec = consumer_spec(DependencySpec("extra", DependencyType.RAW_DATA, required=False))
    assert DependencyResolver().resolve("c", spec, [Producer("p", PREP)]) == []
    assert DependencyResolver().resolve("train", TRAIN, [], fallbacks=["input_path"]) == []


def test_one_output_feeds_many_consumers() -> None:
    resolver = DependencyResolver()
    results = [resolver.resolve(f"train{i}", TRAIN, [Producer("preprocess", PREP)])[0] for i in range(3)]
    assert {(r.producer, r.output) for r in results} == {("preprocess", "processed_data")}


def test_deterministic() -> None:
    a = DependencyResolver().resolve("train", TRAIN, [Producer("preprocess", PREP)])
    b = DependencyResolver().resolve("train", TRAIN, [Producer("preprocess", PREP)])
    assert a == b


def test_spec_property_paths_checked_against_sdk() -> None:
    with pytest.raises(SpecError) as err:
        StepSpecification(
            step_type="Broken",
            node_type=NodeType.SOURCE,
            sagemaker_step_kind=SageMakerStepKind.TRAINING,
            outputs=(OutputSpec("out", DependencyType.JOB_OUTPUT, "properties.TrainingJobOutput.S3Output"),),
        )
    assert "TrainingJobOutput" in str(err.value) and "does not exist" in str(err.value)
    with pytest.raises(SpecError, match="scalar"):
        processing_spec("X", ("x", DependencyType.JOB_OUTPUT, ())).__class__(
            step_type="X",
            node_type=NodeType.SOURCE,
            sagemaker_step_kind=SageMakerStepKind.TRAINING,
            outputs=(OutputSpec("x", DependencyType.JOB_OUTPUT, "properties.ModelArtifacts"),),
        )


def test_spec_structure_errors() -> None:
    out = OutputSpec(
        "a", DependencyType.JOB_OUTPUT, "properties.OutputDataConfig.S3OutputPath", aliases=("b",)
    )
    with pytest.raises(SpecError, match="duplicate output"):
        StepSpecification("X", NodeType.SOURCE, SageMakerStepKind.TRAINING, outputs=(out, out))
    clash = OutputSpec("b", DependencyType.JOB_OUTPUT, "properties.OutputDataConfig.S3OutputPath")
    with pytest.raises(SpecError, match="alias"):
        StepSpecification("X", NodeType.SOURCE, SageMakerStepKind.TRAINING, outputs=(out, clash))
    with pytest.raises(SpecError, match="source node cannot have dependencies"):
        StepSpecification(
            "X",
            NodeType.SOURCE,
            SageMakerStepKind.TRAINING,
            dependencies=(DependencySpec("d", DependencyType.RAW_DATA),),
        )
    assert TRAIN.output("model_data").logical_name == "model_artifacts"
    with pytest.raises(SpecError, match="no such output"):
        TRAIN.output("nope")
