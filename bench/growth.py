"""Growth with the number of steps: pipelines of N steps built through ``PipelineBuilderTemplate``.

Two shapes:

* ``fanout``: one ``TabularPreprocessingStep`` feeding N-1 ``PyTorchTrainingStep``\\ s (typed resolution,
  ``processed_data -> input_path``).
* ``chain``: N steps in a line. No registered step type consumes what another of its own type produces
  (training -> training is not a valid edge), so the chain wires each ``output_path`` into the next
  ``input_path`` with explicit ``overrides`` (checked to exist, not typed).

Each (shape, N) runs in a fresh child (``python -m bench.growth worker ...``) that reports the phases of
one build and one synth, and its peak memory; the driver repeats all sizes ``rounds`` times, reversing the
order every other round, and keeps medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GrowthResult", "measure_growth", "worker"]

SHAPES: tuple[str, ...] = ("fanout", "chain")
CODE_URI = "s3://my-bucket/scripts/sourcedir.tar.gz"
REGION = "us-east-1"
ACCOUNT = "123456789012"

#: Metrics every worker reports: key -> (column title, kind).
METRICS: dict[str, tuple[str, str]] = {
    "definition_s": ("definition generation (steps + definition)", "s"),
    "resolution_s": ("dependency resolution (build)", "s"),
    "plan_s": ("resolution: template.plan()", "s"),
    "synth_s": ("construct synth (CDK only)", "s"),
    "definition_chars": ("definition size (chars)", "n"),
    "rss_build_mib": ("RSS after build (MiB)", "n"),
    "rss_peak_mib": ("peak RSS (MiB)", "n"),
}


# ----------------------------------------------------------------------------------------- worker
def _training_config() -> Any:
    from constructs_lib.examples import seed_training_config

    return seed_training_config(CODE_URI)


def _preprocessing_config() -> Any:
    from constructs_lib.config.preprocessing_tabular import TabularPreprocessingConfig

    return TabularPreprocessingConfig(
        processing_entry_point="preprocess.py",
        source_dir="s3://my-bucket/scripts/preprocess.tar.gz",
        label_name="target",
    )


def build_template(shape: str, n: int) -> tuple[Any, str]:
    """The :class:`PipelineBuilderTemplate` of ``shape`` with ``n`` steps, and a note on how it is wired."""
    from constructs_lib.dag import PipelineDAG
    from constructs_lib.template import PipelineBuilderTemplate

    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    if n < 1:
        raise ValueError("n must be >= 1")
    training = _training_config()
    dag = PipelineDAG()
    config_map: dict[str, Any] = {}
    overrides: dict[str, dict[str, tuple[str, str]]] = {}
    if shape == "fanout":
        note = "TabularPreprocessing -> N-1 PyTorchTraining (typed resolution)"
        dag.add_node("Preprocess")
        config_map["Preprocess"] = _preprocessing_config()
        for i in range(1, n):
            name = f"Train{i}"
            dag.add_node(name)
            dag.add_edge("Preprocess", name)
            config_map[name] = training
    else:
        note = "PyTorchTraining chain, output_path -> input_path by explicit overrides"
        for i in range(n):
            name = f"Train{i}"
            dag.add_node(name)
            config_map[name] = training
            if i:
                dag.add_edge(f"Train{i - 1}", name)
                overrides[name] = {"input_path": (f"Train{i - 1}", "output_path")}
    template = PipelineBuilderTemplate(dag, config_map, region=REGION, overrides=overrides)
    return template, note


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _synth(template: Any, built: Any, outdir: str) -> tuple[float, bool, int]:
    """Synthesize a stack holding one ``SageMakerPipeline`` for ``template``; returns (seconds, definition
    stored in S3?, template bytes).

    The construct builds the definition itself (``template.build(name)``); that build is deterministic and
    was just measured, so here it returns ``built`` at once and the time is the construct's and CDK's only.
    """
    import aws_cdk as cdk

    from constructs_lib.constructs import SageMakerPipeline

    def cached_build(pipeline_name: str, infrastructure: Any = None) -> Any:
        if pipeline_name != built.name:  # pragma: no cover - the construct passes its pipeline_name
            raise RuntimeError(f"unexpected pipeline name {pipeline_name!r}")
        if infrastructure is not None and infrastructure.vpc:  # pragma: no cover - the bench uses no VPC
            raise RuntimeError("the growth bench synthesizes without a VPC")
        return built

    template.build = cached_build
    try:
        start = time.perf_counter()
        app = cdk.App(outdir=outdir)
        stack = cdk.Stack(app, "Growth", env=cdk.Environment(account=ACCOUNT, region=REGION))
        pipeline = SageMakerPipeline(stack, "Pipeline", template=template, pipeline_name=built.name)
        app.synth()
        seconds = time.perf_counter() - start
    finally:
        del template.build
    size = (Path(outdir) / "Growth.template.json").stat().st_size
    return seconds, pipeline.definition_storage == "s3", size


def worker(shape: str, n: int, result_path: str, *, synth: bool) -> dict[str, Any]:
    """Measure one (shape, n) in this process and write the result as JSON to ``result_path``."""
    name = f"growth-{shape}-{n}"
    start = time.perf_counter()
    template, note = build_template(shape, n)
    # The specifications check their property paths with the SageMaker SDK when first used (registration
    # no longer does, so a cached synth never imports the SDK): check them here, with the template, so that
    # plan() below measures resolution only.
    for cls in template.step_builder_map.values():
        cls.specification()
    t_template = time.perf_counter() - start
    start = time.perf_counter()
    plan = template.plan(name)
    t_plan = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    built = template.build(name)
    t_build, cpu_build = time.perf_counter() - start, time.process_time() - cpu_start
    result: dict[str, Any] = {
        "shape": shape,
        "n": n,
        "note": note,
        "edges": len(plan),
        "template_s": t_template,
        "plan_s": t_plan,
        "build_s": t_build,
        "build_cpu_s": cpu_build,
        "resolution_s": t_plan,  # the same resolution path, without SDK steps
        "steps_s": built.timings["steps"],
        "definition_only_s": built.timings["definition"],
        "definition_s": built.timings["steps"] + built.timings["definition"],
        "definition_chars": len(built.definition_json),
        "rss_build_mib": _rss_mib(),
    }
    if synth:
        with tempfile.TemporaryDirectory(prefix="bench-growth-") as outdir:
            synth_s, s3_hosted, template_bytes = _synth(template, built, outdir)
        result.update(synth_s=synth_s, s3_hosted=s3_hosted, template_bytes=template_bytes)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return result


# ----------------------------------------------------------------------------------------- driver
@dataclass(frozen=True)
class GrowthResult:
    """All worker results: ``runs[shape][n]`` is the list of per-round result dicts."""

    runs: dict[str, dict[int, list[dict[str, Any]]]]
    sizes: tuple[int, ...]
    synth_sizes: tuple[int, ...]


def measure_growth(
    sizes: Sequence[int],
    rounds: int,
    *,
    shapes: Sequence[str] = SHAPES,
    synth_max: int | None = None,
    log: Any = None,
) -> GrowthResult:
    """Run every (shape, size) ``rounds`` times, each in a fresh child; synthesize only sizes up to
    ``synth_max`` (``None``: all)."""
    from bench.procs import run_python

    ordered = sorted(set(sizes))
    synth_sizes = tuple(n for n in ordered if synth_max is None or n <= synth_max)
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {s: {n: [] for n in ordered} for s in shapes}
    with tempfile.TemporaryDirectory(prefix="bench-growth-results-") as tmp:
        for r in range(rounds):
            order = ordered if r % 2 == 0 else ordered[::-1]
            for n in order:
                for shape in shapes:
                    path = str(Path(tmp) / f"{shape}-{n}-{r}.json")
                    args = ["-m", "bench.growth", "worker", shape, str(n), path]
                    if n not in synth_sizes:
                        args.append("--no-synth")
                    run = run_python(args)
                    data = json.loads(Path(path).read_text(encoding="utf-8"))
                    data["rss_peak_mib"] = run.max_rss_mib
                    data["process_s"] = run.seconds
                    data["process_cpu_s"] = run.cpu_seconds
                    runs[shape][n].append(data)
                    if log is not None:
                        log(f"growth {shape} N={n} round {r + 1}/{rounds}: {run.seconds:.1f} s")
    return GrowthResult(runs=runs, sizes=tuple(ordered), synth_sizes=synth_sizes)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.growth worker SHAPE N RESULT.json [--no-synth]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.growth")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="measure one (shape, N) in this process")
    w.add_argument("shape", choices=SHAPES)
    w.add_argument("n", type=int)
    w.add_argument("result")
    w.add_argument("--no-synth", action="store_true")
    args = parser.parse_args(argv)
    worker(args.shape, args.n, args.result, synth=not args.no_synth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
