"""A good guest: building definitions and synthesizing the example stacks leaves the process as it was.

Each check runs in a fresh interpreter (the test process itself has been set up by conftest): it records
``os.environ``, every logger's level and handlers (root, ``sagemaker``, ``botocore``...), the warning
filters, ``sys.excepthook`` and the SageMaker SDK module attributes the library replaces inside its own
calls, then builds and synthesizes, then records again and compares. boto3, botocore and pydantic are
imported before the first record (every user has them; their import-time effects are their own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = textwrap.dedent(
    """
    import json, logging, os, sys, warnings

    def state():
        loggers = {"": logging.getLogger()}
        loggers.update({n: l for n, l in logging.Logger.manager.loggerDict.items() if isinstance(l, logging.Logger)})
        sm = {}
        if "sagemaker.estimator" in sys.modules:
            import sagemaker.estimator, sagemaker.utils
            import sagemaker.telemetry.telemetry_logging as t
            sm = {
                "TensorBoardApp": repr(sagemaker.estimator.TensorBoardApp),
                "_botocore_resolver": repr(sagemaker.utils._botocore_resolver),
                "_send_telemetry_request": repr(t._send_telemetry_request),
            }
        return {
            "environ": dict(os.environ),
            "loggers": {n: [l.level, [repr(h) for h in l.handlers], l.propagate, l.disabled]
                        for n, l in sorted(loggers.items()) if n in before_names},
            "warnings": [repr(f) for f in warnings.filters],
            "excepthook": repr(sys.excepthook),
            "sdk": sm,
        }

    # What every user of the library has imported anyway (their own import-time effects are theirs).
    import boto3, botocore.session, pydantic
    USER_IMPORTS_SDK = __USER_IMPORTS_SDK__
    if USER_IMPORTS_SDK:
        import sagemaker, sagemaker.estimator, sagemaker.utils, sagemaker.telemetry.telemetry_logging
    before_names = set(logging.Logger.manager.loggerDict) | {""}
    before = state()

    from constructs_lib.examples import seed_dag_template
    seed_dag_template().build("my-pipeline")
    from constructs_lib import PyTorchTrainingStepBuilder
    from constructs_lib.examples import seed_training_config
    PyTorchTrainingStepBuilder(seed_training_config(), region="us-east-1").training_job_arguments()
    __SYNTH__
    after = state()
    print("STATE" + json.dumps({"before": before, "after": after}))
    """
)

_SYNTH = textwrap.dedent(
    """
    import importlib.util, tempfile
    import aws_cdk as cdk
    spec = importlib.util.spec_from_file_location("example_app", __APP__)
    app_module = importlib.util.module_from_spec(spec); spec.loader.exec_module(app_module)
    app = cdk.App(outdir=tempfile.mkdtemp())
    app_module.build_app(app, environ={})
    app.synth()
    """
)


def _run(user_imports_sdk: bool, synth: bool, tmp_path: Path) -> tuple[dict[str, object], str]:
    code = _PROBE.replace("__USER_IMPORTS_SDK__", repr(user_imports_sdk)).replace(
        "__SYNTH__", _SYNTH.replace("__APP__", repr(str(ROOT / "app.py"))) if synth else ""
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAGEMAKER_")) and k not in ("PYTHONWARNINGS",)
    }
    env["CONSTRUCTS_LIB_STAGING_DIR"] = str(tmp_path / "staging")
    # With an endpoint set, botocore logs INFO lines if anything configures the root logger (the SDK's
    # experiments module calls logging.basicConfig(level=INFO) on import).
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("STATE"))
    return json.loads(line[len("STATE") :]), proc.stderr


def _assert_unchanged(result: dict[str, object]) -> None:
    before, after = result["before"], result["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    for key in ("environ", "loggers", "warnings", "excepthook"):
        assert before[key] == after[key], f"{key} changed"
    if before["sdk"]:
        assert before["sdk"] == after["sdk"], "SDK module attributes changed"
    # whoever imported the SDK, its attributes are its own again after our calls
    assert "_OfflineTensorBoardApp" not in str(after["sdk"]) and "_no_telemetry" not in str(after["sdk"])
    assert "lru_cache" not in str(after["sdk"])


@pytest.mark.slow
def test_building_definitions_leaves_the_process_as_it_was(tmp_path: Path) -> None:
    result, stderr = _run(user_imports_sdk=False, synth=False, tmp_path=tmp_path)
    _assert_unchanged(result)
    assert "INFO" not in stderr, stderr[-2000:]


@pytest.mark.slow
def test_a_user_who_imported_the_sdk_keeps_its_attributes_and_synth_too(tmp_path: Path) -> None:
    result, stderr = _run(user_imports_sdk=True, synth=True, tmp_path=tmp_path)
    _assert_unchanged(result)
    assert "INFO" not in stderr, stderr[-2000:]
