"""SageMaker and CloudFormation limits are checked at synth, each at its boundary: exactly at the limit
passes, one past it fails with a library error naming the field.

Every number comes from a machine-readable source, never typed here: botocore's SageMaker service model
(``constructs_lib.limits.shape``) and cfn-lint's CloudFormation resource schema of
``AWS::SageMaker::Pipeline``. The few limits neither publishes are the library's named constants.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from constructs_lib import limits
from constructs_lib.errors import ConfigError, DagError, SynthError
from robustness.helpers import (
    REGION,
    S3_CODE,
    hyperparameters_kwargs,
    optional_module,
    shared_session,
    training_config,
)


def shape(name: str) -> limits.ShapeLimits:
    return limits.shape(name)


def maximum(name: str) -> int:
    value = shape(name).max
    assert value is not None, f"botocore publishes no maximum for {name}"
    return value


@functools.cache
def cfn_schema() -> dict[str, Any]:
    """cfn-lint's resource schema of ``AWS::SageMaker::Pipeline`` (us-east-1)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        REGION, "AWS::SageMaker::Pipeline"
    ).schema
    return schema


def cfn_property(name: str) -> dict[str, Any]:
    prop: dict[str, Any] = cfn_schema()["properties"][name]
    return prop


def build(config: Any, *, node: str = "train", name: str = "p") -> Any:
    from constructs_lib import PipelineBuilderTemplate

    return PipelineBuilderTemplate.single_step(config, node=node, sagemaker_session=shared_session()).build(
        name
    )


def arguments(built: Any, step: str | None = None) -> dict[str, Any]:
    steps = built.definition["Steps"]
    found = [s for s in steps if step is None or s["Name"] == step]
    args: dict[str, Any] = found[0]["Arguments"]
    return args


# ------------------------------------------------------------------------------ the sources agree
def test_botocore_and_cloudformation_agree_on_the_pipeline_limits() -> None:
    assert cfn_property("PipelineName")["maxLength"] == maximum("PipelineName")
    assert cfn_property("PipelineName")["minLength"] == shape("PipelineName").min == 1
    assert cfn_property("PipelineName")["pattern"].lstrip("^") == "[a-zA-Z0-9](-*[a-zA-Z0-9])*"
    assert cfn_property("PipelineDescription")["maxLength"] == maximum("PipelineDescription")
    assert cfn_property("PipelineDefinition")["maxLength"] == maximum("PipelineDefinition")
    assert cfn_property("Tags")["maxItems"] == maximum("TagList")
    tag = cfn_schema()["definitions"]["Tag"]["properties"]
    assert tag["Key"]["maxLength"] == maximum("TagKey") and tag["Value"]["maxLength"] == maximum("TagValue")


# ------------------------------------------------------------------------------------ pipeline name
def _pipeline_name_ok(name: str) -> bool:
    """CloudFormation's rule, independently of the library: the schema's pattern anchored at both ends
    (JSON-schema patterns are unanchored) and its min/max length."""
    prop = cfn_property("PipelineName")
    pattern = re.compile(prop["pattern"].lstrip("^") + r"\Z")
    return prop["minLength"] <= len(name) <= prop["maxLength"] and pattern.match(name) is not None


PIPELINE_NAME_LIMIT = maximum("PipelineName")


@pytest.mark.parametrize(
    "name",
    [
        "a" * PIPELINE_NAME_LIMIT,
        "a" * (PIPELINE_NAME_LIMIT + 1),
        "a" + "-" * (PIPELINE_NAME_LIMIT - 2) + "b",
        "a" + "-" * (PIPELINE_NAME_LIMIT - 1) + "b",
        "a",
        "my-pipeline-2",
        "a--b",
        "",
        "-a",
        "a-",
        "my_pipeline",
        "my pipeline",
        "a.b",
        "é",
        "a\n",
    ],
    ids=lambda n: f"{n[:12]!r}..{len(n)}" if len(n) > 12 else repr(n),
)
def test_pipeline_name_at_the_boundary(name: str) -> None:
    from constructs_lib import PipelineBuilderTemplate

    template = PipelineBuilderTemplate.single_step(training_config(), sagemaker_session=shared_session())
    if _pipeline_name_ok(name):
        assert template.build(name).name == name
    else:
        with pytest.raises(ConfigError) as info:
            template.build(name)
        assert info.value.field == "pipeline_name"


