"""The model of constructs_lib's reference training script, shared by training and serving.

``train.py`` imports this module to build, fit and save the model; ``pytorch_inference/inference.py``
imports it (``model.py`` sits beside ``inference.py`` in ``model.tar.gz``'s ``code/`` directory) to load
and run it. It needs ``torch``, ``numpy`` and ``pandas``, and runs on Python 3.9+ (no ``X | Y`` at run
time, no ``zip(strict=...)``).

The model directory holds two files:

* ``model.pt``: the network's ``state_dict`` (CPU tensors);
* ``model_meta.json``: everything needed to rebuild the network and its input transform, format
  :data:`META_FORMAT_VERSION`: ``id_name``, ``label_name``, ``tab_field_list`` and ``cat_field_list``
  (the features in input order), ``means``/``stds`` (training-split statistics of the numeric fields),
  ``vocabularies`` (sorted training-split values of each categorical field; index 0 is "unknown"),
  ``unknown_category_index`` (0), ``embedding_dim``, ``hidden_dims``, ``dropout``, ``threshold`` (0.5) and
  ``hyperparameters`` (the training run's values, for the record).

The network: one embedding per categorical field (``vocabulary size + 1`` rows), concatenated with the
normalised numeric fields (missing or non-finite values become 0 after normalisation, i.e. the training
mean), then an MLP (``hidden_dims``, ReLU, ``dropout``) with one logit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "META_FILE",
    "META_FORMAT_VERSION",
    "MODEL_FILE",
    "Preprocessor",
    "TabularNet",
    "build_model",
    "category_key",
    "load_model",
    "make_meta",
    "predict",
    "save_model",
]

#: The network's ``state_dict`` inside the model directory.
MODEL_FILE = "model.pt"
#: The metadata file inside the model directory.
META_FILE = "model_meta.json"
#: Version of the ``model_meta.json`` format; :func:`load_model` refuses any other.
META_FORMAT_VERSION = 1


def category_key(value: object) -> str | None:
    """The vocabulary key of a categorical cell: ``None`` for missing; whole floats as integers
    (``3.0`` -> ``"3"``, so a column read as numbers matches one read as text); else ``str(value)``."""
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
    def fit(cls, frame: pd.DataFrame, tab_fields: Sequence[str], cat_fields: Sequence[str]) -> Preprocessor:
        """Statistics of ``frame`` (the training split): mean/std per numeric field (std 1 when it is 0 or
        undefined), the sorted distinct values per categorical field."""
        means: list[float] = []
        stds: list[float] = []
        for column in tab_fields:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 1.0
            means.append(mean)
            stds.append(std if std > 0 and math.isfinite(std) else 1.0)
        vocabularies: dict[str, list[str]] = {}
        for column in cat_fields:
            keys = {category_key(v) for v in frame[column].tolist()}
            vocabularies[column] = sorted(k for k in keys if k is not None)
        return cls(list(tab_fields), list(cat_fields), means, stds, vocabularies)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Preprocessor:
        """The preprocessor a ``model_meta.json`` describes."""
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
            categorical[:, j] = [index.get(category_key(v) or "", 0) for v in frame[column].tolist()]
        return numeric, categorical


class TabularNet(nn.Module):  # type: ignore[misc]  # torch.nn.Module is untyped for mypy here
    """Embeddings for categorical fields + numeric fields -> MLP -> one logit."""

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


def make_meta(
    prep: Preprocessor,
    *,
    id_name: str,
    label_name: str,
    embedding_dim: int,
    hidden_dims: Sequence[int],
    dropout: float,
    hyperparameters: Mapping[str, object],
) -> dict[str, Any]:
    """The ``model_meta.json`` content for a network trained with ``prep`` (see the module docstring)."""
    return {
        "format_version": META_FORMAT_VERSION,
        "id_name": id_name,
        "label_name": label_name,
        "tab_field_list": list(prep.tab_fields),
        "cat_field_list": list(prep.cat_fields),
        "means": list(prep.means),
        "stds": list(prep.stds),
        "vocabularies": {k: list(v) for k, v in prep.vocabularies.items()},
        "unknown_category_index": 0,
        "embedding_dim": int(embedding_dim),
        "hidden_dims": [int(h) for h in hidden_dims],
        "dropout": float(dropout),
        "threshold": 0.5,
        "hyperparameters": dict(hyperparameters),
    }


def build_model(meta: Mapping[str, Any]) -> TabularNet:
    """A fresh :class:`TabularNet` shaped as ``meta`` (``model_meta.json``) describes."""
    return TabularNet(
        n_numeric=len(meta["tab_field_list"]),
        vocab_sizes=[len(meta["vocabularies"][c]) for c in meta["cat_field_list"]],
        embedding_dim=int(meta["embedding_dim"]),
        hidden_dims=[int(h) for h in meta["hidden_dims"]],
        dropout=float(meta["dropout"]),
    )


def save_model(net: nn.Module, meta: Mapping[str, Any], model_dir: str | Path) -> None:
    """Write ``model.pt`` (CPU ``state_dict``) and ``model_meta.json`` into ``model_dir`` (created)."""
    directory = Path(model_dir)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(state, directory / MODEL_FILE)
    (directory / META_FILE).write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n", encoding="utf-8")


def load_model(model_dir: str | Path) -> tuple[TabularNet, dict[str, Any]]:
    """Rebuild the trained model from ``model.pt`` + ``model_meta.json``; returns ``(model in eval
    mode on CPU, meta)``. Raises ``ValueError`` for another ``format_version``."""
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
