"""``run_training_locally``: the reference script on real CPU PyTorch, started by SageMaker's real training
toolkit (the latest pair and the container-era 4.8.4 / 2.8.1 pair), with the hyperparameters, environment,
code tarball and metric regexes of the pipeline definition.

Every toolkit run costs seconds (toolkit, pip and torch start-up): each run is a module-scoped fixture that
several tests read."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from localrun_support import (
    DEMO_EPOCHS,
    RUN_TIMEOUT,
    demo_hp,
    launcher_code_dir,
    script_dir,
    training_config,
)

from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder
from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.errors import ConfigError
from constructs_lib.local.runner import (
    LOCAL_EXTRA,
    MAX_LOCAL_HOSTS,
    LocalRunError,
    LocalRunResult,
    reference_source_dir,
    run_training_locally,
)
from constructs_lib.metrics import METRIC_NAMES
from constructs_lib.packaging import safe_extract

pytestmark = [pytest.mark.torch, pytest.mark.slow]

CA_ARN = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"


def _toolkit_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """The script's argv as the installed toolkit builds it (its own function, not a copy)."""
    from sagemaker_training import mapping

    args: list[str] = mapping.to_cmd_args(hyperparameters)
    return args


def _user_hyperparameters(arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        k: json.loads(v) for k, v in arguments["HyperParameters"].items() if not k.startswith("sagemaker_")
    }


def _logged_env(result: LocalRunResult) -> dict[str, str]:
    """The ``KEY=value`` lines of the toolkit's "Environment variables:" report in the log."""
    env: dict[str, str] = {}
    for line in result.log:
        key, sep, value = line.partition("=")
        if sep and key.isupper() and (key.startswith("SM_") or key == "PYTHONPATH"):
            env.setdefault(key, value)
    return env


def _epoch_lines(result: LocalRunResult) -> list[str]:
    return [line for line in result.log if line.startswith("Epoch ")]


def _model_files(model_tar: Path) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(model_tar.read_bytes()), mode="r:gz") as tar:
        return sorted(tar.getnames())


# ============================================================================ the latest toolkit, 1 process
@pytest.fixture(scope="module")
def demo_config() -> PyTorchTrainingConfig:
    return training_config(env={"DEMO_FLAG": "on"})


@pytest.fixture(scope="module")
def job_arguments(demo_config: PyTorchTrainingConfig) -> dict[str, Any]:
    """The training step's Arguments exactly as the pipeline definition holds them."""
    return PyTorchTrainingStepBuilder(demo_config, region="us-east-1").training_job_arguments()


