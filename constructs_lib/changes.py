"""Per-step change report between two SageMaker pipeline definitions (``python -m constructs_lib diff``).

For every step of the NEW definition (then every step only the OLD one has): added / removed / changed /
unchanged, each changed field by path (``train: Arguments.HyperParameters.learning_rate 0.001 ->
0.0005``; lists by index), and whether the step's cached results can be reused on the next execution or
it re-runs. Pipeline-level fields (``Parameters`` by name, ``PipelineExperimentConfig``, ...) are reported
too. Pure Python, no AWS call.

Caching rules applied (SageMaker developer guide, "Caching pipeline steps",
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html, and "Default cache key attributes
by pipeline step type", https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html):

* Step caching is opt-in, per step: ``CacheConfig: {"Enabled": true, "ExpireAfter": "<ISO 8601
  duration>"}``. A step without ``CacheConfig`` (or with ``Enabled: false``) runs on every execution.
* It exists for Processing, Training, Tuning, AutoML, Transform, ClarifyCheck, QualityCheck and EMR
  steps; every other step type (Model, RegisterModel, Condition, Lambda, Callback, Fail, ...) runs on
  every execution.
* A cached step is reused when a *successful* run of the same pipeline within ``ExpireAfter`` had the same
  values of the step type's cache-key attributes (:data:`CACHE_KEYS`, e.g. a Training step's
  ``AlgorithmSpecification``, ``CheckpointConfig``, ``DebugHookConfig``, ``DebugRuleConfigurations``,
  ``Environment``, ``HyperParameters``, ``InputDataConfig``); other fields (``ResourceConfig``,
  ``OutputDataConfig``, ``StoppingCondition``, ...) can change without a re-run.
* Values are compared as evaluated at run time, so a step also re-runs when its cache-key attributes
  reference (``{"Get": "Steps.<upstream>...."}``) a step that re-runs (new job, new output locations), use
  ``Execution.*`` values (new on every execution), or use a pipeline parameter whose default changed
  (executions started with default values).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CACHEABLE_STEP_TYPES",
    "CACHE_KEYS",
    "CacheVerdict",
    "ChangeReport",
    "FieldChange",
    "StepChange",
    "compare_definitions",
]

#: Cache-key attributes per step type, as paths relative to the step (``Arguments.X`` or a step-level
#: field). From "Default cache key attributes by pipeline step type" (see the module docstring). Check
#: steps are keyed on their whole processing-job ``Arguments`` (where the SDK puts the check's and the
#: check job's configuration) plus the step-level check fields.
CACHE_KEYS: Mapping[str, tuple[str, ...]] = {
    "Processing": ("Arguments.AppSpecification", "Arguments.Environment", "Arguments.ProcessingInputs"),
    "Training": (
        "Arguments.AlgorithmSpecification",
        "Arguments.CheckpointConfig",
        "Arguments.DebugHookConfig",
        "Arguments.DebugRuleConfigurations",
        "Arguments.Environment",
        "Arguments.HyperParameters",
        "Arguments.InputDataConfig",
    ),
    "Tuning": (
        "Arguments.HyperParameterTuningJobConfig",
        "Arguments.TrainingJobDefinition.AlgorithmSpecification",
        "Arguments.TrainingJobDefinition.HyperParameterRanges",
        "Arguments.TrainingJobDefinition.InputDataConfig",
        "Arguments.TrainingJobDefinition.StaticHyperParameters",
        "Arguments.TrainingJobDefinition.TuningObjective",
        "Arguments.TrainingJobDefinitions",
    ),
    "AutoML": (
        "Arguments.AutoMLJobConfig.CompletionCriteria",
        "Arguments.AutoMLJobConfig.CandidateGenerationConfig",
        "Arguments.AutoMLJobConfig.DataSplitConfig",
        "Arguments.AutoMLJobConfig.Mode",
        "Arguments.AutoMLJobObjective",
        "Arguments.InputDataConfig",
        "Arguments.ProblemType",
    ),
    "Transform": (
        "Arguments.DataProcessing",
        "Arguments.Environment",
        "Arguments.ModelName",
        "Arguments.TransformInput",
    ),
    "ClarifyCheck": (
        "Arguments",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
    ),
    "QualityCheck": (
        "Arguments",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "SuppliedBaselineStatistics",
    ),
    "EMR": ("Arguments.ClusterId", "Arguments.StepConfig"),
}

#: Step types SageMaker can cache.
CACHEABLE_STEP_TYPES = frozenset(CACHE_KEYS)

#: Values longer than this are shortened in the text report (around the part that differs).
MAX_VALUE_CHARS = 80

Status = Literal["added", "removed", "changed", "unchanged"]
_Verdicts = Callable[[str, frozenset[str]], "CacheVerdict"]

_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)")
_PARAM_REF = re.compile(r"^Parameters\.([A-Za-z0-9_-]+)$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:-]+$")


class _Absent:
    """A field that one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. ``old``/``new`` is :data:`ABSENT` where that side lacks the field.

    Attributes:
        path: dotted path from the step (``Arguments.HyperParameters.learning_rate``, ``[i]`` for list
            items) or from the definition's top level for pipeline-level changes
            (``Parameters.<name>.DefaultValue``).
        old: the OLD value.
        new: the NEW value.
    """

    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        """``added`` (only NEW has it), ``removed`` (only OLD) or ``changed``."""
        if self.old is ABSENT:
            return "added"
        if self.new is ABSENT:
            return "removed"
        return "changed"

    def to_text(self) -> str:
        """``path old -> new`` with long values shortened around the difference."""
        old, new = _show(self.old), _show(self.new)
        if old == new and self.old is not ABSENT and self.new is not ABSENT:  # e.g. "1" vs 1
            old, new = json.dumps(self.old), json.dumps(self.new)
        return f"{self.path} {_shorten(old, new)} -> {_shorten(new, old)}"

    def to_json(self) -> dict[str, Any]:
        """``{"path", "change", "old"?, "new"?}`` with complete values."""
        out: dict[str, Any] = {"path": self.path, "change": self.kind}
        if self.old is not ABSENT:
            out["old"] = self.old
        if self.new is not ABSENT:
            out["new"] = self.new
        return out


@dataclass(frozen=True)
class CacheVerdict:
    """Whether a step's cached results can be reused on the next execution of the NEW definition.

    Attributes:
        reuse: ``True``: reusable (a successful run with the same cache key within ``ExpireAfter`` is
            reused); ``False``: the step runs; ``None``: not applicable (a removed step).
        reason: why, in a few words (``upstream 'preprocess' re-runs``).
    """

    reuse: bool | None
    reason: str

    def to_text(self) -> str:
        if self.reuse is None:
            return self.reason
        return ("cached results reusable: " if self.reuse else "re-runs: ") + self.reason


@dataclass(frozen=True)
class StepChange:
    """One step's comparison.

    Attributes:
        name: the step name.
        step_type: its ``Type`` (NEW's, or OLD's for a removed step).
        status: ``added``, ``removed``, ``changed`` or ``unchanged``.
        changes: the fields that differ (empty unless ``changed``).
        cache: the caching verdict for NEW's next execution.
    """

    name: str
    step_type: str
    status: Status
    changes: tuple[FieldChange, ...]
    cache: CacheVerdict

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.step_type,
            "status": self.status,
            "changes": [c.to_json() for c in self.changes],
            "cache": {"reuse": self.cache.reuse, "reason": self.cache.reason},
        }


@dataclass(frozen=True)
class ChangeReport:
    """The comparison of two definitions (see :func:`compare_definitions`).

    Attributes:
        old_label, new_label: where each side came from.
        pipeline: pipeline-level changes (everything but ``Steps``).
        steps: one entry per step, in NEW's step order, then the removed steps in OLD's order.
    """

    old_label: str
    new_label: str
    pipeline: tuple[FieldChange, ...]
    steps: tuple[StepChange, ...]

    @property
    def identical(self) -> bool:
        """No pipeline-level change and every step unchanged."""
        return not self.pipeline and all(s.status == "unchanged" for s in self.steps)

    def summary(self) -> str:
        """``steps: 1 changed, 0 added, 0 removed, 3 unchanged; pipeline-level changes: 0``."""
        n = {
            k: sum(1 for s in self.steps if s.status == k)
            for k in ("changed", "added", "removed", "unchanged")
        }
        return (
            f"steps: {n['changed']} changed, {n['added']} added, {n['removed']} removed, "
            f"{n['unchanged']} unchanged; pipeline-level changes: {len(self.pipeline)}"
        )

    def to_text(self, *, cache: bool = True, labels: tuple[str, str] = ("old", "new")) -> str:
        """The report for people: a header, pipeline-level changes, one block per step, a summary.

        Args:
            cache: include each step's caching verdict. Default ``True``.
            labels: the names of the two sides in the header. Default ``("old", "new")``.
        """
        lines = [f"--- {labels[0]}: {self.old_label}", f"+++ {labels[1]}: {self.new_label}"]
        lines.append(f"pipeline: {'changed' if self.pipeline else 'unchanged'}")
        lines.extend(f"  pipeline: {c.to_text()}" for c in self.pipeline)
        for step in self.steps:
            head = f"step {step.name} ({step.step_type}): {step.status}"
            if cache and step.status != "removed":
                head += f"; {step.cache.to_text()}"
            lines.append(head)
            lines.extend(f"  {step.name}: {c.to_text()}" for c in step.changes)
        lines.append(("identical: " if self.identical else "differs: ") + self.summary())
        return "\n".join(lines) + "\n"

    def to_json(self, *, cache: bool = True) -> dict[str, Any]:
        """The report for machines (complete values, no shortening)."""
        steps = [s.to_json() for s in self.steps]
        if not cache:
            for s in steps:
                s.pop("cache")
        return {
            "old": self.old_label,
            "new": self.new_label,
            "identical": self.identical,
            "pipeline": [c.to_json() for c in self.pipeline],
            "steps": steps,
            "summary": self.summary(),
        }


# ---------------------------------------------------------------------------------------- comparison


def compare_definitions(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_label: str = "old", new_label: str = "new"
) -> ChangeReport:
    """Compare two pipeline definitions (parsed JSON) step by step.

    Steps are matched by ``Name`` (steps nested in a Condition step's ``IfSteps``/``ElseSteps`` count as
    steps of their own; the Condition step lists their names). Parameters are matched by ``Name``; other
    lists by index. Deterministic: NEW's step order, then removed steps in OLD's order; fields in sorted
    key order.
    """
    old_steps, new_steps = _flatten(old.get("Steps") or []), _flatten(new.get("Steps") or [])
    pipeline = tuple(_diff(_pipeline_level(old), _pipeline_level(new), ""))
    changed_params = _changed_parameters(old, new)

    verdicts: dict[str, CacheVerdict] = {}
    statuses: dict[str, tuple[Status, tuple[FieldChange, ...]]] = {}
    for name, step in new_steps.items():
        if name not in old_steps:
            statuses[name] = ("added", ())
        else:
            diffs = tuple(_diff(old_steps[name], step, ""))
            statuses[name] = ("changed" if diffs else "unchanged", diffs)

    def verdict(name: str, visiting: frozenset[str]) -> CacheVerdict:
        if name in verdicts:
            return verdicts[name]
        result = _verdict(name, new_steps, old_steps, statuses, changed_params, visiting, verdict)
        verdicts[name] = result
        return result

    steps = []
    for name, step in new_steps.items():
        status, diffs = statuses[name]
        steps.append(
            StepChange(name, str(step.get("Type", "?")), status, diffs, verdict(name, frozenset())),
        )
    for name, step in old_steps.items():
        if name not in new_steps:
            steps.append(
                StepChange(name, str(step.get("Type", "?")), "removed", (), CacheVerdict(None, "removed"))
            )
    return ChangeReport(old_label, new_label, pipeline, tuple(steps))


def _flatten(steps: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Name -> step, Condition steps' nested steps included (depth first, definition order)."""
    out: dict[str, dict[str, Any]] = {}
    for step in steps:
        if not isinstance(step, Mapping):
            continue
        step = dict(step)
        args = step.get("Arguments")
        nested: list[Any] = []
        if step.get("Type") == "Condition" and isinstance(args, Mapping):
            args = dict(args)
            for branch in ("IfSteps", "ElseSteps"):
                if isinstance(args.get(branch), list):
                    nested_branch = args[branch]
                    nested.extend(nested_branch)
                    args[branch] = [s.get("Name") if isinstance(s, Mapping) else s for s in nested_branch]
            step["Arguments"] = args
        out[str(step.get("Name"))] = step
        out.update(_flatten(nested))
    return out


