"""Suite-wide set-up: the process runs offline (a guard blocks non-loopback sockets and DNS) with no AWS
credentials, and the noisy banners of jsii / the SageMaker SDK are silenced."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import netguard  # noqa: E402

for _key in list(os.environ):
    if _key.startswith("AWS_") and _key != "AWS_EC2_METADATA_DISABLED":
        del os.environ[_key]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# The re-synth cache (constructs_lib/cache.py) is off for the suite, so every test (and every child process
# it starts) builds for real and never reads the developer's cache; tests/core/test_cache.py and
# tests/cdk/test_cache_synth.py turn it on with a directory of their own.
os.environ["CONSTRUCTS_LIB_CACHE"] = "off"

netguard.install()

# Property tests draw the same examples on every run: CI must not pass or fail by chance.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("constructs_lib", derandomize=True, print_blob=True)
_hypothesis_settings.load_profile("constructs_lib")


@pytest.fixture
def no_network_attempts() -> Iterator[None]:
    """Fail the test if anything tried to reach the network, even if the exception was swallowed."""
    netguard.reset()
    yield
    assert netguard.attempts() == [], f"network access attempted: {netguard.attempts()}"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def staging_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Packed sources are staged in a per-session directory (not the shared system temp dir)."""
    path = tmp_path_factory.mktemp("staging")
    old = os.environ.get("CONSTRUCTS_LIB_STAGING_DIR")
    os.environ["CONSTRUCTS_LIB_STAGING_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("CONSTRUCTS_LIB_STAGING_DIR", None)
    else:
        os.environ["CONSTRUCTS_LIB_STAGING_DIR"] = old


@pytest.fixture(scope="session")
def example_app(tmp_path_factory: pytest.TempPathFactory, staging_dir: Path) -> Any:
    """``app.py``'s stacks, synthesized once per session for every test directory (cdk-nag attached: the
    synth itself fails on an unacknowledged finding); ``{stack name: Synth}``."""
    cdk_tests = str(ROOT / "tests" / "cdk")
    if cdk_tests not in sys.path:
        sys.path.insert(0, cdk_tests)
    import aws_cdk as cdk
    from synth_support import CONTEXT, load_app_module, synth_app

    app = cdk.App(outdir=str(tmp_path_factory.mktemp("app")), context=CONTEXT)
    load_app_module().build_app(app, environ={})
    names = [c.node.id for c in app.node.children if isinstance(c, cdk.Stack)]
    return synth_app(app, dict.fromkeys(names))
