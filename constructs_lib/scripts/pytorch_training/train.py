"""Reference SageMaker training script: a binary tabular classifier in PyTorch.

Runs unchanged in SageMaker's PyTorch training containers (script mode) and in ``constructs-lib
local-run``, which starts it through SageMaker's own training toolkit. It relies only on ``torch``,
``numpy`` and ``pandas`` (``pyarrow`` for Parquet input), on ``model.py`` beside it (the network, its
input transform and the saved-model format, shared with the inference handler), and on Python 3.9 or
later (the PyTorch 1.13 images are py39: hence tuples in ``isinstance`` and no ``zip(strict=...)`` at run
time).

Data: the ``data`` channel (``SM_CHANNEL_DATA``, default ``/opt/ml/input/data/data``) holds ``train/``,
``val/`` and ``test/``, each with one or more ``.csv`` / ``.csv.gz`` (with a header row) or
``.parquet`` files, concatenated in sorted file-name order.

Hyperparameters, merged in this order (later wins): ``--key value`` command-line arguments (they only
fill what the other sources lack), the JSON file ``constructs_lib_hyperparameters.json`` beside this
script (plain JSON values; the complete set, also values too long for SageMaker's 2,500-character
limit), ``$SM_INPUT_CONFIG_DIR/hyperparameters.json`` (default ``/opt/ml/input/config``; JSON-encoded
strings, decoded with ``json.loads``, raw on failure), then the ``SM_HPS`` environment variable (a JSON
object). The command line is the weakest source because SageMaker's training toolkit up to 5.1.2 runs
the script through ``/bin/sh`` (the PyTorch container always captures errors), which splits
``['a', 'b']`` into ``[a,`` and ``b]`` and drops the quotes; the parser joins such tokens again and never
aborts on them. ``sagemaker_*`` keys are ignored. See ``TabularClassifierHyperparameters`` in
``constructs_lib`` for the fields and their defaults: the model's knobs (``hidden_dims``, ``dropout``,
``embedding_dim``, ``seed``) are sent only by that class, and take the defaults below when absent (a plain
``ModelHyperparameters`` sends the seed's fields only).

Model (``model.py``): categorical fields get embeddings (vocabulary from the training split, index 0 =
unknown), numeric fields are normalised with training-split mean and standard deviation (missing values
become 0 after normalisation); the concatenation feeds an MLP (``hidden_dims``, ReLU, ``dropout``) with
one logit, trained with Adam on binary cross-entropy.

Per epoch, rank 0 prints ``Train Loss: <v>``, ``Validation Loss: <v>``, ``Validation F1 Score: <v>`` and
``Validation AUC ROC: <v>`` (the lines the pipeline's metric definitions capture; F1 at threshold 0.5,
AUC from ranks with ties averaged; an undefined AUC prints ``nan`` and is not captured).

Checkpoints: the directory is ``$CONSTRUCTS_LIB_CHECKPOINT_DIR`` when set (created if missing), else
``$SAGEMAKER_BASE_DIR/checkpoints`` (default ``/opt/ml/checkpoints``, which SageMaker creates and syncs
with ``CheckpointConfig.S3Uri`` when the job has a ``CheckpointConfig``) if that directory exists;
otherwise there are none. After each epoch rank 0 writes ``checkpoint-epoch-<NNNNNN>.pt`` atomically
(temporary file, then rename) with the model and optimiser state, the epoch, every rank's torch random
state, the hyperparameters and the input statistics, and keeps the newest two. At start the newest
readable checkpoint is loaded (by rank 0, then broadcast to every rank) and training continues with the
next epoch, exactly as an uninterrupted run would: the same number of epochs in total, the same shuffles
and dropout masks. A checkpoint written for other hyperparameters (``epochs`` aside) or other training
data is refused with an error rather than mixed in.

Outputs: ``$SM_MODEL_DIR`` (default ``/opt/ml/model``) gets ``model.pt`` (the ``state_dict``) and
``model_meta.json`` (everything ``model.load_model`` and ``model.predict`` need); ``$SM_OUTPUT_DATA_DIR``
(default ``/opt/ml/output/data``) gets ``metrics.json`` (test and last-epoch validation metrics) and
``test_predictions.csv``.

Distribution:

* ``WORLD_SIZE`` > 1 in the environment (SageMaker's ``torch_distributed`` launcher, i.e. ``torchrun``):
  one process per device joins a process group (``nccl`` on GPU, ``gloo`` on CPU) through ``env://``;
  the training split is sharded with ``DistributedSampler`` (``batch_size`` is per process), gradients
  are averaged by ``DistributedDataParallel``, the train loss is summed over ranks with ``all_reduce``
  and validation/test predictions are gathered with ``all_gather`` so the metrics are exact; only rank 0
  prints metrics and writes files.
* No ``WORLD_SIZE`` but ``SM_HOSTS`` lists more than one host (a multi-instance job without a launcher,
  e.g. CPU instances): one process per host joins a group with ``MASTER_ADDR`` = the first host of
  ``SM_HOSTS``, ``MASTER_PORT`` = ``$MASTER_PORT`` or ``7777`` (the port SageMaker's launcher uses), rank
  = the index of ``SM_CURRENT_HOST`` in ``SM_HOSTS``.
* Otherwise a single process on CPU or on the first GPU, without a process group.

Bad hyperparameters, data or checkpoints make the script print one line ``train.py: error: ...`` naming
the hyperparameter and its value to stderr (and to ``$SM_OUTPUT_DIR/failure``, which SageMaker shows as
the job's failure reason) and exit with status 2.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

# model.py sits beside this script (in the code directory SageMaker unpacks, which is also the
# working directory); make it importable when this file is loaded from elsewhere, too.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import model as tabular_model  # type: ignore[import-not-found]  # noqa: E402  (the module beside this one)

#: Re-exported from ``model.py`` for callers of the earlier ``train.load_model`` / ``train.predict``.
load_model = tabular_model.load_model
predict = tabular_model.predict

__all__ = [
    "CHECKPOINT_DIR_ENV",
    "HYPERPARAMETERS_FILE",
    "Hyperparameters",
    "UsageError",
    "checkpoint_dir",
    "collect_hyperparameters",
    "f1_score",
    "load_model",
    "main",
    "parse_command_line",
    "parse_hyperparameters",
    "predict",
    "roc_auc",
    "save_checkpoint",
]

#: Full hyperparameters shipped beside this script by constructs_lib.
HYPERPARAMETERS_FILE = "constructs_lib_hyperparameters.json"
MODEL_FILE = tabular_model.MODEL_FILE
META_FILE = tabular_model.META_FILE
SPLITS = ("train", "val", "test")
DEFAULT_DATA_DIR = "/opt/ml/input/data/data"
DEFAULT_CONFIG_DIR = "/opt/ml/input/config"
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_OUTPUT_DATA_DIR = "/opt/ml/output/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/output"
#: The container's root; SageMaker's toolkit reads ``SAGEMAKER_BASE_DIR`` instead when it is set.
DEFAULT_BASE_DIR = "/opt/ml"
#: Port used by SageMaker's torch_distributed launcher; also ours for multi-host jobs without one.
DEFAULT_MASTER_PORT = "7777"
#: Environment variable naming the checkpoint directory (overrides ``$SAGEMAKER_BASE_DIR/checkpoints``).
CHECKPOINT_DIR_ENV = "CONSTRUCTS_LIB_CHECKPOINT_DIR"
CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINTS_KEPT = 2
_CHECKPOINT_NAME = re.compile(r"^checkpoint-epoch-(\d{6,})\.pt$")
_EVAL_CHUNK = 8192
_PROG = "train.py"


class UsageError(Exception):
    """Bad hyperparameters or data: reported as one line on stderr, exit status 2."""


# ============================================================================ hyperparameters
@dataclass(frozen=True)
class Hyperparameters:
    """The values this script uses (mirror of ``constructs_lib``'s ``TabularClassifierHyperparameters``;
    the knobs after ``epochs`` default when a plain ``ModelHyperparameters`` leaves them out)."""

    id_name: str
    label_name: str
    full_field_list: list[str]
    tab_field_list: list[str] = field(default_factory=list)
    cat_field_list: list[str] = field(default_factory=list)
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    hidden_dims: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.1
    embedding_dim: int = 8
    seed: int = 42

    def to_json(self) -> dict[str, object]:
        return {
            "batch_size": self.batch_size,
            "cat_field_list": list(self.cat_field_list),
            "dropout": self.dropout,
            "embedding_dim": self.embedding_dim,
            "epochs": self.epochs,
            "full_field_list": list(self.full_field_list),
            "hidden_dims": list(self.hidden_dims),
            "id_name": self.id_name,
            "label_name": self.label_name,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "tab_field_list": list(self.tab_field_list),
        }


_KINDS: dict[str, str] = {
    "id_name": "str",
    "label_name": "str",
    "full_field_list": "list[str]",
    "tab_field_list": "list[str]",
    "cat_field_list": "list[str]",
    "learning_rate": "float",
    "batch_size": "int",
    "epochs": "int",
    "hidden_dims": "list[int]",
    "dropout": "float",
    "embedding_dim": "int",
    "seed": "int",
}
_REQUIRED = ("id_name", "label_name", "full_field_list")


def _hp_error(name: str, value: object, source: str | None, problem: str) -> UsageError:
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:180] + f"...<{len(shown)} chars>"
    where = f" (from {source})" if source else ""
    return UsageError(f"hyperparameter {name}={shown}{where}: {problem}")


def _decode_json_string(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return cast(object, json.loads(value))
    except ValueError:
        return value


def _parse_cli_value(text: str) -> object:
    """A command-line value: JSON, else a Python literal (the toolkit passes ``str()`` of each value), else
    a list whose quotes a shell removed (``[a, b]`` -> ``["a", "b"]``), else the text itself."""
    try:
        return cast(object, json.loads(text))
    except ValueError:
        pass
    try:
        return cast(object, ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        inner = stripped[1:-1].strip()
        if not inner:
            return []
        items: list[object] = []
        for item in inner.split(","):
            item = item.strip()
            try:
                items.append(cast(object, json.loads(item)))
            except ValueError:
                items.append(item)
        return items
    return text


def _is_option(token: str) -> bool:
    """``--name`` / ``-n`` / ``--name=value``; not ``-``, ``--`` or a negative number such as ``-0.5``."""
    if len(token) < 2 or not token.startswith("-") or token == "--":
        return False
    first = token.lstrip("-")[:1]
    return bool(first) and not (first.isdigit() or first == ".")


def parse_command_line(argv: Sequence[str]) -> tuple[dict[str, object], list[str]]:
    """``--name value`` pairs from ``argv``; returns ``(values, tokens that belong to no option)``.

    A value may span several tokens: SageMaker's toolkit up to 5.1.2 joins the command into one string
    for ``/bin/sh``, which splits ``['a', 'b']`` into ``[a,`` and ``b]``; every token up to the next
    option is joined with single spaces and parsed as one value. Never raises.
    """
    values: dict[str, object] = {}
    stray: list[str] = []
    key: str | None = None
    parts: list[str] = []

    def flush() -> None:
        if key is not None and key:
            values[key] = _parse_cli_value(" ".join(parts)) if parts else ""

    for token in argv:
        if _is_option(token):
            flush()
            name = token.lstrip("-")
            if "=" in name:
                key, text = name.split("=", 1)
                parts = [text]
            else:
                key, parts = name, []
        elif key is None:
            stray.append(token)
        else:
            parts.append(token)
    flush()
    return values, stray


def _load_json_object(path: Path, what: str) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {what} {str(path)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} {str(path)!r} must hold a JSON object, got {type(data).__name__}")
    return cast(dict[str, object], data)


def collect_hyperparameters(
    argv: Sequence[str],
    environ: Mapping[str, str],
    script_dir: Path,
) -> tuple[dict[str, object], dict[str, str]]:
    """Merge every hyperparameter source (see the module docstring); return ``(values, source of each)``.

    Later sources win: the command line, ``constructs_lib_hyperparameters.json``, ``hyperparameters.json``,
    ``SM_HPS``. ``sagemaker_*`` keys are dropped. Values are decoded but not yet validated.
    """
    layers: list[tuple[str, dict[str, object]]] = [("command line", parse_command_line(argv)[0])]
    hp_file = script_dir / HYPERPARAMETERS_FILE
    if hp_file.is_file():
        layers.append((HYPERPARAMETERS_FILE, _load_json_object(hp_file, "hyperparameters file")))
    config_file = Path(environ.get("SM_INPUT_CONFIG_DIR", DEFAULT_CONFIG_DIR)) / "hyperparameters.json"
    if config_file.is_file():
        raw = _load_json_object(config_file, "hyperparameters file")
        layers.append(("hyperparameters.json", {k: _decode_json_string(v) for k, v in raw.items()}))
    sm_hps = environ.get("SM_HPS")
    if sm_hps:
        try:
            hps = json.loads(sm_hps)
        except ValueError as exc:
            raise UsageError(f"environment variable SM_HPS is not valid JSON: {exc}") from None
        if not isinstance(hps, dict):
            raise UsageError("environment variable SM_HPS must hold a JSON object")
        layers.append(("SM_HPS", cast(dict[str, object], hps)))

    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key.startswith("sagemaker_"):
                continue
            values[key] = value
            sources[key] = source
    return values, sources


def _coerce(name: str, kind: str, value: object, source: str | None) -> object:
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _hp_error(name, value, source, "must be a column name (a string)")
        text = str(value)
        if not text.strip():
            raise _hp_error(name, value, source, "must not be empty")
        return text
    if kind in ("int", "float"):
        if isinstance(value, str):
            value = _parse_cli_value(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _hp_error(name, value, source, f"must be a number ({kind})")
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise _hp_error(name, value, source, "must be a whole number")
            return int(value)
        return float(value)
    # lists
    if isinstance(value, str):
        parsed = _parse_cli_value(value)
        if isinstance(parsed, (list, tuple)):
            value = parsed
        else:
            value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise _hp_error(name, value, source, "must be a list")
    item_kind = kind[len("list[") : -1]
    return [_coerce(f"{name}[{i}]", item_kind, item, source) for i, item in enumerate(value)]


def parse_hyperparameters(values: Mapping[str, object], sources: Mapping[str, str]) -> Hyperparameters:
    """Coerce and validate merged values; unknown keys are ignored (and reported by :func:`main`)."""
    for name in _REQUIRED:
        if name not in values:
            raise UsageError(
                f"hyperparameter {name} is required but was not given "
                f"(looked in {HYPERPARAMETERS_FILE}, hyperparameters.json, SM_HPS and the command line)"
            )
    kwargs: dict[str, Any] = {}
    for name, kind in _KINDS.items():
        if name in values:
            kwargs[name] = _coerce(name, kind, values[name], sources.get(name))
    hp = Hyperparameters(**kwargs)

    def fail(name: str, problem: str) -> UsageError:
        return _hp_error(name, getattr(hp, name), sources.get(name), problem)

    if not math.isfinite(hp.learning_rate) or hp.learning_rate <= 0:
        raise fail("learning_rate", "must be a finite number > 0")
    for name in ("batch_size", "epochs", "embedding_dim"):
        if getattr(hp, name) < 1:
            raise fail(name, "must be >= 1")
    if hp.seed < 0:
        raise fail("seed", "must be >= 0")
    if not hp.hidden_dims or any(d < 1 for d in hp.hidden_dims):
        raise fail("hidden_dims", "needs at least one layer, each width >= 1")
    if not 0 <= hp.dropout < 1:
        raise fail("dropout", "must satisfy 0 <= dropout < 1")
    for name in ("full_field_list", "tab_field_list", "cat_field_list"):
        names: list[str] = getattr(hp, name)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise fail(name, f"lists {', '.join(map(repr, dupes))} more than once")
    full = set(hp.full_field_list)
    for name in ("id_name", "label_name"):
        if getattr(hp, name) not in full:
            raise fail(name, "must be one of full_field_list")
    if hp.id_name == hp.label_name:
        raise fail("label_name", "must differ from id_name")
    for name in ("tab_field_list", "cat_field_list"):
        names = getattr(hp, name)
        missing = [n for n in names if n not in full]
        if missing:
            raise fail(name, f"{', '.join(map(repr, missing))} not in full_field_list")
        reserved = [n for n in names if n in (hp.id_name, hp.label_name)]
        if reserved:
            raise fail(name, f"the id/label column {', '.join(map(repr, reserved))} cannot be a feature")
    both = sorted(set(hp.tab_field_list) & set(hp.cat_field_list))
    if both:
        raise fail("cat_field_list", f"{', '.join(map(repr, both))} also listed in tab_field_list")
    if not hp.tab_field_list and not hp.cat_field_list:
        raise fail("tab_field_list", "no features: list columns in tab_field_list and/or cat_field_list")
    return hp


# ============================================================================ data
def _data_files(split_dir: Path) -> list[Path]:
    return sorted(
        (p for p in split_dir.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz", ".parquet"))),
        key=lambda p: p.name,
    )


def read_split(data_dir: Path, split: str, hp: Hyperparameters) -> pd.DataFrame:
    """All files of ``data_dir/split`` concatenated in sorted order (categorical columns as strings)."""
    split_dir = data_dir / split
    if not split_dir.is_dir():
        raise UsageError(
            f"data channel {str(data_dir)!r} has no {split}/ directory (expected train/, val/ and test/)"
        )
    files = _data_files(split_dir)
    if not files:
        raise UsageError(f"no .csv or .parquet files in {str(split_dir)!r}")
    frames: list[pd.DataFrame] = []
    for path in files:
        try:
            if path.name.endswith(".parquet"):
                frames.append(pd.read_parquet(path))
            else:
                frames.append(pd.read_csv(path, dtype={c: "string" for c in hp.cat_field_list}))
        except Exception as exc:
            raise UsageError(f"cannot read {str(path)!r}: {type(exc).__name__}: {exc}") from None
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frame) == 0:
        raise UsageError(f"split {split!r} has no rows ({str(split_dir)!r})")
    return frame


def validate_frame(frame: pd.DataFrame, split: str, hp: Hyperparameters, sources: Mapping[str, str]) -> None:
    """Every listed column exists, numeric features are numeric, the label is 0/1."""
    columns = [str(c) for c in frame.columns]
    present = set(columns)
    shown = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
    checks: list[tuple[str, list[str]]] = [
        ("id_name", [hp.id_name]),
        ("label_name", [hp.label_name]),
        ("tab_field_list", hp.tab_field_list),
        ("cat_field_list", hp.cat_field_list),
        ("full_field_list", hp.full_field_list),
    ]
    for name, wanted in checks:
        missing = [c for c in wanted if c not in present]
        if missing:
            raise _hp_error(
                name,
                getattr(hp, name),
                sources.get(name),
                f"column {', '.join(map(repr, missing))} not in the {split} data (its columns: {shown})",
            )
    for column in hp.tab_field_list:
        raw = frame[column]
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = raw[numeric.isna() & raw.notna()]
        if len(bad):
            raise _hp_error(
                "tab_field_list",
                hp.tab_field_list,
                sources.get("tab_field_list"),
                f"column {column!r} of the {split} data is not numeric (e.g. {bad.iloc[0]!r}); "
                "list it in cat_field_list instead",
            )
    labels = pd.to_numeric(frame[hp.label_name], errors="coerce")
    invalid = frame[hp.label_name][labels.isna() | ~labels.isin([0, 1])]
    if len(invalid):
        examples = sorted({repr(v) for v in invalid.head(50).tolist()})[:5]
        raise _hp_error(
            "label_name",
            hp.label_name,
            sources.get("label_name"),
            f"column {hp.label_name!r} of the {split} data must hold only 0 and 1 "
            f"(found {', '.join(examples)})",
        )


def _labels(frame: pd.DataFrame, label: str) -> np.ndarray:
    labels: np.ndarray = pd.to_numeric(frame[label], errors="coerce").to_numpy(dtype=np.float32)
    return labels


# ============================================================================ metrics
def f1_score(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of the positive class at ``threshold`` (0.0 when there is no positive label or prediction)."""
    truth = labels >= 0.5
    predicted = probabilities >= threshold
    tp = float(np.sum(truth & predicted))
    fp = float(np.sum(~truth & predicted))
    fn = float(np.sum(truth & ~predicted))
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged); ``nan`` when one class is absent."""
    positive = labels >= 0.5
    n_pos = int(positive.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0
    ranks: np.ndarray = np.empty(len(scores), dtype=np.float64)
    ranks[order] = average_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


# ============================================================================ distribution
@dataclass(frozen=True)
class Context:
    """Where this process runs: rank, world size and device."""

    rank: int
    world_size: int
    device: torch.device
    distributed: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_context(environ: Mapping[str, str]) -> Context:
    """Join a process group when launched distributed (see the module docstring); else single process."""
    use_cuda = torch.cuda.is_available()
    backend = "nccl" if use_cuda else "gloo"
    world_size = int(environ.get("WORLD_SIZE", "1") or "1")
    if world_size > 1:
        rank = int(environ["RANK"])
        local_rank = int(environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
        return Context(rank, world_size, device, True)
    hosts = _hosts(environ)
    current = environ.get("SM_CURRENT_HOST", "")
    if len(hosts) > 1 and current in hosts:
        rank = hosts.index(current)
        port = environ.get("MASTER_PORT", DEFAULT_MASTER_PORT)
        device = torch.device("cuda", 0) if use_cuda else torch.device("cpu")
        dist.init_process_group(
            backend=backend,
            init_method=f"tcp://{hosts[0]}:{port}",
            rank=rank,
            world_size=len(hosts),
        )
        return Context(rank, len(hosts), device, True)
    return Context(0, 1, torch.device("cuda", 0) if use_cuda else torch.device("cpu"), False)


def _hosts(environ: Mapping[str, str]) -> list[str]:
    try:
        hosts = json.loads(environ.get("SM_HOSTS", "[]"))
    except ValueError:
        return []
    return [str(h) for h in hosts] if isinstance(hosts, list) else []


def _all_reduce_sum(ctx: Context, values: list[float]) -> list[float]:
    if not ctx.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def _gather(ctx: Context, local: torch.Tensor, capacity: int) -> torch.Tensor:
    """Concatenate each rank's 2-D ``local`` rows (rank order), padding to ``capacity`` for the collective."""
    if not ctx.distributed:
        return local
    count = torch.tensor([local.shape[0]], dtype=torch.int64, device=ctx.device)
    counts = [torch.zeros_like(count) for _ in range(ctx.world_size)]
    dist.all_gather(counts, count)
    padded = torch.zeros((capacity, local.shape[1]), dtype=local.dtype, device=ctx.device)
    padded[: local.shape[0]] = local
    chunks = [torch.zeros_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(chunks, padded)
    return torch.cat([chunk[: int(c.item())] for chunk, c in zip(chunks, counts)])  # noqa: B905 (py3.9)


@dataclass(frozen=True)
class Evaluation:
    loss: float
    f1: float
    auc: float
    probabilities: np.ndarray
    labels: np.ndarray


def evaluate(
    model: nn.Module, tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor], ctx: Context
) -> Evaluation:
    """Exact loss/F1/AUC over the whole split: each rank scores rows ``rank::world_size``, then gather."""
    numeric, categorical, labels = tensors
    n = labels.shape[0]
    index = torch.arange(ctx.rank, n, ctx.world_size)
    model.eval()
    logits: list[torch.Tensor] = []
    with torch.no_grad():
        for start in range(0, index.shape[0], _EVAL_CHUNK):
            rows = index[start : start + _EVAL_CHUNK]
            logits.append(model(numeric[rows].to(ctx.device), categorical[rows].to(ctx.device)))
    local_logits = torch.cat(logits) if logits else torch.zeros(0, device=ctx.device)
    local = torch.stack(
        [local_logits.double(), labels[index].to(ctx.device).double(), index.to(ctx.device).double()], dim=1
    )
    capacity = (n + ctx.world_size - 1) // ctx.world_size
    gathered = _gather(ctx, local, capacity).cpu()
    order = torch.argsort(gathered[:, 2])
    all_logits = gathered[order, 0]
    all_labels = gathered[order, 1]
    loss = float(nn.functional.binary_cross_entropy_with_logits(all_logits, all_labels, reduction="mean"))
    probabilities = torch.sigmoid(all_logits).numpy()
    label_array = all_labels.numpy()
    return Evaluation(
        loss,
        f1_score(label_array, probabilities),
        roc_auc(label_array, probabilities),
        probabilities,
        label_array,
    )


