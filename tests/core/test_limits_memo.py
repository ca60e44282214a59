"""The SageMaker limits memo (constructs_lib/limits.py): a warm process validates configs without importing
botocore, the memo holds exactly what botocore's model publishes, a changed model reads another memo, and a
broken memo is refused with a warning and rewritten.

GIVEN a cache directory of the test's own (``CONSTRUCTS_LIB_CACHE``; the suite runs with the caches off) and a
fresh Python process per step (the memo is read once per process), WHEN configs are validated, THEN ...
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib import cachedir, limits

ROOT = Path(__file__).resolve().parents[2]

#: Validates the seed's training config, the seed DAG's configs and the registration config (every config
#: module that reads a limit), then prints whether botocore was imported and every memoized shape as JSON.
_PROBE = """
import json, sys
from constructs_lib.examples import lifecycle_template, seed_dag_template, seed_training_config
seed_training_config("s3://my-bucket/scripts/sourcedir.tar.gz")
seed_dag_template("us-east-1")
lifecycle_template("us-east-1")
from constructs_lib import limits
limits.shape("PipelineDefinition")
print("botocore" in sys.modules)
memo = limits._memo()
print(json.dumps(sorted(memo.shapes) if memo else None))
"""


def _probe(cache_dir: Path | str, home: Path | None = None) -> tuple[bool, list[str] | None, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), cachedir.CACHE_ENV: str(cache_dir)}
    if home is not None:
        env["HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported, shapes = proc.stdout.strip().splitlines()[-2:]
    return imported == "True", json.loads(shapes), proc.stderr


def _memo_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "limits").glob("*.json"))


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A cache directory after one cold process (which read botocore and wrote the memo)."""
    cache_dir = tmp_path_factory.mktemp("limits-cache")
    imported, shapes, _ = _probe(cache_dir)
    assert imported, "the cold process reads the limits from botocore"
    assert shapes, "and memoizes them"
    return cache_dir, shapes


def test_a_warm_process_validates_configs_without_botocore(warm: tuple[Path, list[str]]) -> None:
    cache_dir, shapes = warm
    imported, again, stderr = _probe(cache_dir)
    assert not imported, "every limit came from the memo"
    assert again == shapes
    assert "CacheEntryIgnored" not in stderr
    assert len(_memo_files(cache_dir)) == 1


def test_the_memo_holds_what_botocore_publishes(warm: tuple[Path, list[str]]) -> None:
    """Each memoized shape equals the metadata of that shape in botocore's own service model."""
    cache_dir, shapes = warm
    (memo,) = _memo_files(cache_dir)
    body = json.loads(memo.read_bytes().partition(b"\n")[2])
    model = limits.isolated_botocore_session().get_service_model("sagemaker")
    assert sorted(body) == shapes
    for name in shapes:
        md = model.shape_for(name).metadata
        assert body[name] == {
            "name": name,
            "min": md.get("min"),
            "max": md.get("max"),
            "pattern": md.get("pattern"),
            "enum": list(md.get("enum", ())),
        }, name


def test_the_fingerprinted_directory_is_the_one_botocore_loads() -> None:
    """The memo is keyed by the files of the model directory botocore's own loader picks (newest API
    version) -- the one the real model is read from."""
    files = limits._model_files()
    assert files is not None
    loader = limits._shared_loader()
    latest = loader.determine_latest_version("sagemaker", "service-2")
    _, path = loader.load_data_with_path(f"sagemaker/{latest}/service-2")
    assert Path(path).parent.resolve() == files[0].parent.resolve()
    assert any(p.name.startswith("service-2.") for p in files)


def test_a_changed_model_file_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "service-2.json.gz"
    model.write_bytes(b"model")
    monkeypatch.setattr(limits, "_model_files", lambda: [model])
    first = limits.model_fingerprint()
    os.utime(model, ns=(0, 1_000_000_000))
    touched = limits.model_fingerprint()
    model.write_bytes(b"model, another botocore")
    os.utime(model, ns=(0, 1_000_000_000))
    rewritten = limits.model_fingerprint()
    assert len({first, touched, rewritten}) == 3
    path = limits.memo_path({cachedir.CACHE_ENV: str(tmp_path / "c")})
    assert path is not None and rewritten is not None and rewritten[:32] in path.name


def test_no_memo_when_the_cache_is_off_or_a_customer_model_exists(tmp_path: Path) -> None:
    assert limits.memo_path({cachedir.CACHE_ENV: "off"}) is None
    home = tmp_path / "home"
    (home / ".aws" / "models" / "sagemaker").mkdir(parents=True)
    imported, shapes, _ = _probe(tmp_path / "cache", home=home)
    assert imported and shapes is None, "botocore's loader would prefer ~/.aws/models: always read botocore"
    assert not (tmp_path / "cache" / "limits").exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data.replace(b'"max":', b'"max":1', 1), id="corrupted-body"),
        pytest.param(lambda data: b"not a memo", id="no-header"),
        pytest.param(lambda data: data.replace(b'"schema": 1', b'"schema": 99', 1), id="other-schema"),
    ],
)
def test_a_broken_memo_is_refused_with_a_warning_and_rewritten(
    warm: tuple[Path, list[str]], tmp_path: Path, damage: object
) -> None:
    source, shapes = warm
    cache_dir = tmp_path / "cache"
    (cache_dir / "limits").mkdir(parents=True)
    (memo,) = _memo_files(source)
    target = cache_dir / "limits" / memo.name
    target.write_bytes(damage(memo.read_bytes()))  # type: ignore[operator]
    imported, again, stderr = _probe(cache_dir)
    assert imported, "a refused memo is never used: the limits come from botocore"
    assert "CacheEntryIgnored" in stderr and cachedir.CACHE_ENTRY_IGNORED_ID in stderr, stderr[-2000:]
    assert again == shapes
    assert target.read_bytes() == memo.read_bytes(), "the memo is rewritten whole"
    imported, _, stderr = _probe(cache_dir)
    assert not imported and "CacheEntryIgnored" not in stderr
