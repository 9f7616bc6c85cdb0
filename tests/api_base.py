"""A generic test base for API resources, in the spirit of netbox's APIViewTestCases.

A resource gets its list, retrieve, create, update, delete and permission tests by declaring what
it is. Mix in only the parts the resource has:

    class TestTeamsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests):
        # add RestrictedReadTests and `non_readers` when some signed-in users may not read
        list_url_name = "users-api:team-list"
        detail_url_name = "users-api:team-detail"
        factory = TeamFactory
        create_payload = {"name": "Support"}
        update_payload = {"name": "Field sales"}
        invalid_payloads = [({"name": ""}, "name")]   # (payload, the field the error is about)
        readers = ("admin", "outsider")              # persona names (tests/conftest.py)
        writers = ("admin",)
        non_writers = ("manager", "rep_alice")

Each persona list becomes one parametrized test per persona. Every request goes through a real
API key (the `Authorization: Bearer` header), so the rails run in every resource test too.
Override `assert_matches(obj, payload)` when a payload does not map one-to-one onto attributes.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from lifecycle.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from lifecycle.api.idempotency import REPLAYED_HEADER
from users.models import ApiKey
from users.services import api_key_create

__all__ = [
    "ApiResourceTests",
    "CreateTests",
    "DeleteTests",
    "ListTests",
    "RestrictedReadTests",
    "RetrieveTests",
    "UpdateTests",
    "assert_error",
    "bearer_client",
]


def bearer_client(user, *, scope: str = ApiKey.Scope.WRITE) -> APIClient:
    """An API client that sends a fresh API key of `user` with every request."""
    _api_key, raw_key = api_key_create(user=user, name=f"test {scope} key", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def assert_error(response, status: int, code: str | None = None, *, fields: tuple[str, ...] = ()) -> dict:
    """The response is the API's JSON error shape with this status (and code, and field names)."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    for name in fields:
        assert name in error["fields"], error
        assert all(isinstance(message, str) and message for message in error["fields"][name])
    return error


class ApiResourceTests:
    """What a resource declares. The mixins below hold the tests."""

    list_url_name: ClassVar[str]
    detail_url_name: ClassVar[str]
    factory: ClassVar[Any]
    create_payload: ClassVar[dict] = {}
    update_payload: ClassVar[dict] = {}
    invalid_payloads: ClassVar[list[tuple[dict, str]]] = []
    readers: ClassVar[tuple[str, ...]] = ()
    non_readers: ClassVar[tuple[str, ...]] = ()
    writers: ClassVar[tuple[str, ...]] = ()
    non_writers: ClassVar[tuple[str, ...]] = ()

    _PARAMETERS: ClassVar[dict[str, str]] = {
        "reader": "readers",
        "non_reader": "non_readers",
        "writer": "writers",
        "non_writer": "non_writers",
        "invalid_case": "invalid_payloads",
    }

    def pytest_generate_tests(self, metafunc):
        """One test per persona (or invalid payload) the resource declares."""
        for argument, attribute in self._PARAMETERS.items():
            if argument in metafunc.fixturenames:
                values = list(getattr(self, attribute))
                ids = [value if isinstance(value, str) else f"{value[1]}-{index}" for index, value in enumerate(values)]
                metafunc.parametrize(argument, values, ids=ids)

    # --- helpers ---------------------------------------------------------------------------

    @property
    def model(self):
        return self.factory._meta.model

    def list_url(self) -> str:
        return reverse(self.list_url_name)

    def detail_url(self, obj_or_pk) -> str:
        return reverse(self.detail_url_name, kwargs={"pk": getattr(obj_or_pk, "pk", obj_or_pk)})

    def client_for(self, personas, name: str, *, scope: str = ApiKey.Scope.WRITE) -> APIClient:
        return bearer_client(getattr(personas, name), scope=scope)

    def assert_matches(self, obj, payload: dict) -> None:
        """The stored object has the payload's values. Override for relations or computed fields."""
        obj.refresh_from_db()
        for field, value in payload.items():
            assert getattr(obj, field) == value, (field, getattr(obj, field), value)

    def missing_pk(self) -> int:
        last = self.model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return last + 1000


class ListTests(ApiResourceTests):
    def test_list_returns_the_objects_in_a_cursor_page(self, personas, reader):
        objs = self.factory.create_batch(3)
        response = self.client_for(personas, reader, scope=ApiKey.Scope.READ).get(self.list_url())

        assert response.status_code == 200, response.content
        body = response.json()
        assert {"next", "previous", "results"} <= set(body)
        assert {obj.pk for obj in objs} <= {row["id"] for row in body["results"]}

    def test_list_follows_the_cursor_to_the_next_page_without_repeats(self, personas):
        self.factory.create_batch(3)
        client = self.client_for(personas, self.readers[0], scope=ApiKey.Scope.READ)

        first = client.get(self.list_url(), {"page_size": 2}).json()
        second = client.get(first["next"]).json()

        assert len(first["results"]) == 2
        assert second["results"]
        assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}

    def test_list_without_credentials_is_a_json_401(self, db):
        assert_error(APIClient().get(self.list_url()), 401, "not_authenticated")

    def test_list_query_count_does_not_grow_with_rows(self, personas):
        client = self.client_for(personas, self.readers[0], scope=ApiKey.Scope.READ)
        client.get(self.list_url())  # the key's first use writes last_used_at; keep it out of the count
        self.factory.create_batch(2)
        with CaptureQueriesContext(connection) as few:
            assert client.get(self.list_url()).status_code == 200
        self.factory.create_batch(8)
        with CaptureQueriesContext(connection) as many:
            assert client.get(self.list_url()).status_code == 200
        assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


