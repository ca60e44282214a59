"""Installed via PYTHONPATH into child processes of the tests: block non-loopback network access.

Blocked attempts are appended to the file named by CONSTRUCTS_LIB_NETGUARD_LOG (when set), so a test can
assert none happened even if the code under test swallowed the exception.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import netguard

netguard.install()
_log = os.environ.get("CONSTRUCTS_LIB_NETGUARD_LOG")
if _log:
    _orig_check = netguard._check

    def _logged_check(address):  # type: ignore[no-untyped-def]
        try:
            _orig_check(address)
        except netguard.NetworkBlocked:
            with open(_log, "a", encoding="utf-8") as fh:
                fh.write(f"{address!r}\n")
            raise

    netguard._check = _logged_check
    _orig_gai = netguard._real_getaddrinfo

    def _logged_gai(host, *a, **k):  # type: ignore[no-untyped-def]
        if not netguard._is_local(host):
            with open(_log, "a", encoding="utf-8") as fh:
                fh.write(f"dns:{host!r}\n")
            raise netguard.NetworkBlocked(f"DNS lookup of {host!r} attempted while offline")
        return _orig_gai(host, *a, **k)

    socket.getaddrinfo = _logged_gai
del socket
