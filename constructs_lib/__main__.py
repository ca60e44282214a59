"""Command line: ``python -m constructs_lib <command>`` (also installed as ``constructs-lib``).

Commands:
    graph        show how each edge of a pipeline is resolved and why, and/or its Mermaid diagram
    definition   print a pipeline's canonical definition JSON (offline)
    local-run    run the training step on this machine as SageMaker would (no Docker, no AWS)
    demo-data    write a small synthetic train/val/test dataset for local-run
    diff         per-step change report between two definitions (files or cdk.out); exit 1 if they differ
    verify       drift check of a deployed pipeline against cdk.out (calls AWS); exit 1 on drift

A library error prints one line (``ConfigError: ...``) on stderr and exits 2.

``--template MODULE:ATTR`` imports ``MODULE`` as ``python -m`` would: the current directory comes first on
the import path, for the installed ``constructs-lib`` script too (whose own directory is ``sys.path[0]``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from constructs_lib.errors import ConstructsLibError
from constructs_lib.loader import load_template

__all__ = ["load_template", "main"]


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


def _print_json(data: object) -> None:
    import json

    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def _diff(args: argparse.Namespace) -> int:
    from constructs_lib.assembly import load_definition
    from constructs_lib.changes import compare_definitions

    old = load_definition(args.old, args.pipeline)
    new = load_definition(args.new, args.pipeline)
    report = compare_definitions(old.definition, new.definition, old_label=old.label, new_label=new.label)
    if args.format == "json":
        _print_json(report.to_json())
    else:
        print(report.to_text(), end="")
    return 0 if report.identical else 1


def _verify(args: argparse.Namespace) -> int:
    from constructs_lib.verify import verify_pipeline

    result = verify_pipeline(args.pipeline, cdk_out=args.cdk_out, region=args.region)
    if args.format == "json":
        _print_json(result.to_json())
    else:
        print(result.to_text(), end="")
    return 1 if result.drifted else 0


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

    diff = sub.add_parser(
        "diff",
        help="per-step change report between two pipeline definitions; exit 1 if they differ, 0 if not",
        description="Compare two pipeline definitions step by step: added/removed/changed fields and "
        "whether each step's cached results can be reused. Exit status 1 when anything differs, 0 when "
        "identical, 2 on a usage error.",
    )
    diff.add_argument(
        "old", help="OLD side: a definition JSON file, a *.template.json or a cdk.out directory"
    )
    diff.add_argument(
        "new", help="NEW side: a definition JSON file, a *.template.json or a cdk.out directory"
    )
    diff.add_argument(
        "--pipeline",
        help="pipeline name (or STACK/NAME) when a cdk.out holds several (default: the only one)",
    )
    diff.add_argument("--format", choices=("text", "json"), default="text", help="default: text")
    diff.set_defaults(func=_diff)

    verify = sub.add_parser(
        "verify",
        help="drift check: compare a deployed pipeline with cdk.out (calls AWS); exit 1 on drift",
        description="Compare the live definition of a deployed pipeline (DescribePipeline) with the "
        "synthesized one in cdk.out, its tokens resolved against the deployed stack, and print both "
        "sides' provenance tags. Calls AWS with the default credential chain. Exit status 1 on drift, 0 "
        "without, 2 on an error.",
    )
    verify.add_argument("--pipeline", required=True, help="SageMaker pipeline name (or STACK/NAME)")
    verify.add_argument("--cdk-out", default="cdk.out", help="cloud assembly directory (default: cdk.out)")
    verify.add_argument(
        "--region", help="AWS region (default: the stack's region if concrete, else the session's)"
    )
    verify.add_argument("--format", choices=("text", "json"), default="text", help="default: text")
    verify.set_defaults(func=_verify)

    try:
        from constructs_lib.local.cli import add_local_subcommands
    except ImportError:  # pragma: no cover - the local runner is part of the package
        pass
    else:
        add_local_subcommands(sub)
    return parser


def _current_directory_first() -> None:
    """Put the current directory at the front of ``sys.path`` (what ``python -m`` does) unless it is
    already there: the ``constructs-lib`` console script starts with its ``bin/`` directory there
    instead, and ``--template my_pipelines:template`` must find ``my_pipelines.py`` where the user is."""
    cwd = os.getcwd()
    if sys.path and sys.path[0] in ("", cwd):
        return
    sys.path.insert(0, cwd)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``constructs-lib`` / ``python -m constructs_lib``; returns the exit code."""
    _current_directory_first()
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
