"""Run the training step on this machine before deploying: demo data, local run, CLI subcommands.

``run_training_locally(config, data_dir)`` starts SageMaker's own training toolkit (the ``[local]``
extra) on an ``/opt/ml`` tree written from the pipeline definition's hyperparameters, environment and
packed code, and reports the metrics the definition's regexes capture and any broken contract.
``write_demo_dataset(out_dir)`` writes a small table to try it on.
"""

from __future__ import annotations

from constructs_lib.local.demo_data import demo_hyperparameters, write_demo_dataset
from constructs_lib.local.runner import (
    LocalRunError,
    LocalRunResult,
    reference_source_dir,
    run_training_locally,
)

__all__ = [
    "LocalRunError",
    "LocalRunResult",
    "demo_hyperparameters",
    "reference_source_dir",
    "run_training_locally",
    "write_demo_dataset",
]
