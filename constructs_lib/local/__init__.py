"""Run the training step on this machine before deploying: demo data, local run, CLI subcommands.

``run_training_locally(config, data_dir)`` runs the step's script with the hyperparameters, environment
and metric definitions of the pipeline definition, from the same packed code, and reports the metrics it
captured and any broken contract. ``write_demo_dataset(out_dir)`` writes a small table to try it on.
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
