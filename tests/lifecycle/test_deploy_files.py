"""The production files: docker-compose.yml, the Dockerfile, .env.example and the configuration docs.

No Docker engine runs in CI, so the files are checked as data, against the code they deploy.
When a compose binary is installed, `docker compose config` validates the file as well.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from lifecycle.celery import QUEUES

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def _healthcheck(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not NAME=value: {line!r}"
            pairs[name.strip()] = value
    return pairs


def _settings_variables() -> set[str]:
    """Every variable settings.py reads through the env_* helpers."""
    source = (BASE_DIR / "lifecycle" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source))


def test_it_defines_the_production_topology(services):
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)


def test_postgres_is_16_on_a_named_volume_with_a_pg_isready_healthcheck(compose, services):
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]
    assert "pg_isready" in _healthcheck(postgres)


def test_redis_is_7_with_a_ping_healthcheck(compose, services):
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert "redis-cli ping" in _healthcheck(redis)
    assert redis["volumes"][0].partition(":")[0] in compose["volumes"]


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_start_after_healthy_services_and_finished_migrations(services, name):
    depends = services[name]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_is_a_one_shot_that_runs_migrations(services):
    migrate = services["migrate"]
    assert _command(migrate) == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_services_reach_the_compose_postgres_and_redis(services):
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert services[name]["env_file"] == ".env"


def test_web_runs_gunicorn_and_its_healthcheck_calls_healthz(services):
    web = services["web"]
    assert "command" not in web, "web runs the image's default CMD (gunicorn)"
    assert "/healthz" in _healthcheck(web)
    assert web["ports"][0].endswith(":8000")


def test_the_worker_consumes_every_queue_tasks_are_routed_to(services):
    command = services["worker"]["command"]
    assert command[:4] == ["celery", "-A", "lifecycle", "worker"]
    queues = set(command[command.index("-Q") + 1].split(","))
    assert queues == set(QUEUES)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= queues


def test_beat_runs_once_and_keeps_its_schedule_in_the_writable_var_dir(services):
    beat = services["beat"]
    assert _command(beat).startswith("celery -A lifecycle beat")
    assert "var/celerybeat-schedule" in _command(beat)
    assert "deploy" not in beat and "scale" not in beat


def test_the_dockerfile_builds_from_the_lock_file_and_runs_gunicorn_as_a_non_root_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile
    assert re.search(r"STATIC_COLLECTED=1", dockerfile)
    assert "manage.py collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    cmd = re.findall(r"^CMD (.+)$", dockerfile, re.MULTILINE)[-1]
    assert "gunicorn lifecycle.wsgi --workers ${WEB_CONCURRENCY:-4} --bind 0.0.0.0:8000 --access-logfile -" in cmd


def test_the_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "var", "staticfiles"} <= ignored


def test_every_variable_in_env_example_is_read_by_the_app_or_compose():
    compose_text = (BASE_DIR / "docker-compose.yml").read_text()
    read_by_compose = set(re.findall(r"\$\{([A-Z0-9_]+)", compose_text)) | {"WEB_CONCURRENCY"}  # the image's CMD
    unknown = set(_env_example()) - _settings_variables() - read_by_compose
    assert not unknown, f".env.example sets variables nothing reads: {sorted(unknown)}"


def test_env_example_does_not_ship_a_secret_key_or_debug():
    env = _env_example()
    assert env["SECRET_KEY"] == ""
    assert env["DEBUG"] == "0"


def test_every_variable_settings_reads_is_documented_in_configuration_md():
    documented = (BASE_DIR / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in _settings_variables() | {"DATABASE_URL", "REDIS_URL"}
                     if f"`{name}`" not in documented)
    assert not missing, f"docs/configuration.md does not describe {missing}"


def _compose_binary() -> list[str] | None:
    if shutil.which("docker"):
        version = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if version.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_accepts_the_file_with_the_example_env(tmp_path):
    binary = _compose_binary()
    if binary is None:
        pytest.skip("no `docker compose` plugin or docker-compose binary on this machine")
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(BASE_DIR / name, tmp_path / name)
    shutil.copy(BASE_DIR / ".env.example", tmp_path / ".env")
    result = subprocess.run([*binary, "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    # And it refuses to start without a database password.
    (tmp_path / ".env").write_text("SECRET_KEY=x\n")
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    result = subprocess.run([*binary, "config", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
