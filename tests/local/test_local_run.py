"""``run_training_locally`` and the ``local-run`` / ``demo-data`` CLI: the real reference script on real
CPU PyTorch, with the hyperparameters and metric regexes of the pipeline definition."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder
from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE, ModelHyperparameters
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.errors import ConfigError
from constructs_lib.local import cli
from constructs_lib.local.demo_data import demo_hyperparameters, write_demo_dataset
from constructs_lib.local.runner import (
    LocalRunError,
    LocalRunResult,
    reference_source_dir,
    run_training_locally,
    to_cmd_args,
)
from constructs_lib.metrics import METRIC_NAMES
from constructs_lib.packaging import pack_source_dir, safe_extract

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 180.0


def _config(
    source_dir: Path | None = None,
    hyperparameters: ModelHyperparameters | None = None,
    **kwargs: Any,
) -> PyTorchTrainingConfig:
    return PyTorchTrainingConfig(
        training_instance_type="ml.m5.xlarge",
        source_dir=str(source_dir or reference_source_dir()),
        framework_version="2.3.0",
        py_version="py311",
        hyperparameters=hyperparameters,
        **kwargs,
    )


def _script_dir(tmp_path: Path, body: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(body)
    return source


def _load_train_py(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("constructs_lib_reference_train_reload", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- the demo run, once
@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_dataset(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture(scope="session")
def demo_config() -> PyTorchTrainingConfig:
    return _config(hyperparameters=demo_hyperparameters(), env={"DEMO_FLAG": "on"})


@pytest.fixture(scope="session")
def job_arguments(demo_config: PyTorchTrainingConfig) -> dict[str, Any]:
    """The training step's Arguments exactly as the pipeline definition holds them."""
    return PyTorchTrainingStepBuilder(demo_config, region="us-east-1").training_job_arguments()


@pytest.fixture(scope="session")
def demo_run(
    demo_config: PyTorchTrainingConfig, demo_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalRunResult, list[str]]:
    """The full demo training, once per session, with the network guard in the script's process."""
    from support import netguard

    streamed: list[str] = []
    root = tmp_path_factory.mktemp("run")
    guard_log = root / "netguard.log"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in netguard.guarded_env().items():
            mp.setenv(key, value)
        mp.setenv("CONSTRUCTS_LIB_NETGUARD_LOG", str(guard_log))
        result = run_training_locally(
            demo_config,
            demo_data,
            work_dir=root / "work",
            stream=streamed.append,
            timeout=RUN_TIMEOUT,
        )
    assert not guard_log.exists(), guard_log.read_text()
    return result, streamed


def test_demo_run_succeeds(demo_run: tuple[LocalRunResult, list[str]]) -> None:
    result, streamed = demo_run
    assert result.exit_code == 0, "\n".join(result.log_tail)
    assert result.succeeded and result.contract_failures == [] and not result.timed_out
    assert result.describe_failure() is None
    result.raise_for_failure()
    assert streamed == result.log


def test_metrics_are_captured_by_the_pipeline_regexes(
    demo_run: tuple[LocalRunResult, list[str]], job_arguments: dict[str, Any]
) -> None:
    result, _ = demo_run
    definitions = job_arguments["AlgorithmSpecification"]["MetricDefinitions"]
    assert [d["Name"] for d in definitions] == list(METRIC_NAMES)
    assert list(result.metrics) == list(METRIC_NAMES)
    epochs = demo_hyperparameters().epochs
    assert {name: len(values) for name, values in result.metrics.items()} == dict.fromkeys(
        METRIC_NAMES, epochs
    )
    final = result.final_metrics()
    assert final["Validation F1 Score"] > 0.8
    assert final["Validation AUC ROC"] > 0.8
    assert final["Train Loss"] < result.metrics["Train Loss"][0]