# -------------------------------------------------------------------------------- step / node names
STEP_NAME_LIMIT = maximum("StepName")


def test_step_name_at_the_boundary() -> None:
    from constructs_lib import PipelineDAG, PyTorchTrainingStepBuilder

    at_limit = "s" * STEP_NAME_LIMIT
    built = build(training_config(), node=at_limit)
    assert [s["Name"] for s in built.definition["Steps"]] == [at_limit]
    with pytest.raises(DagError) as dag_err:
        PipelineDAG(nodes=["s" * (STEP_NAME_LIMIT + 1)])
    assert dag_err.value.field == "node"
    with pytest.raises(ConfigError) as builder_err:
        PyTorchTrainingStepBuilder(training_config(), region=REGION, step_name="s" * (STEP_NAME_LIMIT + 1))
    assert builder_err.value.field == "step_name"
    for bad in ("a.b", "a b", "é", ""):
        with pytest.raises(DagError):
            PipelineDAG(nodes=[bad])


def test_model_node_name_leaves_room_for_the_sdk_suffixes() -> None:
    model = optional_module("constructs_lib.builders.model_pytorch")
    config = optional_module("constructs_lib.config.model_pytorch").PyTorchModelConfig(
        framework_version="2.3.0", py_version="py311"
    )
    room = STEP_NAME_LIMIT - len(model.CREATE_MODEL_SUFFIX)
    built = build(config, node="m" * room)
    names = [s["Name"] for s in built.definition["Steps"]]
    assert max(len(n) for n in names) == STEP_NAME_LIMIT
    with pytest.raises(ConfigError) as info:
        build(config, node="m" * (room + 1))
    assert info.value.field == "step_name"


# ------------------------------------------------------------------------------- hyperparameter values
VALUE_LIMIT = maximum("HyperParameterValue")


def field_list_encoded_as(length: int) -> list[str]:
    """``["id", "label", "f", <filler>...]`` whose ``json.dumps`` (the SDK's encoding) is ``length`` chars."""
    names = ["id", "label", "f"]
    while len(json.dumps([*names, "x" * 100])) < length:
        names.append(f"c{len(names):04d}")
    pad = length - len(json.dumps([*names, ""]))
    assert pad >= 0
    names.append("x" * pad)
    assert len(json.dumps(names)) == length
    return names


def _hp_config(length: int, source_dir: str) -> Any:
    from constructs_lib import ModelHyperparameters

    hp = ModelHyperparameters(
        **hyperparameters_kwargs(
            full_field_list=field_list_encoded_as(length), tab_field_list=["f"], cat_field_list=[]
        )
    )
    return training_config(hyperparameters=hp, source_dir=source_dir)


@pytest.mark.parametrize("source_dir", ["./local-code", S3_CODE], ids=["local-code", "s3-code"])
def test_hyperparameter_value_exactly_at_the_limit_stays_inline(source_dir: str) -> None:
    built = build(_hp_config(VALUE_LIMIT, source_dir))
    value = arguments(built)["HyperParameters"]["full_field_list"]
    assert len(value) == VALUE_LIMIT and json.loads(value) == field_list_encoded_as(VALUE_LIMIT)


