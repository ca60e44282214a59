"""checkov (CloudFormation framework) on every synthesized template of the tests: zero failed checks.

checkov runs once, offline (``--skip-download``, no external checks, the network guard in its process),
over all session stacks of ``conftest.py`` (``STACK_FIXTURES`` and the example app's stacks) plus two
control templates that prove the scan is live and that a resource-level skip is honoured.

A finding that is acceptable is acknowledged on its resource (``Metadata.checkov.skip`` with a comment,
added by the library), never by a global ``--skip-check``; every such skip is listed in the README's
"Acknowledged checkov findings" table with the same reason, and the table has no stale rows.

checkov pins ``boto3==1.35.49``, ``packaging<24`` and ``networkx<2.7``: installing it beside the
project would downgrade boto3/botocore/packaging, so it lives in its own venv, built once from
``checkov-requirements.lock`` (every package pinned, ``--no-deps``) into a cache directory keyed by the
lock's hash, under a file lock (parallel sessions build it once).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from support.netguard import guarded_env
from synth_support import ROOT, Synth

pytestmark = pytest.mark.slow

LOCK_FILE = Path(__file__).with_name("checkov-requirements.lock")
README = ROOT / "README.md"
#: The control templates' logical ids.
CONTROL_FAILING = "ControlBucketWithoutLogs"
CONTROL_SKIPPED = "ControlBucketSkipped"
CONTROL_COMMENT = "control: a resource-level skip with a reason"


def _cache_root() -> Path:
    """``CONSTRUCTS_LIB_TOOLS_CACHE``, else ``$XDG_CACHE_HOME/constructs_lib``, else ``~/.cache/...``."""
    explicit = os.environ.get("CONSTRUCTS_LIB_TOOLS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "constructs_lib"


def _pinned_version(package: str) -> str:
    for line in LOCK_FILE.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {LOCK_FILE.name}")


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="session")
def checkov_exe() -> Iterator[Path]:
    """The ``checkov`` script of a venv built from the lock file (reused while the lock is unchanged)."""
    digest = hashlib.sha256(
        LOCK_FILE.read_bytes() + f"{sys.version_info[:2]}".encode() + sys.base_prefix.encode()
    ).hexdigest()[:16]
    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"checkov-{digest}"
    done = venv / ".constructs_lib-complete"
    with (root / f"checkov-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            started = time.monotonic()
            steps = [
                [sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "-r", str(LOCK_FILE)],
                [str(venv / "bin" / "python"), "-m", "pip", "check"],
            ]  # fmt: skip
            build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            for step in steps:
                proc = _run(step, timeout=900, env=build_env)
                if proc.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    pytest.fail(
                        f"could not build the checkov venv ({' '.join(step[-3:])}): "
                        f"{(proc.stdout + proc.stderr)[-3000:]}"
                    )
            done.write_text(LOCK_FILE.read_text(encoding="utf-8"), encoding="utf-8")
            print(f"checkov venv built in {time.monotonic() - started:.1f} s at {venv}")
    yield venv / "bin" / "checkov"


def _control_template() -> dict[str, Any]:
    """A bucket with no access logs (CKV_AWS_18 must fail) and the same bucket skipping CKV_AWS_18."""
    bare = {"Type": "AWS::S3::Bucket", "Properties": {}}
    skipped = {**bare, "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": CONTROL_COMMENT}]}}}
    return {"Resources": {CONTROL_FAILING: bare, CONTROL_SKIPPED: skipped}}


def _stack_fixtures(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """``STACK_FIXTURES`` of this directory's conftest.py (two conftest modules exist: find ours)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if Path(str(getattr(plugin, "__file__", ""))) == Path(__file__).with_name("conftest.py"):
            return tuple(plugin.STACK_FIXTURES)
    raise AssertionError("tests/cdk/conftest.py is not loaded")


def _session_stacks(request: pytest.FixtureRequest) -> dict[str, Synth]:
    """Every synthesized session stack, once each: the example app's, then the other STACK_FIXTURES."""
    stacks: dict[str, Synth] = {
        f"app-{name}": synth for name, synth in request.getfixturevalue("example_app").items()
    }
    for fixture in _stack_fixtures(request):
        try:
            synth = request.getfixturevalue(fixture)
        except pytest.skip.Exception:
            continue
        if all(synth is not seen for seen in stacks.values()):
            stacks[fixture] = synth
    return stacks


def _construct_paths(synth: Synth) -> dict[str, str]:
    """Logical id -> construct path (``Stack/Training/Storage/AccessLogBucket/Resource``) of ``synth``."""
    return {
        str(synth.stack.resolve(c.logical_id)): c.node.path
        for c in synth.stack.node.find_all()
        if isinstance(c, cdk.CfnElement) and cdk.Stack.of(c) is synth.stack
    }


