"""cfn-lint: zero errors and zero warnings on every synthesized template."""

from __future__ import annotations

import json

from cfnlint.api import lint
from synth_support import REGION, Synth


def test_template_is_lint_clean(any_stack: Synth) -> None:
    matches = lint(json.dumps(any_stack.json), regions=[REGION])
    assert [f"{m.rule.id} {m.message} ({m.path})" for m in matches] == []


def test_lint_is_live() -> None:
    """GIVEN a template with a typo'd property THEN cfn-lint reports it (the API is really linting)."""
    template = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    assert lint(json.dumps(template), regions=[REGION])