# ============================================================================ checkpoints
def checkpoint_dir(environ: Mapping[str, str]) -> Path | None:
    """Where checkpoints go: ``$CONSTRUCTS_LIB_CHECKPOINT_DIR`` when set, else
    ``$SAGEMAKER_BASE_DIR/checkpoints`` (default ``/opt/ml/checkpoints``) when that directory exists,
    else ``None`` (no checkpoints)."""
    explicit = environ.get(CHECKPOINT_DIR_ENV, "")
    if explicit:
        return Path(explicit)
    default = Path(environ.get("SAGEMAKER_BASE_DIR") or DEFAULT_BASE_DIR) / "checkpoints"
    return default if default.is_dir() else None


def _checkpoint_files(directory: Path) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every checkpoint in ``directory``, newest first."""
    if not directory.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for path in directory.iterdir():
        match = _CHECKPOINT_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def _load_latest_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The newest checkpoint that loads, or ``None``; an unreadable one is reported and skipped."""
    for _epoch, path in _checkpoint_files(directory):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: fall back to an older one
            print(f"Skipping unreadable checkpoint {path}: {type(exc).__name__}: {exc}", flush=True)
            continue
        if not isinstance(state, dict) or state.get("format_version") != CHECKPOINT_FORMAT_VERSION:
            print(
                f"Skipping checkpoint {path}: not a format {CHECKPOINT_FORMAT_VERSION} checkpoint", flush=True
            )
            continue
        state["path"] = str(path)
        return cast(dict[str, Any], state)
    return None


