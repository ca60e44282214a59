"""Drift checks between a step type's specification, its script contract and its builder.

The three describe one step from three sides: the :class:`~constructs_lib.specs.base.StepSpecification`
(logical inputs and outputs, used for wiring), the :class:`~constructs_lib.contracts.base.ScriptContract`
(where the script reads and writes inside the container, which variables it needs) and the builder
(``CHANNELS``: on which job channel each input arrives; the step it really builds). They are written by
hand, so they can drift apart: a renamed input, a channel nobody delivers, an output the script never
writes, a required variable the config cannot supply. :func:`check_alignment` finds *every* such drift of
one builder and raises one :class:`~constructs_lib.errors.SpecError` that lists them all;
:func:`check_all_registered` runs it for every registered step type.

Checks, in order:

1. identity: ``STEP_TYPE`` is the class name without ``Builder`` and the specification's ``step_type``;
2. inputs: every dependency has a contract input path and a builder channel; every contract input is
   delivered on a channel; every channel belongs to a contract input; channel names and container paths
   are unique (a processing step's ``code`` input name is reserved);
3. outputs: every contract output is a declared output; every output of a processing or training step has
   a contract output path (a model step's outputs come from SageMaker, not from a script); a processing
   output's property path names the output itself (``Outputs['<logical name>']``);
4. environment: every variable the contract requires is supplied by the config (``builder.supplied_env()``);
5. entry point: the contract's ``entry_point`` is the config class's default entry point, and the shipped
   script exists;
6. the built step (when a config is available): the SageMaker step the builder really makes delivers each
   input on its channel at the contract's path and writes each output from the contract's path.

A config comes from the ``config`` argument or, failing that, from the builder's optional
``example_config()`` classmethod. Without one, checks 4 and 6 are skipped (4 is reported as a drift when
the contract requires variables, since nothing could supply them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.config.base import StrictModel
from constructs_lib.context import BuildContext
from constructs_lib.errors import ConstructsLibError, SpecError
from constructs_lib.specs.base import SageMakerStepKind

__all__ = ["check_alignment", "check_all_registered", "find_drifts"]

#: Processing input name the library's processing builders use for the packed code.
_CODE_INPUT = "code"
_ALIGNMENT_REGION = "us-east-1"


@functools.cache
def _context(region: str) -> BuildContext:
    # One context (hence one offline SageMaker session, ~1 s to create) per region for all checks.
    return BuildContext(region=region, pipeline_name="alignment")


def _sample_config(builder_cls: type[StepBuilderBase], config: StrictModel | None) -> StrictModel | None:
    if config is not None:
        return config
    factory = getattr(builder_cls, "example_config", None)
    if callable(factory):
        sample = factory()
        if isinstance(sample, StrictModel):
            return sample
    return None


def _default_entry_point(config_cls: type[StrictModel]) -> tuple[str, str] | None:
    """``(field name, default)`` of the config class's entry-point field, if it has one with a default."""
    shipped = getattr(config_cls, "SHIPPED_ENTRY_POINT", None)
    for name, info in config_cls.model_fields.items():
        if not name.endswith("entry_point"):
            continue
        if isinstance(shipped, str) and shipped:
            return name, shipped
        if isinstance(info.default, str) and info.default:
            return name, info.default
    return None


