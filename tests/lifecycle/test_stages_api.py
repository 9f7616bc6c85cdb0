"""/api/v1/lifecycle/stages/ and /api/v1/lifecycle/stage-sets/: everyone with a role reads, admins write."""

import factory
import pytest
from django.urls import reverse

from contacts.models import Contact
from lifecycle.models import LifecycleStage, StageSet
from lifecycle.services import contact_stage_set
from tests.api_base import (
    CreateTests,
    DeleteTests,
    ListTests,
    RestrictedReadTests,
    RetrieveTests,
    UpdateTests,
    assert_error,
    bearer_client,
)
from users.models import ApiKey


class StageFactory(factory.django.DjangoModelFactory):
    """A stage added at the end of the active set."""

    class Meta:
        model = LifecycleStage

    stage_set = factory.LazyFunction(lambda: StageSet.objects.get(is_active=True))
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: 100 + n)


def active() -> StageSet:
    return StageSet.objects.get(is_active=True)


def names(stage_set) -> list[str]:
    return list(stage_set.stages.order_by("position").values_list("name", flat=True))


@pytest.mark.django_db
class TestStagesApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, RestrictedReadTests):
    list_url_name = "lifecycle-api:stage-list"
    detail_url_name = "lifecycle-api:stage-detail"
    factory = StageFactory
    create_payload = {"name": "Advocate", "description": "Tells their friends"}
    update_payload = {"name": "Renamed", "description": "New words"}
    invalid_payloads = [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Reach & Engage"}, "name"),
        ({"name": "reach & engage"}, "name"),
        ({"name": "Fine", "position": -1}, "position"),
    ]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice")

    def test_the_list_is_the_active_sets_stages_in_order(self, personas):
        body = self.client_for(personas, "rep_alice", scope=ApiKey.Scope.READ).get(self.list_url()).json()

        assert [row["name"] for row in body["results"]] == [
            "Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"]
        assert body["results"][0] == {
            "id": body["results"][0]["id"], "stage_set": active().pk, "name": "Reach & Engage",
            "description": active().stages.get(name="Reach & Engage").description, "position": 0}

    def test_stage_set_picks_another_sets_stages(self, personas):
        kotler = StageSet.objects.get(name="Kotler's 5 A's")
        client = self.client_for(personas, "marketer", scope=ApiKey.Scope.READ)

        body = client.get(self.list_url(), {"stage_set": kotler.pk}).json()

        assert [row["name"] for row in body["results"]] == ["Awareness", "Appeal", "Ask", "Act", "Advocacy"]

    def test_an_unknown_stage_set_is_a_400_on_that_parameter(self, personas):
        client = self.client_for(personas, "admin", scope=ApiKey.Scope.READ)

        assert_error(client.get(self.list_url(), {"stage_set": 99999}), 400, "invalid", fields=("stage_set",))

    def test_a_stage_of_an_inactive_set_can_still_be_read_by_id(self, personas):
        awareness = LifecycleStage.objects.get(name="Awareness")
        response = self.client_for(personas, "rep_alice", scope=ApiKey.Scope.READ).get(self.detail_url(awareness))

        assert response.status_code == 200 and response.json()["name"] == "Awareness"

    def test_create_at_a_position_moves_the_later_stages_down(self, personas):
        response = self.client_for(personas, "admin").post(
            self.list_url(), {"name": "Qualify", "position": 1}, format="json")

        assert response.status_code == 201, response.content
        assert response.json()["position"] == 1
        assert names(active())[:3] == ["Reach & Engage", "Qualify", "Nurture & Educate"]

    def test_create_in_another_set(self, personas):
        kotler = StageSet.objects.get(name="Kotler's 5 A's")
        response = self.client_for(personas, "admin").post(
            self.list_url(), {"name": "Return", "stage_set": kotler.pk}, format="json")

        assert response.status_code == 201
        assert names(kotler)[-1] == "Return"

    def test_patch_position_moves_the_stage(self, personas):
        grow = active().stages.get(name="Support & Grow")
        response = self.client_for(personas, "admin").patch(self.detail_url(grow), {"position": 0}, format="json")

        assert response.status_code == 200
        assert response.json()["position"] == 0
        assert names(active())[0] == "Support & Grow"

    def test_a_stage_cannot_move_to_another_set(self, personas):
        reach = active().stages.get(name="Reach & Engage")
        kotler = StageSet.objects.get(name="Kotler's 5 A's")

        response = self.client_for(personas, "admin").patch(self.detail_url(reach), {"stage_set": kotler.pk},
                                                             format="json")

        assert_error(response, 400, "invalid", fields=("stage_set",))
        assert LifecycleStage.objects.get(pk=reach.pk).stage_set == active()

    def test_deleting_a_stage_in_use_is_a_400_that_says_why(self, personas):
        reach = active().stages.get(name="Reach & Engage")
        contact_stage_set(contact=Contact.objects.create(email="in@example.com"), stage=reach, actor="api")

        error = assert_error(self.client_for(personas, "admin").delete(self.detail_url(reach)), 400, "invalid")

        assert error["message"] == (
            "“Reach & Engage” cannot be deleted: 1 contact is in it and 1 recorded move refers to it. "
            "Stages that are part of a contact's history are kept; rename it instead.")
        assert LifecycleStage.objects.filter(pk=reach.pk).exists()

    def test_a_non_admin_is_told_only_admins_may_change_stages(self, personas):
        error = assert_error(self.client_for(personas, "manager").post(self.list_url(), self.create_payload,
                                                                        format="json"), 403, "permission_denied")

        assert error["message"] == "Only admins may change this."


