"""One error hierarchy: every public entry point raises only the library's five error types for bad input,
and SageMaker SDK exceptions raised while building are wrapped as ``SynthError`` naming the step.

GIVEN a bad input WHEN it reaches a public entry point THEN the exception is a ``ConstructsLibError``
subclass (``ConfigError``, ``SpecError``, ``DagError``, ``ResolutionError`` or ``SynthError``) whose message
names what is wrong; never a ``TypeError``/``KeyError``/``ValueError`` from Python, pydantic or the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import constructs_lib
from constructs_lib.errors import (
    ConfigError,
    ConstructsLibError,
    DagError,
    ResolutionError,
    SpecError,
    SynthError,
)
from robustness.helpers import (
    LIBRARY_ERRORS,
    REGION,
    hyperparameters_kwargs,
    optional_module,
    training_config,
)


# ----------------------------------------------------------------------------------------- the hierarchy
@pytest.mark.parametrize("cls", LIBRARY_ERRORS, ids=lambda c: c.__name__)
def test_each_error_carries_step_field_value_hint(cls: type[ConstructsLibError]) -> None:
    err = cls("it is wrong", step="train", field="env", value="1A", hint="rename it")
    assert isinstance(err, ConstructsLibError)
    assert (err.step, err.field, err.value, err.hint, err.message) == (
        "train",
        "env",
        "1A",
        "rename it",
        "it is wrong",
    )
    text = str(err)
    for part in ("'train'", "'env'", "'1A'", "rename it", "it is wrong"):
        assert part in text
    assert err.one_line().startswith(f"{cls.__name__}: ") and "\n" not in err.one_line()


def test_hierarchy_shape_and_root_exports() -> None:
    assert {c.__name__ for c in ConstructsLibError.__subclasses__()} >= {c.__name__ for c in LIBRARY_ERRORS}
    for cls in (ConfigError, SpecError, DagError, ResolutionError):
        assert issubclass(cls, ValueError)  # callers that catch ValueError keep working
    assert issubclass(SynthError, RuntimeError)
    for cls in (ConstructsLibError, *LIBRARY_ERRORS):
        assert getattr(constructs_lib, cls.__name__) is cls


def test_long_values_are_shortened_in_messages() -> None:
    err = ConfigError("too long", field="x", value="v" * 10_000)
    assert len(str(err)) < 300 and "10002 chars" in str(err)


# ------------------------------------------------------------------------- entry points: library errors
def _template(**kwargs: Any) -> Any:
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    dag = PipelineDAG(nodes=["a", "b"], edges=[("a", "b")])
    defaults: dict[str, Any] = {
        "dag": dag,
        "config_map": {"a": training_config(), "b": training_config(input_path="s3://data-bucket/in/")},
        "region": REGION,
    }
    defaults.update(kwargs)
    return PipelineBuilderTemplate(**defaults)


def _builder(**config: object) -> Any:
    from constructs_lib import PyTorchTrainingStepBuilder

    return PyTorchTrainingStepBuilder(training_config(**config), region=REGION, step_name="train")


def _spec(**output: Any) -> Any:
    from constructs_lib.specs.base import (
        DependencyType,
        NodeType,
        OutputSpec,
        SageMakerStepKind,
        StepSpecification,
    )

    values: dict[str, Any] = {
        "logical_name": "model_artifacts",
        "output_type": DependencyType.MODEL_ARTIFACTS,
        "property_path": "properties.ModelArtifacts.S3ModelArtifacts",
    }
    values.update(output)
    return StepSpecification(
        step_type="X", node_type=NodeType.SOURCE, sagemaker_step_kind=SageMakerStepKind.TRAINING,
        outputs=(OutputSpec(**values),),
    )  # fmt: skip


def _missing_source_dir(tmp: Path) -> object:
    from constructs_lib.packaging import pack_source_dir

    return pack_source_dir(tmp / "nope", entry_point="train.py")


def _resolve_bad_override() -> object:
    from constructs_lib.resolver import DependencyResolver, Producer
    from constructs_lib.specs.training_pytorch import pytorch_training_spec

    spec = pytorch_training_spec()
    return DependencyResolver().resolve(
        "b", spec, [Producer("a", spec)], overrides={"input_path": ("a", "no_such_output")}
    )


def _contract_outside_opt_ml() -> object:
    from constructs_lib.contracts.base import ScriptContract

    return ScriptContract("train.py", {"input_path": "/data"}, {})


#: (id, call, expected error type) for entry points that already raise the right type.
RAISES: list[tuple[str, Callable[[], object], type[ConstructsLibError]]] = [
    ("config-missing-required", lambda: constructs_lib.PyTorchTrainingConfig(), ConfigError),
    ("config-validate-not-a-dict", lambda: constructs_lib.PyTorchTrainingConfig.model_validate([1]), ConfigError),
    ("config-validate-json-broken", lambda: constructs_lib.PyTorchTrainingConfig.model_validate_json("{"), ConfigError),
    ("config-copy-unknown-field", lambda: training_config().model_copy(update={"nope": 1}), ConfigError),
    ("config-env-not-a-dict", lambda: training_config(env=["A"]), ConfigError),
    ("config-env-int-value", lambda: training_config(env={"A": 1}), ConfigError),
    ("config-hyperparameters-str", lambda: training_config(hyperparameters="x"), ConfigError),
    ("config-nested-hyperparameters-invalid", lambda: training_config(hyperparameters={"id_name": "a"}), ConfigError),
    ("hyperparameters-list-is-str", lambda: constructs_lib.ModelHyperparameters(**hyperparameters_kwargs(full_field_list="abc")), ConfigError),
    ("hyperparameters-from-sagemaker-garbage", lambda: constructs_lib.ModelHyperparameters.from_sagemaker({"id_name": "[", 1: 2}), ConfigError),
    ("dag-node-none", lambda: constructs_lib.PipelineDAG(nodes=[None]), DagError),  # type: ignore[list-item]
    ("dag-node-list", lambda: constructs_lib.PipelineDAG(nodes=[["a"]]), DagError),  # type: ignore[list-item]
    ("dag-unknown-node-query", lambda: constructs_lib.PipelineDAG(nodes=["a"]).predecessors("b"), DagError),
    ("template-dag-not-a-dag", lambda: _template(dag="a->b"), DagError),
    ("template-empty-dag", lambda: _template(dag=constructs_lib.PipelineDAG(), config_map={}), DagError),
    ("template-config-not-a-config", lambda: _template(config_map={"a": "x", "b": "y"}), ConfigError),
    ("template-builder-not-a-class", lambda: _template(step_builder_map={"PyTorchTrainingStep": object}), ConfigError),
    ("template-step-type-none", lambda: _template(step_builder_map={None: object}), ConfigError),
    ("template-bad-region", lambda: _template(region="nowhere").build("p"), ConfigError),
    ("template-bad-artifact-root", lambda: _template(artifact_root="bucket").build("p"), ConfigError),
    ("template-name-none", lambda: _template().build(None), ConfigError),
    ("template-explain-bad-name", lambda: _template().explain("bad_name"), ConfigError),
    ("template-override-unknown-dependency", lambda: _template(overrides={"b": {"zz": ("a", "x")}}).build("p"), ResolutionError),
    ("single-step-not-a-config", lambda: constructs_lib.PipelineBuilderTemplate.single_step("x", region=REGION), ConfigError),  # type: ignore[arg-type]
    ("builder-wrong-config", lambda: constructs_lib.PyTorchTrainingStepBuilder(constructs_lib.ModelHyperparameters(**hyperparameters_kwargs())), ConfigError),
    ("builder-no-region", lambda: constructs_lib.PyTorchTrainingStepBuilder(training_config()), ConfigError),
    ("builder-unknown-input", lambda: _builder().create_step(inputs={"zz": "s3://a-b/c"}), ConfigError),
    ("builder-foreign-dependency", lambda: _builder().create_step(dependencies=["x"]), ResolutionError),
    ("resolver-bad-override", _resolve_bad_override, ResolutionError),
    ("spec-bad-property-path", lambda: _spec(property_path="properties.TrainingJobOutput.S3Output"), SpecError),
    ("spec-property-path-not-str", lambda: _spec(property_path=5), SpecError),
    ("contract-path-outside-opt-ml", _contract_outside_opt_ml, SpecError),
    ("definition-size", lambda: __import__("constructs_lib.definition").definition.check_definition_size("x" * 2_000_000, pipeline="p"), SynthError),
    ("codeartifact-arn-not-str", lambda: __import__("constructs_lib.codeartifact").codeartifact.parse_repository_arn(5), ConfigError),
    ("registry-unknown-config", lambda: __import__("constructs_lib.registry").registry.step_type_of("x"), ConfigError),
    ("cli-template-ref", lambda: __import__("constructs_lib.__main__").__main__.load_template("no-colon"), ConfigError),
    ("cli-template-module-missing", lambda: __import__("constructs_lib.__main__").__main__.load_template("no_such_mod:x"), ConfigError),
    ("context-empty-region", lambda: constructs_lib.BuildContext(region=""), ConfigError),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), [(c, e) for _, c, e in RAISES], ids=[i for i, _, _ in RAISES])
def test_entry_point_raises_library_error(
    call: Callable[[], object], expected: type[ConstructsLibError]
) -> None:
    with pytest.raises(ConstructsLibError) as info:
        call()
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    assert "\n" not in info.value.one_line()


def test_missing_source_dir_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        _missing_source_dir(tmp_path)
    assert info.value.field == "source_dir"


# ------------------------------------------------ entry points that currently leak other exceptions


LEAKS: list[Any] = [
    pytest.param(
        lambda: constructs_lib.PipelineDAG(nodes=["a"]).add_edge(["a"], "a"),  # type: ignore[arg-type]
        id="dag-add-edge-unhashable",
    ),
    pytest.param(
        lambda: constructs_lib.PipelineDAG(nodes=["a"], edges=[("a",)]),  # type: ignore[list-item]
        id="dag-edge-not-a-pair",
    ),
    pytest.param(
        lambda: _template(config_map=None),
        id="template-config-map-none",
    ),
    pytest.param(
        lambda: _template(region=5).build("p"),
        id="template-region-int",
    ),
    pytest.param(
        lambda: _template(artifact_root=5).build("p"),
        id="template-artifact-root-int",
    ),
    pytest.param(
        lambda: _template(overrides={"b": {"input_path": "a"}}).build("p"),
        id="template-override-not-a-pair",
    ),
    pytest.param(
        lambda: constructs_lib.ModelHyperparameters.from_sagemaker(None),  # type: ignore[arg-type]
        id="hyperparameters-from-sagemaker-none",
    ),
    pytest.param(
        lambda: _spec(logical_name=5),
        id="spec-output-name-int",
    ),
]


@pytest.mark.parametrize("call", LEAKS)
def test_wrong_typed_input_raises_library_error(call: Callable[[], object]) -> None:
    with pytest.raises(ConstructsLibError):
        call()


def test_spec_with_unknown_step_kind_is_spec_error() -> None:
    from constructs_lib.specs.base import DependencyType, NodeType, OutputSpec, StepSpecification

    out = OutputSpec("o", DependencyType.MODEL, "properties.ModelArtifacts.S3ModelArtifacts")
    with pytest.raises(SpecError):
        StepSpecification("X", NodeType.SOURCE, "Bogus", outputs=(out,))  # type: ignore[arg-type]


# ------------------------------------------------------------------- silent acceptance of bad input
def test_template_role_must_be_a_role_arn() -> None:
    with pytest.raises(ConfigError, match="role"):
        _template(role="not-an-arn").build("p")


@pytest.mark.parametrize("value", ["not a uri", 5], ids=["not-a-uri", "int"])
def test_explicit_input_must_be_an_s3_uri(value: object) -> None:
    with pytest.raises(ConfigError):
        _builder().create_step(inputs={"input_path": value})


def test_bool_is_not_an_instance_count() -> None:
    with pytest.raises(ConfigError):
        training_config(training_instance_count=True)


def test_env_value_must_be_valid_unicode() -> None:
    with pytest.raises(ConfigError, match="not valid Unicode") as info:
        training_config(env={"A": "\ud800"})
    assert info.value.field and "env" in info.value.field


def test_alias_string_is_not_split_into_letters() -> None:
    with pytest.raises(SpecError):
        _spec(aliases="model")


def test_dependency_type_must_be_an_enum() -> None:
    from constructs_lib.specs.base import (
        DependencySpec,
        DependencyType,
        NodeType,
        OutputSpec,
        SageMakerStepKind,
        StepSpecification,
    )

    with pytest.raises(SpecError):
        StepSpecification(
            "X",
            NodeType.INTERNAL,
            SageMakerStepKind.TRAINING,
            dependencies=(DependencySpec("a", "bogus"),),  # type: ignore[arg-type]
            outputs=(OutputSpec("o", DependencyType.MODEL, "properties.ModelArtifacts.S3ModelArtifacts"),),
        )


def test_duplicate_pipeline_parameters_are_refused() -> None:
    data_load = optional_module("constructs_lib.config.data_load")
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=["load1", "load2"]),
        config_map={"load1": data_load.DataLoadConfig(), "load2": data_load.DataLoadConfig()},
        region=REGION,
    )
    with pytest.raises(ConfigError, match="RawDataS3Uri") as info:
        template.build("p")
    assert (
        info.value.field == "parameter_name" and "'load1'" in str(info.value) and "'load2'" in str(info.value)
    )


# ------------------------------------------------------------------- SDK exceptions become SynthError
class _SdkBoom(Exception):
    """Stands in for any exception the SageMaker SDK may raise."""


def _boom(*_args: object, **_kwargs: object) -> None:
    raise _SdkBoom("the SDK fell over")


def _sdk_targets() -> Iterator[tuple[str, str, Callable[[], Any]]]:
    """(step type, dotted SDK attribute its builder instantiates, config factory)."""
    yield "PyTorchTrainingStep", "sagemaker.pytorch.PyTorch", training_config
    yield (
        "TabularPreprocessingStep",
        "sagemaker.processing.Processor",
        lambda: optional_module("constructs_lib.config.preprocessing_tabular").TabularPreprocessingConfig(),
    )
    yield (
        "DataLoadStep",
        "sagemaker.processing.Processor",
        lambda: optional_module("constructs_lib.config.data_load").DataLoadConfig(),
    )
    yield (
        "PyTorchModelStep",
        "sagemaker.model.Model",
        lambda: optional_module("constructs_lib.config.model_pytorch").PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311"
        ),
    )


@pytest.mark.parametrize(
    ("step_type", "target", "make_config"), list(_sdk_targets()), ids=[t[0] for t in _sdk_targets()]
)
def test_sdk_exception_is_wrapped_with_step_name(
    monkeypatch: pytest.MonkeyPatch, step_type: str, target: str, make_config: Callable[[], Any]
) -> None:
    from constructs_lib import PipelineBuilderTemplate
    from constructs_lib.sdk_adapter import sdk

    config = make_config()
    with sdk():  # imports the SDK
        pass
    module_name, _, attr = target.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    monkeypatch.setattr(module, attr, _boom)
    template = PipelineBuilderTemplate.single_step(config, node="my-step", region=REGION)
    assert template.step_types["my-step"] == step_type
    with pytest.raises(SynthError) as info:
        template.build("p")
    err = info.value
    assert err.step == "my-step"
    assert "_SdkBoom" in str(err) and "the SDK fell over" in str(err)
    assert isinstance(err.__cause__, _SdkBoom)  # the original is chained for debugging, not shown


def _p2_template() -> Any:
    from constructs_lib import PipelineBuilderTemplate

    # ml.p2.xlarge is in botocore's TrainingInstanceType enum, and PyTorch 2.3.0/py311 is in the SDK's
    # image catalogue, so the config validates; the SDK refuses P2 for PyTorch >= 1.13 only when the image
    # URI is resolved, inside Pipeline.definition().
    return PipelineBuilderTemplate.single_step(
        training_config(training_instance_type="ml.p2.xlarge"), node="train", region=REGION
    )


def test_sdk_rejection_of_a_valid_config_is_a_synth_error() -> None:
    with pytest.raises(SynthError) as info:
        _p2_template().build("p2-pipeline")
    assert "P2 instances have been deprecated" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_sdk_rejection_names_the_failing_step() -> None:
    with pytest.raises(SynthError) as info:
        _p2_template().build("p2-pipeline")
    assert info.value.step == "train"


def test_training_job_arguments_wraps_sdk_errors() -> None:
    from constructs_lib import PyTorchTrainingStepBuilder

    builder = PyTorchTrainingStepBuilder(
        training_config(training_instance_type="ml.p2.xlarge"), region=REGION, step_name="train"
    )
    with pytest.raises(SynthError):
        builder.training_job_arguments()


# ------------------------------------------------------------------------------------ the CLI's view
def p2_template() -> Any:
    """``--template robustness.test_errors:p2_template`` target for the CLI test."""
    return _p2_template()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["definition", "--template", "robustness.test_errors:p2_template"], "SynthError: "),
        (["definition", "--template", "no_such_module_xyz:t"], "ConfigError: "),
        (
            ["definition", "--name", "bad_name", "--template", "robustness.test_errors:p2_template"],
            "ConfigError: ",
        ),
    ],
    ids=["sdk-rejection", "missing-module", "bad-pipeline-name"],
)
def test_cli_prints_one_line_and_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    from constructs_lib.__main__ import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(fragment), captured.err
    assert "Traceback" not in captured.err


# ------------------------------------------------------------------------------- the CDK construct
_CONSTRUCT_PROPS: list[Any] = [
    pytest.param({"pipeline_name": 5}, "pipeline_name", id="pipeline-name-int"),
    pytest.param({"config": "x"}, "config", id="config-not-a-config"),
    pytest.param({"definition_storage": "disk"}, "definition_storage", id="definition-storage-unknown"),
    pytest.param({"inline_threshold_chars": "10"}, "inline_threshold_chars", id="threshold-str"),
    pytest.param(
        {"job_role": "arn:aws:iam::123456789012:role/existing"},
        "job_role",
        id="job-role-arn-string",
    ),
    pytest.param(
        {"tags": [("team", "ml")]},
        "tags",
        id="tags-not-a-mapping",
    ),
    pytest.param(
        {"description": 5},
        "description",
        id="description-not-str",
    ),
]


@pytest.mark.parametrize(("props", "field"), _CONSTRUCT_PROPS)
def test_construct_bad_props_are_config_errors_naming_the_prop(props: dict[str, Any], field: str) -> None:
    pipeline = optional_module("constructs_lib.constructs.pipeline")
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "Errors", env=cdk.Environment(account="123456789012", region=REGION))
    kwargs: dict[str, Any] = {"pipeline_name": "errors", "config": training_config(), **props}
    with pytest.raises(ConfigError) as info:
        pipeline.PyTorchTrainingPipeline(stack, "P", **kwargs)
    assert info.value.field == field
