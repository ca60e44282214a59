"""``local-run`` and ``demo-data``: the local subcommands of the ``constructs-lib`` command line.

:func:`add_local_subcommands` registers both on an ``argparse`` sub-parser set; each sets
``func`` (``Callable[[argparse.Namespace], int]``) through ``set_defaults``, so the main program runs
``return args.func(args)``. Exit statuses: 0 success, 1 the training run failed (non-zero exit or a
broken contract), 2 a usage or configuration error (one line on stderr: ``error.one_line()``).

``python -m constructs_lib.local.cli local-run ...`` works on its own as well.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from constructs_lib.config.hyperparameters import reference_hyperparameters_class
from constructs_lib.config.training_pytorch import PyTorchTrainingConfig
from constructs_lib.errors import ConfigError, ConstructsLibError
from constructs_lib.local.runner import MAX_LOCAL_HOSTS

__all__ = [
    "DEFAULT_FRAMEWORK_VERSION",
    "DEFAULT_INSTANCE_TYPE",
    "DEFAULT_PY_VERSION",
    "add_local_subcommands",
    "cmd_demo_data",
    "cmd_local_run",
    "config_from_args",
    "main",
]

#: PyTorch image version of ``local-run`` without ``--config``.
DEFAULT_FRAMEWORK_VERSION = "2.3.0"
#: Python version of ``local-run`` without ``--config``.
DEFAULT_PY_VERSION = "py311"
#: Instance type of ``local-run`` without ``--config`` (a CPU instance: one process, no launcher).
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"

_CONFIG_EXCLUSIVE = (
    "source_dir",
    "framework_version",
    "py_version",
    "instance_type",
    "hyperparameters",
    "entry_point",
)


def add_local_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``local-run`` and ``demo-data`` on ``subparsers`` (from ``parser.add_subparsers()``)."""
    run = subparsers.add_parser(
        "local-run",
        help="run the PyTorch training step on this machine through SageMaker's training toolkit",
        description=(
            "Pack the source directory as the pipeline ships it, build the training job's arguments "
            "(hyperparameters, environment, metric definitions) exactly as in the pipeline definition, "
            "write the /opt/ml tree SageMaker writes (under a work directory), start SageMaker's own "
            "training toolkit on it (pip install 'constructs_lib[local]') against a local data directory, "
            "and report the metrics the pipeline's regexes capture. Exit 0: success; 1: the run failed "
            "or broke the contract; 2: bad arguments or config."
        ),
    )
    run.add_argument(
        "--data-dir", required=True, type=Path, help="directory with train/, val/ and test/ (required)"
    )
    run.add_argument(
        "--source-dir",
        default=None,
        help="training code directory (default: the reference scripts shipped with constructs_lib)",
    )
    run.add_argument("--entry-point", default=None, help="script inside --source-dir (default: train.py)")
    run.add_argument(
        "--framework-version", default=None, help=f"PyTorch version (default: {DEFAULT_FRAMEWORK_VERSION})"
    )
    run.add_argument("--py-version", default=None, help=f"Python version (default: {DEFAULT_PY_VERSION})")
    run.add_argument(
        "--instance-type",
        default=None,
        help=f"SageMaker training instance type (default: {DEFAULT_INSTANCE_TYPE})",
    )
    run.add_argument(
        "--hyperparameters",
        default=None,
        type=Path,
        metavar="JSON_FILE",
        help="ModelHyperparameters as a JSON object of plain values; with one of hidden_dims, dropout, "
        "embedding_dim, seed: TabularClassifierHyperparameters (default: the demo hyperparameters)",
    )
    run.add_argument(
        "--config",
        default=None,
        type=Path,
        metavar="JSON_FILE",
        help="a whole PyTorchTrainingConfig as JSON, instead of the five options above",
    )
    run.add_argument(
        "--template",
        default=None,
        metavar="MODULE:ATTR",
        help="a PipelineBuilderTemplate (or a function returning one): run one of its training nodes, "
        "instead of --config or the five options above",
    )
    run.add_argument(
        "--node",
        default=None,
        help="the template's node to run (its config must be a PyTorchTrainingConfig; default: the "
        "template's only training node)",
    )
    run.add_argument(
        "--processes",
        type=int,
        default=None,
        help="training processes per host: N turns on SageMaker's torch_distributed launcher with N "
        "processes (gloo on CPU) (default: as the job says)",
    )
    run.add_argument(
        "--instance-count",
        type=int,
        default=None,
        help="local hosts to run (default: the job's instance count, at most "
        f"{MAX_LOCAL_HOSTS}; each host is one toolkit with its own /opt/ml tree)",
    )
    run.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="new or empty directory for the run (default: a temporary one)",
    )
    run.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="directory kept across runs that stands for the job's checkpoint S3 location (the "
        "container's /opt/ml/checkpoints links to it; a second run resumes) (default: none)",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment variable of the job (repeatable; added to the config's env)",
    )
    run.add_argument(
        "--skip-requirements",
        action="store_true",
        help="do not let the toolkit install requirements.txt (the local Python must already have the "
        "packages)",
    )
    run.add_argument(
        "--drop-codeartifact",
        action="store_true",
        help="remove CA_REPOSITORY_ARN from the job's environment for this run, so requirements.txt is "
        "installed from this machine's pip index (a local run cannot get a CodeArtifact token)",
    )
    run.add_argument(
        "--python",
        default=None,
        help="interpreter that runs the toolkit and the script (default: this one)",
    )
    run.add_argument(
        "--timeout", type=float, default=None, help="seconds before the run is killed (default: none)"
    )
    run.set_defaults(func=cmd_local_run)

    demo = subparsers.add_parser(
        "demo-data",
        help="write a small synthetic train/val/test table for local-run",
        description="Write the demo table (customer_id, target, feature1, feature2, feature3) as train/, "
        "val/ and test/ under --out. The same seed always gives the same files.",
    )
    demo.add_argument("--out", required=True, type=Path, help="output directory (required)")
    demo.add_argument("--rows", type=int, default=2000, help="total rows, >= 20 (default: 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="file format (default: csv)"
    )
    demo.set_defaults(func=cmd_demo_data)


