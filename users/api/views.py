from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from lifecycle.api.views import ApiModelViewSet, ApiView
from users.api.permissions import AdminWritesOnly, HasScope
from users.api.serializers import MeSerializer, TeamSerializer
from users.filtersets import TeamFilterSet
from users.models import Team
from users.services import team_create, team_delete, team_update

__all__ = ["MeView", "TeamViewSet"]


class MeView(ApiView):
    """The user behind the key or session: a cheap way for an integration to test its key."""

    serializer_class = MeSerializer

    @extend_schema(summary="The current user", responses=MeSerializer, tags=["users"])
    def get(self, request):
        return Response(MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="List teams"),
    retrieve=extend_schema(summary="Get a team"),
    create=extend_schema(summary="Create a team (admins)"),
    partial_update=extend_schema(summary="Rename a team (admins)"),
    destroy=extend_schema(summary="Delete a team (admins); its members stay, without a team"),
)
@extend_schema(tags=["teams"])
class TeamViewSet(ApiModelViewSet):
    """Sales and marketing teams. Everyone signed in may read them; only admins may change them."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    permission_classes = [HasScope, AdminWritesOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = team_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = team_update(team=serializer.instance, by=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        team_delete(team=instance, by=self.request.user)
