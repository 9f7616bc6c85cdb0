from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    full_name = serializers.CharField(source="get_full_name")
    role = serializers.SerializerMethodField()
    team = serializers.CharField(source="team.name", default=None)

    def get_role(self, user) -> str | None:
        return user.role.slug if user.role else None


class MeView(APIView):
    """The user behind the key or session: a cheap way for an integration to test its key."""

    serializer_class = MeSerializer

    def get(self, request):
        return Response(MeSerializer(request.user).data)
