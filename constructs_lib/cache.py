"""The re-synth cache: a pipeline's build, reused while nothing it depends on has changed.

Building a definition imports the SageMaker SDK (~1-4 s) and runs its step objects; a re-synth with the
same inputs gives byte-identical output (the build is deterministic), so :func:`build_with_cache` keeps
every plain value of a :class:`~constructs_lib.template.BuiltPipeline` (definition, definition JSON, code
packages, resolutions, per-step access needs, step types, parameters; every dataclass field except the
SDK ``pipeline`` and the ``timings``) in a local file, and answers the next build with the same inputs from
it, without importing the SDK. The loaded value has ``pipeline=None``.

**The key** is the SHA-256 of everything that can change the definition:

* every config, as its runtime class (qualified name) and the value of every field of that class, nested
  models and subclasses included (:func:`canonical_value`);
* the DAG (nodes in insertion order, edges, topological order), the step types and builder classes, the
  ``overrides``, the region, the pipeline name, the template's role and artifact root;
* the placeholder scheme (:mod:`constructs_lib.placeholders`);
* this library's own source (SHA-256 of every file of the package, scripts included:
  :func:`library_fingerprint`) and version, the versions of ``sagemaker``, ``botocore``, ``boto3`` and
  ``pydantic``, and the Python version;
* the source file of every module outside ``constructs_lib`` that defines a config, builder or template
  class in use (a user's own config subclass or builder).

The code of each step is checked when an entry is read: the entry records the SHA-256 of each code
package's packed ``sourcedir.tar.gz`` (:meth:`~constructs_lib.builders.base.CodePackage.pack`); a changed
file in a ``source_dir`` is a miss. Not covered (turn the cache off while doing these): code patched at run
time (monkeypatching the SDK or the library), and modules a user's builder imports beyond the one that
defines it.

**Not cached:** a template with a user-supplied ``sagemaker_session`` (its behaviour is not part of the
key), a template whose ``build`` is replaced on the instance, and configs holding values the key cannot
represent.

**Where:** ``$CONSTRUCTS_LIB_CACHE`` when it names a directory, else ``$XDG_CACHE_HOME/constructs_lib/
definitions``, else ``~/.cache/constructs_lib/definitions``; ``CONSTRUCTS_LIB_CACHE=off`` turns the cache
off. A user cache directory rather than the cloud assembly's: entries are content-addressed, so they are
valid for any output directory, checkout or project of the user (tests and CI often synthesize into fresh
temporary directories, where a per-assembly cache would always be cold), ``cdk.out`` is routinely deleted,
and nothing is added to the project tree. At most :data:`MAX_ENTRIES` entries are kept (least recently
used are removed); deleting the directory is always safe. (The location and the warnings are
:mod:`constructs_lib.cachedir`'s, shared with the SageMaker limits memo of :mod:`constructs_lib.limits`,
which lives in the directory's ``limits/``.)

**Safety:** an entry is one file, written to a temporary name and renamed into place (``os.replace``), so
concurrent synths sharing a cache never read a half-written entry. Each file carries the SHA-256 and length
of its body; a truncated, corrupted or incompatible entry is never used: the build runs as if there were no
entry, and a :class:`CacheEntryIgnored` warning (id :data:`CACHE_ENTRY_IGNORED_ID`) says so (the CDK
construct also adds it as an annotation warning with that id). The cache reads the ``CONSTRUCTS_LIB_CACHE``
environment variable and never sets one.

This module is pure Python: it imports neither ``aws_cdk`` nor ``sagemaker``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import enum
import functools
import hashlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel

from constructs_lib import placeholders
from constructs_lib.builders import BUILTIN
from constructs_lib.cachedir import (
    CACHE_ENTRY_IGNORED_ID,
    CACHE_ENV,
    CACHE_NOT_WRITTEN_ID,
    OFF_VALUES,
    BadEntry,
    CacheEntryIgnored,
    CacheNotWritten,
    CacheWarning,
    cache_directory,
    frame,
    prune,
    unframe,
    warn,
    write_atomically,
)
from constructs_lib.context import Infrastructure
from constructs_lib.errors import ConstructsLibError, SynthError
from constructs_lib.template import BuiltPipeline, PipelineBuilderTemplate

__all__ = [
    "CACHE_ENTRY_IGNORED_ID",
    "CACHE_ENV",
    "CACHE_NOT_WRITTEN_ID",
    "MAX_ENTRIES",
    "NOT_CACHED_FIELDS",
    "OFF_VALUES",
    "SCHEMA_VERSION",
    "CacheEntryIgnored",
    "CacheNotWritten",
    "CacheWarning",
    "Lookup",
    "build_with_cache",
    "cache_directory",
    "cache_key",
    "canonical_value",
    "decode_built",
    "dependency_versions",
    "encode_built",
    "key_material",
    "library_fingerprint",
    "lookup",
    "store",
    "tree_fingerprint",
]

#: Version of the entry format; part of the key and checked when an entry is read.
SCHEMA_VERSION = 1

#: Entries kept in the cache directory; the least recently used beyond this are removed on a write.
MAX_ENTRIES = 256

#: Fields of :class:`~constructs_lib.template.BuiltPipeline` that are not stored, with the value a loaded
#: build gets: the SDK object (what the cache avoids building) and the build's timings. Every other field is
#: stored; a field whose value cannot be stored makes the write fail with an error naming it.
NOT_CACHED_FIELDS: Mapping[str, Callable[[], object]] = {"pipeline": lambda: None, "timings": dict}

_FORMAT = "constructs_lib-definition-cache"
_SUFFIX = ".json"
_LIBRARY_DISTRIBUTIONS = ("sagemaker", "botocore", "boto3", "pydantic")
_PACKAGE = "constructs_lib"


class _Uncacheable(Exception):
    """The inputs cannot be represented in a key: build without the cache."""


class _BadEntry(Exception):
    """An entry that must not be used (the message says why)."""


@dataclasses.dataclass(frozen=True)
class Lookup:
    """What :func:`lookup` found.

    Attributes:
        status: ``hit`` (``built`` is the cached build), ``miss`` (no usable entry, nothing wrong),
            ``ignored`` (an entry was refused: ``reason`` says why, a warning is due), ``off`` (the cache is
            disabled) or ``uncacheable`` (these inputs are never cached: ``reason``).
        key: the entry's key (``None`` when off or uncacheable).
        path: the entry's file (``None`` when off or uncacheable).
        built: the cached build on a hit, else ``None``.
        reason: why it was a miss, refused or uncacheable (empty on a hit).
    """

    status: str
    key: str | None = None
    path: Path | None = None
    built: BuiltPipeline | None = None
    reason: str = ""


# ---------------------------------------------------------------------------------------- the key
def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def canonical_value(value: object, classes: set[type] | None = None) -> Any:
    """``value`` as plain JSON that identifies it exactly, for the cache key: a pydantic model as its
    runtime class and every field of that class (nested models and subclasses included), tuples, lists,
    sets, mappings (in their order), enums, paths and bytes each tagged with their kind, so that two values
    with the same canonical form build the same step. The classes met are added to ``classes``.

    Raises ``_Uncacheable`` (internal) for a value of any other type.
    """
    seen = classes if classes is not None else set()
    return _canonical(value, seen)


def _canonical(value: object, classes: set[type]) -> Any:
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return {"$float": repr(value)}
    if isinstance(value, enum.Enum):
        classes.add(type(value))
        return {"$enum": _qualname(type(value)), "value": _canonical(value.value, classes)}
    if isinstance(value, BaseModel):
        cls = type(value)
        classes.add(cls)
        out: dict[str, Any] = {
            "$model": _qualname(cls),
            "fields": {name: _canonical(getattr(value, name), classes) for name in cls.model_fields},
        }
        extra = value.__pydantic_extra__
        if extra:
            out["extra"] = _canonical(dict(extra), classes)
        private = value.__pydantic_private__
        if private:
            out["private"] = _canonical(dict(private), classes)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        classes.add(type(value))
        return {
            "$dataclass": _qualname(type(value)),
            "fields": {
                f.name: _canonical(getattr(value, f.name), classes) for f in dataclasses.fields(value)
            },
        }
    if isinstance(value, PurePath):
        return {"$path": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": hashlib.sha256(value).hexdigest()}
    out_container: dict[str, Any]
    if isinstance(value, tuple):
        out_container = {"$tuple": [_canonical(v, classes) for v in value]}
    elif isinstance(value, list):
        out_container = {"$list": [_canonical(v, classes) for v in value]}
    elif isinstance(value, set | frozenset):
        items = [_canonical(v, classes) for v in value]
        out_container = {"$set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    elif isinstance(value, Mapping):
        out_container = {"$map": [[_canonical(k, classes), _canonical(v, classes)] for k, v in value.items()]}
    else:
        raise _Uncacheable(f"a value of type {type(value).__module__}.{type(value).__qualname__}")
    if type(value) not in (tuple, list, set, frozenset, dict):  # a NamedTuple, a MappingProxyType...
        classes.add(type(value))
        out_container["class"] = _qualname(type(value))
    return out_container


def tree_fingerprint(root: Path) -> str:
    """SHA-256 of every file below ``root`` (relative POSIX path, size and bytes, in path order), leaving
    out ``__pycache__`` directories and ``*.pyc`` files."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        data = path.read_bytes()
        digest.update(rel.as_posix().encode("utf-8") + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def library_fingerprint() -> str:
    """This library's version and :func:`tree_fingerprint` of its package directory (scripts included):
    an edited file, in an editable install or not, changes every key. Computed once per process (~5 ms)."""
    root = Path(__file__).resolve().parent
    return f"{_version(_PACKAGE)}+{tree_fingerprint(root)}"


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.lru_cache(maxsize=1)
def dependency_versions() -> dict[str, str]:
    """Versions of the distributions the definition depends on (``sagemaker``, ``botocore``, ``boto3``,
    ``pydantic``; ``not installed`` for a missing one) and ``python`` (major.minor), read from the installed
    metadata without importing them."""
    found = {name: _version(name) for name in _LIBRARY_DISTRIBUTIONS}
    found["python"] = "{}.{}".format(*sys.version_info[:2])
    return found


def _outside_sources(classes: Iterable[type]) -> dict[str, str]:
    """``{module: SHA-256 of its source file}`` of every module outside this library that defines one of
    ``classes`` or one of their base classes."""
    modules: set[str] = set()
    for cls in classes:
        for base in cls.__mro__:
            module = base.__module__
            if module == "builtins" or module == _PACKAGE or module.startswith(_PACKAGE + "."):
                continue
            if module.split(".", 1)[0] in ("pydantic", "enum", "abc", "typing", "collections"):
                continue
            modules.add(module)
    out: dict[str, str] = {}
    for module in sorted(modules):
        file = getattr(sys.modules.get(module), "__file__", None)
        if not isinstance(file, str) or not os.path.isfile(file):
            raise _Uncacheable(f"module {module!r} has no source file to fingerprint")
        out[module] = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    return out


def key_material(
    template: PipelineBuilderTemplate, pipeline_name: str, infrastructure: Infrastructure | None = None
) -> dict[str, Any]:
    """Everything the key of ``template``'s build of ``pipeline_name`` (with ``infrastructure``) covers, as
    plain JSON (see the module docstring). Raises ``_Uncacheable`` (internal) for inputs that are never
    cached."""
    if template.sagemaker_session is not None:
        raise _Uncacheable("the template has its own sagemaker_session")
    if "build" in vars(template):
        raise _Uncacheable("the template's build is replaced on the instance")
    classes: set[type] = {type(template)}
    dag = template.dag
    material: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "pipeline_name": pipeline_name,
        "infrastructure": None if infrastructure is None else _canonical(infrastructure, classes),
        "region": template.region,
        "role": template.role,
        "artifact_root": template.artifact_root,
        "template_class": _qualname(type(template)),
        "dag": {"nodes": dag.nodes, "edges": dag.edges, "order": dag.topological_order()},
        "step_types": dict(sorted(template.step_types.items())),
        "builders": _builder_names(template.step_builder_map),
        "configs": {node: _canonical(template.config_map[node], classes) for node in dag.nodes},
        "overrides": _canonical(template.overrides, classes),
        "placeholders": {
            "artifact_bucket": placeholders.ARTIFACT_BUCKET,
            "job_role_arn": placeholders.JOB_ROLE_ARN,
            "code_uri": placeholders.code_uri("{node}"),
            "pattern": placeholders.PLACEHOLDER_PATTERN.pattern,
        },
        "library": library_fingerprint(),
        "versions": dependency_versions(),
    }
    # the builders this build calls that are not the library's own (whose source the library fingerprint
    # covers): reading a built-in one from the registry's lazy view would import its module
    classes.update(
        template.step_builder_map[step_type]
        for step_type in sorted(set(template.step_types.values()))
        if step_type not in BUILTIN
    )
    material["outside_sources"] = _outside_sources(classes)
    return material


