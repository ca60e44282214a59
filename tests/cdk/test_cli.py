"""The real CDK CLI (pinned in package.json) synthesizes app.py offline, with an empty HOME."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.netguard import guarded_env
from synth_support import ROOT, Synth

pytestmark = pytest.mark.slow

CDK = ROOT / "node_modules" / ".bin" / "cdk"


def _strip_paths(template: dict) -> dict:  # type: ignore[type-arg]
    for resource in template.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        metadata.pop("aws:cdk:path", None)
        if not metadata:
            resource.pop("Metadata", None)
    return template


@pytest.mark.skipif(not CDK.exists() or shutil.which("node") is None, reason="npm ci has not been run")
def test_cdk_synth_offline(tmp_path: Path, example_app: dict[str, Synth]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "cdk.out"
    env = guarded_env()
    env.update(
        {
            "HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DISABLE_VERSION_CHECK": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CONSTRUCTS_LIB_STAGING_DIR": str(tmp_path / "staging"),
        }
    )
    env.pop("CDK_DEFAULT_REGION", None)
    proc = subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Template validation found issues" not in proc.stderr
    for name, synth in example_app.items():
        cli = _strip_paths(json.loads((out / f"{name}.template.json").read_text()))
        # the same template as the in-process synth, except code-asset hashes if a script changed meanwhile
        assert sorted(cli["Resources"]) == sorted(synth.json["Resources"]), name
        assert cli["Parameters"] == synth.json["Parameters"]
