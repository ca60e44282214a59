"""Model evaluation for SageMaker Processing: score a trained model on the held-out split through the
inference code its ``model.tar.gz`` carries, and write a model-quality report.

Runs in SageMaker's PyTorch image (Python 3.9+, torch, numpy, pandas; ``pyarrow`` only for Parquet input)
and anywhere else: ``--base-dir`` or ``$SM_PROCESSING_BASE`` relocate ``/opt/ml/processing``. It does not
import constructs_lib.

Inputs:

* ``<base>/input/model``: the training job's ``model.tar.gz`` (the one ``.tar.gz`` file below it). It is
  extracted into a temporary directory ``M`` (absolute paths, ``..``, links and special files refused)
  and ``M/code/<--inference-entry-point>`` is imported as SageMaker's PyTorch serving container would
  (``M/code`` first on ``sys.path``). The handler must define ``model_fn`` and ``predict_fn``.
* ``<base>/input/data/<--test-split>``: every ``.csv``, ``.csv.gz`` and ``.parquet`` file below it
  (sorted by relative path, concatenated; CSV cells read as text, as the handler's ``input_fn`` reads a
  ``text/csv`` request). The ``--label-name`` column holds 0 and 1.

Scoring: ``model = model_fn(M)``, then ``predict_fn(rows without the label column, model)``: one
probability of label 1 per row, in row order (a sequence or an array of shape ``(n,)`` or ``(n, 1)``,
finite values in ``[0, 1]``).

Output ``<base>/output/evaluation/evaluation.json``, SageMaker Model Monitor's model-quality format for
binary classification (what the model registry accepts as ``ModelMetrics.ModelQuality.Statistics``)::

    {"binary_classification_metrics": {
        "accuracy": {"value": ..., "standard_deviation": ...},
        "auc": {...}, "f1": {...}, "loss": {...}, "precision": {...}, "recall": {...},
        "confusion_matrix": {"0": {"0": TN, "1": FP}, "1": {"0": FN, "1": TP}}}}

``accuracy``, ``precision``, ``recall``, ``f1`` and the confusion matrix (actual label -> predicted label
-> rows) use ``--decision-threshold`` (a row is predicted 1 when its probability is at least the
threshold); ``precision`` (``recall``, ``f1``) is 0 when nothing is predicted (labelled) 1; ``auc`` is the
area under the ROC curve (ties counted half); ``loss`` is the mean binary cross-entropy with
probabilities clipped to ``[1e-7, 1 - 1e-7]``. As Model Monitor does, ``standard_deviation`` is the
standard deviation of the metric over 5 random samples of 80 % of the rows (``numpy`` ``RandomState(0)``:
the same input gives the same report) when there are at least 200 rows, and the string ``"NaN"``
otherwise. Every ``value`` is a finite number.

Errors (no model archive or handler, no split files, an unknown or non-binary label column, a split with
only one label value, where AUC is undefined, predictions of the wrong shape or range) print one line
``evaluate.py: error: ...`` to stderr, write it to ``<base>/../output/message`` (the processing job's
``ExitMessage``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

PROG = "evaluate.py"
BASE_ENV = "SM_PROCESSING_BASE"
DEFAULT_BASE = "/opt/ml/processing"
MODEL_DIR = "input/model"
DATA_DIR = "input/data"
OUTPUT_DIR = "output/evaluation"
REPORT_FILE = "evaluation.json"
CODE_DIR = "code"
SUFFIXES = (".csv", ".csv.gz", ".parquet")
#: Model Monitor reports a standard deviation from this many rows on.
MIN_ROWS_FOR_STD = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
EPSILON = 1e-7
METRICS = ("accuracy", "auc", "f1", "loss", "precision", "recall")


class UsageError(Exception):
    """Bad arguments, data or model: reported as one line, exit status 2."""


# ----------------------------------------------------------------------------------------- the model
def find_model_archive(directory: Path) -> Path:
    """The one ``.tar.gz`` file below ``directory``."""
    if not directory.is_dir():
        raise UsageError(f"model input directory {directory} does not exist")
    archives = sorted(p for p in directory.rglob("*.tar.gz") if p.is_file())
    if len(archives) != 1:
        found = ", ".join(p.name for p in archives) or "none"
        raise UsageError(f"expected one model .tar.gz under {directory}, found {found}")
    return archives[0]


def extract_model(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` below ``destination`` (regular files and directories only)."""
    root = destination.resolve()
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                target = (root / member.name).resolve()
                if not (member.isfile() or member.isdir()) or (target != root and root not in target.parents):
                    raise UsageError(f"{archive.name}: refusing to extract {member.name!r}")
            for member in members:
                target = root / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:  # pragma: no cover - a regular member always has content
                    raise UsageError(f"{archive.name}: cannot read {member.name!r}")
                with source, open(target, "wb") as handle:
                    handle.write(source.read())
    except (tarfile.TarError, OSError) as exc:
        raise UsageError(f"cannot extract {archive.name}: {exc}") from None
    return root


