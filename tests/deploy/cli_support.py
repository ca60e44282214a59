"""Shared by ``conftest.py`` and ``test_cli_deploy.py`` (a module of its own: two conftest modules exist,
so ``from conftest import ...`` is ambiguous)."""

from __future__ import annotations

import socket

#: The fake credentials of moto's default account; only ever put into a child process's environment.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

#: (what, seconds) of every CDK CLI command the deploy tests ran, printed at the end of the session.
CLI_TIMINGS: list[tuple[str, float]] = []


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
