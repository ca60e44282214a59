"""A small synthetic binary-classification table for trying the training step locally.

The columns match the README's example hyperparameters (:func:`demo_hyperparameters`):
``customer_id`` (int), ``target`` (0/1), ``feature1`` and ``feature2`` (numbers; about 2 % of
``feature2`` is missing) and ``feature3`` (a category ``A``..``E``). The label follows a noisy logistic
rule on all three features, so a small MLP reaches F1 and ROC AUC well above 0.8 within a few epochs.

The rows come from Python's own ``random.Random(seed)`` (the same on every platform and Python 3
version) and are written with fixed formatting, so a seed always gives the same files.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path
from typing import Literal

from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
from constructs_lib.errors import ConfigError

__all__ = ["DEMO_COLUMNS", "DemoFormat", "demo_hyperparameters", "write_demo_dataset"]

#: Column order of the demo table.
DEMO_COLUMNS: tuple[str, ...] = ("customer_id", "target", "feature1", "feature2", "feature3")

#: File formats :func:`write_demo_dataset` can write.
DemoFormat = Literal["csv", "parquet"]

_CATEGORY_EFFECT = {"A": -1.5, "B": -0.5, "C": 0.0, "D": 0.75, "E": 1.5}
_SPLITS = (("train", 0.70), ("val", 0.15), ("test", 0.15))
_MIN_ROWS = 20


def demo_hyperparameters() -> TabularClassifierHyperparameters:
    """Hyperparameters for the demo table: the README's field lists, with a learning rate of 0.01,
    batch size 64, 5 epochs, hidden layers ``[32, 16]`` and seed 0 so a CPU run takes seconds."""
    return TabularClassifierHyperparameters(
        id_name="customer_id",
        label_name="target",
        full_field_list=list(DEMO_COLUMNS),
        tab_field_list=["feature1", "feature2"],
        cat_field_list=["feature3"],
        learning_rate=0.01,
        batch_size=64,
        epochs=5,
        hidden_dims=[32, 16],
        dropout=0.1,
        embedding_dim=4,
        seed=0,
    )


def _rows(rows: int, seed: int) -> list[tuple[int, int, float, float | None, str]]:
    rng = random.Random(seed)
    categories = sorted(_CATEGORY_EFFECT)
    out: list[tuple[int, int, float, float | None, str]] = []
    for i in range(rows):
        f1 = rng.gauss(0.0, 1.0)
        f2 = rng.gauss(0.0, 1.0)
        f3 = categories[rng.randrange(len(categories))]
        logit = 4.0 * f1 - 3.0 * f2 + 2.5 * _CATEGORY_EFFECT[f3]
        probability = 1.0 / (1.0 + math.exp(-logit))
        target = 1 if rng.random() < probability else 0
        missing = rng.random() < 0.02
        out.append((100000 + i, target, round(f1, 6), None if missing else round(f2, 6), f3))
    return out


def write_demo_dataset(
    out_dir: str | Path,
    rows: int = 2000,
    seed: int = 0,
    fmt: DemoFormat = "csv",
) -> Path:
    """Write ``train/``, ``val/`` and ``test/`` (70/15/15 % of ``rows``) under ``out_dir``; return it.

    Args:
        out_dir: directory to write into (created if missing). Existing ``part-00000`` files of the
            splits are overwritten.
        rows: total number of rows, ``>= 20``. Default ``2000``.
        seed: random seed; the same seed gives the same bytes. Default ``0``.
        fmt: ``"csv"`` (default; a header row, empty cell for missing values) or ``"parquet"`` (needs
            ``pyarrow``).

    Each split is one file, ``part-00000.csv`` or ``part-00000.parquet``.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < _MIN_ROWS:
        raise ConfigError("must be an integer >= 20", field="rows", value=rows, hint="e.g. 2000")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("must be an integer >= 0", field="seed", value=seed)
    if fmt not in ("csv", "parquet"):
        raise ConfigError("unknown format", field="fmt", value=fmt, hint="'csv' or 'parquet'")
    data = _rows(rows, seed)
    n_train = int(rows * _SPLITS[0][1])
    n_val = int(rows * _SPLITS[1][1])
    parts = {
        "train": data[:n_train],
        "val": data[n_train : n_train + n_val],
        "test": data[n_train + n_val :],
    }
    root = Path(out_dir)
    for split, split_rows in parts.items():
        split_dir = root / split
        split_dir.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            _write_csv(split_dir / "part-00000.csv", split_rows)
        else:
            _write_parquet(split_dir / "part-00000.parquet", split_rows)
    return root


def _write_csv(path: Path, rows: list[tuple[int, int, float, float | None, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DEMO_COLUMNS)
        for customer_id, target, f1, f2, f3 in rows:
            writer.writerow([customer_id, target, repr(f1), "" if f2 is None else repr(f2), f3])


def _write_parquet(path: Path, rows: list[tuple[int, int, float, float | None, str]]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is in the torch extra
        raise ConfigError(
            "writing Parquet needs pyarrow",
            field="fmt",
            value="parquet",
            hint="pip install pyarrow, or use fmt='csv'",
        ) from exc
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "customer_id": pa.array(columns[0], type=pa.int64()),
            "target": pa.array(columns[1], type=pa.int64()),
            "feature1": pa.array(columns[2], type=pa.float64()),
            "feature2": pa.array(columns[3], type=pa.float64()),
            "feature3": pa.array(columns[4], type=pa.string()),
        }
    )
    pq.write_table(table, path)