def _builder_names(builders: Mapping[str, type]) -> dict[str, str]:
    """``{step type: module:ClassName}`` of a template's builder map, sorted; the registry's lazy view
    names its built-in builders without importing them."""
    from constructs_lib.registry import StepBuilderMap

    if isinstance(builders, StepBuilderMap):
        return {key: builders.qualified_name(key) for key in builders}
    return {key: _qualname(cls) for key, cls in sorted(builders.items())}


def cache_key(
    template: PipelineBuilderTemplate, pipeline_name: str, infrastructure: Infrastructure | None = None
) -> str | None:
    """The hex SHA-256 key of ``template``'s build of ``pipeline_name`` (with ``infrastructure``); ``None``
    when it is never cached (a user-supplied ``sagemaker_session``, a replaced ``build``, a config value the
    key cannot hold)."""
    try:
        return _digest(key_material(template, pipeline_name, infrastructure))
    except _Uncacheable:
        return None


def _digest(material: Mapping[str, Any]) -> str:
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------------------- serialization
def _pure_json(value: object) -> bool:
    """True for a value that ``json`` round-trips to an equal value of the same types (no tuples, no
    non-string keys)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if item is None or kind in (bool, int, float, str):
            continue
        if kind is list:
            stack.extend(item)  # type: ignore[arg-type]
        elif kind is dict:
            if not all(type(k) is str for k in item):  # type: ignore[attr-defined]
                return False
            stack.extend(item.values())  # type: ignore[attr-defined]
        else:
            return False
    return True


def _encode(value: object, where: str) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, enum.Enum):
        return {"E": _qualname(type(value)), "V": _encode(value.value, where)}
    if type(value) in (list, dict) and _pure_json(value):
        return {"J": value}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"T": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return {"L": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        return {"M": [[_encode(k, where), _encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        _check_library_class(cls, where)
        return {
            "C": _qualname(cls),
            "F": {
                f.name: _encode(getattr(value, f.name), f"{where}.{f.name}")
                for f in dataclasses.fields(value)
                if f.init
            },
        }
    raise SynthError(
        f"the re-synth cache cannot store a value of type {type(value).__module__}.{type(value).__qualname__}",
        field=where,
        hint="store plain values (str, numbers, tuples, mappings, bytes, constructs_lib dataclasses) in "
        "BuiltPipeline, or add the field to constructs_lib.cache.NOT_CACHED_FIELDS",
    )


def _check_library_class(cls: type, where: str) -> None:
    if not (cls.__module__ == _PACKAGE or cls.__module__.startswith(_PACKAGE + ".")):
        raise SynthError(
            f"the re-synth cache stores only constructs_lib's own dataclasses, not {_qualname(cls)}",
            field=where,
            hint="convert it to plain values in the build",
        )


def _resolve_class(name: object) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise _BadEntry(f"malformed class name {name!r}")
    module, _, qualname = name.partition(":")
    if not (module == _PACKAGE or module.startswith(_PACKAGE + ".")):
        raise _BadEntry(f"class {name!r} is not constructs_lib's")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise _BadEntry(f"class {name!r} no longer exists: {exc}") from None
    if not isinstance(obj, type):
        raise _BadEntry(f"{name!r} is not a class")
    return obj


def _decode(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is not dict or len(value) not in (1, 2):
        raise _BadEntry(f"malformed value {str(value)[:80]!r}")
    if "J" in value:
        return value["J"]
    if "T" in value:
        return tuple(_decode(v) for v in _as_list(value["T"]))
    if "L" in value:
        return [_decode(v) for v in _as_list(value["L"])]
    if "M" in value:
        pairs = _as_list(value["M"])
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise _BadEntry("malformed mapping")
        return {_decode(k): _decode(v) for k, v in pairs}
    if "B" in value:
        try:
            return base64.b64decode(value["B"], validate=True)
        except (ValueError, TypeError) as exc:
            raise _BadEntry(f"malformed bytes: {exc}") from None
    if "E" in value and "V" in value:
        cls = _resolve_class(value["E"])
        if not issubclass(cls, enum.Enum):
            raise _BadEntry(f"{value['E']!r} is not an enum")
        try:
            return cls(_decode(value["V"]))
        except ValueError as exc:
            raise _BadEntry(str(exc)) from None
    if "C" in value and "F" in value:
        cls = _resolve_class(value["C"])
        if not dataclasses.is_dataclass(cls) or type(value["F"]) is not dict:
            raise _BadEntry(f"{value['C']!r} is not a dataclass")
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        if set(value["F"]) != names:
            raise _BadEntry(
                f"{value['C']} has fields {sorted(names)}, the entry {sorted(value['F'])} (written by "
                "another version of the library)"
            )
        try:
            return cls(**{k: _decode(v) for k, v in value["F"].items()})
        except (TypeError, ValueError) as exc:
            raise _BadEntry(f"{value['C']}: {exc}") from None
    raise _BadEntry(f"unknown tag in {sorted(value)}")


def _as_list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _BadEntry("malformed list")
    return value


def _cached_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(BuiltPipeline) if f.name not in NOT_CACHED_FIELDS]


def encode_built(built: BuiltPipeline) -> dict[str, Any]:
    """Every field of ``built`` except :data:`NOT_CACHED_FIELDS` as tagged JSON (generic: a field added to
    ``BuiltPipeline`` later is stored too). :class:`SynthError` naming the field when a value cannot be
    stored."""
    return {name: _encode(getattr(built, name), f"BuiltPipeline.{name}") for name in _cached_fields()}


def decode_built(fields: Mapping[str, Any]) -> BuiltPipeline:
    """Inverse of :func:`encode_built`; the fields of :data:`NOT_CACHED_FIELDS` get their defaults. Raises
    ``_BadEntry`` (internal) when the fields are not exactly this library's."""
    expected = _cached_fields()
    if sorted(fields) != sorted(expected):
        missing = sorted(set(expected) - set(fields))
        extra = sorted(set(fields) - set(expected))
        raise _BadEntry(f"BuiltPipeline fields differ (missing {missing}, unknown {extra})")
    values = {name: _decode(fields[name]) for name in expected}
    values.update({name: make() for name, make in NOT_CACHED_FIELDS.items()})
    try:
        return BuiltPipeline(**values)
    except (TypeError, ValueError) as exc:
        raise _BadEntry(f"BuiltPipeline: {exc}") from None


