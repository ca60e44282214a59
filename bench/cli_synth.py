"""``cdk synth`` through the pinned CDK CLI (what users run): the same apps as :mod:`bench.overhead`.

Each run is ``node_modules/.bin/cdk synth --app "python bench/<app>.py" --output TMP --quiet`` in an empty
temporary working directory (no ``cdk.json`` of this project: no context flags), so the time includes the
CLI's own start (Node), the app process and the CLI reading the cloud assembly back. Cache settings per app
as in :data:`bench.overhead.APPS`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.overhead import APPS, OverheadResult, cache_env
from bench.procs import REPO_ROOT, Run
from bench.stats import alternate, summarize

__all__ = ["CLI", "CLI_LABELS", "cli_version", "measure_cli", "run_cli_synth"]

#: The pinned CDK CLI (``package.json``; ``make install`` runs ``npm ci``).
CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"

#: Apps measured through the CLI, in alternation order.
CLI_LABELS: tuple[str, ...] = ("baseline", "ours", "one-bucket", "ours-warm")


def cli_version() -> str:
    """``cdk --version`` of the pinned CLI (e.g. ``2.1148.1 (build ...)``)."""
    out = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def run_cli_synth(label: str, env: dict[str, str], *, timeout: float = 900.0) -> Run:
    """One ``cdk synth`` of ``label``'s app in an empty working directory; wall time, CPU time and peak RSS
    of the CLI and everything it waited for (``os.wait4``)."""
    script, extra, _ = APPS[label]
    app = " ".join(shlex.quote(part) for part in (sys.executable, str(REPO_ROOT / script), *extra))
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-cli-{label}-") as cwd,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        outdir = Path(cwd) / "cdk.out"
        args = [str(CLI), "synth", "--app", app, "--output", str(outdir), "--quiet", "--no-notices"]
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        if proc.returncode != 0 or not any(outdir.glob("*.template.json")):
            raise RuntimeError(f"cdk synth of {label} exited with {proc.returncode}:\n{stderr[-4000:]}")
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024.0,
        stdout=stdout,
        stderr=stderr[-4000:],
    )


def measure_cli(pairs: int, labels: tuple[str, ...] = CLI_LABELS) -> OverheadResult:
    """Alternate ``cdk synth`` of ``labels`` ``pairs`` times after one unrecorded warm-up each (which fills
    the warm rows' cache)."""
    rss: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory(prefix="bench-cli-caches-") as caches:

        def runner(label: str) -> Callable[[], float]:
            warm_dir = Path(caches) / f"warm-{label}"

            def run() -> float:
                result = run_cli_synth(label, cache_env(APPS[label][2], warm_dir))
                rss[label].append(result.max_rss_mib)
                cpu[label].append(result.cpu_seconds)
                return result.seconds

            return run

        runs = alternate([runner(label) for label in labels], pairs)
    return OverheadResult(
        seconds={label: summarize(values) for label, values in zip(labels, runs, strict=True)},
        cpu_seconds={label: summarize(values[-pairs:]) for label, values in cpu.items()},
        rss_mib={label: summarize(values[-pairs:]) for label, values in rss.items()},
        warm_imports_sdk={},
    )
