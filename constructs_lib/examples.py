"""The seed's usage example as ready-made objects (used by ``app.py``, the README, the CLI and the tests).

Nothing here imports the SageMaker SDK or ``aws_cdk`` at module level.
"""

from __future__ import annotations

from pathlib import Path

from constructs_lib.config.hyperparameters import ModelHyperparameters
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig

__all__ = [
    "REFERENCE_TRAINING_DIR",
    "SEED_CA_REPOSITORY_ARN",
    "seed_hyperparameters",
    "seed_training_config",
]

#: The reference training code shipped in the package (``train.py`` + ``requirements.txt``).
REFERENCE_TRAINING_DIR = Path(__file__).resolve().parent / "scripts" / "pytorch_training"

#: The seed's example CodeArtifact repository.
SEED_CA_REPOSITORY_ARN = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"


def seed_hyperparameters() -> ModelHyperparameters:
    """The seed's ``ModelHyperparameters`` example."""
    return ModelHyperparameters(
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
