"""Fixtures of the local-run tests: demo data, the two toolkit generations, module isolation."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from localrun_support import DEMO_ROWS

from constructs_lib.local.demo_data import write_demo_dataset


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_dataset(tmp_path_factory.mktemp("demo") / "data", rows=DEMO_ROWS)


@pytest.fixture(scope="session")
def latest_python() -> str:
    """This interpreter: it has the latest toolkit pair (the ``[local]`` extra)."""
    pytest.importorskip("sagemaker_training")
    pytest.importorskip("sagemaker_pytorch_container")
    return sys.executable


@pytest.fixture(scope="session")
def container_era_python() -> str:
    """An interpreter with sagemaker-training 4.8.4 + sagemaker-pytorch-training 2.8.1 (the toolkit of
    the py39 images, which runs the script through /bin/sh) and this environment's torch & co."""
    from toolkit_venv import toolkit_venv

    return str(toolkit_venv())


@pytest.fixture
def isolated_model_module() -> Iterator[None]:
    """Loading train.py or inference.py imports the ``model`` module beside it; forget it afterwards."""
    saved_path = list(sys.path)
    saved = sys.modules.pop("model", None)
    yield
    sys.path[:] = saved_path
    sys.modules.pop("model", None)
    if saved is not None:
        sys.modules["model"] = saved
