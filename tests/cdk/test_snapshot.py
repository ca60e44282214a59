"""syrupy JSON snapshots of the example app's templates; only asset hashes are masked."""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import Synth
from syrupy.extensions.json import JSONSnapshotExtension


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)


def _asset_hash_matcher(synth: Synth):  # type: ignore[no-untyped-def]
    hashes = synth.asset_hashes()

    def matcher(*, data: Any, path: Any) -> Any:
        if isinstance(data, str):
            for h in hashes:
                data = data.replace(h, "<asset-hash>")
        return data

    return matcher


@pytest.mark.parametrize("stack", ["example", "dag_example", "byo_role_example"])
def test_example_template_snapshot(stack: str, request: pytest.FixtureRequest, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    synth: Synth = request.getfixturevalue(stack)
    assert synth.json == snapshot_json(matcher=_asset_hash_matcher(synth))
