"""Drift checks between a step type and the script it ships.

A step type's specification, script contract and SDK channels are all derived from one
:class:`~constructs_lib.ports.StepPorts` declaration, so they cannot disagree. What can still drift is what
is written twice by hand:

1. identity: ``STEP_TYPE`` is the class name without ``Builder`` and the ports' ``step_type``;
2. entry point: the contract's ``entry_point`` is the config class's default entry point and the shipped
   script (``builder_cls.shipped_script()``) exists;
3. the shipped script against its contract: every container path of the contract that the script locates
   itself is one of the script's own path constants (module-level strings such as
   ``DEFAULT_MODEL_DIR = "/opt/ml/model"``, or a base directory joined with a relative one), every
   environment variable of ``channel_env_vars`` is named in the script, and a model handler defines the
   four functions SageMaker's inference toolkit calls. The script is read with :mod:`ast`, never imported
   (it needs torch or pandas);
4. environment (when a config is given or the builder has an ``example_config()``): every variable the
   contract requires is in the config's ``env``.

:func:`check_alignment` raises one :class:`~constructs_lib.errors.SpecError` that lists every drift;
:func:`check_all_registered` runs it for every registered step type.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.config.base import StrictModel
from constructs_lib.errors import SpecError
from constructs_lib.specs.base import SageMakerStepKind

__all__ = ["check_alignment", "check_all_registered", "find_drifts", "script_paths"]

#: The functions SageMaker's PyTorch inference toolkit calls in a model's handler script.
INFERENCE_HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments of a script."""
    found: dict[str, str] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = value.value
    return found


def script_paths(source: str) -> set[str]:
    """Container paths a script names: its absolute ``/opt/ml`` string constants, and each of them joined
    with each relative path constant (``DEFAULT_BASE + "/" + INPUT_DIR``)."""
    strings = _module_strings(ast.parse(source)).values()
    absolute = {s.rstrip("/") for s in strings if s.startswith("/opt/ml")}
    relative = {s.strip("/") for s in strings if "/" in s.strip("/") and not s.startswith("/")}
    return absolute | {f"{a}/{r}" for a in absolute for r in relative}


def _script_drifts(builder_cls: type[StepBuilderBase], script: Path) -> list[str]:
    contract = builder_cls.contract()
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source)
    drifts: list[str] = []
    if builder_cls.PORTS.sagemaker_step_kind is SageMakerStepKind.MODEL:
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        missing = [f for f in INFERENCE_HANDLERS if f not in defined]
        if missing:
            drifts.append(f"the shipped handler {script.name} does not define {', '.join(missing)}")
        return drifts
    paths = script_paths(source)
    for group, mapping in (
        ("input", contract.expected_input_paths),
        ("output", contract.expected_output_paths),
    ):
        for name, path in sorted(mapping.items()):
            if path.rstrip("/") not in paths:
                drifts.append(
                    f"contract {group} {name!r} is at {path}, but the shipped script {script.name} names no such "
                    f"path (its paths: {', '.join(sorted(paths)) or 'none'})"
                )
    strings = set(_module_strings(tree).values()) | {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    for name, variable in sorted(contract.channel_env_vars.items()):
        if variable not in strings:
            drifts.append(
                f"the shipped script {script.name} never reads {variable} (the contract's {name!r})"
            )
    return drifts


def _static_drifts(builder_cls: type[StepBuilderBase]) -> list[str]:
    drifts: list[str] = []
    expected_type = builder_cls.__name__.removesuffix("Builder")
    if expected_type != builder_cls.STEP_TYPE:
        drifts.append(
            f"STEP_TYPE {builder_cls.STEP_TYPE!r} is not the class name without 'Builder' ({expected_type!r})"
        )
    if builder_cls.PORTS.step_type != builder_cls.STEP_TYPE:
        drifts.append(
            f"the ports' step_type {builder_cls.PORTS.step_type!r} is not STEP_TYPE {builder_cls.STEP_TYPE!r}"
        )
    contract = builder_cls.contract()
    default = builder_cls.default_entry_point()
    if default is not None and Path(default).name != contract.entry_point:
        drifts.append(
            f"contract entry_point {contract.entry_point!r} is not the default entry point of "
            f"{builder_cls.CONFIG_CLASS.__name__} ({default!r})"
        )
    script = builder_cls.shipped_script()
    if script is not None:
        if not script.is_file():
            drifts.append(f"the shipped script {script} does not exist")
        else:
            drifts.extend(_script_drifts(builder_cls, script))
    return drifts


def _sample_config(builder_cls: type[StepBuilderBase], config: StrictModel | None) -> StrictModel | None:
    if config is not None:
        return config
    factory = getattr(builder_cls, "example_config", None)
    sample = factory() if callable(factory) else None
    return sample if isinstance(sample, StrictModel) else None


def find_drifts(builder_cls: type[StepBuilderBase], config: StrictModel | None = None) -> list[str]:
    """Every drift of ``builder_cls`` (empty when aligned); see the module docstring for the checks.

    Args:
        builder_cls: the builder class to check.
        config: a valid config of the step type. Default ``None``: ``builder_cls.example_config()`` when
            the builder defines it, else the environment check is skipped (and reported as a drift when the
            contract requires variables, since nothing could supply them).
    """
    drifts = _static_drifts(builder_cls)
    required = builder_cls.contract().required_env_vars
    sample = _sample_config(builder_cls, config)
    if sample is None:
        if required:
            drifts.append(
                f"the contract requires environment variables {', '.join(required)}, and no config was "
                "given to show they are supplied (pass config=... or define example_config())"
            )
        return drifts
    env = getattr(sample, "env", None) or {}
    missing = sorted(set(required) - set(env))
    if missing:
        drifts.append(
            f"the contract requires environment variables {', '.join(missing)} that the config does not supply"
        )
    return drifts


def check_alignment(builder_cls: type[StepBuilderBase], config: StrictModel | None = None) -> None:
    """Raise :class:`SpecError` naming the step type and listing every drift of ``builder_cls``."""
    drifts = find_drifts(builder_cls, config)
    if drifts:
        listing = "; ".join(f"({i}) {d}" for i, d in enumerate(drifts, 1))
        raise SpecError(
            f"{len(drifts)} drift(s) between the step type and its shipped script: {listing}",
            step=builder_cls.STEP_TYPE,
            field=builder_cls.__name__,
            hint="make the shipped script agree with the step's ports (constructs_lib/specs/)",
        )


def check_all_registered(configs: Mapping[str, StrictModel] | None = None) -> None:
    """:func:`check_alignment` for every registered step type; one :class:`SpecError` listing all failures.

    ``configs`` maps step types to sample configs (for builders without ``example_config()``).
    """
    from constructs_lib import registry

    failures: list[str] = []
    for step_type, cls in registry.step_builder_map().items():
        try:
            check_alignment(cls, (configs or {}).get(step_type))
        except SpecError as exc:
            failures.append(str(exc))
    if failures:
        raise SpecError(
            f"{len(failures)} registered step type(s) are misaligned: " + " | ".join(failures),
            hint="fix each step type listed",
        )
