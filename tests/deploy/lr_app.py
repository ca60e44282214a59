"""The example app (``app.py``) with one knob: the learning rate of ``ConstructsLibExample``'s training
step comes from the CDK context key ``constructs_lib_test:learning_rate`` (``cdk deploy -c
constructs_lib_test:learning_rate=0.01``). Without that key it synthesizes exactly what ``app.py`` does.

Used by ``test_cli_deploy.py`` to deploy a hyperparameter change through the CDK CLI.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
#: Context key of the learning rate (a float; default: the seed's).
LEARNING_RATE_CONTEXT_KEY = "constructs_lib_test:learning_rate"


def _load_example_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("constructs_lib_example_app", ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    sys.path.insert(0, str(ROOT))
    example_app = _load_example_app()
    import aws_cdk as cdk

    from constructs_lib.constructs import PyTorchTrainingPipeline, add_aws_solutions_checks
    from constructs_lib.examples import seed_hyperparameters, seed_training_config

    app = cdk.App()
    raw = app.node.try_get_context(LEARNING_RATE_CONTEXT_KEY)
    hyperparameters = seed_hyperparameters()
    if raw is not None:
        hyperparameters = hyperparameters.model_copy(update={"learning_rate": float(raw)})

    def example_stack(scope: cdk.App, env: cdk.Environment) -> cdk.Stack:
        """``app.py``'s ``example_stack`` with ``hyperparameters``."""
        stack = cdk.Stack(
            scope, "ConstructsLibExample", env=env, description="constructs_lib: PyTorch training"
        )
        PyTorchTrainingPipeline(
            stack,
            "Training",
            config=seed_training_config(hyperparameters=hyperparameters),
            pipeline_name="constructs-lib-pytorch-training",
            description="Trains the seed's tabular PyTorch model",
        )
        return stack

    region = example_app.resolve_region(app.node.try_get_context(example_app.REGION_CONTEXT_KEY), os.environ)
    env = cdk.Environment(region=region)
    for build in example_app.STACKS:
        (example_stack if build is example_app.example_stack else build)(app, env)
    add_aws_solutions_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
