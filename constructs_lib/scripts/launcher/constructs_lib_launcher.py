"""constructs_lib's launcher: SageMaker's entry point (``sagemaker_program``) in front of a training script.

The training step uses it when it must (a) pack inference code into the model, and/or (b) decide at run
time whether to start the script distributed. Standard library only; Python 3.9+; it does not import
constructs_lib (it runs inside SageMaker's training containers).

Environment:

``CONSTRUCTS_LIB_ENTRY_POINT`` (required)
    The user's script, relative to the code directory (the directory of this file, which SageMaker's
    toolkit also makes the working directory), e.g. ``train.py``.
``CONSTRUCTS_LIB_INFERENCE_CODE`` (optional)
    A directory relative to the code directory. After the script succeeds, its files (sub-directories
    included, ``__pycache__`` skipped) are copied into ``$SM_MODEL_DIR/code/``, where SageMaker's PyTorch
    serving container looks for the handler, so ``model.tar.gz`` carries its own inference code.
``CONSTRUCTS_LIB_DISTRIBUTION`` (optional)
    ``runtime``: when ``SM_NUM_GPUS`` >= 1 and ``SM_NUM_GPUS`` x (number of ``SM_HOSTS``) > 1, start the
    script as ``python -m torch.distributed.run --nnodes <hosts> --nproc_per_node <SM_NUM_GPUS>
    --node_rank <index of SM_CURRENT_HOST in SM_HOSTS> --master_addr <first host> --master_port 7777
    <script> <args>``; otherwise run it directly. Unset: run it directly (SageMaker's own
    ``torch_distributed`` launcher may already wrap this launcher: then every rank runs it, and only the
    rank with ``LOCAL_RANK`` 0 on each host copies the inference code).

The script's arguments are built from ``SM_HPS`` (the job's hyperparameters, as SageMaker's toolkit
exports them) exactly as the toolkit's ``sagemaker_training.mapping.to_cmd_args`` builds them: sorted
keys, ``--key`` (``-k`` for a one-character key), then ``str()`` of the value (``None`` -> ``""``, a
mapping -> ``k1=v1,k2=v2`` sorted by key). This launcher's own command line is ignored: toolkits up to
5.1.2 pass it through ``/bin/sh``, which splits list values. The script runs as a child process without
a shell; SIGTERM and SIGINT are forwarded to it; the launcher exits with the child's status (128 + the
signal number when a signal ended it). A launcher configuration error prints one line
``constructs_lib_launcher: error: ...`` to stderr (and to ``$SM_OUTPUT_DIR/failure``, SageMaker's
failure reason) and exits with status 2 before anything runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TextIO

ENTRY_POINT_ENV = "CONSTRUCTS_LIB_ENTRY_POINT"
INFERENCE_CODE_ENV = "CONSTRUCTS_LIB_INFERENCE_CODE"
DISTRIBUTION_ENV = "CONSTRUCTS_LIB_DISTRIBUTION"
DISTRIBUTION_MODES = ("runtime",)
#: The port SageMaker's own torch_distributed launcher uses.
MASTER_PORT = "7777"
_PROG = "constructs_lib_launcher"
_SKIPPED = ("__pycache__",)


class LauncherError(Exception):
    """A configuration error: reported as one line, exit status 2."""


def to_cmd_args(hyperparameters: Mapping[str, object]) -> list[str]:
    """The script's argv, as ``sagemaker_training.mapping.to_cmd_args`` builds it (see the docstring)."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        name = _decode(key)
        args.append((f"--{name}" if len(name) > 1 else f"-{name}") if name else "")
        value = hyperparameters[key]
        if hasattr(value, "items"):
            items = value.items()
            args.append(",".join(f"{k}={v}" for k, v in sorted(items)))
        else:
            args.append(_decode(value))
    return args


def _decode(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)


def _code_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def _inside(root: str, relative: str, what: str) -> str:
    if not relative or os.path.isabs(relative):
        raise LauncherError(f"{what}={relative!r} must be a path relative to the code directory {root}")
    path = os.path.realpath(os.path.join(root, relative))
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, path]) != real_root:
        raise LauncherError(f"{what}={relative!r} points outside the code directory {root}")
    return path


def _hosts(environ: Mapping[str, str]) -> list[str]:
    text = environ.get("SM_HOSTS", "")
    if not text:
        return []
    try:
        hosts = json.loads(text)
    except ValueError:
        raise LauncherError(f"SM_HOSTS={text!r} is not a JSON list of host names") from None
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise LauncherError(f"SM_HOSTS={text!r} is not a JSON list of host names")
    return hosts


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise LauncherError(f"{name}={text!r} is not an integer") from None


