"""Deterministic packing of a local ``source_dir`` into ``sourcedir.tar.gz``."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from constructs_lib.errors import ConfigError
from constructs_lib.packaging import (
    DEFAULT_MAX_SOURCE_BYTES,
    deterministic_tar_gz,
    pack_source_dir,
    source_fingerprint,
    write_source_tarball,
)

REPO = Path(__file__).resolve().parents[1]


def _make_source(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "requirements.txt").write_text("pyarrow\n")
    (root / "empty_dir").mkdir()
    return root


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def _read(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


# ----------------------------------------------------------------------------- determinism
def test_identical_bytes_whatever_mtimes_permissions_and_location(tmp_path: Path) -> None:
    # GIVEN two copies of the same tree, with different mtimes, non-exec permission bits and paths
    a = _make_source(tmp_path / "a")
    b = tmp_path / "elsewhere" / "b"
    shutil.copytree(a, b)
    for i, path in enumerate(sorted(b.rglob("*"))):
        os.utime(path, (1_000_000 + i, 2_000_000 + i * 7))
    (b / "train.py").chmod(0o600)
    (b / "pkg" / "util.py").chmod(0o664)
    (b / "run.sh").chmod(0o700)  # still executable: stored as 0o755
    # WHEN both are packed
    data_a = pack_source_dir(a, entry_point="train.py")
    data_b = pack_source_dir(b, entry_point="train.py")
    # THEN the bytes and fingerprints are identical
    assert data_a == data_b
    assert source_fingerprint(a, entry_point="train.py") == hashlib.sha256(data_b).hexdigest()


def test_headers_are_normalised(tmp_path: Path) -> None:
    data = pack_source_dir(_make_source(tmp_path / "src"), entry_point="train.py")
    # gzip header: magic, CM=8, FLG=0 (no FNAME), MTIME=0, XFL=2 (level 9), OS=255
    assert data[:4] == b"\x1f\x8b\x08\x00"
    assert data[4:8] == b"\x00\x00\x00\x00"
    assert data[8:10] == b"\x02\xff"
    members = _members(data)
    assert [m.name for m in members] == sorted(m.name for m in members)
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
    modes = {m.name: (m.type, m.mode) for m in members}
    assert modes["run.sh"] == (tarfile.REGTYPE, 0o755)
    assert modes["train.py"] == (tarfile.REGTYPE, 0o644)
    assert modes["pkg"] == (tarfile.DIRTYPE, 0o755)


def test_contents_list(tmp_path: Path) -> None:
    data = pack_source_dir(_make_source(tmp_path / "src"), entry_point="train.py")
    assert [m.name for m in _members(data)] == [
        "empty_dir",
        "pkg",
        "pkg/__init__.py",
        "pkg/util.py",
        "requirements.txt",
        "run.sh",
        "train.py",
    ]
    assert _read(data, "pkg/util.py") == b"X = 1\n"


def test_content_change_changes_fingerprint(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    before = source_fingerprint(src, entry_point="train.py")
    (src / "pkg" / "util.py").write_text("X = 2\n")
    assert source_fingerprint(src, entry_point="train.py") != before


def test_identical_across_hash_seeds_in_subprocesses(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    code = (
        "import sys; from constructs_lib.packaging import source_fingerprint;"
        "print(source_fingerprint(sys.argv[1], entry_point='train.py',"
        " extra_files={'z.json': b'{}', 'a.json': b'[]'}))"
    )
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(src)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_deterministic_tar_gz_is_order_independent() -> None:
    one = deterministic_tar_gz({"b": b"2", "a/x": b"1"}, executable=["b"])
    two = deterministic_tar_gz({"a/x": b"1", "b": b"2"}, executable=("b",))
    assert one == two
    with pytest.raises(ValueError, match="relative POSIX"):
        deterministic_tar_gz({"../evil": b""})


# ----------------------------------------------------------------------------- extra files
def test_extra_files_at_root(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    data = pack_source_dir(src, entry_point="train.py", extra_files={"hp.json": b'{"a": 1}\n'})
    assert _read(data, "hp.json") == b'{"a": 1}\n'
    assert [m.mode for m in _members(data) if m.name == "hp.json"] == [0o644]


def test_extra_file_clash_is_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    with pytest.raises(ConfigError, match="already exists in source_dir") as info:
        pack_source_dir(src, entry_point="train.py", extra_files={"requirements.txt": b""})
    assert info.value.field == "source_dir"
    assert "requirements.txt" in info.value.hint  # type: ignore[operator]


def test_extra_files_in_a_directory_of_their_own(tmp_path: Path) -> None:
    # GIVEN inference code shipped under a directory the source tree does not have
    src = _make_source(tmp_path / "src")
    extras = {"inference/inference.py": b"def model_fn(d): ...\n", "inference/lib/model.py": b"X = 2\n"}
    data = pack_source_dir(src, entry_point="train.py", extra_files=extras)
    # THEN the files are there, and their parent directories have entries like packed directories
    members = {m.name: m for m in _members(data)}
    assert _read(data, "inference/lib/model.py") == b"X = 2\n"
    assert members["inference"].isdir() and members["inference/lib"].isdir()
    assert members["inference"].mode == members["pkg"].mode == 0o755
    assert members["inference/inference.py"].mode == 0o644
    # AND the bytes do not depend on the order the extras were given in
    again = pack_source_dir(src, entry_point="train.py", extra_files=dict(reversed(list(extras.items()))))
    assert again == data


@pytest.mark.parametrize(
    "name",
    ["", "/abs.py", "a//b.py", "a/./b.py", "a/../b.py", "..", "a\\b.py", "__pycache__/x.py", "x/.DS_Store"],
)
def test_extra_file_paths_must_be_safe(tmp_path: Path, name: str) -> None:
    src = _make_source(tmp_path / "src")
    with pytest.raises(ConfigError, match="relative POSIX path") as info:
        pack_source_dir(src, entry_point="train.py", extra_files={name: b""})
    assert info.value.field == "source_dir"


@pytest.mark.parametrize(
    ("name", "existing", "kind"),
    [("pkg/new.py", "pkg", "directory"), ("train.py/x.py", "train.py", "file"), ("empty_dir", "", "")],
)
def test_extra_files_never_merge_into_the_source_tree(
    tmp_path: Path, name: str, existing: str, kind: str
) -> None:
    # GIVEN an extra file under a directory (or at a path) that source_dir already has
    src = _make_source(tmp_path / "src")
    with pytest.raises(ConfigError) as info:
        pack_source_dir(src, entry_point="train.py", extra_files={name: b""})
    # THEN it is refused, naming what is in the way
    if existing:
        assert f"{existing!r} already exists in source_dir (a {kind})" in info.value.message
        assert str(src / existing) in (info.value.hint or "")
    else:
        assert "already exists in source_dir" in info.value.message


def test_source_files_lists_what_would_be_packed(tmp_path: Path) -> None:
    from constructs_lib.packaging import source_files

    src = _make_source(tmp_path / "src")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"\0")
    files = source_files(src, prefix="code/")
    assert sorted(files) == [
        "code/pkg/__init__.py",
        "code/pkg/util.py",
        "code/requirements.txt",
        "code/run.sh",
        "code/train.py",
    ]
    assert files["code/pkg/util.py"] == b"X = 1\n"
    # errors name the field of the caller
    (src / "link.py").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match="points outside") as info:
        source_files(src, field="inference_source_dir")
    assert info.value.field == "inference_source_dir"
    with pytest.raises(ConfigError, match="holds no file") as info:
        source_files(src / "empty_dir", field="inference_source_dir")
    assert info.value.field == "inference_source_dir"


# ----------------------------------------------------------------------------- refusals
def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        pack_source_dir(tmp_path / "nope", entry_point="train.py")
    assert info.value.field == "source_dir"
    assert str(tmp_path / "nope") in str(info.value)


def test_not_a_directory(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        pack_source_dir(script, entry_point="train.py")


def test_missing_entry_point_lists_py_files(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    with pytest.raises(ConfigError, match=r"'main\.py' not found") as info:
        pack_source_dir(src, entry_point="main.py")
    message = str(info.value)
    assert "pkg/util.py" in message and "train.py" in message
    assert info.value.field == "source_dir"


def test_entry_point_in_skipped_location(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "train.py").write_text("")
    with pytest.raises(ConfigError, match="skipped location"):
        pack_source_dir(src, entry_point="__pycache__/train.py")


def test_symlink_outside_is_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    (src / "creds.txt").symlink_to(secret)
    with pytest.raises(ConfigError, match="points outside source_dir") as info:
        pack_source_dir(src, entry_point="train.py")
    assert "creds.txt" in str(info.value) and str(secret) in str(info.value)


def test_directory_symlink_outside_is_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    outside = tmp_path / "outside"
    outside.mkdir()
    (src / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="'linked' points outside"):
        pack_source_dir(src, entry_point="train.py")


def test_symlinks_inside_are_stored_as_content(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    (src / "alias.py").symlink_to("pkg/util.py")
    (src / "pkg_link").symlink_to("pkg", target_is_directory=True)
    data = pack_source_dir(src, entry_point="train.py")
    members = {m.name: m for m in _members(data)}
    assert members["alias.py"].isfile() and _read(data, "alias.py") == b"X = 1\n"
    assert members["pkg_link"].isdir() and _read(data, "pkg_link/util.py") == b"X = 1\n"
    assert not any(m.issym() or m.islnk() for m in members.values())


def test_symlink_cycle_and_dangling_are_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    (src / "pkg" / "loop").symlink_to("..", target_is_directory=True)
    with pytest.raises(ConfigError, match="cycle"):
        pack_source_dir(src, entry_point="train.py")
    (src / "pkg" / "loop").unlink()
    (src / "broken.py").symlink_to("does_not_exist.py")
    with pytest.raises(ConfigError, match="dangling"):
        pack_source_dir(src, entry_point="train.py")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    os.mkfifo(src / "pipe")
    with pytest.raises(ConfigError, match="'pipe' is a FIFO"):
        pack_source_dir(src, entry_point="train.py")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_socket_is_refused(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "s")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(src / "sock"))
        with pytest.raises(ConfigError, match="'sock' is a socket"):
            pack_source_dir(src, entry_point="train.py")
    finally:
        sock.close()


# ----------------------------------------------------------------------------- skip list
def test_skip_list(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    for d in ("__pycache__", ".git", ".hg", ".svn", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"):
        (src / d).mkdir()
        (src / d / "junk.py").write_text("junk")
    (src / "pkg" / "__pycache__").mkdir()
    (src / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0")
    (src / "stale.pyc").write_bytes(b"\0")
    (src / ".DS_Store").write_bytes(b"\0")
    for venv in ("venv", "env", "my-env"):
        (src / venv / "lib").mkdir(parents=True)
        (src / venv / "pyvenv.cfg").write_text("home = /usr\n")
        (src / venv / "lib" / "big.py").write_text("x")
    (src / "env_not_a_venv").mkdir()
    (src / "env_not_a_venv" / "keep.py").write_text("")
    names = [m.name for m in _members(pack_source_dir(src, entry_point="train.py"))]
    assert names == [
        "empty_dir",
        "env_not_a_venv",
        "env_not_a_venv/keep.py",
        "pkg",
        "pkg/__init__.py",
        "pkg/util.py",
        "requirements.txt",
        "run.sh",
        "train.py",
    ]


# ----------------------------------------------------------------------------- size limit
def test_default_limit_is_50_mib() -> None:
    assert DEFAULT_MAX_SOURCE_BYTES == 52_428_800


def test_size_limit_boundary(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_bytes(b"x" * 100)
    (src / "data.bin").write_bytes(b"y" * 900)
    extra = {"hp.json": b"z" * 24}
    total = 100 + 900 + 24
    pack_source_dir(src, entry_point="train.py", extra_files=extra, max_bytes=total)  # exactly at the limit
    with pytest.raises(ConfigError, match="over the limit") as info:
        pack_source_dir(src, entry_point="train.py", extra_files=extra, max_bytes=total - 1)
    message = str(info.value)
    assert f"{total} bytes" in message and f"{total - 1} bytes" in message
    assert message.index("data.bin") < message.index("train.py") < message.index("hp.json")


def test_size_limit_names_five_largest(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("")
    for i in range(7):
        (src / f"f{i}.bin").write_bytes(b"x" * (10 * (i + 1)))
    with pytest.raises(ConfigError) as info:
        pack_source_dir(src, entry_point="train.py", max_bytes=100)
    message = str(info.value)
    for i in (6, 5, 4, 3, 2):
        assert f"f{i}.bin ({10 * (i + 1)} B)" in message
    assert "f1.bin" not in message and "f0.bin" not in message


# ----------------------------------------------------------------------------- writing
def test_write_source_tarball(tmp_path: Path) -> None:
    src = _make_source(tmp_path / "src")
    hashed = write_source_tarball(src, tmp_path / "out", entry_point="train.py")
    digest = source_fingerprint(src, entry_point="train.py")
    assert hashed.name == f"sourcedir-{digest[:16]}.tar.gz"
    assert hashlib.sha256(hashed.read_bytes()).hexdigest() == digest
    fixed = write_source_tarball(src, tmp_path / "out", entry_point="train.py", file_name="sourcedir.tar.gz")
    assert fixed.name == "sourcedir.tar.gz" and fixed.read_bytes() == hashed.read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([hashed.name, "sourcedir.tar.gz"])
    # gzip stream is valid and carries no file name
    assert gzip.decompress(fixed.read_bytes())[:9] != b""
    with pytest.raises(ConfigError, match="plain file name"):
        write_source_tarball(src, tmp_path / "out", entry_point="train.py", file_name="../x.tar.gz")


def test_safe_extract_with_and_without_the_stdlib_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import tarfile

    from constructs_lib.packaging import deterministic_tar_gz, safe_extract

    good = deterministic_tar_gz({"a/b.py": b"x = 1\n"})
    for use_filter in (True, False):
        if not use_filter:
            monkeypatch.delattr(tarfile, "data_filter", raising=False)
        dest = tmp_path / f"out-{use_filter}"
        with tarfile.open(fileobj=io.BytesIO(good), mode="r:gz") as tar:
            safe_extract(tar, dest)
        assert (dest / "a" / "b.py").read_bytes() == b"x = 1\n"
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"!"))
    evil.seek(0)
    with tarfile.open(fileobj=evil, mode="r") as tar, pytest.raises(ConfigError, match="refusing to extract"):
        safe_extract(tar, tmp_path / "evil")
    assert not (tmp_path / "escape.txt").exists()
