"""Cold start: ``import constructs_lib`` and validating a ``PyTorchTrainingConfig`` must not import the
SageMaker SDK or ``aws_cdk``; its cost is measured against ``python -c pass``, alternating, in fresh
processes."""

from __future__ import annotations

from dataclasses import dataclass

from bench.procs import run_python
from bench.stats import Summary, alternate, ratio, summarize

__all__ = ["COLD_START_SCRIPT", "ColdStartResult", "measure_cold_start"]

#: What a user's first lines do: import the package, build and validate the seed's training config
#: (botocore's service model is read for the limits; the SDK's image catalogue is read as a file).
#: Exits non-zero if the SDK or CDK was imported.
COLD_START_SCRIPT = """
import sys
import constructs_lib
from constructs_lib import ModelHyperparameters, PyTorchTrainingConfig

config = PyTorchTrainingConfig(
    source_dir="s3://my-bucket/scripts/sourcedir.tar.gz",
    framework_version="1.13.1",
    py_version="py39",
    hyperparameters=ModelHyperparameters(
        id_name="customer_id",
        label_name="target",
        full_field_list=["customer_id", "target", "feature1", "feature2", "feature3"],
        tab_field_list=["feature1", "feature2"],
        cat_field_list=["feature3"],
    ),
    env={"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"},
)
heavy = sorted(m for m in ("sagemaker", "aws_cdk", "jsii", "boto3", "botocore", "pydantic") if m in sys.modules)
assert "sagemaker" not in sys.modules and "aws_cdk" not in sys.modules, heavy
print(",".join(heavy) or "-")
"""


@dataclass(frozen=True)
class ColdStartResult:
    """``python -c pass`` and the cold-start script, and which heavy modules the latter loaded."""

    baseline: Summary
    ours: Summary
    heavy_modules: str

    @property
    def ratio(self) -> float:
        """ours / baseline, ratio of medians."""
        return ratio(self.ours, self.baseline)

    @property
    def extra_ms(self) -> float:
        """Median extra milliseconds over a bare interpreter."""
        return (self.ours.median - self.baseline.median) * 1e3


def measure_cold_start(pairs: int) -> ColdStartResult:
    """Alternate ``python -c pass`` and :data:`COLD_START_SCRIPT` ``pairs`` times (after a warm-up)."""
    heavy: list[str] = []

    def bare() -> float:
        return run_python(["-c", "pass"]).seconds

    def ours() -> float:
        run = run_python(["-c", COLD_START_SCRIPT])
        heavy.append(run.stdout.strip())
        return run.seconds

    base_times, our_times = alternate([bare, ours], pairs)
    return ColdStartResult(
        baseline=summarize(base_times),
        ours=summarize(our_times),
        heavy_modules=heavy[-1] if heavy else "",
    )
