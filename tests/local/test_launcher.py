"""``constructs_lib_launcher.py`` on its own: the toolkit's argv rule (compared with the installed toolkit's
own ``to_cmd_args``), the run-time distribution decision, real child processes (``torchrun`` on CPU, signal
forwarding, exit statuses) and its one-line configuration errors. Its runs under both toolkit generations
through ``local-run`` are in test_local_run.py."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from localrun_support import LAUNCHER

NAME = LAUNCHER.name


def _pythons() -> list[str]:
    """This interpreter, and a real Python 3.9 (the py39 images' version) when one works here."""
    found = [sys.executable]
    py39 = shutil.which("python3.9")
    if py39 and subprocess.run([py39, "-c", "pass"], capture_output=True).returncode == 0:
        found.append(py39)
    return found


def _code_dir(root: Path, script: str = "") -> Path:
    """A code directory with the launcher, ``train.py`` (``script``) and an ``inference/`` directory."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(LAUNCHER, root / NAME)
    (root / "train.py").write_text(script, encoding="utf-8")
    (root / "inference" / "__pycache__").mkdir(parents=True)
    (root / "inference" / "inference.py").write_text("# handler\n")
    (root / "inference" / "helpers").mkdir()
    (root / "inference" / "helpers" / "util.py").write_text("# helper\n")
    (root / "inference" / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"")
    return root


def _load(code_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("constructs_lib_launcher_under_test", code_dir / NAME)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return _load(_code_dir(tmp_path_factory.mktemp("code")))


# ----------------------------------------------------------------------------- argv: the toolkit's rule
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=0, max_size=12), _values, max_size=6))
def test_argv_is_the_toolkit_s_to_cmd_args(launcher: ModuleType, hyperparameters: dict[str, object]) -> None:
    mapping = pytest.importorskip("sagemaker_training.mapping")
    assert launcher.to_cmd_args(hyperparameters) == mapping.to_cmd_args(hyperparameters)


def test_argv_examples(launcher: ModuleType) -> None:
    assert launcher.to_cmd_args({"b": [1, "x"], "alpha": None, "m": {"z": 1, "a": "b"}}) == [
        "--alpha",
        "",
        "-b",
        "[1, 'x']",
        "-m",
        "a=b,z=1",
    ]


# ----------------------------------------------------------------------------- run-time distribution
def _env(**values: object) -> dict[str, str]:
    base = {"CONSTRUCTS_LIB_ENTRY_POINT": "train.py", "SM_HPS": json.dumps({"epochs": 2, "tab": ["a", "b"]})}
    base.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})
    return base


def test_runtime_distribution_decision(launcher: ModuleType) -> None:
    args = ["--epochs", "2", "--tab", "['a', 'b']"]
    py = "/py"
    # more than one GPU in the job: torchrun over every host, this host's rank, the first host as master
    command, inference = launcher.build_command(
        _env(
            CONSTRUCTS_LIB_DISTRIBUTION="runtime",
            SM_NUM_GPUS="4",
            SM_HOSTS=["algo-1", "algo-2"],
            SM_CURRENT_HOST="algo-2",
        ),
        python=py,
    )
    assert command == [
        py,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "2",
        "--nproc_per_node",
        "4",
        "--node_rank",
        "1",
        "--master_addr",
        "algo-1",
        "--master_port",
        "7777",
        "train.py",
        *args,
    ]
    assert inference is None
    direct = [py, "train.py", *args]
    for extra in (
        {"CONSTRUCTS_LIB_DISTRIBUTION": "runtime", "SM_NUM_GPUS": "1", "SM_HOSTS": ["algo-1"]},  # one GPU
        {
            "CONSTRUCTS_LIB_DISTRIBUTION": "runtime",
            "SM_NUM_GPUS": "0",
            "SM_HOSTS": ["algo-1", "algo-2"],
        },  # CPU
        {"SM_NUM_GPUS": "8", "SM_HOSTS": ["algo-1", "algo-2"], "SM_CURRENT_HOST": "algo-1"},  # mode unset
    ):
        assert launcher.build_command(_env(**extra), python=py)[0] == direct, extra


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CONSTRUCTS_LIB_ENTRY_POINT": ""}, "CONSTRUCTS_LIB_ENTRY_POINT is not set"),
        ({"CONSTRUCTS_LIB_ENTRY_POINT": "missing.py"}, "'missing.py': no such file"),
        ({"CONSTRUCTS_LIB_ENTRY_POINT": "../train.py"}, "points outside the code directory"),
        ({"CONSTRUCTS_LIB_ENTRY_POINT": "/etc/passwd"}, "must be a path relative to the code directory"),
        (
            {"CONSTRUCTS_LIB_INFERENCE_CODE": "serving"},
            "CONSTRUCTS_LIB_INFERENCE_CODE='serving': no such directory",
        ),
        ({"CONSTRUCTS_LIB_DISTRIBUTION": "always"}, "CONSTRUCTS_LIB_DISTRIBUTION='always' is not supported"),
        ({"SM_HPS": "[1]"}, "SM_HPS must hold a JSON object"),
        (
            {"CONSTRUCTS_LIB_DISTRIBUTION": "runtime", "SM_HOSTS": '["a"]', "SM_CURRENT_HOST": "b"},
            "SM_CURRENT_HOST='b' is not one of SM_HOSTS",
        ),
        (
            {"CONSTRUCTS_LIB_DISTRIBUTION": "runtime", "SM_NUM_GPUS": "two"},
            "SM_NUM_GPUS='two' is not an integer",
        ),
    ],
)
def test_configuration_errors(launcher: ModuleType, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(launcher.LauncherError) as info:
        launcher.build_command({**_env(), **env})
    assert fragment in str(info.value)


# ----------------------------------------------------------------------------- real processes
def _run(
    python: str, code: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "CONSTRUCTS_LIB_"))}
    return subprocess.run(
        [python, str(code / NAME), "--ignored", "[shell,", "split]"],
        env={**inherited, **env},
        cwd=code,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


REPORTING_SCRIPT = """\
import json, os, sys
rank = os.environ.get("RANK", "-")
out = os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "rank-" + rank + ".json")
json.dump({"argv": sys.argv[1:], "world": os.environ.get("WORLD_SIZE"), "cwd": os.getcwd()}, open(out, "w"))
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"), "w").write("w")
"""


@pytest.mark.slow
def test_runtime_distribution_starts_torchrun(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    # GIVEN a job with 2 GPUs on one host (as SM_NUM_GPUS says) and the launcher in runtime mode
    code = _code_dir(tmp_path / "code", REPORTING_SCRIPT)
    model, out = tmp_path / "model", tmp_path / "out"
    model.mkdir()
    out.mkdir()
    env = _env(
        CONSTRUCTS_LIB_DISTRIBUTION="runtime",
        CONSTRUCTS_LIB_INFERENCE_CODE="inference",
        SM_NUM_GPUS="2",
        SM_HOSTS=["127.0.0.1"],
        SM_CURRENT_HOST="127.0.0.1",
        SM_MODEL_DIR=str(model),
        SM_OUTPUT_DATA_DIR=str(out),
        CUDA_VISIBLE_DEVICES="",
    )
    done = _run(sys.executable, code, env)
    # THEN the real torchrun started the script twice (world size 2), with the SM_HPS arguments
    assert done.returncode == 0, done.stderr
    reports = {p.name: json.loads(p.read_text()) for p in sorted(out.iterdir())}
    assert sorted(reports) == ["rank-0.json", "rank-1.json"]
    for report in reports.values():
        assert report == {"argv": ["--epochs", "2", "--tab", "['a', 'b']"], "world": "2", "cwd": str(code)}
    # and then copied the inference code (sub-directories too, no __pycache__) into the model
    copied = sorted(str(p.relative_to(model)) for p in model.rglob("*") if p.is_file())
    assert copied == ["code/helpers/util.py", "code/inference.py", "model.pt"]


@pytest.mark.parametrize("python", _pythons(), ids=lambda p: "python" + p.rsplit("python", 1)[-1])
def test_child_status_signals_and_errors(python: str, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    output = tmp_path / "output"
    output.mkdir()
    # a failing script: its status comes back, no inference code is copied
    failing = _code_dir(tmp_path / "failing", "import sys\nsys.exit(3)\n")
    env = _env(CONSTRUCTS_LIB_INFERENCE_CODE="inference", SM_MODEL_DIR=str(model))
    assert _run(python, failing, env).returncode == 3
    assert not (model / "code").exists()
    # a configuration error: one line, SageMaker's failure file, status 2, nothing run
    done = _run(
        python, failing, {**env, "CONSTRUCTS_LIB_ENTRY_POINT": "nope.py", "SM_OUTPUT_DIR": str(output)}
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"constructs_lib_launcher: error: CONSTRUCTS_LIB_ENTRY_POINT='nope.py': no such file in the code directory {failing}"
    ]
    assert (output / "failure").read_text().startswith("CONSTRUCTS_LIB_ENTRY_POINT='nope.py': no such file")
    # SIGTERM reaches the script: one that handles it exits with its own status ...
    handling = _code_dir(
        tmp_path / "handling",
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
    )
    # ... and one that does not dies of it: the launcher exits with 128 + 15
    dying = _code_dir(tmp_path / "dying", "import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    for code, expected in ((handling, 7), (dying, 128 + signal.SIGTERM)):
        proc = subprocess.Popen(
            [python, str(code / NAME)],
            env={**os.environ, **_env()},
            cwd=code,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "ready" not in proc.stdout.readline() and time.monotonic() < deadline:
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == expected
