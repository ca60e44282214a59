"""Whole-process synth time of the example pipeline: ours (constructs_lib) against the hand-written peer.

Each run is a fresh ``python bench/<app>.py OUTDIR`` that imports everything, builds the definition and
synthesizes into a temporary directory; runs alternate A/B/A/B so drift hits both equally.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.procs import run_python
from bench.stats import Summary, alternate, ratio, summarize

__all__ = ["APPS", "OverheadResult", "definitions_match", "measure_overhead"]

#: label -> (script, extra arguments)
APPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "baseline": ("bench/baseline_app.py", ()),
    "ours": ("bench/ours_app.py", ()),
    "ours-local": ("bench/ours_app.py", ("--local",)),
}


@dataclass(frozen=True)
class OverheadResult:
    """Whole-process synth wall times, CPU times and peak RSS, per app label."""

    seconds: dict[str, Summary]
    cpu_seconds: dict[str, Summary]
    rss_mib: dict[str, Summary]

    def ratio(self, label: str) -> float:
        """``label`` / baseline, ratio of median wall times."""
        return ratio(self.seconds[label], self.seconds["baseline"])

    def cpu_ratio(self, label: str) -> float:
        """``label`` / baseline, ratio of median CPU times."""
        return ratio(self.cpu_seconds[label], self.cpu_seconds["baseline"])


def _runner(label: str, rss: dict[str, list[float]], cpu: dict[str, list[float]]) -> Callable[[], float]:
    script, extra = APPS[label]

    def run() -> float:
        with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as outdir:
            result = run_python([script, outdir, *extra])
            if not any(Path(outdir).glob("*.template.json")):
                raise RuntimeError(f"{script} synthesized no template into {outdir}")
        rss[label].append(result.max_rss_mib)
        cpu[label].append(result.cpu_seconds)
        return result.seconds

    return run


def measure_overhead(pairs: int, labels: tuple[str, ...] = ("baseline", "ours")) -> OverheadResult:
    """Alternate the apps ``labels`` ``pairs`` times (after one unrecorded warm-up run of each)."""
    rss: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    runs = alternate([_runner(label, rss, cpu) for label in labels], pairs)
    # the warm-up runs' CPU and RSS are recorded too; keep only the timed ones
    return OverheadResult(
        seconds={label: summarize(values) for label, values in zip(labels, runs, strict=True)},
        cpu_seconds={label: summarize(values[-pairs:]) for label, values in cpu.items()},
        rss_mib={label: summarize(values[-pairs:]) for label, values in rss.items()},
    )


_DEFINITIONS_SCRIPT = """
import json
from bench import baseline_app as b
from constructs_lib.examples import seed_training_config
from constructs_lib.template import PipelineBuilderTemplate

theirs = json.loads(b.pipeline_definition())
template = PipelineBuilderTemplate.single_step(
    seed_training_config(b.SOURCE_DIR), region=b.REGION, role=b.ROLE_ARN, artifact_root=f"s3://{b.BUCKET_NAME}"
)
ours = template.build(b.PIPELINE_NAME).definition
print(json.dumps({"equal": ours == theirs, "ours": ours, "theirs": theirs}))
"""


def definitions_match() -> tuple[bool, str]:
    """Build both definitions (same names, bucket and role) in a child and compare them as JSON values.

    Returns ``(equal, detail)``; ``detail`` names the first differing top-level key when they differ.
    """
    result = run_python(["-c", _DEFINITIONS_SCRIPT])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["equal"]:
        return True, "identical (same names, bucket and role substituted)"
    ours, theirs = data["ours"], data["theirs"]
    keys = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    return False, f"differ in {', '.join(keys)}"
