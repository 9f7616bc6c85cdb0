"""Settings → API keys: list your keys, create one (shown once), revoke one after confirming."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from users.models import ApiKey
from users.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, personas):
    client.force_login(personas.rep_alice)
    return client


def raw_key_on(html: str) -> str:
    return re.search(r'data-testid="raw-key"\s+value="([^"]+)"', html).group(1)


def test_the_settings_page_links_to_api_keys(alice):
    html = alice.get(reverse("users:settings")).content.decode()

    assert f'href="{reverse("users:api_keys")}"' in html


def test_the_list_shows_my_keys_and_not_other_peoples(alice, personas):
    mine, _ = api_key_create(user=personas.rep_alice, name="My script", scope=ApiKey.Scope.WRITE)
    api_key_create(user=personas.rep_bob, name="Bob's script", scope=ApiKey.Scope.READ)

    response = alice.get(reverse("users:api_keys"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "My script" in html and mine.prefix in html and "Read and write" in html
    assert "Bob" not in html


def test_the_list_shows_revoked_keys_as_revoked_without_a_revoke_button(alice, personas):
    api_key, _ = api_key_create(user=personas.rep_alice, name="Old", scope=ApiKey.Scope.READ)
    api_key.revoked = True
    api_key.save()

    html = alice.get(reverse("users:api_keys")).content.decode()

    assert "Revoked" in html
    assert reverse("users:api_key_revoke", args=[api_key.prefix]) not in html


def test_creating_a_key_shows_it_once_and_it_works(alice, personas):
    form = alice.get(reverse("users:api_key_create"))
    assert form.status_code == 200

    response = alice.post(reverse("users:api_key_create"), {"name": "Zapier", "scope": "read"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw_key = raw_key_on(response.content.decode())
    api_key = ApiKey.objects.get(user=personas.rep_alice)
    assert (api_key.name, api_key.scope) == ("Zapier", "read")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/me/").json()["username"] == "rep_alice"
    # Shown once: the list page (or anywhere else later) never has it.
    assert raw_key not in alice.get(reverse("users:api_keys")).content.decode()


def test_a_key_without_a_name_is_a_400_with_the_field_message(alice):
    response = alice.post(reverse("users:api_key_create"), {"name": "", "scope": "write"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "is-invalid" in html
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_a_400_with_the_field_message(alice):
    response = alice.post(reverse("users:api_key_create"), {"name": "X", "scope": "root"})

    assert response.status_code == 400
    assert "Select a valid choice. root is not one of the available choices." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_asks_first_and_then_revokes(alice, personas):
    api_key, raw_key = api_key_create(user=personas.rep_alice, name="Script", scope=ApiKey.Scope.READ)
    url = reverse("users:api_key_revoke", args=[api_key.prefix])

    confirm = alice.get(url)

    assert confirm.status_code == 200
    assert f'<form method="post" action="{url}"' in confirm.content.decode()
    api_key.refresh_from_db()
    assert not api_key.revoked

    done = alice.post(url, follow=True)

    assert done.redirect_chain == [(reverse("users:api_keys"), 302)]
    assert "Revoked the API key" in done.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/me/").status_code == 401


def test_someone_elses_key_cannot_be_revoked_here(alice, personas):
    bobs, _ = api_key_create(user=personas.rep_bob, name="Bob's", scope=ApiKey.Scope.READ)

    response = alice.post(reverse("users:api_key_revoke", args=[bobs.prefix]))

    assert response.status_code == 404
    bobs.refresh_from_db()
    assert not bobs.revoked


@pytest.mark.parametrize("name", ["users:api_keys", "users:api_key_create"])
def test_the_pages_need_a_login(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_the_pages_have_no_inline_script_for_the_csp(alice, personas):
    api_key, _ = api_key_create(user=personas.rep_alice, name="Script", scope=ApiKey.Scope.READ)
    pages = [
        alice.get(reverse("users:api_keys")),
        alice.get(reverse("users:api_key_create")),
        alice.post(reverse("users:api_key_create"), {"name": "Another", "scope": "read"}),
        alice.get(reverse("users:api_key_revoke", args=[api_key.prefix])),
    ]

    for page in pages:
        html = page.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert "style=" not in html
