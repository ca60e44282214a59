"""Run a PyTorch training step's script on this machine, the way SageMaker runs it in the container.

:func:`run_training_locally` takes the same :class:`PyTorchTrainingConfig` the pipeline is built from and
asks :class:`~constructs_lib.builders.training_pytorch.PyTorchTrainingStepBuilder` for the training job's
``Arguments`` exactly as they appear in the pipeline definition. The local run then applies *those*
``HyperParameters``, ``Environment`` and ``MetricDefinitions``, and runs the code from the very
``sourcedir.tar.gz`` bytes the CDK asset ships (:func:`constructs_lib.packaging.pack_source_dir` with the
builder's :meth:`code_packages`, hyperparameters file included). What passes here passes the same
contract in SageMaker; what is different is said below.

Layout of ``work_dir`` (the ``/opt/ml`` of the container)::

    input/config/hyperparameters.json    the job's HyperParameters (JSON-encoded string values)
    input/config/inputdataconfig.json    {"data": {"TrainingInputMode": "File", ...}}
    input/config/resourceconfig.json     one host, "algo-1"
    input/data/data                      symlink to data_dir (a copy where links are unavailable)
    code/                                sourcedir.tar.gz unpacked; the script's working directory
    model/                               SM_MODEL_DIR
    output/data/                         SM_OUTPUT_DATA_DIR
    output/model.tar.gz                  model/ packed (contents at the archive root), after success
    sourcedir.tar.gz                     the packed code

Differences from SageMaker, on purpose: everything runs on CPU (``SM_NUM_GPUS=0``,
``CUDA_VISIBLE_DEVICES`` empty unless the config's ``env`` sets it) on one host; ``requirements.txt`` is
not installed (the interpreter given as ``python`` must already have the packages); ``processes`` replaces
the GPU count of the instance type for the number of workers; no network is needed or used.
"""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.errors import ConfigError, ConstructsLibError
from constructs_lib.metrics import extract_metrics
from constructs_lib.packaging import deterministic_tar_gz, pack_source_dir, safe_extract

__all__ = [
    "CHANNEL",
    "CURRENT_HOST",
    "DEFAULT_REGION",
    "STDERR_TAIL_LINES",
    "LocalRunError",
    "LocalRunResult",
    "reference_source_dir",
    "run_training_locally",
    "to_cmd_args",
]

#: The training job's single input channel.
CHANNEL = "data"
#: Host name of the (single) local host, as SageMaker names the first host.
CURRENT_HOST = "algo-1"
#: Region the step is built for when neither the call nor the config sets one (only image URIs
#: depend on it; nothing regional is used by a local run).
DEFAULT_REGION = "us-east-1"
#: Number of stderr lines kept in :attr:`LocalRunResult.stderr_tail`.
STDERR_TAIL_LINES = 40

_SPLITS = ("train", "val", "test")
_DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
# Variables of an enclosing launcher that must not leak into the job's processes.
_LAUNCHER_VARS = frozenset(
    {
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "LOCAL_WORLD_SIZE",
        "GROUP_RANK",
        "ROLE_RANK",
        "ROLE_WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
        "TORCHELASTIC_RUN_ID",
        "TORCHELASTIC_RESTART_COUNT",
        "TORCHELASTIC_MAX_RESTARTS",
    }
)

Stream = Callable[[str], object]


class LocalRunError(ConstructsLibError, RuntimeError):
    """The local run could not be set up, or (from :meth:`LocalRunResult.raise_for_failure`) failed."""

    kind = "local-run"


def reference_source_dir() -> Path:
    """The reference training code shipped in the package (``constructs_lib/scripts/pytorch_training``)."""
    return Path(__file__).resolve().parent.parent / "scripts" / "pytorch_training"


