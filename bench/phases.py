"""Where the whole-process time goes: the two apps timed phase by phase, with the same import order.

``python -m bench.phases worker baseline|ours RESULT.json`` imports ``aws_cdk``, then the SageMaker SDK,
then the app's module (everything else it imports), then builds the stack (for ours this includes config
validation, the definition build and the construct) and synthesizes it, writing the phase times as JSON.
Importing the SDK first in both apps makes the phases comparable: ours imports it lazily, inside the
construct, the hand-written app at the top of its module.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["PHASES", "measure_phases", "worker"]

#: Phase keys, in order, with their labels.
PHASES: tuple[tuple[str, str], ...] = (
    ("startup", "start-up + exit (wall time minus the phases below; exit waits for jsii's Node)"),
    ("import_cdk", "import aws_cdk (starts the jsii Node process)"),
    ("import_sdk", "import sagemaker (+ sagemaker.pytorch, workflow)"),
    ("import_app", "import the app module (its remaining imports)"),
    ("construct", "build the stack (configs, definition, constructs)"),
    ("synth", "app.synth()"),
)


def worker(app: str, result_path: str) -> dict[str, float]:
    """Time the phases of ``app`` (``baseline`` or ``ours``) in this process."""
    marks = [time.perf_counter()]
    import aws_cdk as cdk

    marks.append(time.perf_counter())
    import sagemaker.pytorch
    import sagemaker.workflow.pipeline  # noqa: F401

    marks.append(time.perf_counter())
    if app == "baseline":
        from bench import baseline_app as module
    else:
        from bench import ours_app as module  # type: ignore[no-redef]
    marks.append(time.perf_counter())
    with tempfile.TemporaryDirectory(prefix=f"bench-phases-{app}-") as outdir:
        cdk_app = cdk.App(outdir=outdir)
        env = cdk.Environment(account=module.ACCOUNT, region=module.REGION)
        if app == "baseline":
            module.BaselineStack(cdk_app, "Baseline", env=env)
        else:
            module.OursStack(cdk_app, "Ours", local_code=False, env=env)  # type: ignore[attr-defined]
        marks.append(time.perf_counter())
        cdk_app.synth()
        marks.append(time.perf_counter())
    keys = [k for k, _ in PHASES[1:]]
    result = {k: marks[i + 1] - marks[i] for i, k in enumerate(keys)}
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return result


def measure_phases(pairs: int) -> dict[str, dict[str, list[float]]]:
    """Alternate the two apps' phase workers ``pairs`` times (after a warm-up of each);
    ``{app: {phase: [seconds, ...]}}``, ``startup`` derived from the child's wall time."""
    from bench.procs import run_python
    from bench.stats import alternate

    apps = ("baseline", "ours")
    out: dict[str, dict[str, list[float]]] = {a: {k: [] for k, _ in PHASES} for a in apps}
    with tempfile.TemporaryDirectory(prefix="bench-phases-") as tmp:

        def runner(app: str) -> Callable[[], float]:
            def run() -> float:
                path = str(Path(tmp) / f"{app}.json")
                proc = run_python(["-m", "bench.phases", "worker", app, path])
                data = json.loads(Path(path).read_text(encoding="utf-8"))
                data["startup"] = proc.seconds - sum(data.values())
                for key, _ in PHASES:
                    out[app][key].append(data[key])
                return proc.seconds

            return run

        alternate([runner(a) for a in apps], pairs)
    # drop the warm-up run of each app
    return {a: {k: v[1:] for k, v in phases.items()} for a, phases in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.phases worker baseline|ours RESULT.json``."""
    parser = argparse.ArgumentParser(prog="python -m bench.phases")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="time the phases of one app in this process")
    w.add_argument("app", choices=("baseline", "ours"))
    w.add_argument("result")
    args = parser.parse_args(argv)
    worker(args.app, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
