"""A local ``source_dir`` is packed safely: nothing outside it is ever read or shipped, junk is skipped,
size is bounded, and every refusal is a ``ConfigError`` naming the path (also through the CDK construct).

GIVEN a source directory with a hostile or sloppy layout WHEN it is packed (directly, or by the construct
at synth) THEN the archive holds only what is inside the directory, or a ConfigError says which entry is
wrong and where it points.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.errors import ConfigError, ConstructsLibError
from robustness.helpers import REGION, optional_module, training_config

SECRET = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def packaging() -> Any:
    return optional_module("constructs_lib.packaging")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fake home directory outside the source directory, holding ``~/.aws/credentials``."""
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(f"[default]\n{SECRET}\n")
    return aws.parent


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "project" / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "model.py").write_text("WIDTH = 8\n")
    return root


def members(data: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        out: dict[str, bytes | None] = {}
        for info in tar.getmembers():
            fh = tar.extractfile(info) if info.isfile() else None
            out[info.name] = fh.read() if fh else None
        return out


def pack(packaging: Any, root: Path, **kwargs: Any) -> dict[str, bytes | None]:
    return members(packaging.pack_source_dir(root, entry_point="train.py", **kwargs))


# ------------------------------------------------------------------------------------------ symlinks
def test_symlink_to_a_file_outside_is_refused_naming_link_and_target(
    packaging: Any, src: Path, home: Path
) -> None:
    credentials = home / ".aws" / "credentials"
    (src / "creds").symlink_to(credentials)
    with pytest.raises(ConfigError) as info:
        pack(packaging, src)
    err = info.value
    assert err.field == "source_dir"
    assert (
        "'creds'" in err.message and str(credentials) in err.message and "outside source_dir" in err.message
    )
    assert SECRET not in str(err)


def test_relative_symlink_escaping_with_dotdot_is_refused(packaging: Any, src: Path, home: Path) -> None:
    (src / "pkg" / "secret").symlink_to(Path("../../../home/.aws/credentials"))
    with pytest.raises(ConfigError, match=r"symlink 'pkg/secret' points outside source_dir") as info:
        pack(packaging, src)
    assert "../../../home/.aws/credentials" in info.value.message


def test_symlinked_directory_escaping_is_refused(packaging: Any, src: Path, home: Path) -> None:
    (src / "dotaws").symlink_to(home / ".aws", target_is_directory=True)
    with pytest.raises(ConfigError) as info:
        pack(packaging, src)
    assert "'dotaws'" in info.value.message and str(home / ".aws") in info.value.message


def test_link_to_the_parent_of_source_dir_is_refused(packaging: Any, src: Path) -> None:
    (src / "up").symlink_to(src.parent, target_is_directory=True)
    with pytest.raises(ConfigError, match="'up' points outside"):
        pack(packaging, src)


def test_dangling_and_cyclic_links_are_refused(packaging: Any, src: Path) -> None:
    (src / "gone").symlink_to(src / "missing.py")
    with pytest.raises(ConfigError, match="'gone' is dangling"):
        pack(packaging, src)
    (src / "gone").unlink()
    (src / "pkg" / "loop").symlink_to(src / "pkg", target_is_directory=True)
    with pytest.raises(ConfigError, match="'pkg/loop' leads back"):
        pack(packaging, src)


def test_links_inside_source_dir_are_packed_as_their_content(packaging: Any, src: Path) -> None:
    (src / "alias.py").symlink_to(src / "pkg" / "model.py")
    (src / "lib").symlink_to(src / "pkg", target_is_directory=True)
    files = pack(packaging, src)
    assert files["alias.py"] == b"WIDTH = 8\n"
    assert files["lib/model.py"] == b"WIDTH = 8\n"


# ---------------------------------------------------------------------------------- skipped by default
def test_caches_vcs_and_virtualenvs_are_skipped(packaging: Any, src: Path) -> None:
    junk = [
        "__pycache__/train.cpython-311.pyc",
        "pkg/__pycache__/model.cpython-311.pyc",
        "pkg/stale.pyc",
        ".git/config",
        ".git/objects/ab/cdef",
        ".venv/bin/python",
        "env/pyvenv.cfg",  # a virtualenv under any name
        "env/lib/python3.11/site-packages/big.py",
        "node_modules/x/index.js",
        ".mypy_cache/x.json",
        ".pytest_cache/v/cache",
        ".DS_Store",
    ]
    for rel in junk:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk")
    names = set(pack(packaging, src))
    assert names == {"train.py", "pkg", "pkg/__init__.py", "pkg/model.py"}


def test_entry_point_inside_a_skipped_directory_is_explained(packaging: Any, src: Path) -> None:
    (src / ".venv").mkdir()
    (src / ".venv" / "run.py").write_text("")
    with pytest.raises(ConfigError, match="skipped location"):
        packaging.pack_source_dir(src, entry_point=".venv/run.py")


# ------------------------------------------------------------------------------------------- size
def test_size_limit_at_the_boundary_names_the_largest_files(packaging: Any, src: Path) -> None:
    (src / "weights.bin").write_bytes(b"w" * 5_000)
    (src / "data.csv").write_bytes(b"d" * 3_000)
    total = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert "weights.bin" in pack(packaging, src, max_bytes=total)  # exactly at the limit
    with pytest.raises(ConfigError) as info:
        pack(packaging, src, max_bytes=total - 1)
    message = info.value.message
    assert f"{total} bytes" in message and f"{total - 1} bytes" in message
    assert message.index("weights.bin") < message.index("data.csv")  # largest first


def test_default_size_limit_refuses_a_checkpoint_without_reading_it(packaging: Any, src: Path) -> None:
    with open(src / "checkpoint.pt", "wb") as fh:  # sparse: costs no disk and is never read
        fh.truncate(packaging.DEFAULT_MAX_SOURCE_BYTES + 1)
    with pytest.raises(ConfigError, match=r"largest files: checkpoint\.pt") as info:
        pack(packaging, src)
    assert info.value.field == "source_dir" and "raise max_bytes" in (info.value.hint or "")


# ----------------------------------------------------------------------------- nothing outside is read
@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every path opened (io.open / builtins.open / os.open) or listed while the test runs."""
    seen: list[str] = []
    real_io_open, real_os_open, real_listdir = io.open, os.open, os.listdir

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | bytes | os.PathLike):
            seen.append(os.path.realpath(os.fsdecode(file)))
        return real_io_open(file, *args, **kwargs)

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(os.path.realpath(os.fsdecode(path)))
        return real_os_open(path, *args, **kwargs)

    def spy_listdir(path: Any = ".") -> Any:
        seen.append(os.path.realpath(os.fsdecode(path)))
        return real_listdir(path)

    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(os, "listdir", spy_listdir)
    yield seen


def test_never_reads_outside_source_dir(packaging: Any, src: Path, home: Path, opened: list[str]) -> None:
    credentials = home / ".aws" / "credentials"
    credentials.chmod(0)  # unreadable for a normal user (root bypasses modes: the spy is the real check)
    (src / "alias.py").symlink_to(src / "pkg" / "model.py")
    pack(packaging, src)
    (src / "creds").symlink_to(credentials)
    with pytest.raises(ConfigError):
        pack(packaging, src)
    root = os.path.realpath(src)
    assert opened, "the spy saw nothing: packaging no longer reads through open()/listdir()"
    outside = [p for p in opened if p != root and not p.startswith(root + os.sep)]
    assert outside == []


# ------------------------------------------------------------------ through the template and construct
def _synth(source_dir: Path, entry_point: str = "train.py") -> Any:
    pipeline = optional_module("constructs_lib.constructs.pipeline")
    import aws_cdk as cdk

    from constructs_lib import PipelineBuilderTemplate

    config = training_config(source_dir=str(source_dir), training_entry_point=entry_point)
    template = PipelineBuilderTemplate.single_step(config, node="train", region=REGION)
    stack = cdk.Stack(cdk.App(), "Safety", env=cdk.Environment(account="123456789012", region=REGION))
    return pipeline.SageMakerPipeline(stack, "P", template=template, pipeline_name="safety")


@pytest.mark.parametrize(
    "case", ["escaping-file-link", "escaping-dir-link", "missing-dir", "missing-entry-point"]
)
def test_construct_synth_refuses_with_a_config_error(
    case: str, src: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSTRUCTS_LIB_STAGING_DIR", str(tmp_path / "staging"))
    source, entry, fragment = src, "train.py", ""
    if case == "escaping-file-link":
        (src / "creds").symlink_to(home / ".aws" / "credentials")
        fragment = "symlink 'creds' points outside source_dir"
    elif case == "escaping-dir-link":
        (src / "dotaws").symlink_to(home / ".aws", target_is_directory=True)
        fragment = "symlink 'dotaws' points outside source_dir"
    elif case == "missing-dir":
        source, fragment = tmp_path / "no-such-dir", "directory does not exist"
    else:
        entry, fragment = "missing.py", "entry point 'missing.py' not found"
    with pytest.raises(ConstructsLibError) as info:
        _synth(source, entry)
    err = info.value
    assert type(err) is ConfigError, f"{type(err).__name__}: {err}"  # not a SynthError wrapping a CDK error
    assert err.field == "source_dir" and fragment in err.message
    assert SECRET not in str(err)
    assert not list((tmp_path / "staging").rglob("*.tar.gz"))  # nothing was staged for upload
