"""Smoke tests of the benchmark harness (``bench/``, GitHub issue 6). Nothing here is timed: the
benchmarks' numbers are evidence for humans, these tests only check that the harness runs and reports
what it promises.

* the cold-start property (``import constructs_lib`` + validating a config imports neither the SageMaker
  SDK nor ``aws_cdk``), in a fresh interpreter;
* ``python -m bench --quick --only coldstart --out FILE``: the CLI end to end (machine header, targets,
  ``--out``), cheap because it only starts interpreters;
* the hand-written peer of the overhead bench builds the same definition as ours;
* the smallest growth case (one preprocessing step, synthesized) in a child, rendered into the growth
  table with the documented columns.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import netguard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.coldstart import COLD_START_SCRIPT  # noqa: E402
from bench.growth import GrowthResult  # noqa: E402
from bench.procs import bench_env  # noqa: E402
from bench.report import GROWTH_COLUMNS, growth_section  # noqa: E402


def _env(tmp_path: Path) -> dict[str, str]:
    # the network guard in every child; blocked attempts are logged to a file we check afterwards
    env = netguard.guarded_env(bench_env())
    env["CONSTRUCTS_LIB_NETGUARD_LOG"] = str(tmp_path / "netguard.log")
    return env


def _no_network(tmp_path: Path) -> None:
    log = tmp_path / "netguard.log"
    attempts = log.read_text(encoding="utf-8") if log.exists() else ""
    assert attempts == "", f"network access attempted: {attempts}"


def _table_header(markdown: str, first_column: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_column:
            return cells
    raise AssertionError(f"no table with first column {first_column!r} in:\n{markdown}")


def test_cold_start_imports_neither_sagemaker_nor_aws_cdk(tmp_path: Path) -> None:
    """GIVEN a fresh interpreter WHEN it imports constructs_lib and validates the seed's training config
    THEN neither sagemaker nor aws_cdk is in sys.modules (the script asserts it and exits non-zero)."""
    proc = subprocess.run(
        [sys.executable, "-c", COLD_START_SCRIPT],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip().splitlines()[-1].split(",")
    assert "sagemaker" not in loaded
    assert "aws_cdk" not in loaded
    assert "jsii" not in loaded
    _no_network(tmp_path)


@pytest.mark.slow
def test_bench_cli_quick_coldstart_writes_report(tmp_path: Path) -> None:
    """GIVEN the bench CLI WHEN run with --quick --only coldstart --out FILE THEN stdout and FILE hold the
    same report, with the machine header, the targets table and the cold-start table."""
    out = tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "coldstart", "--out", str(out)],
        cwd=tmp_path,  # anything the CLI wrote into its working directory would show up here
        env=_env(tmp_path),  # PYTHONPATH: the guard's sitecustomize, then the repository root
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = out.read_text(encoding="utf-8")
    assert proc.stdout == report
    assert "## Machine" in report
    assert "nproc" in report
    assert "sagemaker 2." in report
    assert _table_header(report, "check") == ["check", "measured", "target", "met"]
    assert _table_header(report, "process") == ["process", "median (min-max)", "IQR", "ratio of medians"]
    assert {p.name for p in tmp_path.iterdir()} <= {"report.md", "netguard.log"}
    _no_network(tmp_path)


@pytest.mark.slow
def test_smallest_growth_case_fills_the_growth_table(tmp_path: Path) -> None:
    """GIVEN the growth worker WHEN it builds and synthesizes the 1-step fan-out in a child THEN it reports
    every phase, and the rendered growth table has the documented columns."""
    result_file = tmp_path / "fanout-1.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.growth", "worker", "fanout", "1", str(result_file)],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(result_file.read_text(encoding="utf-8"))
    for key in ("definition_s", "resolution_s", "plan_s", "synth_s", "definition_chars", "rss_build_mib"):
        assert key in data, key
    assert data["n"] == 1 and data["edges"] == 0
    assert data["s3_hosted"] is False
    data.update(rss_peak_mib=data["rss_build_mib"], process_s=1.0)

    growth = GrowthResult(runs={"fanout": {1: [data]}}, sizes=(1,), synth_sizes=(1,))
    text, ratios = growth_section(growth, rounds=1)
    assert _table_header(text, "N") == list(GROWTH_COLUMNS)
    assert ratios == {"fanout": {}}
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert "inline" in row
    _no_network(tmp_path)


@pytest.mark.slow
def test_cost_counts_the_jobs_of_both_definitions(tmp_path: Path) -> None:
    """``python -m bench.cost --json``: the hand-written SDK pipeline has the repack job, ours none."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.cost", "--json"],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    _no_network(tmp_path)
    counted = json.loads(done.stdout)
    hand, ours = counted["seed DAG, hand-written SDK (repack)"], counted["seed DAG, constructs_lib"]
    assert [j["step"] for j in hand] == ["data_load", "preprocess", "train", "model-RepackModel-0"]
    assert [j["step"] for j in ours] == ["data_load", "preprocess", "train"]
    repack = hand[-1]
    assert (repack["kind"], repack["instance_type"], repack["max_runtime_seconds"]) == (
        "Training",
        "ml.m5.large",
        86400,
    )
    lifecycle = counted["lifecycle DAG, constructs_lib (+ evaluate, gate, register)"]
    assert [j["step"] for j in lifecycle] == ["data_load", "preprocess", "train", "evaluate"]


def test_the_hand_written_peer_builds_the_same_definition() -> None:
    """The overhead bench compares like with like: ``bench/baseline_app.py`` (SDK by hand) and our template
    build the same definition as JSON values (a new default of ours, like the retry policies, must be
    written into the hand-written peer too, or the ratio measures different pipelines)."""
    from bench.overhead import definitions_match

    equal, detail = definitions_match()
    assert equal, detail


def test_children_run_from_cached_bytecode_outside_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a caller with PYTHONDONTWRITEBYTECODE set (as some CI shells have) WHEN the bench builds a child's
    environment THEN the child caches bytecode (as an installed package has it) in one temporary directory of
    the run, outside the source tree, the same for every child; a child run fills it."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    first, second = bench_env(), bench_env({"CONSTRUCTS_LIB_CACHE": "off"})
    assert "PYTHONDONTWRITEBYTECODE" not in first
    prefix = Path(first["PYTHONPYCACHEPREFIX"])
    assert prefix == Path(second["PYTHONPYCACHEPREFIX"]) and prefix.is_dir()
    assert ROOT not in prefix.parents
    subprocess.run([sys.executable, "-c", "import constructs_lib.errors"], cwd=ROOT, env=first, check=True)
    assert list(prefix.rglob("errors.cpython-*.pyc")), "the child wrote no bytecode into the prefix"
