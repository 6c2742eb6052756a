"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test --venv fetches get-pip.py from a host these machines cannot reach, and says to
save a copy in its cache by hand. This script does the same job with the standard library's
ensurepip, then installs the pinned packages ansible-test asks for from the package index.
ansible-test runs pip with a scrubbed environment and no pip.conf, so the system CA bundle
(which holds any corporate proxy CA) is passed explicitly; from pip 24.2 on, pip trusts the
system store by itself (truststore), so ansible-test's later installs need nothing more.
"""

import ensurepip
import os
import subprocess
import sys

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

if __name__ == "__main__":
    ensurepip.bootstrap(upgrade=False, default_pip=True)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if os.path.exists(SYSTEM_BUNDLE):
        args = ["--cert", SYSTEM_BUNDLE, *args]
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