def build_command(environ: Mapping[str, str], python: str = sys.executable) -> tuple[list[str], str | None]:
    """``(command, inference code directory or None)`` for this environment; raises LauncherError."""
    root = _code_dir()
    entry = environ.get(ENTRY_POINT_ENV, "")
    if not entry:
        raise LauncherError(
            f"{ENTRY_POINT_ENV} is not set: it names the training script to run, relative to the code "
            f"directory (e.g. train.py)"
        )
    script = _inside(root, entry, ENTRY_POINT_ENV)
    if not os.path.isfile(script):
        raise LauncherError(f"{ENTRY_POINT_ENV}={entry!r}: no such file in the code directory {root}")
    inference = environ.get(INFERENCE_CODE_ENV, "")
    inference_dir = None
    if inference:
        inference_dir = _inside(root, inference, INFERENCE_CODE_ENV)
        if not os.path.isdir(inference_dir):
            raise LauncherError(f"{INFERENCE_CODE_ENV}={inference!r}: no such directory in {root}")
    mode = environ.get(DISTRIBUTION_ENV, "")
    if mode and mode not in DISTRIBUTION_MODES:
        raise LauncherError(f"{DISTRIBUTION_ENV}={mode!r} is not supported; use 'runtime' or leave it unset")
    hps_text = environ.get("SM_HPS", "")
    hyperparameters: dict[str, object] = {}
    if hps_text:
        try:
            decoded = json.loads(hps_text)
        except ValueError:
            raise LauncherError("SM_HPS is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise LauncherError("SM_HPS must hold a JSON object")
        hyperparameters = decoded
    args = to_cmd_args(hyperparameters)
    relative = os.path.relpath(script, root)
    command = [python, relative, *args]
    if mode == "runtime":
        gpus = _int_env(environ, "SM_NUM_GPUS", 0)
        hosts = _hosts(environ) or [environ.get("SM_CURRENT_HOST", "localhost")]
        current = environ.get("SM_CURRENT_HOST", hosts[0])
        if current not in hosts:
            raise LauncherError(f"SM_CURRENT_HOST={current!r} is not one of SM_HOSTS {hosts}")
        if gpus >= 1 and gpus * len(hosts) > 1:
            command = [
                python,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                str(len(hosts)),
                "--nproc_per_node",
                str(gpus),
                "--node_rank",
                str(hosts.index(current)),
                "--master_addr",
                hosts[0],
                "--master_port",
                MASTER_PORT,
                relative,
                *args,
            ]
    return command, inference_dir


def copy_inference_code(source: str, model_dir: str) -> list[str]:
    """Copy the files under ``source`` into ``model_dir/code`` (existing files are replaced); returns the
    copied paths relative to ``source``, sorted."""
    target_root = os.path.join(model_dir, "code")
    copied: list[str] = []
    for directory, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        rel_dir = os.path.relpath(directory, source)
        target_dir = target_root if rel_dir == "." else os.path.join(target_root, rel_dir)
        os.makedirs(target_dir, exist_ok=True)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            shutil.copy2(os.path.join(directory, name), os.path.join(target_dir, name))
            copied.append(name if rel_dir == "." else os.path.join(rel_dir, name))
    return sorted(copied)


def _say(text: str, stream: TextIO | None = None) -> None:
    """Write ``text`` and its newline with one ``write`` call on the stream's file descriptor.

    The processes of a distributed job (one per rank) share one stdout; ``print`` writes the newline
    separately, so two ranks' lines could run together. One ``write`` of at most ``PIPE_BUF`` (4096)
    bytes to a pipe is atomic."""
    out = sys.stdout if stream is None else stream
    out.flush()
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        out.write(text + "\n")
        out.flush()
        return
    os.write(fd, (text + "\n").encode("utf-8", "backslashreplace"))


def _report(message: str, environ: Mapping[str, str]) -> None:
    line = " ".join(message.split())
    _say(f"{_PROG}: error: {line}", sys.stderr)
    if environ.get("RANK", "0") in ("", "0"):
        output_dir = environ.get("SM_OUTPUT_DIR", "")
        if output_dir and os.path.isdir(output_dir):
            try:
                with open(os.path.join(output_dir, "failure"), "w", encoding="utf-8") as handle:
                    handle.write(line + "\n")
            except OSError:
                pass


def _run(command: Sequence[str], cwd: str) -> int:
    """Run ``command`` (no shell), forwarding SIGTERM/SIGINT; returns its exit status (128 + signal)."""
    child = subprocess.Popen(list(command), cwd=cwd)
    forwarded = (signal.SIGTERM, signal.SIGINT)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    try:
        while True:
            try:
                status = child.wait()
                break
            except InterruptedError:  # pragma: no cover - wait() retries on EINTR since Python 3.5
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the configured script (see the module docstring); returns the exit status."""
    env = os.environ if environ is None else environ
    try:
        command, inference_dir = build_command(env)
    except LauncherError as exc:
        _report(str(exc), env)
        return 2
    _say(f"{_PROG}: running {json.dumps(command)}")
    status = _run(command, _code_dir())
    if status != 0:
        return status
    if inference_dir is not None and env.get("LOCAL_RANK", "0") in ("", "0"):
        model_dir = env.get("SM_MODEL_DIR", "/opt/ml/model")
        copied = copy_inference_code(inference_dir, model_dir)
        _say(
            f"{_PROG}: copied the inference code ({', '.join(copied) or 'no files'}) into "
            f"{os.path.join(model_dir, 'code')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