@dataclass
class LocalRunResult:
    """What a local training run did.

    Attributes:
        exit_code: the script's (or launcher's) exit status; negative for a signal (``-9`` after a
            timeout).
        metrics: ``{metric name: [values in log order]}`` for every metric definition of the job, found
            with the job's own regexes (an empty list when a regex never matched).
        model_dir: ``SM_MODEL_DIR`` of the run.
        model_tar: ``output/model.tar.gz`` (``model_dir`` contents at the archive root), or ``None`` when
            the script failed or wrote nothing to ``model_dir``.
        output_data_dir: ``SM_OUTPUT_DATA_DIR`` of the run.
        work_dir: the ``/opt/ml``-shaped directory of the run (kept; delete it when done).
        log: every line the job printed, stdout and stderr interleaved as they arrived (two pipes:
            the order between a stdout line and a stderr line printed at nearly the same time may differ).
        stderr_tail: the last :data:`STDERR_TAIL_LINES` lines of stderr.
        contract_failures: what a successful exit did not deliver (nothing in ``model_dir``; a metric
            regex that never matched). Checked only when the exit code is 0.
        command: the command line that was run (in ``work_dir/code``).
        timed_out: the run was killed after ``timeout`` seconds.
        failure_reason: the content of ``output/failure`` when the script wrote one (SageMaker shows it
            as the job's ``FailureReason``).
    """

    exit_code: int
    metrics: dict[str, list[float]]
    model_dir: Path
    model_tar: Path | None
    output_data_dir: Path
    work_dir: Path
    log: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    contract_failures: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    timed_out: bool = False
    failure_reason: str | None = None

    @property
    def succeeded(self) -> bool:
        """Exit code 0 and no contract failure."""
        return self.exit_code == 0 and not self.contract_failures

    @property
    def log_tail(self) -> list[str]:
        """The last :data:`STDERR_TAIL_LINES` lines of the whole log."""
        return self.log[-STDERR_TAIL_LINES:]

    def final_metrics(self) -> dict[str, float]:
        """The last value of each metric that was captured at least once."""
        return {name: values[-1] for name, values in self.metrics.items() if values}

    def describe_failure(self) -> str | None:
        """One line saying why the run failed, or ``None`` when it succeeded."""
        if self.timed_out:
            return f"the training job was killed after its timeout (exit code {self.exit_code})"
        if self.exit_code != 0:
            reason = self.failure_reason or next(
                (line for line in reversed(self.stderr_tail) if line.strip()), "no output on stderr"
            )
            return f"the training script exited with status {self.exit_code}: {' '.join(reason.split())}"
        if self.contract_failures:
            return "; ".join(self.contract_failures)
        return None

    def raise_for_failure(self) -> None:
        """Raise :class:`LocalRunError` unless :attr:`succeeded`."""
        reason = self.describe_failure()
        if reason is not None:
            raise LocalRunError(
                reason,
                hint=f"see the log under {self.work_dir} (result.log / result.stderr_tail)",
            )


# ------------------------------------------------------------------------------------ helpers
def to_cmd_args(hyperparameters: Mapping[str, object]) -> list[str]:
    """Command-line arguments exactly as SageMaker's training toolkit builds them from the decoded
    hyperparameters: sorted keys, ``--key value`` (``-k`` for one-letter keys), ``str()`` of each value
    (so lists arrive as Python literals), mappings as ``k1=v1,k2=v2``."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def _env_value(value: object) -> str:
    """The toolkit's ``SM_*`` formatting: strings as is, everything else compact sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _decode(value: str) -> object:
    try:
        decoded: object = json.loads(value)
    except (ValueError, TypeError):
        return value
    return decoded


def _check_data_dir(data_dir: str | Path) -> Path:
    path = Path(data_dir)
    if not path.is_dir():
        raise ConfigError(
            "data directory does not exist" if not path.exists() else "not a directory",
            field="data_dir",
            value=str(path),
            hint="point data_dir at a directory holding train/, val/ and test/ "
            "(constructs-lib demo-data --out DIR writes one)",
        )
    missing = [split for split in _SPLITS if not (path / split).is_dir()]
    if missing:
        raise ConfigError(
            f"data directory has no {', '.join(f'{m}/' for m in missing)} "
            f"sub-director{'y' if len(missing) == 1 else 'ies'}",
            field="data_dir",
            value=str(path),
            hint="the training step's data channel needs train/, val/ and test/, "
            "each with .csv or .parquet files",
        )
    for split in _SPLITS:
        split_dir = path / split
        if not any(p.is_file() and p.name.endswith(_DATA_SUFFIXES) for p in split_dir.iterdir()):
            raise ConfigError(
                f"{split}/ holds no .csv or .parquet file",
                field="data_dir",
                value=str(split_dir),
                hint=f"put the {split} split's files (with a header row for CSV) into it",
            )
    return path.resolve()


