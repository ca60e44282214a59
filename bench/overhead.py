"""Whole-process synth time of the example pipeline: ours (constructs_lib) against the hand-written peer,
and a warm re-synth against the floor of any CDK app (one bucket).

Each run is a fresh ``python bench/<app>.py OUTDIR`` that imports everything, builds the definition and
synthesizes into a temporary directory; runs alternate A/B/A/B so drift hits both equally. The re-synth
cache (``CONSTRUCTS_LIB_CACHE``) is set per app: ``cold`` rows get a new, empty cache directory on every run
(the first synth: build, then store), ``warm`` rows share one directory that their unrecorded warm-up run
fills (every timed run is a hit), and the apps without constructs_lib run with the cache off.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.procs import bench_env, run_python
from bench.stats import Summary, alternate, ratio, summarize

__all__ = ["APPS", "CACHE_MODES", "OverheadResult", "cache_env", "definitions_match", "measure_overhead"]

#: label -> (script, extra arguments, re-synth cache: ``off``, ``cold`` or ``warm``)
APPS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "baseline": ("bench/baseline_app.py", (), "off"),
    "ours": ("bench/ours_app.py", (), "cold"),
    "ours-local": ("bench/ours_app.py", ("--local",), "cold"),
    "one-bucket": ("bench/one_bucket_app.py", (), "off"),
    "ours-warm": ("bench/ours_app.py", (), "warm"),
    "ours-local-warm": ("bench/ours_app.py", ("--local",), "warm"),
}

#: The cache settings of :data:`APPS`.
CACHE_MODES = ("off", "cold", "warm")


@dataclass(frozen=True)
class OverheadResult:
    """Whole-process synth wall times, CPU times and peak RSS, per app label."""

    seconds: dict[str, Summary]
    cpu_seconds: dict[str, Summary]
    rss_mib: dict[str, Summary]
    #: per ``warm`` label: whether one more run on its cache, after the timed ones, imported the SageMaker
    #: SDK (``False``: the timed runs were cache hits).
    warm_imports_sdk: dict[str, bool]

    def ratio(self, label: str, base: str = "baseline") -> float:
        """``label`` / ``base`` (default the hand-written app), ratio of median wall times."""
        return ratio(self.seconds[label], self.seconds[base])

    def cpu_ratio(self, label: str, base: str = "baseline") -> float:
        """``label`` / ``base``, ratio of median CPU times."""
        return ratio(self.cpu_seconds[label], self.cpu_seconds[base])

    def rss_ratio(self, label: str, base: str = "baseline") -> float:
        """``label`` / ``base``, ratio of median peak RSS."""
        return ratio(self.rss_mib[label], self.rss_mib[base])


def cache_env(mode: str, warm_dir: Path) -> dict[str, str]:
    """The child environment for cache ``mode``: ``off``; ``cold``, a new empty directory under
    ``warm_dir``'s parent; ``warm``, ``warm_dir``."""
    if mode == "off":
        return bench_env()
    if mode == "warm":
        return bench_env({"CONSTRUCTS_LIB_CACHE": str(warm_dir)})
    if mode == "cold":
        fresh = tempfile.mkdtemp(prefix="cold-", dir=warm_dir.parent)
        return bench_env({"CONSTRUCTS_LIB_CACHE": str(Path(fresh) / "cache")})
    raise ValueError(f"cache mode is one of {CACHE_MODES}, not {mode!r}")


def _runner(
    label: str, rss: dict[str, list[float]], cpu: dict[str, list[float]], caches: Path
) -> Callable[[], float]:
    script, extra, mode = APPS[label]
    warm_dir = caches / f"warm-{label}"

    def run() -> float:
        with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as outdir:
            result = run_python([script, outdir, *extra], env=cache_env(mode, warm_dir))
            if not any(Path(outdir).glob("*.template.json")):
                raise RuntimeError(f"{script} synthesized no template into {outdir}")
        rss[label].append(result.max_rss_mib)
        cpu[label].append(result.cpu_seconds)
        return result.seconds

    return run


def measure_overhead(pairs: int, labels: tuple[str, ...] = ("baseline", "ours")) -> OverheadResult:
    """Alternate the apps ``labels`` ``pairs`` times (after one unrecorded warm-up run of each, which also
    fills the warm rows' cache)."""
    rss: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory(prefix="bench-caches-") as caches:
        runs = alternate([_runner(label, rss, cpu, Path(caches)) for label in labels], pairs)
        warm = {
            label: imports_sdk(label, Path(caches) / f"warm-{label}")
            for label in labels
            if APPS[label][2] == "warm"
        }
    # the warm-up runs' CPU and RSS are recorded too; keep only the timed ones
    return OverheadResult(
        seconds={label: summarize(values) for label, values in zip(labels, runs, strict=True)},
        cpu_seconds={label: summarize(values[-pairs:]) for label, values in cpu.items()},
        rss_mib={label: summarize(values[-pairs:]) for label, values in rss.items()},
        warm_imports_sdk=warm,
    )


_SDK_PROBE = """
import sys, tempfile
sys.argv = [sys.argv[0], tempfile.mkdtemp(), *sys.argv[1:]]
from bench import ours_app
ours_app.main()
print("SAGEMAKER_IMPORTED=" + str("sagemaker" in sys.modules))
"""


def imports_sdk(label: str, cache_dir: Path) -> bool:
    """Run ``label``'s app once more on ``cache_dir`` and say whether it imported the SageMaker SDK."""
    _, extra, _ = APPS[label]
    result = run_python(["-c", _SDK_PROBE, *extra], env=bench_env({"CONSTRUCTS_LIB_CACHE": str(cache_dir)}))
    return "SAGEMAKER_IMPORTED=True" in result.stdout


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
