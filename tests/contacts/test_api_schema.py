"""The contacts API in the OpenAPI schema: every endpoint, and bulk-upsert's request and answer as they are."""

import json

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    return schema


def resolve(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_every_contacts_endpoint_is_documented(schema):
    paths = schema["paths"]
    expected = {
        "/api/v1/contacts/": {"get", "post"}, "/api/v1/contacts/{id}/": {"get", "patch", "delete"},
        "/api/v1/contacts/upsert/": {"post"}, "/api/v1/contacts/bulk-upsert/": {"post"},
        "/api/v1/contacts/{id}/tags/": {"post"}, "/api/v1/contacts/{id}/tags/{name}/": {"delete"},
        "/api/v1/contacts/{id}/timeline/": {"get"}, "/api/v1/contacts/{id}/stage/": {"post"},
        "/api/v1/lists/": {"get", "post"}, "/api/v1/lists/{id}/subscriptions/": {"get", "post"},
        "/api/v1/tags/{id}/": {"get", "patch", "delete"}, "/api/v1/fields/{id}/": {"get", "patch", "delete"},
        "/api/v1/accounts/{id}/": {"get", "patch", "delete"}, "/api/v1/notes/{id}/": {"get", "delete"},
        "/api/v1/tasks/{id}/": {"get", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path


def test_bulk_upsert_documents_up_to_1000_contacts_in_and_a_result_per_item_out(schema):
    operation = schema["paths"]["/api/v1/contacts/bulk-upsert/"]["post"]

    assert list(operation["requestBody"]["content"]) == ["application/json"]
    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    contacts = body["properties"]["contacts"]
    assert (contacts["minItems"], contacts["maxItems"]) == (1, 1000)
    item = resolve(schema, contacts["items"])
    assert {"email", "fields", "tags", "stage", "company", "owner"} <= set(item["properties"])

    answer = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    result = resolve(schema, answer["properties"]["results"]["items"])
    assert set(result["properties"]) == {"index", "status", "id", "email", "errors"}
    status = result["properties"]["status"]
    status = resolve(schema, status["allOf"][0] if "allOf" in status else status) if "enum" not in status else status
    assert status["enum"] == ["created", "updated", "unchanged", "error"]
    assert set(resolve(schema, answer["properties"]["counts"])["properties"]) == {
        "created", "updated", "unchanged", "error"}
    assert {"400", "409", "422"} <= set(operation["responses"])


def test_the_contact_list_documents_its_filters_sort_and_pages(schema):
    operation = schema["paths"]["/api/v1/contacts/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}

    assert {"q", "tag", "list", "list_status", "stage", "owner", "status", "source", "account", "created_after",
            "created_before", "sort", "cursor", "page_size"} <= set(parameters)
    assert parameters["sort"]["schema"]["enum"] == ["created", "-created", "last_activity", "-last_activity",
                                                    "email", "-email", "name", "-name"]
    assert parameters["tag"]["schema"]["type"] == "array"
    page = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"next", "previous", "results"} <= set(page["properties"])


def test_the_timeline_documents_only_its_own_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/contacts/{id}/timeline/"]["get"]["parameters"]}

    assert names == {"id", "type", "channel", "cursor", "page_size"}