class RetrieveTests(ApiResourceTests):
    def test_retrieve_returns_the_object(self, personas, reader):
        obj = self.factory()
        response = self.client_for(personas, reader, scope=ApiKey.Scope.READ).get(self.detail_url(obj))

        assert response.status_code == 200, response.content
        assert response.json()["id"] == obj.pk

    def test_retrieve_of_a_missing_object_is_a_json_404(self, personas):
        client = self.client_for(personas, self.readers[0], scope=ApiKey.Scope.READ)
        assert_error(client.get(self.detail_url(self.missing_pk())), 404, "not_found")


class CreateTests(ApiResourceTests):
    def test_create_stores_the_object_for(self, personas, writer):
        before = self.model.objects.count()
        response = self.client_for(personas, writer).post(self.list_url(), self.create_payload, format="json")

        assert response.status_code == 201, response.content
        assert self.model.objects.count() == before + 1
        self.assert_matches(self.model.objects.get(pk=response.json()["id"]), self.create_payload)

    def test_create_with_an_invalid_payload_names_the_field(self, personas, invalid_case):
        payload, field = invalid_case
        before = self.model.objects.count()
        response = self.client_for(personas, self.writers[0]).post(self.list_url(), payload, format="json")

        assert_error(response, 400, "invalid", fields=(field,))
        assert self.model.objects.count() == before

    def test_create_is_forbidden_for(self, personas, non_writer):
        before = self.model.objects.count()
        response = self.client_for(personas, non_writer).post(self.list_url(), self.create_payload, format="json")

        assert_error(response, 403, "permission_denied")
        assert self.model.objects.count() == before

    def test_create_with_a_read_only_key_is_forbidden(self, personas):
        before = self.model.objects.count()
        client = self.client_for(personas, self.writers[0], scope=ApiKey.Scope.READ)

        assert_error(client.post(self.list_url(), self.create_payload, format="json"), 403, "permission_denied")
        assert self.model.objects.count() == before

    def test_create_retried_with_the_same_idempotency_key_creates_once(self, personas):
        client = self.client_for(personas, self.writers[0])
        key = str(uuid.uuid4())
        before = self.model.objects.count()

        first = client.post(self.list_url(), self.create_payload, format="json", headers={IDEMPOTENCY_HEADER: key})
        again = client.post(self.list_url(), self.create_payload, format="json", headers={IDEMPOTENCY_HEADER: key})

        assert first.status_code == 201, first.content
        assert (again.status_code, again.json()) == (201, first.json())
        assert again[REPLAYED_HEADER] == "true"
        assert self.model.objects.count() == before + 1


class UpdateTests(ApiResourceTests):
    def test_update_changes_the_object_for(self, personas, writer):
        obj = self.factory()
        response = self.client_for(personas, writer).patch(self.detail_url(obj), self.update_payload, format="json")

        assert response.status_code == 200, response.content
        self.assert_matches(obj, self.update_payload)

    def test_update_with_an_invalid_payload_names_the_field_and_changes_nothing(self, personas, invalid_case):
        payload, field = invalid_case
        obj = self.factory()
        before = self.model.objects.filter(pk=obj.pk).values().get()
        response = self.client_for(personas, self.writers[0]).patch(self.detail_url(obj), payload, format="json")

        assert_error(response, 400, "invalid", fields=(field,))
        assert self.model.objects.filter(pk=obj.pk).values().get() == before

    def test_update_is_forbidden_for(self, personas, non_writer):
        obj = self.factory()
        before = self.model.objects.filter(pk=obj.pk).values().get()
        response = self.client_for(personas, non_writer).patch(self.detail_url(obj), self.update_payload, format="json")

        assert_error(response, 403, "permission_denied")
        assert self.model.objects.filter(pk=obj.pk).values().get() == before

    def test_update_of_a_missing_object_is_a_json_404(self, personas):
        client = self.client_for(personas, self.writers[0])
        assert_error(client.patch(self.detail_url(self.missing_pk()), self.update_payload, format="json"), 404)


class DeleteTests(ApiResourceTests):
    def test_delete_removes_the_object_for(self, personas, writer):
        obj = self.factory()
        response = self.client_for(personas, writer).delete(self.detail_url(obj))

        assert response.status_code == 204, response.content
        assert not self.model.objects.filter(pk=obj.pk).exists()

    def test_delete_is_forbidden_for(self, personas, non_writer):
        obj = self.factory()
        response = self.client_for(personas, non_writer).delete(self.detail_url(obj))

        assert_error(response, 403, "permission_denied")
        assert self.model.objects.filter(pk=obj.pk).exists()

    def test_delete_with_a_read_only_key_is_forbidden(self, personas):
        obj = self.factory()
        client = self.client_for(personas, self.writers[0], scope=ApiKey.Scope.READ)

        assert_error(client.delete(self.detail_url(obj)), 403, "permission_denied")
        assert self.model.objects.filter(pk=obj.pk).exists()


class RestrictedReadTests(ApiResourceTests):
    """For resources some signed-in users may not read at all (declare `non_readers`)."""

    def test_list_is_forbidden_for(self, personas, non_reader):
        response = self.client_for(personas, non_reader, scope=ApiKey.Scope.READ).get(self.list_url())
        assert_error(response, 403, "permission_denied")

    def test_retrieve_is_forbidden_for(self, personas, non_reader):
        obj = self.factory()
        response = self.client_for(personas, non_reader, scope=ApiKey.Scope.READ).get(self.detail_url(obj))
        assert_error(response, 403 if response.status_code == 403 else 404)
