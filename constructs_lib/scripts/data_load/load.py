"""Data load for SageMaker Processing: validate a raw table and publish it as the step's ``raw_data``.

The public stand-in for the seed's internal Cradle loader. Runs in SageMaker's scikit-learn image (Python 3.8+,
numpy, pandas; ``pyarrow`` only for Parquet input) and anywhere else: ``--base-dir`` or
``$SM_PROCESSING_BASE`` relocate ``/opt/ml/processing``.

Input ``<base>/input/raw_source`` (the pipeline parameter's S3 location): every ``.csv``, ``.csv.gz`` and
``.parquet`` file below it, sorted by relative path and concatenated; all must have the same columns. CSV
cells are kept as text, so values pass through unchanged.

Checks: at least one file, the same columns in every file, no blank or duplicate column names, every
``--required-column`` present, at least ``--min-rows`` rows (default 1).

Output ``<base>/output/raw_data/part-0.csv`` (header row, no index, rows in input order).

Errors print one line ``load.py: error: ...`` to stderr, write it to ``<base>/../output/message`` (the
processing job's ``ExitMessage``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

PROG = "load.py"
BASE_ENV = "SM_PROCESSING_BASE"
DEFAULT_BASE = "/opt/ml/processing"
INPUT_DIR = "input/raw_source"
OUTPUT_DIR = "output/raw_data"
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


def csv_header(path: Path) -> list[str]:
    """The header row as written (pandas would rename duplicate names)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def read_file(path: Path) -> pd.DataFrame:
    """One file as a DataFrame (CSV cells as text), after checking its column names."""
    try:
        if path.name.lower().endswith(".parquet"):
            frame = pd.read_parquet(path)
            header = [str(c) for c in frame.columns]
        else:
            header = csv_header(path)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas/csv raise many types for unreadable files
        raise UsageError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
    blank = [i for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise UsageError(f"{path.name} has blank column names at positions {blank}")
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        raise UsageError(f"{path.name} repeats column names {dupes}")
    return frame


def load(base: Path, required_columns: Sequence[str], min_rows: int) -> pd.DataFrame:
    """Read and validate the table under ``base``; write it to the output; return it."""
    if min_rows < 1:
        raise UsageError(f"--min-rows must be >= 1, got {min_rows}")
    files = find_files(base / INPUT_DIR)
    frames: list[pd.DataFrame] = []
    columns: list[str] = []
    for path in files:
        frame = read_file(path)
        names = [str(c) for c in frame.columns]
        if not frames:
            columns = names
        elif set(names) != set(columns):
            raise UsageError(f"{path.name} has columns {sorted(names)}, the first file has {sorted(columns)}")
        frames.append(frame[columns])
    table = pd.concat(frames, ignore_index=True)
    missing = [c for c in required_columns if c not in columns]
    if missing:
        raise UsageError(f"required columns {missing} are missing; the table has {columns}")
    if len(table) < min_rows:
        raise UsageError(f"the table has {len(table)} rows, at least {min_rows} are required")
    out_dir = base / OUTPUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / OUTPUT_FILE, index=False)
    return table


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
    parser = argparse.ArgumentParser(prog=PROG, description="Validate a raw table and publish it.")
    parser.add_argument("--base-dir", default=None, help=f"default ${BASE_ENV} or {DEFAULT_BASE}")
    parser.add_argument("--required-column", action="append", default=[], dest="required_columns")
    parser.add_argument("--min-rows", type=int, default=1)
    args = parser.parse_args(argv)
    base = Path(args.base_dir or os.environ.get(BASE_ENV) or DEFAULT_BASE)
    try:
        table = load(base, args.required_columns, args.min_rows)
    except UsageError as exc:
        _report_failure(str(exc), base)
        return 2
    print(
        f"{PROG}: wrote {len(table)} rows x {len(table.columns)} columns to {base / OUTPUT_DIR / OUTPUT_FILE}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