def test_opt_ml_tree_holds_the_pipeline_values(
    demo_run: tuple[LocalRunResult, list[str]],
    job_arguments: dict[str, Any],
    demo_config: PyTorchTrainingConfig,
    demo_data: Path,
) -> None:
    result, _ = demo_run
    work = result.work_dir
    config_dir = work / "input" / "config"
    # hyperparameters.json: the definition's HyperParameters, JSON-encoded strings, byte for byte
    assert json.loads((config_dir / "hyperparameters.json").read_text()) == job_arguments["HyperParameters"]
    assert json.loads((config_dir / "inputdataconfig.json").read_text()) == {
        "data": {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    }
    resource = json.loads((config_dir / "resourceconfig.json").read_text())
    assert (resource["current_host"], resource["hosts"], resource["network_interface_name"]) == (
        "algo-1",
        ["algo-1"],
        "eth0",
    )
    assert (work / "input" / "data" / "data").resolve() == demo_data.resolve()
    # the code: the exact tarball the CDK asset ships (builder's extra files included)
    package = PyTorchTrainingStepBuilder(demo_config, region="us-east-1").code_packages()[0]
    expected = pack_source_dir(
        package.source_dir, entry_point=package.entry_point, extra_files=package.extra_files
    )
    assert (work / "sourcedir.tar.gz").read_bytes() == expected
    assert (work / "code" / HYPERPARAMETERS_FILE).read_bytes() == package.extra_files[HYPERPARAMETERS_FILE]
    assert (work / "code" / "train.py").read_bytes() == (reference_source_dir() / "train.py").read_bytes()
    # the command line as the toolkit builds it
    decoded = {
        k: json.loads(v)
        for k, v in job_arguments["HyperParameters"].items()
        if not k.startswith("sagemaker_")
    }
    assert result.command[1:] == ["train.py", *to_cmd_args(decoded)]
    assert result.command[1:4] == ["train.py", "--batch_size", "64"]
    assert (result.output_data_dir / "metrics.json").is_file()


def test_model_tar_reloads_and_predicts(
    demo_run: tuple[LocalRunResult, list[str]], demo_data: Path, tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    result, _ = demo_run
    assert result.model_tar is not None and result.model_tar.name == "model.tar.gz"
    data = result.model_tar.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["model.pt", "model_meta.json"]
        safe_extract(tar, tmp_path / "model")
    train = _load_train_py(reference_source_dir() / "train.py")
    model, meta = train.load_model(tmp_path / "model")
    assert meta["vocabularies"]["feature3"] == ["A", "B", "C", "D", "E"]
    test = pd.read_csv(demo_data / "test" / "part-00000.csv")
    probabilities = train.predict(model, meta, test)
    assert probabilities.shape == (len(test),)
    assert train.roc_auc(test["target"].to_numpy(), probabilities) > 0.8


# ----------------------------------------------------------------------------- distributed
def test_two_process_gloo_run(demo_data: Path, tmp_path: Path) -> None:
    hp = demo_hyperparameters().model_copy(update={"epochs": 2})
    result = run_training_locally(
        _config(hyperparameters=hp),
        demo_data,
        processes=2,
        stream=None,
        timeout=RUN_TIMEOUT,
        work_dir=tmp_path / "w",
    )
    assert result.succeeded, "\n".join(result.log_tail)
    assert result.command[1:7] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes",
        "1",
        "--nproc_per_node",
    ]
    assert {name: len(v) for name, v in result.metrics.items()} == dict.fromkeys(METRIC_NAMES, 2)
    assert result.final_metrics()["Validation AUC ROC"] > 0.8
    assert "world_size=2" in "\n".join(result.log)
    assert json.loads((result.output_data_dir / "metrics.json").read_text())["world_size"] == 2
    assert result.model_tar is not None


# ----------------------------------------------------------------------------- failures before the run
def test_missing_val_split(demo_config: PyTorchTrainingConfig, tmp_path: Path) -> None:
    data = write_demo_dataset(tmp_path / "data", rows=40)
    for path in (data / "val").iterdir():
        path.unlink()
    (data / "val").rmdir()
    with pytest.raises(ConfigError, match=r"has no val/ sub-directory") as info:
        run_training_locally(demo_config, data, stream=None)
    assert info.value.field == "data_dir"
    with pytest.raises(ConfigError, match="does not exist"):
        run_training_locally(demo_config, tmp_path / "nowhere", stream=None)


def test_split_without_files(demo_config: PyTorchTrainingConfig, tmp_path: Path) -> None:
    data = write_demo_dataset(tmp_path / "data", rows=40)
    (data / "test" / "part-00000.csv").rename(data / "test" / "part-00000.txt")
    with pytest.raises(ConfigError, match=r"test/ holds no .csv or .parquet file"):
        run_training_locally(demo_config, data, stream=None)


def test_entry_point_missing(demo_data: Path, tmp_path: Path) -> None:
    config = _config(hyperparameters=demo_hyperparameters(), training_entry_point="main.py")
    with pytest.raises(ConfigError, match=r"entry point 'main\.py' not found") as info:
        run_training_locally(config, demo_data, stream=None, work_dir=tmp_path / "w")
    assert info.value.field == "source_dir"
    assert "train.py" in str(info.value)
    assert not (tmp_path / "w").exists()  # nothing was set up


def test_bad_arguments_and_work_dir(
    demo_config: PyTorchTrainingConfig, demo_data: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        run_training_locally(demo_config, demo_data, processes=0)
    assert info.value.field == "processes"
    with pytest.raises(ConfigError) as info:
        run_training_locally(demo_config, demo_data, timeout=0)
    assert info.value.field == "timeout"
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("")
    with pytest.raises(ConfigError, match="new or empty") as info:
        run_training_locally(demo_config, demo_data, work_dir=tmp_path / "used", stream=None)
    with pytest.raises(ConfigError, match="local source_dir"):
        run_training_locally(
            _config(source_dir=None).model_copy(update={"source_dir": "s3://bucket/code/sourcedir.tar.gz"}),
            demo_data,
        )


# ----------------------------------------------------------------------------- failures of the run
def test_hyperparameter_rejected_by_the_script(demo_data: Path) -> None:
    hp = demo_hyperparameters().model_copy(
        update={
            "full_field_list": [*demo_hyperparameters().full_field_list, "income"],
            "tab_field_list": ["feature1", "income"],
        }
    )
    result = run_training_locally(_config(hyperparameters=hp), demo_data, stream=None, timeout=RUN_TIMEOUT)
    assert result.exit_code == 2
    assert not result.succeeded and result.model_tar is None
    assert any("hyperparameter tab_field_list=['feature1', 'income']" in line for line in result.stderr_tail)
    assert (
        result.failure_reason is not None and "column 'income' not in the train data" in result.failure_reason
    )
    reason = result.describe_failure()
    assert reason is not None and reason.startswith(
        "the training script exited with status 2: hyperparameter"
    )
    with pytest.raises(LocalRunError, match="status 2"):
        result.raise_for_failure()


def test_script_exiting_1(demo_data: Path, tmp_path: Path) -> None:
    source = _script_dir(
        tmp_path,
        "import sys\nprint('starting')\nprint('Traceback: something broke', file=sys.stderr)\n"
        "print('ValueError: boom', file=sys.stderr)\nsys.exit(1)\n",
    )
    result = run_training_locally(_config(source), demo_data, stream=None, timeout=RUN_TIMEOUT)
    assert result.exit_code == 1
    assert result.stderr_tail == ["Traceback: something broke", "ValueError: boom"]
    # stdout and stderr are two pipes: their relative order is not guaranteed
    assert sorted(result.log) == ["Traceback: something broke", "ValueError: boom", "starting"]
    assert result.describe_failure() == "the training script exited with status 1: ValueError: boom"
    assert result.contract_failures == []  # checked only after a successful exit


def test_script_writing_no_model(demo_data: Path, tmp_path: Path) -> None:
    lines = "".join(f"print('{name}: 0.5')\n" for name in METRIC_NAMES)
    result = run_training_locally(_config(_script_dir(tmp_path, lines)), demo_data, stream=None)
    assert result.exit_code == 0 and not result.succeeded
    assert result.model_tar is None
    assert len(result.contract_failures) == 1
    assert "wrote nothing to SM_MODEL_DIR" in result.contract_failures[0]
    assert result.metrics == {name: [0.5] for name in METRIC_NAMES}


def test_script_printing_no_metrics(demo_data: Path, tmp_path: Path) -> None:
    body = (
        "import os, pathlib\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'model.pt').write_bytes(b'weights')\n"
        "print('Train loss = 0.3')\n"  # not the contract's format
    )
    result = run_training_locally(_config(_script_dir(tmp_path, body)), demo_data, stream=None)
    assert result.exit_code == 0 and not result.succeeded
    assert result.model_tar is not None
    assert len(result.contract_failures) == 1
    failure = result.contract_failures[0]
    assert failure.startswith("no log line matched the job's metric definitions for: ")
    for name in METRIC_NAMES:
        assert name in failure
    with pytest.raises(LocalRunError, match="Validation AUC ROC"):
        result.raise_for_failure()


def test_environment_seen_by_the_script(demo_data: Path, tmp_path: Path) -> None:
    body = (
        "import json, os, pathlib, sys\n"
        "keys = sorted(k for k in os.environ if k.startswith('SM_'))\n"
        "out = {k: os.environ[k] for k in keys}\n"
        "out['argv'] = sys.argv[1:]\n"
        "out['cwd'] = os.getcwd()\n"
        "out['DEMO_FLAG'] = os.environ.get('DEMO_FLAG')\n"
        "out['CUDA_VISIBLE_DEVICES'] = os.environ.get('CUDA_VISIBLE_DEVICES')\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'env.json').write_text(json.dumps(out))\n"
        + "".join(f"print('{name}: 1e-05')\n" for name in METRIC_NAMES)
    )
    hp = demo_hyperparameters()
    result = run_training_locally(
        _config(_script_dir(tmp_path, body), hyperparameters=hp, env={"DEMO_FLAG": "yes"}),
        demo_data,
        stream=None,
        work_dir=tmp_path / "w",
    )
    assert result.succeeded, result.log_tail
    assert result.metrics == {name: [1e-05] for name in METRIC_NAMES}
    env = json.loads((result.model_dir / "env.json").read_text())
    work = result.work_dir
    assert env["SM_CHANNEL_DATA"] == str(work / "input" / "data" / "data")
    assert json.loads(env["SM_CHANNELS"]) == ["data"]
    assert env["SM_MODEL_DIR"] == str(work / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(work / "output" / "data")
    assert env["SM_OUTPUT_DIR"] == str(work / "output")
    assert env["SM_INPUT_DIR"] == str(work / "input")
    assert env["SM_INPUT_CONFIG_DIR"] == str(work / "input" / "config")
    assert json.loads(env["SM_HPS"]) == hp.to_values()
    assert env["SM_HP_TAB_FIELD_LIST"] == '["feature1","feature2"]'
    assert env["SM_HP_ID_NAME"] == "customer_id"
    assert env["SM_HP_LEARNING_RATE"] == "0.01"
    assert (env["SM_NUM_GPUS"], env["SM_CURRENT_HOST"], json.loads(env["SM_HOSTS"])) == (
        "0",
        "algo-1",
        ["algo-1"],
    )
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_DIR"] == str(work / "sourcedir.tar.gz")
    assert json.loads(env["SM_USER_ARGS"]) == env["argv"] == to_cmd_args(hp.to_values())
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["hyperparameters"] == hp.to_values()
    assert training_env["channel_input_dirs"] == {"data": env["SM_CHANNEL_DATA"]}
    assert training_env["additional_framework_parameters"]["sagemaker_program"] == "train.py"
    assert env["cwd"] == str(work / "code")
    assert env["DEMO_FLAG"] == "yes"
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_timeout_kills_the_job(demo_data: Path, tmp_path: Path) -> None:
    body = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"
    result = run_training_locally(_config(_script_dir(tmp_path, body)), demo_data, stream=None, timeout=1.0)
    assert result.timed_out and result.exit_code != 0
    assert result.log == ["sleeping"]
    reason = result.describe_failure()
    assert reason is not None and "timeout" in reason


# ----------------------------------------------------------------------------- CLI
def _cli(argv: list[str]) -> int:
    """Temporary harness until ``constructs_lib/__main__.py`` wires the subcommands in."""
    parser = argparse.ArgumentParser(prog="constructs-lib")
    subparsers = parser.add_subparsers(dest="command", required=True)
    cli.add_local_subcommands(subparsers)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_demo_data_then_local_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The real reference training through the CLI is covered by test_cli_through_python_dash_m; here a
    # tiny script keeps the in-process harness fast.
    body = (
        "import os, pathlib, sys\n"
        "assert os.environ['EXTRA'] == '1'\n"
        "assert sorted(os.listdir(os.path.join(os.environ['SM_CHANNEL_DATA'], 'val'))) == ['part-00000.csv']\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'model.pt').write_bytes(b'w')\n"
        + "".join(f"print('{name}: 0.9')\n" for name in METRIC_NAMES)
    )
    source = _script_dir(tmp_path, body)
    hp_file = tmp_path / "hp.json"
    hp_file.write_text(json.dumps(demo_hyperparameters().to_values()))
    assert _cli(["demo-data", "--out", str(tmp_path / "d"), "--rows", "400", "--seed", "1"]) == 0
    assert "wrote train/, val/ and test/" in capsys.readouterr().out
    code = _cli(
        [
            "local-run",
            "--data-dir",
            str(tmp_path / "d"),
            "--source-dir",
            str(source),
            "--hyperparameters",
            str(hp_file),
            "--work-dir",
            str(tmp_path / "w"),
            "--env",
            "EXTRA=1",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Validation AUC ROC: 0.9" in captured.out
    assert "local-run: metric 'Validation AUC ROC': 1 values, last 0.9" in captured.out
    assert "local-run: succeeded" in captured.out
    assert (tmp_path / "w" / "output" / "model.tar.gz").is_file()


def test_cli_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_demo_dataset(tmp_path / "d", rows=40)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"source_dir": str(reference_source_dir())}))
    cases = [
        (
            ["local-run", "--data-dir", str(tmp_path / "missing")],
            "ConfigError: field 'data_dir': data directory",
        ),
        (
            ["local-run", "--data-dir", str(data), "--env", "NOEQUALS"],
            "ConfigError: field '--env': expected KEY=VALUE",
        ),
        (
            ["local-run", "--data-dir", str(data), "--config", str(cfg), "--py-version", "py310"],
            "ConfigError: field '--config': cannot be combined with --py-version",
        ),
        (
            ["local-run", "--data-dir", str(data), "--config", str(cfg)],
            "framework_version': field required",
        ),
        (
            ["local-run", "--data-dir", str(data), "--instance-type", "ml.m5.huge"],
            "not a SageMaker training instance",
        ),
        (["demo-data", "--out", str(tmp_path / "x"), "--rows", "3"], "ConfigError: field 'rows'"),
    ]
    for argv, expected in cases:
        assert _cli(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert expected in err[0], err[0]


def test_cli_failed_run_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_demo_dataset(tmp_path / "d", rows=40)
    source = _script_dir(tmp_path, "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n")
    cfg = tmp_path / "config.json"
    config = _config(source, hyperparameters=demo_hyperparameters())
    cfg.write_text(json.dumps(config.model_dump(mode="json")))
    assert _cli(["local-run", "--data-dir", str(data), "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "LocalRunError: the training script exited with status 3: bad input"


@pytest.mark.slow
def test_cli_through_python_dash_m(tmp_path: Path) -> None:
    if not (REPO / "constructs_lib" / "__main__.py").is_file():
        pytest.skip("constructs_lib/__main__.py does not exist yet (the lead wires add_local_subcommands in)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    demo = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "demo-data", "--out", str(tmp_path / "d"), "--rows", "400"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    hp_file = tmp_path / "hp.json"
    hp_file.write_text(json.dumps(demo_hyperparameters().model_copy(update={"epochs": 2}).to_values()))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "constructs_lib",
            "local-run",
            "--data-dir",
            str(tmp_path / "d"),
            "--hyperparameters",
            str(hp_file),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "local-run: succeeded" in run.stdout