def _static_drifts(builder_cls: type[StepBuilderBase]) -> list[str]:
    drifts: list[str] = []
    spec = builder_cls.specification()
    contract = builder_cls.contract()
    channels = dict(builder_cls.CHANNELS)

    # 1. identity
    expected_type = builder_cls.__name__.removesuffix("Builder")
    if expected_type != builder_cls.STEP_TYPE:
        drifts.append(
            f"STEP_TYPE {builder_cls.STEP_TYPE!r} is not the class name without 'Builder' ({expected_type!r})"
        )
    if spec.step_type != builder_cls.STEP_TYPE:
        drifts.append(
            f"the specification's step_type {spec.step_type!r} is not STEP_TYPE {builder_cls.STEP_TYPE!r}"
        )

    # 2. inputs
    inputs = dict(contract.expected_input_paths)
    for dep in spec.dependencies:
        if dep.logical_name not in inputs:
            drifts.append(
                f"dependency {dep.logical_name!r} has no contract input path "
                f"(contract inputs: {', '.join(sorted(inputs)) or 'none'})"
            )
        if dep.logical_name not in channels:
            drifts.append(
                f"dependency {dep.logical_name!r} has no builder channel "
                f"(CHANNELS: {', '.join(sorted(channels)) or 'none'})"
            )
    dep_names = {d.logical_name for d in spec.dependencies}
    for name, path in sorted(inputs.items()):
        if name not in channels and name not in dep_names:
            drifts.append(f"contract input {name!r} ({path}) is delivered on no builder channel (CHANNELS)")
    for name, channel in sorted(channels.items()):
        if name not in inputs:
            drifts.append(f"builder channel {name!r} -> {channel!r} has no contract input path")
    channel_names = list(channels.values())
    dupes = sorted({c for c in channel_names if channel_names.count(c) > 1})
    if dupes:
        drifts.append(f"channel names are not unique: {', '.join(dupes)}")
    if spec.sagemaker_step_kind is SageMakerStepKind.PROCESSING and _CODE_INPUT in channel_names:
        drifts.append(f"channel name {_CODE_INPUT!r} is reserved for the packed code of a processing step")
    for group, paths in (("input", inputs), ("output", dict(contract.expected_output_paths))):
        values = list(paths.values())
        repeated = sorted({p for p in values if values.count(p) > 1})
        if repeated:
            drifts.append(f"contract {group} paths are not unique: {', '.join(repeated)}")

    # 3. outputs
    outputs = dict(contract.expected_output_paths)
    out_names = {n for o in spec.outputs for n in o.names}
    for name, path in sorted(outputs.items()):
        if name not in out_names:
            drifts.append(f"contract output {name!r} ({path}) is not an output of the specification")
    kind = spec.sagemaker_step_kind
    for out in spec.outputs:
        if kind is SageMakerStepKind.MODEL:
            continue  # produced by SageMaker (CreateModel), not written by a script
        if not any(n in outputs for n in out.names):
            drifts.append(
                f"output {out.logical_name!r} has no contract output path: the script never writes it "
                f"(its property path is {out.property_path})"
            )
        if kind is SageMakerStepKind.PROCESSING:
            expected_prefix = f"properties.ProcessingOutputConfig.Outputs['{out.logical_name}']"
            if not out.property_path.startswith(expected_prefix):
                drifts.append(
                    f"output {out.logical_name!r} reads property path {out.property_path}, "
                    f"but the builder names the processing output {out.logical_name!r} ({expected_prefix}...)"
                )

    # 5. entry point (the part that needs no config)
    default = _default_entry_point(builder_cls.CONFIG_CLASS)
    if default is not None:
        field_name, value = default
        if Path(value).name != contract.entry_point:
            drifts.append(
                f"contract entry_point {contract.entry_point!r} is not the default of "
                f"{builder_cls.CONFIG_CLASS.__name__}.{field_name} ({value!r})"
            )
    return drifts


def _config_drifts(builder_cls: type[StepBuilderBase], config: StrictModel, *, build: bool) -> list[str]:
    drifts: list[str] = []
    contract = builder_cls.contract()
    region = getattr(config, "region", None) or _ALIGNMENT_REGION
    try:
        builder = builder_cls(config, context=_context(region))
    except ConstructsLibError as exc:
        return [f"the builder refuses the sample config: {exc.one_line()}"]

    # 4. environment
    missing = sorted(set(contract.required_env_vars) - set(builder.supplied_env()))
    if missing:
        drifts.append(
            f"the contract requires environment variables {', '.join(missing)} that the config does not supply"
        )

    # 5. the shipped script exists
    if getattr(config, "uses_shipped_source", False):
        source = getattr(config, "local_source_dir", None)
        if isinstance(source, Path) and not (source / contract.entry_point).is_file():
            drifts.append(f"the shipped script {source / contract.entry_point} does not exist")

    # 6. the built step
    if build:
        drifts.extend(_built_step_drifts(builder))
    return drifts


def _definition_steps(builder: StepBuilderBase) -> list[dict[str, Any]]:
    from constructs_lib.sdk_adapter import import_sagemaker

    import_sagemaker()
    from sagemaker.workflow.pipeline import Pipeline

    spec = builder.specification()
    inputs = {d.logical_name: f"s3://constructs-lib-alignment/{d.logical_name}/" for d in spec.dependencies}
    step = builder.create_step(inputs=inputs)
    pipeline = Pipeline(
        name="alignment",
        parameters=list(getattr(builder, "parameters", ())),
        steps=[step],
        sagemaker_session=builder.context.session,
    )
    steps: list[dict[str, Any]] = json.loads(pipeline.definition())["Steps"]
    return steps


