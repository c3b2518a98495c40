"""A server the tests start on loopback (dagster-webserver, dbt docs): a free port, and a wait
until it answers that fails with the server's own log when it exits or never answers."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Loading the code location (or generating the dbt docs) on a busy 2-core machine takes minutes.
ATTEMPTS = 300


def wait_until_answers(server: subprocess.Popen, url: str, log: Path) -> None:
    for _ in range(ATTEMPTS):
        if server.poll() is not None:
            pytest.fail(f"the server exited before answering {url}: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    pytest.fail(f"no answer from {url}: {log.read_text()[-3000:]}")
