"""Helpers of the local-run tests (configs, code directories); the fixtures are in conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.local.demo_data import demo_hyperparameters
from constructs_lib.local.runner import reference_source_dir

SCRIPTS = reference_source_dir().parent
LAUNCHER = SCRIPTS / "launcher" / "constructs_lib_launcher.py"
#: Rows of the demo table the toolkit runs train on (small: every run also starts a toolkit and torch).
DEMO_ROWS = 600
#: Epochs of the demo runs (the checkpoint test interrupts after two of them).
DEMO_EPOCHS = 4
#: Seconds before any single local run is killed.
RUN_TIMEOUT = 240.0


def demo_hp(**update: object) -> TabularClassifierHyperparameters:
    return demo_hyperparameters().model_copy(update={"epochs": DEMO_EPOCHS, **update})


def training_config(source_dir: Path | None = None, **kwargs: object) -> PyTorchTrainingConfig:
    """A CPU training config (one process unless asked otherwise) with the demo hyperparameters."""
    values: dict[str, object] = {
        "training_instance_type": "ml.m5.xlarge",
        "source_dir": str(source_dir or reference_source_dir()),
        "framework_version": "2.3.0",
        "py_version": "py311",
        "hyperparameters": demo_hp(),
    }
    values.update(kwargs)
    return PyTorchTrainingConfig(**values)  # type: ignore[arg-type]


def script_dir(root: Path, body: str, name: str = "train.py") -> Path:
    """A code directory holding one script."""
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(body, encoding="utf-8")
    return root


def launcher_code_dir(root: Path) -> Path:
    """The reference training code + the launcher + an ``inference/`` directory (inference.py and
    model.py), as the training step packs them when the launcher copies inference code into the model."""
    root.mkdir(parents=True)
    for name in ("train.py", "model.py", "requirements.txt"):
        shutil.copy2(SCRIPTS / "pytorch_training" / name, root / name)
    shutil.copy2(LAUNCHER, root / LAUNCHER.name)
    (root / "inference").mkdir()
    shutil.copy2(SCRIPTS / "pytorch_inference" / "inference.py", root / "inference" / "inference.py")
    shutil.copy2(SCRIPTS / "pytorch_training" / "model.py", root / "inference" / "model.py")
    return root