def _built_step_drifts(builder: StepBuilderBase) -> list[str]:
    spec = builder.specification()
    contract = builder.contract()
    channels = dict(builder.CHANNELS)
    try:
        steps = _definition_steps(builder)
    except ConstructsLibError as exc:
        return [f"the step cannot be built from the sample config: {exc.one_line()}"]
    drifts: list[str] = []
    kind = spec.sagemaker_step_kind
    if kind is SageMakerStepKind.PROCESSING:
        args = steps[-1]["Arguments"]
        built_in = {i["InputName"]: i["S3Input"]["LocalPath"] for i in args.get("ProcessingInputs", [])}
        built_in.pop(_CODE_INPUT, None)
        for name, path in sorted(contract.expected_input_paths.items()):
            channel = channels.get(name)
            if channel is None:
                continue  # reported by the static checks
            if channel not in built_in:
                drifts.append(f"the built step has no processing input {channel!r} for {name!r}")
            elif built_in[channel] != path:
                drifts.append(
                    f"the built step delivers {name!r} at {built_in[channel]}, the contract says {path}"
                )
        extra = sorted(set(built_in) - set(channels.values()))
        if extra:
            drifts.append(f"the built step has processing inputs no contract input names: {', '.join(extra)}")
        outs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
        built_out = {o["OutputName"]: o["S3Output"]["LocalPath"] for o in outs}
        if built_out != dict(contract.expected_output_paths):
            drifts.append(
                f"the built step's processing outputs {dict(sorted(built_out.items()))} are not the contract's "
                f"{dict(sorted(contract.expected_output_paths.items()))}"
            )
    elif kind is SageMakerStepKind.TRAINING:
        args = steps[-1]["Arguments"]
        built_channels = sorted(c["ChannelName"] for c in args.get("InputDataConfig", []))
        if built_channels != sorted(channels.values()):
            drifts.append(
                f"the built training job has channels {built_channels}, CHANNELS says {sorted(channels.values())}"
            )
        for name, path in sorted(contract.expected_input_paths.items()):
            channel = channels.get(name)
            if channel is not None and path != f"/opt/ml/input/data/{channel}":
                drifts.append(
                    f"contract input {name!r} is at {path}, but channel {channel!r} is mounted at "
                    f"/opt/ml/input/data/{channel}"
                )
    elif kind is SageMakerStepKind.MODEL:
        model = next((s for s in steps if s["Type"] == "Model"), None)
        container = (model or {}).get("Arguments", {}).get("PrimaryContainer", {})
        if "ModelDataUrl" not in container:
            drifts.append("the built model step has no PrimaryContainer.ModelDataUrl")
        for name, path in sorted(contract.expected_input_paths.items()):
            if path != "/opt/ml/model":
                drifts.append(
                    f"contract input {name!r} is at {path}, but SageMaker extracts model data to /opt/ml/model"
                )
    return drifts


def find_drifts(
    builder_cls: type[StepBuilderBase], config: StrictModel | None = None, *, build: bool = True
) -> list[str]:
    """Every drift of ``builder_cls`` (empty when aligned); see the module docstring for the checks.

    Args:
        builder_cls: the builder class to check.
        config: a valid config of the step type. Default ``None``: ``builder_cls.example_config()`` when
            the builder defines it, else the config-dependent checks are skipped.
        build: also build the SageMaker step and check it (imports the SDK). Default ``True``.
    """
    drifts = _static_drifts(builder_cls)
    sample = _sample_config(builder_cls, config)
    if sample is None:
        required = builder_cls.contract().required_env_vars
        if required:
            drifts.append(
                f"the contract requires environment variables {', '.join(required)}, and no config was "
                "given to show they are supplied (pass config=... or define example_config())"
            )
        return drifts
    drifts.extend(_config_drifts(builder_cls, sample, build=build))
    return drifts


def check_alignment(
    builder_cls: type[StepBuilderBase], config: StrictModel | None = None, *, build: bool = True
) -> None:
    """Raise :class:`SpecError` naming the step type and listing every drift of ``builder_cls``.

    Args:
        builder_cls: the builder class to check.
        config: a valid config (default: the builder's ``example_config()``, if any).
        build: also build the SageMaker step and compare it with the contract. Default ``True``.
    """
    drifts = find_drifts(builder_cls, config, build=build)
    if drifts:
        listing = "; ".join(f"({i}) {d}" for i, d in enumerate(drifts, 1))
        raise SpecError(
            f"{len(drifts)} drift(s) between specification, contract and builder: {listing}",
            step=builder_cls.STEP_TYPE,
            field=builder_cls.__name__,
            hint="make the specification, the script contract and the builder's CHANNELS agree",
        )


def check_all_registered(configs: Mapping[str, StrictModel] | None = None, *, build: bool = True) -> None:
    """:func:`check_alignment` for every registered step type; one :class:`SpecError` listing all failures.

    ``configs`` maps step types to sample configs (for builders without ``example_config()``).
    """
    from constructs_lib import registry

    failures: list[str] = []
    for step_type, cls in registry.step_builder_map().items():
        try:
            check_alignment(cls, (configs or {}).get(step_type), build=build)
        except SpecError as exc:
            failures.append(str(exc))
    if failures:
        raise SpecError(
            f"{len(failures)} registered step type(s) are misaligned: " + " | ".join(failures),
            hint="fix each step type listed",
        )
