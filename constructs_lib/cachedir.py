"""Where this library keeps its local caches, how it writes them, and the warnings they give.

Two caches share it: the re-synth cache of pipeline builds (:mod:`constructs_lib.cache`, the directory
itself) and the memo of the SageMaker limits read from botocore's service model
(:mod:`constructs_lib.limits`, its ``limits/`` subdirectory). Both are content-addressed, both are
ignored with a :class:`CacheEntryIgnored` warning when an entry is unusable, both write atomically, and
``CONSTRUCTS_LIB_CACHE=off`` turns both off.

**Where:** ``$CONSTRUCTS_LIB_CACHE`` when it names a directory, else ``$XDG_CACHE_HOME/constructs_lib/
definitions`` (an absolute ``XDG_CACHE_HOME`` only), else ``~/.cache/constructs_lib/definitions``.

This module is pure Python and imports nothing beyond the standard library.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "CACHE_ENTRY_IGNORED_ID",
    "CACHE_ENV",
    "CACHE_NOT_WRITTEN_ID",
    "OFF_VALUES",
    "BadEntry",
    "CacheEntryIgnored",
    "CacheNotWritten",
    "CacheWarning",
    "cache_directory",
    "frame",
    "prune",
    "unframe",
    "warn",
    "write_atomically",
]

#: Environment variable: ``off`` disables the caches, a path chooses their directory. Default (unset or
#: empty): the user cache directory (see the module docstring).
CACHE_ENV = "CONSTRUCTS_LIB_CACHE"

#: Values of :data:`CACHE_ENV` that turn the caches off (compared in lower case).
OFF_VALUES = frozenset({"off", "0", "false", "no", "disabled"})

#: Id of the warning given when an entry exists but cannot be used (truncated, corrupted, incompatible).
CACHE_ENTRY_IGNORED_ID = "constructs_lib:cache-entry-ignored"

#: Id of the warning given when a build could not be written to the cache (unwritable directory).
CACHE_NOT_WRITTEN_ID = "constructs_lib:cache-not-written"

_PACKAGE = "constructs_lib"


class CacheWarning(UserWarning):
    """Base class of the caches' warnings (filter on it to silence them all)."""


class CacheEntryIgnored(CacheWarning):
    """A cache entry existed but was not used (truncated, corrupted or incompatible); what it held was
    computed afresh. Message prefix: ``[constructs_lib:cache-entry-ignored]``."""


class CacheNotWritten(CacheWarning):
    """A build could not be stored in the cache (e.g. the directory is not writable). Message prefix:
    ``[constructs_lib:cache-not-written]``."""


def cache_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache directory, or ``None`` when ``CONSTRUCTS_LIB_CACHE`` turns the cache off.

    Args:
        environ: the environment to read. Default ``None``: ``os.environ``.
    """
    env = os.environ if environ is None else environ
    value = env.get(CACHE_ENV, "").strip()
    if value.lower() in OFF_VALUES:
        return None
    if value:
        return Path(value).expanduser()
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / _PACKAGE / "definitions"


class BadEntry(Exception):
    """An entry that must not be used (the message says why)."""


def frame(body: bytes, *, format_name: str, schema: int) -> bytes:
    """``body`` behind a one-line JSON header that names the format and schema and carries the body's length
    and SHA-256 (what :func:`unframe` checks)."""
    header = json.dumps(
        {
            "format": format_name,
            "schema": schema,
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        },
        sort_keys=True,
    ).encode("ascii")
    return header + b"\n" + body


def unframe(data: bytes, *, format_name: str, schema: int, what: str) -> bytes:
    """The body of a :func:`frame`-d entry; :class:`BadEntry` when it is truncated, padded, corrupted, of
    another format or schema (``what`` names the kind of entry in the message)."""
    header_line, sep, body = data.partition(b"\n")
    if not sep:
        raise BadEntry("truncated (no header line)")
    try:
        header = json.loads(header_line)
    except ValueError:
        raise BadEntry("unreadable header") from None
    if type(header) is not dict or header.get("format") != format_name:
        raise BadEntry(f"not a constructs_lib {what}")
    if header.get("schema") != schema:
        raise BadEntry(f"{what} schema {header.get('schema')!r}, this library reads {schema}")
    if header.get("length") != len(body):
        raise BadEntry(
            f"truncated or padded: {len(body)} bytes of body, the header says {header.get('length')}"
        )
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise BadEntry("corrupted: the body's SHA-256 differs from the header's")
    return body


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory renamed into place
    (``os.replace``), creating the directory; a concurrent reader sees the old file or the new one, never
    a part. Raises ``OSError`` when the directory cannot be written (no temporary file is left)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def prune(directory: Path, suffix: str, keep: int) -> None:
    """Remove the least recently modified files of ``directory`` whose name ends with ``suffix`` beyond
    the ``keep`` newest; errors are ignored (another process may be pruning too)."""
    try:
        entries = []
        for item in os.scandir(directory):
            if item.name.endswith(suffix) and item.is_file():
                entries.append((item.stat().st_mtime, item.name))
    except OSError:
        return
    if len(entries) <= keep:
        return
    for _, name in sorted(entries)[: len(entries) - keep]:
        with contextlib.suppress(OSError):
            os.unlink(directory / name)


def warn(
    category: type[CacheWarning],
    warning_id: str,
    message: str,
    on_warning: Callable[[str, str], None] | None = None,
    *,
    stacklevel: int = 3,
) -> None:
    """``warnings.warn`` ``message`` prefixed with ``[warning_id]``, and call ``on_warning(id, message)``
    when given (the CDK construct adds it as an annotation warning)."""
    warnings.warn(f"[{warning_id}] {message}", category, stacklevel=stacklevel)
    if on_warning is not None:
        on_warning(warning_id, message)