def _broadcast_object(ctx: Context, value: object) -> object:
    """``value`` of rank 0 on every rank."""
    if not ctx.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, device=ctx.device if ctx.device.type == "cuda" else None)
    return box[0]


def _rng_state(ctx: Context) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if ctx.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(ctx.device)
    return state


def _all_rng_states(ctx: Context) -> list[dict[str, torch.Tensor]]:
    """Every rank's torch random state, in rank order (a collective: every rank calls it)."""
    mine = _rng_state(ctx)
    if not ctx.distributed:
        return [mine]
    states: list[object] = [None] * ctx.world_size
    dist.all_gather_object(states, {k: v.cpu() for k, v in mine.items()})
    return [cast(dict[str, torch.Tensor], s) for s in states]


def save_checkpoint(
    directory: Path,
    epoch: int,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    rng_states: list[dict[str, torch.Tensor]],
    hp: Hyperparameters,
    meta: Mapping[str, Any],
) -> Path:
    """Rank 0 only: write ``checkpoint-epoch-<epoch>.pt`` atomically (temporary file in the same directory, fsync,
    rename) and keep the newest :data:`CHECKPOINTS_KEPT`."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "epoch": epoch,
        "world_size": len(rng_states),
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "rng": rng_states,
        "hyperparameters": hp.to_json(),
        "meta": dict(meta),
    }
    final = directory / f"checkpoint-epoch-{epoch:06d}.pt"
    temporary = directory / f".{final.name}.tmp-{os.getpid()}"
    try:
        with temporary.open("wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    for _old_epoch, path in _checkpoint_files(directory)[CHECKPOINTS_KEPT:]:
        with contextlib.suppress(OSError):
            path.unlink()
    return final


def _check_checkpoint(state: Mapping[str, Any], hp: Hyperparameters, meta: Mapping[str, Any]) -> None:
    """Refuse a checkpoint of another run: other hyperparameters (``epochs`` may differ) or other data."""
    saved_hp = dict(state.get("hyperparameters") or {})
    current_hp = hp.to_json()
    changed = sorted(
        k for k in set(saved_hp) | set(current_hp) if k != "epochs" and saved_hp.get(k) != current_hp.get(k)
    )
    saved_meta = {k: v for k, v in dict(state.get("meta") or {}).items() if k != "hyperparameters"}
    current_meta = {k: v for k, v in meta.items() if k != "hyperparameters"}
    if saved_meta != current_meta and not changed:
        changed = ["the training data (its statistics or vocabularies)"]
    if changed:
        shown = ", ".join(
            f"{k}: {saved_hp.get(k)!r} -> {current_hp.get(k)!r}" if k in current_hp else k for k in changed
        )
        raise UsageError(
            f"checkpoint {state.get('path')!r} was written by a run with other inputs ({shown}); "
            "delete the checkpoints or give the job a new checkpoint location"
        )


# ============================================================================ training
def _to_tensors(
    prep: Any, frame: pd.DataFrame, label: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    numeric, categorical = prep.transform(frame)
    return torch.from_numpy(numeric), torch.from_numpy(categorical), torch.from_numpy(_labels(frame, label))


def _batches(
    dataset: TensorDataset, hp: Hyperparameters, ctx: Context, epoch: int
) -> Iterator[list[torch.Tensor]]:
    if ctx.distributed:
        sampler: DistributedSampler[Any] = DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=hp.seed
        )
        sampler.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=hp.batch_size, sampler=sampler)
    else:
        generator = torch.Generator()
        generator.manual_seed(hp.seed + epoch)
        loader = DataLoader(dataset, batch_size=hp.batch_size, shuffle=True, generator=generator)
    yield from loader


def train(
    hp: Hyperparameters,
    frames: Mapping[str, pd.DataFrame],
    ctx: Context,
    model_dir: Path,
    output_data_dir: Path,
    checkpoints: Path | None = None,
) -> dict[str, Any]:
    """Fit on ``train``, report on ``val`` each epoch, evaluate on ``test``, save (rank 0 only).

    With ``checkpoints`` (a directory), resume from its newest checkpoint and write one per epoch.
    """
    torch.manual_seed(hp.seed)
    prep = tabular_model.Preprocessor.fit(frames["train"], hp.tab_field_list, hp.cat_field_list)
    meta: dict[str, Any] = tabular_model.make_meta(
        prep,
        id_name=hp.id_name,
        label_name=hp.label_name,
        embedding_dim=hp.embedding_dim,
        hidden_dims=hp.hidden_dims,
        dropout=hp.dropout,
        hyperparameters=hp.to_json(),
    )
    tensors = {split: _to_tensors(prep, frames[split], hp.label_name) for split in SPLITS}
    net: nn.Module = tabular_model.build_model(meta)
    optimizer = torch.optim.Adam(net.parameters(), lr=hp.learning_rate)

    start_epoch = 1
    if checkpoints is not None:
        loaded = _load_latest_checkpoint(checkpoints) if ctx.is_main else None
        state = cast("dict[str, Any] | None", _broadcast_object(ctx, loaded))
        if state is None:
            if ctx.is_main:
                print(f"Checkpoints: {checkpoints} (none to resume from)", flush=True)
        else:
            _check_checkpoint(state, hp, meta)
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start_epoch = int(state["epoch"]) + 1
            rng = state.get("rng") or []
            if len(rng) == ctx.world_size:
                torch.set_rng_state(rng[ctx.rank]["cpu"])
                if ctx.device.type == "cuda" and "cuda" in rng[ctx.rank]:
                    torch.cuda.set_rng_state(rng[ctx.rank]["cuda"], ctx.device)
            else:  # another world size: shuffles stay exact (seeded per epoch), dropout masks do not
                torch.manual_seed(hp.seed + start_epoch)
            if ctx.is_main:
                print(
                    f"Resuming from checkpoint {state.get('path')} (epoch {state['epoch']} of {hp.epochs}"
                    + ("" if len(rng) == ctx.world_size else f"; written by {len(rng)} processes")
                    + ")",
                    flush=True,
                )
    net = net.to(ctx.device)
    for param_state in optimizer.state.values():  # restored Adam moments follow the parameters
        for key, value in list(param_state.items()):
            if isinstance(value, torch.Tensor) and key != "step":
                param_state[key] = value.to(ctx.device)
    model: nn.Module = net
    if ctx.distributed:
        model = DistributedDataParallel(
            net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    loss_fn = nn.BCEWithLogitsLoss(reduction="mean")
    dataset = TensorDataset(*tensors["train"])

    validation: Evaluation | None = None
    for epoch in range(start_epoch, hp.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        for numeric, categorical, labels in _batches(dataset, hp, ctx, epoch):
            numeric, categorical, labels = (
                numeric.to(ctx.device),
                categorical.to(ctx.device),
                labels.to(ctx.device),
            )
            optimizer.zero_grad(set_to_none=True)
            loss: torch.Tensor = loss_fn(model(numeric, categorical), labels)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.item()) * labels.shape[0]
            seen += labels.shape[0]
        total, count = _all_reduce_sum(ctx, [loss_sum, float(seen)])
        train_loss = total / count if count else float("nan")
        validation = evaluate(net, tensors["val"], ctx)
        if ctx.is_main:
            print(f"Epoch {epoch}/{hp.epochs}", flush=True)
            print(f"Train Loss: {_fmt(train_loss)}", flush=True)
            print(f"Validation Loss: {_fmt(validation.loss)}", flush=True)
            print(f"Validation F1 Score: {_fmt(validation.f1)}", flush=True)
            print(f"Validation AUC ROC: {_fmt(validation.auc)}", flush=True)
        if checkpoints is not None:
            rng_states = _all_rng_states(ctx)
            if ctx.is_main:
                path = save_checkpoint(checkpoints, epoch, net, optimizer, rng_states, hp, meta)
                print(f"Checkpoint saved: epoch {epoch} ({path})", flush=True)

    if validation is None:  # resumed after the last epoch: nothing left to train
        validation = evaluate(net, tensors["val"], ctx)
    test = evaluate(net, tensors["test"], ctx)
    metrics: dict[str, Any] = {
        "epochs": hp.epochs,
        "first_epoch": start_epoch,
        "world_size": ctx.world_size,
        "rows": {split: len(frames[split]) for split in SPLITS},
        "validation": _metric_dict(validation),
        "test": _metric_dict(test),
    }
    if ctx.is_main:
        print(f"Test Loss: {_fmt(test.loss)}", flush=True)
        print(f"Test F1 Score: {_fmt(test.f1)}", flush=True)
        print(f"Test AUC ROC: {_fmt(test.auc)}", flush=True)
        tabular_model.save_model(net, meta, model_dir)
        output_data_dir.mkdir(parents=True, exist_ok=True)
        _write_json(output_data_dir / "metrics.json", metrics)
        predictions = pd.DataFrame(
            {
                hp.id_name: frames["test"][hp.id_name].to_numpy(),
                hp.label_name: test.labels.astype(np.int64),
                "probability": test.probabilities,
            }
        )
        predictions.to_csv(output_data_dir / "test_predictions.csv", index=False)
        print(f"Saved {MODEL_FILE} and {META_FILE} to {model_dir}", flush=True)
    return metrics


def _metric_dict(evaluation: Evaluation) -> dict[str, float | None]:
    def clean(v: float) -> float | None:
        return v if math.isfinite(v) else None

    return {"loss": clean(evaluation.loss), "f1": clean(evaluation.f1), "auc_roc": clean(evaluation.auc)}


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(payload, sort_keys=True, indent=2) + "\n", encoding="utf-8")


# ============================================================================ entry point
def _report_failure(message: str, environ: Mapping[str, str]) -> None:
    line = " ".join(message.split())
    rank = environ.get("RANK", "0")
    if rank in ("", "0"):
        print(f"{_PROG}: error: {line}", file=sys.stderr, flush=True)
        output_dir = Path(environ.get("SM_OUTPUT_DIR", DEFAULT_OUTPUT_DIR))
        if output_dir.is_dir():
            with contextlib.suppress(OSError):
                (output_dir / "failure").write_text(line + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run training; ``argv`` default ``sys.argv[1:]``, ``environ`` default ``os.environ``.
    Returns the exit status (0 success, 2 bad hyperparameters, data or checkpoint)."""
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    try:
        values, sources = collect_hyperparameters(args, env, Path(__file__).resolve().parent)
        hp = parse_hyperparameters(values, sources)
        data_dir = Path(env.get("SM_CHANNEL_DATA", DEFAULT_DATA_DIR))
        frames = {split: read_split(data_dir, split, hp) for split in SPLITS}
        for split, frame in frames.items():
            validate_frame(frame, split, hp, sources)
    except UsageError as exc:
        _report_failure(str(exc), env)
        return 2

    ctx = setup_context(env)
    try:
        if ctx.is_main:
            unknown = sorted(k for k in values if k not in _KINDS)
            if unknown:
                print(f"Ignoring unknown hyperparameters: {', '.join(unknown)}", flush=True)
            stray = parse_command_line(args)[1]
            if stray:
                print(f"Ignoring command-line tokens outside --name value pairs: {stray}", flush=True)
            print(f"Hyperparameters: {json.dumps(hp.to_json(), sort_keys=True)}", flush=True)
            print(
                f"Rows: train={len(frames['train'])} val={len(frames['val'])} test={len(frames['test'])}; "
                f"device={ctx.device}; world_size={ctx.world_size}",
                flush=True,
            )
        try:
            train(
                hp,
                frames,
                ctx,
                Path(env.get("SM_MODEL_DIR", DEFAULT_MODEL_DIR)),
                Path(env.get("SM_OUTPUT_DATA_DIR", DEFAULT_OUTPUT_DATA_DIR)),
                checkpoint_dir(env),
            )
        except UsageError as exc:
            _report_failure(str(exc), env)
            return 2
        if ctx.distributed:
            if ctx.device.type == "cuda":
                dist.barrier(device_ids=[ctx.device.index])  # NCCL: the rank's own GPU
            else:
                dist.barrier()
    finally:
        if ctx.distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def _exit(status: int) -> None:
    """Flush and leave without interpreter finalisation. Everything is written and closed by now; but
    after a distributed run, destroying torch's C++ objects at interpreter shutdown occasionally aborts
    the process ("terminate called without an active exception", SIGABRT), which would fail a finished
    job (seen about once in 20 two-process gloo runs with torch 2.13)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    _exit(main())