def test_hyperparameter_value_one_past_the_limit_ships_as_a_file_with_local_code() -> None:
    from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE

    built = build(_hp_config(VALUE_LIMIT + 1, "./local-code"))
    inline = arguments(built)["HyperParameters"]
    assert "full_field_list" not in inline
    assert all(len(v) <= VALUE_LIMIT for v in inline.values())
    (package,) = built.code_packages
    shipped = json.loads(package.extra_files[HYPERPARAMETERS_FILE])
    assert shipped["full_field_list"] == field_list_encoded_as(VALUE_LIMIT + 1)  # complete, not truncated


def test_hyperparameter_value_one_past_the_limit_is_a_config_error_with_s3_code() -> None:
    with pytest.raises(ConfigError) as info:
        build(_hp_config(VALUE_LIMIT + 1, S3_CODE))
    err = info.value
    assert err.field == "hyperparameters.full_field_list" and err.step == "train"
    assert str(VALUE_LIMIT + 1) in err.message and str(VALUE_LIMIT) in err.message


def test_hyperparameter_entry_count() -> None:
    from constructs_lib.builders import training_pytorch

    count_limit = maximum("HyperParameters")
    built = build(training_config(hyperparameters=hyperparameters_kwargs()))
    entries = arguments(built)["HyperParameters"]
    sdk_entries = [k for k in entries if k.startswith("sagemaker_")]
    assert len(entries) <= count_limit
    # the builder's reserve for the SDK's own entries covers what the SDK adds
    assert len(sdk_entries) <= training_pytorch._SDK_HYPERPARAMETER_RESERVE
    # every field of ModelHyperparameters plus the reserve fits: the check can never fire for valid configs
    from constructs_lib import ModelHyperparameters

    assert (
        len(ModelHyperparameters.model_fields) + training_pytorch._SDK_HYPERPARAMETER_RESERVE <= count_limit
    )


@pytest.mark.parametrize("over", [0, 1], ids=["at-limit", "one-past"])
def test_hyperparameter_entry_count_check_at_its_boundary(monkeypatch: pytest.MonkeyPatch, over: int) -> None:
    """The check itself: inline entries + reserve == limit passes, one more fails (the reserve is
    shifted so that ModelHyperparameters' fixed field set reaches the boundary)."""
    from constructs_lib import PyTorchTrainingStepBuilder
    from constructs_lib.builders import training_pytorch

    builder = PyTorchTrainingStepBuilder(
        training_config(hyperparameters=hyperparameters_kwargs()), region=REGION, step_name="train"
    )
    inline, _ = builder.hyperparameters_split()
    monkeypatch.setattr(
        training_pytorch, "_SDK_HYPERPARAMETER_RESERVE", maximum("HyperParameters") - len(inline) + over
    )
    if over:
        with pytest.raises(ConfigError) as info:
            builder.hyperparameters_split()
        assert info.value.field == "hyperparameters" and info.value.step == "train"
    else:
        assert builder.hyperparameters_split()[0] == inline


# ---------------------------------------------------------------------------------- environment maps
def _env(count: int, *, key_len: int = 8, value_len: int = 1) -> dict[str, str]:
    return {f"K{i:0{key_len - 1}d}": "v" * value_len for i in range(count)}


def _env_cases() -> list[tuple[str, Callable[[dict[str, str]], Any], str, int]]:
    """(id, config factory, botocore shape prefix, entries the SDK adds itself)."""

    def preprocessing(env: dict[str, str]) -> Any:
        return optional_module("constructs_lib.config.preprocessing_tabular").TabularPreprocessingConfig(
            env=env
        )

    def data_load(env: dict[str, str]) -> Any:
        return optional_module("constructs_lib.config.data_load").DataLoadConfig(env=env)

    def model(env: dict[str, str]) -> Any:
        return optional_module("constructs_lib.config.model_pytorch").PyTorchModelConfig(
            framework_version="2.3.0", py_version="py311", env=env
        )

    def sdk_model_env() -> int:
        try:
            from constructs_lib.config.model_pytorch import SDK_MODEL_ENV
        except ImportError:  # pragma: no cover
            return 0
        return len(SDK_MODEL_ENV)

    return [
        ("training", lambda env: training_config(env=env), "TrainingEnvironment", 0),
        ("preprocessing", preprocessing, "ProcessingEnvironment", 0),
        ("data-load", data_load, "ProcessingEnvironment", 0),
        ("model", model, "Environment", sdk_model_env()),
    ]