def _prepare_work_dir(work_dir: str | Path | None) -> Path:
    if work_dir is None:
        return Path(tempfile.mkdtemp(prefix="constructs-lib-local-run-")).resolve()
    path = Path(work_dir)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(
            "work directory must be new or empty",
            field="work_dir",
            value=str(path),
            hint="pass a new directory, or omit it for a fresh temporary one",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _job_arguments(
    config: PyTorchTrainingConfig, region: str
) -> tuple[dict[str, Any], str, Mapping[str, bytes]]:
    """The job's Arguments (from the builder) plus what to pack: ``(arguments, entry point, extras)``."""
    from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder

    builder = PyTorchTrainingStepBuilder(config, region=region)
    arguments = builder.training_job_arguments()
    packages = builder.code_packages()
    extra_files: Mapping[str, bytes] = packages[0].extra_files if packages else {}
    entry_point = packages[0].entry_point if packages else config.training_entry_point
    return arguments, entry_point, extra_files


def _link_or_copy(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(target, target_is_directory=True)
    except OSError:  # pragma: no cover - platforms without symlinks
        shutil.copytree(target, link)


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, sort_keys=True, indent=2) + "\n", encoding="utf-8")


def _pack_model_dir(model_dir: Path) -> bytes | None:
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for root, dirs, names in os.walk(model_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if not path.is_file():
                continue
            arcname = path.relative_to(model_dir).as_posix()
            files[arcname] = path.read_bytes()
            if path.stat().st_mode & 0o111:
                executable.add(arcname)
    return deterministic_tar_gz(files, executable=executable) if files else None


def _reader(pipe: io.TextIOBase, name: str, out: queue.Queue[tuple[str, str | None]]) -> None:
    try:
        for line in pipe:
            out.put((name, line.rstrip("\r\n")))
    finally:
        out.put((name, None))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # pragma: no cover - already gone
        proc.kill()


def _run_streaming(
    command: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    stream: Stream | None,
) -> tuple[int, list[str], list[str], bool]:
    """Run ``command``; stream each line as it comes; return ``(exit code, log, stderr tail, timed out)``."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        start_new_session=True,  # its own process group: a timeout kills the launcher and its workers
    )
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    assert proc.stdout is not None and proc.stderr is not None
    threads = [
        threading.Thread(target=_reader, args=(proc.stdout, "stdout", lines), daemon=True),
        threading.Thread(target=_reader, args=(proc.stderr, "stderr", lines), daemon=True),
    ]
    for thread in threads:
        thread.start()
    log: list[str] = []
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    deadline = None if timeout is None else time.monotonic() + timeout
    open_pipes = 2
    timed_out = False
    try:
        while open_pipes:
            wait = 0.2
            if deadline is not None and not timed_out:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                source, line = lines.get(timeout=wait)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline and not timed_out:
                    timed_out = True
                    _kill_group(proc)
                continue
            if line is None:
                open_pipes -= 1
                continue
            log.append(line)
            if source == "stderr":
                stderr_tail.append(line)
            if stream is not None:
                stream(line)
        exit_code = proc.wait()
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    for thread in threads:
        thread.join(timeout=1)
    return exit_code, log, list(stderr_tail), timed_out


# ------------------------------------------------------------------------------------ main entry
def run_training_locally(
    config: PyTorchTrainingConfig,
    data_dir: str | Path,
    *,
    work_dir: str | Path | None = None,
    processes: int = 1,
    python: str = sys.executable,
    timeout: float | None = None,
    stream: Stream | None = print,
    region: str | None = None,
) -> LocalRunResult:
    """Run the training step of ``config`` on local data, as SageMaker would, and check its contract.

    Args:
        config: the step's config (``source_dir`` must be a local directory).
        data_dir: local directory with ``train/``, ``val/`` and ``test/`` (the ``data`` channel).
        work_dir: the run's ``/opt/ml``; must be new or empty. Default ``None``: a fresh temporary
            directory (kept after the run; see :attr:`LocalRunResult.work_dir`).
        processes: number of worker processes, ``>= 1``. Default ``1``: ``python <entry point> <args>``.
            More: ``python -m torch.distributed.run --standalone --nproc_per_node N <entry point> <args>``,
            as SageMaker's ``torch_distributed`` launcher starts one worker per GPU (here on CPU, gloo).
        python: interpreter that runs the script (needs torch, numpy, pandas). Default: this one.
        timeout: seconds before the run is killed. Default ``None`` (no limit).
        stream: called with each log line as it arrives. Default ``print``; ``None`` for silence.
        region: region the step is built for. Default: the config's ``region``, else ``us-east-1``.

    Returns:
        A :class:`LocalRunResult`; a failing script is a result with a non-zero ``exit_code`` (call
        :meth:`LocalRunResult.raise_for_failure` to turn it into an exception).

    Raises:
        ConfigError: before anything runs: ``source_dir`` is an S3 URI, the packing fails (entry point
            missing, symlink outside, too big...), ``data_dir`` lacks ``train/``, ``val/`` or ``test/``
            or their files, ``work_dir`` is not empty, or ``processes``/``timeout`` are out of range.
        SynthError: the step could not be built.
        LocalRunError: the job's arguments hold a value that only a running pipeline can resolve.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ConfigError("must be an integer >= 1", field="processes", value=processes)
    if timeout is not None and not timeout > 0:
        raise ConfigError("must be > 0 seconds, or None for no limit", field="timeout", value=timeout)
    if not config.is_local_source:
        raise ConfigError(
            "a local run needs a local source_dir",
            field="source_dir",
            value=config.source_dir,
            hint="point source_dir at the directory holding the entry point (an s3:// tarball is not fetched)",
        )
    data = _check_data_dir(data_dir)
    arguments, entry_point, extra_files = _job_arguments(config, region or config.region or DEFAULT_REGION)
    tarball = pack_source_dir(config.source_dir, entry_point=entry_point, extra_files=extra_files)

    metric_definitions: list[dict[str, str]] = list(
        arguments.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    )
    hyperparameters: dict[str, str] = {}
    for key, value in arguments.get("HyperParameters", {}).items():
        if not isinstance(value, str):
            raise LocalRunError(
                "hyperparameter value is a pipeline expression a local run cannot resolve",
                field=f"HyperParameters.{key}",
                value=value,
                hint="give the hyperparameter a literal value",
            )
        hyperparameters[key] = value
    environment: dict[str, str] = {
        key: value for key, value in arguments.get("Environment", {}).items() if isinstance(value, str)
    }
    resource_config = arguments.get("ResourceConfig", {})
    instance_type = str(resource_config.get("InstanceType", config.training_instance_type))

    work = _prepare_work_dir(work_dir)
    input_dir = work / "input"
    config_dir = input_dir / "config"
    channel_dir = input_dir / "data" / CHANNEL
    code_dir = work / "code"
    model_dir = work / "model"
    output_dir = work / "output"
    output_data_dir = output_dir / "data"
    for directory in (config_dir, code_dir, model_dir, output_data_dir):
        directory.mkdir(parents=True, exist_ok=True)
    _link_or_copy(data, channel_dir)
    source_tar = work / "sourcedir.tar.gz"
    source_tar.write_bytes(tarball)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        safe_extract(tar, code_dir)

    input_data_config = {
        CHANNEL: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    }
    resource = {
        "current_host": CURRENT_HOST,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": [CURRENT_HOST],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": instance_type,
                "hosts": [CURRENT_HOST],
            }
        ],
        "network_interface_name": "eth0",
    }
    _write_json(config_dir / "hyperparameters.json", hyperparameters)
    _write_json(config_dir / "inputdataconfig.json", input_data_config)
    _write_json(config_dir / "resourceconfig.json", resource)

    decoded = {key: _decode(value) for key, value in hyperparameters.items()}
    user_hps = {key: value for key, value in decoded.items() if not key.startswith("sagemaker_")}
    framework_params = {key: value for key, value in decoded.items() if key.startswith("sagemaker_")}
    user_args = to_cmd_args(user_hps)
    module_name = entry_point[:-3] if entry_point.endswith(".py") else entry_point
    num_cpus = os.cpu_count() or 1
    training_env: dict[str, object] = {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": {CHANNEL: str(channel_dir)},
        "current_host": CURRENT_HOST,
        "current_instance_type": instance_type,
        "hosts": [CURRENT_HOST],
        "hyperparameters": user_hps,
        "input_config_dir": str(config_dir),
        "input_data_config": input_data_config,
        "input_dir": str(input_dir),
        "log_level": decoded.get("sagemaker_container_log_level", 20),
        "model_dir": str(model_dir),
        "module_dir": str(source_tar),
        "module_name": module_name,
        "network_interface_name": "eth0",
        "num_cpus": num_cpus,
        "num_gpus": 0,
        "output_data_dir": str(output_data_dir),
        "output_dir": str(output_dir),
        "resource_config": resource,
        "user_entry_point": entry_point,
    }
    sm_env: dict[str, object] = {
        "CHANNEL_DATA": str(channel_dir),
        "CHANNELS": [CHANNEL],
        "CURRENT_HOST": CURRENT_HOST,
        "CURRENT_INSTANCE_TYPE": instance_type,
        "FRAMEWORK_PARAMS": framework_params,
        "HOSTS": [CURRENT_HOST],
        "HPS": user_hps,
        "INPUT_CONFIG_DIR": str(config_dir),
        "INPUT_DATA_CONFIG": input_data_config,
        "INPUT_DIR": str(input_dir),
        "LOG_LEVEL": training_env["log_level"],
        "MODEL_DIR": str(model_dir),
        "MODULE_DIR": str(source_tar),
        "MODULE_NAME": module_name,
        "NETWORK_INTERFACE_NAME": "eth0",
        "NUM_CPUS": num_cpus,
        "NUM_GPUS": 0,
        "OUTPUT_DATA_DIR": str(output_data_dir),
        "OUTPUT_DIR": str(output_dir),
        "RESOURCE_CONFIG": resource,
        "TRAINING_ENV": training_env,
        "USER_ARGS": user_args,
        "USER_ENTRY_POINT": entry_point,
    }
    for key, value in user_hps.items():
        sm_env[f"HP_{key.upper()}"] = value

    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_") and k not in _LAUNCHER_VARS}
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(environment)
    env.update({f"SM_{key}": _env_value(value) for key, value in sm_env.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    if processes == 1:
        command = [python, entry_point, *user_args]
    else:
        command = [
            python,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nnodes",
            "1",
            "--nproc_per_node",
            str(processes),
            entry_point,
            *user_args,
        ]

    exit_code, log, stderr_tail, timed_out = _run_streaming(
        command, cwd=code_dir, env=env, timeout=timeout, stream=stream
    )
    metrics = extract_metrics(log, metric_definitions)

    failures: list[str] = []
    model_tar: Path | None = None
    if exit_code == 0 and not timed_out:
        packed = _pack_model_dir(model_dir)
        if packed is None:
            failures.append(
                f"the script exited 0 but wrote nothing to SM_MODEL_DIR ({model_dir}); "
                "SageMaker would upload an empty model.tar.gz"
            )
        else:
            model_tar = output_dir / "model.tar.gz"
            model_tar.write_bytes(packed)
        silent = [name for name, values in metrics.items() if not values]
        if silent:
            failures.append(
                "no log line matched the job's metric definitions for: "
                + ", ".join(silent)
                + " (print e.g. '"
                + f"{silent[0]}: 0.5' once per epoch)"
            )
    failure_file = output_dir / "failure"
    failure_reason = failure_file.read_text(encoding="utf-8").strip() if failure_file.is_file() else None
    return LocalRunResult(
        exit_code=exit_code,
        metrics=metrics,
        model_dir=model_dir,
        model_tar=model_tar,
        output_data_dir=output_data_dir,
        work_dir=work,
        log=log,
        stderr_tail=stderr_tail,
        contract_failures=failures,
        command=command,
        timed_out=timed_out,
        failure_reason=failure_reason or None,
    )
