"""The bench database: one per scale, `<dbname>_bench_<scale>`, next to the one DATABASE_URL names.

Bench data never mixes with development data, and each scale keeps its own data set between
runs. `use_bench_database()` must run before Django is set up: it points DATABASE_URL at the
bench database (creating it if missing) so every process started afterwards, gunicorn
included, inherits it.
"""

import os
import re
from urllib.parse import urlparse, urlunparse

import dj_database_url
import psycopg
from psycopg import sql

__all__ = ["DEFAULT_DATABASE_URL", "bench_database_url", "conninfo", "drop_database", "ensure_database",
           "use_bench_database"]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lifecycle"


def bench_database_url(url: str, scale: str) -> str:
    """`url` with its database name suffixed by `_bench_<scale>`; host, socket and options kept."""
    parts = urlparse(url)
    name = parts.path.lstrip("/") or "lifecycle"
    suffix = re.sub(r"[^a-z0-9_]", "_", scale.lower())
    return urlunparse(parts._replace(path=f"/{name}_bench_{suffix}"))


def conninfo(url: str, *, dbname: str | None = None) -> dict:
    """psycopg connection keywords for a postgres:// URL (unix-socket hosts included)."""
    config = dj_database_url.parse(url)
    params = {"dbname": dbname or config["NAME"], "user": config.get("USER") or None,
              "password": config.get("PASSWORD") or None, "host": config.get("HOST") or None,
              "port": config.get("PORT") or None}
    return {key: value for key, value in params.items() if value is not None}


def _server(url: str) -> psycopg.Connection:
    """A connection to the server's maintenance database, to create or drop databases."""
    for dbname in ("postgres", "template1"):
        try:
            return psycopg.connect(**conninfo(url, dbname=dbname), autocommit=True)
        except psycopg.OperationalError:
            continue
    return psycopg.connect(**conninfo(url), autocommit=True)


def ensure_database(url: str) -> bool:
    """Create the database `url` names if it does not exist. True when it was created."""
    name = conninfo(url)["dbname"]
    with _server(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created by a concurrent run
        return True


def drop_database(url: str) -> None:
    name = conninfo(url)["dbname"]
    with _server(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def use_bench_database(scale: str) -> str:
    """Point this process (and its children) at the bench database for `scale`. Returns its URL."""
    url = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, scale)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    return url