def _environment_of(built: Any) -> dict[str, str]:
    """The ``Environment`` of the step that carries the config's variables (the model's CreateModel)."""
    for step in built.definition["Steps"]:
        args = step["Arguments"]
        env = args.get("Environment") or (args.get("PrimaryContainer") or {}).get("Environment")
        if env and any(k.startswith("K") for k in env):
            return dict(env)
    return {}


@pytest.mark.parametrize(
    ("make", "prefix", "sdk_added"), [c[1:] for c in _env_cases()], ids=[c[0] for c in _env_cases()]
)
def test_environment_entry_count_at_the_boundary(
    make: Callable[[dict[str, str]], Any], prefix: str, sdk_added: int
) -> None:
    limit = maximum(f"{prefix}Map") - sdk_added
    built = build(make(_env(limit)))
    env = _environment_of(built)
    assert len(env) == limit + sdk_added == maximum(f"{prefix}Map")  # exactly botocore's limit in the job
    with pytest.raises(ConfigError) as info:
        make(_env(limit + 1))
    assert info.value.field and info.value.field.endswith("env") and str(limit + 1) in info.value.message


@pytest.mark.parametrize(
    ("make", "prefix", "sdk_added"), [c[1:] for c in _env_cases()], ids=[c[0] for c in _env_cases()]
)
def test_environment_name_and_value_length_at_the_boundary(
    make: Callable[[dict[str, str]], Any], prefix: str, sdk_added: int
) -> None:
    key_limit, value_limit = maximum(f"{prefix}Key"), maximum(f"{prefix}Value")
    env = _env(1, key_len=key_limit, value_len=value_limit)
    assert env.items() <= _environment_of(build(make(env))).items()
    with pytest.raises(ConfigError, match=f"{key_limit + 1} characters"):
        make(_env(1, key_len=key_limit + 1))
    with pytest.raises(ConfigError, match=f"{value_limit + 1} characters"):
        make(_env(1, value_len=value_limit + 1))
    with pytest.raises(ConfigError, match="invalid environment variable name"):
        make({"1A": "x"})


# ------------------------------------------------------------------------------- metric definitions
def test_emitted_metric_definitions_fit_sagemaker() -> None:
    built = build(training_config())
    metrics = arguments(built)["AlgorithmSpecification"]["MetricDefinitions"]
    assert 0 < len(metrics) <= maximum("MetricDefinitionList")
    for metric in metrics:
        assert (shape("MetricName").min or 1) <= len(metric["Name"]) <= maximum("MetricName")
        assert (shape("MetricRegex").min or 1) <= len(metric["Regex"]) <= maximum("MetricRegex")
        assert shape("MetricRegex").fullmatch(metric["Regex"]) and re.compile(metric["Regex"]).groups >= 1


# ---------------------------------------------------------------------------------- definition size
DEFINITION_LIMIT = maximum("PipelineDefinition")


def test_definition_size_at_the_boundary() -> None:
    from constructs_lib.definition import check_definition_size

    assert check_definition_size("x" * DEFINITION_LIMIT, pipeline="p") == DEFINITION_LIMIT
    with pytest.raises(SynthError) as info:
        check_definition_size("x" * (DEFINITION_LIMIT + 1), pipeline="p")
    assert info.value.field == "PipelineDefinition" and f"{DEFINITION_LIMIT:,}" in str(info.value)


def oversized_template() -> Any:
    """Eleven training steps, each with botocore's maximum environment (100 x 512-char names and values):
    a definition of ~1.15 million characters."""
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    key, value = maximum("TrainingEnvironmentKey"), maximum("TrainingEnvironmentValue")
    env = _env(maximum("TrainingEnvironmentMap"), key_len=key, value_len=value)
    nodes = [f"train{i}" for i in range(11)]
    config = training_config(env=env)
    return PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=nodes),
        config_map=dict.fromkeys(nodes, config),
        sagemaker_session=shared_session(),
    )


