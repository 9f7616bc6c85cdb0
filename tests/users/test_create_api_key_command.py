"""manage.py create_api_key --user <username> --name <name> [--scope read|write]"""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.conftest import BASE_DIR, _test_database_url
from users.models import ApiKey

pytestmark = pytest.mark.django_db


def create_api_key(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_it_prints_only_a_working_read_key_by_default(personas):
    raw_key, note = create_api_key("--user", "rep_alice", "--name", "Reporting")

    api_key = ApiKey.objects.get(user=personas.rep_alice)
    assert (api_key.name, api_key.scope) == ("Reporting", "read")
    assert raw_key.startswith(api_key.prefix + ".") and "\n" not in raw_key
    assert "not shown again" in note
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/me/").json()["username"] == "rep_alice"


def test_it_creates_a_write_key_on_request(personas):
    create_api_key("--user", "admin", "--name", "Sync", "--scope", "write")

    assert ApiKey.objects.get(user=personas.admin).scope == ApiKey.Scope.WRITE


def test_an_unknown_user_is_a_clear_error(personas):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        create_api_key("--user", "nobody", "--name", "X")
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_a_clear_error(personas):
    with pytest.raises(CommandError, match="Unknown scope 'admin'; use one of: read, write"):
        create_api_key("--user", "admin", "--name", "X", "--scope", "admin")
    assert not ApiKey.objects.exists()


def test_an_inactive_user_gets_no_key(personas):
    personas.rep_bob.is_active = False
    personas.rep_bob.save()

    with pytest.raises(CommandError, match="inactive"):
        create_api_key("--user", "rep_bob", "--name", "X")
    assert not ApiKey.objects.exists()


def test_a_name_that_is_too_long_is_a_clear_error(personas):
    with pytest.raises(CommandError, match="name: "):
        create_api_key("--user", "admin", "--name", "x" * 51)
    assert not ApiKey.objects.exists()


def test_from_the_shell_an_error_exits_non_zero_without_a_traceback(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--user", "nobody", "--name", "X"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": _test_database_url()},
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert "CommandError: No user named 'nobody'." in result.stderr
    assert "Traceback" not in result.stderr
