"""Tabular preprocessing for SageMaker Processing: split one raw table into train / val / test.

Runs in SageMaker's scikit-learn image (it needs only Python 3.8+, numpy and pandas; ``pyarrow`` only for
Parquet input) and anywhere else: ``--base-dir`` or ``$SM_PROCESSING_BASE`` relocate ``/opt/ml/processing``.

Input ``<base>/input/raw``: every ``.csv``, ``.csv.gz`` and ``.parquet`` file below it (sorted by relative
path, concatenated; all must have the same columns). CSV files need a header row; their cells are kept as
text, so values pass through unchanged (no float re-formatting, leading zeros kept).

Split: rows are shuffled with ``numpy.random.RandomState(--seed)`` (the legacy generator, whose stream numpy
keeps identical across versions) and cut by the ratios, using the largest-remainder rule so the counts
add up exactly. With ``--label-name`` each label value is split on its own (stratified), in sorted order of
the values' text. Within a split, rows keep their input order. The same input and arguments always give
the same output bytes.

Output ``<base>/output/processed_data/{train,val,test}/part-0.csv`` (header row, no index): the layout the
PyTorch training step's ``data`` channel expects.

Errors (no input files, mixed columns, unknown label column, a split that would be empty, bad ratios)
print one line ``preprocess.py: error: ...`` to stderr, write it to ``<base>/../output/message`` (the
processing job's ``ExitMessage``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PROG = "preprocess.py"
BASE_ENV = "SM_PROCESSING_BASE"
DEFAULT_BASE = "/opt/ml/processing"
INPUT_DIR = "input/raw"
OUTPUT_DIR = "output/processed_data"
SPLITS = ("train", "val", "test")
OUTPUT_FILE = "part-0.csv"
SUFFIXES = (".csv", ".csv.gz", ".parquet")


class UsageError(Exception):
    """Bad arguments or data: reported as one line, exit status 2."""


def find_files(directory: Path) -> list[Path]:
    """Every table file below ``directory``, sorted by relative POSIX path."""
    if not directory.is_dir():
        raise UsageError(f"input directory {directory} does not exist")
    files = [p for p in directory.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)]
    if not files:
        raise UsageError(f"no {', '.join(SUFFIXES)} files under {directory}")
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def read_file(path: Path) -> pd.DataFrame:
    """One file as a DataFrame (CSV cells as text)."""
    try:
        if path.name.lower().endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise UsageError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None


def read_table(directory: Path) -> pd.DataFrame:
    """All files below ``directory`` concatenated (same columns required, first file's order)."""
    frames: list[pd.DataFrame] = []
    columns: list[str] | None = None
    for path in find_files(directory):
        frame = read_file(path)
        if columns is None:
            columns = [str(c) for c in frame.columns]
        elif set(map(str, frame.columns)) != set(columns):
            raise UsageError(
                f"{path.name} has columns {sorted(map(str, frame.columns))}, the first file has {sorted(columns)}"
            )
        frames.append(frame[columns] if columns else frame)
    table = pd.concat(frames, ignore_index=True)
    return table


def split_counts(n: int, ratios: Sequence[float]) -> list[int]:
    """``n`` rows shared by ``ratios`` (summing to 1) with the largest-remainder rule; ties go to the
    earlier split. The counts sum to ``n``."""
    exact = [n * r for r in ratios]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(ratios)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_splits(
    n_rows: int, ratios: Sequence[float], seed: int, strata: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Row positions of each split (ascending). One shuffle per stratum, in sorted stratum order."""
    rng = np.random.RandomState(seed)
    positions = np.arange(n_rows)
    groups: list[np.ndarray]
    if strata is None:
        groups = [positions]
    else:
        keys = np.asarray(strata, dtype=object)
        groups = [positions[keys == value] for value in sorted(set(strata))]
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for group in groups:
        shuffled = group[rng.permutation(len(group))]
        start = 0
        counts = split_counts(len(group), ratios)
        for i, split in enumerate(SPLITS):
            parts[split].append(shuffled[start : start + counts[i]])
            start += counts[i]
    return {s: np.sort(np.concatenate(parts[s])) for s in SPLITS}


def check_ratios(ratios: Sequence[float]) -> None:
    for i, name in enumerate(SPLITS):
        r = ratios[i]
        if not math.isfinite(r) or not 0.0 < r < 1.0:
            raise UsageError(f"--{name}-ratio must be strictly between 0 and 1, got {r!r}")
    if not math.isclose(sum(ratios), 1.0, rel_tol=0.0, abs_tol=1e-9):
        raise UsageError(f"the ratios must sum to 1, they sum to {sum(ratios)!r}")


def preprocess(base: Path, ratios: Sequence[float], seed: int, label_name: str | None) -> dict[str, int]:
    """Read, split and write; returns the row count of each split."""
    check_ratios(ratios)
    table = read_table(base / INPUT_DIR)
    if table.empty:
        raise UsageError("the input table has no rows")
    strata: list[str] | None = None
    if label_name is not None:
        if label_name not in table.columns:
            raise UsageError(
                f"label column {label_name!r} is not in the table; columns: {list(table.columns)}"
            )
        strata = [str(v) for v in table[label_name].tolist()]
    positions = assign_splits(len(table), ratios, seed, strata)
    empty = [s for s in SPLITS if len(positions[s]) == 0]
    if empty:
        raise UsageError(
            f"split {', '.join(empty)} would be empty with {len(table)} rows and ratios "
            f"{'/'.join(repr(r) for r in ratios)}; provide more rows or change the ratios"
        )
    counts: dict[str, int] = {}
    for split in SPLITS:
        out_dir = base / OUTPUT_DIR / split
        out_dir.mkdir(parents=True, exist_ok=True)
        table.iloc[positions[split]].to_csv(out_dir / OUTPUT_FILE, index=False)
        counts[split] = len(positions[split])
    return counts


def _report_failure(message: str, base: Path) -> None:
    line = " ".join(message.split())
    print(f"{PROG}: error: {line}", file=sys.stderr, flush=True)
    try:
        message_file = base.parent / "output" / "message"
        message_file.parent.mkdir(parents=True, exist_ok=True)
        message_file.write_text(f"{PROG}: {line}\n", encoding="utf-8")
    except OSError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run with ``argv`` (default ``sys.argv[1:]``); returns the exit status (0 ok, 2 usage/data error)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Split a raw table into train/val/test.")
    parser.add_argument("--base-dir", default=None, help=f"default ${BASE_ENV} or {DEFAULT_BASE}")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--val-ratio", type=float, default=0.15)
    parser.add_argument("--test-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label-name", default=None)
    args = parser.parse_args(argv)
    base = Path(args.base_dir or os.environ.get(BASE_ENV) or DEFAULT_BASE)
    try:
        counts = preprocess(
            base, (args.train_ratio, args.val_ratio, args.test_ratio), args.seed, args.label_name
        )
    except UsageError as exc:
        _report_failure(str(exc), base)
        return 2
    summary = ", ".join(f"{s}={counts[s]}" for s in SPLITS)
    print(f"{PROG}: wrote {summary} rows to {base / OUTPUT_DIR}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
