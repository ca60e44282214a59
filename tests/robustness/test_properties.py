"""Property-based robustness: for *any* input the library either builds a valid object / pipeline or raises
one of its own five error types; never another exception.

Covered: ``PyTorchTrainingConfig`` and the companion step configs (arbitrary dicts of plausible and
implausible values, unknown keys, wrong types), ``ModelHyperparameters`` (arbitrary field lists up to 3,000
names, unicode, duplicates, overlaps), ``PipelineDAG`` (random names and edges, cycles included), the
dependency resolver (random specifications) and whole pipelines built by ``PipelineBuilderTemplate`` from
small random DAGs (acyclic, valid step and pipeline names, canonical JSON round-trip).

Strings are drawn from valid Unicode scalar values; lone surrogates (refused in environment values) are
covered by ``test_errors.py::test_env_value_must_be_valid_unicode``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from constructs_lib import limits
from constructs_lib.errors import ConfigError, ConstructsLibError, DagError, ResolutionError, SpecError
from robustness.helpers import (
    REGION,
    S3_CODE,
    STEP_NAME_RE,
    assert_acyclic,
    canonical,
    hyperparameters_kwargs,
    optional_module,
    outcome,
    shared_session,
    step_graph,
    training_kwargs,
)

# Pure-Python properties: many examples, no deadline (the first call loads botocore's model).
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Properties that build SDK steps (~0.05-0.3 s per step with a shared session): few examples.
SDK = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


@pytest.fixture(autouse=True, scope="module")
def _sdk_imported() -> None:
    """Import the SageMaker SDK before hypothesis draws (specs check property paths with it; importing it
    inside a strategy touches the global random state)."""
    from constructs_lib.sdk_adapter import sdk

    with sdk():  # imports the SDK
        pass


NAN, INF = float("nan"), float("inf")
TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
NAMEISH = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True),
    TEXT,
    st.sampled_from(["", " ", "é", "名前", "a b", "a\tb", "x" * 300]),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.binary(max_size=6),
    st.lists(TEXT, max_size=3),
    st.dictionaries(TEXT, TEXT, max_size=3),
)
S3ISH = st.one_of(
    st.sampled_from(
        [
            "s3://data-bucket/in/",
            "s3://data-bucket",
            "s3://Data_Bucket/x",
            "s3://a/x",
            "s3://b..c/x",
            "s3:/x",
            "http://data-bucket/x",
            "data-bucket/x",
            "",
        ]
    ),
    TEXT.map(lambda t: f"s3://bucket-x/{t}"),
)
ENV = st.dictionaries(
    st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True), NAMEISH),
    st.one_of(TEXT, st.sampled_from(["x" * 512, "x" * 513, "1"])),
    max_size=4,
)


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` five times out of six, else ``invalid`` (so that enough drawn objects build)."""
    return st.integers(0, 5).flatmap(lambda i: invalid if i == 0 else valid)


