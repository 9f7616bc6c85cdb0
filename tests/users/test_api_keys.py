"""API keys: creation and revocation (users.services) and Bearer authentication on the API."""

import pytest
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api_base import assert_error, bearer_client
from users.models import ApiKey
from users.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
TEAMS = "/api/v1/teams/"


def client_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


# --- services ----------------------------------------------------------------------------

def test_it_creates_a_key_that_authenticates_as_its_owner(personas):
    api_key, raw_key = api_key_create(user=personas.rep_alice, name="Zapier", scope=ApiKey.Scope.READ)

    assert raw_key.startswith(api_key.prefix + ".")
    response = client_with(f"Bearer {raw_key}").get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "rep_alice"


def test_the_raw_key_is_stored_nowhere_in_the_key_row(personas):
    _, raw_key = api_key_create(user=personas.marketer, name="Warehouse", scope=ApiKey.Scope.WRITE)
    secret = raw_key.partition(".")[2]
    client_with(f"Bearer {raw_key}").get(ME)  # a use writes last_used_at; still nothing of the secret

    for row in ApiKey.objects.values():
        for column, value in row.items():
            assert raw_key not in str(value), column
            assert secret not in str(value), column


def test_a_key_needs_a_name_and_a_known_scope(personas):
    with pytest.raises(ValidationError) as caught:
        api_key_create(user=personas.admin, name="", scope="admin")

    assert set(caught.value.message_dict) == {"name", "scope"}
    assert not ApiKey.objects.exists()


def test_the_owner_revokes_a_key_and_it_stops_working(personas):
    api_key, raw_key = api_key_create(user=personas.rep_bob, name="Script", scope=ApiKey.Scope.READ)

    api_key_revoke(api_key=api_key, by=personas.rep_bob)

    api_key.refresh_from_db()
    assert api_key.revoked
    assert_error(client_with(f"Bearer {raw_key}").get(ME), 401, "authentication_failed")


def test_an_admin_may_revoke_anyones_key(personas):
    api_key, _ = api_key_create(user=personas.rep_bob, name="Script", scope=ApiKey.Scope.READ)

    api_key_revoke(api_key=api_key, by=personas.admin)

    api_key.refresh_from_db()
    assert api_key.revoked


@pytest.mark.parametrize("persona", ["manager", "rep_alice", "outsider"])
def test_nobody_else_may_revoke_a_key(personas, persona):
    api_key, _ = api_key_create(user=personas.rep_bob, name="Script", scope=ApiKey.Scope.READ)

    with pytest.raises(PermissionDenied):
        api_key_revoke(api_key=api_key, by=getattr(personas, persona))

    api_key.refresh_from_db()
    assert not api_key.revoked


def test_revoking_twice_changes_nothing(personas):
    api_key, _ = api_key_create(user=personas.rep_bob, name="Script", scope=ApiKey.Scope.READ)
    api_key_revoke(api_key=api_key, by=personas.rep_bob)

    again = api_key_revoke(api_key=api_key, by=personas.rep_bob)

    assert again.revoked


# --- authentication -------------------------------------------------------------------------

def test_no_key_is_a_401_that_asks_for_a_bearer_token(db):
    response = APIClient().get(ME)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [
    "Bearer nothing.valid",
    "Bearer ",
    "Bearer noprefixdot",
])
def test_a_wrong_key_is_a_401(db, header):
    assert_error(client_with(header).get(ME), 401, "authentication_failed")


def test_a_key_with_the_right_prefix_but_a_wrong_secret_is_a_401(personas):
    api_key, _ = api_key_create(user=personas.admin, name="Real", scope=ApiKey.Scope.WRITE)

    assert_error(client_with(f"Bearer {api_key.prefix}.not-the-secret").get(ME), 401, "authentication_failed")


def test_a_key_of_a_deactivated_user_is_a_401(personas):
    _, raw_key = api_key_create(user=personas.rep_alice, name="Script", scope=ApiKey.Scope.READ)
    personas.rep_alice.is_active = False
    personas.rep_alice.save()

    assert_error(client_with(f"Bearer {raw_key}").get(ME), 401, "authentication_failed")


def test_a_read_only_key_may_not_post(personas):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    error = assert_error(client.post(TEAMS, {"name": "Support"}, format="json"), 403, "permission_denied")
    assert "read-only" in error["message"]


def test_a_write_key_may_post(personas):
    response = bearer_client(personas.admin, scope=ApiKey.Scope.WRITE).post(TEAMS, {"name": "Support"}, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "Support"


def test_using_a_key_records_when_it_was_last_used(personas):
    api_key, raw_key = api_key_create(user=personas.rep_alice, name="Script", scope=ApiKey.Scope.READ)
    assert api_key.last_used_at is None

    client_with(f"Bearer {raw_key}").get(ME)

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_a_browser_session_works_without_a_key(client, personas):
    client.force_login(personas.manager)

    response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["role"] == "manager"


def test_a_browser_session_post_needs_the_csrf_token(personas):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(personas.admin)

    response = client.post(TEAMS, {"name": "Support"}, format="json")

    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]


def test_an_admin_sees_every_users_keys_in_django_admin(client, personas):
    api_key_create(user=personas.rep_bob, name="Bob's script", scope=ApiKey.Scope.READ)
    client.force_login(personas.admin)

    response = client.get(reverse("admin:users_apikey_changelist"))

    assert response.status_code == 200
    assert "Bob&#x27;s script" in response.content.decode()


def test_an_admin_revokes_a_key_in_django_admin(client, personas):
    api_key, raw_key = api_key_create(user=personas.rep_bob, name="Script", scope=ApiKey.Scope.READ)
    client.force_login(personas.admin)
    url = reverse("admin:users_apikey_change", args=[quote(api_key.pk)])

    response = client.post(url, {"name": "Script", "scope": "read", "user": personas.rep_bob.pk, "revoked": "on"})

    assert response.status_code == 302, response.content.decode()[:2000]
    api_key.refresh_from_db()
    assert api_key.revoked
    assert_error(client_with(f"Bearer {raw_key}").get(ME), 401, "authentication_failed")