def load_handler(model_dir: Path, entry_point: str) -> ModuleType:
    """Import ``<model_dir>/code/<entry_point>`` as the serving container does (``code/`` on the path)."""
    code = model_dir / CODE_DIR
    script = code / entry_point
    if not script.is_file():
        found = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
        raise UsageError(
            f"the model has no handler {CODE_DIR}/{entry_point} (its files: {', '.join(found) or 'none'}); "
            "the training step must pack the inference code into model.tar.gz"
        )
    if str(code) not in sys.path:
        sys.path.insert(0, str(code))
    spec = importlib.util.spec_from_file_location("constructs_lib_evaluated_handler", script)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise UsageError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [name for name in ("model_fn", "predict_fn") if not callable(getattr(module, name, None))]
    if missing:
        raise UsageError(f"the handler {CODE_DIR}/{entry_point} defines no {', '.join(missing)}")
    return module


# ----------------------------------------------------------------------------------------- the data
def find_files(directory: Path) -> list[Path]:
    """Every table file below ``directory``, sorted by relative POSIX path."""
    if not directory.is_dir():
        raise UsageError(f"split directory {directory} does not exist")
    files = [p for p in directory.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)]
    if not files:
        raise UsageError(f"no {', '.join(SUFFIXES)} files under {directory}")
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def read_split(directory: Path) -> pd.DataFrame:
    """The split's files concatenated (CSV cells as text)."""
    frames = []
    for path in find_files(directory):
        try:
            if path.name.lower().endswith(".parquet"):
                frames.append(pd.read_parquet(path))
            else:
                frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))
        except Exception as exc:  # pandas raises many types for unreadable files
            raise UsageError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
    return pd.concat(frames, ignore_index=True)


def labels_of(frame: pd.DataFrame, label: str) -> np.ndarray:
    """The label column as 0/1 integers."""
    if label not in frame.columns:
        raise UsageError(
            f"label column {label!r} not in the split (its columns: {', '.join(map(str, frame.columns))})"
        )
    values = pd.to_numeric(frame[label], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        sample = frame[label][bad].astype(str).unique()[:5].tolist()
        raise UsageError(f"label column {label!r} must hold 0 and 1 only; found {sample}")
    labels: np.ndarray = values.astype(np.int64)
    return labels


def predictions_of(handler: ModuleType, model: Any, rows: pd.DataFrame) -> np.ndarray:
    """``predict_fn(rows, model)`` as a float array of one probability per row, checked."""
    raw = handler.predict_fn(rows, model)
    try:
        probabilities: np.ndarray = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"predict_fn returned {type(raw).__name__}, not numbers") from None
    if probabilities.ndim == 2 and probabilities.shape[1] == 1:
        probabilities = probabilities[:, 0]
    if probabilities.shape != (len(rows),):
        raise UsageError(
            f"predict_fn returned shape {probabilities.shape} for {len(rows)} rows; expected one probability "
            "of label 1 per row"
        )
    if not np.isfinite(probabilities).all() or (probabilities < 0).any() or (probabilities > 1).any():
        raise UsageError(
            "predict_fn returned values outside [0, 1] (or NaN); expected probabilities of label 1"
        )
    return probabilities


# ----------------------------------------------------------------------------------------- metrics
def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN with one class."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    u = float(ranks[labels == 1].sum()) - positives * (positives + 1) / 2.0
    return u / (positives * negatives)


