"""``StepBuilderBase``: turns one validated config into one SageMaker pipeline step.

Every concrete builder declares its registry key (``STEP_TYPE``, equal to its class name without the
``Builder`` suffix, so the documented ``step_builder_map`` keys can never drift from the class names), the
config class it accepts, its :class:`StepSpecification` and :class:`ScriptContract`, and the channel each
dependency is delivered on. ``create_step(dependencies=[...])`` wires inputs from the predecessors'
declared outputs through the :class:`~constructs_lib.resolver.DependencyResolver`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from constructs_lib.config.base import StrictModel
from constructs_lib.context import BuildContext
from constructs_lib.errors import ConfigError, ConstructsLibError, SynthError

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import Step

    from constructs_lib.contracts.base import ScriptContract
    from constructs_lib.resolver import Resolution
    from constructs_lib.specs.base import StepSpecification

__all__ = ["CodePackage", "InputValue", "S3Access", "StepBuilderBase", "check_step_name", "spec_of"]

#: An input value: a plain S3 URI string or a SageMaker pipeline variable (property reference, parameter).
InputValue = Any

_STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
_SPEC_ATTR = "_constructs_lib_spec"


def check_step_name(name: str, *, field: str = "step_name") -> str:
    """A SageMaker pipeline step name: 1-64 characters of ``A-Za-z0-9-_`` (botocore ``StepName``)."""
    from constructs_lib import limits

    shape = limits.shape("StepName")
    if not isinstance(name, str) or not name or len(name) > (shape.max or 64) or not shape.fullmatch(name):
        raise ConfigError(
            "invalid SageMaker step name",
            field=field,
            value=name,
            hint=f"1-{shape.max} characters of A-Z, a-z, 0-9, '-' and '_'",
        )
    return name


def check_input_value(value: object, *, step: str, field: str) -> object:
    """An input is an ``s3://`` URI string or a SageMaker pipeline variable (parameter, property)."""
    from constructs_lib.config.base import check_s3_uri

    if isinstance(value, str):
        try:
            check_s3_uri(value, field=field)
        except ConfigError as exc:
            raise ConfigError(exc.message, step=step, field=field, value=value, hint=exc.hint) from None
        return value
    from constructs_lib.sdk_adapter import import_sagemaker

    import_sagemaker()
    from sagemaker.workflow.entities import PipelineVariable

    if not isinstance(value, PipelineVariable):
        raise ConfigError(
            "an input must be an s3:// URI or a pipeline variable",
            step=step,
            field=field,
            value=value,
            hint="e.g. 's3://bucket/prefix/', a ParameterString, or another step's property",
        )
    return value


def spec_of(step: object) -> StepSpecification | None:
    """The specification a step was built with (``None`` for steps not built by this library)."""
    return getattr(step, _SPEC_ATTR, None)