class Scan:
    """checkov's report over all templates."""

    def __init__(
        self,
        report: dict[str, Any],
        templates: dict[str, dict[str, Any]],
        paths: dict[str, dict[str, str]],
        attempts: str,
    ) -> None:
        self.report = report
        self.templates = templates  # file name -> template
        self.paths = paths  # file name -> logical id -> construct path
        self.network_attempts = attempts

    def results(self, kind: str) -> list[dict[str, Any]]:
        return list(self.report["results"][kind])

    def cdk_path(self, result: dict[str, Any]) -> str:
        logical = result["resource"].split(".", 1)[1]
        return self.paths.get(result["file_path"].lstrip("/"), {}).get(logical, logical)

    def describe(self, result: dict[str, Any]) -> str:
        return f"{result['check_id']} {result['check_name']!r} on {self.cdk_path(result)} ({result['file_path']})"


@pytest.fixture(scope="module")
def scan(checkov_exe: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    out = tmp_path_factory.mktemp("checkov")
    templates_dir = out / "templates"
    templates_dir.mkdir()
    stacks = _session_stacks(request)
    templates = {f"{name}.template.json": synth.json for name, synth in stacks.items()}
    paths = {f"{name}.template.json": _construct_paths(synth) for name, synth in stacks.items()}
    templates["control.template.json"] = _control_template()
    for file_name, template in templates.items():
        (templates_dir / file_name).write_text(json.dumps(template, indent=1), encoding="utf-8")
    attempts_log = out / "network-attempts.log"
    env = guarded_env()
    env["CONSTRUCTS_LIB_NETGUARD_LOG"] = str(attempts_log)
    env["HOME"] = str(out)  # nothing from the user's checkov/bridgecrew config
    env.pop("BC_API_KEY", None)
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"  # else it asks pypi.org for a newer checkov
    started = time.monotonic()
    proc = _run(
        [str(checkov_exe), "--directory", str(templates_dir), "--framework", "cloudformation",
         "--skip-download", "--output", "json", "--compact"],
        env=env,
        cwd=out,
        timeout=600,
    )  # fmt: skip
    print(f"checkov over {len(templates)} templates: {time.monotonic() - started:.1f} s")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: some check failed (the control does)
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    (cfn,) = [r for r in reports if r["check_type"] == "cloudformation"]
    assert cfn["summary"]["parsing_errors"] == 0, proc.stderr[-3000:]
    return Scan(cfn, templates, paths, attempts_log.read_text() if attempts_log.exists() else "")


def _is_control(result: dict[str, Any]) -> bool:
    return bool(result["file_path"].endswith("/control.template.json"))


def test_no_failed_checks(scan: Scan) -> None:
    failed = sorted(scan.describe(r) for r in scan.results("failed_checks") if not _is_control(r))
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)


def test_scan_covers_every_session_stack(scan: Scan) -> None:
    scanned = {
        r["file_path"].lstrip("/") for kind in ("passed_checks", "failed_checks") for r in scan.results(kind)
    }
    assert scanned == set(scan.templates)


def test_the_scan_is_live_and_skips_are_per_resource(scan: Scan) -> None:
    """GIVEN the control template THEN CKV_AWS_18 fails on the bare bucket and is skipped, with its
    comment, on the bucket that carries the resource-level skip."""
    control_failed = {
        r["resource"]
        for r in scan.results("failed_checks")
        if _is_control(r) and r["check_id"] == "CKV_AWS_18"
    }
    assert control_failed == {f"AWS::S3::Bucket.{CONTROL_FAILING}"}
    control_skipped = [r for r in scan.results("skipped_checks") if _is_control(r)]
    assert [
        (r["check_id"], r["resource"], r["check_result"]["suppress_comment"]) for r in control_skipped
    ] == [("CKV_AWS_18", f"AWS::S3::Bucket.{CONTROL_SKIPPED}", CONTROL_COMMENT)]


def test_checkov_ran_offline_at_the_locked_version(scan: Scan) -> None:
    assert scan.network_attempts == ""
    assert scan.report["summary"]["checkov_version"] == _pinned_version("checkov")


def _readme_rows() -> list[dict[str, str]]:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- checkov-findings:start -->\n(.*?)<!-- checkov-findings:end -->", text, re.S)
    assert match, "README.md has no checkov-findings table"
    lines = [ln for ln in match.group(1).splitlines() if ln.startswith("|")][2:]  # header, separator
    rows = []
    for line in lines:
        check, where, _when, reason = (cell.strip() for cell in line.strip().strip("|").split("|"))
        rows.append({"check": check.strip("`"), "where": where.strip("`"), "reason": reason})
    return rows


def test_every_skip_is_acknowledged_in_the_readme(scan: Scan) -> None:
    """Each resource-level skip in the templates has a README row (check id, construct path, the same
    reason); each README row is used by at least one skip."""
    rows = _readme_rows()
    used: set[int] = set()
    unlisted = []
    for result in scan.results("skipped_checks"):
        if _is_control(result):
            continue
        path = scan.cdk_path(result)
        comment = result["check_result"]["suppress_comment"]
        matches = [
            i for i, row in enumerate(rows)
            if row["check"] == result["check_id"] and path.endswith(f"/{row['where']}")
            and row["reason"] == comment
        ]  # fmt: skip
        if not matches:
            unlisted.append(f"{result['check_id']} on {path}: {comment!r}")
        used.update(matches)
    assert unlisted == []
    assert [row for i, row in enumerate(rows) if i not in used] == []
