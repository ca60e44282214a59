"""Command line: ``python -m constructs_lib <command>`` (also installed as ``constructs-lib``).

Commands:
    graph        show how each edge of a pipeline is resolved and why, and/or its Mermaid diagram
    definition   print a pipeline's canonical definition JSON (offline)
    local-run    run the training step on this machine as SageMaker would (no Docker, no AWS)
    demo-data    write a small synthetic train/val/test dataset for local-run

A library error prints one line (``ConfigError: ...``) on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from constructs_lib.errors import ConfigError, ConstructsLibError

__all__ = ["load_template", "main"]


def load_template(ref: str | None) -> Any:
    """``module:attr`` -> a ``PipelineBuilderTemplate`` (``attr`` may be a template or a zero-argument
    callable returning one). ``None`` -> the seed's example DAG."""
    from constructs_lib.template import PipelineBuilderTemplate

    if ref is None:
        from constructs_lib import examples

        factory: Any = getattr(examples, "seed_dag_template", None)
        if factory is None:
            from constructs_lib.template import PipelineBuilderTemplate as _T

            return _T.single_step(examples.seed_training_config(), region="us-east-1")
        return factory()
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(
            "expected MODULE:ATTR", field="--template", value=ref, hint="e.g. my_pipelines:template"
        )
    try:
        obj: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load it: {exc}", field="--template", value=ref) from None
    if callable(obj) and not isinstance(obj, PipelineBuilderTemplate):
        obj = obj()
    if not isinstance(obj, PipelineBuilderTemplate):
        raise ConfigError(
            "not a PipelineBuilderTemplate",
            field="--template",
            value=type(obj).__name__,
            hint="point at a template",
        )
    return obj


def _graph(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    if args.format in ("explain", "both"):
        print("# How each input is wired\n")
        print(template.explain(args.name), end="")
    if args.format == "both":
        print()
    if args.format in ("mermaid", "both"):
        fence = args.format == "both"
        if fence:
            print("```mermaid")
        print(template.to_mermaid(args.name), end="")
        if fence:
            print("```")
    return 0


def _definition(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    built = template.build(args.name)
    print(built.definition_json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(prog="constructs-lib", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    graph = sub.add_parser("graph", help="explain the wiring and/or render the DAG as Mermaid")
    graph.add_argument(
        "--template", help="MODULE:ATTR of a PipelineBuilderTemplate (default: the seed's DAG)"
    )
    graph.add_argument("--name", default="my-pipeline", help="pipeline name (default: my-pipeline)")
    graph.add_argument("--format", choices=("explain", "mermaid", "both"), default="both")
    graph.set_defaults(func=_graph)

    definition = sub.add_parser("definition", help="print the canonical pipeline definition JSON")
    definition.add_argument(
        "--template", help="MODULE:ATTR of a PipelineBuilderTemplate (default: the seed's DAG)"
    )
    definition.add_argument("--name", default="my-pipeline", help="pipeline name (default: my-pipeline)")
    definition.set_defaults(func=_definition)

    try:
        from constructs_lib.local.cli import add_local_subcommands
    except ImportError:  # pragma: no cover - the local runner is part of the package
        pass
    else:
        add_local_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConstructsLibError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
