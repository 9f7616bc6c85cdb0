"""gunicorn against the bench database, as production runs it (sync workers, 2 × cores), on loopback."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from lifecycle.devservices import stop_process

__all__ = ["cores", "gunicorn"]

BASE_DIR = Path(__file__).resolve().parent.parent


def cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(*, workers: int | None = None, log=print):
    """Yield the base URL of a running gunicorn; stop it afterwards, whatever happens.

    It inherits DATABASE_URL (the bench database) and REDIS_URL, runs bench.settings (the
    product plus the baseline views), and has the API rate limit lifted: the bench is one key
    asking as fast as it can, which the real limit exists to stop.
    """
    workers = workers or 2 * cores()
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
           "API_RATE_LIMIT": "100000000/min"}
    (BASE_DIR / "var").mkdir(exist_ok=True)
    log_path = BASE_DIR / "var" / "bench-gunicorn.log"
    with open(log_path, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lifecycle.wsgi", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"],
            cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/bench/baseline/64/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")
            time.sleep(0.2)
        log(f"  gunicorn: {workers} workers on {url} (log: {log_path.relative_to(BASE_DIR)})")
        yield url
    finally:
        stop_process(process, timeout=15)
