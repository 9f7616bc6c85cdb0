"""The API rails every resource runs on: the error shape, Idempotency-Key, throttling, the schema and docs."""

import base64
import hashlib
import json
import re
import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.response import Response
from rest_framework.test import APIClient

from lifecycle.api import idempotency
from lifecycle.api.urls import SWAGGER_UI_STYLE_HASH
from lifecycle.api.views import ApiView, BodySizeLimitMixin
from lifecycle.models import IdempotencyRecord
from lifecycle.tasks import delete_expired_idempotency_records
from tests.api_base import assert_error, bearer_client
from tests.conftest import _test_database_url
from tests.helpers import wait_until
from users.models import ApiKey, Team
from users.services import api_key_create

TEAMS = "/api/v1/teams/"
ME = "/api/v1/me/"
KEY = idempotency.HEADER


# --- Views that misbehave on purpose, for what the real resources never do ------------------

class FailingWithA503View(ApiView):
    """Writes, then answers 503, like a view whose downstream is unavailable."""

    def post(self, request):
        Team.objects.create(name=request.data["name"])
        return Response({"detail": "try later"}, status=503)


class CrashingView(ApiView):
    """Writes, then hits a bug."""

    def post(self, request):
        Team.objects.create(name=request.data["name"])
        raise RuntimeError("a bug")


urlpatterns = [
    path("api/test/503/", FailingWithA503View.as_view()),
    path("api/test/crash/", CrashingView.as_view()),
    path("api/", include("lifecycle.api.urls")),
]


@pytest.fixture
def admin_api(personas) -> APIClient:
    return bearer_client(personas.admin)


# --- The error shape --------------------------------------------------------------------------

def test_a_validation_error_names_each_field(admin_api):
    error = assert_error(admin_api.post(TEAMS, {"name": ""}, format="json"), 400, "invalid", fields=("name",))

    assert error["fields"]["name"] == ["This field may not be blank."]


def test_a_malformed_json_body_is_a_400_not_a_500(admin_api):
    response = admin_api.post(TEAMS, '{"name": "Support",', content_type="application/json")

    error = assert_error(response, 400, "parse_error")
    assert error["fields"] == {}


@pytest.mark.parametrize("url", [TEAMS, "/api/v1/contacts/", "/api/v1/deals/"])
def test_a_body_nested_too_deeply_for_the_decoder_is_a_400_on_every_api(admin_api, url):
    response = admin_api.post(url, '{"a":' * 100_000 + "1" + "}" * 100_000, content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_a_json_list_where_an_object_belongs_is_a_400(admin_api):
    response = admin_api.post(TEAMS, "[1, 2]", content_type="application/json")

    assert_error(response, 400, "invalid")


def test_no_credentials_is_a_401(db):
    assert_error(APIClient().get(TEAMS), 401, "not_authenticated")


def test_a_read_key_writing_is_a_403(personas):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    assert_error(client.delete(f"{TEAMS}{personas.rep_alice.team_id}/"), 403, "permission_denied")


def test_a_missing_object_is_a_404(admin_api):
    assert_error(admin_api.get(f"{TEAMS}987654321/"), 404, "not_found")


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_an_unknown_api_url_is_a_json_404_for_any_method(db, method):
    response = getattr(APIClient(), method)("/api/v1/no-such-thing/")

    assert_error(response, 404, "not_found")


def test_an_unknown_api_url_is_a_404_even_with_a_bad_key(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.valid")

    assert_error(client.get("/api/nothing-here"), 404, "not_found")


def test_a_missing_trailing_slash_gets_a_hint_instead_of_a_redirect(admin_api):
    error = assert_error(admin_api.post("/api/v1/teams", {"name": "Ops"}, format="json"), 404, "not_found")

    assert "/api/v1/teams/" in error["message"]
    assert not Team.objects.filter(name="Ops").exists()


def test_a_method_the_endpoint_lacks_is_a_405(admin_api):
    response = admin_api.post(ME, {}, format="json")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_an_unsupported_content_type_is_a_415(admin_api):
    response = admin_api.post(TEAMS, "name=Ops", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_a_body_over_the_upload_limit_is_a_413_before_it_is_read(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = admin_api.post(TEAMS, {"name": "x" * 200}, format="json")

    assert_error(response, 413, "payload_too_large")


# --- Throttling ---------------------------------------------------------------------------------

@pytest.fixture
def two_requests_a_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/min"}}


def throttle_cache_key(api_key: ApiKey) -> str:
    return f"throttle_api_key_key:{api_key.prefix}"


def test_over_the_rate_the_api_answers_429_with_retry_after(personas, two_requests_a_minute):
    api_key, raw_key = api_key_create(user=personas.admin, name="busy", scope=ApiKey.Scope.WRITE)
    cache.delete(throttle_cache_key(api_key))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    try:
        assert client.get(ME).status_code == 200
        assert client.get(ME).status_code == 200
        throttled = client.post(TEAMS, {"name": "Ops"}, format="json", headers={KEY: "k-1"})
    finally:
        cache.delete(throttle_cache_key(api_key))

    error = assert_error(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert error["retry_after_seconds"] == int(throttled["Retry-After"])
    # A throttled request did nothing and claimed no key: the client may simply retry it.
    assert not Team.objects.filter(name="Ops").exists()
    assert not IdempotencyRecord.objects.exists()


def test_each_key_has_its_own_budget(personas, two_requests_a_minute):
    keys = [api_key_create(user=personas.admin, name=f"k{i}", scope=ApiKey.Scope.READ) for i in range(2)]
    clients = []
    for api_key, raw_key in keys:
        cache.delete(throttle_cache_key(api_key))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        clients.append(client)
    try:
        statuses = [clients[0].get(ME).status_code for _ in range(3)] + [clients[1].get(ME).status_code]
    finally:
        for api_key, _ in keys:
            cache.delete(throttle_cache_key(api_key))

    assert statuses == [200, 200, 429, 200]


# --- Idempotency-Key ------------------------------------------------------------------------------

def test_a_retry_with_the_same_key_replays_the_response_and_runs_once(admin_api):
    first = admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "create-support"})
    again = admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "create-support"})

    assert first.status_code == 201
    assert idempotency.REPLAYED_HEADER not in first
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again[idempotency.REPLAYED_HEADER] == "true"
    assert Team.objects.filter(name="Support").count() == 1


def test_the_body_is_compared_after_parsing_so_key_order_and_spacing_do_not_matter(admin_api):
    admin_api.post(TEAMS, '{"name": "Support"}', content_type="application/json", headers={KEY: "k"})
    again = admin_api.post(TEAMS, '{ "name" :"Support" }', content_type="application/json", headers={KEY: "k"})

    assert again[idempotency.REPLAYED_HEADER] == "true"


def test_the_same_key_with_a_different_body_is_a_422_and_runs_nothing(admin_api):
    admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "k"})

    response = admin_api.post(TEAMS, {"name": "Billing"}, format="json", headers={KEY: "k"})

    assert_error(response, 422, "idempotency_key_reused")
    assert not Team.objects.filter(name="Billing").exists()