def test_definition_over_the_limit_is_refused_at_build() -> None:
    with pytest.raises(SynthError) as info:
        oversized_template().build("big")
    assert info.value.field == "PipelineDefinition" and "characters" in info.value.message


# ------------------------------------------------------------------- instance count, volume, runtime
def _processing_config(**kwargs: Any) -> Any:
    return optional_module("constructs_lib.config.preprocessing_tabular").TabularPreprocessingConfig(**kwargs)


def _range_cases() -> list[tuple[str, Callable[..., Any], str, int, int, str]]:
    """(id, factory, field, lowest valid, highest valid, definition path of the value)."""
    from constructs_lib.config.training_pytorch import MAX_RUNTIME_SECONDS

    return [
        ("training-volume", training_config, "training_volume_size", shape("VolumeSizeInGB").min or 1,
         limits.max_volume_size_gb(), "ResourceConfig.VolumeSizeInGB"),
        ("training-runtime", training_config, "max_runtime_seconds", shape("MaxRuntimeInSeconds").min or 1,
         MAX_RUNTIME_SECONDS, "StoppingCondition.MaxRuntimeInSeconds"),
        ("processing-count", _processing_config, "processing_instance_count", shape("ProcessingInstanceCount").min or 1,
         maximum("ProcessingInstanceCount"), "ProcessingResources.ClusterConfig.InstanceCount"),
        ("processing-volume", _processing_config, "processing_volume_size", shape("ProcessingVolumeSizeInGB").min or 1,
         maximum("ProcessingVolumeSizeInGB"), "ProcessingResources.ClusterConfig.VolumeSizeInGB"),
        ("processing-runtime", _processing_config, "max_runtime_seconds", shape("ProcessingMaxRuntimeInSeconds").min or 1,
         maximum("ProcessingMaxRuntimeInSeconds"), "StoppingCondition.MaxRuntimeInSeconds"),
    ]  # fmt: skip


def _dig(args: Mapping[str, Any], path: str) -> Any:
    node: Any = args
    for part in path.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize(
    ("make", "field", "low", "high", "path"),
    [c[1:] for c in _range_cases()],
    ids=[c[0] for c in _range_cases()],
)
def test_numeric_range_at_both_boundaries(
    make: Callable[..., Any], field: str, low: int, high: int, path: str
) -> None:
    for valid in (low, high):
        assert _dig(arguments(build(make(**{field: valid}))), path) == valid
    for invalid in (low - 1, high + 1):
        with pytest.raises(ConfigError) as info:
            make(**{field: invalid})
        assert info.value.field and info.value.field.endswith(field)


def test_training_instance_count() -> None:
    count = shape("TrainingInstanceCount")
    # botocore publishes min 0 (warm-pool reuse) and no maximum; a job needs at least one instance
    assert count.max is None
    built = build(training_config(training_instance_count=1))
    assert arguments(built)["ResourceConfig"]["InstanceCount"] == 1
    with pytest.raises(ConfigError) as info:
        training_config(training_instance_count=0)
    assert info.value.field and info.value.field.endswith("training_instance_count")


