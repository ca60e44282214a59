"""Run a PyTorch training step on this machine through SageMaker's own training toolkit.

:func:`run_training_locally` takes the :class:`PyTorchTrainingConfig` the pipeline is built from, asks
:class:`~constructs_lib.builders.training_pytorch.PyTorchTrainingStepBuilder` for the training job's
``Arguments`` exactly as the pipeline definition holds them, packs the code into the very
``sourcedir.tar.gz`` bytes the CDK asset ships (:func:`constructs_lib.packaging.pack_source_dir` with the
builder's :meth:`code_packages`), and then plays the part of the SageMaker *platform* only: it writes the
``/opt/ml``-shaped tree SageMaker writes before a container starts and starts the container's entry
point, SageMaker's training toolkit (``sagemaker-training`` with the PyTorch image's
``sagemaker-pytorch-training`` layer, ``SAGEMAKER_TRAINING_MODULE=sagemaker_pytorch_container.training:main``
as in the image). Everything inside the container is the toolkit's own doing: it unpacks the tarball,
installs ``requirements.txt`` with pip (through CodeArtifact when ``CA_REPOSITORY_ARN`` is set), sets
the ``SM_*`` variables, ``MASTER_ADDR``/``MASTER_PORT``, builds the script's command line (through
``/bin/sh`` up to toolkit 5.1.2), starts ``torchrun`` for ``torch_distributed``, writes
``output/success`` or ``output/failure`` and exits 1 when the script fails. Install it with
``pip install 'constructs_lib[local]'``; any toolkit version can be used by passing the interpreter of an
environment that has it as ``python``.

On top of the toolkit the local run adds what SageMaker itself adds around the container: the job's
metric definitions applied to the log (:func:`constructs_lib.metrics.extract_metrics`), ``model.tar.gz``
packed from the model directory like SageMaker packs it, and named contract failures (exit 0 but no
model, a metric never printed).

Layout of ``work_dir`` for one host (SageMaker's ``/opt/ml``; the toolkit reads ``SAGEMAKER_BASE_DIR``,
nothing is written to the machine's ``/opt/ml``; the container paths come from
:data:`~constructs_lib.contracts.training_pytorch.PYTORCH_TRAINING_CONTRACT`)::

    input/config/hyperparameters.json    the job's HyperParameters (sagemaker_submit_directory: the tarball)
    input/config/inputdataconfig.json    the job's channel, "data"
    input/config/resourceconfig.json     hosts, instance type and group, network interface "lo"
    input/data/data                      symlink to data_dir (a copy where links are unavailable)
    checkpoints/                         with a CheckpointConfig or checkpoint_dir (a link to it)
    code/                                unpacked by the toolkit; the script's working directory
    model/                               SM_MODEL_DIR
    output/data/                         SM_OUTPUT_DATA_DIR
    output/success | output/failure      written by the toolkit (or the script)
    output/model.tar.gz                  model/ packed (contents at the archive root), after success
    sourcedir.tar.gz                     the packed code, byte for byte what the pipeline ships

With several instances (``ResourceConfig.InstanceCount`` > 1, or ``instance_count``), one toolkit per
host runs concurrently, each with its own tree ``work_dir/algo-<k>/``; the hosts are named
``127.0.0.<k>``: the toolkit waits until every host name resolves before it starts the script, and
loopback addresses resolve on every machine without a hosts-file entry (SageMaker's ``algo-<k>`` do
not), so rank 0 is host ``127.0.0.1`` and ``MASTER_ADDR`` is ``127.0.0.1``.

What differs from SageMaker, on purpose: GPUs are hidden (``CUDA_VISIBLE_DEVICES`` empty unless the
config's ``env`` sets it; the toolkit still counts them with ``nvidia-smi``); ``requirements.txt`` is
installed into ``python``'s environment (a container's is thrown away after the job), or not at all with
``skip_requirements``; a job that would fetch a CodeArtifact token is refused unless
``drop_codeartifact`` or ``skip_requirements`` says what to do instead; paths under ``/opt/ml/`` in the
job's ``Environment`` are mapped into ``work_dir``; a single-host ``torchrun`` gets a free port
(``PET_MASTER_PORT``) instead of its fixed default, so concurrent local runs do not collide (several
hosts use the toolkit's fixed port 7777); pip's version check is off. No AWS API is called.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.contracts.training_pytorch import PYTORCH_TRAINING_CONTRACT
from constructs_lib.errors import ConfigError, ConstructsLibError
from constructs_lib.metrics import extract_metrics
from constructs_lib.packaging import deterministic_tar_gz

__all__ = [
    "CHANNEL",
    "CONTAINER_ROOT",
    "DEFAULT_CHECKPOINT_PATH",
    "DEFAULT_REGION",
    "LOCAL_EXTRA",
    "MAX_LOCAL_HOSTS",
    "STDERR_TAIL_LINES",
    "TOOLKIT_MODULES",
    "TRAINING_MODULE",
    "LocalRunError",
    "LocalRunResult",
    "local_host_names",
    "reference_source_dir",
    "run_training_locally",
]

#: The container's root; every contract path lies below it.
CONTAINER_ROOT = "/opt/ml"
#: The training job's single input channel (``/opt/ml/input/data/<channel>`` of the contract).
CHANNEL = PurePosixPath(PYTORCH_TRAINING_CONTRACT.expected_input_paths["input_path"]).name
#: Where SageMaker puts checkpoints when ``CheckpointConfig.LocalPath`` is not given.
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
#: Region the step is built for when neither the call nor the config sets one (only image URIs
#: depend on it; nothing regional is used by a local run).
DEFAULT_REGION = "us-east-1"
#: Number of stderr lines kept in :attr:`LocalRunResult.stderr_tail`.
STDERR_TAIL_LINES = 40
#: The PyTorch training image's ``SAGEMAKER_TRAINING_MODULE``: the toolkit imports and runs it.
TRAINING_MODULE = "sagemaker_pytorch_container.training:main"
#: Modules the interpreter running the job must have (the toolkit, its PyTorch layer, torch).
TOOLKIT_MODULES = ("sagemaker_training", "sagemaker_pytorch_container", "torch")
#: How to install them.
LOCAL_EXTRA = "pip install 'constructs_lib[local]'"
#: At most this many local hosts (one toolkit and training process each) run at once.
MAX_LOCAL_HOSTS = 8

_SPLITS = ("train", "val", "test")
_DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
_REQUIREMENTS = "requirements.txt"
_INSTANCE_GROUP = "homogeneousCluster"
_NETWORK_INTERFACE = "lo"
# The image's ENV besides SAGEMAKER_TRAINING_MODULE (PyTorch training Dockerfiles).
_IMAGE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "UTF-8"}
# Variables of this process that would steer the toolkit, a launcher or our scripts: never inherited.
_INHERITED_PREFIXES = ("SM_", "SAGEMAKER_", "PET_", "TORCHELASTIC_")
_INHERITED_NAMES = frozenset(
    {
        "CURRENT_HOST",
        "TRAINING_JOB_NAME",
        "TRAINING_JOB_ARN",
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "LOCAL_WORLD_SIZE",
        "GROUP_RANK",
        "GROUP_WORLD_SIZE",
        "ROLE_RANK",
        "ROLE_WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
        CA_REPOSITORY_ARN_ENV,
        "CONSTRUCTS_LIB_ENTRY_POINT",
        "CONSTRUCTS_LIB_INFERENCE_CODE",
        "CONSTRUCTS_LIB_DISTRIBUTION",
        "CONSTRUCTS_LIB_CHECKPOINT_DIR",
    }
)
_EXIT_CODE_LINE = re.compile(r"^ExitCode (-?\d+)\s*$")
_ERROR_MESSAGE = re.compile(r'ErrorMessage "(.*)"\s*Command "', re.S)
_PIP_ERROR = re.compile(r"\bERROR: (.+)$")
_INVOKE_MARKER = "Invoking script with the following command:"
_REQUIREMENTS_ERROR = "InstallRequirementsError"

Stream = Callable[[str], object]


class LocalRunError(ConstructsLibError, RuntimeError):
    """The local run could not be set up, or (from :meth:`LocalRunResult.raise_for_failure`) failed."""

    kind = "local-run"


def reference_source_dir() -> Path:
    """The reference training code shipped in the package (``constructs_lib/scripts/pytorch_training``)."""
    from constructs_lib.inference_code import REFERENCE_TRAINING_DIR

    return REFERENCE_TRAINING_DIR


def local_host_names(count: int) -> list[str]:
    """The local stand-ins for SageMaker's ``algo-1`` ... ``algo-<count>``: ``127.0.0.1`` ..., sorted as
    SageMaker sorts its host names (lexicographically)."""
    return sorted(f"127.0.0.{k}" for k in range(1, count + 1))


@dataclass
class LocalRunResult:
    """What a local training run did.

    Attributes:
        exit_code: the exit status of the container's entry point (SageMaker's toolkit; the first failing
            host's): 0, or 1 when the script or the toolkit failed; negative for a signal (``-9`` after a
            timeout or a kill).
        metrics: ``{metric name: [values in log order]}`` for every metric definition of the job, found
            with the job's own regexes in the first host's log (an empty list when a regex never
            matched).
        model_dir: ``SM_MODEL_DIR`` of the run (the first host's).
        model_tar: ``output/model.tar.gz`` (``model_dir`` contents at the archive root), or ``None`` when
            the run failed or wrote nothing to ``model_dir``.
        output_data_dir: ``SM_OUTPUT_DATA_DIR`` of the run (the first host's).
        work_dir: the directory of the run (kept; delete it when done): the ``/opt/ml`` of the single
            host, or the parent of ``algo-<k>/`` with several.
        log: every line of the run: this runner's notes (``local-run: ...``), then what the toolkit and
            the script printed, stdout and stderr interleaved as they arrived (with several hosts each
            line starts with ``[algo-<k>]``).
        stderr_tail: the last :data:`STDERR_TAIL_LINES` lines of the toolkit's stderr (its log; the
            script's own stderr reaches the toolkit's stdout, as in CloudWatch).
        contract_failures: what a successful exit did not deliver (nothing in ``model_dir``; a metric
            regex that never matched). Checked only when the exit code is 0.
        command: the command that started the (first host's) container entry point.
        timed_out: the run was killed after ``timeout`` seconds.
        failure_reason: the content of ``output/failure`` (SageMaker's ``FailureReason``): the script's
            own, or the toolkit's report.
        script_exit_code: the training script's exit status as the toolkit reported it (``ExitCode``),
            or ``None`` when the script did not fail or never ran.
        script_command: the script's command line as the toolkit logged it, or ``None``.
        hosts: the host names of the run, rank 0 first.
        notes: what this local run did differently from SageMaker because it was asked to (also at the
            start of :attr:`log`).
        python: the interpreter that ran the toolkit and the script.
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
    script_exit_code: int | None = None
    script_command: str | None = None
    hosts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    python: str = ""

    @property
    def succeeded(self) -> bool:
        """Exit code 0 and no contract failure."""
        return self.exit_code == 0 and not self.contract_failures

    @property
    def log_tail(self) -> list[str]:
        """The last :data:`STDERR_TAIL_LINES` lines of the whole log."""
        return self.log[-STDERR_TAIL_LINES:]

    @property
    def requirements_failed(self) -> bool:
        """The toolkit could not install ``requirements.txt``."""
        return self.exit_code != 0 and _REQUIREMENTS_ERROR in (self.failure_reason or "")

    def final_metrics(self) -> dict[str, float]:
        """The last value of each metric that was captured at least once."""
        return {name: values[-1] for name, values in self.metrics.items() if values}

    def describe_failure(self) -> str | None:
        """One line saying why the run failed, or ``None`` when it succeeded."""
        if self.timed_out:
            return f"the training job was killed after its timeout (exit code {self.exit_code})"
        if self.exit_code < 0:
            name = _signal_name(-self.exit_code)
            return f"the training job was killed by signal {-self.exit_code} ({name}) before it finished"
        if self.exit_code != 0:
            if self.requirements_failed:
                pip_error = next(
                    (m.group(1) for line in reversed(self.log) if (m := _PIP_ERROR.search(line))),
                    _condense(self.failure_reason or ""),
                )
                return (
                    f"SageMaker's training toolkit could not install requirements.txt into {self.python} "
                    f"(pip: {' '.join(pip_error.split())}); install those packages into that interpreter "
                    "and pass skip_requirements=True (--skip-requirements), or give this machine a package "
                    "index that has them"
                )
            reason = _condense(self.failure_reason or "") or next(
                (line for line in reversed(self.stderr_tail) if line.strip()), "no output on stderr"
            )
            if self.script_exit_code is None:
                return f"SageMaker's training toolkit failed (exit code {self.exit_code}): {reason}"
            return f"the training script exited with status {self.script_exit_code}: {reason}"
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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def _condense(failure: str) -> str:
    """One line from a failure report: the toolkit's ``ErrorMessage "..."`` (its last line, usually
    ``SomeError: text``) or the first line of a script's own report."""
    match = _ERROR_MESSAGE.search(failure)
    if match:
        lines = [line.strip() for line in match.group(1).splitlines() if line.strip()]
        if lines:
            return lines[-1]
        first = failure.strip().splitlines()[0].rstrip(":") if failure.strip() else ""
        return f"{first} with no error message (see the log)" if first else ""
    return " ".join(failure.split())


# ------------------------------------------------------------------------------------ checks
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


def _check_toolkit(python: str) -> str:
    """``python`` as a path; fail in one line when it lacks SageMaker's toolkit or torch (nothing is
    imported)."""
    found = shutil.which(python)
    if found is None:
        raise ConfigError(
            "no such interpreter", field="python", value=python, hint="pass a Python executable"
        )
    python = os.path.abspath(found)
    probe = (
        "import importlib.util as u, json; "
        f"print(json.dumps([m for m in {list(TOOLKIT_MODULES)!r} if u.find_spec(m) is None]))"
    )
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot run the interpreter: {exc}", field="python", value=python) from None
    try:
        missing = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (ValueError, IndexError):
        missing = None
    if missing is None:
        raise ConfigError(
            f"the interpreter failed a start-up check: {(done.stderr or done.stdout).strip()[-300:]}",
            field="python",
            value=python,
        )
    if missing:
        raise LocalRunError(
            "a local run needs SageMaker's training toolkit and PyTorch, but "
            f"{python} lacks {', '.join(missing)}",
            field="python",
            value=python,
            hint=f"{LOCAL_EXTRA} into that environment (or pass python= an interpreter that has them)",
        )
    return python


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


def _job_arguments(config: PyTorchTrainingConfig, region: str) -> tuple[dict[str, Any], bytes]:
    """The job's Arguments (from the builder) and its packed code tarball (the step's code package: the
    launcher and inference code included when the step packs them)."""
    from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder

    builder = PyTorchTrainingStepBuilder(config, region=region)
    # as an execution with the parameters' defaults runs them (instance type/count choices, checkpoint joins)
    arguments = builder.training_job_arguments(executed=True)
    # a local source_dir (checked by the caller) is exactly one code package: launcher and inference code
    # included, as the construct ships it
    (package,) = builder.code_packages()
    return arguments, package.pack()


def _container_path(base: Path, container_path: str) -> Path:
    """``base`` + the part of ``container_path`` below ``/opt/ml``."""
    return base / PurePosixPath(container_path).relative_to(CONTAINER_ROOT)


def _is_container_path(value: str) -> bool:
    return value == CONTAINER_ROOT or value.startswith(CONTAINER_ROOT + "/")


# ------------------------------------------------------------------------------------ files
def _tar_members(tarball: bytes) -> tuple[dict[str, bytes], set[str], set[str]]:
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    directories: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isdir():
                directories.add(member.name)
            elif member.isfile():
                extracted = tar.extractfile(member)
                files[member.name] = extracted.read() if extracted is not None else b""
                if member.mode & 0o111:
                    executable.add(member.name)
    return files, executable, directories


def _without_requirements(tarball: bytes) -> bytes:
    files, executable, directories = _tar_members(tarball)
    files.pop(_REQUIREMENTS, None)
    return deterministic_tar_gz(files, executable=executable, directories=directories)


def _has_requirements(tarball: bytes) -> bool:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        return any(m.name == _REQUIREMENTS and m.isfile() for m in tar.getmembers())


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------ processes
def _reader(pipe: io.TextIOBase, key: tuple[int, str], out: queue.Queue[tuple[int, str, str | None]]) -> None:
    index, name = key
    try:
        for line in pipe:
            out.put((index, name, line.rstrip("\r\n")))
    finally:
        out.put((index, name, None))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # pragma: no cover - already gone
        proc.kill()


@dataclass
class _HostOutput:
    exit_code: int
    lines: list[str]
    stderr_tail: list[str]


def _run_hosts(
    commands: Sequence[Sequence[str]],
    *,
    cwds: Sequence[Path],
    envs: Sequence[Mapping[str, str]],
    labels: Sequence[str] | None,
    timeout: float | None,
    stream: Stream | None,
    log: list[str],
) -> tuple[list[_HostOutput], bool]:
    """Start one process per host (each its own process group), stream every line as it comes (prefixed
    with ``[label]`` when ``labels``), append it to ``log``; kill them all on timeout or on an exception
    (also one raised by ``stream``). Returns each host's output and whether the timeout struck."""
    procs: list[subprocess.Popen[str]] = []
    lines: queue.Queue[tuple[int, str, str | None]] = queue.Queue()
    threads: list[threading.Thread] = []
    outputs = [_HostOutput(0, [], []) for _ in commands]
    tails: list[deque[str]] = [deque(maxlen=STDERR_TAIL_LINES) for _ in commands]
    try:
        for index, command in enumerate(commands):
            proc = subprocess.Popen(
                list(command),
                cwd=cwds[index],
                env=dict(envs[index]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                start_new_session=True,  # its own process group: a kill reaches the toolkit and its children
            )
            procs.append(proc)
            assert proc.stdout is not None and proc.stderr is not None
            for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
                thread = threading.Thread(target=_reader, args=(pipe, (index, name), lines), daemon=True)
                thread.start()
                threads.append(thread)
        deadline = None if timeout is None else time.monotonic() + timeout
        open_pipes = 2 * len(procs)
        timed_out = False
        while open_pipes:
            wait = 0.2
            if deadline is not None and not timed_out:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                index, source, line = lines.get(timeout=wait)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline and not timed_out:
                    timed_out = True
                    for proc in procs:
                        _kill_group(proc)
                continue
            if line is None:
                open_pipes -= 1
                continue
            outputs[index].lines.append(line)
            if source == "stderr":
                tails[index].append(line)
            shown = f"[{labels[index]}] {line}" if labels else line
            log.append(shown)
            if stream is not None:
                stream(shown)
        for index, proc in enumerate(procs):
            outputs[index].exit_code = proc.wait()
    except BaseException:
        for proc in procs:
            _kill_group(proc)
            proc.wait()
        raise
    for thread in threads:
        thread.join(timeout=1)
    for index, tail in enumerate(tails):
        outputs[index].stderr_tail = list(tail)
    return outputs, timed_out


def _script_exit_code(lines: Sequence[str]) -> int | None:
    codes = [int(m.group(1)) for line in lines if (m := _EXIT_CODE_LINE.match(line))]
    return codes[-1] if codes else None


def _script_command(lines: Sequence[str]) -> str | None:
    for index, line in enumerate(lines):
        if line.rstrip().endswith(_INVOKE_MARKER):
            return next((later.strip() for later in lines[index + 1 :] if later.strip()), None)
    return None


# ------------------------------------------------------------------------------------ main entry
def run_training_locally(
    config: PyTorchTrainingConfig,
    data_dir: str | Path,
    *,
    work_dir: str | Path | None = None,
    processes: int | None = None,
    python: str = sys.executable,
    timeout: float | None = None,
    stream: Stream | None = print,
    region: str | None = None,
    skip_requirements: bool = False,
    drop_codeartifact: bool = False,
    checkpoint_dir: str | Path | None = None,
    instance_count: int | None = None,
) -> LocalRunResult:
    """Run the training step of ``config`` on local data through SageMaker's training toolkit, and check
    its contract.

    Args:
        config: the step's config (``source_dir`` must be a local directory).
        data_dir: local directory with ``train/``, ``val/`` and ``test/`` (the ``data`` channel).
        work_dir: the run's ``/opt/ml``; must be new or empty. Default ``None``: a fresh temporary
            directory (kept after the run; see :attr:`LocalRunResult.work_dir`).
        processes: training processes per host. Default ``None``: as the job says (the toolkit starts one
            process, or one per GPU with ``torch_distributed``). ``N`` > 1 (or any ``N`` when the job
            already uses ``torch_distributed``) adds ``sagemaker_torch_distributed_enabled=true`` and
            ``sagemaker_mpi_num_of_processes_per_host=N`` to the hyperparameters, so the toolkit starts
            ``torchrun --nproc_per_node N`` (on CPU: gloo).
        python: interpreter that runs the toolkit and the script (needs ``sagemaker-training``,
            ``sagemaker-pytorch-training`` and torch: ``pip install 'constructs_lib[local]'``).
            Default: this one.
        timeout: seconds before the run is killed. Default ``None`` (no limit).
        stream: called with each log line as it arrives. Default ``print``; ``None`` for silence.
        region: region the step is built for. Default: the config's ``region``, else ``us-east-1``.
        skip_requirements: do not let the toolkit install ``requirements.txt`` (it is left out of the
            tarball the toolkit unpacks; said in :attr:`LocalRunResult.notes`). Default ``False``.
        drop_codeartifact: remove ``CA_REPOSITORY_ARN`` from the job's environment, so the toolkit
            installs ``requirements.txt`` from this machine's pip index instead of fetching a
            CodeArtifact token (said in the notes). Default ``False``: such a job is refused.
        checkpoint_dir: a directory kept across runs that stands for the job's checkpoint S3 location:
            the container's checkpoint directory (``CheckpointConfig.LocalPath``, default
            ``/opt/ml/checkpoints``) links to it, so a second run resumes where the first stopped.
            Default ``None``: the checkpoint directory exists (empty) only when the job has a
            ``CheckpointConfig``.
        instance_count: hosts to run. Default ``None``: the job's ``ResourceConfig.InstanceCount`` (at
            most :data:`MAX_LOCAL_HOSTS`).

    Returns:
        A :class:`LocalRunResult`; a failing script is a result with a non-zero ``exit_code`` (call
        :meth:`LocalRunResult.raise_for_failure` to turn it into an exception).

    Raises:
        ConfigError: before anything runs: ``source_dir`` is an S3 URI, the packing fails (entry point
            missing, symlink outside, too big...), ``data_dir`` lacks ``train/``, ``val/`` or ``test/``
            or their files, ``work_dir`` is not empty, an argument is out of range, or the job would
            need CodeArtifact (``CA_REPOSITORY_ARN`` with a ``requirements.txt``).
        SynthError: the step could not be built.
        LocalRunError: ``python`` lacks the toolkit or torch, or the job's arguments hold a value only a
            running pipeline can resolve.
    """
    if processes is not None and (
        isinstance(processes, bool) or not isinstance(processes, int) or processes < 1
    ):
        raise ConfigError(
            "must be an integer >= 1, or None for the job's own", field="processes", value=processes
        )
    if instance_count is not None and (
        isinstance(instance_count, bool) or not isinstance(instance_count, int) or instance_count < 1
    ):
        raise ConfigError(
            "must be an integer >= 1, or None for the job's own", field="instance_count", value=instance_count
        )
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
    arguments, tarball = _job_arguments(config, region or config.region or DEFAULT_REGION)

    notes: list[str] = []
    hyperparameters = _literal_strings(arguments.get("HyperParameters", {}), "HyperParameters")
    _apply_processes(hyperparameters, processes, notes)
    job_env = _literal_strings(arguments.get("Environment", {}), "Environment")
    has_requirements = _has_requirements(tarball)
    _apply_codeartifact(job_env, has_requirements, skip_requirements, drop_codeartifact, notes)
    submitted = tarball
    if has_requirements and skip_requirements:
        submitted = _without_requirements(tarball)
        notes.append(
            "requirements.txt not installed (skip_requirements=True): it is left out of the code the "
            f"toolkit unpacks; {python} must already have those packages"
        )
    hosts = _hosts(arguments, config, instance_count, notes)
    input_data_config = _input_data_config(arguments)
    container_checkpoints = _container_checkpoints(arguments, checkpoint_dir)
    kept_checkpoints = None if checkpoint_dir is None else Path(checkpoint_dir).resolve()
    if kept_checkpoints is not None:
        notes.append(f"checkpoints: {container_checkpoints} is {kept_checkpoints} (kept across runs)")

    python = _check_toolkit(python)
    work = _prepare_work_dir(work_dir)
    if kept_checkpoints is not None:
        kept_checkpoints.mkdir(parents=True, exist_ok=True)
    source_tar = work / "sourcedir.tar.gz"
    source_tar.write_bytes(tarball)
    submit_tar = source_tar
    if submitted is not tarball:
        submit_tar = work / "sourcedir-without-requirements.tar.gz"
        submit_tar.write_bytes(submitted)
    hyperparameters["sagemaker_submit_directory"] = json.dumps(str(submit_tar))

    count = len(hosts)
    bases = [work] if count == 1 else [work / f"algo-{k}" for k in range(1, count + 1)]
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_INHERITED_PREFIXES) and key not in _INHERITED_NAMES
    }
    torchrun_port = str(_free_port()) if count == 1 else None
    instance_type = str(
        arguments.get("ResourceConfig", {}).get("InstanceType", config.training_instance_type)
    )
    envs: list[dict[str, str]] = []
    for base, host in zip(bases, hosts, strict=True):
        _write_host_tree(
            base,
            data=data,
            checkpoints=(container_checkpoints, kept_checkpoints),
            hyperparameters=hyperparameters,
            input_data_config=input_data_config,
            resource_config=_resource_config(host, hosts, instance_type),
        )
        envs.append(_host_env(inherited, base, job_env, python, torchrun_port))
    if count > 1:
        notes.append(
            f"{count} hosts {', '.join(hosts)} (SageMaker's algo-1 ... algo-{count}), "
            f"one toolkit each, under {work}/algo-<k>"
        )

    log: list[str] = []
    for note in notes:
        line = f"local-run: {note}"
        log.append(line)
        if stream is not None:
            stream(line)
    command = [python, "-m", "sagemaker_training.cli.train"]
    outputs, timed_out = _run_hosts(
        [command] * count,
        cwds=bases,
        envs=envs,
        labels=None if count == 1 else [f"algo-{k}" for k in range(1, count + 1)],
        timeout=timeout,
        stream=stream,
        log=log,
    )
    return _result(
        arguments,
        outputs,
        bases,
        timed_out=timed_out,
        work=work,
        log=log,
        command=command,
        hosts=hosts,
        notes=notes,
        python=python,
    )


# ------------------------------------------------------------------------------------ phases
def _literal_strings(values: Mapping[str, object], what: str) -> dict[str, str]:
    """``values`` (the job's HyperParameters or Environment) when every value is a plain string."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise LocalRunError(
                "value is a pipeline expression a local run cannot resolve",
                field=f"{what}.{key}",
                value=value,
                hint="give it a literal value",
            )
        out[key] = value
    return out


def _apply_processes(hyperparameters: dict[str, str], processes: int | None, notes: list[str]) -> None:
    """``processes`` as the toolkit reads it: torch_distributed with N processes per host."""
    if processes is None:
        return
    distributed = hyperparameters.get("sagemaker_torch_distributed_enabled") == "true"
    if processes > 1 or distributed:
        hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
        hyperparameters["sagemaker_mpi_num_of_processes_per_host"] = json.dumps(processes)
        notes.append(
            f"processes={processes}: sagemaker_torch_distributed_enabled=true and "
            f"sagemaker_mpi_num_of_processes_per_host={processes} added to the hyperparameters"
        )


def _apply_codeartifact(
    job_env: dict[str, str], has_requirements: bool, skip: bool, drop: bool, notes: list[str]
) -> None:
    """Drop ``CA_REPOSITORY_ARN`` when asked; refuse a job whose toolkit would need a CodeArtifact token."""
    if CA_REPOSITORY_ARN_ENV not in job_env:
        return
    if drop:
        del job_env[CA_REPOSITORY_ARN_ENV]
        notes.append(
            f"{CA_REPOSITORY_ARN_ENV} dropped from the job's environment (drop_codeartifact=True): "
            "requirements.txt comes from this machine's pip index"
        )
    elif has_requirements and not skip:
        raise ConfigError(
            "the job's environment sets it, so SageMaker's training toolkit would fetch a CodeArtifact "
            "token (codeartifact:GetAuthorizationToken) to install requirements.txt from that "
            "repository; a local run has no AWS account to do that",
            field=f"env.{CA_REPOSITORY_ARN_ENV}",
            value=job_env[CA_REPOSITORY_ARN_ENV],
            hint="pass drop_codeartifact=True (--drop-codeartifact) to install requirements.txt from "
            "this machine's pip index, or skip_requirements=True (--skip-requirements) when this "
            "interpreter already has the packages",
        )


def _hosts(
    arguments: Mapping[str, Any], config: PyTorchTrainingConfig, instance_count: int | None, notes: list[str]
) -> list[str]:
    job_hosts = int(arguments.get("ResourceConfig", {}).get("InstanceCount", config.training_instance_count))
    count = instance_count or job_hosts
    if instance_count is not None and instance_count != job_hosts:
        notes.append(f"instance_count={instance_count} instead of the job's {job_hosts}")
    if count > MAX_LOCAL_HOSTS:
        raise ConfigError(
            f"{count} instances would start {count} local hosts; a local run starts at most {MAX_LOCAL_HOSTS}",
            field="training_instance_count",
            value=count,
            hint=f"pass instance_count=1 (--instance-count 1), or a count up to {MAX_LOCAL_HOSTS}, for the "
            "local run",
        )
    return local_host_names(count)


def _input_data_config(arguments: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``inputdataconfig.json`` as SageMaker writes it for the job's (single) channel."""
    channels = arguments.get("InputDataConfig", [])
    names = [c.get("ChannelName") for c in channels]
    if names and names != [CHANNEL]:
        raise LocalRunError(
            f"the job has input channels {names}; a local run feeds data_dir to the {CHANNEL!r} channel only",
            field="InputDataConfig",
            value=names,
        )
    channel = channels[0] if channels else {}
    source = channel.get("DataSource", {}).get("S3DataSource", {})
    entry = {
        "TrainingInputMode": str(
            channel.get("InputMode")
            or arguments.get("AlgorithmSpecification", {}).get("TrainingInputMode", "File")
        ),
        "S3DistributionType": str(source.get("S3DataDistributionType", "FullyReplicated")),
        "RecordWrapperType": str(channel.get("RecordWrapperType", "None")),
    }
    if channel.get("ContentType"):
        entry["ContentType"] = str(channel["ContentType"])
    return {CHANNEL: entry}


def _container_checkpoints(arguments: Mapping[str, Any], checkpoint_dir: str | Path | None) -> str | None:
    """The container's checkpoint directory: the job's ``CheckpointConfig.LocalPath`` (default
    ``/opt/ml/checkpoints``), that default with ``checkpoint_dir``, else ``None``."""
    checkpoint_config = arguments.get("CheckpointConfig")
    path: str | None = None
    if isinstance(checkpoint_config, Mapping):
        path = str(checkpoint_config.get("LocalPath") or DEFAULT_CHECKPOINT_PATH)
    elif checkpoint_dir is not None:
        path = DEFAULT_CHECKPOINT_PATH
    if path is not None and not _is_container_path(path):
        raise LocalRunError(
            f"a local run maps only paths under {CONTAINER_ROOT}/ into its work directory",
            field="CheckpointConfig.LocalPath",
            value=path,
            hint=f"use a LocalPath under {CONTAINER_ROOT}/ (default {DEFAULT_CHECKPOINT_PATH})",
        )
    return path


def _resource_config(host: str, hosts: list[str], instance_type: str) -> dict[str, object]:
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": _INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": _INSTANCE_GROUP, "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": _NETWORK_INTERFACE,
    }


def _write_host_tree(
    base: Path,
    *,
    data: Path,
    checkpoints: tuple[str | None, Path | None],
    hyperparameters: Mapping[str, str],
    input_data_config: Mapping[str, object],
    resource_config: Mapping[str, object],
) -> None:
    """One host's ``/opt/ml`` at ``base``, as SageMaker prepares it before the container starts."""
    contract = PYTORCH_TRAINING_CONTRACT
    for directory in (
        _container_path(base, contract.config_paths["hyperparameters"]).parent,
        _container_path(base, contract.expected_output_paths["model_artifacts"]),
        _container_path(base, contract.expected_output_paths["output_path"]),
    ):
        directory.mkdir(parents=True, exist_ok=True)
    _link_or_copy(data, _container_path(base, contract.expected_input_paths["input_path"]))
    container_checkpoints, kept = checkpoints
    if container_checkpoints is not None:
        local = _container_path(base, container_checkpoints)
        if kept is not None:
            _link_or_copy(kept, local)
        else:
            local.mkdir(parents=True, exist_ok=True)
    _write_json(_container_path(base, contract.config_paths["hyperparameters"]), hyperparameters)
    _write_json(_container_path(base, contract.config_paths["input_data_config"]), input_data_config)
    _write_json(_container_path(base, contract.config_paths["resource_config"]), resource_config)


def _host_env(
    inherited: Mapping[str, str],
    base: Path,
    job_env: Mapping[str, str],
    python: str,
    torchrun_port: str | None,
) -> dict[str, str]:
    """The container's environment for one host (see the module docstring for what differs)."""
    env = dict(inherited)
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(
        {
            key: str(_container_path(base, value)) if _is_container_path(value) else value
            for key, value in job_env.items()
        }
    )
    env.update(_IMAGE_ENV)
    env["SAGEMAKER_TRAINING_MODULE"] = TRAINING_MODULE
    env["SAGEMAKER_BASE_DIR"] = str(base)
    env["PATH"] = str(Path(python).parent) + os.pathsep + env.get("PATH", os.defpath)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    if torchrun_port is not None:
        env["PET_MASTER_PORT"] = torchrun_port
    return env


def _result(
    arguments: Mapping[str, Any],
    outputs: Sequence[_HostOutput],
    bases: Sequence[Path],
    *,
    timed_out: bool,
    work: Path,
    log: list[str],
    command: list[str],
    hosts: list[str],
    notes: list[str],
    python: str,
) -> LocalRunResult:
    """What SageMaker adds around the container: metrics from the log, model.tar.gz, the contract."""
    contract = PYTORCH_TRAINING_CONTRACT
    first = outputs[0]
    failing = next((index for index, out in enumerate(outputs) if out.exit_code != 0), None)
    reported = outputs[failing] if failing is not None else first
    reported_base = bases[failing] if failing is not None else bases[0]
    exit_code = reported.exit_code
    definitions = list(arguments.get("AlgorithmSpecification", {}).get("MetricDefinitions", []))
    metrics = extract_metrics(first.lines, definitions)
    model_dir = _container_path(bases[0], contract.expected_output_paths["model_artifacts"])
    output_data_dir = _container_path(bases[0], contract.expected_output_paths["output_path"])
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
            model_tar = output_data_dir.parent / "model.tar.gz"
            model_tar.write_bytes(packed)
        silent = [name for name, values in metrics.items() if not values]
        if silent:
            failures.append(
                "no log line matched the job's metric definitions for: "
                + ", ".join(silent)
                + f" (print e.g. '{silent[0]}: 0.5' once per epoch)"
            )
    failure_file = (
        _container_path(reported_base, contract.expected_output_paths["output_path"]).parent / "failure"
    )
    failure_reason = failure_file.read_text(encoding="utf-8").strip() if failure_file.is_file() else None
    return LocalRunResult(
        exit_code=exit_code,
        metrics=metrics,
        model_dir=model_dir,
        model_tar=model_tar,
        output_data_dir=output_data_dir,
        work_dir=work,
        log=log,
        stderr_tail=reported.stderr_tail,
        contract_failures=failures,
        command=command,
        timed_out=timed_out,
        failure_reason=failure_reason or None,
        script_exit_code=_script_exit_code(reported.lines) if exit_code != 0 else None,
        script_command=_script_command(first.lines),
        hosts=hosts,
        notes=notes,
        python=python,
    )