@pytest.mark.urls(__name__)
def test_the_same_key_and_body_on_another_endpoint_is_a_422(admin_api):
    admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "k"})

    response = admin_api.post("/api/test/503/", {"name": "Support"}, format="json", headers={KEY: "k"})

    assert_error(response, 422, "idempotency_key_reused")
    assert Team.objects.filter(name="Support").count() == 1


def test_keys_belong_to_a_user_so_two_users_may_use_the_same_one(personas):
    root = bearer_client(personas.admin)
    personas.manager.groups.set(personas.admin.groups.all())
    other_admin = bearer_client(personas.manager)

    first = root.post(TEAMS, {"name": "One"}, format="json", headers={KEY: "shared"})
    second = other_admin.post(TEAMS, {"name": "Two"}, format="json", headers={KEY: "shared"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert idempotency.REPLAYED_HEADER not in second
    assert Team.objects.filter(name__in=["One", "Two"]).count() == 2


def test_a_4xx_response_is_stored_and_replayed_too(admin_api):
    first = admin_api.post(TEAMS, {"name": ""}, format="json", headers={KEY: "k"})
    again = admin_api.post(TEAMS, {"name": ""}, format="json", headers={KEY: "k"})

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert again[idempotency.REPLAYED_HEADER] == "true"


def test_the_replay_survives_a_change_in_the_data(admin_api):
    first = admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "k"})
    Team.objects.filter(name="Support").update(name="Renamed since")

    again = admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "k"})

    assert again.json() == first.json()
    assert not Team.objects.filter(name="Support").exists()


@pytest.mark.urls(__name__)
def test_a_5xx_is_not_stored_and_what_the_view_wrote_is_rolled_back(admin_api):
    for _ in range(2):
        response = admin_api.post("/api/test/503/", {"name": "Half done"}, format="json", headers={KEY: "k"})
        assert response.status_code == 503
        assert idempotency.REPLAYED_HEADER not in response

    assert not Team.objects.filter(name="Half done").exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.urls(__name__)
def test_a_crash_releases_the_key_and_rolls_back_what_the_view_wrote(admin_api):
    with pytest.raises(RuntimeError, match="a bug"):
        admin_api.post("/api/test/crash/", {"name": "Half done"}, format="json", headers={KEY: "k"})

    assert not Team.objects.filter(name="Half done").exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.urls(__name__)
def test_without_a_key_a_5xx_view_keeps_djangos_usual_autocommit(admin_api):
    admin_api.post("/api/test/503/", {"name": "Written"}, format="json")

    assert Team.objects.filter(name="Written").exists()


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
def test_an_empty_or_overlong_key_is_a_400_on_the_header(admin_api, key):
    response = admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: key})

    assert_error(response, 400, "invalid", fields=(KEY,))
    assert not Team.objects.filter(name="Support").exists()


def test_a_get_ignores_the_key(admin_api):
    admin_api.get(TEAMS, headers={KEY: "k"})

    assert not IdempotencyRecord.objects.exists()


