"""``python app.py`` under a hostile environment: no AWS variables, bogus credentials and profile, an empty or
unusable ``HOME``, no network at all.

Each run either works (exit 0, the same CloudFormation templates as the normal run, no traceback) or fails
with ONE clear line on stderr (no traceback). The synths run once per fault kind, concurrently, in a
module-scoped fixture (each costs 10-15 s of CPU on two cores); every child runs under the test suite's
network guard (``guarded_env()``), which logs any non-loopback connection or DNS lookup.

Notes on ``HOME``: jsii unpacks aws-cdk-lib (~200 MB) into ``~/.cache/aws/jsii/package-cache`` on first
use. The "empty HOME" runs point ``JSII_RUNTIME_PACKAGE_CACHE_ROOT`` at the warm cache so that they test
what the library and CDK need from ``HOME`` (nothing) rather than spending 20 s re-unpacking jsii's
cache. An unusable ``HOME`` is a regular *file* (root ignores permission bits, and root could create a
missing directory): nothing can be created below it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.netguard import guarded_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
SYNTH_TIMEOUT_S = 240


@dataclass(frozen=True)
class Run:
    """One ``python app.py`` under a fault."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    templates: dict[str, Any]
    network_attempts: tuple[str, ...]
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.name}: exit {self.returncode} after {self.seconds:.1f}s; stderr:\n{self.stderr[-3000:]}"
        )


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    return subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0


def _warm_jsii_cache() -> str:
    return os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT") or str(
        Path.home() / ".cache" / "aws" / "jsii" / "package-cache"
    )


#: fault name -> (tmp dir, base env) -> (command prefix, env); the command ends with ``python app.py``.
Fault = Callable[[Path, dict[str, str]], tuple[list[str], dict[str, str]]]


def _normal(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    return [], env


def _no_aws(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    # guarded_env() already drops AWS_*; this also drops AWS_EC2_METADATA_DISABLED
    return [], {k: v for k, v in env.items() if not k.startswith("AWS_")}


def _bogus_credentials(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    return [], {
        **env,
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake/secret/key/that/signs/nothing/000000",
        "AWS_SESSION_TOKEN": "bogus-token",
        "AWS_PROFILE": "doesnotexist",
    }


def _empty_home(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    home = tmp / "empty-home"
    home.mkdir()
    return [], {**env, "HOME": str(home), "JSII_RUNTIME_PACKAGE_CACHE_ROOT": _warm_jsii_cache()}


def _unusable_home(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    home = tmp / "home-is-a-file"
    home.write_text("not a directory\n")
    env = {k: v for k, v in env.items() if k != "JSII_RUNTIME_PACKAGE_CACHE_ROOT"}
    return [], {**env, "HOME": str(home)}


def _unusable_home_jsii_cache_elsewhere(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    home = tmp / "home-is-a-file"
    home.write_text("not a directory\n")
    return [], {**env, "HOME": str(home), "JSII_RUNTIME_PACKAGE_CACHE_ROOT": _warm_jsii_cache()}


def _no_network(tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    unshare = shutil.which("unshare")
    assert unshare is not None
    return [unshare, "-n"], env


FAULTS: dict[str, Fault] = {
    "normal": _normal,
    "no-aws-variables": _no_aws,
    "bogus-credentials": _bogus_credentials,
    "empty-home": _empty_home,
    "unusable-home": _unusable_home,
    "unusable-home-jsii-cache-elsewhere": _unusable_home_jsii_cache_elsewhere,
}
if _unshare_works():
    FAULTS["no-network"] = _no_network


def _synth(name: str, fault: Fault, tmp: Path) -> Run:
    tmp.mkdir(parents=True)
    out = tmp / "cdk.out"
    log = tmp / "network-attempts.log"
    env = guarded_env()
    env.update(
        {
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_OUTDIR": str(out),
            "CONSTRUCTS_LIB_STAGING_DIR": str(tmp / "staging"),
            "CONSTRUCTS_LIB_NETGUARD_LOG": str(log),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    prefix, env = fault(tmp, env)
    start = time.monotonic()
    proc = subprocess.run(
        [*prefix, sys.executable, str(APP)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_S,
        check=False,
    )
    seconds = time.monotonic() - start
    templates = (
        {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.template.json"))}
        if out.is_dir()
        else {}
    )
    attempts = tuple(log.read_text(encoding="utf-8").splitlines()) if log.exists() else ()
    return Run(name, proc.returncode, proc.stdout, proc.stderr, templates, attempts, seconds)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    if not APP.is_file():
        pytest.skip("app.py has not landed yet")
    base = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_synth, name, fault, base / name) for name, fault in FAULTS.items()}
        yield {name: future.result() for name, future in futures.items()}


def works_or_fails_in_one_line(run: Run, normal: Run) -> None:
    """The contract: exit 0 with the normal templates, or a non-zero exit with one clear stderr line."""
    assert "Traceback" not in run.stderr, run.describe()
    assert run.network_attempts == (), f"{run.name}: network access attempted: {run.network_attempts}"
    if run.returncode == 0:
        assert run.templates, run.describe()
        assert run.templates == normal.templates, f"{run.name}: templates differ from the normal synth"
    else:
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, run.describe()


def test_normal_synth(runs: dict[str, Run]) -> None:
    normal = runs["normal"]
    assert normal.returncode == 0, normal.describe()
    assert normal.templates, "no *.template.json written"
    assert "Traceback" not in normal.stderr and normal.network_attempts == ()


@pytest.mark.parametrize(
    "fault",
    [
        "no-aws-variables",
        "empty-home",
        "unusable-home-jsii-cache-elsewhere",
        pytest.param(
            "no-network",
            marks=pytest.mark.skipif(
                not _unshare_works(), reason="`unshare -n` is not permitted on this machine"
            ),
        ),
    ],
)
def test_synth_works_identically_under_fault(runs: dict[str, Run], fault: str) -> None:
    run, normal = runs[fault], runs["normal"]
    assert run.returncode == 0, run.describe()
    works_or_fails_in_one_line(run, normal)


def test_bogus_credentials_and_profile(runs: dict[str, Run]) -> None:
    works_or_fails_in_one_line(runs["bogus-credentials"], runs["normal"])


def test_unusable_home(runs: dict[str, Run]) -> None:
    works_or_fails_in_one_line(runs["unusable-home"], runs["normal"])
