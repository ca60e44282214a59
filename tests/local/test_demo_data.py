"""The synthetic demo table: deterministic, split 70/15/15, matching the demo hyperparameters."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
from constructs_lib.errors import ConfigError
from constructs_lib.local.demo_data import DEMO_COLUMNS, demo_hyperparameters, write_demo_dataset

SPLITS = ("train", "val", "test")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    one = _files(write_demo_dataset(tmp_path / "one", rows=200, seed=3))
    two = _files(write_demo_dataset(tmp_path / "two", rows=200, seed=3))
    other = _files(write_demo_dataset(tmp_path / "other", rows=200, seed=4))
    assert one == two
    assert one != other
    assert sorted(one) == ["test/part-00000.csv", "train/part-00000.csv", "val/part-00000.csv"]


def test_splits_columns_and_labels(tmp_path: Path) -> None:
    root = write_demo_dataset(tmp_path / "d")
    rows = {split: _csv_rows(root / split / "part-00000.csv") for split in SPLITS}
    assert {split: len(r) for split, r in rows.items()} == {"train": 1400, "val": 300, "test": 300}
    everything = [row for split in SPLITS for row in rows[split]]
    assert list(everything[0]) == list(DEMO_COLUMNS)
    ids = [int(r["customer_id"]) for r in everything]
    assert len(set(ids)) == len(ids) == 2000
    labels = [int(r["target"]) for r in everything]
    assert set(labels) == {0, 1}
    assert 0.3 < sum(labels) / len(labels) < 0.7
    assert {r["feature3"] for r in everything} == {"A", "B", "C", "D", "E"}
    missing = sum(1 for r in everything if r["feature2"] == "")
    assert 0 < missing < 100
    float(everything[0]["feature1"])


def test_parquet_matches_csv(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    csv_root = write_demo_dataset(tmp_path / "csv", rows=100, seed=1)
    pq_root = write_demo_dataset(tmp_path / "pq", rows=100, seed=1, fmt="parquet")
    for split in SPLITS:
        from_csv = pd.read_csv(csv_root / split / "part-00000.csv")
        from_pq = pd.read_parquet(pq_root / split / "part-00000.parquet")
        pd.testing.assert_frame_equal(from_csv, from_pq, check_dtype=False)
    assert _files(pq_root) == _files(write_demo_dataset(tmp_path / "pq2", rows=100, seed=1, fmt="parquet"))


def test_demo_hyperparameters_match_the_table() -> None:
    hp = demo_hyperparameters()
    assert isinstance(hp, TabularClassifierHyperparameters)  # the reference script's knobs are set
    assert hp.full_field_list == list(DEMO_COLUMNS)
    assert (hp.id_name, hp.label_name) == ("customer_id", "target")
    assert hp.tab_field_list == ["feature1", "feature2"]
    assert hp.cat_field_list == ["feature3"]
    assert TabularClassifierHyperparameters.from_sagemaker(hp.to_sagemaker()) == hp


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"rows": 5}, "rows"), ({"seed": -1}, "seed"), ({"fmt": "json"}, "fmt"), ({"rows": True}, "rows")],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        write_demo_dataset(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
