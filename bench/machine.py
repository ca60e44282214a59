"""What the benchmark ran on: CPUs, memory, load, and the versions of everything timed."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from bench.procs import REPO_ROOT

__all__ = ["machine_lines"]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _cpus() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable (nproc), {os.cpu_count()} online"


def _dist(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        return "not found"
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def _cdk_cli() -> str:
    package = REPO_ROOT / "node_modules" / "aws-cdk" / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "not installed"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    try:
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return f"{commit} + uncommitted changes" if dirty else commit


def machine_lines() -> list[str]:
    """Markdown bullet lines describing the machine and the versions."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [
        f"- CPU: {_cpu_model()}; {_cpus()}",
        f"- memory: {_memory_gib()}; load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); Node {_node()}",
        f"- aws-cdk-lib {_dist('aws-cdk-lib')}, jsii {_dist('jsii')}, constructs {_dist('constructs')}, "
        f"CDK CLI (npm aws-cdk) {_cdk_cli()}",
        f"- sagemaker {_dist('sagemaker')}, boto3 {_dist('boto3')}, botocore {_dist('botocore')}, "
        f"pydantic {_dist('pydantic')}",
        f"- constructs_lib commit {_commit()}",
    ]
