"""The re-synth cache (constructs_lib/cache.py) without CDK: what the key covers (a change to each input
misses), that a cached build equals a fresh one field by field, that a changed script misses, that broken
entries are refused with a warning, atomic writes under concurrent writers, and that a hit does not import
the SageMaker SDK.

GIVEN a cache directory of the test's own (``environ={"CONSTRUCTS_LIB_CACHE": dir}``; the suite runs with the
cache off), WHEN a template is built through :func:`build_with_cache`, THEN ...
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import cache, placeholders
from constructs_lib.builders import BUILTIN
from constructs_lib.cache import (
    CACHE_ENTRY_IGNORED_ID,
    CACHE_NOT_WRITTEN_ID,
    CacheEntryIgnored,
    CacheNotWritten,
    build_with_cache,
    cache_directory,
    cache_key,
    decode_built,
    encode_built,
    lookup,
)
from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
from constructs_lib.context import Infrastructure
from constructs_lib.dag import PipelineDAG
from constructs_lib.examples import REFERENCE_TRAINING_DIR, seed_dag_template, seed_training_config
from constructs_lib.template import BuiltPipeline, PipelineBuilderTemplate

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
S3_CODE = "s3://my-bucket/scripts/sourcedir.tar.gz"


def single(config: Any = None, **kwargs: Any) -> PipelineBuilderTemplate:
    return PipelineBuilderTemplate.single_step(
        config if config is not None else seed_training_config(S3_CODE), region=REGION, **kwargs
    )


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def environ(cache_dir: Path) -> dict[str, str]:
    return {cache.CACHE_ENV: str(cache_dir)}


@pytest.fixture(scope="module")
def dag_build() -> BuiltPipeline:
    """A fresh build of the seed DAG (four step types, code packages with extra files, parameters)."""
    built: BuiltPipeline = seed_dag_template(REGION).build("seed-dag")
    return built


# ---------------------------------------------------------------------------------------- location
def test_location_default_env_dir_and_off(tmp_path: Path) -> None:
    home = Path.home()
    assert cache_directory({}) == home / ".cache" / "constructs_lib" / "definitions"
    assert cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "constructs_lib" / "definitions"
    assert cache_directory({"XDG_CACHE_HOME": "relative/ignored"}) == home / ".cache" / "constructs_lib" / (
        "definitions"
    )
    assert cache_directory({cache.CACHE_ENV: str(tmp_path / "mine")}) == tmp_path / "mine"
    for off in ("off", "OFF", "0", "false", "no", " off "):
        assert cache_directory({cache.CACHE_ENV: off}) is None
    assert cache_directory({cache.CACHE_ENV: ""}) == home / ".cache" / "constructs_lib" / "definitions"


def test_the_suite_runs_with_the_cache_off() -> None:
    assert cache_directory() is None
    assert lookup(single(), "p").status == "off"


# ---------------------------------------------------------------------------------------- serialization
def test_every_field_of_a_build_round_trips(dag_build: BuiltPipeline) -> None:
    """Generic serialization: every dataclass field except NOT_CACHED_FIELDS is stored and comes back equal
    (same types: tuples stay tuples, bytes stay bytes), so a field added to BuiltPipeline is either stored or
    fails here by name."""
    fields = {f.name for f in dataclasses.fields(BuiltPipeline)}
    assert set(cache.NOT_CACHED_FIELDS) <= fields
    encoded = json.loads(json.dumps(encode_built(dag_build)))
    loaded = decode_built(encoded)
    for name in sorted(fields - set(cache.NOT_CACHED_FIELDS)):
        assert getattr(loaded, name) == getattr(dag_build, name), name
        assert type(getattr(loaded, name)) is type(getattr(dag_build, name)), name
    assert loaded == dag_build
    assert loaded.pipeline is None and dag_build.pipeline is not None
    # what the CDK layer reads, in the types it reads
    assert any(p.extra_files for p in loaded.code_packages)
    assert all(isinstance(v, bytes) for p in loaded.code_packages for v in p.extra_files.values())
    assert loaded.pipeline_access() == dag_build.pipeline_access()
    assert loaded.explain() == dag_build.explain()
    assert loaded.definition == json.loads(loaded.definition_json)


def test_a_field_added_to_builtpipeline_is_stored_or_refused_by_name(
    dag_build: BuiltPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclasses.dataclass(frozen=True)
    class WithNotes(BuiltPipeline):
        notes: tuple[str, ...] = ()
        job_settings: object = None

    monkeypatch.setattr(cache, "BuiltPipeline", WithNotes)
    values = {f.name: getattr(dag_build, f.name) for f in dataclasses.fields(BuiltPipeline)}
    plain = WithNotes(**values, notes=("w1", "w2"), job_settings={"retries": (1, 2)})
    loaded = decode_built(json.loads(json.dumps(encode_built(plain))))
    assert loaded.notes == ("w1", "w2")  # type: ignore[attr-defined]
    assert loaded.job_settings == {"retries": (1, 2)}  # type: ignore[attr-defined]

    odd = WithNotes(**values, job_settings=object())
    with pytest.raises(cache.SynthError, match=r"cannot store a value of type builtins\.object") as info:
        encode_built(odd)
    assert info.value.field == "BuiltPipeline.job_settings"

    # an entry written before the field existed is refused, never loaded with the field silently defaulted
    old_fields = {k: v for k, v in encode_built(plain).items() if k not in ("notes", "job_settings")}
    with pytest.raises(cache._BadEntry, match=r"missing \['job_settings', 'notes'\]"):
        decode_built(old_fields)


def test_an_unstorable_field_warns_and_still_builds(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    @dataclasses.dataclass(frozen=True)
    class WithObject(BuiltPipeline):
        job_settings: object = dataclasses.field(default_factory=object)

    template = single()
    real_build = PipelineBuilderTemplate.build

    def build(self: PipelineBuilderTemplate, name: str, infrastructure: Any = None) -> BuiltPipeline:
        b = real_build(self, name, infrastructure)
        return WithObject(**{f.name: getattr(b, f.name) for f in dataclasses.fields(BuiltPipeline)})

    monkeypatch.setattr(PipelineBuilderTemplate, "build", build)
    monkeypatch.setattr(cache, "BuiltPipeline", WithObject)
    seen: list[tuple[str, str]] = []
    with pytest.warns(CacheNotWritten, match=CACHE_NOT_WRITTEN_ID):
        built = build_with_cache(template, "p", environ=environ, on_warning=lambda i, m: seen.append((i, m)))
    assert built.pipeline is not None
    assert [i for i, _ in seen] == [CACHE_NOT_WRITTEN_ID]
    assert (
        "BuiltPipeline.job_settings: the re-synth cache cannot store a value of type builtins.object"
        in seen[0][1]
    )
    assert not list(cache_dir.glob("*.json"))


# ---------------------------------------------------------------------------------------- the key
def _variants() -> Iterator[tuple[str, Callable[[], tuple[Any, ...]]]]:
    """(label, a factory of ``(template, pipeline name[, infrastructure])``)."""
    base_config = seed_training_config(S3_CODE)

    class MyHyperparameters(TabularClassifierHyperparameters):
        """A user's subclass: same fields plus one; serialized as the runtime class."""

        warmup_steps: int = 0

    hp = base_config.hyperparameters
    sub_hp = MyHyperparameters(**{name: getattr(hp, name) for name in type(hp).model_fields})
    yield "base", lambda: (single(base_config), "p")
    yield "pipeline name", lambda: (single(base_config), "q")
    yield "config field", lambda: (single(base_config.model_copy(update={"training_volume_size": 31})), "p")
    yield (
        "nested config field",
        lambda: (
            single(seed_training_config(S3_CODE, hyperparameters=hp.model_copy(update={"epochs": 11}))),
            "p",
        ),
    )
    yield "env value", lambda: (single(seed_training_config(S3_CODE, env={"A": "1"})), "p")
    yield "env, another value", lambda: (single(seed_training_config(S3_CODE, env={"A": "2"})), "p")
    yield (
        "nested config subclass, same values",
        lambda: (single(seed_training_config(S3_CODE, hyperparameters=sub_hp)), "p"),
    )
    yield (
        "nested config subclass, its own field",
        lambda: (
            single(
                seed_training_config(S3_CODE, hyperparameters=sub_hp.model_copy(update={"warmup_steps": 5}))
            ),
            "p",
        ),
    )
    yield "node name", lambda: (single(base_config, node="Train"), "p")
    yield "region", lambda: (PipelineBuilderTemplate.single_step(base_config, region="eu-west-1"), "p")
    yield "artifact root", lambda: (single(base_config, artifact_root="s3://other-bucket/root"), "p")
    yield "role", lambda: (single(base_config, role="arn:aws:iam::123456789012:role/r"), "p")
    # the deployment-wide settings the construct passes (network, keys, tags)
    vpc = Infrastructure(subnets=("subnet-1",), security_group_ids=("sg-1",))
    yield "infrastructure: vpc", lambda: (single(base_config), "p", vpc)
    yield (
        "infrastructure: two subnets",
        lambda: (single(base_config), "p", dataclasses.replace(vpc, subnets=("subnet-1", "subnet-2"))),
    )
    yield "infrastructure: volume key", lambda: (single(base_config), "p", Infrastructure(volume_kms_key=KEY))
    yield "infrastructure: output key", lambda: (single(base_config), "p", Infrastructure(output_kms_key=KEY))
    yield "infrastructure: tags", lambda: (single(base_config), "p", Infrastructure(tags=(("team", "ml"),)))

    def dag(order: tuple[str, ...], edges: tuple[tuple[str, str], ...], overrides: Any = None) -> Any:
        d = PipelineDAG()
        for n in order:
            d.add_node(n)
        for e in edges:
            d.add_edge(*e)
        configs = {n: seed_training_config(S3_CODE) for n in order}
        return PipelineBuilderTemplate(dag=d, config_map=configs, region=REGION, overrides=overrides), "p"

    yield "dag a,b", lambda: dag(("a", "b"), ())
    yield "dag b,a (insertion order)", lambda: dag(("b", "a"), ())
    yield "dag a->b", lambda: dag(("a", "b"), (("a", "b"),), {"b": {"input_path": ("a", "model_artifacts")}})
    yield (
        "dag a->b, other override",
        lambda: dag(("a", "b"), (("a", "b"),), {"b": {"input_path": ("a", "output_path")}}),
    )


