from rest_framework import serializers

from users.models import Team, User

__all__ = ["MeSerializer", "TeamSerializer"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    full_name = serializers.CharField(source="get_full_name")
    role = serializers.SerializerMethodField()
    team = serializers.CharField(source="team.name", default=None)

    def get_role(self, user: User) -> str | None:
        return user.role.slug if user.role else None


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]
