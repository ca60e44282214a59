"""Hyperparameters: what the training script needs to know about the table and the optimiser.

* :class:`ModelHyperparameters`: the seed's fields (the table's columns, learning rate, batch size,
  epochs). Subclass it to give your own training script its own hyperparameters: every field of the
  subclass is validated with the config and sent to the job, and nothing else is.
* :class:`TabularClassifierHyperparameters`: the reference ``train.py``'s model knobs on top
  (``hidden_dims``, ``dropout``, ``embedding_dim``, ``seed``); only this class sends them. The reference
  script defaults them when they are absent, so a plain ``ModelHyperparameters`` trains it too.

SageMaker passes hyperparameters to the container as a map of strings, each at most 2,500 characters
(botocore ``HyperParameterValue``). :meth:`ModelHyperparameters.to_sagemaker` gives exactly the strings
that reach the container (each value JSON-encoded, as the SDK encodes them) and
:meth:`ModelHyperparameters.from_sagemaker` reads them back: the two round-trip, for a subclass too
(``MyHyperparameters.from_sagemaker``). Long values that do not fit are shipped by the step builder as a
JSON file beside the training code; nothing is truncated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import Field, StrictFloat, StrictInt, field_validator, model_validator
from pydantic_core import PydanticSerializationError

from constructs_lib.config.base import StrictModel
from constructs_lib.errors import ConfigError

__all__ = [
    "HYPERPARAMETERS_FILE",
    "RESERVED_PREFIX",
    "ModelHyperparameters",
    "TabularClassifierHyperparameters",
    "reference_hyperparameters_class",
]

#: Name of the JSON file, at the root of the packed source directory, that holds the complete
#: hyperparameters (field lists included) when they do not all fit into SageMaker's ``HyperParameters``.
HYPERPARAMETERS_FILE = "constructs_lib_hyperparameters.json"

#: Hyperparameter names SageMaker keeps for itself (``sagemaker_program``, ``sagemaker_submit_directory``,
#: ...): the SDK sets them and training scripts ignore them, so no field may start with it.
RESERVED_PREFIX = "sagemaker_"


def _check_names(values: list[str], field: str) -> list[str]:
    for i, name in enumerate(values):
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                "field names must be non-empty strings",
                field=f"{field}[{i}]",
                value=name,
                hint="use the column names of your table",
            )
    seen: set[str] = set()
    dupes = sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]
    if dupes:
        raise ConfigError(
            "field names must be unique",
            field=field,
            value=dupes,
            hint="list every column once",
        )
    return values


class ModelHyperparameters(StrictModel):
    """Hyperparameters of a tabular training script: the seed's fields.

    Every field is sent to the training job (JSON-encoded strings in ``HyperParameters``, or the
    ``constructs_lib_hyperparameters.json`` file beside the code when a value is too long). To give your
    own script its own hyperparameters, subclass this model and add fields; they are validated, sent and
    serialized with the config like the seed's::

        class MyHyperparameters(ModelHyperparameters):
            l2_penalty: float = 0.0  # arrives as the hyperparameter "l2_penalty"

    A field's value must be JSON-serializable, and its name must not start with ``sagemaker_``
    (SageMaker's own entries). A config holding a subclass dumps the subclass's fields
    (``model_dump``); validate such a dump with ``PyTorchTrainingConfig[MyHyperparameters]``.
    """

    #: Added to the "unknown field" error of a dump validated against the wrong class.
    UNKNOWN_FIELD_HINT: ClassVar[str] = (
        "a field of a ModelHyperparameters subclass? validate the dump with the subclass, e.g. "
        "PyTorchTrainingConfig[MyHyperparameters].model_validate(data)"
    )

    id_name: str = Field(min_length=1)
    """Name of the row-id column (in ``full_field_list``; never a feature). Required."""

    label_name: str = Field(min_length=1)
    """Name of the binary label column (in ``full_field_list``; never a feature). Required."""

    full_field_list: list[str] = Field(min_length=2)
    """Every column of the table, in order. Required; unique, non-empty names."""

    tab_field_list: list[str] = Field(default_factory=list)
    """Numeric feature columns (normalised with training-split statistics). Default: ``[]``."""

    cat_field_list: list[str] = Field(default_factory=list)
    """Categorical feature columns (learned embeddings). Default: ``[]``."""

    learning_rate: StrictFloat = 1e-3
    """Adam learning rate, ``> 0``. Default ``0.001``."""

    batch_size: StrictInt = 32
    """Mini-batch size, ``>= 1``. Default ``32``."""

    epochs: StrictInt = 10
    """Number of passes over the training split, ``>= 1``. Default ``10``."""

    @field_validator("full_field_list")
    @classmethod
    def _full_names(cls, v: list[str]) -> list[str]:
        return _check_names(v, "full_field_list")

    @field_validator("tab_field_list")
    @classmethod
    def _tab_names(cls, v: list[str]) -> list[str]:
        return _check_names(v, "tab_field_list")

    @field_validator("cat_field_list")
    @classmethod
    def _cat_names(cls, v: list[str]) -> list[str]:
        return _check_names(v, "cat_field_list")

    @field_validator("learning_rate")
    @classmethod
    def _lr(cls, v: float) -> float:
        if not v > 0 or v != v or v == float("inf"):
            raise ConfigError(
                "must be a finite number > 0", field="learning_rate", value=v, hint="e.g. 0.001"
            )
        return v

    @field_validator("batch_size", "epochs")
    @classmethod
    def _positive(cls, v: int, info: Any) -> int:
        if v < 1:
            raise ConfigError("must be >= 1", field=info.field_name, value=v)
        return v

    @model_validator(mode="after")
    def _fields_consistent(self) -> Self:
        full = set(self.full_field_list)
        for name in ("id_name", "label_name"):
            value = getattr(self, name)
            if value not in full:
                raise ConfigError(
                    "must be one of full_field_list",
                    field=name,
                    value=value,
                    hint=f"full_field_list is {self.full_field_list!r}"[:300],
                )
        if self.id_name == self.label_name:
            raise ConfigError(
                "id and label must be different columns", field="label_name", value=self.label_name
            )
        reserved = {self.id_name, self.label_name}
        for name in ("tab_field_list", "cat_field_list"):
            values = getattr(self, name)
            missing = [v for v in values if v not in full]
            if missing:
                raise ConfigError(
                    "every feature must be listed in full_field_list",
                    field=name,
                    value=missing,
                    hint="add the columns to full_field_list or remove them here",
                )
            bad = [v for v in values if v in reserved]
            if bad:
                raise ConfigError(
                    "the id and label columns cannot be features",
                    field=name,
                    value=bad,
                    hint=f"remove {', '.join(bad)}",
                )
        both = sorted(set(self.tab_field_list) & set(self.cat_field_list))
        if both:
            raise ConfigError(
                "a column cannot be both numeric and categorical",
                field="cat_field_list",
                value=both,
                hint="list each feature in exactly one of tab_field_list and cat_field_list",
            )
        if not self.tab_field_list and not self.cat_field_list:
            raise ConfigError(
                "at least one feature is needed",
                field="tab_field_list",
                value=[],
                has_value=True,
                hint="list numeric features in tab_field_list and/or categorical ones in cat_field_list",
            )
        return self

    @model_validator(mode="after")
    def _names_not_reserved(self) -> Self:
        reserved = sorted(name for name in type(self).model_fields if name.startswith(RESERVED_PREFIX))
        if reserved:
            raise ConfigError(
                f"hyperparameter names starting with {RESERVED_PREFIX!r} are SageMaker's own",
                field=reserved[0],
                value=reserved,
                hint=f"rename the field of {type(self).__name__}",
            )
        return self

    # ------------------------------------------------------------------ serialisation
    def to_values(self) -> dict[str, Any]:
        """Plain JSON values of every field of this (sub)class, keys sorted: what the job receives.

        Raises :class:`ConfigError` when a field of a subclass holds a value without a JSON form."""
        try:
            values = self.model_dump(mode="json")
        except PydanticSerializationError as exc:
            raise ConfigError(
                "a hyperparameter has no JSON form, so it cannot be sent to the job",
                field=type(self).__name__,
                value=str(exc).splitlines()[0],
                hint="use JSON types for hyperparameter fields (str, int, float, bool, lists, dicts, models)",
            ) from None
        return dict(sorted(values.items()))

    def to_sagemaker(self) -> dict[str, str]:
        """``{name: json.dumps(value)}``: the exact strings SageMaker stores in ``HyperParameters``."""
        return {key: json.dumps(value) for key, value in self.to_values().items()}

    @classmethod
    def from_sagemaker(cls, values: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_sagemaker` (of this class: call it on your subclass); also accepts
        already-decoded values and ignores SageMaker's own ``sagemaker_*`` entries and keys this model
        does not know."""
        if not isinstance(values, Mapping):
            raise ConfigError(
                "hyperparameters must be a mapping of names to values",
                field="hyperparameters",
                value=type(values).__name__,
            )
        decoded: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in cls.model_fields:
                continue
            if isinstance(raw, str):
                try:
                    decoded[key] = json.loads(raw)
                except json.JSONDecodeError:
                    decoded[key] = raw
            else:
                decoded[key] = raw
        return cls(**decoded)


class TabularClassifierHyperparameters(ModelHyperparameters):
    """The reference ``train.py``'s hyperparameters: the seed's fields plus the MLP's knobs.

    Use it (the examples and the demo do) to set the knobs; a plain :class:`ModelHyperparameters` sends
    none of them and the reference script uses the defaults below.
    """

    hidden_dims: list[StrictInt] = Field(default_factory=lambda: [64, 32])
    """Widths of the MLP's hidden layers, each ``>= 1``. Default ``[64, 32]``."""

    dropout: StrictFloat = 0.1
    """Dropout probability after each hidden layer, ``0 <= p < 1``. Default ``0.1``."""

    embedding_dim: StrictInt = 8
    """Width of each categorical embedding, ``>= 1``. Default ``8``."""

    seed: StrictInt = 42
    """Random seed for weights and shuffling, ``>= 0``. Default ``42``."""

    @field_validator("embedding_dim")
    @classmethod
    def _embedding_dim(cls, v: int) -> int:
        if v < 1:
            raise ConfigError("must be >= 1", field="embedding_dim", value=v)
        return v

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        if v < 0:
            raise ConfigError("must be >= 0", field="seed", value=v)
        return v

    @field_validator("hidden_dims")
    @classmethod
    def _hidden(cls, v: list[StrictInt]) -> list[StrictInt]:
        if not v or any(d < 1 for d in v):
            raise ConfigError("needs at least one layer, each width >= 1", field="hidden_dims", value=v)
        return v

    @field_validator("dropout")
    @classmethod
    def _dropout(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ConfigError("must satisfy 0 <= dropout < 1", field="dropout", value=v)
        return v


def reference_hyperparameters_class(values: object) -> type[ModelHyperparameters]:
    """The class to validate plain hyperparameter ``values`` (a JSON object) with when no class is named:
    :class:`TabularClassifierHyperparameters` when they set one of the reference model's knobs, else
    :class:`ModelHyperparameters` (so nothing is added that the values do not declare)."""
    knobs = set(TabularClassifierHyperparameters.model_fields) - set(ModelHyperparameters.model_fields)
    if isinstance(values, Mapping) and knobs & set(values):
        return TabularClassifierHyperparameters
    return ModelHyperparameters
