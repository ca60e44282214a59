"""The seed's usage example as ready-made objects (used by ``app.py``, the README, the CLI and the tests).

Nothing here imports the SageMaker SDK or ``aws_cdk`` at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.inference_code import REFERENCE_TRAINING_DIR

__all__ = [
    "LIFECYCLE_EDGES",
    "REFERENCE_TRAINING_DIR",
    "SEED_CA_REPOSITORY_ARN",
    "lifecycle_config_map",
    "lifecycle_template",
    "production_dag_template",
    "seed_dag_config_map",
    "seed_dag_template",
    "seed_hyperparameters",
    "seed_training_config",
]

#: The seed's example CodeArtifact repository.
SEED_CA_REPOSITORY_ARN = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"


def seed_hyperparameters() -> TabularClassifierHyperparameters:
    """The seed's ``ModelHyperparameters`` example, as the reference script's
    :class:`~constructs_lib.config.hyperparameters.TabularClassifierHyperparameters` (its model knobs at
    their defaults, sent explicitly)."""
    return TabularClassifierHyperparameters(
        id_name="customer_id",
        label_name="target",
        full_field_list=["customer_id", "target", "feature1", "feature2", "feature3"],
        tab_field_list=["feature1", "feature2"],
        cat_field_list=["feature3"],
        learning_rate=0.001,
        batch_size=64,
        epochs=10,
    )


def seed_training_config(source_dir: str | Path | None = None, **overrides: object) -> PyTorchTrainingConfig:
    """The seed's ``PyTorchTrainingConfig`` example.

    The seed points ``source_dir`` at ``s3://my-bucket/scripts/``, which SageMaker cannot use (script mode
    needs a ``.tar.gz``); by default this example uses the reference training code shipped in the package,
    packed and uploaded as a CDK asset. ``overrides`` replace any field.
    """
    values: dict[str, object] = {
        "training_instance_type": "ml.g5.12xlarge",
        "training_instance_count": 1,
        "training_volume_size": 30,
        "training_entry_point": "train.py",
        "source_dir": str(source_dir if source_dir is not None else REFERENCE_TRAINING_DIR),
        "framework_version": "1.13.1",
        "py_version": "py39",
        "hyperparameters": seed_hyperparameters(),
        "env": {"CA_REPOSITORY_ARN": SEED_CA_REPOSITORY_ARN},
    }
    values.update(overrides)
    return PyTorchTrainingConfig(**values)  # type: ignore[arg-type,unused-ignore]


def seed_dag_config_map(training: PyTorchTrainingConfig | None = None) -> dict[str, object]:
    """Configs of the seed's DAG: data_load -> preprocess -> train -> model (``training`` replaces the
    seed training config)."""
    from constructs_lib.config.data_load import DataLoadConfig
    from constructs_lib.config.model_pytorch import PyTorchModelConfig
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig

    return {
        "data_load": DataLoadConfig(required_columns=("customer_id", "target")),
        "preprocess": TabularPreprocessingConfig(label_name="target"),
        "train": training if training is not None else seed_training_config(),
        "model": PyTorchModelConfig(framework_version="1.13.1", py_version="py39"),
    }


def seed_dag_template(region: str = "us-east-1", training: PyTorchTrainingConfig | None = None) -> Any:
    """The seed's ``PipelineBuilderTemplate`` example (data_load -> preprocess -> train -> model)."""
    from constructs_lib.dag import PipelineDAG
    from constructs_lib.registry import step_builder_map
    from constructs_lib.template import PipelineBuilderTemplate

    dag = PipelineDAG()
    for node in ("data_load", "preprocess", "train", "model"):
        dag.add_node(node)
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    return PipelineBuilderTemplate(
        dag=dag,
        config_map=seed_dag_config_map(training),  # type: ignore[arg-type]
        step_builder_map=step_builder_map(),
        region=region,
    )


def production_dag_template(region: str = "us-east-1", training: PyTorchTrainingConfig | None = None) -> Any:
    """The seed's DAG with production job settings on its processing steps (network isolation: the shipped
    scripts install nothing; caching for 30 days); ``training`` replaces the training config."""
    from constructs_lib.config.data_load import DataLoadConfig
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig
    from constructs_lib.registry import step_builder_map
    from constructs_lib.template import PipelineBuilderTemplate

    configs = seed_dag_config_map(training)
    configs["data_load"] = DataLoadConfig(
        required_columns=("customer_id", "target"), enable_network_isolation=True, cache_expire_after="P30D"
    )
    configs["preprocess"] = TabularPreprocessingConfig(
        label_name="target", enable_network_isolation=True, cache_expire_after="P30D"
    )
    template = seed_dag_template(region, training)
    return PipelineBuilderTemplate(
        dag=template.dag,
        config_map=configs,  # type: ignore[arg-type]
        step_builder_map=step_builder_map(),
        region=region,
    )


#: The lifecycle DAG: load -> preprocess -> train -> evaluate -> gate -> register, plus the edges that feed
#: the evaluation (preprocess's held-out split) and the registration (train's model, evaluate's report).
LIFECYCLE_EDGES: tuple[tuple[str, str], ...] = (
    ("data_load", "preprocess"),
    ("preprocess", "train"),
    ("train", "evaluate"),
    ("preprocess", "evaluate"),
    ("evaluate", "quality_gate"),
    ("quality_gate", "register"),
    ("train", "register"),
    ("evaluate", "register"),
)


def lifecycle_config_map(
    training: PyTorchTrainingConfig | None = None, *, min_auc_roc: float = 0.75
) -> dict[str, object]:
    """Configs of the lifecycle DAG: the seed's four steps (without the model step), then the evaluation on
    the held-out split, a quality gate on AUC ROC (``min_auc_roc``) and the registration."""
    from constructs_lib.config.data_load import DataLoadConfig
    from constructs_lib.config.evaluation_pytorch import PyTorchEvaluationConfig
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig
    from constructs_lib.config.quality_gate import ModelQualityGateConfig
    from constructs_lib.config.registration import ModelRegistrationConfig

    return {
        "data_load": DataLoadConfig(required_columns=("customer_id", "target")),
        "preprocess": TabularPreprocessingConfig(label_name="target"),
        "train": training if training is not None else seed_training_config(),
        "evaluate": PyTorchEvaluationConfig(),
        "quality_gate": ModelQualityGateConfig(min_auc_roc=min_auc_roc),  # type: ignore[call-arg]
        "register": ModelRegistrationConfig(description="The seed's tabular PyTorch classifier"),
    }


def lifecycle_template(region: str = "us-east-1", training: PyTorchTrainingConfig | None = None) -> Any:
    """The lifecycle ``PipelineBuilderTemplate``: from raw data to a registered, gated model version."""
    from constructs_lib.dag import PipelineDAG
    from constructs_lib.registry import step_builder_map
    from constructs_lib.template import PipelineBuilderTemplate

    dag = PipelineDAG()
    for node in ("data_load", "preprocess", "train", "evaluate", "quality_gate", "register"):
        dag.add_node(node)
    for src, dst in LIFECYCLE_EDGES:
        dag.add_edge(src, dst)
    return PipelineBuilderTemplate(
        dag=dag,
        config_map=lifecycle_config_map(training),  # type: ignore[arg-type]
        step_builder_map=step_builder_map(),
        region=region,
    )
