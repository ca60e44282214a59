"""Deploy tests: a moto server for the CDK CLI, and a summary of how long each CLI command took."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import CLI_TIMINGS, FAKE_CREDENTIALS, free_port


@pytest.fixture(scope="session")
def cli_moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``moto_server -H 127.0.0.1 -p PORT`` for the CDK CLI tests (its own server: the CLI's bootstrap
    stack and the example stacks share no state with the boto3 smoke test)."""
    port = free_port()
    log = tmp_path_factory.mktemp("cli-moto") / "moto.log"
    server = Path(sys.executable).parent / "moto_server"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env, **FAKE_CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CLI_TIMINGS:
        return
    terminalreporter.section("CDK CLI against moto: timings")
    for what, seconds in CLI_TIMINGS:
        terminalreporter.write_line(f"{seconds:7.1f} s  {what}")
    terminalreporter.write_line(f"{sum(s for _, s in CLI_TIMINGS):7.1f} s  total")
