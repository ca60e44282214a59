"""Determinism: ``python app.py`` twice, in separate processes with different hash seeds, writes
byte-identical templates and assets, with no absolute path in them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.netguard import guarded_env
from synth_support import ROOT

pytestmark = pytest.mark.slow


def _env(outdir: Path, seed: str, staging: Path) -> dict[str, str]:
    env = guarded_env()
    env.update(
        {
            "PYTHONHASHSEED": seed,
            "CDK_OUTDIR": str(outdir),
            "CONSTRUCTS_LIB_STAGING_DIR": str(staging),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            # CDK's built-in CloudFormation validation adds ~7 s per process and changes no output.
            "CDK_VALIDATION": "false",
        }
    )
    env.pop("CDK_DEFAULT_REGION", None)
    return env


@pytest.fixture(scope="module")
def two_synths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("determinism")
    outs = (base / "a", base / "b")
    procs = [
        subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=_env(out, seed, base / f"staging-{seed}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out, seed in zip(outs, ("1", "4242"), strict=True)
    ]
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-4000:]
    return outs


def test_templates_and_assets_are_byte_identical(two_synths: tuple[Path, Path]) -> None:
    a, b = two_synths
    names = sorted(p.name for p in a.iterdir() if p.suffix == ".json" or p.name.startswith("asset."))
    names = [n for n in names if n not in ("tree.json", "manifest.json")]
    assert any(n.endswith(".template.json") for n in names)
    assert names == sorted(
        p.name
        for p in b.iterdir()
        if (p.suffix == ".json" or p.name.startswith("asset."))
        and p.name not in ("tree.json", "manifest.json")
    )
    for name in names:
        pa, pb = a / name, b / name
        if pa.is_dir():
            continue
        assert pa.read_bytes() == pb.read_bytes(), name


def test_no_absolute_paths_in_templates(two_synths: tuple[Path, Path]) -> None:
    a, _ = two_synths
    for template in a.glob("*.template.json"):
        text = template.read_text()
        for marker in (str(ROOT), os.path.expanduser("~"), "/tmp/", str(a)):
            assert marker not in text, (template.name, marker)
