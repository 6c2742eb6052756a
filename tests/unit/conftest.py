"""Unit tests run modules in one process with the controller's own code (action plugins,
filters) imported beside them. Ansible keeps warnings in a process-wide registry and sends
them to the controller's display once controller code is loaded; each test starts as a
module would run on a target: an empty registry, warnings returned in the result.
ansible-core before 2.19 has no such switch (modules always return their warnings); 2.18 has
the package ansible.module_utils._internal without it."""

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

try:
    from ansible.module_utils import _internal
except ImportError:  # ansible-core < 2.19
    _internal = None


@pytest.fixture(autouse=True)
def module_side_warnings(monkeypatch):
    if hasattr(_internal, "is_controller"):
        monkeypatch.setattr(_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    yield
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _loopback(host):
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host or "")
    return host in LOOPBACK_NAMES or host.startswith("127.")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch, tmp_path_factory):
    """Unit tests talk to loopback only (moto's server, a stub): a connection or name lookup
    anywhere else is refused and fails the test, also when the code under test catches the
    error or runs it in a forked worker process (the attempts are written to a file)."""
    import socket

    real_getaddrinfo = socket.getaddrinfo
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    attempts = tmp_path_factory.mktemp("network") / "non-loopback"

    def refuse(host):
        with open(attempts, "a") as handle:
            handle.write(f"{host}\n")
        raise ConnectionRefusedError(f"unit tests reach loopback only, not {host}")

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(host):
            refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(real):
        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
                refuse(address[0])
            return real(sock, address)

        return connect

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", checked(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", checked(real_connect_ex))
    yield
    if attempts.exists():
        reached = ", ".join(sorted(set(attempts.read_text().split())))
        pytest.fail(f"the test tried to reach beyond loopback: {reached}")