def test_a_record_past_its_24_hours_no_longer_replays(admin_api):
    admin_api.post(TEAMS, {"name": "Support"}, format="json", headers={KEY: "k"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = admin_api.post(TEAMS, {"name": "Billing"}, format="json", headers={KEY: "k"})

    assert again.status_code == 201
    assert idempotency.REPLAYED_HEADER not in again
    assert Team.objects.filter(name="Billing").exists()
    assert IdempotencyRecord.objects.get().status_code == 201


def test_the_cleanup_task_deletes_records_older_than_24_hours(admin_api):
    for key in ("old", "new"):
        admin_api.post(TEAMS, {"name": key}, format="json", headers={KEY: key})
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    deleted = delete_expired_idempotency_records()

    assert deleted == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_cleanup_runs_on_beat_and_expires_before_the_next_run():
    task = delete_expired_idempotency_records.name
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task)

    assert entry["options"]["expires"] < entry["schedule"]


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_arriving_while_the_first_runs_gets_409_and_the_effect_happens_once(personas):
    """The first request is held inside its view by a row lock; its duplicate must not run alongside."""
    api_key, raw_key = api_key_create(user=personas.admin, name="concurrent", scope=ApiKey.Scope.WRITE)
    results = {}

    def post(label: str):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            results[label] = client.post(TEAMS, {"name": "Ops"}, format="json", headers={KEY: "once"})
        finally:
            connection.close()

    with psycopg.connect(_test_database_url()) as blocker:
        # An uncommitted team of the same name: the first request's INSERT waits on it.
        blocker.execute("INSERT INTO users_team (name, created_at) VALUES ('Ops', now())")
        first = threading.Thread(target=post, args=("first",))
        first.start()
        with psycopg.connect(_test_database_url(), autocommit=True) as watcher:
            wait_until(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0] >= 1)

        post("duplicate")
        blocker.rollback()  # the first request's INSERT now goes through
        first.join(timeout=30)

    assert results["first"].status_code == 201, results["first"].content
    assert_error(results["duplicate"], 409, "idempotency_request_in_progress")
    post("retry")
    assert results["retry"].status_code == 201
    assert results["retry"][idempotency.REPLAYED_HEADER] == "true"
    assert results["retry"].json() == results["first"].json()
    assert Team.objects.filter(name="Ops").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_unique_name_taken_by_a_concurrent_request_is_a_409_not_a_500(personas):
    _, raw_key = api_key_create(user=personas.admin, name="racer", scope=ApiKey.Scope.WRITE)
    results = {}

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            results["racer"] = client.post(TEAMS, {"name": "Ops"}, format="json")
        finally:
            connection.close()

    with psycopg.connect(_test_database_url()) as rival:
        rival.execute("INSERT INTO users_team (name, created_at) VALUES ('Ops', now())")
        racer = threading.Thread(target=post)
        racer.start()
        with psycopg.connect(_test_database_url(), autocommit=True) as watcher:
            wait_until(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0] >= 1)
        rival.commit()  # validation saw no "Ops"; the INSERT now hits the unique index
        racer.join(timeout=30)

    assert_error(results["racer"], 409, "conflict")
    assert Team.objects.filter(name="Ops").count() == 1


def test_every_v1_endpoint_is_built_on_the_api_base_classes():
    """Idempotency and the body limit come from the base classes; a view on bare DRF would skip them."""

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield pattern.callback

    v1 = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/")
    v1 = next(p for p in v1.url_patterns if str(p.pattern) == "v1/")
    classes = {getattr(view, "cls", None) for view in views(v1.url_patterns)}

    assert classes, "no /api/v1/ views found"
    for cls in classes:
        assert cls is not None and issubclass(cls, idempotency.IdempotencyMixin), cls
        assert issubclass(cls, BodySizeLimitMixin), cls


# --- The schema and the docs -------------------------------------------------------------------------

@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_the_schema_declares_bearer_api_keys(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert {"ApiKeyAuth": []} in schema["paths"]["/api/v1/teams/"]["get"]["security"]


def test_every_operation_documents_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    operations = [op for item in schema["paths"].values() for op in item.values()]

    assert operations
    for operation in operations:
        for status in ("401", "403", "429"):
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (operation["operationId"], status)


def test_posts_document_the_idempotency_key_header(schema):
    create = schema["paths"]["/api/v1/teams/"]["post"]

    assert (KEY, "header") in {(p["name"], p["in"]) for p in create["parameters"]}
    assert {"409", "422"} <= set(create["responses"])


def test_the_docs_page_uses_only_local_files(db):
    response = APIClient().get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert not re.search(r"https?://", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        if asset.startswith(settings.STATIC_URL):
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


def test_the_docs_page_has_no_inline_script_and_only_the_allowed_inline_style(db):
    response = APIClient().get("/api/docs/")
    html = response.content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in styles}
    assert hashes <= {SWAGGER_UI_STYLE_HASH}
    assert SWAGGER_UI_STYLE_HASH in response["Content-Security-Policy"]
    script = APIClient().get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