@pytest.fixture(scope="module")
def demo_run(
    demo_config: PyTorchTrainingConfig,
    demo_data: Path,
    latest_python: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[LocalRunResult, list[str]]:
    """The reference training under the latest toolkit, once, with the network guard in every process
    it starts (toolkit, pip, script)."""
    from support import netguard

    streamed: list[str] = []
    root = tmp_path_factory.mktemp("run")
    guard_log = root / "netguard.log"
    opt_ml_before = sorted(os.listdir("/opt/ml")) if os.path.isdir("/opt/ml") else None
    with pytest.MonkeyPatch.context() as mp:
        for key, value in netguard.guarded_env().items():
            mp.setenv(key, value)
        mp.setenv("CONSTRUCTS_LIB_NETGUARD_LOG", str(guard_log))
        mp.setenv("SM_LEAKED_FROM_THE_SHELL", "leak")  # never reaches the job
        result = run_training_locally(
            demo_config,
            demo_data,
            work_dir=root / "work",
            stream=streamed.append,
            timeout=RUN_TIMEOUT,
            python=latest_python,
        )
    assert not guard_log.exists(), guard_log.read_text()
    assert (sorted(os.listdir("/opt/ml")) if os.path.isdir("/opt/ml") else None) == opt_ml_before
    return result, streamed


def test_demo_run_succeeds(demo_run: tuple[LocalRunResult, list[str]]) -> None:
    result, streamed = demo_run
    assert result.exit_code == 0, "\n".join(result.log_tail)
    assert result.succeeded and result.contract_failures == [] and not result.timed_out
    assert result.describe_failure() is None
    result.raise_for_failure()
    assert streamed == result.log
    assert result.notes == [] and result.hosts == ["127.0.0.1"]
    # the toolkit itself reported success
    assert (result.work_dir / "output" / "success").is_file()
    assert not (result.work_dir / "output" / "failure").exists()
    assert result.command == [sys.executable, "-m", "sagemaker_training.cli.train"]


def test_metrics_are_captured_by_the_pipeline_regexes(
    demo_run: tuple[LocalRunResult, list[str]], job_arguments: dict[str, Any]
) -> None:
    result, _ = demo_run
    definitions = job_arguments["AlgorithmSpecification"]["MetricDefinitions"]
    assert [d["Name"] for d in definitions] == list(METRIC_NAMES)
    assert list(result.metrics) == list(METRIC_NAMES)
    assert {name: len(values) for name, values in result.metrics.items()} == dict.fromkeys(
        METRIC_NAMES, DEMO_EPOCHS
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
    # hyperparameters.json: the definition's HyperParameters, except where the code is (a local tarball)
    expected = {
        **job_arguments["HyperParameters"],
        "sagemaker_submit_directory": json.dumps(str(work / "sourcedir.tar.gz")),
    }
    assert json.loads((config_dir / "hyperparameters.json").read_text()) == expected
    assert json.loads((config_dir / "inputdataconfig.json").read_text()) == {
        "data": {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    }
    resource = json.loads((config_dir / "resourceconfig.json").read_text())
    assert (resource["current_host"], resource["hosts"], resource["current_instance_type"]) == (
        "127.0.0.1",
        ["127.0.0.1"],
        "ml.m5.xlarge",
    )
    assert (work / "input" / "data" / "data").resolve() == demo_data.resolve()
    # the code: the exact tarball the CDK asset ships (builder's extra files included), unpacked by the toolkit
    package = PyTorchTrainingStepBuilder(demo_config, region="us-east-1").code_packages()[0]
    tarball = package.pack()
    assert (work / "sourcedir.tar.gz").read_bytes() == tarball
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        packed = sorted(m.name for m in tar.getmembers() if m.isfile())
    # every value fits inline: no hyperparameters file in the package; the reference training code
    # carries the launcher and the reference inference code
    assert packed == sorted(
        [
            "README.md",
            "model.py",
            "requirements.txt",
            "train.py",
            "constructs_lib_launcher.py",
            "constructs_lib_inference/inference.py",
            "constructs_lib_inference/model.py",
        ]
    )
    assert HYPERPARAMETERS_FILE not in packed
    unpacked = sorted(str(p.relative_to(work / "code")) for p in (work / "code").rglob("*") if p.is_file())
    assert [p for p in unpacked if "__pycache__" not in p] == packed
    assert (work / "code" / "train.py").read_bytes() == (reference_source_dir() / "train.py").read_bytes()
    assert (result.output_data_dir / "metrics.json").is_file()


def test_the_toolkit_built_the_command_line_and_environment(
    demo_run: tuple[LocalRunResult, list[str]], job_arguments: dict[str, Any]
) -> None:
    result, _ = demo_run
    work = result.work_dir
    user = _user_hyperparameters(job_arguments)
    # 5.1.3+: the interpreter, '--', SageMaker's entry point (the launcher), then the toolkit's own
    # to_cmd_args (no shell) ...
    assert result.script_command == " ".join(
        [sys.executable, "--", "constructs_lib_launcher.py", *_toolkit_cmd_args(user)]
    )
    # ... and the launcher ran train.py with the same arguments, built from SM_HPS
    (launched,) = [line for line in result.log if line.startswith("constructs_lib_launcher: running ")]
    assert json.loads(launched.split("running ", 1)[1]) == [
        sys.executable,
        "train.py",
        *_toolkit_cmd_args(user),
    ]
    env = _logged_env(result)
    assert json.loads(env["SM_HPS"]) == user
    assert env["SM_CHANNEL_DATA"] == str(work / "input" / "data" / "data")
    assert env["SM_MODEL_DIR"] == str(work / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(work / "output" / "data")
    assert env["SM_OUTPUT_INTERMEDIATE_DIR"] == str(work / "output" / "intermediate")
    assert env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert env["SM_USER_ENTRY_POINT"] == "constructs_lib_launcher.py"
    assert "SM_LEAKED_FROM_THE_SHELL" not in env
    # the toolkit installed requirements.txt (already satisfied here, so without any network access)
    assert any("Requirement already satisfied: pyarrow" in line for line in result.log)
    hyperparameters_line = next(line for line in result.log if line.startswith("Hyperparameters: "))
    assert json.loads(hyperparameters_line.split(": ", 1)[1]) == demo_hp().to_values()


def test_model_tar_reloads_and_predicts(
    demo_run: tuple[LocalRunResult, list[str]], demo_data: Path, tmp_path: Path, isolated_model_module: None
) -> None:
    pd = pytest.importorskip("pandas")
    result, _ = demo_run
    assert result.model_tar is not None and result.model_tar.name == "model.tar.gz"
    # the launcher copied the reference inference code into the model: no repack job needed
    assert _model_files(result.model_tar) == [
        "code/inference.py",
        "code/model.py",
        "model.pt",
        "model_meta.json",
    ]
    with tarfile.open(result.model_tar, mode="r:gz") as tar:
        safe_extract(tar, tmp_path / "model")
    sys.path.insert(0, str(reference_source_dir()))
    import model  # the reference model module

    net, meta = model.load_model(tmp_path / "model")
    assert meta["vocabularies"]["feature3"] == ["A", "B", "C", "D", "E"]
    test = pd.read_csv(demo_data / "test" / "part-00000.csv")
    probabilities = model.predict(net, meta, test)
    assert probabilities.shape == (len(test),)
    predictions = pd.read_csv(result.output_data_dir / "test_predictions.csv")
    assert probabilities == pytest.approx(predictions["probability"].to_numpy(), abs=1e-6)


# ============================================================================ evaluation and serving of it
def _lifecycle_steps() -> dict[str, dict[str, Any]]:
    """The lifecycle example's steps (condition branches included), as the pipeline definition holds them."""
    from constructs_lib.definition import all_steps
    from constructs_lib.examples import lifecycle_template

    steps = lifecycle_template().build("local-lifecycle").definition["Steps"]
    return {step["Name"]: dict(step) for step in all_steps(steps)}


def test_the_evaluation_step_scores_the_locally_trained_model(
    demo_run: tuple[LocalRunResult, list[str]], demo_data: Path, tmp_path: Path
) -> None:
    """The evaluation step's own entry point and arguments (from the lifecycle definition) on the
    model.tar.gz the toolkit wrote: the report holds the value the gate's JsonGet reads."""
    from support import netguard

    from constructs_lib.builders.evaluation_pytorch import PyTorchEvaluationStepBuilder
    from constructs_lib.config.evaluation_pytorch import PyTorchEvaluationConfig

    result, _ = demo_run
    assert result.model_tar is not None
    steps = _lifecycle_steps()
    app = steps["evaluate"]["Arguments"]["AppSpecification"]
    (condition,) = steps["quality_gate"]["Arguments"]["Conditions"]
    json_path = condition["LeftValue"]["Std:JsonGet"]["Path"]
    base = tmp_path / "processing"
    (package,) = PyTorchEvaluationStepBuilder(
        PyTorchEvaluationConfig(label_name="target"), region="us-east-1"
    ).code_packages()
    (base / "input" / "code").mkdir(parents=True)
    (base / "input" / "code" / "5e1f.tar.gz").write_bytes(package.pack())
    (base / "input" / "model").mkdir(parents=True)
    (base / "input" / "model" / "model.tar.gz").write_bytes(result.model_tar.read_bytes())
    (base / "input").joinpath("data").symlink_to(demo_data)
    env = {**netguard.guarded_env(), "SM_PROCESSING_BASE": str(base)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        [*app["ContainerEntrypoint"], *app["ContainerArguments"]],
        env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((base / "output" / "evaluation" / "evaluation.json").read_text())
    value: Any = report
    for part in json_path.split("."):
        value = value[part]
    own = json.loads((result.output_data_dir / "metrics.json").read_text())["test"]
    assert value == pytest.approx(own["auc_roc"], abs=1e-4) and value > 0.8
    assert report["binary_classification_metrics"]["f1"]["value"] == pytest.approx(own["f1"], abs=1e-6)


@pytest.fixture(scope="module")
def serving_python() -> str:
    """An interpreter with SageMaker's PyTorch inference toolkit (the serving image's handler service),
    installed without its dependencies into a cached side venv (it reuses this environment's torch)."""
    from toolkit_venv import toolkit_venv

    return str(toolkit_venv(("sagemaker-pytorch-inference==2.0.25", "sagemaker-inference==1.10.1")))


SERVE = """
import json, sys

from sagemaker_pytorch_serving_container.handler_service import HandlerService


class _Request:
    def get_request_properties(self):
        return {"Content-Type": "text/csv", "Accept": "application/json"}


class _Context:
    # what the model server passes to a handler service: its system properties, the request's headers,
    # and where the response status/content type go
    system_properties = {"model_dir": sys.argv[1], "gpu_id": None}
    request_processor = [_Request()]
    content_type = None

    def set_response_content_type(self, index, value):
        self.content_type = value

    def set_response_status(self, code, phrase):
        raise SystemExit(f"status {code}: {phrase}")


context = _Context()
service = HandlerService()
service.initialize(context)
with open(sys.argv[2], "rb") as body:
    (response,) = service.handle([{"body": body.read()}], context)
print(json.dumps({"content_type": context.content_type, "response": response}))
"""


def test_the_pytorch_inference_toolkit_serves_the_packed_model(
    demo_run: tuple[LocalRunResult, list[str]], demo_data: Path, tmp_path: Path, serving_python: str
) -> None:
    """model.tar.gz as SageMaker's PyTorch serving container loads it: the toolkit's HandlerService imports
    SAGEMAKER_PROGRAM (the model step's environment) from code/ and calls model_fn, input_fn, predict_fn,
    output_fn in its own order."""
    from support import netguard

    result, _ = demo_run
    assert result.model_tar is not None
    with tarfile.open(result.model_tar, mode="r:gz") as tar:
        safe_extract(tar, tmp_path / "model")
    from constructs_lib.examples import seed_dag_template

    steps = {s["Name"]: s for s in seed_dag_template().build("serve").definition["Steps"]}
    container = steps["model-CreateModel"]["Arguments"]["PrimaryContainer"]["Environment"]
    env = {
        **netguard.guarded_env(),
        **{k: v for k, v in container.items() if k != "SAGEMAKER_REGION"},
        # the model server starts its workers with model_dir/code on PYTHONPATH (DefaultHandlerService)
        "PYTHONPATH": str(tmp_path / "model" / container["SAGEMAKER_SUBMIT_DIRECTORY"].rsplit("/", 1)[1]),
    }
    done = subprocess.run(
        [serving_python, "-c", SERVE, str(tmp_path / "model"), str(demo_data / "test" / "part-00000.csv")],
        env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert served["content_type"] == "application/json"
    import pandas as pd

    expected = pd.read_csv(result.output_data_dir / "test_predictions.csv")["probability"].tolist()
    assert json.loads(served["response"])["probabilities"] == pytest.approx(expected, abs=1e-6)


# ============================================================================ the container-era toolkit
@pytest.fixture(scope="module")
def container_era_run(
    demo_config: PyTorchTrainingConfig,
    demo_data: Path,
    container_era_python: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> LocalRunResult:
    return run_training_locally(
        demo_config,
        demo_data,
        work_dir=tmp_path_factory.mktemp("era") / "work",
        stream=None,
        timeout=RUN_TIMEOUT,
        python=container_era_python,
    )


def test_reference_script_passes_the_shell_of_toolkit_4_8(
    container_era_run: LocalRunResult,
    demo_run: tuple[LocalRunResult, list[str]],
    job_arguments: dict[str, Any],
    container_era_python: str,
) -> None:
    # GIVEN sagemaker-training 4.8.4, which joins the command into one string for /bin/sh
    result = container_era_run
    user = _user_hyperparameters(job_arguments)
    assert result.script_command == " ".join(
        [container_era_python, "constructs_lib_launcher.py", *_toolkit_cmd_args(user)]
    )
    assert "--full_field_list ['customer_id', 'target', 'feature1', 'feature2', 'feature3']" in (
        result.script_command or ""
    )
    # THEN the launcher (whose argv the shell split) ran train.py with arguments built from SM_HPS, and
    # train.py trains like under 5.1.x
    assert result.succeeded, result.describe_failure() or "\n".join(result.log_tail)
    hyperparameters_line = next(line for line in result.log if line.startswith("Hyperparameters: "))
    assert json.loads(hyperparameters_line.split(": ", 1)[1]) == demo_hp().to_values()
    assert not any("Ignoring command-line tokens" in line for line in result.log)
    assert result.metrics == demo_run[0].metrics  # same data, seed and code: the same training


# ============================================================================ the launcher, 2 processes
def _launcher_config(source: Path, epochs: int) -> PyTorchTrainingConfig:
    return training_config(
        source,
        training_entry_point="constructs_lib_launcher.py",
        hyperparameters=demo_hp(epochs=epochs),
        env={"CONSTRUCTS_LIB_ENTRY_POINT": "train.py", "CONSTRUCTS_LIB_INFERENCE_CODE": "inference"},
    )


#: Epochs of the launcher runs: the latest toolkit trains the first two, the container-era one resumes
#: from their checkpoints (written by 2 DDP ranks) and trains the third.
LAUNCHER_EPOCHS = {"latest": 2, "container-era": 3}


@pytest.fixture(scope="module")
def launcher_runs(
    demo_data: Path, latest_python: str, container_era_python: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, LocalRunResult]]:
    """The launcher as SageMaker's entry point under each toolkit's torch_distributed (torchrun, 2 CPU
    processes): every rank runs the launcher, which runs train.py and copies the inference code. Both
    runs share one checkpoint location, so the second resumes a DDP run."""
    root = tmp_path_factory.mktemp("launcher")
    source = launcher_code_dir(root / "src")
    runs: dict[str, tuple[str, LocalRunResult]] = {}
    for name, python in (("latest", latest_python), ("container-era", container_era_python)):
        runs[name] = (
            python,
            run_training_locally(
                _launcher_config(source, LAUNCHER_EPOCHS[name]),
                demo_data,
                work_dir=root / name,
                processes=2,
                checkpoint_dir=root / "checkpoint-s3",
                stream=None,
                timeout=RUN_TIMEOUT,
                python=python,
            ),
        )
    return runs


@pytest.fixture(params=sorted(LAUNCHER_EPOCHS))
def launcher_run(
    request: pytest.FixtureRequest, launcher_runs: dict[str, tuple[str, LocalRunResult]]
) -> tuple[str, str, LocalRunResult]:
    name: str = request.param
    return (name, *launcher_runs[name])


def test_launcher_under_torch_distributed(launcher_run: tuple[str, str, LocalRunResult]) -> None:
    name, python, result = launcher_run
    epochs = LAUNCHER_EPOCHS[name]
    assert result.succeeded, result.describe_failure() or "\n".join(result.log_tail)
    assert result.notes[0] == (
        "processes=2: sagemaker_torch_distributed_enabled=true and "
        "sagemaker_mpi_num_of_processes_per_host=2 added to the hyperparameters"
    )
    # the toolkit started torchrun with 2 processes on one node, each running the launcher ...
    assert (result.script_command or "").startswith(
        "torchrun --nnodes 1 --nproc_per_node 2 constructs_lib_launcher.py --batch_size 64"
    )
    # ... which ran train.py with arguments built from SM_HPS, not from its own (maybe shell-split) argv
    expected = [python, "train.py", *_toolkit_cmd_args(demo_hp(epochs=epochs).to_values())]
    runs = [line for line in result.log if line.startswith("constructs_lib_launcher: running ")]
    assert [json.loads(line.split("running ", 1)[1]) for line in runs] == [expected, expected]
    assert any("world_size=2" in line for line in result.log)
    assert json.loads((result.output_data_dir / "metrics.json").read_text())["world_size"] == 2
    # the inference code was copied once (local rank 0) into the model, so model.tar.gz carries it
    assert sum("copied the inference code (inference.py, model.py)" in line for line in result.log) == 1
    assert result.model_tar is not None
    assert _model_files(result.model_tar) == [
        "code/inference.py",
        "code/model.py",
        "model.pt",
        "model_meta.json",
    ]


def test_distributed_run_resumes_from_the_checkpoints_of_both_ranks(
    launcher_runs: dict[str, tuple[str, LocalRunResult]],
) -> None:
    (_, first), (_, second) = launcher_runs["latest"], launcher_runs["container-era"]
    assert _epoch_lines(first) == ["Epoch 1/2", "Epoch 2/2"]
    assert {name: len(v) for name, v in first.metrics.items()} == dict.fromkeys(METRIC_NAMES, 2)
    resumed = [line for line in second.log if line.startswith("Resuming from checkpoint")]
    # the same world size: every rank got its own random state back (no "written by N processes")
    assert resumed == [
        f"Resuming from checkpoint {second.work_dir / 'checkpoints' / 'checkpoint-epoch-000002.pt'} (epoch 2 of 3)"
    ]
    assert _epoch_lines(second) == ["Epoch 3/3"]
    assert {name: len(v) for name, v in second.metrics.items()} == dict.fromkeys(METRIC_NAMES, 1)


def test_inference_handler_serves_the_packed_model(
    launcher_run: tuple[str, str, LocalRunResult],
    demo_data: Path,
    tmp_path: Path,
    isolated_model_module: None,
) -> None:
    """model.tar.gz as the PyTorch serving container sees it: code/inference.py imports code/model.py."""
    import importlib.util

    _name, _python, result = launcher_run
    assert result.model_tar is not None
    with tarfile.open(result.model_tar, mode="r:gz") as tar:
        safe_extract(tar, tmp_path / "model")
    spec = importlib.util.spec_from_file_location(
        "served_inference", tmp_path / "model" / "code" / "inference.py"
    )
    assert spec is not None and spec.loader is not None
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    assert Path(sys.modules["model"].__file__ or "").parent == tmp_path / "model" / "code"

    model = inference.model_fn(str(tmp_path / "model"))
    body = (demo_data / "test" / "part-00000.csv").read_bytes()
    probabilities = inference.predict_fn(inference.input_fn(body, "text/csv"), model)
    served = json.loads(inference.output_fn(probabilities, "application/json"))
    import pandas as pd

    expected = pd.read_csv(result.output_data_dir / "test_predictions.csv")["probability"].tolist()
    assert served["probabilities"] == pytest.approx(expected, abs=1e-6)


# ============================================================================ checkpoints
INTERRUPTING_WRAPPER = '''\
"""Test harness: train.py, with the machine vanishing (SIGKILL to the whole job) right after the
checkpoint of epoch 2 is on disk, as a spot interruption would."""
import os
import signal

import train

_save = train.save_checkpoint


def save_then_vanish(directory, epoch, *args, **kwargs):
    path = _save(directory, epoch, *args, **kwargs)
    if epoch == 2:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    return path


train.save_checkpoint = save_then_vanish
train._exit(train.main())
'''


@pytest.fixture(scope="module")
def interrupted_then_resumed(
    demo_data: Path, latest_python: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalRunResult, list[str], LocalRunResult, Path]:
    """A run killed after epoch 2, the checkpoint files it left, and a second run on the same location."""
    root = tmp_path_factory.mktemp("checkpoints")
    source = launcher_code_dir(root / "src")
    (source / "interrupted_train.py").write_text(INTERRUPTING_WRAPPER, encoding="utf-8")
    checkpoints = root / "checkpoint-s3"
    first = run_training_locally(
        training_config(source, training_entry_point="interrupted_train.py"),
        demo_data,
        work_dir=root / "first",
        checkpoint_dir=checkpoints,
        stream=None,
        timeout=RUN_TIMEOUT,
        python=latest_python,
    )
    left = sorted(p.name for p in checkpoints.iterdir())
    second = run_training_locally(
        training_config(source),
        demo_data,
        work_dir=root / "second",
        checkpoint_dir=checkpoints,
        stream=None,
        timeout=RUN_TIMEOUT,
        python=latest_python,
    )
    return first, left, second, checkpoints


def test_interrupted_run_resumes_from_its_last_checkpoint(
    interrupted_then_resumed: tuple[LocalRunResult, list[str], LocalRunResult, Path],
    demo_run: tuple[LocalRunResult, list[str]],
) -> None:
    first, left, second, checkpoints = interrupted_then_resumed
    # GIVEN a run killed after its second epoch (the checkpoint of epoch 2 written, nothing after)
    assert first.exit_code == -9 and not first.succeeded and first.model_tar is None
    assert first.describe_failure() == "the training job was killed by signal 9 (SIGKILL) before it finished"
    assert "Epoch 1/4" in _epoch_lines(first) and "Epoch 3/4" not in _epoch_lines(first)
    assert (first.work_dir / "checkpoints").resolve() == checkpoints.resolve()
    assert left == ["checkpoint-epoch-000001.pt", "checkpoint-epoch-000002.pt"]  # atomic: no temporary file
    # WHEN the job runs again with the same checkpoint location
    # THEN it starts at epoch 3 and ends after epoch 4, as the uninterrupted run did, with the same numbers
    assert second.succeeded, second.describe_failure() or "\n".join(second.log_tail)
    assert any(
        f"Resuming from checkpoint {second.work_dir / 'checkpoints' / 'checkpoint-epoch-000002.pt'} (epoch 2 of 4)"
        in line
        for line in second.log
    )
    assert _epoch_lines(second) == ["Epoch 3/4", "Epoch 4/4"]
    uninterrupted = demo_run[0].metrics
    assert second.metrics == {name: values[2:] for name, values in uninterrupted.items()}
    metrics = json.loads((second.output_data_dir / "metrics.json").read_text())
    assert (metrics["first_epoch"], metrics["epochs"]) == (3, 4)
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "checkpoint-epoch-000003.pt",
        "checkpoint-epoch-000004.pt",
    ]


# ============================================================================ several hosts
@pytest.fixture(scope="module")
def two_host_run(
    demo_data: Path, latest_python: str, tmp_path_factory: pytest.TempPathFactory
) -> LocalRunResult:
    root = tmp_path_factory.mktemp("hosts")
    return run_training_locally(
        training_config(training_instance_count=2, hyperparameters=demo_hp(epochs=2)),
        demo_data,
        work_dir=root / "work",
        skip_requirements=True,
        stream=None,
        timeout=RUN_TIMEOUT,
        python=latest_python,
    )


def test_two_instances_run_two_local_hosts(two_host_run: LocalRunResult) -> None:
    result = two_host_run
    assert result.succeeded, result.describe_failure() or "\n".join(result.log_tail)
    assert result.hosts == ["127.0.0.1", "127.0.0.2"]
    work = result.work_dir
    for k, host in ((1, "127.0.0.1"), (2, "127.0.0.2")):
        resource = json.loads((work / f"algo-{k}" / "input" / "config" / "resourceconfig.json").read_text())
        assert (resource["current_host"], resource["hosts"]) == (host, result.hosts)
        # requirements.txt skipped on request: not in the code the toolkit unpacked
        assert not (work / f"algo-{k}" / "code" / "requirements.txt").exists()
        assert (work / f"algo-{k}" / "code" / "train.py").is_file()
    assert result.notes[0].startswith("requirements.txt not installed (skip_requirements=True)")
    assert result.notes[1].startswith("2 hosts 127.0.0.1, 127.0.0.2")
    # one gloo group over both hosts (MASTER_ADDR from the toolkit); rank 0 on the first host reports and saves
    assert any(line.startswith("[algo-1] Rows:") and "world_size=2" in line for line in result.log)
    assert not any(line.startswith("[algo-2] Epoch") for line in result.log)
    assert {name: len(v) for name, v in result.metrics.items()} == dict.fromkeys(METRIC_NAMES, 2)
    assert result.model_dir == work / "algo-1" / "model" and result.model_tar is not None
    # the second host saves no model; only the launcher's copy of the inference code (the same files on
    # every host, as each host's local rank 0 copies them)
    second = sorted(
        str(p.relative_to(work / "algo-2" / "model")) for p in (work / "algo-2" / "model").rglob("*")
    )
    assert second == ["code", "code/inference.py", "code/model.py"]


def test_too_many_instances_is_refused(demo_data: Path) -> None:
    config = training_config(training_instance_count=MAX_LOCAL_HOSTS + 1)
    with pytest.raises(ConfigError, match=r"--instance-count 1") as info:
        run_training_locally(config, demo_data, stream=None)
    assert info.value.field == "training_instance_count"
    with pytest.raises(ConfigError) as info:
        run_training_locally(config, demo_data, instance_count=0, stream=None)
    assert info.value.field == "instance_count"


# ============================================================================ failures before the run
def test_missing_val_split(tmp_path: Path) -> None:
    from constructs_lib.local.demo_data import write_demo_dataset

    data = write_demo_dataset(tmp_path / "data", rows=40)
    for path in (data / "val").iterdir():
        path.unlink()
    (data / "val").rmdir()
    with pytest.raises(ConfigError, match=r"has no val/ sub-directory") as info:
        run_training_locally(training_config(), data, stream=None)
    assert info.value.field == "data_dir"
    with pytest.raises(ConfigError, match="does not exist"):
        run_training_locally(training_config(), tmp_path / "nowhere", stream=None)
    (data / "val").mkdir()
    (data / "val" / "part-00000.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"val/ holds no .csv or .parquet file"):
        run_training_locally(training_config(), data, stream=None)


def test_entry_point_missing(demo_data: Path, tmp_path: Path) -> None:
    config = training_config(training_entry_point="main.py")
    with pytest.raises(ConfigError, match=r"entry point 'main\.py' not found") as info:
        run_training_locally(config, demo_data, stream=None, work_dir=tmp_path / "w")
    assert info.value.field == "source_dir"
    assert "train.py" in str(info.value)
    assert not (tmp_path / "w").exists()  # nothing was set up


def test_bad_arguments_and_work_dir(demo_data: Path, tmp_path: Path) -> None:
    for kwargs, name in (
        ({"processes": 0}, "processes"),
        ({"timeout": 0}, "timeout"),
        ({"instance_count": True}, "instance_count"),
    ):
        with pytest.raises(ConfigError) as info:
            run_training_locally(training_config(), demo_data, **kwargs)  # type: ignore[arg-type]
        assert info.value.field == name
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("")
    with pytest.raises(ConfigError, match="new or empty"):
        run_training_locally(training_config(), demo_data, work_dir=tmp_path / "used", stream=None)
    with pytest.raises(ConfigError, match="local source_dir"):
        run_training_locally(
            training_config().model_copy(update={"source_dir": "s3://bucket/code/sourcedir.tar.gz"}),
            demo_data,
        )


def test_without_the_toolkit_one_line_names_the_extra(demo_data: Path, tmp_path: Path) -> None:
    # GIVEN an interpreter without SageMaker's toolkit and torch (a bare venv)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    bare = str(tmp_path / "bare" / "bin" / "python")
    with pytest.raises(LocalRunError) as info:
        run_training_locally(training_config(), demo_data, python=bare, stream=None, work_dir=tmp_path / "w")
    message = info.value.one_line()
    assert "\n" not in message
    assert "lacks sagemaker_training, sagemaker_pytorch_container, torch" in message
    assert LOCAL_EXTRA in message
    assert not (tmp_path / "w").exists()


def test_codeartifact_job_is_refused_with_the_way_out(tmp_path: Path, demo_data: Path) -> None:
    source = script_dir(tmp_path / "src", "print('never runs')\n")
    (source / "requirements.txt").write_text("pyarrow\n")
    with pytest.raises(ConfigError) as info:
        run_training_locally(
            training_config(source, env={"CA_REPOSITORY_ARN": CA_ARN}), demo_data, stream=None
        )
    text = str(info.value)
    assert info.value.field == "env.CA_REPOSITORY_ARN" and CA_ARN in text
    assert "codeartifact:GetAuthorizationToken" in text
    assert "drop_codeartifact=True (--drop-codeartifact)" in text and "--skip-requirements" in text


# ============================================================================ failures of the run
@pytest.fixture(scope="module")
def failing_script_run(
    demo_data: Path, latest_python: str, tmp_path_factory: pytest.TempPathFactory
) -> LocalRunResult:
    """A script that reports what it sees, then fails like a Python traceback does."""
    root = tmp_path_factory.mktemp("failing")
    body = (
        "import json, os, pathlib, sys\n"
        "keys = ['MASTER_ADDR', 'MASTER_PORT', 'DEMO_FLAG', 'CUDA_VISIBLE_DEVICES', 'SM_CURRENT_HOST',\n"
        "        'SM_HOSTS', 'SM_NUM_GPUS', 'SM_CURRENT_INSTANCE_GROUP', 'SM_LEAKED_FROM_THE_SHELL',\n"
        "        'SAGEMAKER_BASE_DIR', 'TRAINING_JOB_NAME']\n"
        "seen = {k: os.environ.get(k) for k in keys}\n"
        "seen.update(argv=sys.argv[1:], cwd=os.getcwd())\n"
        "pathlib.Path(os.environ['SM_OUTPUT_DATA_DIR'], 'seen.json').write_text(json.dumps(seen))\n"
        "print('starting', flush=True)\n"
        "print('Traceback: something broke', file=sys.stderr, flush=True)\n"
        "print('ValueError: boom', file=sys.stderr, flush=True)\n"
        "sys.exit(1)\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SM_LEAKED_FROM_THE_SHELL", "leak")
        mp.setenv("TRAINING_JOB_NAME", "not-this-job")
        return run_training_locally(
            training_config(script_dir(root / "src", body), env={"DEMO_FLAG": "yes"}),
            demo_data,
            work_dir=root / "work",
            stream=None,
            timeout=RUN_TIMEOUT,
            python=latest_python,
        )


def test_script_failure_is_reported_as_sagemaker_reports_it(failing_script_run: LocalRunResult) -> None:
    result = failing_script_run
    assert result.exit_code == 1 and result.script_exit_code == 1  # the toolkit exits 1
    assert not result.succeeded and result.model_tar is None and result.contract_failures == []
    assert result.describe_failure() == "the training script exited with status 1: ValueError: boom"
    assert result.failure_reason is not None and result.failure_reason.startswith("ExecuteUserScriptError")
    assert (result.work_dir / "output" / "failure").is_file()
    assert not (result.work_dir / "output" / "success").exists()
    with pytest.raises(LocalRunError, match="status 1: ValueError: boom"):
        result.raise_for_failure()


def test_environment_seen_by_the_script(failing_script_run: LocalRunResult) -> None:
    result = failing_script_run
    seen = json.loads((result.output_data_dir / "seen.json").read_text())
    assert (seen["MASTER_ADDR"], seen["MASTER_PORT"]) == ("127.0.0.1", "7777")  # set by the PyTorch layer
    assert (seen["SM_CURRENT_HOST"], json.loads(seen["SM_HOSTS"]), seen["SM_NUM_GPUS"]) == (
        "127.0.0.1",
        ["127.0.0.1"],
        "0",
    )
    assert seen["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert seen["DEMO_FLAG"] == "yes" and seen["CUDA_VISIBLE_DEVICES"] == ""
    assert seen["SM_LEAKED_FROM_THE_SHELL"] is None and seen["TRAINING_JOB_NAME"] is None
    assert seen["SAGEMAKER_BASE_DIR"] == str(result.work_dir)
    assert seen["cwd"] == str(result.work_dir / "code")
    assert seen["argv"] == _toolkit_cmd_args(demo_hp().to_values())


def test_the_script_s_own_failure_reason_is_kept(demo_data: Path, tmp_path: Path, latest_python: str) -> None:
    # a script that writes SageMaker's failure file itself (as train.py does for bad hyperparameters)
    body = (
        "import os, pathlib, sys\n"
        "pathlib.Path(os.environ['SM_OUTPUT_DIR'], 'failure').write_text('hyperparameter epochs=0: must be >= 1\\n')\n"
        "print('train.py: error: hyperparameter epochs=0: must be >= 1', file=sys.stderr)\n"
        "sys.exit(2)\n"
    )
    result = run_training_locally(
        training_config(script_dir(tmp_path / "src", body)),
        demo_data,
        stream=None,
        timeout=RUN_TIMEOUT,
        python=latest_python,
    )
    assert (result.exit_code, result.script_exit_code) == (1, 2)
    assert not result.succeeded and result.model_tar is None
    # the toolkit keeps an existing failure file: the script's one line is SageMaker's FailureReason
    assert result.failure_reason == "hyperparameter epochs=0: must be >= 1"
    assert any("Failure file exists. Skipping creation" in line for line in result.log)
    assert (
        result.describe_failure()
        == "the training script exited with status 2: hyperparameter epochs=0: must be >= 1"
    )


def test_requirements_that_cannot_be_installed(
    tmp_path: Path, demo_data: Path, latest_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a job whose requirements.txt names a package no index has, run with CodeArtifact dropped
    source = script_dir(tmp_path / "src", "print('never runs')\n")
    (source / "requirements.txt").write_text("constructs-lib-no-such-package==0.0.1\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # this machine's pip is offline
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    result = run_training_locally(
        training_config(source, env={"CA_REPOSITORY_ARN": CA_ARN}),
        demo_data,
        drop_codeartifact=True,
        stream=None,
        timeout=RUN_TIMEOUT,
        python=latest_python,
    )
    # THEN the toolkit's pip failed before the script, and the failure says so in one line with the way out
    assert result.notes[0].startswith("CA_REPOSITORY_ARN dropped from the job's environment")
    assert result.exit_code == 1 and result.requirements_failed
    assert not any("never runs" in line for line in result.log)
    reason = result.describe_failure()
    assert reason is not None and "\n" not in reason
    assert reason.startswith(
        f"SageMaker's training toolkit could not install requirements.txt into {latest_python}"
    )
    assert "constructs-lib-no-such-package==0.0.1" in reason
    assert "skip_requirements=True (--skip-requirements)" in reason


def test_timeout_kills_the_job(demo_data: Path, tmp_path: Path, latest_python: str) -> None:
    body = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"
    result = run_training_locally(
        training_config(script_dir(tmp_path / "src", body)),
        demo_data,
        stream=None,
        timeout=2.0,
        python=latest_python,
    )
    assert result.timed_out and result.exit_code == -9
    reason = result.describe_failure()
    assert reason is not None and "timeout" in reason
