"""Script contracts: what a step's script expects to find inside its container.

A :class:`ScriptContract` names the container paths of each logical input and output and the environment
variables the script reads. Together with the :class:`~constructs_lib.specs.StepSpecification` and the
builder's channels it is checked for drift by :func:`constructs_lib.alignment.check_alignment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from constructs_lib.errors import SpecError

__all__ = ["ScriptContract"]


def _frozen(m: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(m.items())))


@dataclass(frozen=True)
class ScriptContract:
    """The container-side contract of a step's script.

    Attributes:
        entry_point: the script's file name, e.g. ``train.py``.
        expected_input_paths: logical input name -> absolute container path the script reads.
        expected_output_paths: logical output name -> absolute container path the script writes.
        required_env_vars: variables the script cannot run without (the config must supply them).
        optional_env_vars: variables the script reads when present -> their documented default ("" if none).
        config_paths: other files the platform writes for the script (e.g. hyperparameters.json).
        channel_env_vars: logical input name -> environment variable holding its path (``SM_CHANNEL_DATA``).
        description: what the script does.
    """

    entry_point: str
    expected_input_paths: Mapping[str, str]
    expected_output_paths: Mapping[str, str]
    required_env_vars: tuple[str, ...] = ()
    optional_env_vars: Mapping[str, str] = field(default_factory=dict)
    config_paths: Mapping[str, str] = field(default_factory=dict)
    channel_env_vars: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        for attr in (
            "expected_input_paths",
            "expected_output_paths",
            "optional_env_vars",
            "config_paths",
            "channel_env_vars",
        ):
            object.__setattr__(self, attr, _frozen(getattr(self, attr)))
        for group in ("expected_input_paths", "expected_output_paths", "config_paths"):
            for name, path in getattr(self, group).items():
                if not path.startswith("/opt/ml/"):
                    raise SpecError(
                        "container paths must be absolute paths under /opt/ml/",
                        step=f"contract of {self.entry_point}",
                        field=f"{group}[{name!r}]",
                        value=path,
                    )
        overlap = sorted(set(self.required_env_vars) & set(self.optional_env_vars))
        if overlap:
            raise SpecError(
                "an environment variable cannot be both required and optional",
                step=f"contract of {self.entry_point}",
                value=overlap,
            )
