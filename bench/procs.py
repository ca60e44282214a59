"""Child processes for the benchmarks: an offline, quiet environment and wall time + peak memory per run."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO_ROOT", "Run", "bench_env", "pycache_prefix", "run_python"]

#: The repository root (the parent of ``bench/``); children run here so ``constructs_lib`` and ``bench``
#: import without an install.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Offline and quiet: no jsii Node-20 banner, no CLI telemetry, no SageMaker v2 banner, no instance-metadata
#: probing (the same as the Makefile exports).
OFFLINE_ENV: Mapping[str, str] = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "true",
    "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


_PYCACHE_PREFIX: list[str] = []


def pycache_prefix() -> str:
    """The bytecode cache of every child of this benchmark run: one temporary directory (removed when the
    run ends), so every app runs from cached bytecode after its unrecorded warm-up run, as from an
    installed package, and nothing is written into the source tree or site-packages."""
    if not _PYCACHE_PREFIX:
        directory = tempfile.mkdtemp(prefix="bench-pycache-")
        atexit.register(shutil.rmtree, directory, True)
        _PYCACHE_PREFIX.append(directory)
    return _PYCACHE_PREFIX[0]


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: the caller's, plus :data:`OFFLINE_ENV`, with the repository root
    first on ``PYTHONPATH``, any AWS profile or credentials of the machine removed, bytecode cached in
    :func:`pycache_prefix` (``PYTHONPYCACHEPREFIX``; a ``PYTHONDONTWRITEBYTECODE`` of the caller is dropped:
    with it, every module without a ``__pycache__`` entry, an editable checkout's own, is compiled from
    source in every run, which no installed package does), the re-synth cache off
    (``CONSTRUCTS_LIB_CACHE=off``), then ``extra``."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("AWS_PROFILE", "AWS_ACCESS_KEY", "AWS_SECRET", "AWS_SESSION_TOKEN")):
            del env[key]
    env.update(OFFLINE_ENV)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache_prefix()
    # The re-synth cache is off unless a measurement asks for it (``extra``): every child builds for real,
    # and nothing is written to the user's cache directory.
    env["CONSTRUCTS_LIB_CACHE"] = "off"
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Run:
    """One finished child process.

    Attributes:
        seconds: wall time from start to exit, seen by the parent.
        cpu_seconds: user + system CPU time of the child and of the children it reaped (the jsii Node
            process): far less sensitive than wall time to other work on a shared machine.
        max_rss_mib: the child's peak resident memory (``wait4`` rusage; includes the children it reaped).
        stdout: its standard output.
        stderr: its standard error (tail only is kept).
    """

    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    stdout: str
    stderr: str


def run_python(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 900.0,
    python: str = sys.executable,
    cwd: str | Path | None = None,
) -> Run:
    """Run ``python args...`` in ``cwd`` (default: the repository root); raise ``RuntimeError`` (with its stderr) on failure.

    The child is reaped with ``os.wait4`` so its own peak RSS is read, not the running maximum over all
    children that ``getrusage(RUSAGE_CHILDREN)`` would give.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [python, *args],
            cwd=REPO_ROOT if cwd is None else cwd,
            env=dict(env) if env is not None else bench_env(),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited with {proc.returncode} after {seconds:.1f} s:\n{stderr[-4000:]}"
        )
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024.0,
        stdout=stdout,
        stderr=stderr[-4000:],
    )
