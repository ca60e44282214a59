"""syrupy JSON snapshots of the example app's templates, through :func:`constructs_lib.testing.template_snapshot`:
hashes and CDK bookkeeping masked, each pipeline definition decoded (one changed value, one changed line)."""

from __future__ import annotations

import pytest
from synth_support import Synth
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.testing import template_snapshot


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(
    "stack",
    [
        "example",
        "dag_example",
        "byo_role_example",
        "production_example",
        "operations_example",
        "lifecycle_example",
    ],
)
def test_example_template_snapshot(stack: str, request: pytest.FixtureRequest, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    synth: Synth = request.getfixturevalue(stack)
    assert template_snapshot(synth.stack) == snapshot_json