# ------------------------------------------------------------------------------------------ job names
def test_job_names_are_not_in_the_definition_so_no_prefix_can_overflow() -> None:
    """SageMaker Pipelines generates TrainingJobName/ProcessingJobName itself; the definition carries none,
    so even a 256-character pipeline name with long node names cannot overflow botocore's 63."""
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    data_load = optional_module("constructs_lib.config.data_load")
    preprocessing = optional_module("constructs_lib.config.preprocessing_tabular")
    model = optional_module("constructs_lib.config.model_pytorch")
    assert maximum("TrainingJobName") == maximum("ProcessingJobName") < PIPELINE_NAME_LIMIT
    nodes = ["l" * 50, "p" * 50, "t" * 50, "m" * 50]
    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=nodes, edges=list(itertools.pairwise(nodes))),
        config_map={
            nodes[0]: data_load.DataLoadConfig(),
            nodes[1]: preprocessing.TabularPreprocessingConfig(),
            nodes[2]: training_config(source_dir="./training-code", inference_source_dir="./inference-code"),
            nodes[3]: model.PyTorchModelConfig(framework_version="2.3.0", py_version="py311"),
        },
        sagemaker_session=shared_session(),
    )
    built = template.build("n" * PIPELINE_NAME_LIMIT)
    kinds = {s["Type"] for s in built.definition["Steps"]}
    assert {"Training", "Processing"} <= kinds
    for step in built.definition["Steps"]:
        assert not {"TrainingJobName", "ProcessingJobName"} & set(step["Arguments"]), step["Name"]


# ----------------------------------------------------------------------- construct: tags, description
def _construct_module() -> Any:
    return optional_module("constructs_lib.constructs.pipeline")


def _stack() -> Any:
    import aws_cdk as cdk

    app = cdk.App()
    return cdk.Stack(app, "Limits", env=cdk.Environment(account="123456789012", region=REGION))


#: Tags the constructs always put on the pipeline (constructs-lib:version, config-sha256, code-sha256).
PROVENANCE_TAGS = 3


def _tags_at_limit() -> dict[str, str]:
    """The most user tags a pipeline takes: SageMaker's TagList limit less the provenance tags."""
    count, key, value = maximum("TagList") - PROVENANCE_TAGS, maximum("TagKey"), maximum("TagValue")
    tags = {f"k{i}": "v" for i in range(count - 2)}
    tags["K" * key] = "at the key limit"
    tags["value-at-limit"] = "v" * value
    assert len(tags) == count
    return tags


def test_tags_and_description_at_the_limit_synthesize() -> None:
    pipeline = _construct_module()
    from aws_cdk.assertions import Template

    stack = _stack()
    description = "d" * maximum("PipelineDescription")
    tags = _tags_at_limit()
    pipeline.PyTorchTrainingPipeline(
        stack,
        "P",
        pipeline_name="tags-at-limit",
        config=training_config(),
        tags=tags,
        description=description,
    )
    resources = Template.from_stack(stack).find_resources("AWS::SageMaker::Pipeline")
    (props,) = [r["Properties"] for r in resources.values()]
    assert props["PipelineDescription"] == description
    rendered = {t["Key"]: t["Value"] for t in props["Tags"]}
    assert len(rendered) == maximum("TagList")  # every tag SageMaker takes: the user's and the provenance
    assert {k: v for k, v in rendered.items() if not k.startswith("constructs-lib:")} == tags


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tags": {**_tags_at_limit(), "one": "more"}}, "tags"),
        ({"tags": {"K" * (maximum("TagKey") + 1): "v"}}, "tags"),
        ({"tags": {"k": "v" * (maximum("TagValue") + 1)}}, "tags['k']"),
        ({"tags": {"a*b": "v"}}, "tags"),
        ({"tags": {"aws:owner": "me"}}, "tags"),
        ({"tags": {"": "v"}}, "tags"),
        ({"description": "d" * (maximum("PipelineDescription") + 1)}, "description"),
    ],
    ids=["48-tags", "key-129", "value-257", "key-pattern", "aws-prefix", "empty-key", "description-3073"],
)
def test_tags_and_description_one_past_the_limit(kwargs: dict[str, Any], field: str) -> None:
    pipeline = _construct_module()
    with pytest.raises(ConfigError) as info:
        pipeline.PyTorchTrainingPipeline(
            _stack(), "P", pipeline_name="tags-past-limit", config=training_config(), **kwargs
        )
    assert info.value.field == field
