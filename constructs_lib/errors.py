"""One error hierarchy for the library.

Every error names *where* (the step and/or the field), *what* (the offending value) and *how to fix it*
(a hint). SDK and CDK exceptions raised while the library does its work are wrapped into one of these,
so a user never has to read a traceback from deep inside botocore, the SageMaker SDK or jsii.

    ConstructsLibError
    ├── ConfigError        a config object or one of its fields is invalid
    ├── SpecError          a step specification / script contract is inconsistent
    ├── DagError           the pipeline graph is malformed (unknown node, duplicate, cycle)
    ├── ResolutionError    a dependency cannot be wired unambiguously
    └── SynthError         building the definition or the CloudFormation template failed
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigError",
    "ConstructsLibError",
    "DagError",
    "ResolutionError",
    "SpecError",
    "SynthError",
]

_MAX_VALUE_REPR = 120


def _short(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = f"{text[: _MAX_VALUE_REPR - 20]}...<{len(text)} chars>"
    return text


class ConstructsLibError(Exception):
    """Base class of every error the library raises on purpose.

    Attributes:
        message: what is wrong, in one sentence.
        step: the pipeline step (DAG node) concerned, if any.
        field: the config field or spec item concerned (dotted path), if any.
        value: the offending value, if any (``None`` when not applicable).
        hint: how to fix it / what is allowed.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        field: str | None = None,
        value: object = None,
        hint: str | None = None,
        has_value: bool | None = None,
    ) -> None:
        self.message = message
        self.step = step
        self.field = field
        self.value = value
        self.hint = hint
        self.has_value = has_value if has_value is not None else value is not None
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.step is not None:
            where.append(f"step {self.step!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.has_value:
            text += f" (got {_short(self.value)})"
        if self.hint:
            text += f". {self.hint}"
        return text

    def one_line(self) -> str:
        """The message on one line, prefixed with the error class: what the CLI prints."""
        return f"{type(self).__name__}: {' '.join(str(self).split())}"


class ConfigError(ConstructsLibError, ValueError):
    """A configuration object or one of its fields is invalid.

    ``errors`` holds one entry per failing field when several were found at once.
    """

    kind = "config"

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        field: str | None = None,
        value: object = None,
        hint: str | None = None,
        has_value: bool | None = None,
        errors: Sequence[ConfigError] = (),
    ) -> None:
        self.errors: tuple[ConfigError, ...] = tuple(errors)
        super().__init__(message, step=step, field=field, value=value, hint=hint, has_value=has_value)


class SpecError(ConstructsLibError, ValueError):
    """A step specification, script contract or their alignment with a builder is inconsistent."""

    kind = "spec"


class DagError(ConstructsLibError, ValueError):
    """The pipeline graph is malformed: unknown node, duplicate node, cycle, bad name."""

    kind = "dag"


class ResolutionError(ConstructsLibError, ValueError):
    """A step dependency cannot be wired to exactly one predecessor output."""

    kind = "resolution"


class SynthError(ConstructsLibError, RuntimeError):
    """Building the pipeline definition or the CloudFormation template failed."""

    kind = "synth"