def test_a_change_to_each_input_changes_the_key(environ: dict[str, str]) -> None:
    keys: dict[str, str | None] = {}
    for label, make in _variants():
        keys[label] = cache_key(*make())
    assert all(isinstance(k, str) and len(k) == 64 for k in keys.values()), keys
    by_key: dict[str, list[str]] = {}
    for label, key in keys.items():
        by_key.setdefault(str(key), []).append(label)
    assert [labels for labels in by_key.values() if len(labels) > 1] == []
    # and the same inputs give the same key (new objects, same values)
    again = dict(_variants())
    for label in ("base", "nested config subclass, same values", "dag a->b", "infrastructure: vpc"):
        assert cache_key(*again[label]()) == keys[label], label
    # WHEN the base is in the cache THEN it hits, and every variant misses
    template, name = again["base"]()
    build_with_cache(template, name, environ=environ)
    statuses = {label: lookup(*make(), environ=environ).status for label, make in _variants()}
    assert statuses == {label: "hit" if label == "base" else "miss" for label in statuses}


def test_key_covers_placeholders_library_and_versions(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    template = single()
    base = cache_key(template, "p")
    build_with_cache(template, "p", environ=environ)
    assert lookup(template, "p", environ=environ).status == "hit"
    assert base == cache_key(single(), "p")
    real_versions = cache.dependency_versions()
    changes: list[tuple[Any, str, Any]] = [
        (placeholders, "ARTIFACT_BUCKET", "constructs-lib-placeholder-other-bucket"),
        (placeholders, "JOB_ROLE_ARN", "arn:aws:iam::000000000000:role/constructs-lib-placeholder-other"),
        (cache, "library_fingerprint", lambda: "0.1.0+" + "0" * 64),
        (cache, "dependency_versions", lambda: {**real_versions, "sagemaker": "2.258.0"}),
        (cache, "dependency_versions", lambda: {**real_versions, "botocore": "1.44.9"}),
    ]
    for target, attr, value in changes:
        with monkeypatch.context() as m:
            m.setattr(target, attr, value)
            assert cache_key(template, "p") != base, f"{attr}={value!r}"
            assert lookup(template, "p", environ=environ).status == "miss", f"{attr}={value!r}"
    with monkeypatch.context() as m:
        m.setattr(
            placeholders, "code_uri", lambda node: f"s3://constructs-lib-placeholder-other/{node}/x.tar.gz"
        )
        assert cache_key(template, "p") != base
    assert cache_key(template, "p") == base


def test_dependency_versions_are_the_installed_ones() -> None:
    versions = cache.dependency_versions()
    for name in ("sagemaker", "botocore", "boto3", "pydantic"):
        assert versions[name] == importlib.metadata.version(name)
    assert versions["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_library_fingerprint_covers_every_source_file(tmp_path: Path) -> None:
    package = Path(cache.__file__).resolve().parent
    copy = tmp_path / "constructs_lib"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    original = cache.tree_fingerprint(copy)
    assert original == cache.tree_fingerprint(package)
    assert cache.library_fingerprint().endswith("+" + original)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    assert cache.tree_fingerprint(copy) == original  # compiled files are not sources
    for rel in ("placeholders.py", "scripts/pytorch_training/train.py", "builders/training_pytorch.py"):
        path = copy / rel
        text = path.read_bytes()
        path.write_bytes(text + b"\n# edited\n")
        assert cache.tree_fingerprint(copy) != original, rel
        path.write_bytes(text)
    assert cache.tree_fingerprint(copy) == original
    (copy / "new_module.py").write_text("X = 1\n")
    assert cache.tree_fingerprint(copy) != original


def test_a_users_own_config_module_is_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "my_hparams.py"
    module.write_text(
        "from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters\n"
        "class MyHyperparameters(TabularClassifierHyperparameters):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_hparams  # type: ignore[import-not-found]

    hp = seed_training_config(S3_CODE).hyperparameters
    sub = my_hparams.MyHyperparameters(**{n: getattr(hp, n) for n in type(hp).model_fields})
    template = single(seed_training_config(S3_CODE, hyperparameters=sub))
    material = cache.key_material(template, "p")
    assert list(material["outside_sources"]) == ["my_hparams"]
    before = cache_key(template, "p")
    module.write_text(module.read_text() + "# the class's module changed\n")
    assert cache_key(template, "p") != before
    monkeypatch.delitem(sys.modules, "my_hparams")


def test_never_cached_with_a_users_session_or_a_replaced_build(environ: dict[str, str]) -> None:
    from constructs_lib.sdk_adapter import offline_session

    with_session = single(sagemaker_session=offline_session(REGION, "my-bucket"))
    assert cache_key(with_session, "p") is None
    found = lookup(with_session, "p", environ=environ)
    assert found.status == "uncacheable" and "sagemaker_session" in found.reason
    replaced = single()
    replaced.build = lambda name: None  # type: ignore[method-assign,assignment,return-value]
    assert cache_key(replaced, "p") is None


# ---------------------------------------------------------------------------------------- hits and misses
def test_second_build_is_a_hit_equal_to_the_first(environ: dict[str, str], cache_dir: Path) -> None:
    template = seed_dag_template(REGION)
    first = build_with_cache(template, "seed-dag", environ=environ)
    assert first.pipeline is not None
    (entry,) = cache_dir.glob("*.json")
    assert entry.name == f"{cache_key(template, 'seed-dag')}.json"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = build_with_cache(seed_dag_template(REGION), "seed-dag", environ=environ)
    assert second.pipeline is None
    assert second == first
    assert second.definition_json == first.definition_json
    assert lookup(seed_dag_template(REGION), "seed-dag", environ=environ).status == "hit"
    assert lookup(seed_dag_template(REGION), "other-name", environ=environ).status == "miss"


def _code_dir(tmp_path: Path) -> Path:
    src = tmp_path / "code"
    shutil.copytree(REFERENCE_TRAINING_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def test_a_changed_script_misses(environ: dict[str, str], tmp_path: Path) -> None:
    src = _code_dir(tmp_path)
    template = single(seed_training_config(src))
    first = build_with_cache(template, "p", environ=environ)
    assert first.pipeline is not None and first.code_packages[0].source_dir == str(src)
    assert lookup(template, "p", environ=environ).status == "hit"
    os.utime(src / "train.py", (0, 0))  # a touch is not a change
    assert lookup(template, "p", environ=environ).status == "hit"
    with (src / "train.py").open("a") as handle:
        handle.write("\n# changed\n")
    found = lookup(template, "p", environ=environ)
    assert (found.status, found.reason) == ("miss", "code changed: PyTorchTraining")
    (src / "helper.py").write_text("X = 1\n")  # a new file too
    rebuilt = build_with_cache(template, "p", environ=environ)
    assert rebuilt.pipeline is not None  # built afresh, and stored for the new code
    assert lookup(template, "p", environ=environ).status == "hit"
    shutil.rmtree(src)
    assert lookup(template, "p", environ=environ).status == "miss"  # the build reports the missing dir


def test_a_changed_inference_handler_misses(environ: dict[str, str], tmp_path: Path) -> None:
    """The inference code packed beside the training code is part of what the entry checks."""
    src = _code_dir(tmp_path)
    inference = tmp_path / "inference"
    inference.mkdir()
    (inference / "serve.py").write_text("def model_fn(d): ...\n")
    template = single(
        seed_training_config(src, inference_source_dir=str(inference), inference_entry_point="serve.py")
    )
    build_with_cache(template, "p", environ=environ)
    assert lookup(template, "p", environ=environ).status == "hit"
    (inference / "serve.py").write_text("def model_fn(d): return d\n")
    found = lookup(template, "p", environ=environ)
    assert (found.status, found.reason) == ("miss", "code changed: PyTorchTraining")


# ---------------------------------------------------------------------------------------- broken entries
def _break_truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _break_flip(data: bytes) -> bytes:
    i = len(data) - 10
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def _break_garbage(data: bytes) -> bytes:
    return b"\x00\xffnot a cache entry"


def _break_empty(data: bytes) -> bytes:
    return b""


def _break_foreign_class(data: bytes) -> bytes:
    """A well-formed entry (valid checksum) naming a class outside the library: never imported."""
    header, _, body = data.partition(b"\n")
    payload = json.loads(body)
    payload["built"]["parameters"] = {"T": [{"C": "os:system", "F": {}}]}
    new_body = json.dumps(payload).encode()
    import hashlib

    meta = json.loads(header)
    meta.update(length=len(new_body), sha256=hashlib.sha256(new_body).hexdigest())
    return json.dumps(meta).encode() + b"\n" + new_body


@pytest.mark.parametrize(
    "damage",
    [_break_truncate, _break_flip, _break_garbage, _break_empty, _break_foreign_class],
    ids=["truncated", "bit-flipped", "garbage", "empty", "foreign-class"],
)
def test_a_broken_entry_is_ignored_with_a_warning_and_replaced(
    environ: dict[str, str], cache_dir: Path, damage: Callable[[bytes], bytes]
) -> None:
    template = single()
    first = build_with_cache(template, "p", environ=environ)
    (entry,) = cache_dir.glob("*.json")
    entry.write_bytes(damage(entry.read_bytes()))
    seen: list[tuple[str, str]] = []
    with pytest.warns(CacheEntryIgnored, match=rf"^\[{CACHE_ENTRY_IGNORED_ID}\] the re-synth cache entry"):
        again = build_with_cache(single(), "p", environ=environ, on_warning=lambda i, m: seen.append((i, m)))
    assert again.pipeline is not None  # built afresh, not loaded
    assert again == first
    assert [i for i, _ in seen] == [CACHE_ENTRY_IGNORED_ID] and str(entry) in seen[0][1]
    assert lookup(single(), "p", environ=environ).status == "hit"  # the entry was replaced


def test_an_unwritable_cache_warns_and_builds(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    environ = {cache.CACHE_ENV: str(blocker / "cache")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build_with_cache(single(), "p", environ=environ)
    assert built.pipeline is not None
    assert [type(w.message) for w in caught if issubclass(w.category, cache.CacheWarning)] == [
        CacheNotWritten
    ]
    assert str(caught[0].message).startswith(f"[{CACHE_NOT_WRITTEN_ID}] ")


def test_old_entries_are_pruned(
    environ: dict[str, str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    built = single().build("p")
    for i, key in enumerate(("a" * 64, "b" * 64, "c" * 64)):
        path = cache.store(key, built, environ=environ)
        assert path is not None
        os.utime(path, (1000 + i, 1000 + i))
    cache.store("d" * 64, built, environ=environ)
    assert sorted(p.name[0] for p in cache_dir.glob("*.json")) == ["c", "d"]
    assert not list(cache_dir.glob(".*"))  # no temporary files left


# ---------------------------------------------------------------------------------------- processes
_WRITER = textwrap.dedent(
    """
    import sys
    from constructs_lib import cache
    from constructs_lib.template import BuiltPipeline
    name, directory, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    built = BuiltPipeline(
        name="p", definition={"Steps": [name] * 2000}, definition_json="{}", code_packages=(), resolutions=(),
        access={}, step_types={},
    )
    for _ in range(count):
        cache.store("e" * 64, built, environ={"CONSTRUCTS_LIB_CACHE": directory})
    """
)


@pytest.mark.slow
def test_concurrent_writers_never_expose_a_partial_entry(cache_dir: Path) -> None:
    """Two processes rewrite one key 200 times each while this one reads it: every read is a whole
    entry of one writer or the other (temp file + os.replace)."""
    cache_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, name, str(cache_dir), "200"], env=env)
        for name in ("writer-a", "writer-b")
    ]
    path = cache_dir / f"{'e' * 64}.json"
    reads = 0
    seen: set[str] = set()
    while any(w.poll() is None for w in writers):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        built, _ = cache._parse_entry(data, "e" * 64)  # raises on any partial entry
        seen.add(built.definition["Steps"][0])
        reads += 1
    assert [w.wait() for w in writers] == [0, 0]
    assert reads > 0 and seen <= {"writer-a", "writer-b"}
    assert [p.name for p in cache_dir.iterdir()] == [path.name]  # no temporary files left


_HIT_PROBE = textwrap.dedent(
    """
    import sys
    from constructs_lib.cache import build_with_cache
    from constructs_lib.examples import seed_dag_template
    built = build_with_cache(seed_dag_template("us-east-1"), "seed-dag")
    print(built.pipeline is None, "sagemaker" in sys.modules, built.definition_json == open(sys.argv[1]).read())
    builders = sorted(m for m in sys.modules if m.startswith("constructs_lib.builders."))
    print(" ".join(builders) or "-")
    """
)


@pytest.mark.slow
def test_a_hit_does_not_import_the_sdk(cache_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), cache.CACHE_ENV: str(cache_dir)}
    fresh = build_with_cache(seed_dag_template(REGION), "seed-dag", environ={cache.CACHE_ENV: str(cache_dir)})
    expected = tmp_path / "definition.json"
    expected.write_text(fresh.definition_json)
    proc = subprocess.run(
        [sys.executable, "-c", _HIT_PROBE, str(expected)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, loaded = proc.stdout.splitlines()
    assert first.split() == ["True", "False", "True"]
    # the registry names the built-in step types without importing their builders: a hit loads none
    assert not set(loaded.split()) & {b.module for b in BUILTIN.values()}, loaded
