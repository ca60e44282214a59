"""The bad inputs the README's table documents, defined once: each case's README description, a zero-argument
callable that triggers it, the error type it must raise and the fragments its message must name.

``tests/robustness/test_readme_table.py`` checks that the README table (between ``<!-- bad-inputs:start -->``
and ``<!-- bad-inputs:end -->``) lists exactly these cases and that each really behaves so. A case whose
``error`` is ``None`` must *not* raise; its callable returns a text that must contain the fragments.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_lib.errors import ConfigError, ConstructsLibError, DagError, ResolutionError, SynthError
from robustness.helpers import REGION, S3_CODE, hyperparameters_kwargs, training_config


@dataclass(frozen=True)
class Case:
    """One row of the README table."""

    id: str
    description: str
    trigger: Callable[[], object]
    error: type[ConstructsLibError] | None
    fragments: tuple[str, ...]


# ------------------------------------------------------------------------------------------- helpers
def _template(nodes: list[str], edges: list[tuple[str, str]], configs: dict[str, Any], **kwargs: Any) -> Any:
    from constructs_lib import PipelineBuilderTemplate, PipelineDAG

    return PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=nodes, edges=edges), config_map=configs, region=REGION, **kwargs
    )


def _preprocessing() -> Any:
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig

    return TabularPreprocessingConfig()


def _data_load() -> Any:
    from constructs_lib.config.data_load import DataLoadConfig

    return DataLoadConfig()


def _wide_hyperparameters() -> Any:
    from constructs_lib import ModelHyperparameters

    features = [f"feature_{i}" for i in range(3_000)]
    return ModelHyperparameters(
        **hyperparameters_kwargs(
            full_field_list=["id", "label", *features], tab_field_list=features, cat_field_list=[]
        )
    )


def _wide_s3() -> object:
    from constructs_lib import PipelineBuilderTemplate

    config = training_config(hyperparameters=_wide_hyperparameters(), source_dir=S3_CODE)
    return PipelineBuilderTemplate.single_step(config, node="train", region=REGION).build("wide")


def _wide_local() -> str:
    import json

    from constructs_lib import PipelineBuilderTemplate
    from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE

    config = training_config(hyperparameters=_wide_hyperparameters(), source_dir="./training-code")
    built = PipelineBuilderTemplate.single_step(config, node="train", region=REGION).build("wide")
    inline = built.definition["Steps"][0]["Arguments"]["HyperParameters"]
    (package,) = built.code_packages
    shipped = json.loads(package.extra_files[HYPERPARAMETERS_FILE])
    assert "full_field_list" not in inline and len(shipped["full_field_list"]) == 3_002
    return f"built; {HYPERPARAMETERS_FILE} ships beside the code with all {len(shipped)} hyperparameters"


def _too_many_env() -> object:
    return training_config(env={f"VAR_{i}": "1" for i in range(101)})


def _big_definition() -> object:
    key, value = 512, 512
    env = {f"K{i:0{key - 1}d}": "v" * value for i in range(100)}
    nodes = [f"train{i}" for i in range(11)]
    return _template(nodes, [], dict.fromkeys(nodes, training_config(env=env))).build("big")


def _stack(*, concrete: bool = True) -> Any:
    import aws_cdk as cdk

    env = cdk.Environment(account="123456789012", region=REGION) if concrete else None
    return cdk.Stack(cdk.App(), "Readme", env=env)


def _construct_with_source(layout: str) -> object:
    """``PyTorchTrainingPipeline`` over a throw-away source directory with the given defect."""
    from constructs_lib.constructs import PyTorchTrainingPipeline

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        (src / "train.py").write_text("print('train')\n")
        secret = root / "home" / ".aws" / "credentials"
        secret.parent.mkdir(parents=True)
        secret.write_text("[default]\n")
        entry, source = "train.py", src
        if layout == "symlink":
            (src / "creds").symlink_to(secret)
        elif layout == "missing-dir":
            source = root / "no-such-dir"
        elif layout == "missing-entry-point":
            entry = "missing.py"
        config = training_config(source_dir=str(source), training_entry_point=entry)
        return PyTorchTrainingPipeline(_stack(), "Pipeline", pipeline_name="readme", config=config)


def _env_agnostic() -> object:
    from constructs_lib.constructs import PyTorchTrainingPipeline

    return PyTorchTrainingPipeline(
        _stack(concrete=False), "Pipeline", pipeline_name="readme", config=training_config()
    )


def _dag(nodes: list[str], edges: list[tuple[str, str]]) -> object:
    from constructs_lib import PipelineDAG

    return PipelineDAG(nodes=nodes, edges=edges)


def _duplicate_node() -> object:
    from constructs_lib import PipelineDAG

    dag = PipelineDAG(nodes=["train"])
    dag.add_node("train")
    return dag


def _retry(**kwargs: object) -> object:
    from constructs_lib.config.job import RetryPolicy

    return RetryPolicy(**kwargs)  # type: ignore[arg-type]


def _network(**props: object) -> object:
    from aws_cdk import aws_ec2 as ec2

    from constructs_lib.constructs import SageMakerPipeline
    from constructs_lib.examples import seed_dag_template

    stack = _stack()
    if props.pop("subnet", False):
        props["subnets"] = [ec2.Subnet.from_subnet_id(stack, "Subnet", "subnet-0123")]
    return SageMakerPipeline(
        stack, "Pipeline", template=seed_dag_template(REGION), pipeline_name="readme", **props
    )


def _isolated_with_requirements() -> object:
    from constructs_lib import PipelineBuilderTemplate
    from constructs_lib.examples import REFERENCE_TRAINING_DIR

    # the reference code ships a requirements.txt (pyarrow)
    config = training_config(enable_network_isolation=True, source_dir=str(REFERENCE_TRAINING_DIR))
    return PipelineBuilderTemplate.single_step(config, region=REGION).build("readme")


# --------------------------------------------------------------------------------------------- cases
def _model_without_handler() -> object:
    from constructs_lib.config.model_pytorch import PyTorchModelConfig

    # training code of its own (an s3:// tarball) and no inference_source_dir: nothing puts a handler in code/
    return _template(
        ["train", "model"], [("train", "model")], {"train": training_config(), "model": PyTorchModelConfig()}
    ).build("p")


def _gate_on_unknown_metric() -> object:
    from constructs_lib.config.quality_gate import ModelQualityGateConfig
    from constructs_lib.examples import LIFECYCLE_EDGES, lifecycle_config_map

    configs = lifecycle_config_map() | {"quality_gate": ModelQualityGateConfig(metric="rmse", threshold=0.5)}
    nodes = list(dict.fromkeys(n for edge in LIFECYCLE_EDGES for n in edge))
    return _template(nodes, list(LIFECYCLE_EDGES), configs).build("p")


CASES: tuple[Case, ...] = (
    Case(
        "field-typo",
        "Typo in a field name: `PyTorchTrainingConfig(training_instance_typo=...)`",
        lambda: training_config(training_instance_typo="ml.m5.xlarge"),
        ConfigError,
        (
            "training_instance_typo",
            "unknown field",
            "did you mean 'training_instance_type'?",
            "allowed fields of PyTorchTrainingConfig",
        ),
    ),
    Case(
        "instance-type",
        "Instance type that does not exist: `training_instance_type='ml.g5.13xlarge'`",
        lambda: training_config(training_instance_type="ml.g5.13xlarge"),
        ConfigError,
        ("training_instance_type", "ml.g5.13xlarge", "did you mean", "ml.g5.12xlarge"),
    ),
    Case(
        "framework-py-mismatch",
        "Framework/Python mismatch: `framework_version='1.13.1', py_version='py310'`",
        lambda: training_config(framework_version="1.13.1", py_version="py310"),
        ConfigError,
        ("py_version", "py310", "allowed py versions for 1.13.1: py39"),
    ),
    Case(
        "env-name",
        "Bad environment variable name: `env={'1A': 'x'}`",
        lambda: training_config(env={"1A": "x"}),
        ConfigError,
        ("env", "'1A'", "invalid environment variable name", "[a-zA-Z_][a-zA-Z0-9_]*"),
    ),
    Case(
        "env-count",
        "Too many environment variables: 101 entries in `env`",
        _too_many_env,
        ConfigError,
        ("env", "too many environment variables: 101", "at most 100"),
    ),
    Case(
        "ca-arn",
        "Malformed `CA_REPOSITORY_ARN` in `env`",
        lambda: training_config(env={"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:1234:repo/x"}),
        ConfigError,
        ("CA_REPOSITORY_ARN", "not a CodeArtifact repository ARN", "repository/<domain>/<repository>"),
    ),
    Case(
        "s3-source-not-tarball",
        "S3 `source_dir` that is not a `.tar.gz`: `s3://my-bucket/scripts/`",
        lambda: training_config(source_dir="s3://my-bucket/scripts/"),
        ConfigError,
        ("source_dir", "s3://my-bucket/scripts/", "must end with '.tar.gz'"),
    ),
    Case(
        "id-not-in-fields",
        "`id_name` not in `full_field_list`",
        lambda: training_config(hyperparameters=hyperparameters_kwargs(id_name="customer_id")),
        ConfigError,
        ("id_name", "customer_id", "must be one of full_field_list"),
    ),
    Case(
        "tab-cat-overlap",
        "A column in both `tab_field_list` and `cat_field_list`",
        lambda: training_config(hyperparameters=hyperparameters_kwargs(cat_field_list=["f1", "f2"])),
        ConfigError,
        ("cat_field_list", "both numeric and categorical", "f1"),
    ),
    Case(
        "wide-s3",
        "3,000 feature names with an `s3://…tar.gz` `source_dir` (list too long for a hyperparameter)",
        _wide_s3,
        ConfigError,
        (
            "hyperparameters.full_field_list",
            "characters once encoded",
            "SageMaker allows 2500",
            "local source_dir",
        ),
    ),
    Case(
        "wide-local",
        "3,000 feature names with a local `source_dir`",
        _wide_local,
        None,
        ("built", "constructs_lib_hyperparameters.json ships beside the code"),
    ),
    Case(
        "dag-cycle",
        "DAG cycle: edges `a -> b` and `b -> a`",
        lambda: _dag(["a", "b"], [("a", "b"), ("b", "a")]),
        DagError,
        ("edge would create a cycle", "a -> b -> a"),
    ),
    Case(
        "edge-unknown-node",
        "Edge to a node that was never added",
        lambda: _dag(["train"], [("train", "deploy")]),
        DagError,
        ("edge target is not a node", "deploy", "add_node('deploy') first"),
    ),
    Case(
        "duplicate-node",
        "The same node added twice",
        _duplicate_node,
        DagError,
        ("duplicate node", "'train'"),
    ),
    Case(
        "ambiguous-dependency",
        "Ambiguous dependency: two preprocessing steps feed one training step",
        lambda: _template(
            ["prep_a", "prep_b", "train"],
            [("prep_a", "train"), ("prep_b", "train")],
            {"prep_a": _preprocessing(), "prep_b": _preprocessing(), "train": training_config()},
        ).build("tie"),
        ResolutionError,
        (
            "'train'",
            "input_path",
            "ambiguous",
            "prep_a.processed_data",
            "prep_b.processed_data",
            "overrides=",
        ),
    ),
    Case(
        "unresolved-dependency",
        "Required input no predecessor provides: data load straight into training",
        lambda: _template(
            ["load", "train"], [("load", "train")], {"load": _data_load(), "train": training_config()}
        ).build("gap"),
        ResolutionError,
        ("'train'", "required dependency 'input_path'", "no compatible predecessor output", "load.raw_data"),
    ),
    Case(
        "unknown-builder-key",
        "Unknown key in `step_builder_map`: the seed's `CradleDataLoadStep`",
        lambda: _template(
            ["train"], [], {"train": training_config()}, step_builder_map={"CradleDataLoadStep": object}
        ),
        ConfigError,
        ("step_builder_map", "CradleDataLoadStep", "registered step types"),
    ),
    Case(
        "missing-config",
        "DAG node without a config in `config_map`",
        lambda: _template(["train", "model"], [("train", "model")], {"train": training_config()}),
        ConfigError,
        ("config_map", "every DAG node needs a config", "model"),
    ),
    Case(
        "pipeline-name",
        "Invalid pipeline name: `build('my_pipeline')`",
        lambda: _template(["train"], [], {"train": training_config()}).build("my_pipeline"),
        ConfigError,
        ("pipeline_name", "my_pipeline", "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"),
    ),
    Case(
        "definition-size",
        "Definition over 1,048,576 characters (11 steps with 100 long environment variables each)",
        _big_definition,
        SynthError,
        ("PipelineDefinition", "SageMaker allows at most 1,048,576", "split the pipeline"),
    ),
    Case(
        "source-symlink",
        "Local `source_dir` with a symlink to a file outside it (e.g. `~/.aws/credentials`)",
        lambda: _construct_with_source("symlink"),
        ConfigError,
        ("source_dir", "symlink 'creds' points outside source_dir", ".aws/credentials"),
    ),
    Case(
        "source-missing",
        "Local `source_dir` that does not exist",
        lambda: _construct_with_source("missing-dir"),
        ConfigError,
        ("source_dir", "directory does not exist", "no-such-dir"),
    ),
    Case(
        "entry-point-missing",
        "Entry point missing from `source_dir`: `training_entry_point='missing.py'`",
        lambda: _construct_with_source("missing-entry-point"),
        ConfigError,
        ("source_dir", "entry point 'missing.py' not found", "train.py"),
    ),
    Case(
        "spot-max-wait",
        "Spot wait shorter than the job: `use_spot_instances=True, max_wait_seconds=3600` (runtime 86400)",
        lambda: training_config(use_spot_instances=True, max_wait_seconds=3600),
        ConfigError,
        ("max_wait_seconds", "at least max_runtime_seconds", "86400..2419200"),
    ),
    Case(
        "max-wait-without-spot",
        "`max_wait_seconds` without `use_spot_instances`",
        lambda: training_config(max_wait_seconds=100_000),
        ConfigError,
        ("max_wait_seconds", "managed spot training only", "use_spot_instances=True"),
    ),
    Case(
        "cache-duration",
        "Cache expiry that is not ISO 8601: `cache_expire_after='30 days'`",
        lambda: training_config(cache_expire_after="30 days"),
        ConfigError,
        ("cache_expire_after", "ISO 8601 duration", "P30D"),
    ),
    Case(
        "retry-limits",
        "Retry policy with both limits: `RetryPolicy(..., max_attempts=3, expire_after_minutes=30)`",
        lambda: _retry(exception_types=("Step.THROTTLING",), max_attempts=3, expire_after_minutes=30),
        ConfigError,
        ("max_attempts", "exactly one of max_attempts and expire_after_minutes"),
    ),
    Case(
        "retry-attempts",
        "Too many retry attempts: `max_attempts=25`",
        lambda: _retry(exception_types=("SageMaker.CAPACITY_ERROR",), max_attempts=25),
        ConfigError,
        ("max_attempts", "1..20"),
    ),
    Case(
        "instance-choices-default",
        "Instance type choices without the default `ml.m5.xlarge`: `training_instance_type_choices=('ml.c5.xlarge',)`",
        lambda: training_config(training_instance_type_choices=("ml.c5.xlarge",)),
        ConfigError,
        ("training_instance_type_choices", "must be one of the choices", "add 'ml.m5.xlarge'"),
    ),
    Case(
        "instance-choices-images",
        "Instance type choices needing two images: `('ml.m5.xlarge', 'ml.g5.12xlarge')`",
        lambda: training_config(training_instance_type_choices=("ml.m5.xlarge", "ml.g5.12xlarge")),
        ConfigError,
        ("training_instance_type_choices", "different training images", "all CPU or all GPU"),
    ),
    Case(
        "isolation-requirements",
        "Network isolation with a `requirements.txt` in `source_dir`",
        _isolated_with_requirements,
        ConfigError,
        ("enable_network_isolation", "requirements.txt", "impossible"),
    ),
    Case(
        "subnets-without-groups",
        "Construct with `subnets=[...]` but no `security_groups`",
        lambda: _network(subnet=True),
        ConfigError,
        ("security_groups", "security_groups are required", "vpc=..."),
    ),
    Case(
        "parallel-steps",
        "Construct with `max_parallel_steps=0`",
        lambda: _network(max_parallel_steps=0),
        ConfigError,
        ("max_parallel_steps", "must be an integer >= 1"),
    ),
    Case(
        "model-without-handler",
        "Model step fed by a training step whose own code packs no inference code",
        _model_without_handler,
        ConfigError,
        ("'model'", "step 'train'", "packs no inference code", "inference_source_dir"),
    ),
    Case(
        "gate-unknown-metric",
        "Quality gate on a metric the evaluation report does not declare: `metric='rmse'`",
        _gate_on_unknown_metric,
        ConfigError,
        ("metric", "rmse", "binary_classification_metrics.auc.value"),
    ),
    Case(
        "env-agnostic-stack",
        "Construct in a stack without a concrete region (environment-agnostic)",
        _env_agnostic,
        SynthError,
        ("region", "no concrete region", "env=Environment(region='us-east-1')"),
    ),
)

assert len({c.id for c in CASES}) == len(CASES) and len({c.description for c in CASES}) == len(CASES)
assert all(
    "|" not in c.description and all("`" not in f and "|" not in f for f in c.fragments) for c in CASES
)