def _pipeline_level(definition: Mapping[str, Any]) -> dict[str, Any]:
    level = {k: v for k, v in definition.items() if k != "Steps"}
    params = level.get("Parameters")
    if isinstance(params, list) and all(isinstance(p, Mapping) and "Name" in p for p in params):
        level["Parameters"] = {p["Name"]: {k: v for k, v in p.items() if k != "Name"} for p in params}
    return level


def _changed_parameters(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    def defaults(d: Mapping[str, Any]) -> dict[str, Any]:
        return {
            p["Name"]: json.dumps(p.get("DefaultValue"), sort_keys=True)
            for p in d.get("Parameters") or []
            if isinstance(p, Mapping) and "Name" in p
        }

    before, after = defaults(old), defaults(new)
    return {name for name in after if before.get(name) != after[name]}


def _same(a: Any, b: Any) -> bool:
    """JSON equality that tells ``1``, ``1.0``, ``True`` and ``"1"`` apart."""
    if a is ABSENT or b is ABSENT:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _key(path: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else json.dumps(key)
    return f"{path}.{part}" if path else part


def _diff(old: Any, new: Any, path: str) -> Iterator[FieldChange]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            child = _key(path, str(key))
            if key not in old:
                yield FieldChange(child, ABSENT, new[key])
            elif key not in new:
                yield FieldChange(child, old[key], ABSENT)
            else:
                yield from _diff(old[key], new[key], child)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            child = f"{path}[{i}]"
            if i >= len(old):
                yield FieldChange(child, ABSENT, new[i])
            elif i >= len(new):
                yield FieldChange(child, old[i], ABSENT)
            else:
                yield from _diff(old[i], new[i], child)
    elif not _same(old, new):
        yield FieldChange(path or "(definition)", old, new)


def _get(step: Mapping[str, Any], path: str) -> Any:
    value: Any = step
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ABSENT
        value = value[part]
    return value


def _gets(value: Any) -> Iterator[str]:
    """Every ``{"Get": "..."}`` reference in ``value``."""
    if isinstance(value, Mapping):
        get = value.get("Get")
        if isinstance(get, str):
            yield get
        for v in value.values():
            yield from _gets(v)
    elif isinstance(value, list):
        for v in value:
            yield from _gets(v)


def _verdict(
    name: str,
    new_steps: Mapping[str, Mapping[str, Any]],
    old_steps: Mapping[str, Mapping[str, Any]],
    statuses: Mapping[str, tuple[Status, tuple[FieldChange, ...]]],
    changed_params: set[str],
    visiting: frozenset[str],
    verdict: _Verdicts,
) -> CacheVerdict:
    step = new_steps[name]
    step_type = str(step.get("Type", "?"))
    keys = CACHE_KEYS.get(step_type)
    cache = step.get("CacheConfig")
    enabled = isinstance(cache, Mapping) and cache.get("Enabled") is True
    if keys is None:
        if statuses[name][0] == "added":
            return CacheVerdict(False, f"new step ({step_type} steps are not cached)")
        return CacheVerdict(False, f"{step_type} steps are not cached (runs on every execution)")
    if statuses[name][0] == "added":
        return CacheVerdict(False, "new step")
    if not isinstance(cache, Mapping):
        return CacheVerdict(False, "no CacheConfig (caching is off: runs on every execution)")
    if not enabled:
        return CacheVerdict(False, "CacheConfig.Enabled is not true (runs on every execution)")

    old_step = old_steps[name]
    if str(old_step.get("Type")) != step_type:
        return CacheVerdict(False, f"step type changed from {old_step.get('Type')} to {step_type}")
    changed_keys = [k for k in keys if not _same(_get(old_step, k), _get(step, k))]
    if changed_keys:
        shown = ", ".join(k.removeprefix("Arguments.") for k in changed_keys)
        return CacheVerdict(False, f"cache key changed ({shown})")

    refs = sorted({r for k in keys for r in _gets(_get(step, k))})
    execution = sorted(r for r in refs if r.startswith("Execution."))
    if execution:
        return CacheVerdict(False, f"its cache key uses {execution[0]} (new on every execution)")
    params = sorted({m.group(1) for r in refs if (m := _PARAM_REF.match(r)) and m.group(1) in changed_params})
    if params:
        listed = ", ".join(repr(p) for p in params)
        return CacheVerdict(False, f"default of parameter{'s' if len(params) > 1 else ''} {listed} changed")
    upstream = sorted({m.group(1) for r in refs if (m := _STEP_REF.match(r))})
    rerun = [
        u
        for u in upstream
        if u in new_steps and u not in visiting and verdict(u, visiting | {name}).reuse is False
    ]
    if rerun:
        listed = ", ".join(repr(u) for u in rerun)
        return CacheVerdict(False, f"upstream {listed} re-run{'s' if len(rerun) == 1 else ''}")
    expire = cache.get("ExpireAfter")
    window = f" within ExpireAfter {expire}" if isinstance(expire, str) else ""
    return CacheVerdict(True, f"cache key unchanged (a successful run{window} is reused)")


# ---------------------------------------------------------------------------------------- formatting


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _shorten(text: str, other: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut to about ``limit`` characters around where it differs from ``other``."""
    if len(text) <= limit:
        return text
    prefix = 0
    for a, b in zip(text, other, strict=False):
        if a != b:
            break
        prefix += 1
    start = max(0, min(prefix - 20, len(text) - limit))
    end = start + limit
    return ("..." if start else "") + text[start:end] + (f"...({len(text)} chars)" if end < len(text) else "")
