"""How a training step ships inference code inside its ``model.tar.gz`` (so no repack job is needed).

SageMaker's PyTorch serving containers import the handler from ``/opt/ml/model/code`` (``code/`` inside
``model.tar.gz``). When the training step packs inference code, the code tarball carries, besides the
user's training code:

* the launcher ``constructs_lib_launcher.py`` at its root: SageMaker's entry point
  (``sagemaker_program``). It runs the training script named by ``CONSTRUCTS_LIB_ENTRY_POINT`` and, once
  it succeeded, copies the directory named by ``CONSTRUCTS_LIB_INFERENCE_CODE`` into
  ``$SM_MODEL_DIR/code/``, so SageMaker's upload of ``/opt/ml/model`` holds the inference code;
* the inference files under :data:`INFERENCE_CODE_DIR`.

The model, evaluation and registration steps then use the training output as it is. Pure Python: no
SageMaker SDK, no CDK.
"""

from __future__ import annotations

from pathlib import Path

from constructs_lib.config.base import SCRIPTS_DIR

__all__ = [
    "ENTRY_POINT_ENV",
    "INFERENCE_CODE_DIR",
    "INFERENCE_CODE_ENV",
    "LAUNCHER_FILE",
    "LAUNCHER_PATH",
    "MODEL_CODE_DIR",
    "REFERENCE_INFERENCE_ENTRY_POINT",
    "REFERENCE_INFERENCE_FILES",
    "REFERENCE_TRAINING_DIR",
    "is_reference_training_dir",
]

#: The launcher's file name (at the root of the code tarball, SageMaker's entry point).
LAUNCHER_FILE = "constructs_lib_launcher.py"
#: The launcher shipped with the library.
LAUNCHER_PATH = SCRIPTS_DIR / "launcher" / LAUNCHER_FILE
#: Environment variable naming the user's training script (relative to the code directory).
ENTRY_POINT_ENV = "CONSTRUCTS_LIB_ENTRY_POINT"
#: Environment variable naming the inference code's directory inside the code tarball.
INFERENCE_CODE_ENV = "CONSTRUCTS_LIB_INFERENCE_CODE"
#: Where the inference files are inside the code tarball.
INFERENCE_CODE_DIR = "constructs_lib_inference"
#: Where SageMaker's PyTorch serving container (and the evaluation step) finds them in the model.
MODEL_CODE_DIR = "/opt/ml/model/code"
#: The library's reference training code (``train.py`` + ``model.py``).
REFERENCE_TRAINING_DIR = SCRIPTS_DIR / "pytorch_training"
#: The reference handler's file name.
REFERENCE_INFERENCE_ENTRY_POINT = "inference.py"
#: The reference inference code: the handler and the model module it imports (shared with ``train.py``).
REFERENCE_INFERENCE_FILES: tuple[Path, ...] = (
    SCRIPTS_DIR / "pytorch_inference" / REFERENCE_INFERENCE_ENTRY_POINT,
    REFERENCE_TRAINING_DIR / "model.py",
)


def is_reference_training_dir(source_dir: str | Path) -> bool:
    """True when ``source_dir`` is the library's reference training directory (symlinks resolved)."""
    try:
        return Path(source_dir).resolve() == REFERENCE_TRAINING_DIR.resolve()
    except OSError:  # pragma: no cover - an unreadable path is not the reference directory
        return False
