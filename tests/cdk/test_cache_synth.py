"""The re-synth cache through the CDK layer: ``app.py`` synthesized cold (two processes at once on one empty
cache), warm and with the cache off gives byte-identical templates and assets across hash seeds; the warm
synth never imports the SageMaker SDK; a broken entry is ignored with a Python warning and a CDK annotation
warning, and the template is unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from support.netguard import guarded_env
from synth_support import ACCOUNT, CONTEXT, REGION, ROOT

from constructs_lib import cache
from constructs_lib.cache import CACHE_ENTRY_IGNORED_ID, CacheEntryIgnored
from constructs_lib.constructs import PyTorchTrainingPipeline
from constructs_lib.examples import seed_training_config

#: Runs ``app.py`` as ``cdk synth`` does (``CDK_OUTDIR``), then says whether the SDK was imported.
_PROBE = textwrap.dedent(
    """
    import runpy, sys
    sys.argv = ["app.py"]
    try:
        runpy.run_path("app.py", run_name="__main__")
    except SystemExit as exc:
        if exc.code:
            raise
    print("SAGEMAKER_IMPORTED=" + str("sagemaker" in sys.modules))
    """
)

#: Files of a cloud assembly that must be byte-identical (the manifest and tree name the output directory).
_SKIPPED = ("tree.json", "manifest.json")


def _start(outdir: Path, seed: str, cache_setting: str, staging: Path) -> subprocess.Popen[str]:
    env = guarded_env()
    env.update(
        {
            "PYTHONHASHSEED": seed,
            "CDK_OUTDIR": str(outdir),
            "CONSTRUCTS_LIB_STAGING_DIR": str(staging),
            cache.CACHE_ENV: cache_setting,
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            # CDK's built-in CloudFormation validation adds ~7 s per process and changes no output.
            "CDK_VALIDATION": "false",
        }
    )
    env.pop("CDK_DEFAULT_REGION", None)
    return subprocess.Popen(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> bool:
    """Wait for a synth; True when it imported the SageMaker SDK."""
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-4000:]
    assert "CacheEntryIgnored" not in stderr and "CacheNotWritten" not in stderr, stderr[-2000:]
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith("SAGEMAKER_IMPORTED=")]
    return line == "SAGEMAKER_IMPORTED=True"


def _assembly_files(outdir: Path) -> dict[str, bytes]:
    files = {
        p.relative_to(outdir).as_posix(): p.read_bytes()
        for p in sorted(outdir.rglob("*"))
        if p.is_file() and p.name not in _SKIPPED
    }
    assert any(name.endswith(".template.json") for name in files)
    return files


@pytest.fixture(scope="module")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, bool]]:
    """``label -> (cloud assembly, imported the SDK)`` for: two cold synths started together on one empty
    cache, then a warm synth on that cache and one with the cache off (each pair in parallel)."""
    base = tmp_path_factory.mktemp("cache-synth")
    shared = base / "cache"
    runs: dict[str, tuple[Path, bool]] = {}
    for batch in (
        (("cold-a", "1", str(shared)), ("cold-b", "4242", str(shared))),
        (("warm", "77", str(shared)), ("off", "99", "off")),
    ):
        started = [
            (label, base / label, _start(base / label, seed, setting, base / f"staging-{label}"))
            for label, seed, setting in batch
        ]
        for label, out, proc in started:
            runs[label] = (out, _finish(proc))
        if batch[0][0] == "cold-a":
            entries = sorted(p.name for p in shared.iterdir() if p.name != "limits")
            # the SageMaker limits memo of constructs_lib.limits: one file for the installed botocore model
            memos = [p.name for p in (shared / "limits").iterdir()]
            assert len(memos) == 1 and memos[0].startswith("sagemaker-"), memos
            pipelines = [
                r
                for f in (base / "cold-a").glob("*.template.json")
                for r in json.loads(f.read_text(encoding="utf-8"))["Resources"].values()
                if r["Type"] == "AWS::SageMaker::Pipeline"
            ]
            # one per pipeline of app.py
            assert len(entries) == len(pipelines) and all(n.endswith(".json") for n in entries), entries
    return runs


pytestmark = pytest.mark.slow


def test_cold_warm_and_off_are_byte_identical(synths: dict[str, tuple[Path, bool]]) -> None:
    reference = _assembly_files(synths["off"][0])
    for label in ("cold-a", "cold-b", "warm"):
        files = _assembly_files(synths[label][0])
        assert sorted(files) == sorted(reference), label
        for name, data in reference.items():
            assert files[name] == data, (label, name)


def test_the_warm_synth_does_not_import_the_sdk(synths: dict[str, tuple[Path, bool]]) -> None:
    assert synths["warm"][1] is False
    assert synths["off"][1] is True  # the probe does see an import when there is one


def _stack_template(outdir: Path) -> tuple[PyTorchTrainingPipeline, dict[str, object]]:
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stack = cdk.Stack(app, "Cached", env=cdk.Environment(account=ACCOUNT, region=REGION))
    pipeline = PyTorchTrainingPipeline(
        stack,
        "Training",
        config=seed_training_config("s3://my-bucket/scripts/sourcedir.tar.gz"),
        pipeline_name="cached-training",
    )
    return pipeline, Template.from_stack(stack).to_json()


def _warnings_of(pipeline: PyTorchTrainingPipeline) -> list[str]:
    return [json.dumps(e.data) for e in pipeline.node.metadata if e.type == "aws:cdk:warning"]


def test_a_hit_and_a_broken_entry_through_the_construct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staging_dir: Path
) -> None:
    # GIVEN a cache of its own and a first synth that fills it
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    first, template = _stack_template(tmp_path / "a")
    assert first.built.pipeline is not None
    (entry,) = (tmp_path / "cache").glob("*.json")

    # WHEN the same stack is synthesized again THEN the build comes from the cache, same template
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)
        hit, hit_template = _stack_template(tmp_path / "b")
    assert hit.built.pipeline is None
    assert hit_template == template
    assert _warnings_of(hit) == []

    # WHEN the entry is truncated THEN it is ignored with both warnings, and the template is unchanged
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.warns(CacheEntryIgnored, match=CACHE_ENTRY_IGNORED_ID):
        rebuilt, rebuilt_template = _stack_template(tmp_path / "c")
    assert rebuilt.built.pipeline is not None
    assert rebuilt_template == template
    (warning,) = _warnings_of(rebuilt)
    assert CACHE_ENTRY_IGNORED_ID in warning and "was not used" in warning and "truncated" in warning
    assert os.path.getsize(entry) > 100  # replaced by the fresh build
