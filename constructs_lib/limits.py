"""SageMaker and CloudFormation limits, read from their published machine-readable sources.

botocore's SageMaker service model is the authority for enums (training / processing / hosting instance
types) and for string lengths, patterns and list sizes; the few numbers botocore does not publish are
named constants here with the document they come from. Everything is loaded lazily (botocore's model is
a few MB of JSON) and cached for the life of the process.

**The limits memo.** Importing botocore and parsing its SageMaker model costs ~0.2 s, paid by every
process that validates a config, also a warm re-synth that otherwise needs nothing of botocore. So each
shape read from the model is also kept, exactly as botocore publishes it (``min``, ``max``, ``pattern``,
``enum``), in a small file of the cache directory (:mod:`constructs_lib.cachedir`:
``<cache>/limits/sagemaker-<fingerprint>.json``), and later processes answer :func:`shape` from it
without importing botocore. The fingerprint is the SHA-256 of the memo format and of the path, size and
modification time of every file of the service-model directory botocore's loader reads (the newest API
version under ``botocore/data/sagemaker``): any other botocore, or an edited model, reads another memo.
No memo is used when botocore's loader could read a model from elsewhere (``~/.aws/models/sagemaker``
exists) or when ``CONSTRUCTS_LIB_CACHE=off``. A truncated or corrupted memo is never used: the shape is
read from botocore, a :class:`~constructs_lib.cachedir.CacheEntryIgnored` warning says so, and the memo
is rewritten (atomically; a memo that cannot be written is only a missed speed-up).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib import cachedir

if TYPE_CHECKING:  # pragma: no cover
    from botocore.model import ServiceModel

__all__ = [
    "ShapeLimits",
    "hosting_instance_types",
    "memo_path",
    "processing_instance_types",
    "shape",
    "training_instance_types",
]


@dataclass(frozen=True)
class ShapeLimits:
    """Constraints of one botocore shape: ``min``/``max`` (length for strings, count for maps/lists,
    value for integers), ``pattern`` (anchored by us: botocore's patterns are full-match) and ``enum``."""

    name: str
    min: int | None
    max: int | None
    pattern: str | None
    enum: tuple[str, ...]

    def fullmatch(self, value: str) -> bool:
        """True when ``value`` matches the shape's pattern (or there is none)."""
        if self.pattern is None:
            return True
        return _compiled(self.pattern).fullmatch(value) is not None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # botocore uses Java-style \p{L}\p{Z}\p{N} (letters, separators, numbers) in tag patterns; Python's
    # `re` lacks them, and \w\s is the same set plus "_" (which those patterns allow anyway).
    translated = pattern.replace(r"\p{L}\p{Z}\p{N}", r"\w\s")
    return re.compile(translated)


def isolated_botocore_session() -> Any:
    """A botocore session that reads no profile, config or credentials file of the machine.

    ``AWS_PROFILE=doesnotexist`` or a broken ``~/.aws/config`` would otherwise make even loading a service
    model fail (``ProfileNotFound``); nothing here needs the user's AWS configuration.
    """
    import botocore.session

    session = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    # Share one loader: every session then reuses the service models already parsed in this process.
    session.register_component("data_loader", _shared_loader())
    return session


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


@functools.lru_cache(maxsize=1)
def _model() -> ServiceModel:
    return isolated_botocore_session().get_service_model("sagemaker")


@functools.cache
def shape(name: str) -> ShapeLimits:
    """Limits of the SageMaker shape ``name`` (e.g. ``"TrainingEnvironmentKey"``), from the limits memo
    when it holds them, else from botocore's model (and then added to the memo)."""
    memo = _memo()
    if memo is not None and name in memo.shapes:
        return memo.shapes[name]
    sh = _model().shape_for(name)
    md = sh.metadata
    found = ShapeLimits(
        name=name,
        min=md.get("min"),
        max=md.get("max"),
        pattern=md.get("pattern"),
        enum=tuple(md.get("enum", ())),
    )
    if memo is not None:
        memo.add(found)
    return found


# ---------------------------------------------------------------------------------------- the limits memo
_MEMO_FORMAT = "constructs_lib-limits-memo"
_MEMO_SCHEMA = 1
#: Memo files kept (one per botocore model seen); the least recently written beyond this are removed.
_MEMO_KEEP = 8


def _model_files() -> list[Path] | None:
    """The files of the service-model directory botocore's loader reads SageMaker's model from, found
    without importing botocore; ``None`` when that cannot be told (no botocore, a customer model)."""
    import importlib.util

    try:
        if (Path.home() / ".aws" / "models" / "sagemaker").exists():
            return None  # botocore's loader would prefer the user's model
        spec = importlib.util.find_spec("botocore")
    except (RuntimeError, OSError, ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent / "data" / "sagemaker"
    try:
        versions = sorted(p for p in root.iterdir() if p.is_dir())
        if not versions:
            return None
        files = sorted(p for p in versions[-1].iterdir() if p.is_file())
    except OSError:
        return None
    if not any(p.name.startswith("service-2.") for p in files):
        return None
    return files


def model_fingerprint() -> str | None:
    """SHA-256 of the memo format and of the path, size and modification time of each file of
    botocore's SageMaker model directory (``None`` when there is none to fingerprint)."""
    files = _model_files()
    if files is None:
        return None
    stats = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            return None
        stats.append([str(path), st.st_size, st.st_mtime_ns])
    material = json.dumps([_MEMO_FORMAT, _MEMO_SCHEMA, stats], separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def memo_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The limits memo file for the installed botocore model, or ``None`` when no memo is used (the cache
    is off, or botocore's model cannot be fingerprinted without importing it).

    Args:
        environ: the environment to read ``CONSTRUCTS_LIB_CACHE`` from. Default ``None``: ``os.environ``.
    """
    directory = cachedir.cache_directory(environ)
    if directory is None:
        return None
    fingerprint = model_fingerprint()
    if fingerprint is None:
        return None
    return directory / "limits" / f"sagemaker-{fingerprint[:32]}.json"


class _Memo:
    """The shapes of one memo file, and the writes that add to it."""

    def __init__(self, path: Path, shapes: dict[str, ShapeLimits]) -> None:
        self.path = path
        self.shapes = shapes

    def add(self, found: ShapeLimits) -> None:
        self.shapes[found.name] = found
        body = json.dumps(
            {name: asdict(item) for name, item in sorted(self.shapes.items())},
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")
        try:
            cachedir.write_atomically(
                self.path, cachedir.frame(body, format_name=_MEMO_FORMAT, schema=_MEMO_SCHEMA)
            )
        except OSError:
            return  # only a missed speed-up: the next process reads botocore again
        cachedir.prune(self.path.parent, ".json", _MEMO_KEEP)


def _parse_memo(data: bytes) -> dict[str, ShapeLimits]:
    body = cachedir.unframe(data, format_name=_MEMO_FORMAT, schema=_MEMO_SCHEMA, what="limits memo")
    try:
        payload = json.loads(body)
    except ValueError:
        raise cachedir.BadEntry("unreadable body") from None
    if type(payload) is not dict:
        raise cachedir.BadEntry("malformed body")
    shapes = {}
    for name, item in payload.items():
        try:
            found = ShapeLimits(
                name=item["name"],
                min=item["min"],
                max=item["max"],
                pattern=item["pattern"],
                enum=tuple(item["enum"]),
            )
        except (KeyError, TypeError):
            raise cachedir.BadEntry(f"malformed shape {name!r}") from None
        if (
            found.name != name
            or not all(v is None or type(v) in (int, float) for v in (found.min, found.max))
            or not (found.pattern is None or type(found.pattern) is str)
            or not all(type(v) is str for v in found.enum)
        ):
            raise cachedir.BadEntry(f"malformed shape {name!r}")
        shapes[name] = found
    return shapes


@functools.lru_cache(maxsize=1)
def _memo() -> _Memo | None:
    path = memo_path()
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return _Memo(path, {})
    try:
        shapes = _parse_memo(data)
    except cachedir.BadEntry as exc:
        cachedir.warn(
            cachedir.CacheEntryIgnored,
            cachedir.CACHE_ENTRY_IGNORED_ID,
            f"the SageMaker limits memo {path} was not used ({exc}); the limits are read from botocore's "
            "model and the memo replaced",
            stacklevel=2,
        )
        return _Memo(path, {})
    return _Memo(path, shapes)


def training_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``TrainingInstanceType`` enum."""
    return shape("TrainingInstanceType").enum


def processing_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``ProcessingInstanceType`` enum."""
    return shape("ProcessingInstanceType").enum


def hosting_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``ProductionVariantInstanceType`` enum."""
    return shape("ProductionVariantInstanceType").enum


#: Upper bound of an ML storage volume. botocore publishes it for processing (``ProcessingVolumeSizeInGB``
#: max 16,384) but not for training (``VolumeSizeInGB`` has only ``min``); SageMaker documents the same
#: 16 TB ceiling for training volumes, so we use the published processing number for both.
def max_volume_size_gb() -> int:
    """Largest ML storage volume in GB (from botocore's ``ProcessingVolumeSizeInGB``)."""
    return shape("ProcessingVolumeSizeInGB").max or 16_384