def config_dicts(
    base: Mapping[str, Any], plausible: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid ``base`` with some fields replaced by plausible or junk values, some removed, and sometimes
    unknown keys added."""
    fields = sorted(set(base) | set(plausible))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = dict(base)
        for name in draw(st.lists(st.sampled_from(fields), max_size=4, unique=True)):
            strategy = plausible.get(name, JUNK)
            data[name] = draw(st.one_of(strategy, JUNK) if draw(st.booleans()) else strategy)
        for name in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
            if draw(st.integers(0, 5)) == 0:
                data.pop(name, None)
        if draw(st.integers(0, 4)) == 0:
            data[draw(NAMEISH.filter(lambda k: k not in fields))] = draw(JUNK)
        return data

    return build()


def check_config_outcome(cls: type[Any], data: dict[str, Any], *, record: bool = True) -> Any:
    """Build ``cls(**data)``; a ConfigError must name a field of the model; a built config must round-trip
    through ``model_dump``/``model_validate`` and JSON unchanged. Returns the config or ``None``."""
    result = outcome(lambda: cls(**data))
    if record:
        event(f"{cls.__name__}: {'built' if not isinstance(result, ConstructsLibError) else 'ConfigError'}")
    if isinstance(result, ConstructsLibError):
        assert isinstance(result, ConfigError), f"{type(result).__name__}: {result}"
        assert result.field and result.field.startswith(cls.__name__), result.field
        return None
    assert isinstance(result, cls)
    assert cls.model_validate(result.model_dump()) == result
    assert cls.model_validate_json(result.model_dump_json()) == result
    return result


# ------------------------------------------------------------------------------- PyTorchTrainingConfig
def _catalogue(scope: str) -> dict[str, tuple[str, ...]]:
    from constructs_lib.sdk_adapter import framework_image_catalogue

    return framework_image_catalogue("pytorch", scope)


_TRAINING_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "training_instance_type": st.one_of(
        st.sampled_from(limits.training_instance_types()), st.sampled_from(["ml.g5.13xlarge", "g5.xlarge"])
    ),
    "training_instance_count": st.integers(-2, 500),
    "training_volume_size": st.integers(-2, 20_000),
    "training_entry_point": st.sampled_from(
        ["train.py", "pkg/train.py", "/abs/train.py", "../train.py", "train.txt", "", " ", "a\\b.py"]
    ),
    "source_dir": st.one_of(
        st.sampled_from([S3_CODE, "s3://bucket-x/scripts/", "http://x/y.tar.gz", "./src", "", "  "]), TEXT
    ),
    "framework_version": st.one_of(st.sampled_from(sorted(_catalogue("training"))), TEXT),
    "py_version": st.sampled_from(["py39", "py310", "py311", "py312", "py2", ""]),
    "hyperparameters": st.one_of(
        st.none(),
        st.just(hyperparameters_kwargs()),
        st.just(hyperparameters_kwargs(id_name="nope")),
        st.dictionaries(TEXT, JUNK, max_size=2),
    ),
    "env": st.one_of(
        ENV,
        st.just({"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:123456789012:repository/dom/repo"}),
        st.just({"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:1234:repository/dom/repo"}),
    ),
    "input_path": st.one_of(st.none(), S3ISH),
    "output_path": st.one_of(st.none(), S3ISH),
    "max_runtime_seconds": st.integers(-1, 3_000_000),
    "distribution": st.sampled_from(["auto", "off", "on", ""]),
    "region": st.one_of(st.none(), st.sampled_from(["us-east-1", "eu-west-1", "mars", "US-EAST-1"])),
}


@FAST
@given(config_dicts(training_kwargs(), _TRAINING_PLAUSIBLE))
@example(training_kwargs(training_instance_typo="ml.m5.xlarge"))
@example({"source_dir": S3_CODE})
def test_training_config_builds_or_raises_config_error(data: dict[str, Any]) -> None:
    from constructs_lib.config.training_pytorch import MAX_RUNTIME_SECONDS, PyTorchTrainingConfig

    cfg = check_config_outcome(PyTorchTrainingConfig, data)
    if cfg is None:
        return
    assert cfg.training_instance_type in limits.training_instance_types()
    assert cfg.training_instance_count >= 1
    assert 1 <= cfg.training_volume_size <= limits.max_volume_size_gb()
    assert 1 <= cfg.max_runtime_seconds <= MAX_RUNTIME_SECONDS
    assert cfg.py_version in _catalogue("training")[cfg.framework_version]
    assert cfg.training_entry_point.endswith(".py") and not cfg.training_entry_point.startswith("/")
    assert (
        cfg.source_dir.endswith(".tar.gz")
        if cfg.source_dir.startswith("s3://")
        else "://" not in cfg.source_dir
    )
    key = limits.shape("TrainingEnvironmentKey")
    assert len(cfg.env) <= (limits.shape("TrainingEnvironmentMap").max or 100)
    assert all(key.fullmatch(k) and len(v) <= 512 for k, v in cfg.env.items())
    assert json.loads(cfg.fingerprint()) == json.loads(cfg.model_dump_json())


# --------------------------------------------------------------------------------- companion configs
def _companion_cases() -> list[tuple[str, str, dict[str, Any], dict[str, st.SearchStrategy[Any]]]]:
    processing: dict[str, st.SearchStrategy[Any]] = {
        "processing_instance_type": st.one_of(
            st.sampled_from(limits.processing_instance_types()), st.just("ml.m5.huge")
        ),
        "processing_instance_count": st.integers(-1, 120),
        "processing_volume_size": st.integers(-1, 20_000),
        "max_runtime_seconds": st.integers(-1, 1_000_000),
        "framework_version": st.sampled_from(["1.2-1", "0.23-1", "1.0-1", "9.9", ""]),
        "processing_entry_point": st.sampled_from(["", "preprocess.py", "load.py", "run x.py", "/a.py"]),
        "source_dir": st.one_of(st.none(), st.sampled_from([S3_CODE, "s3://bucket-x/src/", "./src", " "])),
        "env": ENV,
        "output_path": st.one_of(st.none(), S3ISH),
        "region": st.one_of(st.none(), st.sampled_from(["us-east-1", "nowhere"])),
    }
    preprocessing = {
        **processing,
        "train_ratio": st.one_of(st.floats(-1, 2), st.just(float("nan"))),
        "val_ratio": st.sampled_from([0.15, 0.1, 0.0, 1.0, float("nan")]),
        "test_ratio": st.sampled_from([0.15, 0.1, 0.2]),
        "random_seed": st.integers(-1, 2**33),
        "label_name": st.one_of(st.none(), NAMEISH),
        "raw_data_path": st.one_of(st.none(), S3ISH),
    }
    data_load = {
        **processing,
        "raw_data_s3_uri": st.one_of(st.none(), S3ISH),
        "parameter_name": NAMEISH,
        "required_columns": st.one_of(
            st.lists(NAMEISH, max_size=4).map(tuple),
            st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=40, max_size=60).map(tuple),
        ),
        "min_rows": st.integers(-1, 10**6),
    }
    inference = _catalogue("inference")
    model = {
        "framework_version": st.one_of(st.sampled_from(sorted(inference)), TEXT),
        "py_version": st.sampled_from(["py39", "py310", "py311", "py312", ""]),
        "inference_instance_type": st.one_of(
            st.sampled_from(limits.hosting_instance_types()), st.just("ml.m5.huge")
        ),
        "entry_point": st.sampled_from(["inference.py", "serve.py", "/x.py", ""]),
        "source_dir": st.one_of(st.none(), st.sampled_from(["./src", S3_CODE, " "])),
        "env": st.one_of(ENV, st.just({"SAGEMAKER_PROGRAM": "x"})),
        "model_data": st.one_of(st.none(), S3ISH, st.just("s3://bucket-x/model.tar.gz")),
        "output_path": st.one_of(st.none(), S3ISH),
        "region": st.one_of(st.none(), st.sampled_from(["us-east-1", "nowhere"])),
    }
    return [
        ("constructs_lib.config.preprocessing_tabular", "TabularPreprocessingConfig", {}, preprocessing),
        ("constructs_lib.config.data_load", "DataLoadConfig", {}, data_load),
        (
            "constructs_lib.config.model_pytorch",
            "PyTorchModelConfig",
            {"framework_version": "2.3.0", "py_version": "py311"},
            model,
        ),
    ]


@pytest.mark.parametrize(
    ("module", "cls_name", "base", "plausible"), _companion_cases(), ids=[c[1] for c in _companion_cases()]
)
def test_companion_config_builds_or_raises_config_error(
    module: str, cls_name: str, base: dict[str, Any], plausible: dict[str, st.SearchStrategy[Any]]
) -> None:
    cls = getattr(optional_module(module), cls_name)
    assert check_config_outcome(cls, dict(base), record=False) is not None  # the base itself is valid

    @FAST
    @given(config_dicts(base, plausible))
    def prop(data: dict[str, Any]) -> None:
        check_config_outcome(cls, data)

    prop()


# -------------------------------------------------------------------------------- ModelHyperparameters
#: Ways to break a valid ModelHyperparameters; each one alone must give a ConfigError.
HP_FAULTS = (
    "duplicate",
    "overlap",
    "feature_not_in_full",
    "id_is_feature",
    "id_not_in_full",
    "id_is_label",
    "blank_name",
    "one_column",
    "no_features",
    "learning_rate",
    "batch_size",
    "hidden_dims",
    "dropout",
)


@st.composite
def field_lists(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    """(ModelHyperparameters kwargs, the faults injected). Tables of 3 to 3,000 columns with ASCII, unicode
    or arbitrary names; with no fault the kwargs are valid by construction."""
    faults = frozenset(draw(st.sets(st.sampled_from(HP_FAULTS), max_size=2)) if draw(st.booleans()) else ())
    size = draw(st.sampled_from([3, 4, 7, 12, 400, 3_000]))
    style = draw(st.sampled_from(["ascii", "unicode", "arbitrary"]))
    if style == "arbitrary" and size <= 12:
        full = draw(st.lists(TEXT.filter(str.strip), min_size=size, max_size=size, unique=True))
    else:
        stem = "feature_" if style == "ascii" else "特徴_é_\u00e9_"
        full = [f"{stem}{i}" for i in range(size)]
    id_name, label_name, *rest = full
    split = draw(st.integers(0, len(rest)))
    tab, cat = rest[:split], rest[split:]
    lr, batch, hidden, dropout = (
        1e-3,
        draw(st.integers(1, 10**6)),
        [64, 32],
        draw(st.sampled_from([0.0, 0.5])),
    )
    if "duplicate" in faults:
        full = [*full, draw(st.sampled_from(full))]
    if "overlap" in faults:
        name = draw(st.sampled_from(rest))
        tab, cat = [*{*tab, name}], [*{*cat, name}]
    if "feature_not_in_full" in faults:
        tab = [*tab, draw(TEXT.filter(lambda t: t not in full))]
    if "id_is_feature" in faults:
        cat = [*cat, id_name]
    if "id_not_in_full" in faults:
        id_name = draw(TEXT.filter(lambda t: t not in full))
    if "id_is_label" in faults:
        label_name = id_name
    if "blank_name" in faults:
        full = [*full, draw(st.sampled_from(["", " ", "\t"]))]
    if "one_column" in faults:
        full = full[:1]
    if "no_features" in faults:
        tab, cat = [], []
    if "learning_rate" in faults:
        lr = draw(st.sampled_from([0.0, -1.0, NAN, INF]))
    if "batch_size" in faults:
        batch = draw(st.integers(-(10**6), 0))
    if "hidden_dims" in faults:
        hidden = draw(st.sampled_from([[], [0], [8, -1]]))
    if "dropout" in faults:
        dropout = draw(st.sampled_from([1.0, -0.1, NAN]))
    kwargs = {
        "id_name": id_name,
        "label_name": label_name,
        "full_field_list": full,
        "tab_field_list": tab,
        "cat_field_list": cat,
        "learning_rate": lr,
        "batch_size": batch,
        "hidden_dims": hidden,
        "dropout": dropout,
    }
    return kwargs, faults


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(field_lists())
@example(
    ({**hyperparameters_kwargs(), "full_field_list": ["id", "label", *[f"f{i}" for i in range(2_998)]],
      "tab_field_list": [f"f{i}" for i in range(2_998)], "cat_field_list": []}, frozenset()),
)  # fmt: skip
def test_hyperparameters_build_or_raise_config_error(case: tuple[dict[str, Any], frozenset[str]]) -> None:
    from constructs_lib import PyTorchTrainingStepBuilder
    from constructs_lib import TabularClassifierHyperparameters as ModelHyperparameters  # has the knobs
    from constructs_lib.config.training_pytorch import PyTorchTrainingConfig

    data, faults = case
    hp = check_config_outcome(ModelHyperparameters, data)
    assert (hp is None) == bool(faults), f"faults {sorted(faults)} but got {hp!r}"[:300]
    if hp is None:
        return
    full = hp.full_field_list
    assert len(set(full)) == len(full)
    assert {hp.id_name, hp.label_name} <= set(full) and hp.id_name != hp.label_name
    assert set(hp.tab_field_list) <= set(full) and set(hp.cat_field_list) <= set(full)
    assert not set(hp.tab_field_list) & set(hp.cat_field_list)
    assert not {hp.id_name, hp.label_name} & set(hp.tab_field_list + hp.cat_field_list)
    # what SageMaker stores reads back to the same object
    assert ModelHyperparameters.from_sagemaker(hp.to_sagemaker()) == hp

    value_limit = limits.shape("HyperParameterValue").max
    assert value_limit is not None
    too_long = sorted(k for k, v in hp.to_sagemaker().items() if len(v) > value_limit)
    event(f"values over {value_limit} chars: {len(too_long)}")
    for source_dir in ("./src", S3_CODE):
        cfg = PyTorchTrainingConfig(**training_kwargs(source_dir=source_dir, hyperparameters=hp))
        builder = PyTorchTrainingStepBuilder(cfg, region=REGION, step_name="train")
        split = outcome(builder.hyperparameters_split)
        if isinstance(split, ConstructsLibError):
            # only s3 code cannot carry a too-long value, and the error names the first such field
            assert source_dir == S3_CODE and too_long, split
            assert isinstance(split, ConfigError) and split.field == f"hyperparameters.{too_long[0]}"
            assert split.step == "train"
            continue
        inline, payload = split  # type: ignore[misc]
        assert all(len(json.dumps(v)) <= value_limit for v in inline.values())
        assert sorted(set(hp.to_values()) - set(inline)) == too_long  # nothing silently dropped or cut
        if source_dir == S3_CODE:
            assert payload is None and not too_long
        elif too_long:
            assert payload == hp.to_values()  # the full set ships beside the code
        else:
            assert payload is None  # all inline: the code package does not depend on hyperparameters


# ------------------------------------------------------------------------------------------ PipelineDAG
NODE_NAMES = st.one_of(
    st.from_regex(STEP_NAME_RE, fullmatch=True).filter(lambda s: len(s) <= 64),
    st.sampled_from(["a", "b", "c", "d", "e", "x" * 64, "x" * 65, "", "a b", "é", "a.b", "a\n"]),
    TEXT,
)


@FAST
@given(st.data())
def test_dag_matches_a_reference_model(data: st.DataObject) -> None:
    from constructs_lib import PipelineDAG

    dag = PipelineDAG()
    nodes: list[str] = []
    edges: set[tuple[str, str]] = set()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            cur = todo.pop()
            if cur == goal:
                return True
            for s, d in edges:
                if s == cur and d not in seen:
                    seen.add(d)
                    todo.append(d)
        return False

    for _ in range(data.draw(st.integers(0, 25), label="operations")):
        if not nodes or data.draw(st.integers(0, 2)) == 0:
            name = data.draw(st.one_of(NODE_NAMES, st.sampled_from(nodes)) if nodes else NODE_NAMES)
            ok = bool(STEP_NAME_RE.fullmatch(name)) and name not in nodes
            result = outcome(lambda n=name: dag.add_node(n))
            if ok:
                assert result is None
                nodes.append(name)
            else:
                assert isinstance(result, DagError) and result.value == name
        else:
            ends = st.one_of(st.sampled_from(nodes), NODE_NAMES)
            src, dst = data.draw(ends), data.draw(ends)
            ok = src in nodes and dst in nodes and (src, dst) not in edges and not reaches(dst, src)
            result = outcome(lambda s=src, d=dst: dag.add_edge(s, d))
            if ok:
                assert result is None
                edges.add((src, dst))
            else:
                assert isinstance(result, DagError) and result.field == "edge"
                if src in nodes and dst in nodes and (src, dst) not in edges:
                    assert "cycle" in result.message and src in result.message and dst in result.message

    assert dag.nodes == nodes and set(dag.edges) == edges
    order = dag.topological_order()
    assert sorted(order) == sorted(nodes)
    position = {n: i for i, n in enumerate(order)}
    assert all(position[s] < position[d] for s, d in edges)
    assert PipelineDAG(nodes=nodes, edges=dag.edges).topological_order() == order  # deterministic


# ------------------------------------------------------------------------------------------- resolver
LOGICAL = st.sampled_from(
    ["raw_data", "processed_data", "input_path", "model_artifacts", "model_data", "output_path", "data", "x"]
)
STEP_TYPES = ["DataLoadStep", "TabularPreprocessingStep", "PyTorchTrainingStep", "PyTorchModelStep", "Other"]


def _valid_path(kind: Any, name: str) -> st.SearchStrategy[str]:
    from constructs_lib.specs.base import SageMakerStepKind

    paths = {
        SageMakerStepKind.TRAINING: [
            "properties.ModelArtifacts.S3ModelArtifacts",
            "properties.OutputDataConfig.S3OutputPath",
        ],
        SageMakerStepKind.PROCESSING: [f"properties.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"],
        SageMakerStepKind.MODEL: ["properties.ModelName"],
        SageMakerStepKind.REGISTER_MODEL: ["properties.ModelPackageArn"],
    }[kind]
    return st.sampled_from(paths)


#: Ways to break a valid StepSpecification; each one alone must give a SpecError.
SPEC_FAULTS = ("alias_clash", "broken_path", "wrong_node_type", "duplicate_name", "bad_name")


@st.composite
def specs(draw: st.DrawFn, *, producer: bool) -> tuple[Any, frozenset[str]]:
    """(a random StepSpecification or the SpecError it raised, the faults injected)."""
    from constructs_lib.specs.base import (
        DependencySpec,
        DependencyType,
        NodeType,
        OutputSpec,
        SageMakerStepKind,
        StepSpecification,
    )

    faults = frozenset(
        draw(st.sets(st.sampled_from(SPEC_FAULTS), max_size=1)) if draw(st.integers(0, 3)) == 0 else ()
    )
    # a condition has no outputs (its successors run in its branch): it is no producer of anything
    kind = draw(st.sampled_from([k for k in SageMakerStepKind if k is not SageMakerStepKind.CONDITION]))
    types = st.sampled_from(list(DependencyType))
    out_names = draw(st.lists(LOGICAL, min_size=1 if producer else 0, max_size=3, unique=True))
    dep_names = draw(st.lists(LOGICAL, min_size=0 if producer else 1, max_size=3, unique=True))
    if "duplicate_name" in faults:
        (out_names if out_names else dep_names).append((out_names or dep_names)[0])
    if "bad_name" in faults:
        dep_names.append(draw(st.sampled_from(["Input", "1x", "", "a-b", "é"])))
    free = [n for n in ("data_in", "model_out", "artifacts", "table", "y") if n not in out_names]
    outputs = []
    for i, name in enumerate(out_names):
        aliases = draw(st.lists(st.sampled_from(free), max_size=2, unique=True)) if free else []
        free = [n for n in free if n not in aliases]
        if "alias_clash" in faults and i == 0:
            aliases = [*aliases, name]
        path = draw(_valid_path(kind, name))
        if "broken_path" in faults and i == 0:
            path = draw(
                st.sampled_from(["properties.TrainingJobOutput.S3Output", "properties.", "ModelName"])
            )
        outputs.append(
            OutputSpec(
                logical_name=name,
                output_type=draw(types),
                property_path=path,
                aliases=tuple(aliases),
                data_type=draw(st.sampled_from(["S3Uri", "String"])),
            )
        )
    dependencies = [
        DependencySpec(
            logical_name=name,
            dependency_type=draw(types),
            required=draw(st.booleans()),
            compatible_sources=tuple(draw(st.lists(st.sampled_from(STEP_TYPES), max_size=2, unique=True))),
            semantic_keywords=tuple(
                draw(st.lists(st.sampled_from(["data", "model", "raw", "x"]), max_size=2))
            ),
            data_type=draw(st.sampled_from(["S3Uri", "String"])),
        )
        for name in dep_names
    ]
    if outputs and dependencies:
        node_type = NodeType.INTERNAL
    else:
        node_type = NodeType.SOURCE if outputs else NodeType.SINK
    if "wrong_node_type" in faults:
        # a SINK may have outputs (they just feed nobody), so INTERNAL -> SINK is no fault
        wrong = (
            [NodeType.SOURCE]
            if node_type is NodeType.INTERNAL
            else [t for t in NodeType if t is not node_type]
        )
        node_type = draw(st.sampled_from(wrong))
    if "broken_path" in faults and not outputs:
        faults = faults - {"broken_path"}
    if "alias_clash" in faults and not outputs:
        faults = faults - {"alias_clash"}
    spec = outcome(
        lambda: StepSpecification(
            step_type=draw(st.sampled_from(STEP_TYPES)),
            node_type=node_type,
            sagemaker_step_kind=kind,
            dependencies=tuple(dependencies),
            outputs=tuple(outputs),
        )
    )
    return spec, faults


@settings(max_examples=40, deadline=None)
@given(specs(producer=True))
def test_specification_is_built_exactly_when_nothing_is_wrong(case: tuple[Any, frozenset[str]]) -> None:
    spec, faults = case
    if faults:
        assert isinstance(spec, SpecError), f"faults {sorted(faults)} were accepted"
        assert spec.step and "specification" in spec.step
    else:
        assert not isinstance(spec, ConstructsLibError), spec


def _key(resolutions: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.dependency, r.producer, r.output, r.score, r.tier) for r in resolutions]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs(producer=False).filter(lambda c: not c[1]).map(lambda c: c[0]),
    st.lists(specs(producer=True).filter(lambda c: not c[1]).map(lambda c: c[0]), max_size=3),
    st.data(),
)
def test_resolver_wires_each_dependency_to_one_typed_output_or_explains(
    consumer: Any, producer_specs: list[Any], data: st.DataObject
) -> None:
    from constructs_lib.resolver import DependencyResolver, Producer

    producers = [Producer(f"step{i}", spec) for i, spec in enumerate(producer_specs)]
    dep_names = [d.logical_name for d in consumer.dependencies]
    fallbacks = data.draw(st.lists(st.sampled_from(dep_names), max_size=2, unique=True))
    resolver = DependencyResolver()
    result = outcome(lambda: resolver.resolve("consumer", consumer, producers, fallbacks=fallbacks))
    reverse = outcome(lambda: resolver.resolve("consumer", consumer, producers[::-1], fallbacks=fallbacks))
    event(f"resolver: {type(result).__name__ if isinstance(result, ConstructsLibError) else len(result)}")
    if isinstance(result, ConstructsLibError):
        assert isinstance(result, ResolutionError) and result.step == "consumer"
        assert result.field in dep_names
        assert "candidates" in result.message or "ambiguous" in result.message
        assert type(reverse) is type(result)  # producer order never decides
        return
    assert isinstance(result, list) and isinstance(reverse, list)
    assert _key(result) == _key(reverse)
    by_name = {p.name: p for p in producers}
    wired = [r.dependency for r in result]
    assert len(wired) == len(set(wired)) and set(wired) <= set(dep_names)
    for r in result:
        dep = consumer.dependency(r.dependency)
        out = by_name[r.producer].spec.output(r.output)
        assert out.output_type == dep.dependency_type  # never wires across artefact kinds
        assert r.property_path == out.property_path
        same_tier = [c for c in r.candidates if c.tier == r.tier and c.score > 0]
        assert [c.score for c in same_tier].count(r.score) == 1 and r.score == max(c.score for c in same_tier)
    for dep in consumer.dependencies:
        if dep.required and dep.logical_name not in fallbacks:
            assert dep.logical_name in wired


# ------------------------------------------------------------------------------------ whole pipelines
_MODEL_SUFFIXES = ("-CreateModel",)
SEED_CHAIN = ["DataLoadStep", "TabularPreprocessingStep", "PyTorchTrainingStep", "PyTorchModelStep"]


def _config_factories() -> dict[str, Callable[[st.DrawFn, int], Any]]:
    data_load = optional_module("constructs_lib.config.data_load")
    preprocessing = optional_module("constructs_lib.config.preprocessing_tabular")
    model = optional_module("constructs_lib.config.model_pytorch")
    from constructs_lib.config.training_pytorch import PyTorchTrainingConfig

    def load(draw: st.DrawFn, i: int) -> Any:
        # the default parameter name on two nodes must be refused (ConfigError), a distinct one builds
        return data_load.DataLoadConfig(
            parameter_name=draw(st.sampled_from(["RawDataS3Uri", f"RawData{i}"])),
            required_columns=tuple(draw(st.lists(LOGICAL, max_size=2, unique=True))),
        )

    def prep(draw: st.DrawFn, i: int) -> Any:
        ratios = draw(st.sampled_from([(0.7, 0.15, 0.15), (0.8, 0.1, 0.1)]))
        return preprocessing.TabularPreprocessingConfig(
            train_ratio=ratios[0], val_ratio=ratios[1], test_ratio=ratios[2],
            label_name=draw(st.sampled_from([None, "label"])),
        )  # fmt: skip

    def train(draw: st.DrawFn, i: int) -> Any:
        return PyTorchTrainingConfig(
            **training_kwargs(
                training_instance_type=draw(
                    st.sampled_from(["ml.m5.xlarge", "ml.g5.12xlarge", "ml.c5.2xlarge"])
                ),
                training_instance_count=draw(st.integers(1, 3)),
                input_path=draw(st.sampled_from([None, "s3://data-bucket/ready/"])),
                hyperparameters=draw(st.sampled_from([None, hyperparameters_kwargs()])),
                env=draw(st.sampled_from([{}, {"A": "1", "B_2": "x y"}])),
                # local code may pack inference code (read when packed, so the directory need not exist
                # here); s3 code cannot, and then a model step fed by it must be refused
                **draw(
                    st.sampled_from(
                        [
                            {"source_dir": S3_CODE},
                            {"source_dir": "./training-code"},
                            {"source_dir": "./training-code", "inference_source_dir": "./inference-code"},
                        ]
                    )
                ),
            )
        )

    def serve(draw: st.DrawFn, i: int) -> Any:
        return model.PyTorchModelConfig(framework_version="2.3.0", py_version="py311")

    return {SEED_CHAIN[0]: load, SEED_CHAIN[1]: prep, SEED_CHAIN[2]: train, SEED_CHAIN[3]: serve}


PIPELINE_NAMES = st.one_of(
    st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,20}", fullmatch=True),
    st.sampled_from(["p", "a" * 256, "a" * 257, "my_pipeline", "-p", "p-", ""]),
)
NODE_IDS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True)


@st.composite
def random_pipelines(draw: st.DrawFn, *, resolvable: bool) -> tuple[Any, list[str], str]:
    """(template, the DAG's nodes, pipeline name). ``resolvable``: the nodes form one contiguous slice of
    the seed chain (data load -> preprocessing -> training -> model), so every edge must resolve;
    otherwise: 1-3 nodes of random step types and random forward edges (so no cycles)."""
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    factories = _config_factories()
    if resolvable:
        start = draw(st.integers(0, 3))
        types = SEED_CHAIN[start : draw(st.integers(start + 1, 4))]
        edges = [(i, i + 1) for i in range(len(types) - 1)]
    else:
        types = draw(st.lists(st.sampled_from(SEED_CHAIN), min_size=1, max_size=3))
        pairs = [(i, j) for i in range(len(types)) for j in range(i + 1, len(types))]
        edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    names = draw(st.lists(NODE_IDS, min_size=len(types), max_size=len(types), unique=True))
    dag = PipelineDAG(nodes=names, edges=[(names[i], names[j]) for i, j in edges])
    configs = {names[i]: factories[t](draw, i) for i, t in enumerate(types)}
    template = PipelineBuilderTemplate(dag=dag, config_map=configs, sagemaker_session=shared_session())
    name = draw(
        st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,20}", fullmatch=True) if resolvable else PIPELINE_NAMES
    )
    return template, names, name


def check_built(template: Any, built: Any, name: str) -> None:
    """The invariants of every pipeline the library builds."""
    definition = json.loads(built.definition_json)
    assert canonical(definition) == built.definition_json  # canonical JSON round-trips unchanged
    assert definition == built.definition
    shape = limits.shape("PipelineName")
    assert (
        built.name == name == built.pipeline.name
        and len(name) <= (shape.max or 256)
        and shape.fullmatch(name)
    )
    steps = [s["Name"] for s in definition["Steps"]]
    assert len(steps) == len(set(steps))
    assert all(STEP_NAME_RE.fullmatch(s) for s in steps), steps
    graph = step_graph(definition)
    assert_acyclic(graph)
    params = [p["Name"] for p in definition["Parameters"]]
    assert len(params) == len(set(params))

    def steps_of(node: str) -> set[str]:
        return {s for s in steps if s == node or (s.startswith(node) and s[len(node) :] in _MODEL_SUFFIXES)}

    for node in template.dag.nodes:
        assert steps_of(node), f"node {node} has no step in the definition"
    for src, dst in template.dag.edges:
        assert any(graph[d] & steps_of(src) for d in steps_of(dst)), (
            f"edge {src}->{dst} is not in the definition"
        )
    for step in definition["Steps"]:
        assert not {"TrainingJobName", "ProcessingJobName"} & set(step.get("Arguments", {}))


@SDK
@given(random_pipelines(resolvable=False))
def test_random_pipeline_builds_or_raises_library_error(case: tuple[Any, list[str], str]) -> None:
    template, _, name = case
    built = outcome(lambda: template.build(name))
    event(f"pipeline: {type(built).__name__}")
    if isinstance(built, ConstructsLibError):
        assert isinstance(built, ConfigError | ResolutionError), f"{type(built).__name__}: {built}"
        return
    check_built(template, built, name)


@settings(SDK, max_examples=6)
@given(random_pipelines(resolvable=True))
def test_seed_shaped_pipelines_always_build(case: tuple[Any, list[str], str]) -> None:
    template, nodes, name = case
    types = [template.step_types[n] for n in nodes]
    if "PyTorchModelStep" in types and "PyTorchTrainingStep" in types:
        train = template.config_map[nodes[types.index("PyTorchTrainingStep")]]
        if train.inference_code is None:
            # a model fed by a training step that packs no handler: refused, naming both steps
            with pytest.raises(ConfigError, match="packs no inference code") as info:
                template.build(name)
            assert info.value.step == nodes[types.index("PyTorchModelStep")]
            return
    built = template.build(name)
    check_built(template, built, name)
    assert len(built.resolutions) == len(template.dag.edges)  # every edge wired one dependency
    assert template.build(name).definition_json == built.definition_json  # deterministic