# ---------------------------------------------------------------------------------------- entries
def _code_fingerprints(built: BuiltPipeline) -> list[str]:
    """SHA-256 of each code package's packed bytes: exactly what the construct ships (the inference code
    directory and generated files included)."""
    return [hashlib.sha256(p.pack()).hexdigest() for p in built.code_packages]


def _entry_bytes(key: str, built: BuiltPipeline) -> bytes:
    body = json.dumps(
        {
            "key": key,
            "fields": _cached_fields(),
            "code": _code_fingerprints(built),
            "built": encode_built(built),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")
    return frame(body, format_name=_FORMAT, schema=SCHEMA_VERSION)


def _parse_entry(data: bytes, key: str) -> tuple[BuiltPipeline, list[Any]]:
    try:
        body = unframe(data, format_name=_FORMAT, schema=SCHEMA_VERSION, what="cache entry")
    except BadEntry as exc:
        raise _BadEntry(str(exc)) from None
    try:
        payload = json.loads(body)
    except ValueError:
        raise _BadEntry("unreadable body") from None
    if type(payload) is not dict or payload.get("key") != key:
        raise _BadEntry("the entry belongs to another key")
    if payload.get("fields") != _cached_fields():
        raise _BadEntry(
            f"written for BuiltPipeline fields {payload.get('fields')}, this library has {_cached_fields()}"
        )
    built_fields = payload.get("built")
    code = payload.get("code")
    if type(built_fields) is not dict or type(code) is not list:
        raise _BadEntry("malformed body")
    built = decode_built(built_fields)
    if len(code) != len(built.code_packages):
        raise _BadEntry("code fingerprints do not match the code packages")
    return built, code


def _entry_path(directory: Path, key: str) -> Path:
    return directory / f"{key}{_SUFFIX}"


def lookup(
    template: PipelineBuilderTemplate,
    pipeline_name: str,
    infrastructure: Infrastructure | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Lookup:
    """Look ``template``'s build of ``pipeline_name`` up in the cache (reads only; never warns).

    Args:
        template: the template.
        pipeline_name: the pipeline's name.
        infrastructure: the deployment-wide job settings the build gets. Default ``None``.
        environ: the environment to read ``CONSTRUCTS_LIB_CACHE`` from. Default ``None``: ``os.environ``.
    """
    directory = cache_directory(environ)
    if directory is None:
        return Lookup("off", reason=f"{CACHE_ENV} turns the cache off")
    try:
        key = _digest(key_material(template, pipeline_name, infrastructure))
    except _Uncacheable as exc:
        return Lookup("uncacheable", reason=str(exc))
    path = _entry_path(directory, key)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return Lookup("miss", key, path, reason="no entry")
    except OSError as exc:
        return Lookup("ignored", key, path, reason=f"unreadable: {exc.strerror or exc}")
    try:
        built, code = _parse_entry(data, key)
    except _BadEntry as exc:
        return Lookup("ignored", key, path, reason=str(exc))
    if built.name != pipeline_name:
        return Lookup("ignored", key, path, reason=f"the entry is for pipeline {built.name!r}")
    try:
        current = _code_fingerprints(built)
    except ConstructsLibError as exc:  # the source is gone or broken: the build reports it
        return Lookup("miss", key, path, reason=f"code not readable: {exc.message}")
    if current != code:
        changed = [
            p.node for p, old, new in zip(built.code_packages, code, current, strict=True) if old != new
        ]
        return Lookup("miss", key, path, reason=f"code changed: {', '.join(changed)}")
    with contextlib.suppress(OSError):
        os.utime(path)  # least recently used is pruned first
    return Lookup("hit", key, path, built)


def store(key: str, built: BuiltPipeline, *, environ: Mapping[str, str] | None = None) -> Path | None:
    """Write ``built`` under ``key`` atomically (a temporary file renamed into place) and prune the
    directory to :data:`MAX_ENTRIES`; returns the entry's path (``None`` when the cache is off).

    Raises ``OSError`` when the directory cannot be written and :class:`SynthError` when a field of
    ``built`` cannot be stored.
    """
    directory = cache_directory(environ)
    if directory is None:
        return None
    data = _entry_bytes(key, built)
    path = write_atomically(_entry_path(directory, key), data)
    prune(directory, _SUFFIX, MAX_ENTRIES)
    return path


# ---------------------------------------------------------------------------------------- the entry point
def build_with_cache(
    template: PipelineBuilderTemplate,
    pipeline_name: str,
    infrastructure: Infrastructure | None = None,
    *,
    on_warning: Callable[[str, str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuiltPipeline:
    """``template.build(pipeline_name, infrastructure)``, answered from the cache when its inputs are
    unchanged.

    A hit returns the cached build (``pipeline`` is ``None``) without importing the SageMaker SDK; a miss
    builds and stores the result. An unusable entry or a failed write never fails the build: it gives a
    :class:`CacheEntryIgnored` / :class:`CacheNotWritten` warning (``warnings.warn``) and calls
    ``on_warning(id, message)`` (the CDK construct adds it as an annotation warning).

    Args:
        template: the template to build.
        pipeline_name: the pipeline's name.
        infrastructure: the deployment-wide job settings (network, KMS keys, tags). Default ``None``.
        on_warning: called with a warning's id and message, besides ``warnings.warn``. Default ``None``.
        environ: the environment to read ``CONSTRUCTS_LIB_CACHE`` from. Default ``None``: ``os.environ``.
    """
    found = lookup(template, pipeline_name, infrastructure, environ=environ)
    if found.status == "hit" and found.built is not None:
        return found.built
    if found.status == "ignored":
        warn(
            CacheEntryIgnored,
            CACHE_ENTRY_IGNORED_ID,
            f"the re-synth cache entry {found.path} was not used ({found.reason}); the pipeline "
            f"{pipeline_name!r} is built afresh and the entry replaced",
            on_warning,
        )
    built = template.build(pipeline_name, infrastructure)
    if found.key is not None:
        try:
            store(found.key, built, environ=environ)
        except (OSError, SynthError) as exc:
            reason = (
                f"{exc.field}: {exc.message}" if isinstance(exc, SynthError) else (exc.strerror or str(exc))
            )
            warn(
                CacheNotWritten,
                CACHE_NOT_WRITTEN_ID,
                f"the build of pipeline {pipeline_name!r} was not stored in the re-synth cache "
                f"{found.path.parent if found.path else ''} ({reason}); set {CACHE_ENV}=off to turn the "
                "cache off, or to a writable directory",
                on_warning,
            )
    return built
