"""GET/POST /api/v1/teams/ and GET/PATCH/DELETE /api/v1/teams/{id}/: everyone reads, admins write."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tests.api_base import CreateTests, DeleteTests, ListTests, RetrieveTests, UpdateTests, assert_error, bearer_client
from tests.factories import TeamFactory, UserFactory
from users.models import ApiKey, Team
from users.services import team_create, team_delete, team_update


@pytest.mark.django_db
class TestTeamsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests):
    list_url_name = "users-api:team-list"
    detail_url_name = "users-api:team-detail"
    factory = TeamFactory
    create_payload = {"name": "Support"}
    update_payload = {"name": "Field sales"}
    invalid_payloads = [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "Sales"}, "name")]
    readers = ("admin", "manager", "marketer", "rep_alice", "outsider")
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice", "outsider")

    def test_the_name_filter_matches_the_whole_name_in_any_case(self, personas):
        TeamFactory(name="Sales Europe")
        response = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(self.list_url(), {"name": "sales"})

        assert [row["name"] for row in response.json()["results"]] == ["Sales"]

    def test_the_name_contains_filter_matches_part_of_the_name(self, personas):
        TeamFactory(name="Sales Europe")
        client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)
        response = client.get(self.list_url(), {"name__icontains": "sales"})

        assert sorted(row["name"] for row in response.json()["results"]) == ["Sales", "Sales Europe"]

    def test_a_team_reads_as_id_name_and_creation_time(self, personas):
        team = Team.objects.get(name="Sales")
        body = bearer_client(personas.outsider, scope=ApiKey.Scope.READ).get(self.detail_url(team)).json()

        assert set(body) == {"id", "name", "created_at"}
        assert body["name"] == "Sales"

    def test_put_is_not_offered_so_a_rename_is_a_patch(self, personas):
        team = Team.objects.get(name="Sales")
        response = bearer_client(personas.admin).put(self.detail_url(team), {"name": "X"}, format="json")

        assert_error(response, 405, "method_not_allowed")
        assert Team.objects.filter(name="Sales").exists()

    def test_deleting_a_team_keeps_its_members_without_a_team(self, personas):
        team = personas.rep_alice.team
        response = bearer_client(personas.admin).delete(self.detail_url(team))

        assert response.status_code == 204
        personas.rep_alice.refresh_from_db()
        assert personas.rep_alice.team is None

    def test_a_browser_session_can_read_teams_without_a_key(self, client, personas):
        client.force_login(personas.rep_alice)
        response = client.get(reverse(self.list_url_name))

        assert response.status_code == 200
        assert "Sales" in {row["name"] for row in response.json()["results"]}

    def test_a_superuser_without_a_role_group_may_write(self, db):
        root = UserFactory(username="root", is_superuser=True, is_staff=True)
        response = bearer_client(root).post(reverse(self.list_url_name), {"name": "Ops"}, format="json")

        assert response.status_code == 201
        assert Team.objects.filter(name="Ops").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "marketer", "rep_alice", "outsider"])
def test_the_team_services_refuse_non_admins_whoever_calls_them(personas, persona):
    user = getattr(personas, persona)
    team = Team.objects.get(name="Sales")

    with pytest.raises(PermissionDenied):
        team_create(name="Ops", by=user)
    with pytest.raises(PermissionDenied):
        team_update(team=team, name="Renamed", by=user)
    with pytest.raises(PermissionDenied):
        team_delete(team=team, by=user)
    assert list(Team.objects.order_by("name").values_list("name", flat=True)) == ["Partners", "Sales"]
