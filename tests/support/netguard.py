"""A network guard: any attempt to reach a non-loopback address raises ``NetworkBlocked``.

Installed for the whole pytest session (tests/conftest.py) and, through ``sitecustomize``, in child
Python processes the tests start (``guarded_env()``), so "offline" is proven, not assumed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "sitecustomize_guard"

_ATTEMPTS: list[str] = []


class NetworkBlocked(RuntimeError):
    """Raised instead of opening a connection to a non-loopback address."""


def _is_local(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host)
    if host in ("localhost", "", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
    elif isinstance(address, str | bytes):  # AF_UNIX path
        return
    else:
        host = address
    if not _is_local(host):
        _ATTEMPTS.append(repr(address))
        raise NetworkBlocked(f"network access to {address!r} attempted while offline")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_installed = False


def _connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local(host):
        _ATTEMPTS.append(f"dns:{host!r}")
        raise NetworkBlocked(f"DNS lookup of {host!r} attempted while offline")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    """Block non-loopback connects and DNS lookups in this process."""
    global _installed
    if _installed:
        return
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
    _installed = True


def attempts() -> list[str]:
    """Every blocked attempt so far (also the ones some library caught and swallowed)."""
    return list(_ATTEMPTS)


def reset() -> None:
    _ATTEMPTS.clear()


def guarded_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a child Python process that installs the guard at start-up and has no AWS
    credentials or config (so nothing can be signed even if a call slipped through)."""
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if key.startswith("AWS_") and key not in ("AWS_EC2_METADATA_DISABLED",):
            del env[key]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITECUSTOMIZE_DIR), env.get("PYTHONPATH", "")) if p)
    env["CONSTRUCTS_LIB_NETGUARD_LOG"] = env.get("CONSTRUCTS_LIB_NETGUARD_LOG", "")
    return env