@pytest.mark.django_db
class TestStageSetsApi:
    def test_everyone_with_a_role_lists_the_sets_with_their_stages_in_order(self, personas):
        for persona in ("admin", "manager", "marketer", "rep_alice"):
            response = bearer_client(getattr(personas, persona), scope=ApiKey.Scope.READ).get(
                reverse("lifecycle-api:stage-set-list"))
            assert response.status_code == 200, persona

        rows = {row["name"]: row for row in response.json()["results"]}
        assert set(rows) == {"Customer lifecycle", "Kotler's 5 A's", "Journey in 4 steps"}
        assert rows["Customer lifecycle"]["is_active"] is True
        kotler = [stage["name"] for stage in rows["Kotler's 5 A's"]["stages"]]
        assert kotler == ["Awareness", "Appeal", "Ask", "Act", "Advocacy"]

    def test_a_user_without_a_role_may_not_read_them(self, personas):
        client = bearer_client(personas.outsider, scope=ApiKey.Scope.READ)
        response = client.get(reverse("lifecycle-api:stage-set-list"))

        assert_error(response, 403, "permission_denied")

    def test_the_list_query_count_does_not_grow_with_sets_or_stages(self, personas, django_assert_max_num_queries):
        client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)
        client.get(reverse("lifecycle-api:stage-set-list"))  # the key's first use writes last_used_at
        for i in range(5):
            extra = StageSet.objects.create(name=f"Extra {i}")
            LifecycleStage.objects.bulk_create(LifecycleStage(stage_set=extra, name=f"S{j}", position=j)
                                               for j in range(4))

        with django_assert_max_num_queries(8):
            assert client.get(reverse("lifecycle-api:stage-set-list")).status_code == 200

    def test_an_admin_activates_a_set(self, personas):
        kotler = StageSet.objects.get(name="Kotler's 5 A's")

        response = bearer_client(personas.admin).post(reverse("lifecycle-api:stage-set-activate", args=[kotler.pk]))

        assert response.status_code == 200, response.content
        assert response.json()["is_active"] is True
        assert active() == kotler

    def test_activating_an_empty_set_is_a_400(self, personas):
        empty = StageSet.objects.create(name="Empty")

        error = assert_error(bearer_client(personas.admin).post(
            reverse("lifecycle-api:stage-set-activate", args=[empty.pk])), 400, "invalid")

        assert "has no stages yet" in error["message"]
        assert active().name == "Customer lifecycle"

    def test_an_admin_reorders_a_set(self, personas):
        lifecycle = active()
        ids = list(lifecycle.stages.order_by("-position").values_list("id", flat=True))

        response = bearer_client(personas.admin).post(
            reverse("lifecycle-api:stage-set-reorder", args=[lifecycle.pk]), {"stages": ids}, format="json")

        assert response.status_code == 200, response.content
        assert [s["id"] for s in response.json()["stages"]] == ids
        assert names(lifecycle)[0] == "Support & Grow"

    @pytest.mark.parametrize("body", [{"stages": [1, 2]}, {"stages": []}, {"stages": "all"}, {}])
    def test_a_bad_order_is_a_400_on_stages(self, personas, body):
        lifecycle = active()

        response = bearer_client(personas.admin).post(
            reverse("lifecycle-api:stage-set-reorder", args=[lifecycle.pk]), body, format="json")

        assert_error(response, 400, "invalid", fields=("stages",))
        assert names(lifecycle)[0] == "Reach & Engage"

    @pytest.mark.parametrize("persona", ["manager", "marketer", "rep_alice", "outsider"])
    def test_non_admins_may_not_activate_or_reorder(self, personas, persona):
        client = bearer_client(getattr(personas, persona))
        lifecycle, kotler = active(), StageSet.objects.get(name="Kotler's 5 A's")
        ids = list(lifecycle.stages.order_by("-position").values_list("id", flat=True))

        assert_error(client.post(reverse("lifecycle-api:stage-set-activate", args=[kotler.pk])), 403)
        assert_error(client.post(reverse("lifecycle-api:stage-set-reorder", args=[lifecycle.pk]), {"stages": ids},
                                 format="json"), 403)
        assert active() == lifecycle and names(lifecycle)[0] == "Reach & Engage"

    def test_a_read_only_key_may_not_activate(self, personas):
        kotler = StageSet.objects.get(name="Kotler's 5 A's")
        client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

        assert_error(client.post(reverse("lifecycle-api:stage-set-activate", args=[kotler.pk])), 403,
                     "permission_denied")
        assert active().name == "Customer lifecycle"

    def test_the_schema_documents_the_lifecycle_endpoints_with_summaries(self, db):
        from rest_framework.test import APIClient

        schema = APIClient().get("/api/schema/", {"format": "json"}).json()

        for path in ("/api/v1/lifecycle/stages/", "/api/v1/lifecycle/stages/{id}/",
                     "/api/v1/lifecycle/stage-sets/", "/api/v1/lifecycle/stage-sets/{id}/activate/",
                     "/api/v1/lifecycle/stage-sets/{id}/reorder/"):
            for operation in schema["paths"][path].values():
                assert operation["tags"] == ["lifecycle"], path
                assert operation["summary"], path
