"""``MODULE:ATTR`` references to pipeline templates, as the command line takes them (``--template``)."""

from __future__ import annotations

import importlib
from typing import Any

from constructs_lib.errors import ConfigError

__all__ = ["load_template"]


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