def metrics_of(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """Every metric of :data:`METRICS` (``auc`` may be NaN: one class only)."""
    predicted = (probabilities >= threshold).astype(np.int64)
    tp = int(((predicted == 1) & (labels == 1)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    fn = int(((predicted == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    clipped = np.clip(probabilities, EPSILON, 1.0 - EPSILON)
    loss = float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1.0 - clipped)))
    return {
        "accuracy": float((predicted == labels).mean()),
        "auc": roc_auc(labels, probabilities),
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "loss": loss,
        "precision": precision,
        "recall": recall,
    }


def standard_deviations(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, Any]:
    """Model Monitor's standard deviations: over 5 random 80 % samples from 200 rows on, else ``"NaN"``."""
    n = len(labels)
    if n < MIN_ROWS_FOR_STD:
        return dict.fromkeys(METRICS, "NaN")
    rng = np.random.RandomState(0)
    samples: dict[str, list[float]] = {m: [] for m in METRICS}
    size = int(n * STD_FRACTION)
    for _ in range(STD_SAMPLES):
        index = np.sort(rng.choice(n, size=size, replace=False))
        for name, value in metrics_of(labels[index], probabilities[index], threshold).items():
            if math.isfinite(value):
                samples[name].append(value)
    return {m: float(np.std(v)) if len(v) >= 2 else "NaN" for m, v in samples.items()}


def report(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, Any]:
    """The Model Monitor model-quality document (see the module docstring)."""
    values = metrics_of(labels, probabilities, threshold)
    if not math.isfinite(values["auc"]):
        only = int(labels[0]) if len(labels) else "no"
        raise UsageError(
            f"the split holds only rows with label {only} ({len(labels)} rows): AUC ROC is undefined; "
            "evaluate on a split with both labels (e.g. stratify the preprocessing on the label)"
        )
    deviations = standard_deviations(labels, probabilities, threshold)
    predicted = (probabilities >= threshold).astype(np.int64)
    matrix = {
        str(actual): {str(p): int(((labels == actual) & (predicted == p)).sum()) for p in (0, 1)}
        for actual in (0, 1)
    }
    metrics: dict[str, Any] = {
        name: {"value": values[name], "standard_deviation": deviations[name]} for name in METRICS
    }
    metrics["confusion_matrix"] = matrix
    return {"binary_classification_metrics": metrics}


# ----------------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description="Evaluate a model.tar.gz through its handler.")
    parser.add_argument("--label-name", required=True, help="the label column (0/1)")
    parser.add_argument("--inference-entry-point", default="inference.py", help="the handler in code/")
    parser.add_argument("--decision-threshold", type=float, default=0.5, help="probability for label 1")
    parser.add_argument("--test-split", default="test", help="the split directory below the data input")
    parser.add_argument("--base-dir", default=None, help=f"instead of ${BASE_ENV} or {DEFAULT_BASE}")
    args = parser.parse_args(list(argv))
    if not (math.isfinite(args.decision_threshold) and 0.0 < args.decision_threshold < 1.0):
        raise UsageError(f"--decision-threshold {args.decision_threshold!r} must be strictly between 0 and 1")
    return args


def evaluate(base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Extract, import, score, measure; write and return the report."""
    archive = find_model_archive(base / MODEL_DIR)
    frame = read_split(base / DATA_DIR / args.test_split)
    labels = labels_of(frame, args.label_name)
    with tempfile.TemporaryDirectory(prefix="constructs-lib-model-") as tmp:
        model_dir = extract_model(archive, Path(tmp))
        handler = load_handler(model_dir, args.inference_entry_point)
        model = handler.model_fn(str(model_dir))
        probabilities = predictions_of(handler, model, frame.drop(columns=[args.label_name]))
    document = report(labels, probabilities, args.decision_threshold)
    out = base / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(document, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return document


def _report_failure(message: str, base: Path) -> None:
    line = " ".join(message.split())
    print(f"{PROG}: error: {line}", file=sys.stderr, flush=True)
    try:
        target = base.parent / "output" / "message"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(line + "\n", encoding="utf-8")
    except OSError:
        pass


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    base = Path(env.get(BASE_ENV) or DEFAULT_BASE)
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.base_dir:
            base = Path(args.base_dir)
        document = evaluate(base, args)
    except UsageError as exc:
        _report_failure(str(exc), base)
        return 2
    values = {
        m: round(v["value"], 6)
        for m, v in sorted(document["binary_classification_metrics"].items())
        if m in METRICS
    }
    print(
        f"{PROG}: wrote {base / OUTPUT_DIR / REPORT_FILE}: {json.dumps(values, sort_keys=True)}", flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