@dataclass(frozen=True)
class CodePackage:
    """A local source directory that must be packed and uploaded before the pipeline runs.

    Attributes:
        node: the DAG node (step name) whose code it is.
        placeholder_uri: the ``s3://`` URI the definition holds until the CDK layer substitutes the asset URI.
        source_dir: the local directory.
        entry_point: the script inside it (checked to exist when packing).
        extra_files: files added at the archive root (e.g. the hyperparameters JSON), name -> bytes.
    """

    node: str
    placeholder_uri: str
    source_dir: str
    entry_point: str
    extra_files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class S3Access:
    """S3 locations a step's job reads and writes (URIs, possibly holding placeholders or pipeline
    parameters' default values). The CDK layer turns them into least-privilege IAM statements."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


class StepBuilderBase(ABC):
    """Base of every step builder.

    Args:
        config: the step's validated config (an instance of ``CONFIG_CLASS``).
        sagemaker_session: a SageMaker session to build with. Default ``None``: an offline
            ``PipelineSession`` that never calls AWS.
        role: ARN of the role the job runs as. Default ``None``: a placeholder that the CDK construct
            replaces with its job role's ARN.
        region: AWS region. Default ``None``: the config's ``region``, else the session's, else an error.
        step_name: the step's name in the pipeline. Default: ``DEFAULT_STEP_NAME`` of the builder.
        pipeline_name: used in default S3 locations. Default ``"pipeline"``.
        artifact_root: ``s3://bucket[/prefix]`` for default output locations. Default: a placeholder that
            the CDK construct replaces with its artifact bucket.
        context: a ready :class:`BuildContext` (the template passes one); overrides the four above.
    """

    STEP_TYPE: ClassVar[str]
    CONFIG_CLASS: ClassVar[type[StrictModel]]
    DEFAULT_STEP_NAME: ClassVar[str]
    #: dependency logical name -> the job's input channel / processing input name it is delivered on.
    CHANNELS: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        config: StrictModel,
        sagemaker_session: PipelineSession | None = None,
        role: str | None = None,
        *,
        region: str | None = None,
        step_name: str | None = None,
        pipeline_name: str = "pipeline",
        artifact_root: str | None = None,
        context: BuildContext | None = None,
    ) -> None:
        if not isinstance(config, self.CONFIG_CLASS):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.CONFIG_CLASS.__name__}",
                field="config",
                value=type(config).__name__,
                hint=f"pass a {self.CONFIG_CLASS.__name__}(...)",
            )
        self.config = config
        self.step_name = check_step_name(step_name or self.DEFAULT_STEP_NAME)
        if context is None:
            cfg_region = getattr(config, "region", None)
            sess_region = getattr(sagemaker_session, "boto_region_name", None) if sagemaker_session else None
            resolved_region = region or cfg_region or sess_region
            if not resolved_region:
                raise ConfigError(
                    "no AWS region: the image URI and ARNs of the step are regional",
                    step=self.step_name,
                    field="region",
                    hint="pass region='us-east-1' (or set the config's region)",
                )
            kwargs: dict[str, Any] = {"region": resolved_region, "pipeline_name": pipeline_name}
            if role is not None:
                kwargs["role_arn"] = role
            if artifact_root is not None:
                kwargs["artifact_root"] = artifact_root
            context = BuildContext(sagemaker_session=sagemaker_session, **kwargs)
        self.context = context

    # ------------------------------------------------------------------ declarations
    @classmethod
    @abstractmethod
    def specification(cls) -> StepSpecification:
        """The step type's specification."""

    @classmethod
    @abstractmethod
    def contract(cls) -> ScriptContract:
        """The contract of the step's script."""

    def supplied_env(self) -> frozenset[str]:
        """Environment variable names the built job will have (from the config)."""
        env = getattr(self.config, "env", None) or {}
        return frozenset(env)

    def code_packages(self) -> tuple[CodePackage, ...]:
        """Local code this step needs uploaded (default: none)."""
        return ()

    def s3_access(self) -> S3Access:
        """S3 locations the job reads and writes, for least-privilege IAM (default: none)."""
        return S3Access()

    # ------------------------------------------------------------------ building
    def create_step(
        self,
        inputs: Mapping[str, InputValue] | None = None,
        dependencies: Sequence[Step] | None = None,
        *,
        overrides: Mapping[str, tuple[str, str]] | None = None,
        depends_on: Sequence[Step] | None = None,
    ) -> Step:
        """Build the SageMaker step.

        Args:
            inputs: explicit values for dependencies, logical name -> S3 URI or pipeline variable. These win
                over anything resolved from ``dependencies``.
            dependencies: predecessor steps (built by this library); each of this step's dependencies is
                wired to exactly one of their declared outputs by the dependency resolver, and the step
                depends on all of them.
            overrides: dependency logical name -> (predecessor step name, output name), to force an edge.
            depends_on: further steps to run after, without wiring their outputs (the template passes the
                DAG predecessors it resolved itself).
        """
        from constructs_lib.resolver import DependencyResolver

        resolved: dict[str, InputValue] = {}
        self.resolutions: tuple[Resolution, ...] = ()
        deps = list(dependencies or ())
        if deps:
            resolutions = DependencyResolver().resolve_steps(
                self.step_name,
                self.specification(),
                deps,
                explicit=set(inputs or {}),
                overrides=overrides,
                fallbacks=self.fallback_inputs(has_predecessors=True),
            )
            self.resolutions = tuple(resolutions)
            resolved.update({r.dependency: r.reference for r in resolutions})
        resolved.update(dict(inputs or {}))
        unknown = sorted(set(resolved) - {d.logical_name for d in self.specification().dependencies})
        if unknown:
            raise ConfigError(
                "unknown input",
                step=self.step_name,
                field="inputs",
                value=unknown,
                hint=f"{self.STEP_TYPE} accepts: {', '.join(d.logical_name for d in self.specification().dependencies)}",
            )
        for name, value in (inputs or {}).items():
            check_input_value(value, step=self.step_name, field=f"inputs.{name}")
        resolved = {**self.default_inputs(resolved), **resolved}
        missing = [
            d.logical_name
            for d in self.specification().dependencies
            if d.required and d.logical_name not in resolved
        ]
        if missing:
            raise ConfigError(
                "required input has no value",
                step=self.step_name,
                field="inputs",
                value=missing,
                hint="pass it in inputs=..., add a predecessor that provides it, or set it on the config",
            )
        try:
            step = self._build(resolved, depends_on=[*deps, *(depends_on or ())])
        except ConstructsLibError:
            raise
        except Exception as exc:  # SDK errors get the step's context, never a raw traceback
            raise SynthError(
                f"the SageMaker SDK failed to build the step: {type(exc).__name__}: {exc}",
                step=self.step_name,
                hint="check the step's config; report a bug if the config is valid",
            ) from exc
        object.__setattr__(step, _SPEC_ATTR, self.specification())
        return step

    def fallback_inputs(self, *, has_predecessors: bool) -> frozenset[str]:
        """Required dependencies this step fills itself when no predecessor provides them: with no
        predecessors, all of them (via :meth:`default_inputs`); otherwise those its config sets."""
        if not has_predecessors:
            return frozenset(d.logical_name for d in self.specification().dependencies)
        return frozenset(self.configured_inputs())

    def configured_inputs(self) -> dict[str, InputValue]:
        """Dependencies whose value the config sets explicitly (e.g. ``input_path``). Default: none."""
        return {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        """Values for dependencies nobody provided (e.g. the config's ``input_path``). Default: none."""
        return {}

    @abstractmethod
    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> Step:
        """Build the SDK step from resolved inputs."""