def _read_json_object(path: Path, option: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror or exc}", field=option, value=str(path)
        ) from None
    except ValueError as exc:
        raise ConfigError(f"not valid JSON: {exc}", field=option, value=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("must hold a JSON object", field=option, value=str(path))
    return data


def _parse_env(items: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                "expected KEY=VALUE", field="--env", value=item, hint="e.g. --env LOG_LEVEL=debug"
            )
        env[key] = value
    return env


def _training_node(args: argparse.Namespace) -> tuple[PyTorchTrainingConfig, str | None]:
    """The config of ``--node`` of ``--template`` and the template's region."""
    from constructs_lib.loader import load_template

    template = load_template(args.template)
    config_map: Mapping[str, object] = template.config_map
    training = [name for name, cfg in config_map.items() if isinstance(cfg, PyTorchTrainingConfig)]
    node = args.node
    if node is None:
        if len(training) != 1:
            raise ConfigError(
                f"the template has {len(training)} training nodes"
                + (f" ({', '.join(training)})" if training else ""),
                field="--node",
                hint="name the node to run with --node"
                if training
                else "local-run runs a node whose config is a PyTorchTrainingConfig",
            )
        node = training[0]
    if node not in config_map:
        raise ConfigError(
            "no such node in the template",
            field="--node",
            value=node,
            hint=f"the template's nodes: {', '.join(config_map)}",
        )
    config = config_map[node]
    if not isinstance(config, PyTorchTrainingConfig):
        raise ConfigError(
            f"node {node!r} has a {type(config).__name__}, not a PyTorchTrainingConfig",
            field="--node",
            value=node,
            hint="local-run runs training nodes"
            + (f": {', '.join(training)}" if training else "; this template has none"),
        )
    extra_env = _parse_env(args.env)
    if extra_env:
        config = config.model_copy(update={"env": {**config.env, **extra_env}})
    region = getattr(template, "region", None)
    return config, region if isinstance(region, str) else None


def config_from_args(args: argparse.Namespace) -> PyTorchTrainingConfig:
    """The :class:`PyTorchTrainingConfig` that ``local-run``'s options describe."""
    return _config_and_region(args)[0]


def _config_and_region(args: argparse.Namespace) -> tuple[PyTorchTrainingConfig, str | None]:
    from constructs_lib.local.demo_data import demo_hyperparameters
    from constructs_lib.local.runner import reference_source_dir

    given = [name for name in _CONFIG_EXCLUSIVE if getattr(args, name, None) is not None]
    if getattr(args, "template", None) is not None:
        if given or args.config is not None:
            flags = ", ".join(
                "--" + name.replace("_", "-") for name in [*given, *(["config"] if args.config else [])]
            )
            raise ConfigError(
                f"cannot be combined with {flags}",
                field="--template",
                value=args.template,
                hint="the template's node carries the whole config",
            )
        return _training_node(args)
    if getattr(args, "node", None) is not None:
        raise ConfigError("needs --template", field="--node", value=args.node)
    extra_env = _parse_env(args.env)
    if args.config is not None:
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ConfigError(
                f"cannot be combined with {flags}",
                field="--config",
                value=str(args.config),
                hint="put those values into the config file, or drop --config",
            )
        data = _read_json_object(args.config, "--config")
        if extra_env:
            env = dict(data.get("env") or {})
            env.update(extra_env)
            data["env"] = env
        hp_class = reference_hyperparameters_class(data.get("hyperparameters"))
        return PyTorchTrainingConfig[hp_class].model_validate(data), None  # type: ignore[valid-type]
    if args.hyperparameters is not None:
        values = _read_json_object(args.hyperparameters, "--hyperparameters")
        hyperparameters = reference_hyperparameters_class(values).model_validate(values)
    else:
        hyperparameters = demo_hyperparameters()
    return (
        PyTorchTrainingConfig(
            training_instance_type=args.instance_type or DEFAULT_INSTANCE_TYPE,
            training_entry_point=args.entry_point or "train.py",
            source_dir=str(args.source_dir or reference_source_dir()),
            framework_version=args.framework_version or DEFAULT_FRAMEWORK_VERSION,
            py_version=args.py_version or DEFAULT_PY_VERSION,
            hyperparameters=hyperparameters,
            env=extra_env,
        ),
        None,
    )


def cmd_local_run(args: argparse.Namespace) -> int:
    """``local-run``: returns 0 on success, 1 when the run failed, 2 on a usage/config error."""
    from constructs_lib.local.runner import run_training_locally

    try:
        config, region = _config_and_region(args)
        result = run_training_locally(
            config,
            args.data_dir,
            work_dir=args.work_dir,
            processes=args.processes,
            python=args.python or sys.executable,
            timeout=args.timeout,
            stream=print,
            region=region,
            skip_requirements=args.skip_requirements,
            drop_codeartifact=args.drop_codeartifact,
            checkpoint_dir=args.checkpoint_dir,
            instance_count=args.instance_count,
        )
    except ConstructsLibError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 2
    print(f"local-run: work dir {result.work_dir}")
    for name, values in result.metrics.items():
        last = f"last {values[-1]:.6g}" if values else "never matched"
        print(f"local-run: metric {name!r}: {len(values)} values, {last}")
    if result.model_tar is not None:
        print(f"local-run: model {result.model_tar}")
    reason = result.describe_failure()
    if reason is not None:
        print(f"LocalRunError: {reason}", file=sys.stderr)
        return 1
    print("local-run: succeeded")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    """``demo-data``: write the demo table; returns 0, or 2 on a bad option."""
    from constructs_lib.local.demo_data import write_demo_dataset

    try:
        out = write_demo_dataset(args.out, rows=args.rows, seed=args.seed, fmt=args.format)
    except ConstructsLibError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 2
    print(f"demo-data: wrote train/, val/ and test/ ({args.rows} rows, {args.format}) under {out}")
    print(f"demo-data: next: constructs-lib local-run --data-dir {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m constructs_lib.local.cli {local-run,demo-data} ...``."""
    parser = argparse.ArgumentParser(prog="constructs-lib", description="constructs_lib local tools")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_local_subcommands(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
