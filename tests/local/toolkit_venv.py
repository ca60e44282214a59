"""A second Python environment with an older SageMaker training toolkit, for the local-run tests.

The container-era images (e.g. ``pytorch-training:1.13.1-gpu-py39``) carry ``sagemaker-training`` 4.x,
which runs the entry point through ``/bin/sh``; the main environment has the latest toolkit. This module
makes a virtual environment that holds ONLY the older toolkit pair (plus the ``protobuf`` it pins) and
reuses everything else (torch, numpy, pandas, boto3, ...) from the interpreter running the tests,
without copying gigabytes:

* ``python -m venv --without-pip`` (no system site-packages, so the main environment's newer toolkit is
  not seen through it);
* the pins are installed into it with this interpreter's pip (``pip --python <venv>``, ``--no-deps``);
* a ``.pth`` file in its site-packages, processed after its own packages, appends the main
  site-packages with ``site.addsitedir``: its own (older) toolkit wins, the rest comes from the main one;
* a ``torchrun`` script in its ``bin/`` (the toolkit's ``torch_distributed`` runner calls ``torchrun``
  from ``PATH``; the torch it imports is the main environment's).

It is cached under ``$XDG_CACHE_HOME/constructs_lib/toolkit-venvs`` (default ``~/.cache``), keyed by the
pins, the Python version and the main site-packages path, built under an exclusive file lock and
marked complete only at the end, so concurrent test sessions are safe and a crashed build is redone.
A fresh machine needs PyPI access once (the 4.x toolkit is an sdist with a small C extension: a C
compiler and the Python headers are needed, as for the latest toolkit).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

__all__ = ["CONTAINER_ERA_PINS", "cache_root", "toolkit_venv"]

#: The toolkit pair of the container-era PyTorch images; protobuf is the newest sagemaker-training 4.8.4
#: allows (``protobuf>=3.9.2,<=3.20.3``).
CONTAINER_ERA_PINS: tuple[str, ...] = (
    "sagemaker-training==4.8.4",
    "sagemaker-pytorch-training==2.8.1",
    "protobuf==3.20.3",
)

_COMPLETE = ".constructs-lib-complete"
_PTH = "zz_constructs_lib_base_site.pth"
_TORCHRUN = """#!{python}
import sys

from torch.distributed.run import main

if __name__ == "__main__":
    sys.exit(main())
"""


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/constructs_lib/toolkit-venvs`` (default ``~/.cache/constructs_lib/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "constructs_lib" / "toolkit-venvs"


def _key(pins: Sequence[str], base_site: str) -> str:
    digest = hashlib.sha256(
        "\n".join([*pins, sys.version.split()[0], base_site, os.path.realpath(sys.executable)]).encode()
    ).hexdigest()[:12]
    name = "+".join(pin.replace("==", "-") for pin in pins[:2])
    return f"{name}-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(command: Sequence[str]) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(list(command), capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(
            f"building the toolkit venv failed: {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def _build(venv: Path, pins: Sequence[str], base_site: str) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = _venv_python(venv)
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", *pins])
    site_dir = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_dir / _PTH).write_text(f"import site; site.addsitedir({base_site!r})\n", encoding="utf-8")
    torchrun = venv / "bin" / "torchrun"
    torchrun.write_text(_TORCHRUN.format(python=python), encoding="utf-8")
    torchrun.chmod(0o755)
    (venv / _COMPLETE).write_text("\n".join(pins) + "\n", encoding="utf-8")


def toolkit_venv(pins: Sequence[str] = CONTAINER_ERA_PINS, root: Path | None = None) -> Path:
    """The cached venv for ``pins`` (built if missing); returns its ``bin/python``."""
    base_site = sysconfig.get_paths()["purelib"]
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    key = _key(pins, base_site)
    venv = root / key
    with (root / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (venv / _COMPLETE).is_file():
                _build(venv, pins, base_site)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _venv_python(venv)


if __name__ == "__main__":  # pragma: no cover - manual use: python tests/local/toolkit_venv.py
    print(toolkit_venv())
