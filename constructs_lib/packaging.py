"""Deterministic ``sourcedir.tar.gz`` packing of a local training ``source_dir``.

SageMaker's training toolkit downloads ``sagemaker_submit_directory`` and unpacks it as a tar.gz into
``/opt/ml/code`` (CDK zips directory assets, which the toolkit cannot read, so the library builds the
tarball itself and ships it as a file asset). The bytes depend only on the *contents* of the files:

* entries sorted by their archive path (POSIX, relative to ``source_dir``), directories included;
* every entry has mtime 0, uid/gid 0, empty uname/gname; mode ``0o755`` for directories and for files
  with any execute bit set, ``0o644`` for every other file (other permission bits, umask and owner do
  not matter);
* PAX tar format, UTF-8 names; gzip header with mtime 0, no file name, compression level 9
  (:data:`COMPRESS_LEVEL`).

So a ``source_dir`` copied to another machine, checked out again or touched gives the same bytes, the
same :func:`source_fingerprint` and therefore the same CDK asset hash. (The gzip stream is produced by
the interpreter's zlib; zlib builds that compress differently, such as zlib-ng, would give other
compressed bytes for the same tar payload.)

What is left out (:data:`SKIPPED_DIR_NAMES`, :data:`SKIPPED_FILE_NAMES`, :data:`SKIPPED_SUFFIXES`):
``__pycache__``, ``*.pyc``, ``.git``, ``.hg``, ``.svn``, ``.venv``, ``node_modules``, ``.mypy_cache``,
``.pytest_cache``, ``.DS_Store``, and every directory holding a ``pyvenv.cfg`` (a virtual environment,
whatever its name: ``venv``, ``env``, ...).

Symbolic links: a link whose target resolves inside ``source_dir`` is stored as what it points to (a
file link as a regular file with the target's content, a directory link as a directory whose files are
walked under the link's name); a link that resolves outside ``source_dir``, a dangling link and a
directory link that leads back to one of its own ancestors (a cycle) are refused. Nothing outside
``source_dir`` is ever read. Sockets, FIFOs and device files are refused.

Every refusal is a :class:`~constructs_lib.errors.ConfigError` naming field ``source_dir``, the path and
the fix. This module is pure Python: it imports neither ``aws_cdk`` nor ``sagemaker``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.errors import ConfigError

__all__ = [
    "COMPRESS_LEVEL",
    "DEFAULT_MAX_SOURCE_BYTES",
    "SKIPPED_DIR_NAMES",
    "SKIPPED_FILE_NAMES",
    "SKIPPED_SUFFIXES",
    "ExtraDir",
    "deterministic_tar_gz",
    "in_step",
    "pack_source_dir",
    "safe_extract",
    "source_files",
    "source_fingerprint",
    "write_source_tarball",
]

#: Largest total size, in bytes, of the files packed from a ``source_dir`` (50 MiB = 52,428,800 bytes),
#: counted before compression and including ``extra_files``. Training code is small; a bigger tree
#: almost always means a data set, a virtual environment or a model checkpoint was left in it.
DEFAULT_MAX_SOURCE_BYTES = 50 * 1024 * 1024

#: gzip compression level of every archive (fixed so that the bytes are reproducible).
COMPRESS_LEVEL = 9

#: Directory names never packed (at any depth).
SKIPPED_DIR_NAMES: frozenset[str] = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}
)

#: File names never packed (at any depth).
SKIPPED_FILE_NAMES: frozenset[str] = frozenset({".DS_Store"})

#: File name endings never packed (at any depth).
SKIPPED_SUFFIXES: tuple[str, ...] = (".pyc",)

_VENV_MARKER = "pyvenv.cfg"
_DIR_MODE = 0o755
_EXEC_MODE = 0o755
_FILE_MODE = 0o644
_LIST_PY_FILES_MAX = 10
_FIELD = "source_dir"


@dataclass(frozen=True)
class ExtraDir:
    """A local directory packed below an archive directory of its own (see ``pack_source_dir``).

    Attributes:
        path: the local directory (read when the archive is packed, with ``source_dir``'s rules).
        field: the config field errors name. Default ``"source_dir"``.
        required: a file (relative to ``path``) that must be in it, e.g. a handler. Default ``None``.
    """

    path: str
    field: str = "source_dir"
    required: str | None = None


@dataclass(frozen=True)
class _FileEntry:
    arcname: str
    real_path: Path
    size: int
    executable: bool


def deterministic_tar_gz(
    files: Mapping[str, bytes],
    *,
    executable: Collection[str] = (),
    directories: Collection[str] = (),
) -> bytes:
    """A reproducible ``.tar.gz`` of ``files`` (``{archive path: content}``).

    Entries are sorted by path; mtime 0, uid/gid 0, empty owner names; mode ``0o755`` for the paths in
    ``executable`` (default none) and for ``directories`` (default none: directories are then implied by
    the file paths), ``0o644`` otherwise; gzip mtime 0, no file name, level :data:`COMPRESS_LEVEL`.
    Paths must be relative POSIX paths without ``..``.
    """
    for name in [*files, *directories]:
        _check_arcname(name)
    executable_set = set(executable)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        entries: list[tuple[str, bytes | None]] = [(d, None) for d in set(directories) - set(files)]
        entries.extend(files.items())
        for name, content in sorted(entries, key=lambda item: item[0]):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = _DIR_MODE
                tar.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.mode = _EXEC_MODE if name in executable_set else _FILE_MODE
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    out = io.BytesIO()
    # filename="" and a file object without a name: no FNAME field in the gzip header; mtime=0.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=COMPRESS_LEVEL, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _check_arcname(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"archive paths must be relative POSIX paths without '.', '..' or '//': {name!r}")


def in_step(error: ConfigError, step: str) -> ConfigError:
    """``error`` (from :func:`pack_source_dir`) naming the pipeline step whose code it is about, so that in
    a pipeline of several steps the message says which ``source_dir`` to fix. An error that already
    names a step is returned unchanged."""
    if error.step is not None:
        return error
    return ConfigError(
        error.message,
        step=step,
        field=error.field,
        value=error.value,
        hint=error.hint,
        has_value=error.has_value,
        errors=error.errors,
    )


def pack_source_dir(
    source_dir: str | Path,
    *,
    entry_point: str,
    extra_files: Mapping[str, bytes] | None = None,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    extra_dirs: Mapping[str, ExtraDir] | None = None,
) -> bytes:
    """Pack ``source_dir`` into the bytes of a deterministic ``sourcedir.tar.gz``.

    Args:
        source_dir: local directory holding the training code.
        entry_point: the script SageMaker runs, relative to ``source_dir`` (e.g. ``train.py``); it must
            exist there and must not be in a skipped location.
        extra_files: ``{archive path: content}`` added to the archive, e.g. the hyperparameters JSON at
            the root or the inference code under a directory of its own (``dir/name``;
            ``PyTorchTrainingStepBuilder.code_packages()`` gives them). Default ``None`` (nothing added).
            A path must be relative (POSIX, no ``.``/``..``/``//``/``\\``, not in a skipped location), and
            neither it nor any of its parent directories may exist in ``source_dir``: the library writes
            those paths itself, so a clash is an error, never a silent overwrite or merge.
        max_bytes: refuse a total (file contents plus ``extra_files``, uncompressed) above this.
            Default :data:`DEFAULT_MAX_SOURCE_BYTES` (50 MiB). Exactly ``max_bytes`` is accepted.
        extra_dirs: ``{archive directory: ExtraDir}``: each directory's files (:func:`source_files`) are
            added below that archive directory, as extra files with the same rules. Default ``None``.

    Raises:
        ConfigError: (field ``source_dir``) the directory is missing or not a directory, the entry
            point is missing, a symlink leaves ``source_dir`` or dangles or loops, a special file is
            found, an extra file clashes or has a bad name, or the total is over ``max_bytes``.
    """
    root = _check_root(source_dir)
    entries, directories = _collect(root)
    by_name = {e.arcname: e for e in entries}

    _check_entry_point(root, entry_point, by_name)
    extras = dict(extra_files or {})
    for arc_dir, extra_dir in sorted((extra_dirs or {}).items()):
        extras.update(extra_dir_files(arc_dir, extra_dir, max_bytes=max_bytes))
    for name in sorted(extras):
        _check_extra_name(root, name, by_name, directories)
    # the parent directories of nested extra files get entries of their own (mode 0o755, like packed ones)
    directories = directories | {
        "/".join(name.split("/")[:depth]) for name in extras for depth in range(1, name.count("/") + 1)
    }

    _check_size(root, entries, extras, max_bytes)

    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for entry in entries:
        try:
            files[entry.arcname] = entry.real_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {entry.arcname!r}: {exc.strerror or exc}",
                field=_FIELD,
                value=str(root),
                hint="make every file under source_dir readable, or remove it",
            ) from exc
        if entry.executable:
            executable.add(entry.arcname)
    total = sum(len(b) for b in files.values()) + sum(len(b) for b in extras.values())
    if total > max_bytes:  # a file grew between the size check and the read
        _check_size(root, entries, extras, max_bytes, actual_total=total)
    files.update(extras)
    return deterministic_tar_gz(files, executable=executable, directories=directories)


def extra_dir_files(
    arc_dir: str, extra_dir: ExtraDir, *, max_bytes: int = DEFAULT_MAX_SOURCE_BYTES
) -> dict[str, bytes]:
    """The files of ``extra_dir`` as ``{arc_dir/path: content}``; :class:`ConfigError` (field
    ``extra_dir.field``) when its ``required`` file is not among them."""
    files = source_files(extra_dir.path, prefix=f"{arc_dir}/", field=extra_dir.field, max_bytes=max_bytes)
    if extra_dir.required is not None and f"{arc_dir}/{extra_dir.required}" not in files:
        found = sorted(n.split("/", 1)[1] for n in files if n.endswith(".py"))
        raise ConfigError(
            f"{extra_dir.required!r} is not in the directory",
            field=extra_dir.field,
            value=extra_dir.path,
            hint=f"the .py files there: {', '.join(found) or 'none'}",
        )
    return files


def source_fingerprint(
    source_dir: str | Path,
    *,
    entry_point: str,
    extra_files: Mapping[str, bytes] | None = None,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
) -> str:
    """Hex SHA-256 of :func:`pack_source_dir`'s bytes (same arguments, same defaults)."""
    data = pack_source_dir(source_dir, entry_point=entry_point, extra_files=extra_files, max_bytes=max_bytes)
    return hashlib.sha256(data).hexdigest()


def write_source_tarball(
    source_dir: str | Path,
    out_dir: str | Path,
    *,
    entry_point: str,
    extra_files: Mapping[str, bytes] | None = None,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    file_name: str | None = None,
) -> Path:
    """Write :func:`pack_source_dir`'s bytes into ``out_dir`` (created if missing) and return the path.

    ``file_name`` default ``None``: ``sourcedir-<first 16 hex digits of the SHA-256>.tar.gz``, so a new
    content gets a new name and an unchanged one is not rewritten; pass e.g. ``"sourcedir.tar.gz"`` for a
    fixed name. The file is written atomically (temporary file, then rename).
    """
    data = pack_source_dir(source_dir, entry_point=entry_point, extra_files=extra_files, max_bytes=max_bytes)
    name = file_name or f"sourcedir-{hashlib.sha256(data).hexdigest()[:16]}.tar.gz"
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigError(
            "must be a plain file name", field="file_name", value=name, hint="e.g. sourcedir.tar.gz"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / name
    if target.is_file() and target.read_bytes() == data:
        return target
    tmp = out / f".{name}.tmp-{os.getpid()}"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


# ---------------------------------------------------------------------------------------- internals
def _check_root(source_dir: str | Path) -> Path:
    path = Path(source_dir)
    if not path.exists():
        raise ConfigError(
            "directory does not exist",
            field=_FIELD,
            value=str(path),
            hint="point source_dir at the local directory holding your training script",
        )
    if not path.is_dir():
        raise ConfigError(
            "not a directory",
            field=_FIELD,
            value=str(path),
            hint="source_dir is the directory that holds the entry point, not the script itself",
        )
    return path.resolve()


def _is_skipped_file(name: str) -> bool:
    return name in SKIPPED_FILE_NAMES or name.endswith(SKIPPED_SUFFIXES)


def _is_skipped_dir(name: str, real_dir: Path) -> bool:
    return name in SKIPPED_DIR_NAMES or (real_dir / _VENV_MARKER).is_file()


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def _collect(root: Path) -> tuple[list[_FileEntry], set[str]]:
    """Walk ``root`` (following in-tree symlinks); return the files and the directories to pack."""
    files: list[_FileEntry] = []
    directories: set[str] = set()

    def walk(real_dir: Path, prefix: str, ancestors: frozenset[Path]) -> None:
        try:
            names = sorted(os.listdir(real_dir))
        except OSError as exc:
            raise ConfigError(
                f"cannot list directory {prefix or '.'!r}: {exc.strerror or exc}",
                field=_FIELD,
                value=str(root),
                hint="make every directory under source_dir readable, or remove it",
            ) from exc
        for name in names:
            arcname = f"{prefix}{name}"
            path = real_dir / name
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(
                    f"file name {arcname!r} is not valid UTF-8",
                    field=_FIELD,
                    value=str(root),
                    hint="rename the file",
                ) from None
            st = path.lstat()
            target = path
            if stat.S_ISLNK(st.st_mode):
                target = Path(os.path.realpath(path))
                link_text = os.readlink(path)
                if not _inside(root, target):
                    raise ConfigError(
                        f"symlink {arcname!r} points outside source_dir (to {link_text!r} = {str(target)!r})",
                        field=_FIELD,
                        value=str(root),
                        hint="copy the target into source_dir or remove the link; "
                        "nothing outside source_dir is packed",
                    )
                try:
                    st = target.stat()
                except OSError:
                    raise ConfigError(
                        f"symlink {arcname!r} is dangling (points to {link_text!r})",
                        field=_FIELD,
                        value=str(root),
                        hint="fix or remove the link",
                    ) from None
            if stat.S_ISDIR(st.st_mode):
                if _is_skipped_dir(name, target):
                    continue
                if target in ancestors:
                    raise ConfigError(
                        f"symlink {arcname!r} leads back to its own ancestor {str(target)!r} (a cycle)",
                        field=_FIELD,
                        value=str(root),
                        hint="remove the link",
                    )
                directories.add(arcname)
                walk(target, f"{arcname}/", ancestors | {target})
            elif stat.S_ISREG(st.st_mode):
                if _is_skipped_file(name):
                    continue
                files.append(_FileEntry(arcname, target, st.st_size, bool(st.st_mode & 0o111)))
            else:
                kind = _special_kind(st.st_mode)
                raise ConfigError(
                    f"{arcname!r} is a {kind}, not a regular file",
                    field=_FIELD,
                    value=str(root),
                    hint=f"remove the {kind} from source_dir; only files and directories are packed",
                )

    walk(root, "", frozenset({root}))
    files.sort(key=lambda e: e.arcname)
    return files, directories


def _special_kind(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def _check_entry_point(root: Path, entry_point: str, by_name: Mapping[str, _FileEntry]) -> None:
    if entry_point in by_name:
        return
    py_files = sorted(n for n in by_name if n.endswith(".py"))
    if not py_files:
        found = "there are no .py files in it"
    elif len(py_files) <= _LIST_PY_FILES_MAX:
        found = f"the .py files there are: {', '.join(py_files)}"
    else:
        found = f"there are {len(py_files)} .py files, e.g. {', '.join(py_files[:_LIST_PY_FILES_MAX])}"
    skipped = ""
    if (root / entry_point).exists():
        skipped = " (it exists but lies in a skipped location, e.g. a virtual environment or __pycache__)"
    raise ConfigError(
        f"entry point {entry_point!r} not found in source_dir{skipped}",
        field=_FIELD,
        value=str(root),
        hint=f"{found}; set training_entry_point to one of them (a path relative to source_dir) "
        "or add the script",
    )


def _check_extra_name(
    root: Path, name: str, by_name: Mapping[str, _FileEntry], directories: set[str]
) -> None:
    parts = name.split("/") if isinstance(name, str) else []
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(p in ("", ".", "..") for p in parts)
        or any(p in SKIPPED_DIR_NAMES for p in parts[:-1])
        or _is_skipped_file(parts[-1])
    ):
        raise ConfigError(
            f"extra file path {name!r} must be a relative POSIX path without '.', '..', '//' or '\\', "
            "outside the skipped locations",
            field=_FIELD,
            value=str(root),
            hint="use a file name (archive root) or dir/name",
        )
    if name in by_name or name in directories:
        raise ConfigError(
            f"{name!r} already exists in source_dir and would be replaced by the generated file",
            field=_FIELD,
            value=str(root),
            hint=f"rename or delete {str(root / name)!r}; the library writes that file itself",
        )
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if parent in by_name or parent in directories:
            kind = "file" if parent in by_name else "directory"
            raise ConfigError(
                f"the library writes {name!r}, but {parent!r} already exists in source_dir (a {kind}); "
                "it would be merged with or replaced by generated files",
                field=_FIELD,
                value=str(root),
                hint=f"rename or delete {str(root / parent)!r}; the library writes that directory itself",
            )


def source_files(
    source_dir: str | Path,
    *,
    prefix: str = "",
    field: str = _FIELD,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
) -> dict[str, bytes]:
    """Every file :func:`pack_source_dir` would pack from ``source_dir``, as ``{prefix + path: content}``
    (the same skip list and symlink rules), e.g. to ship a directory inside another package as its
    ``extra_files``.

    Args:
        source_dir: the local directory.
        prefix: prepended to every archive path (e.g. ``"inference/"``). Default ``""``.
        field: the config field named by errors. Default ``"source_dir"``.
        max_bytes: refuse a total (uncompressed) above this. Default :data:`DEFAULT_MAX_SOURCE_BYTES`.

    Raises:
        ConfigError: (field ``field``) as :func:`pack_source_dir`, or the directory holds no file.
    """
    try:
        root = _check_root(source_dir)
        entries, _directories = _collect(root)
        _check_size(root, entries, {}, max_bytes)
        files: dict[str, bytes] = {}
        for entry in entries:
            try:
                files[f"{prefix}{entry.arcname}"] = entry.real_path.read_bytes()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read {entry.arcname!r}: {exc.strerror or exc}",
                    field=_FIELD,
                    value=str(root),
                    hint="make every file under the directory readable, or remove it",
                ) from exc
    except ConfigError as exc:
        if field == _FIELD:
            raise
        raise ConfigError(exc.message, field=field, value=exc.value, hint=exc.hint) from None
    if not files:
        raise ConfigError(
            "the directory holds no file to pack",
            field=field,
            value=str(source_dir),
            hint="point it at the directory that holds the code",
        )
    return files


def _check_size(
    root: Path,
    entries: list[_FileEntry],
    extras: Mapping[str, bytes],
    max_bytes: int,
    actual_total: int | None = None,
) -> None:
    sizes = [(e.size, e.arcname) for e in entries] + [(len(b), n) for n, b in extras.items()]
    total = actual_total if actual_total is not None else sum(s for s, _ in sizes)
    if total <= max_bytes:
        return
    largest = sorted(sizes, key=lambda item: (-item[0], item[1]))[:5]
    listing = ", ".join(f"{name} ({_human(size)})" for size, name in largest)
    raise ConfigError(
        f"source_dir holds {_human(total)} ({total} bytes) to pack, over the limit of "
        f"{_human(max_bytes)} ({max_bytes} bytes); largest files: {listing}",
        field=_FIELD,
        value=str(root),
        hint="keep only code in source_dir (read data through the data channel, install packages with "
        "requirements.txt), or raise max_bytes",
    )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def safe_extract(tar: tarfile.TarFile, destination: str | Path) -> None:
    """Extract ``tar`` below ``destination``, refusing absolute paths, ``..``, links and special files.

    Uses the standard library's ``"data"`` filter where it exists (Python >= 3.11.4, 3.12); older 3.11
    interpreters (Debian's 3.11.2) get the same checks done here.
    """
    dest = Path(destination).resolve()
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    for member in tar.getmembers():
        target = (dest / member.name).resolve()
        if not (member.isfile() or member.isdir()) or (target != dest and dest not in target.parents):
            raise ConfigError(
                "refusing to extract an archive member",
                field="archive",
                value=member.name,
                hint="only regular files and directories below the destination are extracted",
            )
    tar.extractall(dest)
