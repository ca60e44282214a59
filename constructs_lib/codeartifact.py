"""Parse and validate a CodeArtifact repository ARN (the ``CA_REPOSITORY_ARN`` environment variable).

Pure Python: the CDK layer turns a :class:`CodeArtifactRepository` into exactly the IAM statements the
training job needs to install packages from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.errors import ConfigError

__all__ = ["CA_REPOSITORY_ARN_ENV", "CodeArtifactRepository", "parse_repository_arn"]

#: The environment variable (seed: "ARN for a secure PyPI repository") that turns on CodeArtifact grants.
CA_REPOSITORY_ARN_ENV = "CA_REPOSITORY_ARN"

_EXPECTED = "arn:<partition>:codeartifact:<region>:<12-digit account>:repository/<domain>/<repository>"
_ARN = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):codeartifact:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):"
    r"(?P<account>\d{12}):repository/(?P<domain>[a-z][a-z0-9\-]{0,48}[a-z0-9])/"
    r"(?P<repository>[A-Za-z0-9][A-Za-z0-9._\-]{1,99})$"
)


@dataclass(frozen=True)
class CodeArtifactRepository:
    """A parsed CodeArtifact repository ARN."""

    partition: str
    region: str
    account: str
    domain: str
    repository: str

    @property
    def repository_arn(self) -> str:
        """``arn:…:repository/<domain>/<repository>``."""
        return (
            f"arn:{self.partition}:codeartifact:{self.region}:{self.account}:"
            f"repository/{self.domain}/{self.repository}"
        )

    @property
    def domain_arn(self) -> str:
        """``arn:…:domain/<domain>`` (``GetAuthorizationToken`` is authorised on the domain)."""
        return f"arn:{self.partition}:codeartifact:{self.region}:{self.account}:domain/{self.domain}"


def parse_repository_arn(
    value: str, *, field: str = f"env[{CA_REPOSITORY_ARN_ENV!r}]"
) -> CodeArtifactRepository:
    """Parse ``value``; raise :class:`ConfigError` naming the expected form when it is malformed."""
    m = _ARN.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(
            "not a CodeArtifact repository ARN",
            field=field,
            value=value,
            hint=f"expected {_EXPECTED}",
        )
    return CodeArtifactRepository(**m.groupdict())
