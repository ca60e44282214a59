"""Reference SageMaker training script: a binary tabular classifier in PyTorch.

Runs unchanged in SageMaker's PyTorch training containers (script mode) and in ``constructs-lib
local-run``. It relies only on ``torch``, ``numpy`` and ``pandas`` (``pyarrow`` for Parquet input), and on
Python 3.9 or later (the PyTorch 1.13 images are py39: hence tuples in ``isinstance`` and no
``zip(strict=...)`` at run time).

Data: the ``data`` channel (``SM_CHANNEL_DATA``, default ``/opt/ml/input/data/data``) holds ``train/``,
``val/`` and ``test/``, each with one or more ``.csv`` / ``.csv.gz`` (with a header row) or
``.parquet`` files, concatenated in sorted file-name order.

Hyperparameters, merged in this order (later wins): the JSON file ``constructs_lib_hyperparameters.json``
beside this script (plain JSON values), ``$SM_INPUT_CONFIG_DIR/hyperparameters.json`` (default
``/opt/ml/input/config``; JSON-encoded strings, decoded with ``json.loads``, raw on failure), the
``SM_HPS`` environment variable (a JSON object), then ``--key value`` command-line arguments as
SageMaker's toolkit passes them (lists arrive as Python literals). ``sagemaker_*`` keys are ignored. See
``ModelHyperparameters`` in ``constructs_lib`` for the fields and their defaults.

Model: categorical fields get embeddings (vocabulary from the training split, index 0 = unknown),
numeric fields are normalised with training-split mean and standard deviation (missing values become 0
after normalisation); the concatenation feeds an MLP (``hidden_dims``, ReLU, ``dropout``) with one logit,
trained with Adam on binary cross-entropy.

Per epoch, rank 0 prints ``Train Loss: <v>``, ``Validation Loss: <v>``, ``Validation F1 Score: <v>`` and
``Validation AUC ROC: <v>`` (the lines the pipeline's metric definitions capture; F1 at threshold 0.5,
AUC from ranks with ties averaged; an undefined AUC prints ``nan`` and is not captured).

Outputs: ``$SM_MODEL_DIR`` (default ``/opt/ml/model``) gets ``model.pt`` (the ``state_dict``) and
``model_meta.json`` (everything :func:`load_model` and :func:`predict` need); ``$SM_OUTPUT_DATA_DIR``
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

Bad hyperparameters or data make the script print one line ``train.py: error: ...`` naming the
hyperparameter and its value to stderr (and to ``$SM_OUTPUT_DIR/failure``, which SageMaker shows as the
job's failure reason) and exit with status 2.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
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

__all__ = [
    "HYPERPARAMETERS_FILE",
    "Hyperparameters",
    "TabularNet",
    "UsageError",
    "collect_hyperparameters",
    "f1_score",
    "load_model",
    "main",
    "parse_hyperparameters",
    "predict",
    "roc_auc",
]

#: Full hyperparameters shipped beside this script by constructs_lib (lowest priority).
HYPERPARAMETERS_FILE = "constructs_lib_hyperparameters.json"
MODEL_FILE = "model.pt"
META_FILE = "model_meta.json"
META_FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
DEFAULT_DATA_DIR = "/opt/ml/input/data/data"
DEFAULT_CONFIG_DIR = "/opt/ml/input/config"
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_OUTPUT_DATA_DIR = "/opt/ml/output/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/output"
#: Port used by SageMaker's torch_distributed launcher; also ours for multi-host jobs without one.
DEFAULT_MASTER_PORT = "7777"
_EVAL_CHUNK = 8192
_PROG = "train.py"


class UsageError(Exception):
    """Bad hyperparameters or data: reported as one line on stderr, exit status 2."""


# ============================================================================ hyperparameters
@dataclass(frozen=True)
class Hyperparameters:
    """The values this script uses (mirror of ``constructs_lib``'s ``ModelHyperparameters``)."""

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
    try:
        return cast(object, json.loads(text))
    except ValueError:
        pass
    try:
        return cast(object, ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _parse_cli(argv: Sequence[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("-") or token in ("-", "--"):
            raise UsageError(f"unexpected command-line argument {token!r}; expected --name value pairs")
        key = token.lstrip("-")
        if "=" in key:
            key, text = key.split("=", 1)
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UsageError(f"hyperparameter {key} given on the command line without a value")
            text = argv[i + 1]
            i += 2
        values[key] = _parse_cli_value(text)
    return values


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

    ``sagemaker_*`` keys are dropped. Values are decoded but not yet validated.
    """
    layers: list[tuple[str, dict[str, object]]] = []
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
    layers.append(("command line", _parse_cli(argv)))

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


def _category_key(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    return str(value)


@dataclass
class Preprocessor:
    """Training-split statistics: numeric mean/std and categorical vocabularies (0 = unknown)."""

    tab_fields: list[str]
    cat_fields: list[str]
    means: list[float]
    stds: list[float]
    vocabularies: dict[str, list[str]]

    @classmethod
    def fit(cls, frame: pd.DataFrame, hp: Hyperparameters) -> Preprocessor:
        means: list[float] = []
        stds: list[float] = []
        for column in hp.tab_field_list:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 1.0
            means.append(mean)
            stds.append(std if std > 0 and math.isfinite(std) else 1.0)
        vocabularies: dict[str, list[str]] = {}
        for column in hp.cat_field_list:
            keys = {_category_key(v) for v in frame[column].tolist()}
            vocabularies[column] = sorted(k for k in keys if k is not None)
        return cls(list(hp.tab_field_list), list(hp.cat_field_list), means, stds, vocabularies)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Preprocessor:
        return cls(
            list(meta["tab_field_list"]),
            list(meta["cat_field_list"]),
            [float(v) for v in meta["means"]],
            [float(v) for v in meta["stds"]],
            {k: list(v) for k, v in meta["vocabularies"].items()},
        )

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(numeric float32 [n, len(tab)], categorical int64 [n, len(cat)])``."""
        n = len(frame)
        numeric: np.ndarray = np.zeros((n, len(self.tab_fields)), dtype=np.float32)
        for j, column in enumerate(self.tab_fields):
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            scaled = (values - self.means[j]) / self.stds[j]
            numeric[:, j] = np.where(np.isfinite(scaled), scaled, 0.0)
        categorical: np.ndarray = np.zeros((n, len(self.cat_fields)), dtype=np.int64)
        for j, column in enumerate(self.cat_fields):
            index = {key: i + 1 for i, key in enumerate(self.vocabularies[column])}
            categorical[:, j] = [index.get(_category_key(v) or "", 0) for v in frame[column].tolist()]
        return numeric, categorical


def _labels(frame: pd.DataFrame, label: str) -> np.ndarray:
    labels: np.ndarray = pd.to_numeric(frame[label], errors="coerce").to_numpy(dtype=np.float32)
    return labels


# ============================================================================ model and metrics
class TabularNet(nn.Module):  # type: ignore[misc]  # torch.nn.Module is untyped for mypy here
    """Embeddings for categorical fields + numeric fields → MLP → one logit."""

    def __init__(
        self,
        n_numeric: int,
        vocab_sizes: Sequence[int],
        embedding_dim: int,
        hidden_dims: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(size + 1, embedding_dim) for size in vocab_sizes)
        layers: list[nn.Module] = []
        width = n_numeric + len(vocab_sizes) * embedding_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        parts = [numeric] + [emb(categorical[:, j]) for j, emb in enumerate(self.embeddings)]
        out: torch.Tensor = self.mlp(torch.cat(parts, dim=1))
        return out.squeeze(1)


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
    model: TabularNet, tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor], ctx: Context
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


# ============================================================================ training
def _to_tensors(
    prep: Preprocessor, frame: pd.DataFrame, label: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    numeric, categorical = prep.transform(frame)
    return torch.from_numpy(numeric), torch.from_numpy(categorical), torch.from_numpy(_labels(frame, label))


def build_model(meta: Mapping[str, Any]) -> TabularNet:
    """A fresh :class:`TabularNet` shaped as ``meta`` (``model_meta.json``) describes."""
    return TabularNet(
        n_numeric=len(meta["tab_field_list"]),
        vocab_sizes=[len(meta["vocabularies"][c]) for c in meta["cat_field_list"]],
        embedding_dim=int(meta["embedding_dim"]),
        hidden_dims=[int(h) for h in meta["hidden_dims"]],
        dropout=float(meta["dropout"]),
    )


def _meta(hp: Hyperparameters, prep: Preprocessor) -> dict[str, Any]:
    return {
        "format_version": META_FORMAT_VERSION,
        "id_name": hp.id_name,
        "label_name": hp.label_name,
        "tab_field_list": prep.tab_fields,
        "cat_field_list": prep.cat_fields,
        "means": prep.means,
        "stds": prep.stds,
        "vocabularies": prep.vocabularies,
        "unknown_category_index": 0,
        "embedding_dim": hp.embedding_dim,
        "hidden_dims": hp.hidden_dims,
        "dropout": hp.dropout,
        "threshold": 0.5,
        "hyperparameters": hp.to_json(),
    }


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
) -> dict[str, Any]:
    """Fit on ``train``, report on ``val`` each epoch, evaluate on ``test``, save (rank 0 only)."""
    torch.manual_seed(hp.seed)
    prep = Preprocessor.fit(frames["train"], hp)
    meta = _meta(hp, prep)
    tensors = {split: _to_tensors(prep, frames[split], hp.label_name) for split in SPLITS}
    net = build_model(meta).to(ctx.device)
    model: nn.Module = net
    if ctx.distributed:
        model = DistributedDataParallel(
            net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=hp.learning_rate)
    loss_fn = nn.BCEWithLogitsLoss(reduction="mean")
    dataset = TensorDataset(*tensors["train"])

    validation: Evaluation | None = None
    for epoch in range(1, hp.epochs + 1):
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

    test = evaluate(net, tensors["test"], ctx)
    assert validation is not None  # epochs >= 1
    metrics: dict[str, Any] = {
        "epochs": hp.epochs,
        "world_size": ctx.world_size,
        "rows": {split: len(frames[split]) for split in SPLITS},
        "validation": _metric_dict(validation),
        "test": _metric_dict(test),
    }
    if ctx.is_main:
        print(f"Test Loss: {_fmt(test.loss)}", flush=True)
        print(f"Test F1 Score: {_fmt(test.f1)}", flush=True)
        print(f"Test AUC ROC: {_fmt(test.auc)}", flush=True)
        model_dir.mkdir(parents=True, exist_ok=True)
        output_data_dir.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        torch.save(state, model_dir / MODEL_FILE)
        _write_json(model_dir / META_FILE, meta)
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


# ============================================================================ inference helpers
def load_model(model_dir: str | Path) -> tuple[TabularNet, dict[str, Any]]:
    """Rebuild the trained model from ``model.pt`` + ``model_meta.json``; returns ``(model in eval
    mode on CPU, meta)``."""
    directory = Path(model_dir)
    meta = cast(dict[str, Any], json.loads((directory / META_FILE).read_text(encoding="utf-8")))
    if meta.get("format_version") != META_FORMAT_VERSION:
        raise ValueError(f"unsupported {META_FILE} format_version {meta.get('format_version')!r}")
    model = build_model(meta)
    state = torch.load(directory / MODEL_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model, meta


def predict(model: TabularNet, meta: Mapping[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Probability of label 1 for each row of ``frame`` (needs the feature columns; others ignored).
    Unknown categories map to index 0; missing numeric values to the training mean."""
    prep = Preprocessor.from_meta(meta)
    numeric, categorical = prep.transform(frame)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(numeric), torch.from_numpy(categorical))
    return cast(np.ndarray, torch.sigmoid(logits).numpy().astype(np.float64))


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
    Returns the exit status (0 success, 2 bad hyperparameters or data)."""
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
            print(f"Hyperparameters: {json.dumps(hp.to_json(), sort_keys=True)}", flush=True)
            print(
                f"Rows: train={len(frames['train'])} val={len(frames['val'])} test={len(frames['test'])}; "
                f"device={ctx.device}; world_size={ctx.world_size}",
                flush=True,
            )
        train(
            hp,
            frames,
            ctx,
            Path(env.get("SM_MODEL_DIR", DEFAULT_MODEL_DIR)),
            Path(env.get("SM_OUTPUT_DATA_DIR", DEFAULT_OUTPUT_DATA_DIR)),
        )
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
