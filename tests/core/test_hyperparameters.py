"""ModelHyperparameters (and the reference script's TabularClassifierHyperparameters): validation and
round-trip through SageMaker's HyperParameters strings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_lib import ConfigError, ModelHyperparameters, TabularClassifierHyperparameters
from constructs_lib.config.hyperparameters import reference_hyperparameters_class
from constructs_lib.examples import seed_hyperparameters

FIELDS = ["customer_id", "target", "feature1", "feature2", "feature3"]


def hp(**kw: object) -> ModelHyperparameters:
    base: dict[str, object] = {
        "id_name": "customer_id",
        "label_name": "target",
        "full_field_list": FIELDS,
        "tab_field_list": ["feature1", "feature2"],
        "cat_field_list": ["feature3"],
    }
    base.update(kw)
    # the reference model's knobs (dropout, hidden_dims, ...) are TabularClassifierHyperparameters' fields
    return reference_hyperparameters_class(kw)(**base)  # type: ignore[arg-type]


def test_seed_example_round_trips() -> None:
    h = seed_hyperparameters()
    encoded = h.to_sagemaker()
    assert all(isinstance(v, str) for v in encoded.values())
    assert encoded["learning_rate"] == "0.001" and encoded["id_name"] == '"customer_id"'
    assert json.loads(encoded["full_field_list"]) == FIELDS
    assert isinstance(h, TabularClassifierHyperparameters)  # the reference script's knobs are sent too
    assert json.loads(encoded["hidden_dims"]) == [64, 32] and encoded["seed"] == "42"
    assert TabularClassifierHyperparameters.from_sagemaker(encoded) == h
    # SageMaker's own entries are ignored on the way back
    assert (
        TabularClassifierHyperparameters.from_sagemaker({**encoded, "sagemaker_program": '"train.py"'}) == h
    )
    # the seed's own fields alone: a plain ModelHyperparameters (which sends no knob) reads them back
    plain = ModelHyperparameters.from_sagemaker(encoded)
    assert type(plain) is ModelHyperparameters
    assert plain.to_values() == {
        k: v for k, v in h.to_values().items() if k in ModelHyperparameters.model_fields
    }


@pytest.mark.parametrize(
    ("kw", "field", "fragment"),
    [
        ({"id_name": "nope"}, "id_name", "must be one of full_field_list"),
        ({"label_name": "nope"}, "label_name", "must be one of full_field_list"),
        ({"label_name": "customer_id"}, "label_name", "different columns"),
        ({"tab_field_list": ["feature1", "zzz"]}, "tab_field_list", "full_field_list"),
        ({"cat_field_list": ["zzz"]}, "cat_field_list", "full_field_list"),
        ({"tab_field_list": ["feature1", "target"]}, "tab_field_list", "cannot be features"),
        ({"cat_field_list": ["customer_id"]}, "cat_field_list", "cannot be features"),
        ({"cat_field_list": ["feature1"]}, "cat_field_list", "both numeric and categorical"),
        ({"learning_rate": 0}, "learning_rate", "> 0"),
        ({"learning_rate": -1e-3}, "learning_rate", "> 0"),
        ({"learning_rate": float("nan")}, "learning_rate", "> 0"),
        ({"batch_size": 0}, "batch_size", ">= 1"),
        ({"epochs": 0}, "epochs", ">= 1"),
        ({"full_field_list": [*FIELDS, "feature1"]}, "full_field_list", "unique"),
        ({"full_field_list": [*FIELDS, ""]}, "full_field_list", "non-empty"),
        ({"tab_field_list": [], "cat_field_list": []}, "tab_field_list", "at least one feature"),
        ({"dropout": 1.0}, "dropout", "0 <= dropout < 1"),
        ({"hidden_dims": []}, "hidden_dims", "at least one layer"),
    ],
)
def test_validation_rules(kw: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        hp(**kw)
    assert field in str(err.value)
    assert fragment in str(err.value)


def test_five_hundred_fields_serialize_without_truncation() -> None:
    names = [f"feature_{i:04d}" for i in range(500)]
    h = ModelHyperparameters(
        id_name="id", label_name="y", full_field_list=["id", "y", *names], tab_field_list=names
    )
    encoded = h.to_sagemaker()
    assert len(encoded["full_field_list"]) > 2500  # would not fit inline
    assert ModelHyperparameters.from_sagemaker(encoded) == h


_name = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: s.strip() != "")


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(_name, min_size=3, max_size=30, unique=True),
    lr=st.floats(min_value=1e-9, max_value=10, allow_nan=False),
    batch=st.integers(min_value=1, max_value=4096),
    epochs=st.integers(min_value=1, max_value=1000),
    split=st.integers(min_value=0, max_value=100),
)
def test_round_trip_property(names: list[str], lr: float, batch: int, epochs: int, split: int) -> None:
    features = names[2:]
    cut = split % (len(features) + 1)
    h = ModelHyperparameters(
        id_name=names[0],
        label_name=names[1],
        full_field_list=names,
        tab_field_list=features[:cut],
        cat_field_list=features[cut:],
        learning_rate=lr,
        batch_size=batch,
        epochs=epochs,
    )
    assert ModelHyperparameters.from_sagemaker(h.to_sagemaker()) == h
